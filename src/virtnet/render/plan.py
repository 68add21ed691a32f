"""Resolve an intent into a concrete network plan: names, NADs, pools, MACs, pod interface names.

All cross-field checks of an intent happen here, with errors that name the intent field. Rendering
(:mod:`virtnet.render.bundle`) then only turns a valid plan into objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from virtnet.errors import InputError, Location
from virtnet.model.capabilities import Binding, SpiderPoolFeatures, pod_interface_name
from virtnet.model.identity import (
    IFNAMSIZ,
    interface_name_problem,
    is_dns1123_subdomain,
    mac_address,
    mac_problem,
    split_ref,
)
from virtnet.model.intent import DiskKind, Intent, NicIntent, PoolIntent, PoolNaming
from virtnet.model.ippool import PoolSpec, canonical_subnet, parse_ip_entries
from virtnet.model.ipset import parse_address
from virtnet.model.modes import DEFAULT_CNI_NETWORKS, Cni, Mode, ModeCapabilities, capabilities

# NAD of SpiderPool's default SpiderMultusConfig per cluster CNI (see virtnet.model.modes.DEFAULT_CNI_NETWORKS).
DEFAULT_CNI_NADS: dict[Cni, str] = {cni: network.nad for cni, network in DEFAULT_CNI_NETWORKS.items()}


@dataclass(frozen=True)
class PoolPlan:
    name: str
    family: int  # 4 or 6
    spec: PoolSpec | None  # None: an existing pool, not rendered


@dataclass(frozen=True)
class NicPlan:
    index: int
    name: str  # KubeVirt interface and network name
    primary: bool
    binding: Binding  # how KubeVirt binds this NIC's network
    cni: Cni  # the CNI behind this NIC's network (secondary NICs of masquerade and passt VMs: ovs)
    on_pod_network: bool  # `pod: {}` (masquerade/passt primary) rather than a Multus network
    pod_interface: str
    mac: str
    nad_namespace: str | None
    nad_name: str | None
    render_multus_config: bool
    master: str | None
    bridge: str | None
    vlan: int
    pools: tuple[PoolPlan, ...]
    default_cni_nad: bool = False  # the NAD of SpiderPool's default SpiderMultusConfig for the cluster CNI

    @property
    def nad_ref(self) -> str | None:
        return f"{self.nad_namespace}/{self.nad_name}" if self.nad_name else None

    @property
    def families(self) -> tuple[int, ...]:
        return tuple(sorted({p.family for p in self.pools}))


@dataclass(frozen=True)
class Plan:
    intent: Intent
    capabilities: ModeCapabilities
    spiderpool: SpiderPoolFeatures
    nics: tuple[NicPlan, ...]
    warnings: tuple[str, ...]

    @property
    def binding(self) -> Binding:
        return self.capabilities.binding.binding


def _nic_word(at: int) -> str:
    return f"NIC {at + 1}" if at >= 0 else "the pod-network NIC"


def _nic_loc(i: int, field: str | None = None) -> Location:
    """Field of the intent's NIC ``i`` (-1, masquerade's implied pod-network NIC, has no field: spec.nics)."""
    if i < 0:
        return Location(path="spec.nics")
    path = f"spec.nics[{i}]" + (f".{field}" if field else "")
    return Location(path=path)


def plan(intent: Intent) -> Plan:
    """Check the intent against its mode and versions and resolve every derived name."""
    caps = capabilities(intent.mode, intent.cni, intent.versions, intent.passt)
    sp = SpiderPoolFeatures.of(intent.versions.spiderpool)
    _version_checks(intent, caps, sp)
    nics = _intent_nics(intent, caps)
    warnings: list[str] = []
    planned = _plan_nics(intent, caps, nics, warnings)
    _check_pool_overlaps(planned, {i: at for i, (at, _nic) in enumerate(nics)})
    warnings += _vm_checks(intent, caps, planned)
    return Plan(intent=intent, capabilities=caps, spiderpool=sp, nics=tuple(planned), warnings=tuple(warnings))


def _version_checks(intent: Intent, caps: ModeCapabilities, sp: SpiderPoolFeatures) -> None:
    """The binding must be usable on the KubeVirt version, unnamed ippools entries need SpiderPool v0.8.2."""
    support = caps.binding
    if not support.usable:
        raise InputError(
            f"{support.binding.title} cannot be used with KubeVirt {intent.versions.kubevirt}: {support.reason}",
            Location(path="spec.options.passt" if intent.passt else "spec.versions.kubevirt"),
        )
    if intent.pool_naming is PoolNaming.ORDERED and not sp.unnamed_ippools_entries:
        raise InputError(
            f"SpiderPool {sp.version} needs an interface name on every ipam.spidernet.io/ippools entry "
            "(unnamed entries arrived in v0.8.2); use ippoolInterfaces: named",
            Location(path="spec.options.ippoolInterfaces"),
        )


def _intent_nics(intent: Intent, caps: ModeCapabilities) -> list[tuple[int, NicIntent]]:
    """(index in the intent, NIC) of every NIC the VM gets: masquerade gets its pod-network NIC (-1) even when only
    OVS NICs are given; the other modes need one. Checks what the mode allows of the first and second NIC."""
    nics = list(enumerate(intent.nics))
    if intent.mode is Mode.MASQUERADE and (not nics or nics[0][1].bridge):
        nics.insert(0, (-1, NicIntent()))
    elif intent.mode is not Mode.MASQUERADE and not nics:
        hint = "master=ens192,subnet=…" if intent.mode is Mode.PASST else "bridge=br1,subnet=…"
        raise InputError(
            f"mode {intent.mode.value} needs at least one NIC (e.g. --nic {hint})", Location(path="spec.nics")
        )
    if intent.mode is Mode.MASQUERADE:
        _masquerade_checks(nics[0])
    if intent.mode is not Mode.BRIDGE and len(nics) > 1:
        _secondary_checks(intent, caps, nics[1])
    if intent.pool_naming is PoolNaming.ORDERED and intent.mode is Mode.MASQUERADE and len(nics) > 1:
        raise InputError(
            f"ippoolInterfaces: ordered ties entry i to NIC i, but the first NIC is on the {intent.cni.value} pod "
            "network and takes no SpiderPool pool; use ippoolInterfaces: named",
            Location(path="spec.options.ippoolInterfaces"),
        )
    return nics


def _plan_nics(
    intent: Intent, caps: ModeCapabilities, nics: list[tuple[int, NicIntent]], warnings: list[str]
) -> list[NicPlan]:
    """Every NIC planned; names, MACs and pools must differ between NICs."""
    planned: list[NicPlan] = []
    seen_names: dict[str, int] = {}
    seen_macs: dict[str, int] = {}
    seen_pools: dict[str, int] = {}
    for i, (at, nic) in enumerate(nics):
        nic_plan = _plan_nic(intent, caps, i, at, nic, warnings, secondaries=len(nics) > 1)
        if nic_plan.name in seen_names:
            raise InputError(
                f"NIC name '{nic_plan.name}' is already used by {_nic_word(seen_names[nic_plan.name])}",
                _nic_loc(at, "name"),
            )
        seen_names[nic_plan.name] = at
        if nic_plan.mac in seen_macs:
            raise InputError(
                f"MAC {nic_plan.mac} is already used by {_nic_word(seen_macs[nic_plan.mac])}; each NIC needs its own",
                _nic_loc(at, "mac"),
            )
        seen_macs[nic_plan.mac] = at
        for pool in nic_plan.pools:
            if pool.name in seen_pools and seen_pools[pool.name] != at:
                raise InputError(
                    f"pool '{pool.name}' is already given to {_nic_word(seen_pools[pool.name])}; "
                    "each NIC needs pools of its own",
                    _nic_loc(at, "pools"),
                )
            seen_pools[pool.name] = at
        planned.append(nic_plan)
    return planned


def _vm_checks(intent: Intent, caps: ModeCapabilities, planned: list[NicPlan]) -> list[str]:
    """What the planned NICs mean for the VM: bridge NICs get no IPv6 by DHCP, LiveMigrate needs a migratable mode
    and disk, somebody must be able to log in. Returns the warnings."""
    warnings: list[str] = []
    if any(6 in n.families for n in planned if n.binding is Binding.BRIDGE):
        warnings.append(
            "KubeVirt's DHCP hands bridge NICs IPv4 only: configure IPv6 in the guest yourself "
            "(KV@v1.9.0:pkg/network/dhcp/bridge.go)"
        )
    if intent.vm.eviction_strategy == "LiveMigrate":
        if not caps.live_migration.kubevirt_allows:
            raise InputError(
                f"evictionStrategy LiveMigrate would make node drains hang: {caps.live_migration.kubevirt}",
                Location(path="spec.vm.evictionStrategy"),
            )
        if intent.vm.disk.kind is DiskKind.DATA_VOLUME and intent.vm.disk.access_mode != "ReadWriteMany":
            raise InputError(
                "evictionStrategy LiveMigrate needs a ReadWriteMany disk (KubeVirt refuses to migrate RWO "
                "volumes, so drains would hang); set vm.disk.accessMode: ReadWriteMany",
                Location(path="spec.vm.evictionStrategy"),
            )
    if intent.cloud_init.has_password:
        warnings.append("a password is written into the cloud-init Secret: prefer SSH keys; root login stays disabled")
    if not intent.cloud_init.ssh_authorized_keys and not intent.cloud_init.has_password:
        warnings.append("no SSH key and no password: nobody will be able to log in to this VM")
    return warnings


def _masquerade_checks(first: tuple[int, NicIntent]) -> None:
    """The pod-network NIC of masquerade takes no underlay settings (OVS NICs after it do)."""
    at, nic = first
    for field in ("master", "bridge", "vlan", "pools", "multus_config"):
        if getattr(nic, field):
            key = "multusConfig" if field == "multus_config" else field
            raise InputError(
                f"mode masquerade uses the pod network and its IPAM, so '{key}' has no effect on its first NIC; "
                "use mode passt (macvlan/ipvlan) or bridge (ovs) for underlay networks and fixed IPs, or add OVS "
                "NICs after it (bridge=)",
                _nic_loc(at, key),
            )


def _secondary_checks(intent: Intent, caps: ModeCapabilities, second: tuple[int, NicIntent]) -> None:
    """NICs after a masquerade or passt primary are OVS networks bound with bridge: where KubeVirt allows them."""
    at, _nic = second
    if not caps.secondary_ovs:
        raise InputError(
            f"a second NIC is not possible here: {caps.secondary_ovs_reason} (KubeVirt {intent.versions.kubevirt})",
            _nic_loc(at),
        )
    if not intent.spiderpool_installed:
        raise InputError(
            "OVS NICs after the pod-network NIC need SpiderPool (their SpiderMultusConfig and pool); remove "
            "spiderpool.installed: false",
            _nic_loc(at),
        )


def _plan_nic(
    intent: Intent,
    caps: ModeCapabilities,
    i: int,
    at: int,
    nic: NicIntent,
    warnings: list[str],
    *,
    secondaries: bool = False,
) -> NicPlan:
    """NIC ``i`` of the plan, from the intent's NIC ``at`` (-1: masquerade's implied pod-network NIC);
    ``secondaries``: other NICs follow this one."""
    primary = i == 0
    on_pod_network = primary and intent.mode in (Mode.MASQUERADE, Mode.PASST)
    if on_pod_network:
        binding, cni = caps.binding.binding, intent.cni
    else:  # bridge mode, and the OVS NICs that follow a masquerade or passt primary
        binding, cni = Binding.BRIDGE, Cni.OVS
    name = nic.name or ("default" if on_pod_network else f"nic{i + 1}")
    vlan = nic.vlan or 0
    for field in ("master", "bridge"):
        value = getattr(nic, field)
        problem = interface_name_problem(value) if value is not None else None
        if problem:
            raise InputError(problem, _nic_loc(at, field))
    if intent.mode is Mode.MASQUERADE and on_pod_network:
        nad = _pod_network_nad(intent, nic, secondaries=secondaries)
    elif nic.network:
        nad = _existing_network(intent, nic, at)
    else:
        nad = _Nad(intent.spiderpool_namespace, _multus_config_name(intent, nic, at, cni, vlan), True)
    pools = _nic_pools(intent, nic, at, nad.name or name, warnings, needs_pool=nad.render_multus_config)
    if nic.mac:
        problem = mac_problem(nic.mac, masquerade=binding is Binding.MASQUERADE)
        if problem:
            raise InputError(f"NIC '{name}' {problem}", _nic_loc(at, "mac"))
    return NicPlan(
        index=i,
        name=name,
        primary=primary,
        binding=binding,
        cni=cni,
        on_pod_network=on_pod_network,
        pod_interface=pod_interface_name(name, primary=primary),
        mac=nic.mac or mac_address(intent.namespace, intent.name, name),
        nad_namespace=nad.namespace,
        nad_name=nad.name,
        render_multus_config=nad.render_multus_config,
        master=nic.master,
        bridge=nic.bridge,
        vlan=vlan,
        pools=pools,
        default_cni_nad=nad.default_cni_nad,
    )


@dataclass(frozen=True)
class _Nad:
    """The NetworkAttachmentDefinition a NIC's network is (none: Multus's cluster default network)."""

    namespace: str | None = None
    name: str | None = None
    render_multus_config: bool = False  # virtnet renders the SpiderMultusConfig that makes it
    default_cni_nad: bool = False  # the NAD of SpiderPool's default SpiderMultusConfig for the cluster CNI


def _pod_network_nad(intent: Intent, nic: NicIntent, *, secondaries: bool) -> _Nad:
    """masquerade's pod network: the NAD the NIC names, else SpiderPool's default one for the cluster CNI."""
    if nic.network:
        return _Nad(*split_ref(nic.network, intent.namespace))
    if intent.spiderpool_installed and intent.cni in DEFAULT_CNI_NADS and not secondaries:
        # Only a single-NIC VM names SpiderPool's default NAD (as SpiderPool's KubeVirt guide does): with OVS
        # NICs the input holds SpiderMultusConfigs, and a NAD that spiderpool-init creates is not among them,
        # so the pod network stays Multus's cluster default network, which is the same CNI.
        return _Nad(intent.spiderpool_namespace, DEFAULT_CNI_NADS[intent.cni], default_cni_nad=True)
    return _Nad()


def _existing_network(intent: Intent, nic: NicIntent, at: int) -> _Nad:
    """The existing NAD ``network`` names; the keys of a SpiderMultusConfig to render contradict it."""
    assert nic.network is not None
    namespace, name = split_ref(nic.network, intent.namespace)
    for field in ("master", "bridge", "multus_config"):
        if getattr(nic, field):
            key = "multusConfig" if field == "multus_config" else field
            raise InputError(
                f"'{key}' describes a SpiderMultusConfig to render, but 'network' already names an existing "
                f"one ({nic.network}); give one or the other",
                _nic_loc(at, key),
            )
    return _Nad(namespace, name)


def _multus_config_name(intent: Intent, nic: NicIntent, at: int, cni: Cni, vlan: int) -> str:
    """The SpiderMultusConfig to render (and its NAD): ``multusConfig``, else named after the master or bridge and
    the VLAN."""
    if cni in (Cni.MACVLAN, Cni.IPVLAN):
        default = _underlay_config_name(nic, at, cni, vlan)
    else:
        default = _ovs_config_name(intent, nic, at, vlan)
    name = nic.multus_config or default.lower().replace("_", "-").replace(".", "-")
    if not is_dns1123_subdomain(name):
        field = "multusConfig" if nic.multus_config else ("master" if nic.master else "bridge")
        raise InputError(
            f"'{name}' is not a valid SpiderMultusConfig name; set multusConfig to a lower-case DNS name",
            _nic_loc(at, field),
        )
    return name


def _underlay_config_name(nic: NicIntent, at: int, cni: Cni, vlan: int) -> str:
    """A macvlan/ipvlan NIC: on ``master`` (and its VLAN sub-interface)."""
    if not nic.master:
        raise InputError(
            f"a {cni.value} NIC needs the node's parent interface (master=, e.g. master=ens192) or "
            "an existing network (network=namespace/name)",
            _nic_loc(at, "master"),
        )
    if nic.bridge:
        raise InputError(
            f"'bridge' is for ovs; the first NIC of a passt VM is {cni.value}, which uses 'master' (OVS NICs "
            "may follow it)",
            _nic_loc(at, "bridge"),
        )
    # SpiderPool's ifacer creates the VLAN sub-interface '<master>.<vlanID>' on the node
    # (SP@v1.2.2:cmd/ifacer/cmd/utils.go getVlanIfaceName), which must fit IFNAMSIZ as well.
    sub = f"{nic.master}.{vlan}"
    if vlan and len(sub.encode()) >= IFNAMSIZ:
        raise InputError(
            f"VLAN {vlan} on master '{nic.master}' makes SpiderPool create the sub-interface '{sub}' "
            f"({len(sub.encode())} bytes), longer than Linux allows ({IFNAMSIZ - 1}); use a NIC with a "
            "shorter name or an existing network (network=namespace/name)",
            _nic_loc(at, "vlan"),
        )
    return f"{cni.value}-{nic.master}" + (f"-vlan{vlan}" if vlan else "")


def _ovs_config_name(intent: Intent, nic: NicIntent, at: int, vlan: int) -> str:
    """An ovs NIC: on ``bridge`` (a passt VM's NICs after the first are OVS networks)."""
    if nic.master and intent.mode is Mode.PASST:
        raise InputError(
            f"mode passt gives a VM exactly one NIC on {intent.cni.value} (passt binds only the pod network); "
            "the NICs after it are OVS networks bound with bridge (bridge=), because bridge binding does not "
            "work over macvlan/ipvlan",
            _nic_loc(at, "master"),
        )
    if not nic.bridge:
        raise InputError(
            "an ovs NIC needs the node's OVS bridge (bridge=, e.g. bridge=br1) or an existing network "
            "(network=namespace/name)",
            _nic_loc(at, "bridge"),
        )
    if nic.master:
        raise InputError("'master' is for macvlan/ipvlan; ovs uses 'bridge'", _nic_loc(at, "master"))
    return f"ovs-vlan{vlan}" if vlan else f"ovs-{nic.bridge}"


def _nic_pools(
    intent: Intent, nic: NicIntent, at: int, base: str, warnings: list[str], *, needs_pool: bool
) -> tuple[PoolPlan, ...]:
    """The NIC's pools (new ones named after ``base``): at most one per IP family; ``needs_pool``: a NIC on a
    SpiderMultusConfig virtnet renders needs one for its fixed IP."""
    pools = tuple(_plan_pool(intent, at, j, p, base, warnings) for j, p in enumerate(nic.pools))
    families = [p.family for p in pools]
    if len(set(families)) != len(families):
        raise InputError("a NIC takes at most one IPv4 and one IPv6 pool", _nic_loc(at, "pools"))
    if needs_pool and not pools:
        raise InputError(
            "this NIC needs a pool for its fixed IP: give subnet=, gateway= and ips= (see `virtnet pool suggest`) "
            "or pool=NAME of an existing SpiderIPPool",
            _nic_loc(at, "pools"),
        )
    return pools


def _plan_pool(intent: Intent, i: int, j: int, pool: PoolIntent, base: str, warnings: list[str]) -> PoolPlan:
    """Pool ``j`` of the intent's NIC ``i``."""
    path = f"spec.nics[{i}].pools[{j}]"
    if pool.existing:
        if not pool.name:
            raise InputError("give a pool's name (existing pool) or its subnet (new pool)", Location(path=path))
        for field in ("gateway", "ips", "exclude_ips"):
            if getattr(pool, field):
                key = "excludeIPs" if field == "exclude_ips" else field
                raise InputError(
                    f"'{key}' needs 'subnet': without a subnet, '{pool.name}' names an existing pool",
                    Location(path=f"{path}.{key}"),
                )
        return PoolPlan(name=pool.name, family=pool.ip_version, spec=None)
    assert pool.subnet is not None
    network, canonical = canonical_subnet(pool.subnet, path=f"{path}.subnet")
    family = network.version
    if not canonical:
        # Not an error: the rendered pool always carries the canonical form, which every version accepts.
        warnings.append(
            f"{path}.subnet: '{pool.subnet}' is a host address; the pool uses the network {network} "
            "(SpiderPool v0.9.2+ rejects non-canonical subnets)"
        )
    if pool.ip_version != family and pool.ip_version != 4:
        raise InputError(
            f"ipVersion {pool.ip_version} does not match subnet {network}", Location(path=f"{path}.ipVersion")
        )
    if not pool.ips:
        raise InputError(
            f"a new pool needs the addresses to hand out (ips=, e.g. a range inside {network}); "
            "`virtnet pool suggest` finds a free one",
            Location(path=f"{path}.ips"),
        )
    ips = parse_ip_entries(pool.ips, family, path=f"{path}.ips")
    exclude = parse_ip_entries(pool.exclude_ips, family, path=f"{path}.excludeIPs")
    gateway = parse_address(pool.gateway, family, path=f"{path}.gateway") if pool.gateway else None
    name = pool.name or f"{base}-v{family}"
    spec = PoolSpec(
        name=name,
        subnet=network,
        subnet_text=str(network),
        ips=ips,
        exclude=exclude,
        gateway=gateway,
        ip_version=family,
        routes=(),
    )
    problems = spec.problems()
    if problems:
        field, message = problems[0]
        # PoolSpec speaks in SpiderIPPool fields; the intent's pool fields have the same names without "spec."
        for manifest_field in ("spec.subnet", "spec.gateway", "spec.excludeIPs", "spec.ips"):
            message = message.replace(manifest_field, manifest_field.removeprefix("spec."))
        raise InputError(message, Location(path=f"{path}.{field.removeprefix('spec.')}"))
    return PoolPlan(name=name, family=family, spec=spec)


def _check_pool_overlaps(nics: list[NicPlan], intent_index: dict[int, int]) -> None:
    from virtnet.model.ippool import overlap

    specs = [(intent_index[n.index], p.spec) for n in nics for p in n.pools if p.spec is not None]
    for a in range(len(specs)):
        for b in range(a + 1, len(specs)):
            _ia, pa = specs[a]
            ib, pb = specs[b]
            assert pa is not None
            assert pb is not None
            if pa.ip_version != pb.ip_version:
                continue
            why = overlap(pa, pb)
            if why:
                raise InputError(why, _nic_loc(ib, "pools"))
