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
from virtnet.model.capabilities import (
    NIC_HOTPLUG_FIRST,
    NIC_HOTPLUG_GA,
    VM_ROLLOUT_STRATEGY_FIRST,
    Binding,
    pod_interface_name,
)
from virtnet.model.identity import RESERVED_MACS
from virtnet.model.intent import CloudInitIntent, Intent, NicIntent, PoolIntent
from virtnet.model.ippool import PoolSpec, overlap
from virtnet.model.manifest import as_list as _list
from virtnet.model.manifest import as_map as _map
from virtnet.model.modes import Cni, Mode, capabilities
from virtnet.model.versions import Version
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
        nic = replace(nic, pools=tuple(_reuse_pool(i, pool, existing, edit) for pool in nic.pools))
        if not nic.network and (nic.master or nic.bridge):
            nic = _reuse_multus_config(i, nic, intent, ctx, edit)
        nics.append(nic)
    return replace(intent, nics=tuple(nics))


def _reuse_pool(
    i: int, pool: PoolIntent, existing: Sequence[tuple[Manifest, PoolSpec | None]], edit: Edit
) -> PoolIntent:
    """NIC ``i``'s new pool, or the existing SpiderIPPool that is the same pool; a pool of the same name with another
    spec, or one the new pool overlaps, is refused."""
    spec = _new_pool_spec(pool)
    if spec is None:
        return pool
    same = next((obj for obj, es in existing if es is not None and _same_pool(spec, es)), None)
    named = next((obj for obj, _ in existing if pool.name and _map(obj.get("metadata")).get("name") == pool.name), None)
    if same is not None and (named is None or named is same):
        name = str(_map(same.get("metadata")).get("name"))
        edit.notes.append(
            f"NIC {i + 1} uses the existing SpiderIPPool {name} (same subnet, addresses and gateway)"
            + (f" instead of creating {pool.name}" if pool.name and pool.name != name else "")
        )
        return PoolIntent(name=name, ip_version=spec.family)
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
        return pool
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
    return pool


def _reuse_multus_config(i: int, nic: NicIntent, intent: Intent, ctx: Context, edit: Edit) -> NicIntent:
    """NIC ``i`` on the NAD of an existing SpiderMultusConfig that already describes its network, else as it is."""
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
        return replace(
            nic,
            network=f"{meta.get('namespace')}/{nad}",
            master=None,
            bridge=None,
            vlan=None,
            multus_config=None,
        )
    return nic


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
    edit = Edit(original=copy.deepcopy(dict(vm)), vm=copy.deepcopy(dict(vm)))
    old = _old_nics(_map(_template(edit.original).get("spec")))
    target = _target(vm, intent, old, ctx, edit)
    bundle = _render(target, ctx, edit)
    plans = bundle.plan.nics
    rendered = _Rendered.of(next(o for o in bundle.objects if o["kind"] == "VirtualMachine"))
    # which NICs stay and which change network decide the networkData, and the networkData whether NICs need a MAC
    by_old = {n.name: n for n in old}
    new_nics = [_new_nic(nic, by_old.get(nic.name), edit.original, rendered) for nic in plans]
    needs_macs = _edit_network_data(edit, edit.vm, old, new_nics, plans, intent.mode, ctx)
    _edit_nics(edit, intent, plans, old, rendered, needs_macs)
    _edit_annotations(edit, edit.vm, rendered.metadata)
    case = _Case(edit, target, plans, old, ctx)
    _refusals(case)
    edit.effect = _effect(case)
    edit.ips = _ips(case)
    return edit


def _target(vm: Manifest, intent: Intent, old: Sequence[_Nic], ctx: Context, edit: Edit) -> Intent:
    """What to render: ``intent`` for this VM (its name and namespace, its NICs' names and MACs), pointed at the
    existing pools and SpiderMultusConfigs it would otherwise create; no login, no eviction strategy of its own."""
    meta = _map(vm.get("metadata"))
    target = replace(
        intent,
        name=str(meta.get("name") or intent.name),
        namespace=str(meta.get("namespace") or intent.namespace),
        cloud_init=CloudInitIntent(ssh_authorized_keys=(_UNUSED_KEY,)),
        vm=replace(intent.vm, eviction_strategy=None),
    )
    target = replace(target, nics=_target_nics(target, old))
    return _reuse(target, ctx, edit)


def _render(target: Intent, ctx: Context, edit: Edit) -> Bundle:
    """Render the target; its warnings and notes go to the edit, and so do the objects besides the VM that are not
    there yet."""
    bundle = render_bundle(target)
    edit.bundle = bundle
    edit.warnings.extend(bundle.warnings)
    reused = [n for n in edit.notes if " uses the existing " in n]
    edit.notes.extend(
        n for n in bundle.notes if not (n.endswith("(not rendered)") and any(_named_in(n, r) for r in reused))
    )
    objects = [o for o in bundle.objects if o["kind"] not in ("VirtualMachine", "Secret")]
    edit.objects = _drop_existing_objects(objects, ctx, edit)
    return bundle


class _Rendered(NamedTuple):
    """The rendered VM's template metadata, and its interfaces and networks by NIC name."""

    metadata: Manifest
    interfaces: dict[str, Obj]
    networks: dict[str, Obj]

    @classmethod
    def of(cls, vm: Obj) -> _Rendered:
        tspec = _map(_template(vm).get("spec"))
        interfaces = _map(_map(tspec.get("domain")).get("devices")).get("interfaces", [])
        return cls(
            _map(_template(vm).get("metadata")),
            {str(i["name"]): i for i in interfaces},
            {str(n["name"]): n for n in tspec.get("networks", [])},
        )


def _new_nic(nic: NicPlan, previous: _Nic | None, original: Manifest, rendered: _Rendered) -> netdata.NewNic:
    """A NIC after the edit as the networkData rewrite sees it (``previous``: the VM's NIC of that name): whether the
    VM had it, whether its network changes."""
    r_iface = rendered.interfaces[nic.name]
    r_net = rendered.networks[nic.name]
    changed_net = True
    if previous is not None and not previous.implicit:
        new_binding = next(k for k in BINDING_KEYS if k in r_iface)
        new_binding = f"binding:{r_iface['binding']['name']}" if new_binding == "binding" else new_binding
        changed_net = previous.binding != new_binding or previous.source != _Nic("x", r_iface, r_net, True).source
        changed_net = changed_net or _annotation_changed(original, rendered.metadata, nic)
    return netdata.NewNic(
        name=nic.name,
        mac=nic.mac,
        primary=nic.primary,
        kept=previous is not None,
        network_changed=changed_net,
        ipv6=6 in nic.families,
        bridge=nic.binding is Binding.BRIDGE,
    )


def _edit_nics(
    edit: Edit, intent: Intent, plans: Sequence[NicPlan], old: Sequence[_Nic], rendered: _Rendered, needs_macs: bool
) -> None:
    """Replace the VM's interfaces and networks by the rendered ones, each NIC that stays keeping what it had."""
    tspec = _template(edit.vm)["spec"]
    devices = tspec.setdefault("domain", {}).setdefault("devices", {})
    by_old = {n.name: n for n in old}
    ifaces: list[Obj] = []
    nets: list[Obj] = []
    for nic in plans:
        previous = by_old.get(nic.name)
        rendered_iface = dict(rendered.interfaces[nic.name])
        if previous is not None and previous.mac is None and not needs_macs and not _mac_given(intent, nic):
            rendered_iface.pop("macAddress", None)  # a NIC that stays keeps "no fixed MAC" unless networkData needs one
        ifaces.append(_interface(None if previous is None else previous.iface, rendered_iface, nic.binding))
        nets.append(_network(None if previous is None else previous.net, rendered.networks[nic.name]))
        _refuse_reserved_mac(edit, nic, ifaces[-1])
    _replace_list(edit, devices, "interfaces", ifaces, "spec.template.spec.domain.devices.interfaces", old)
    _replace_list(edit, tspec, "networks", nets, "spec.template.spec.networks", old)


def _refuse_reserved_mac(edit: Edit, nic: NicPlan, iface: Obj) -> None:
    mac = iface.get("macAddress")
    if nic.binding is Binding.MASQUERADE and isinstance(mac, str) and mac.lower() in RESERVED_MACS:
        edit.refusals.append(
            Refusal(
                f"NIC {nic.name} keeps MAC {mac}, which KubeVirt reserves for masquerade's in-pod bridge",
                "KV@v1.0.1:pkg/network/link/reserved_macs.go",
                "give it another MAC with --nic mac=…",
            )
        )


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


class _Volume(NamedTuple):
    """A cloud-init volume of the VM: its position in ``spec.template.spec.volumes``, its source and that block (edited
    in place)."""

    position: int
    source: str  # cloudInitNoCloud | cloudInitConfigDrive
    block: Obj

    @property
    def config_drive(self) -> bool:
        return self.source == "cloudInitConfigDrive"

    @property
    def path(self) -> str:
        return f"spec.template.spec.volumes[{self.position}].{self.source}"


class _Nics(NamedTuple):
    """What a networkData rewrite is for: the VM's NICs before and after the edit, and the v2 entries virtnet writes
    for the new ones (by NIC name)."""

    old: list[netdata.OldNic]
    new: list[netdata.NewNic]
    rendered_v2: netdata.Config


class _Rewritten(NamedTuple):
    """A networkData rewritten for the new NICs: the new text (None when the config stays the same) and what
    changed."""

    text: str | None
    changes: list[str]


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
    volumes = [_Volume(*v) for v in _cloud_init(_template(vm)["spec"])]
    index = _guest_index(old)
    rendered_v2 = _map(_map(yaml.safe_load(_rendered_v2(mode, plans))).get("ethernets"))
    nics = _Nics([netdata.OldNic(n.name, n.mac, index.get(n.name)) for n in old], new, rendered_v2)
    if not volumes and len(new) > 1:
        edit.notes.append(
            f"the VM has no cloud-init volume: configure NICs {', '.join(n.name for n in new[1:])} in the guest "
            "(DHCP on each; KubeVirt never generates network config)"
        )
    needs_macs = False
    for volume in volumes:
        key = next((k for k in NETWORK_DATA_KEYS if volume.block.get(k)), None)
        if key is None:
            needs_macs = _add_network_data(edit, volume, nics) or needs_macs
        elif key == "networkDataSecretRef":
            _edit_secret_network_data(edit, volume, nics, ctx)
            needs_macs = True
        else:
            needs_macs = _edit_inline_network_data(edit, volume, key, nics) or needs_macs
    return needs_macs


def _add_network_data(edit: Edit, volume: _Volume, nics: _Nics) -> bool:
    """A volume without networkData gets one when the VM has several NICs (cloud-init configures only the first
    by itself); returns whether it was added."""
    new = nics.new
    if len(new) <= 1:
        return False
    data = netdata.openstack_config(new) if volume.config_drive else {"version": 2, "ethernets": dict(nics.rendered_v2)}
    text = netdata.dump(data, volume.config_drive)
    if _too_big(edit, text, volume.path):
        return False
    volume.block["networkData"] = text
    edit.network_data.append(NetworkDataEdit(volume.position, volume.source, "networkData", None, text))
    edit.changes.append(
        Change(f"{volume.path}.networkData", f"added: {', '.join(f'{n.name} (MAC {n.mac}, DHCP)' for n in new)}")
    )
    return True


def _edit_secret_network_data(edit: Edit, volume: _Volume, nics: _Nics, ctx: Context) -> None:
    """networkData kept in a Secret: rewritten into ``edit.secrets`` with --update-secret, else a warning says what
    must change."""
    key = "networkDataSecretRef"
    secret_name = str(_map(volume.block.get(key)).get("name") or "")
    secret = ctx.secrets.get(secret_name)
    found = _secret_value(secret) if secret is not None else None
    if found is None:
        what = ", ".join(
            f"{n.name} (MAC {n.mac}, DHCP" + (", no default route" if not n.primary else "") + ")" for n in nics.new
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
        return
    secret_key, text = found
    rewritten = _rewrite_network_data(edit, volume, key, text, nics, secret_name)
    if rewritten is None or rewritten.text is None:
        return
    new_text = rewritten.text
    edit.network_data.append(
        NetworkDataEdit(volume.position, volume.source, key, text, new_text, secret=secret_name, secret_key=secret_key)
    )
    if not ctx.update_secret:
        edit.warnings.append(
            f"Secret {secret_name} key {secret_key} (networkDataSecretRef) must change for the new NICs "
            f"({'; '.join(rewritten.changes)}): rerun with --update-secret to let virtnet rewrite it"
        )
        return
    updated = dict(copy.deepcopy(ctx.secrets[secret_name]))
    if isinstance(_map(updated.get("stringData")).get(secret_key), str):
        updated["stringData"][secret_key] = new_text
    else:
        updated.setdefault("data", {})[secret_key] = base64.b64encode(new_text.encode()).decode()
    edit.secrets.append(updated)
    edit.changes.append(Change(f"Secret {secret_name} data.{secret_key}", "; ".join(rewritten.changes)))


def _edit_inline_network_data(edit: Edit, volume: _Volume, key: str, nics: _Nics) -> bool:
    """networkData in the volume itself (plain or base64), rewritten in place; returns whether the NICs need fixed
    MACs."""
    raw = str(volume.block.get(key))
    if key == "networkDataBase64":
        try:
            text = base64.b64decode(raw.replace("\n", ""), validate=True).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            edit.refusals.append(
                Refusal(
                    f"{volume.path}.networkDataBase64 is not valid base64: virtnet cannot rewrite it for the new NICs"
                )
            )
            return False
    else:
        text = raw
    rewritten = _rewrite_network_data(edit, volume, key, text, nics)
    if rewritten is None:
        return False
    if rewritten.text is None:
        return True
    new_text = rewritten.text
    if key == "networkDataBase64":
        value = base64.b64encode(new_text.encode()).decode()
    else:
        value = new_text
        if _too_big(edit, new_text, volume.path):
            return True
    volume.block[key] = value
    edit.network_data.append(NetworkDataEdit(volume.position, volume.source, key, text, new_text))
    edit.changes.append(Change(f"{volume.path}.{key}", "; ".join(rewritten.changes) or "rewritten"))
    return True


def _rewrite_network_data(
    edit: Edit, volume: _Volume, key: str, text: str, nics: _Nics, secret_name: str | None = None
) -> _Rewritten | None:
    """The networkData ``text`` rewritten for the new NICs, its refusals and warnings said; None when there is
    nothing to rewrite (unreadable, or network config disabled)."""
    config_drive = volume.config_drive
    try:
        parsed = netdata.parse(text, config_drive)
        result = netdata.rewrite(parsed, config_drive, nics.old, nics.new, nics.rendered_v2)
    except netdata.NetworkDataError as err:
        edit.refusals.append(
            Refusal(
                f"{volume.path}.{key}{f' (Secret {secret_name})' if secret_name else ''} cannot be rewritten for the "
                f"new NICs: {err}",
                hint="fix or remove it first",
            )
        )
        return None
    for r in result.refusals:
        edit.refusals.append(
            Refusal(r, hint="remove or move those settings in the networkData first, or keep the NIC (--nic name=…)")
        )
    edit.warnings.extend(result.warnings)
    if result.data is None:
        return None  # network config disabled: nothing to rewrite
    new_text = netdata.dump(result.data, config_drive)
    if netdata.parse(new_text, config_drive) == parsed:
        return _Rewritten(None, result.changes)  # the same config: keep the text exactly as it was
    return _Rewritten(new_text, result.changes)


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
    _refuse_eviction(case)
    _refuse_bridge_on_macvlan(case)
    _refuse_missing_networks(case)
    _refuse_missing_pools(case)
    _refuse_probes(case)
    _refuse_controlled(case.edit)
    _warn_removed_nics(case)


def _refuse_eviction(case: _Case) -> None:
    """evictionStrategy LiveMigrate (the VM's, else the cluster's) and a mode KubeVirt will not migrate."""
    edit, target, _plans, _old, ctx = case
    tspec = _map(_template(edit.vm).get("spec"))
    caps = capabilities(target.mode, target.cni, target.versions, target.passt)
    eviction = tspec.get("evictionStrategy")
    whose = "the VM's evictionStrategy"
    if eviction is None and ctx.kubevirt is not None:
        eviction = _map(_map(ctx.kubevirt.get("spec")).get("configuration")).get("evictionStrategy")
        whose = "the cluster's default evictionStrategy (KubeVirt CR spec.configuration.evictionStrategy)"
    if eviction != "LiveMigrate" or caps.live_migration.kubevirt_allows:
        return
    state, why = running_state(edit.original, ctx)
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


def _refuse_bridge_on_macvlan(case: _Case) -> None:
    """Bridge binding on a macvlan/ipvlan network."""
    edit, _target, plans, _old, ctx = case
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


def _refuse_missing_networks(case: _Case) -> None:
    """A NAD that is known not to exist."""
    edit, _target, plans, _old, ctx = case
    if "NetworkAttachmentDefinition" not in ctx.known:
        return
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


def _refuse_missing_pools(case: _Case) -> None:
    """An existing pool asked for that is known not to exist (and is not rendered either)."""
    edit, _target, plans, _old, ctx = case
    if "SpiderIPPool" not in ctx.known:
        return
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


def _refuse_probes(case: _Case) -> None:
    """HTTP/TCP probes with no pod network."""
    edit, target, _plans, _old, _ctx = case
    tspec = _map(_template(edit.vm).get("spec"))
    if any("pod" in _map(n) for n in _list(tspec.get("networks"))):
        return
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


def _refuse_controlled(edit: Edit) -> None:
    """A VM owned by a controller (VirtualMachinePool) would be reverted."""
    for owner in _list(_map(edit.original.get("metadata")).get("ownerReferences")):
        if isinstance(owner, Mapping) and owner.get("controller") is True:
            edit.refusals.append(
                Refusal(
                    f"the VM is controlled by {owner.get('kind')} {owner.get('name')}, which rewrites its template",
                    hint=f"change the network in the {owner.get('kind')}'s VM template instead",
                )
            )


def _warn_removed_nics(case: _Case) -> None:
    """NICs removed that virtnet does not render (SR-IOV, other bindings): said, not refused."""
    edit, target, plans, old, _ctx = case
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
    original = edit.original
    state, why = running_state(original, ctx)
    running = f"{state} ({why})"
    kv = target.versions.kubevirt
    ns, name = str(_map(original.get("metadata")).get("namespace") or target.namespace), target.name
    if not edit.changed:
        return Effect("none", running)
    nics = _NicChanges.of(original, edit.vm)
    reasons = [*_restart_reasons(nics), *_start_reasons(edit)]
    if nics.added and not reasons:
        reasons += _hotplug_reasons(nics, kv, ctx)
    condition = _rollout_condition(kv, ctx)
    if state == "stopped":
        return Effect("next-start", running, tuple(reasons), condition, f"virtctl start {name} -n {ns}")
    if reasons:
        return Effect("restart", running, tuple(reasons), condition, f"virtctl restart {name} -n {ns}")
    return Effect(
        "now",
        running,
        (
            Reason(
                f"only new {', '.join(nics.added)} interfaces: KubeVirt hotplugs them into the running VM (Multus "
                "thick plugin and its dynamic networks controller needed, else a live migration attaches them)",
                SRC_HOTPLUG,
            ),
        ),
        condition,
    )


class _NicChanges(NamedTuple):
    """How the VM's interfaces and networks differ after the edit (NIC names)."""

    removed: list[str]
    changed: list[str]
    added: list[str]
    implicit: bool  # the VM had KubeVirt's implicit pod network (no interfaces, no networks)
    pod_added: bool
    interfaces: dict[str, object]  # after the edit

    @classmethod
    def of(cls, original: Manifest, vm: Manifest) -> _NicChanges:
        old_ifaces, new_ifaces = _ifaces_by_name(original), _ifaces_by_name(vm)
        old_nets, new_nets = _nets_by_name(original), _nets_by_name(vm)
        implicit = not old_ifaces and not old_nets
        removed = sorted(set(old_ifaces) - set(new_ifaces)) + (
            ["default (implicit)"] if implicit and new_ifaces else []
        )
        changed = sorted(
            n for n in set(old_ifaces) & set(new_ifaces) if _no_state(old_ifaces[n]) != _no_state(new_ifaces[n])
        )
        changed += sorted(n for n in set(old_nets) & set(new_nets) if old_nets[n] != new_nets[n] and n not in changed)
        pod_added = any("pod" in _map(n) for n in new_nets.values()) and not any(
            "pod" in _map(n) for n in old_nets.values()
        )
        added = sorted(set(new_ifaces) - set(old_ifaces))
        return cls(removed, changed, added, implicit, pod_added, new_ifaces)


def _restart_reasons(nics: _NicChanges) -> list[Reason]:
    """Interface and network changes KubeVirt applies only with a restart."""
    reasons: list[Reason] = []
    if nics.removed:
        reasons.append(
            Reason(f"interfaces removed: {', '.join(nics.removed)} (hot-unplug needs state: absent)", SRC_RESTART)
        )
    if nics.changed:
        reasons.append(Reason(f"interfaces or networks changed: {', '.join(nics.changed)}", SRC_RESTART))
    if nics.pod_added and not nics.implicit:
        reasons.append(Reason("a pod network is added", SRC_RESTART))
    return reasons


def _start_reasons(edit: Edit) -> list[Reason]:
    """Changes read only when the VMI (and its pod) starts: annotations, cloud-init networkData, its Secret."""
    reasons: list[Reason] = []
    if any(c.path.startswith("spec.template.metadata.annotations") for c in edit.changes):
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
    return reasons


def _hotplug_reasons(nics: _NicChanges, kv: Version, ctx: Context) -> list[Reason]:
    """Why the new interfaces cannot be hotplugged (none when they can)."""
    bindings = {next((k for k in BINDING_KEYS if k in _map(nics.interfaces[n])), None) for n in nics.added}
    if not bindings <= {"bridge", "sriov"}:
        return [Reason(f"new interfaces {', '.join(nics.added)} use a binding KubeVirt cannot hotplug", SRC_HOTPLUG)]
    if kv < NIC_HOTPLUG_FIRST:
        return [Reason(f"KubeVirt {kv} cannot hotplug interfaces (from v1.1)", SRC_HOTPLUG)]
    if kv < NIC_HOTPLUG_GA:
        config = _map(_map(_map(ctx.kubevirt).get("spec")).get("configuration"))
        gates = _list(_map(config.get("developerConfiguration")).get("featureGates"))
        if "HotplugNICs" not in gates:
            return [Reason(f"KubeVirt {kv} hotplugs interfaces only with the HotplugNICs feature gate", SRC_HOTPLUG)]
    return []


def _rollout_condition(kv: Version, ctx: Context) -> str:
    """What KubeVirt shows for a template change on this version: the RestartRequired condition, or nothing."""
    if kv < VM_ROLLOUT_STRATEGY_FIRST:
        return (
            f"KubeVirt {kv} applies template changes at the next start and shows no RestartRequired condition "
            f"(it arrived with vmRolloutStrategy in v1.2: {SRC_ROLLOUT})"
        )
    strategy = "Stage (the default)"
    if ctx.kubevirt is not None:
        found = _map(_map(ctx.kubevirt.get("spec")).get("configuration")).get("vmRolloutStrategy")
        if isinstance(found, str):
            strategy = found
    return (
        f"vmRolloutStrategy {strategy}: KubeVirt marks the VM RestartRequired for every change under Stage, and "
        f"for network changes it cannot hotplug under LiveUpdate ({SRC_ROLLOUT}; {SRC_RESTART})"
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
    ns = str(_map(edit.original.get("metadata")).get("namespace") or target.namespace)
    endpoint = _Endpoint.of(ns, target.name, ctx.endpoint)
    before = _old_pools(edit.original, old)
    out = [_ip_note(nic, target, ctx, endpoint, before) for nic in plans]
    seen = {nic.pod_interface for nic in plans}
    for pod_if, held in endpoint.recorded.items():
        if pod_if in seen:
            continue
        out.append(
            IpNote(
                "(removed)",
                pod_if,
                _held(held) + f" stays allocated to the VM in {endpoint.name}, unused, until that endpoint goes",
                endpoint.release,
                SRC_STATIC_IP,
            )
        )
    return out


class _Endpoint(NamedTuple):
    """The VM's SpiderEndpoint: its name, the (IP, pool) pairs it records by pod interface, how to release them."""

    name: str
    recorded: dict[str, list[tuple[str, str]]]
    release: str

    @classmethod
    def of(cls, ns: str, name: str, endpoint: Manifest | None) -> _Endpoint:
        endpoint_name = f"SpiderEndpoint {ns}/{name}"
        release = (
            f"stop the VM (virtctl stop {name} -n {ns}), delete {endpoint_name} (kubectl -n {ns} delete "
            f"spiderendpoint {name}) and start it again; deleting the VM releases it too"
        )
        recorded: dict[str, list[tuple[str, str]]] = {}
        if endpoint is not None:
            for item in _list(_map(_map(endpoint.get("status")).get("current")).get("ips")):
                item = _map(item)
                for family in ("ipv4", "ipv6"):
                    if item.get(family):
                        recorded.setdefault(str(item.get("interface")), []).append(
                            (str(item[family]).split("/")[0], str(item.get(f"{family}Pool") or "?"))
                        )
        return cls(endpoint_name, recorded, release)


def _held(held: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{ip} (pool {pool})" for ip, pool in held)


def _ip_note(
    nic: NicPlan, target: Intent, ctx: Context, endpoint: _Endpoint, before: Mapping[str, list[str]]
) -> IpNote:
    """What happens to the address of one NIC (``before``: the pools each pod interface asked for until now)."""
    pod_if = nic.pod_interface
    pools = [p.name for p in nic.pools]
    held = endpoint.recorded.get(pod_if, [])
    if not pools:
        return _ipam_ip(nic, target, endpoint, held)
    kept = [(ip, pool) for ip, pool in held if pool in pools]
    if held and len(kept) == len(held):
        return IpNote(nic.name, pod_if, "keeps " + _held(held), "", SRC_STATIC_IP)
    if held:
        return IpNote(
            nic.name,
            pod_if,
            f"SpiderPool keeps giving {pod_if} "
            + _held(held)
            + f", recorded in {endpoint.name}, not an address from {', '.join(pools)}: KubeVirt VMs reuse the "
            "recorded allocation whatever pools they ask for now",
            endpoint.release + f"; the next start then takes a new fixed IP from {', '.join(pools)}",
            SRC_STATIC_IP,
        )
    text = f"a new fixed IP from {', '.join(pools)} at the next start, kept across restarts while the VM exists"
    if ctx.live:
        return IpNote(nic.name, pod_if, text, "", SRC_STATIC_IP)
    prior = [p for p in before.get(pod_if, []) if p not in pools]
    if prior:
        text += (
            f"; if {endpoint.name} already records an address for {pod_if} (from {', '.join(prior)}), "
            "SpiderPool keeps giving that one instead"
        )
    return IpNote(nic.name, pod_if, text, endpoint.release if prior else "", SRC_STATIC_IP)


def _ipam_ip(nic: NicPlan, target: Intent, endpoint: _Endpoint, held: Sequence[tuple[str, str]]) -> IpNote:
    """A NIC without pools of its own: the CNI's IPAM gives its address (and what the endpoint holds stays)."""
    if target.mode is Mode.MASQUERADE:
        text = (
            f"the pod IP comes from the {target.cni.value} CNI's IPAM and changes when the pod is recreated; "
            "the guest sees 10.0.2.2 behind it (masquerade)"
        )
    else:
        text = f"the address comes from {nic.nad_ref}'s IPAM (its default pools)"
    if not held:
        return IpNote(nic.name, nic.pod_interface, text)
    text += f"; {_held(held)} stays allocated to the VM in {endpoint.name}, unused, until that endpoint goes"
    return IpNote(nic.name, nic.pod_interface, text, endpoint.release, SRC_STATIC_IP)
