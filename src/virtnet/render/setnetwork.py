"""`virtnet set network`, the edit: an existing VirtualMachine moved to a network mode. Pure: dicts in, values out.

:func:`edit_vm` takes the VM as it is (from a file or the cluster), the target as an :class:`~virtnet.model.intent.
Intent` (mode, CNI, NICs, versions — the same value ``virtnet new vm`` renders) and what is known of the cluster
(:class:`Context`), renders the target with :func:`virtnet.render.render_bundle` and grafts only what networking owns
onto the VM:

- template annotations ``v1.multus-cni.io/default-network``, ``ipam.spidernet.io/ippools``,
  ``ipam.spidernet.io/ippool``, ``ipam.spidernet.io/default-route-nic`` (every other annotation stays);
- ``spec.template.spec.networks`` and ``spec.template.spec.domain.devices.interfaces`` — a NIC that stays (same
  name; NIC *i* keeps the name of the VM's NIC *i* unless ``--nic name=`` says otherwise) keeps its MAC, model, ports,
  bootOrder, pciAddress, acpiIndex, tag and DHCP options where the new binding still honours them;
- the cloud-init ``networkData`` (NoCloud or ConfigDrive; inline, base64 or in a Secret) — see
  :mod:`virtnet.render.netdata`.

Everything else of the VM is left exactly as it was (the result is a deep copy with those paths replaced). The
result also says what the mode needs besides the VM (pools, SpiderMultusConfigs, the binding NAD, the KubeVirt CR
change — existing matching ones reused), what changed, when it takes effect, what happens to the VM's IPs, and what
is refused and why.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from typing import Any, Literal, NamedTuple

import yaml

from virtnet.errors import InputError, Location
from virtnet.model import annotations as keys
from virtnet.model.capabilities import Binding, pod_interface_name
from virtnet.model.identity import RESERVED_MACS
from virtnet.model.intent import CloudInitIntent, Intent, NicIntent, PoolIntent
from virtnet.model.ippool import PoolSpec, overlap
from virtnet.model.manifest import as_list as _list
from virtnet.model.manifest import as_map as _map
from virtnet.model.modes import Cni, Mode, capabilities
from virtnet.model.versions import V
from virtnet.render import netdata
from virtnet.render.bundle import Bundle, render_bundle
from virtnet.render.plan import NicPlan

Obj = dict[str, Any]
# An object as read from a file or the cluster: any shape (each field is checked where it is read).
Manifest = Mapping[str, Any]
When = Literal["none", "now", "next-start", "restart"]

NETWORK_ANNOTATIONS = (keys.DEFAULT_NETWORK, keys.IPPOOLS, keys.IPPOOL, keys.DEFAULT_ROUTE_NIC)
BINDING_KEYS = ("masquerade", "bridge", "passt", "passtBinding", "binding", "sriov", "slirp", "macvtap")
CLOUD_INIT_SOURCES = ("cloudInitNoCloud", "cloudInitConfigDrive")
NETWORK_DATA_KEYS = ("networkData", "networkDataBase64", "networkDataSecretRef")
# The Secret keys KubeVirt reads networkData from (KV@v1.0.1:pkg/cloud-init/cloud-init.go): the first one present
SECRET_KEYS = ("networkdata", "networkData")
INLINE_LIMIT = 2048  # "networkdata exceeds 2048 byte limit" (KV@v1.0.1 vmi-create-admitter.go validateVolumes)
# A placeholder key so the plan does not warn about logins: set network never writes cloud-init user data.
_UNUSED_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFdrc13d8dLllgF33no/g0Y7M+vlt5yyjM+ljpm+m1xX set-network"

SRC_RESTART = "KV@v1.9.0:pkg/network/vmliveupdate/restart.go IsRestartRequired"
SRC_ROLLOUT = "KV@v1.2.0 (kubevirt#11054): vmRolloutStrategy and the RestartRequired condition"
SRC_POD_ANNOTATIONS = "KV@v1.9.0:pkg/virt-controller/services/template.go (VMI annotations copied to the pod)"
SRC_VOLUMES = "KV@v1.9.0:pkg/virt-controller/watch/vm/vm.go validLiveUpdateVolumes"
SRC_CLOUD_INIT = "KV@v1.0.1:pkg/cloud-init/cloud-init.go (cloud-init disk written at VMI start)"
SRC_HOTPLUG = "UG:docs/network/hotplug_interfaces.md (v1.1 alpha + HotplugNICs gate, v1.4 GA; bridge/SR-IOV)"
SRC_STATIC_IP = "SP@v1.2.2:pkg/ipam/allocate.go retrieveStaticIPAllocation"
SRC_EVICTION = "KV@v1.0.1:pkg/virt-api/webhooks/validating-webhook/admitters/pod-eviction-admitter.go"
SRC_PROBES = "KV@v1.0.1:pkg/virt-api/webhooks/validating-webhook/admitters/vmi-create-admitter.go (probes)"
SRC_BRIDGE_MACVLAN = "UG:docs/network/interfaces_and_networks.md (invalid CNIs); kubevirt#5483, #7001"
HOTPLUG_GA = V("v1.4.0")
HOTPLUG_FIRST = V("v1.1.0")
ROLLOUT_FIRST = V("v1.2.0")


# --- input and output types ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What is known besides the VM. ``known`` names the kinds whose every object was read (a pool that is not in
    ``pools`` then does not exist); ``live`` means the VMI and SpiderEndpoint were looked up (absent = none)."""

    pools: tuple[Manifest, ...] = ()
    multus_configs: tuple[Manifest, ...] = ()
    nads: tuple[Manifest, ...] = ()
    known: frozenset[str] = frozenset()
    kubevirt: Manifest | None = None  # the live KubeVirt CR: cluster defaults, rollout strategy, gates
    vmi: Manifest | None = None
    endpoint: Manifest | None = None  # the VM's SpiderEndpoint (named after the VMI = the VM)
    secrets: Mapping[str, Manifest] = field(default_factory=dict)  # readable Secrets of the VM's namespace
    live: bool = False
    update_secret: bool = False


class _Record:
    """A part of the result that says itself as JSON: each field under its ``json`` name (default: its own); a
    field with a default is left out while it is empty."""

    def to_dict(self) -> dict[str, str]:
        assert is_dataclass(self)
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value or f.default is MISSING:
                out[f.metadata.get("json", f.name)] = value
        return out


@dataclass(frozen=True)
class Refusal(_Record):
    """What would break the VM, why, and what to do instead."""

    reason: str
    source: str = ""
    hint: str = ""

    def __str__(self) -> str:
        return self.reason + (f" ({self.source})" if self.source else "") + (f"; {self.hint}" if self.hint else "")


@dataclass(frozen=True)
class Change(_Record):
    """One field of the VM (or a Secret's key) the edit changes, and how: ``old → new``, ``set to …``, …"""

    path: str
    summary: str = field(metadata={"json": "change"})


@dataclass(frozen=True)
class Reason(_Record):
    """Why the edit takes effect when it does, with the upstream source that says so."""

    text: str = field(metadata={"json": "reason"})
    source: str


@dataclass(frozen=True)
class Effect:
    """When the edit takes effect: ``none`` (nothing changes), ``now`` (applied to the running VM), ``next-start``
    (the VM is stopped), ``restart`` (the running VM must be restarted)."""

    when: When
    running: str  # running | stopped | unknown, and why
    reasons: tuple[Reason, ...] = ()
    condition: str = ""  # what KubeVirt shows (the RestartRequired condition) on this version
    how: str = ""

    def to_dict(self) -> dict[str, object]:
        shown = {"kubevirt": self.condition, "how": self.how}
        reasons = [r.to_dict() for r in self.reasons]
        return {"when": self.when, "vm": self.running, "reasons": reasons, **{k: v for k, v in shown.items() if v}}


@dataclass(frozen=True)
class IpNote(_Record):
    """What happens to one NIC's address."""

    nic: str
    pod_interface: str = field(metadata={"json": "podInterface"})
    text: str = field(metadata={"json": "ip"})
    release: str = ""
    source: str = ""


@dataclass(frozen=True)
class NetworkDataEdit:
    """One cloud-init networkData source and its new value (``new`` is None when it stays)."""

    volume: int  # index in spec.template.spec.volumes
    source: str  # cloudInitNoCloud | cloudInitConfigDrive
    key: str  # networkData | networkDataBase64 | networkDataSecretRef
    old: str | None
    new: str | None
    secret: str | None = None  # the Secret holding it (networkDataSecretRef)
    secret_key: str | None = None


@dataclass
class Edit:
    """The edited VM, what else the mode needs, and everything the user must know."""

    original: Obj
    vm: Obj
    objects: list[Obj] = field(default_factory=list)  # pools, SpiderMultusConfigs, NADs, KubeVirt CR change
    secrets: list[Obj] = field(default_factory=list)  # Secrets whose networkData is rewritten (--update-secret)
    changes: list[Change] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ips: list[IpNote] = field(default_factory=list)
    network_data: list[NetworkDataEdit] = field(default_factory=list)
    effect: Effect = field(default_factory=lambda: Effect("none", "unknown"))
    bundle: Bundle | None = None

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def ref(self) -> str:
        meta = self.original.get("metadata") or {}
        return f"VirtualMachine {meta.get('namespace') or 'default'}/{meta.get('name')}"

    def to_dict(self) -> dict[str, object]:
        meta = self.original.get("metadata") or {}
        return {
            "vm": {"namespace": meta.get("namespace"), "name": meta.get("name")},
            "changed": self.changed,
            "changes": [c.to_dict() for c in self.changes],
            "effect": self.effect.to_dict(),
            "ips": [i.to_dict() for i in self.ips],
            "objects": [_identity(o) for o in self.objects],
            "secrets": [_identity(o) for o in self.secrets],
            "refusals": [r.to_dict() for r in self.refusals],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }


def _identity(obj: Manifest) -> dict[str, object]:
    meta = obj.get("metadata") or {}
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
    }


# --- the VM's NICs -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Nic:
    name: str
    iface: Manifest | None
    net: Manifest | None
    primary: bool
    implicit: bool = False  # KubeVirt's auto-attached pod network (no interfaces, no networks)

    @property
    def mac(self) -> str | None:
        mac = _map(self.iface).get("macAddress")
        return mac.lower() if isinstance(mac, str) and mac else None

    @property
    def binding(self) -> str | None:
        iface = _map(self.iface)
        for key in BINDING_KEYS:
            if key in iface:
                return f"binding:{_map(iface.get('binding')).get('name')}" if key == "binding" else key
        return None

    @property
    def source(self) -> str:
        net = _map(self.net)
        if "pod" in net:
            return "pod"
        multus = _map(net.get("multus"))
        if multus:
            return f"multus:{multus.get('networkName')}" + (":default" if multus.get("default") is True else "")
        return "?"


def _old_nics(tspec: Manifest) -> list[_Nic]:
    devices = _map(_map(tspec.get("domain")).get("devices"))
    ifaces = [x for x in _list(devices.get("interfaces")) if isinstance(x, Mapping)]
    nets = {str(n.get("name")): n for n in _list(tspec.get("networks")) if isinstance(n, Mapping)}
    if not ifaces and not nets:
        if devices.get("autoattachPodInterface") is False:
            return []
        return [_Nic("default", None, {"name": "default", "pod": {}}, True, implicit=True)]
    out: list[_Nic] = []
    for iface in ifaces:
        name = str(iface.get("name"))
        net = nets.get(name)
        multus = _map(_map(net).get("multus"))
        primary = net is not None and ("pod" in net or multus.get("default") is True)
        out.append(_Nic(name, iface, net, primary))
    return sorted(out, key=lambda n: not n.primary)  # stable: the primary first, the others in spec order


def _guest_index(nics: Sequence[_Nic]) -> dict[str, int]:
    """Position of each NIC among the guest-visible ones, in spec order (SR-IOV NICs are host devices)."""
    out: dict[str, int] = {}
    devices_order = [n for n in nics if n.binding != "sriov"]
    for i, n in enumerate(devices_order):
        out[n.name] = i
    return out


# --- reuse of existing pools and SpiderMultusConfigs ------------------------------------------------------------


def _pool_spec(obj: Manifest) -> PoolSpec | None:
    try:
        return PoolSpec.from_manifest(obj)
    except InputError:
        return None


def _same_pool(a: PoolSpec, b: PoolSpec) -> bool:
    return a.subnet == b.subnet and a.effective == b.effective and a.gateway == b.gateway


def _new_pool_spec(pool: PoolIntent) -> PoolSpec | None:
    if pool.existing or pool.subnet is None:
        return None
    try:
        return PoolSpec.build(pool.name or "new-pool", pool.subnet, pool.ips, pool.exclude_ips, pool.gateway or None)
    except InputError:
        return None  # the plan reports it, naming the flag


def _smc_block(smc: Manifest) -> tuple[str, Manifest]:
    spec = _map(smc.get("spec"))
    cni = str(spec.get("cniType") or "")
    return cni, _map(spec.get(cni))


def _smc_matches(smc: Manifest, cni: Cni, nic: NicIntent) -> bool:
    kind, block = _smc_block(smc)
    if kind != cni.value:
        return False
    if cni in (Cni.MACVLAN, Cni.IPVLAN):
        masters = [str(m) for m in _list(block.get("master"))]
        return masters == [nic.master] and int(block.get("vlanID") or 0) == int(nic.vlan or 0)
    return block.get("bridge") == nic.bridge and int(block.get("vlan") or 0) == int(nic.vlan or 0)


def _nad_name_of(smc: Manifest) -> str:
    meta = _map(smc.get("metadata"))
    cr = _map(meta.get("annotations")).get(keys.CR_NAME)
    return str(cr) if isinstance(cr, str) and cr else str(meta.get("name"))


def _reuse(intent: Intent, ctx: Context, edit: Edit) -> Intent:
    """Point the target at existing pools and SpiderMultusConfigs that already are what it would render."""
    existing = [(p, _pool_spec(p)) for p in ctx.pools]
    nics: list[NicIntent] = []
    for i, nic in enumerate(intent.nics):
        pools: list[PoolIntent] = []
        for pool in nic.pools:
            spec = _new_pool_spec(pool)
            if spec is None:
                pools.append(pool)
                continue
            same = next((obj for obj, es in existing if es is not None and _same_pool(spec, es)), None)
            named = next(
                (obj for obj, _ in existing if pool.name and _map(obj.get("metadata")).get("name") == pool.name), None
            )
            if same is not None and (named is None or named is same):
                name = str(_map(same.get("metadata")).get("name"))
                edit.notes.append(
                    f"NIC {i + 1} uses the existing SpiderIPPool {name} (same subnet, addresses and gateway)"
                    + (f" instead of creating {pool.name}" if pool.name and pool.name != name else "")
                )
                pools.append(PoolIntent(name=name, ip_version=spec.family))
                continue
            if named is not None:
                edit.refusals.append(
                    Refusal(
                        f"SpiderIPPool {pool.name} already exists with another spec (subnet "
                        f"{_map(named.get('spec')).get('subnet')}, ips {_map(named.get('spec')).get('ips')}): "
                        "virtnet would rewrite a pool other VMs may use",
                        hint=f"use it as it is with --nic pool={pool.name} (no subnet=), or give the new pool another "
                        "name with pool=NAME",
                    )
                )
                pools.append(pool)
                continue
            for _obj, es in existing:
                if es is None:
                    continue
                why = overlap(spec, es)
                if why:
                    edit.refusals.append(
                        Refusal(
                            f"the new pool overlaps the existing SpiderIPPool {es.name}: {why}",
                            "SP@v1.2.2:pkg/ippoolmanager/ippool_validate.go",
                            f"use the existing pool (--nic pool={es.name}) or pick addresses outside it "
                            "(virtnet pool suggest --existing …)",
                        )
                    )
                    break
            pools.append(pool)
        nic = replace(nic, pools=tuple(pools))
        if not nic.network and (nic.master or nic.bridge):
            cni = Cni.OVS if nic.bridge else intent.cni
            for smc in ctx.multus_configs:
                meta = _map(smc.get("metadata"))
                if meta.get("namespace") != intent.spiderpool_namespace or not _smc_matches(smc, cni, nic):
                    continue
                if nic.multus_config and nic.multus_config != meta.get("name"):
                    continue
                nad = _nad_name_of(smc)
                edit.notes.append(
                    f"NIC {i + 1} uses the existing SpiderMultusConfig {meta.get('namespace')}/{meta.get('name')} "
                    f"(NAD {meta.get('namespace')}/{nad}: {cni.value} on "
                    f"{nic.master or nic.bridge}{f', VLAN {nic.vlan}' if nic.vlan else ''})"
                )
                nic = replace(
                    nic,
                    network=f"{meta.get('namespace')}/{nad}",
                    master=None,
                    bridge=None,
                    vlan=None,
                    multus_config=None,
                )
                break
        nics.append(nic)
    return replace(intent, nics=tuple(nics))


def _drop_existing_objects(objects: list[Obj], ctx: Context, edit: Edit) -> list[Obj]:
    """Rendered pools/SpiderMultusConfigs/NADs that exist already: identical ones are not emitted again; different
    ones are refused (virtnet would rewrite what other workloads may use)."""
    pools = {str(_map(p.get("metadata")).get("name")): p for p in ctx.pools}
    smcs = {
        (str(_map(s.get("metadata")).get("namespace")), str(_map(s.get("metadata")).get("name"))): s
        for s in ctx.multus_configs
    }
    nads = {
        (str(_map(n.get("metadata")).get("namespace")), str(_map(n.get("metadata")).get("name"))): n for n in ctx.nads
    }
    out: list[Obj] = []
    for obj in objects:
        meta = _map(obj.get("metadata"))
        kind = obj.get("kind")
        if kind == "SpiderIPPool" and meta.get("name") in pools:
            live = _pool_spec(pools[str(meta.get("name"))])
            mine = _pool_spec(obj)
            if live is not None and mine is not None and _same_pool(live, mine):
                continue
            edit.refusals.append(
                Refusal(
                    f"SpiderIPPool {meta.get('name')} already exists with another spec: virtnet would rewrite a pool "
                    "other VMs may use",
                    hint=f"use it as it is with --nic pool={meta.get('name')} (no subnet=), or name the new pool "
                    "with pool=NAME",
                )
            )
            continue
        if kind == "SpiderMultusConfig":
            key = (str(meta.get("namespace")), str(meta.get("name")))
            if key in smcs:
                mine_block = _smc_block(obj)
                live_block = _smc_block(smcs[key])
                if mine_block[0] == live_block[0] and all(
                    live_block[1].get(k) == mine_block[1].get(k) for k in ("master", "vlanID", "bridge", "vlan")
                ):
                    continue
                edit.refusals.append(
                    Refusal(
                        f"SpiderMultusConfig {key[0]}/{key[1]} already exists for another network "
                        f"({live_block[0]} {dict(live_block[1])}): virtnet would rewrite it under the VMs that use it",
                        hint="name the new one with --nic multus-config=NAME, or use the existing network with "
                        f"--nic network={key[0]}/{_nad_name_of(smcs[key])}",
                    )
                )
                continue
        if kind == "NetworkAttachmentDefinition" and (str(meta.get("namespace")), str(meta.get("name"))) in nads:
            continue
        out.append(obj)
    return out


# --- NADs: what CNI is behind a network -------------------------------------------------------------------------


def _nad_cni(ref: str, ctx: Context) -> str | None:
    """The CNI type of NAD ``ns/name`` (from the NAD's config, else from the SpiderMultusConfig that makes it)."""
    ns, _, name = ref.partition("/")
    for nad in ctx.nads:
        meta = _map(nad.get("metadata"))
        if meta.get("namespace") == ns and meta.get("name") == name:
            try:
                config = json.loads(str(_map(nad.get("spec")).get("config") or "{}"))
            except (ValueError, RecursionError):
                return None
            plugins = _list(_map(config).get("plugins")) or [config]
            types = [str(_map(p).get("type")) for p in plugins if isinstance(p, Mapping)]
            main = [t for t in types if t not in ("ifacer", "coordinator", "tuning", "sbr", "portmap", "bandwidth")]
            return main[0] if main else None
    for smc in ctx.multus_configs:
        meta = _map(smc.get("metadata"))
        if meta.get("namespace") == ns and _nad_name_of(smc) == name:
            return _smc_block(smc)[0] or None
    return None


def _nad_known(ref: str, ctx: Context) -> bool:
    ns, _, name = ref.partition("/")
    if any(
        _map(n.get("metadata")).get("namespace") == ns and _map(n.get("metadata")).get("name") == name for n in ctx.nads
    ):
        return True
    return any(_map(s.get("metadata")).get("namespace") == ns and _nad_name_of(s) == name for s in ctx.multus_configs)


# --- the edit ------------------------------------------------------------------------------------------------


def _check_vm(vm: object) -> None:
    if not isinstance(vm, Mapping) or vm.get("kind") != "VirtualMachine":
        raise InputError("expected a VirtualMachine (kind: VirtualMachine)", Location(path="kind"))
    if str(vm.get("apiVersion", "")).partition("/")[0] != "kubevirt.io":
        raise InputError("expected apiVersion kubevirt.io/v1", Location(path="apiVersion"))
    template = _map(vm.get("spec")).get("template")
    if not isinstance(template, Mapping) or not isinstance(template.get("spec"), Mapping):
        raise InputError("the VirtualMachine has no spec.template.spec", Location(path="spec.template.spec"))


def _target_nics(intent: Intent, old: Sequence[_Nic]) -> tuple[NicIntent, ...]:
    """NIC i keeps the name of the VM's NIC i (and with it its MAC) unless --nic name= says otherwise."""
    nics = intent.nics
    if intent.mode is Mode.MASQUERADE and (not nics or nics[0].bridge):
        nics = (NicIntent(), *nics)  # the pod-network NIC the plan would add, named here so it can keep its name
    taken = {n.name for n in nics if n.name}
    out: list[NicIntent] = []
    by_name = {n.name: n for n in old}
    for i, nic in enumerate(nics):
        name = nic.name
        if name is None:
            candidate = old[i].name if i < len(old) else None
            if candidate is not None and candidate not in taken:
                name = candidate
            else:
                base = "default" if i == 0 and intent.mode is not Mode.BRIDGE else f"nic{i + 1}"
                name = base
                n = 1
                while name in taken:
                    n += 1
                    name = f"{base}-{n}"
            taken.add(name)
        mac = nic.mac
        if mac is None and name in by_name:
            mac = by_name[name].mac
        out.append(replace(nic, name=name, mac=mac))
    return tuple(out)


def _interface(old: Manifest | None, rendered: Manifest, binding: Binding) -> Obj:
    """The rendered interface, with what the NIC had and the new binding still honours."""
    if old is None:
        return dict(copy.deepcopy(rendered))
    new_binding = next(k for k in BINDING_KEYS if k in rendered)
    out: Obj = {}
    placed = False
    for key, value in old.items():
        if key in BINDING_KEYS:
            if not placed:
                out[new_binding] = copy.deepcopy(rendered[new_binding])
                placed = True
            continue
        if key == "ports" and binding is Binding.BRIDGE:
            continue  # ports have effect only for masquerade/passt (UG interfaces_and_networks.md "Ports")
        if key == "portRanges" and binding is not Binding.MASQUERADE:
            continue  # "portRanges are only supported on masquerade interfaces" (KV@v1.9.0 admitter)
        if key == "dhcpOptions" and binding not in (Binding.BRIDGE, Binding.MASQUERADE):
            continue  # KubeVirt's own DHCP server serves them (bridge, masquerade); passt has its own
        if key == "state" and (
            (value == "absent" and binding is not Binding.BRIDGE) or (binding is Binding.PASST_BINDING)
        ):
            continue
        out[key] = copy.deepcopy(value)
    if not placed:
        out = {"name": out.pop("name", rendered.get("name")), new_binding: copy.deepcopy(rendered[new_binding]), **out}
    if "macAddress" in rendered:
        out["macAddress"] = rendered["macAddress"]
    return out


def _network(old: Manifest | None, rendered: Manifest) -> Obj:
    if old is not None and "pod" in old and "pod" in rendered:
        return {**copy.deepcopy(dict(rendered)), "pod": copy.deepcopy(old["pod"])}  # keeps vmNetworkCIDR
    return dict(copy.deepcopy(rendered))


def _template(vm: Obj) -> Obj:
    template: Obj = vm["spec"]["template"]
    return template


def edit_vm(vm: Manifest, intent: Intent, ctx: Context | None = None) -> Edit:
    """Move ``vm`` to the network described by ``intent``. Raises :class:`InputError` for a target that cannot be
    rendered (the flags' fault); everything that would break the VM is returned in ``Edit.refusals``."""
    ctx = ctx or Context()
    _check_vm(vm)
    original = copy.deepcopy(dict(vm))
    new_vm = copy.deepcopy(dict(vm))
    edit = Edit(original=original, vm=new_vm)
    meta = _map(vm.get("metadata"))
    name = str(meta.get("name") or intent.name)
    namespace = str(meta.get("namespace") or intent.namespace)
    old_tspec = _map(_template(original).get("spec"))
    old = _old_nics(old_tspec)
    target = replace(
        intent,
        name=name,
        namespace=namespace,
        cloud_init=CloudInitIntent(ssh_authorized_keys=(_UNUSED_KEY,)),
        vm=replace(intent.vm, eviction_strategy=None),
    )
    target = replace(target, nics=_target_nics(target, old))
    target = _reuse(target, ctx, edit)
    bundle = render_bundle(target)
    edit.bundle = bundle
    plan = bundle.plan
    edit.warnings.extend(bundle.warnings)
    reused = [n for n in edit.notes if " uses the existing " in n]
    edit.notes.extend(
        n for n in bundle.notes if not (n.endswith("(not rendered)") and any(_named_in(n, r) for r in reused))
    )
    rendered_vm = next(o for o in bundle.objects if o["kind"] == "VirtualMachine")
    objects = [o for o in bundle.objects if o["kind"] not in ("VirtualMachine", "Secret")]
    edit.objects = _drop_existing_objects(objects, ctx, edit)

    tmeta_r = _map(_template(rendered_vm).get("metadata"))
    tspec_r = _map(_template(rendered_vm).get("spec"))
    r_ifaces = {str(i["name"]): i for i in _map(_map(tspec_r.get("domain")).get("devices")).get("interfaces", [])}
    r_nets = {str(n["name"]): n for n in tspec_r.get("networks", [])}
    by_old = {n.name: n for n in old}

    # which NICs stay, which change network, which need a MAC (decided after networkData)
    new_nics: list[netdata.NewNic] = []
    for nic in plan.nics:
        previous = by_old.get(nic.name)
        r_iface = r_ifaces[nic.name]
        r_net = r_nets[nic.name]
        changed_net = True
        if previous is not None and not previous.implicit:
            new_binding = next(k for k in BINDING_KEYS if k in r_iface)
            new_binding = f"binding:{r_iface['binding']['name']}" if new_binding == "binding" else new_binding
            changed_net = previous.binding != new_binding or previous.source != _Nic("x", r_iface, r_net, True).source
            changed_net = changed_net or _annotation_changed(original, tmeta_r, nic)
        new_nics.append(
            netdata.NewNic(
                name=nic.name,
                mac=nic.mac,
                primary=nic.primary,
                kept=previous is not None,
                network_changed=changed_net,
                ipv6=6 in nic.families,
                bridge=nic.binding is Binding.BRIDGE,
            )
        )

    needs_macs = _edit_network_data(edit, new_vm, old, new_nics, plan.nics, intent.mode, ctx)

    # interfaces and networks
    tspec = _template(new_vm)["spec"]
    domain = tspec.setdefault("domain", {})
    devices = domain.setdefault("devices", {})
    ifaces: list[Obj] = []
    nets: list[Obj] = []
    for nic in plan.nics:
        previous = by_old.get(nic.name)
        rendered_iface = dict(r_ifaces[nic.name])
        if previous is not None and previous.mac is None and not needs_macs and not _mac_given(intent, nic):
            rendered_iface.pop("macAddress", None)  # a NIC that stays keeps "no fixed MAC" unless networkData needs one
        ifaces.append(_interface(None if previous is None else previous.iface, rendered_iface, nic.binding))
        nets.append(_network(None if previous is None else previous.net, r_nets[nic.name]))
        mac = ifaces[-1].get("macAddress")
        if nic.binding is Binding.MASQUERADE and isinstance(mac, str) and mac.lower() in RESERVED_MACS:
            edit.refusals.append(
                Refusal(
                    f"NIC {nic.name} keeps MAC {mac}, which KubeVirt reserves for masquerade's in-pod bridge",
                    "KV@v1.0.1:pkg/network/link/reserved_macs.go",
                    "give it another MAC with --nic mac=…",
                )
            )
    _replace_list(edit, devices, "interfaces", ifaces, "spec.template.spec.domain.devices.interfaces", old)
    _replace_list(edit, tspec, "networks", nets, "spec.template.spec.networks", old)

    # annotations
    _edit_annotations(edit, new_vm, tmeta_r)

    case = _Case(edit, target, plan.nics, old, ctx)
    _refusals(case)
    edit.effect = _effect(case)
    edit.ips = _ips(case)
    return edit


def _named_in(bundle_note: str, reuse_note: str) -> bool:
    """Whether the renderer's "uses the existing …" note names what a reuse note already said."""
    words = [w.strip("'") for w in bundle_note.split() if "'" in w or "/" in w]
    return any(w and w in reuse_note for w in words)


def _mac_given(intent: Intent, nic: NicPlan) -> bool:
    return any(n.name == nic.name and n.mac for n in intent.nics)


def _annotation_changed(original: Manifest, tmeta_r: Manifest, nic: NicPlan) -> bool:
    """For the primary NIC on the pod network, the Multus default network (the annotation) is part of its network."""
    if not nic.primary:
        return False
    old = _map(_map(_template(dict(original)).get("metadata")).get("annotations")).get(keys.DEFAULT_NETWORK)
    new = _map(tmeta_r.get("annotations")).get(keys.DEFAULT_NETWORK)
    return old != new


def _describe_nics(items: Sequence[Manifest]) -> str:
    parts = []
    for x in items:
        binding = next((k for k in BINDING_KEYS if k in x), None)
        if binding == "binding":
            binding = f"binding {_map(x.get('binding')).get('name')}"
        src = (
            "pod"
            if "pod" in x
            else (
                f"multus {_map(x.get('multus')).get('networkName')}"
                + (" (default)" if _map(x.get("multus")).get("default") else "")
                if "multus" in x
                else None
            )
        )
        parts.append(f"{x.get('name')}" + (f" {binding}" if binding else "") + (f" {src}" if src else ""))
    return ", ".join(parts) or "none"


def _replace_list(edit: Edit, parent: Obj, key: str, items: list[Obj], path: str, old: Sequence[_Nic]) -> None:
    before = parent.get(key)
    if before == items:
        return
    if before is None and old and old[0].implicit:
        summary = f"implicit pod network (KubeVirt's default binding) → {_describe_nics(items)}"
    else:
        summary = f"{_describe_nics(_list(before))} → {_describe_nics(items)}"
        if _describe_nics(_list(before)) == _describe_nics(items):
            summary = "NIC fields updated: " + _describe_nics(items)
    parent[key] = items
    edit.changes.append(Change(path, summary))


def _edit_annotations(edit: Edit, vm: Obj, tmeta_r: Manifest) -> None:
    template = _template(vm)
    rendered = {k: v for k, v in _map(tmeta_r.get("annotations")).items() if k in NETWORK_ANNOTATIONS}
    tmeta = template.get("metadata")
    old = dict(_map(_map(tmeta).get("annotations")))
    new: dict[str, Any] = {}
    for k, v in old.items():
        if k in NETWORK_ANNOTATIONS:
            if k in rendered:
                new[k] = rendered[k]
            continue
        new[k] = v
    for k, v in rendered.items():
        new.setdefault(k, v)
    if new == old:
        return
    for k in NETWORK_ANNOTATIONS:
        if old.get(k) != new.get(k):
            if k not in new:
                what = f"removed (was {old[k]})"
            elif k not in old:
                what = f"set to {new[k]}"
            else:
                what = f"{old[k]} → {new[k]}"
            edit.changes.append(Change(f"spec.template.metadata.annotations[{k}]", what))
    if not isinstance(tmeta, dict):
        tmeta = {}
        template["metadata"] = tmeta
    if new:
        tmeta["annotations"] = new
    else:
        tmeta.pop("annotations", None)
        if not tmeta and "metadata" not in _template(edit.original):
            template.pop("metadata", None)


# --- networkData -------------------------------------------------------------------------------------------------


def _cloud_init(tspec: Manifest) -> list[tuple[int, str, Obj]]:
    out = []
    for i, vol in enumerate(_list(tspec.get("volumes"))):
        if not isinstance(vol, dict):
            continue
        for src in CLOUD_INIT_SOURCES:
            if isinstance(vol.get(src), dict):
                out.append((i, src, vol[src]))
    return out


def _secret_value(secret: Manifest) -> tuple[str, str] | None:
    """(key, text) of the networkData in a Secret (``stringData`` wins over ``data``, as the API server merges)."""
    for key in SECRET_KEYS:
        text = _map(secret.get("stringData")).get(key)
        if isinstance(text, str):
            return key, text
        encoded = _map(secret.get("data")).get(key)
        if isinstance(encoded, str):
            try:
                return key, base64.b64decode(encoded, validate=True).decode("utf-8")
            except (binascii.Error, ValueError, UnicodeDecodeError):
                return None
    return None


def _edit_network_data(
    edit: Edit,
    vm: Obj,
    old: Sequence[_Nic],
    new: list[netdata.NewNic],
    plans: Sequence[NicPlan],
    mode: Mode,
    ctx: Context,
) -> bool:
    """Rewrite every cloud-init networkData for the new NICs; returns whether the NICs need fixed MACs (their
    networkData matches them by MAC)."""
    tspec = _template(vm)["spec"]
    volumes = _cloud_init(tspec)
    index = _guest_index(old)
    old_nd = [netdata.OldNic(n.name, n.mac, index.get(n.name)) for n in old]
    rendered_v2 = _map(_map(yaml.safe_load(_rendered_v2(mode, plans))).get("ethernets"))
    multi = len(new) > 1
    needs_macs = False
    if not volumes and multi:
        edit.notes.append(
            f"the VM has no cloud-init volume: configure NICs {', '.join(n.name for n in new[1:])} in the guest "
            "(DHCP on each; KubeVirt never generates network config)"
        )
    for vol_index, src, ci in volumes:
        config_drive = src == "cloudInitConfigDrive"
        present = [k for k in NETWORK_DATA_KEYS if ci.get(k)]
        base = f"spec.template.spec.volumes[{vol_index}].{src}"
        if not present:
            if not multi:
                continue
            data = netdata.openstack_config(new) if config_drive else {"version": 2, "ethernets": dict(rendered_v2)}
            text = netdata.dump(data, config_drive)
            if _too_big(edit, text, base):
                continue
            ci["networkData"] = text
            needs_macs = True
            edit.network_data.append(NetworkDataEdit(vol_index, src, "networkData", None, text))
            edit.changes.append(
                Change(f"{base}.networkData", f"added: {', '.join(f'{n.name} (MAC {n.mac}, DHCP)' for n in new)}")
            )
            continue
        key = present[0]
        secret_name: str | None = None
        secret_key: str | None = None
        if key == "networkDataSecretRef":
            secret_name = str(_map(ci.get(key)).get("name") or "")
            secret = ctx.secrets.get(secret_name)
            found = _secret_value(secret) if secret is not None else None
            needs_macs = True
            if found is None:
                what = ", ".join(
                    f"{n.name} (MAC {n.mac}, DHCP" + (", no default route" if not n.primary else "") + ")" for n in new
                )
                if secret is None:
                    why = (
                        "rerun with --update-secret to let virtnet rewrite it"
                        if not ctx.update_secret
                        else "virtnet could not read it"
                    )
                else:
                    why = "it holds no networkdata key virtnet can read"
                edit.warnings.append(
                    f"networkData is in Secret {secret_name} (networkDataSecretRef), not changed: {why}. It must "
                    f"configure the NICs {what}; whether its routes depend on a removed NIC was not checked"
                )
                continue
            secret_key, text = found
        else:
            raw = str(ci.get(key))
            if key == "networkDataBase64":
                try:
                    text = base64.b64decode(raw.replace("\n", ""), validate=True).decode("utf-8")
                except (binascii.Error, ValueError, UnicodeDecodeError):
                    edit.refusals.append(
                        Refusal(
                            f"{base}.networkDataBase64 is not valid base64: virtnet cannot rewrite it for the new NICs"
                        )
                    )
                    continue
            else:
                text = raw
        try:
            parsed = netdata.parse(text, config_drive)
            result = netdata.rewrite(parsed, config_drive, old_nd, new, rendered_v2)
        except netdata.NetworkDataError as err:
            edit.refusals.append(
                Refusal(
                    f"{base}.{key}{f' (Secret {secret_name})' if secret_name else ''} cannot be rewritten for the new "
                    f"NICs: {err}",
                    hint="fix or remove it first",
                )
            )
            continue
        for r in result.refusals:
            edit.refusals.append(
                Refusal(
                    r, hint="remove or move those settings in the networkData first, or keep the NIC (--nic name=…)"
                )
            )
        edit.warnings.extend(result.warnings)
        if result.data is None:
            continue  # network config disabled: nothing to rewrite
        needs_macs = True
        if netdata.parse(netdata.dump(result.data, config_drive), config_drive) == parsed:
            continue  # the same config: keep the text exactly as it was
        new_text = netdata.dump(result.data, config_drive)
        where = f"{base}.{key}"
        if secret_name is not None:
            assert secret_key is not None
            edit.network_data.append(
                NetworkDataEdit(vol_index, src, key, text, new_text, secret=secret_name, secret_key=secret_key)
            )
            if not ctx.update_secret:
                edit.warnings.append(
                    f"Secret {secret_name} key {secret_key} (networkDataSecretRef) must change for the new NICs "
                    f"({'; '.join(result.changes)}): rerun with --update-secret to let virtnet rewrite it"
                )
                continue
            secret = dict(copy.deepcopy(ctx.secrets[secret_name]))
            if isinstance(_map(secret.get("stringData")).get(secret_key), str):
                secret["stringData"][secret_key] = new_text
            else:
                secret.setdefault("data", {})[secret_key] = base64.b64encode(new_text.encode()).decode()
            edit.secrets.append(secret)
            edit.changes.append(Change(f"Secret {secret_name} data.{secret_key}", "; ".join(result.changes)))
            continue
        if key == "networkDataBase64":
            value = base64.b64encode(new_text.encode()).decode()
        else:
            value = new_text
            if _too_big(edit, new_text, base):
                continue
        ci[key] = value
        edit.network_data.append(NetworkDataEdit(vol_index, src, key, text, new_text))
        edit.changes.append(Change(where, "; ".join(result.changes) or "rewritten"))
    return needs_macs


def _rendered_v2(mode: Mode, plans: Sequence[NicPlan]) -> str:
    from virtnet.render.cloudinit import network_data

    return network_data(tuple(plans))


def _too_big(edit: Edit, text: str, base: str) -> bool:
    size = len(text.encode())
    if size <= INLINE_LIMIT:
        return False
    edit.refusals.append(
        Refusal(
            f"{base}.networkData would be {size} bytes, over KubeVirt's {INLINE_LIMIT}-byte inline limit",
            "KV@v1.0.1:pkg/virt-api/webhooks/validating-webhook/admitters/vmi-create-admitter.go",
            "move the network config into a Secret (networkDataSecretRef) and rerun with --update-secret",
        )
    )
    return True


# --- refusals ----------------------------------------------------------------------------------------------------


def running_state(vm: Manifest, ctx: Context) -> tuple[str, str]:
    """("running" | "stopped" | "unknown", why)."""
    if ctx.live:
        if ctx.vmi is not None:
            phase = _map(ctx.vmi.get("status")).get("phase") or "Pending"
            if phase not in ("Succeeded", "Failed"):
                return "running", f"its VMI exists (phase {phase})"
        return "stopped", "it has no running VMI"
    status = _map(vm.get("status")).get("printableStatus")
    if status == "Running":
        return "running", "status.printableStatus Running"
    if status in ("Stopped", "Halted"):
        return "stopped", f"status.printableStatus {status}"
    spec = _map(vm.get("spec"))
    strategy = spec.get("runStrategy")
    if strategy in ("Always", "RerunOnFailure") or (strategy is None and spec.get("running") is True):
        return "running", f"runStrategy {strategy}" if strategy else "running: true"
    if strategy == "Halted" or (strategy is None and spec.get("running") is False):
        return "stopped", f"runStrategy {strategy}" if strategy else "running: false"
    return "unknown", f"runStrategy {strategy}" if strategy else "no runStrategy"


class _Case(NamedTuple):
    """The edit and what the checks after it read: the target, its planned NICs, the VM's NICs before the edit,
    and what is known of the cluster."""

    edit: Edit
    target: Intent
    plans: Sequence[NicPlan]
    old: Sequence[_Nic]
    ctx: Context


def _refusals(case: _Case) -> None:
    """What would break the VM (refused, with the reason) or may surprise (warned)."""
    edit, target, plans, old, ctx = case
    original, vm = edit.original, edit.vm
    tspec = _map(_template(vm).get("spec"))
    caps = capabilities(target.mode, target.cni, target.versions, target.passt)
    # 1. evictionStrategy LiveMigrate (the VM's, else the cluster's) and a mode KubeVirt will not migrate
    eviction = tspec.get("evictionStrategy")
    whose = "the VM's evictionStrategy"
    if eviction is None and ctx.kubevirt is not None:
        eviction = _map(_map(ctx.kubevirt.get("spec")).get("configuration")).get("evictionStrategy")
        whose = "the cluster's default evictionStrategy (KubeVirt CR spec.configuration.evictionStrategy)"
    if eviction == "LiveMigrate" and not caps.live_migration.kubevirt_allows:
        state, why = running_state(original, ctx)
        text = (
            f"{whose} is LiveMigrate and {caps.live_migration.kubevirt}: KubeVirt denies evicting its pod, so node "
            "drains would hang"
        )
        if state == "running":
            edit.refusals.append(
                Refusal(
                    f"the VM runs ({why}) and {text}",
                    f"{caps.binding.migration_source}; {SRC_EVICTION}",
                    "pick a mode KubeVirt migrates (virtnet modes), or set evictionStrategy: LiveMigrateIfPossible "
                    "(or None) on the VM first",
                )
            )
        else:
            edit.warnings.append(f"when the VM starts, {text} ({caps.binding.migration_source})")
    # 2. bridge binding on a macvlan/ipvlan network
    for nic in plans:
        cni = _nad_cni(nic.nad_ref, ctx) if nic.nad_ref and not nic.render_multus_config else None
        if nic.binding is Binding.BRIDGE and cni in ("macvlan", "ipvlan"):
            edit.refusals.append(
                Refusal(
                    f"NIC {nic.name}: bridge binding on {nic.nad_ref}, a {cni} network: bridge moves the pod's MAC "
                    f"into the VM and {cni} needs the original MAC, so the VM gets no connectivity",
                    SRC_BRIDGE_MACVLAN,
                    f"use --mode passt --cni {cni} for this network, or an ovs network for bridge",
                )
            )
    # 3. a NAD that is known not to exist
    if "NetworkAttachmentDefinition" in ctx.known:
        for nic in plans:
            if nic.nad_ref and not nic.render_multus_config and not _nad_known(nic.nad_ref, ctx):
                edit.refusals.append(
                    Refusal(
                        f"NIC {nic.name}: NetworkAttachmentDefinition {nic.nad_ref} does not exist: the VM would not "
                        "start ('failed to locate network attachment definition')",
                        "KV@v1.9.0:pkg/network/multus/nad.go",
                        "create it (or its SpiderMultusConfig) first, or name an existing one",
                    )
                )
    if "SpiderIPPool" in ctx.known:
        names = {str(_map(p.get("metadata")).get("name")) for p in ctx.pools}
        rendered = {str(_map(o.get("metadata")).get("name")) for o in edit.objects if o.get("kind") == "SpiderIPPool"}
        for nic in plans:
            for pool in nic.pools:
                if pool.spec is None and pool.name not in names and pool.name not in rendered:
                    edit.refusals.append(
                        Refusal(
                            f"NIC {nic.name}: SpiderIPPool {pool.name} does not exist: SpiderPool could not give the "
                            "VM an address",
                            hint="create it, or describe a new pool with --nic subnet=,gateway=,ips=",
                        )
                    )
    # 4. HTTP/TCP probes with no pod network
    has_pod = any("pod" in _map(n) for n in _list(tspec.get("networks")))
    if not has_pod:
        for probe in ("readinessProbe", "livenessProbe"):
            p = _map(tspec.get(probe))
            kind = next((k for k in ("httpGet", "tcpSocket") if k in p), None)
            if kind:
                edit.refusals.append(
                    Refusal(
                        f"the VM has a {probe} with {kind}, which KubeVirt rejects when no pod network is attached; "
                        f"mode {target.mode.value} has none",
                        SRC_PROBES,
                        "use an exec or guest-agent probe, or a mode on the pod network",
                    )
                )
    # 5. a VM owned by a controller (VirtualMachinePool) would be reverted
    for owner in _list(_map(original.get("metadata")).get("ownerReferences")):
        if isinstance(owner, Mapping) and owner.get("controller") is True:
            edit.refusals.append(
                Refusal(
                    f"the VM is controlled by {owner.get('kind')} {owner.get('name')}, which rewrites its template",
                    hint=f"change the network in the {owner.get('kind')}'s VM template instead",
                )
            )
    # 6. NICs removed that virtnet does not render (SR-IOV, other bindings): said, not refused
    kept = {n.name for n in plans}
    for n in old:
        if n.name not in kept and not n.implicit:
            edit.warnings.append(
                f"NIC {n.name} ({n.binding or 'no binding'} on {n.source}) is removed: mode {target.mode.value} "
                "gives the VM only the NICs of --nic"
            )


# --- effect ------------------------------------------------------------------------------------------------------


def _ifaces_by_name(vm: Manifest) -> dict[str, object]:
    tspec = _map(_template(dict(vm)).get("spec"))
    devices = _map(_map(tspec.get("domain")).get("devices"))
    return {str(_map(i).get("name")): i for i in _list(devices.get("interfaces"))}


def _nets_by_name(vm: Manifest) -> dict[str, object]:
    tspec = _map(_template(dict(vm)).get("spec"))
    return {str(_map(n).get("name")): n for n in _list(tspec.get("networks"))}


def _effect(case: _Case) -> Effect:
    """When the edit takes effect, and why."""
    edit, target, _plans, _old, ctx = case
    original, vm = edit.original, edit.vm
    state, why = running_state(original, ctx)
    running = f"{state} ({why})"
    kv = target.versions.kubevirt
    ns, name = str(_map(original.get("metadata")).get("namespace") or target.namespace), target.name
    how = f"virtctl restart {name} -n {ns}"
    if not edit.changed:
        return Effect("none", running)
    reasons: list[Reason] = []
    old_ifaces, new_ifaces = _ifaces_by_name(original), _ifaces_by_name(vm)
    old_nets, new_nets = _nets_by_name(original), _nets_by_name(vm)
    implicit = not old_ifaces and not old_nets
    removed = sorted(set(old_ifaces) - set(new_ifaces)) + (["default (implicit)"] if implicit and new_ifaces else [])
    changed = sorted(
        n for n in set(old_ifaces) & set(new_ifaces) if _no_state(old_ifaces[n]) != _no_state(new_ifaces[n])
    )
    changed += sorted(n for n in set(old_nets) & set(new_nets) if old_nets[n] != new_nets[n] and n not in changed)
    if removed:
        reasons.append(
            Reason(f"interfaces removed: {', '.join(removed)} (hot-unplug needs state: absent)", SRC_RESTART)
        )
    if changed:
        reasons.append(Reason(f"interfaces or networks changed: {', '.join(changed)}", SRC_RESTART))
    pod_added = any("pod" in _map(n) for n in new_nets.values()) and not any(
        "pod" in _map(n) for n in old_nets.values()
    )
    if pod_added and not implicit:
        reasons.append(Reason("a pod network is added", SRC_RESTART))
    added = sorted(set(new_ifaces) - set(old_ifaces))
    annotations_changed = any(c.path.startswith("spec.template.metadata.annotations") for c in edit.changes)
    if annotations_changed:
        reasons.append(
            Reason(
                "the Multus/SpiderPool annotations change; KubeVirt copies them to the virt-launcher pod only when it "
                "creates the pod (KubeVirt does not mark this change RestartRequired)",
                SRC_POD_ANNOTATIONS,
            )
        )
    if any(c.path.startswith("spec.template.spec.volumes") for c in edit.changes):
        reasons.append(
            Reason(
                "cloud-init networkData changes; the cloud-init disk is written when the VMI starts",
                f"{SRC_CLOUD_INIT}; {SRC_VOLUMES}",
            )
        )
    if any(c.path.startswith("Secret ") for c in edit.changes):
        reasons.append(
            Reason("the networkData Secret changes; cloud-init reads it when the VMI starts", SRC_CLOUD_INIT)
        )
    if added and not reasons:
        bindings = {next((k for k in BINDING_KEYS if k in _map(new_ifaces[n])), None) for n in added}
        if not bindings <= {"bridge", "sriov"}:
            reasons.append(
                Reason(f"new interfaces {', '.join(added)} use a binding KubeVirt cannot hotplug", SRC_HOTPLUG)
            )
        elif kv < HOTPLUG_FIRST:
            reasons.append(Reason(f"KubeVirt {kv} cannot hotplug interfaces (from v1.1)", SRC_HOTPLUG))
        elif kv < HOTPLUG_GA:
            config = _map(_map(_map(ctx.kubevirt).get("spec")).get("configuration"))
            gates = _list(_map(config.get("developerConfiguration")).get("featureGates"))
            if "HotplugNICs" not in gates:
                reasons.append(
                    Reason(f"KubeVirt {kv} hotplugs interfaces only with the HotplugNICs feature gate", SRC_HOTPLUG)
                )
    if kv < ROLLOUT_FIRST:
        condition = (
            f"KubeVirt {kv} applies template changes at the next start and shows no RestartRequired condition "
            f"(it arrived with vmRolloutStrategy in v1.2: {SRC_ROLLOUT})"
        )
    else:
        strategy = "Stage (the default)"
        if ctx.kubevirt is not None:
            found = _map(_map(ctx.kubevirt.get("spec")).get("configuration")).get("vmRolloutStrategy")
            if isinstance(found, str):
                strategy = found
        condition = (
            f"vmRolloutStrategy {strategy}: KubeVirt marks the VM RestartRequired for every change under Stage, and "
            f"for network changes it cannot hotplug under LiveUpdate ({SRC_ROLLOUT}; {SRC_RESTART})"
        )
    if state == "stopped":
        return Effect("next-start", running, tuple(reasons), condition, f"virtctl start {name} -n {ns}")
    if reasons:
        return Effect("restart", running, tuple(reasons), condition, how)
    return Effect(
        "now",
        running,
        (
            Reason(
                f"only new {', '.join(added)} interfaces: KubeVirt hotplugs them into the running VM (Multus thick "
                "plugin and its dynamic networks controller needed, else a live migration attaches them)",
                SRC_HOTPLUG,
            ),
        ),
        condition,
    )


def _no_state(iface: object) -> dict[str, Any]:
    return {k: v for k, v in _map(iface).items() if k != "state"}


# --- IPs -------------------------------------------------------------------------------------------------------


def _old_pools(original: Manifest, old: Sequence[_Nic]) -> dict[str, list[str]]:
    """Pod interface → the pools the VM asked for before the edit (ipam.spidernet.io/ippools, else ippool)."""
    annotations = _map(_map(_template(dict(original)).get("metadata")).get("annotations"))
    out: dict[str, list[str]] = {}
    try:
        entries = json.loads(annotations.get(keys.IPPOOLS) or "null")
    except (TypeError, ValueError):
        entries = None
    order = [pod_interface_name(n.name, primary=n.primary) for n in old]
    if isinstance(entries, list):
        for i, entry in enumerate(entries):
            entry = _map(entry)
            iface = entry.get("interface") or (order[i] if i < len(order) else None)
            if iface:
                out[str(iface)] = [str(p) for f in ("ipv4", "ipv6") for p in _list(entry.get(f))]
    return out


def _ips(case: _Case) -> list[IpNote]:
    """What happens to each NIC's address (and to addresses SpiderPool keeps for NICs that go)."""
    edit, target, plans, old, ctx = case
    original = edit.original
    ns = str(_map(original.get("metadata")).get("namespace") or target.namespace)
    name = target.name
    endpoint_name = f"SpiderEndpoint {ns}/{name}"
    release = (
        f"stop the VM (virtctl stop {name} -n {ns}), delete {endpoint_name} (kubectl -n {ns} delete spiderendpoint "
        f"{name}) and start it again; deleting the VM releases it too"
    )
    recorded: dict[str, list[tuple[str, str]]] = {}
    if ctx.endpoint is not None:
        for item in _list(_map(_map(ctx.endpoint.get("status")).get("current")).get("ips")):
            item = _map(item)
            for family in ("ipv4", "ipv6"):
                if item.get(family):
                    recorded.setdefault(str(item.get("interface")), []).append(
                        (str(item[family]).split("/")[0], str(item.get(f"{family}Pool") or "?"))
                    )
    before = _old_pools(original, old)
    out: list[IpNote] = []
    seen: set[str] = set()
    for nic in plans:
        pod_if = nic.pod_interface
        seen.add(pod_if)
        pools = [p.name for p in nic.pools]
        held = recorded.get(pod_if, [])
        if not pools:
            if target.mode is Mode.MASQUERADE:
                text = (
                    f"the pod IP comes from the {target.cni.value} CNI's IPAM and changes when the pod is recreated; "
                    "the guest sees 10.0.2.2 behind it (masquerade)"
                )
            else:
                text = f"the address comes from {nic.nad_ref}'s IPAM (its default pools)"
            if held:
                text += (
                    "; "
                    + ", ".join(f"{ip} (pool {pool})" for ip, pool in held)
                    + (f" stays allocated to the VM in {endpoint_name}, unused, until that endpoint goes")
                )
                out.append(IpNote(nic.name, pod_if, text, release, SRC_STATIC_IP))
            else:
                out.append(IpNote(nic.name, pod_if, text))
            continue
        kept = [(ip, pool) for ip, pool in held if pool in pools]
        if held and len(kept) == len(held):
            out.append(
                IpNote(
                    nic.name,
                    pod_if,
                    "keeps " + ", ".join(f"{ip} (pool {pool})" for ip, pool in held),
                    "",
                    SRC_STATIC_IP,
                )
            )
        elif held:
            out.append(
                IpNote(
                    nic.name,
                    pod_if,
                    f"SpiderPool keeps giving {pod_if} "
                    + ", ".join(f"{ip} (pool {pool})" for ip, pool in held)
                    + f", recorded in {endpoint_name}, not an address from {', '.join(pools)}: KubeVirt VMs reuse the "
                    "recorded allocation whatever pools they ask for now",
                    release + f"; the next start then takes a new fixed IP from {', '.join(pools)}",
                    SRC_STATIC_IP,
                )
            )
        elif ctx.live:
            out.append(
                IpNote(
                    nic.name,
                    pod_if,
                    f"a new fixed IP from {', '.join(pools)} at the next start, kept across restarts while the VM "
                    "exists",
                    "",
                    SRC_STATIC_IP,
                )
            )
        else:
            prior = [p for p in before.get(pod_if, []) if p not in pools]
            text = f"a new fixed IP from {', '.join(pools)} at the next start, kept across restarts while the VM exists"
            if prior:
                text += (
                    f"; if {endpoint_name} already records an address for {pod_if} (from {', '.join(prior)}), "
                    "SpiderPool keeps giving that one instead"
                )
            out.append(IpNote(nic.name, pod_if, text, release if prior else "", SRC_STATIC_IP))
    for pod_if, held in recorded.items():
        if pod_if in seen:
            continue
        out.append(
            IpNote(
                "(removed)",
                pod_if,
                ", ".join(f"{ip} (pool {pool})" for ip, pool in held)
                + f" stays allocated to the VM in {endpoint_name}, unused, until that endpoint goes",
                release,
                SRC_STATIC_IP,
            )
        )
    return out
