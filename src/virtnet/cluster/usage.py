"""`virtnet pool usage`: per SpiderIPPool total / allocated / reserved / free, the free ranges, and who holds what.

:func:`pool_usage` is pure (pool, reserved-IP, VM, VMI, endpoint and pod dicts in; :class:`UsageReport` out);
:func:`gather` lists each kind once (paginated) and indexes it, so the cost does not grow with pools x holders.
Address arithmetic is interval arithmetic (:class:`virtnet.model.ipset.IPSet`): a ``/8`` costs what a ``/24``
costs, and no range is ever expanded into addresses.

Upstream facts:
- ``SpiderIPPool.status.allocatedIPs`` is a JSON *string* holding a map ``ip → {pod: "<ns>/<name>", podUid}``;
  SpiderPool v0.8.0/v0.8.1 also wrote ``interface`` per IP (dropped in v0.8.2, PR #2618) —
  SP@v1.2.2 and SP@v0.8.13:pkg/k8s/apis/spiderpool.spidernet.io/v2beta1/spiderippool_types.go ``PoolIPAllocation``.
  ``allocatedIPCount``/``totalIPCount`` are counters beside it; the CRD has a status subresource.
- With ``enableKubevirtStaticIP`` the record of a VM's IP is keyed by the *VMI* name (``<ns>/<vmi>``), not the
  virt-launcher pod's — SP@v1.2.2:pkg/ippoolmanager/ippool_manager.go ``genRandomIP`` / ``podNamespacedKey``;
  without it, by the pod (``<ns>/virt-launcher-<vm>-xxxxx``).
- A stopped VM keeps its IP: the record and its SpiderEndpoint stay while the VM exists and is not terminating;
  deleting the VM releases them — SP@v1.2.2:pkg/ipam/allocate.go, pkg/kubevirtmanager ``IsValidVMPod``,
  pkg/workloadendpointmanager/workloadendpoint_manager.go.
- Addresses a pool hands out: ``spec.ips - spec.excludeIPs - every SpiderReservedIP of its IP version -
  allocated`` — SP@v1.2.2:pkg/ippoolmanager/ippool_manager.go ``genRandomIP`` (``AssembleReservedIPs``,
  ``AssembleTotalIPs``); SpiderReservedIP ``spec.{ipVersion, ips}`` (spiderreservedip_types.go, v0.8 → v1.2).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypedDict, cast

from virtnet.cluster.facts import KUBEVIRT_GV, SPIDERPOOL_GV, why_unreadable
from virtnet.errors import ForbiddenError, InputError, NotFoundError, NotInstalledError
from virtnet.model.ippool import PoolSpec, parse_ip_entries
from virtnet.model.ipset import Family, IPSet, family_of
from virtnet.model.manifest import as_list as _list
from virtnet.model.manifest import as_map as _map
from virtnet.model.manifest import metadata_of as _meta

if TYPE_CHECKING:  # the reads go through the one client; the arithmetic below needs none
    from virtnet.cluster.client import Cluster

Obj = dict[str, Any]
Keyed = dict[tuple[str, str], Obj]  # objects of one kind by (namespace, name)
LAUNCHER_SELECTOR = "kubevirt.io=virt-launcher"  # KV@v1.9.0:pkg/virt-controller/services/template.go (AppLabel)
VMI_OWNER = "VirtualMachineInstance"
KEPT_NOTE = "SpiderPool keeps a stopped VM's IP while the VM exists (deleting the VM releases it)"
DELETED_NOTE = "neither the VM nor its VMI exists: SpiderPool's IP GC should release this address (leaked?)"


def _key(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = _meta(obj)
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


# --- inputs --------------------------------------------------------------------------------------------------------


@dataclass
class UsageInputs:
    """Every object :func:`pool_usage` looks at, each kind listed once. A kind that could not be read is None
    and named in ``unreadable`` with the reason."""

    pools: list[Obj]
    reserved_ips: list[Obj] | None = field(default_factory=list)
    vms: list[Obj] | None = field(default_factory=list)
    vmis: list[Obj] | None = field(default_factory=list)
    endpoints: list[Obj] | None = field(default_factory=list)
    pods: list[Obj] | None = field(default_factory=list)
    namespaces: frozenset[str] | None = None  # holders shown: these namespaces only (None: every namespace)
    unreadable: dict[str, str] = field(default_factory=dict)


def gather(
    cluster: Cluster, names: Sequence[str] = (), namespace: str | None = None, *, all_namespaces: bool = False
) -> UsageInputs:
    """List the pools (once), then — only when a pool in scope has allocations — SpiderReservedIPs, VMs, VMIs,
    SpiderEndpoints and virt-launcher pods, each kind once (in ``namespace``, or everywhere with
    ``all_namespaces``). Unknown pool names raise :class:`NotFoundError` naming them."""
    pools = cluster.list(SPIDERPOOL_GV, "SpiderIPPool")
    if names:
        by_name = {str(_meta(p).get("name")): p for p in pools}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            known = ", ".join(sorted(by_name)[:20]) or "none"
            raise NotFoundError(
                f"no SpiderIPPool named {', '.join(unknown)} in the cluster at {cluster.server}",
                f"SpiderIPPools are cluster-scoped; the cluster has: {known}",
            )
        pools = [by_name[n] for n in dict.fromkeys(names)]
    ns = None if all_namespaces else (namespace or cluster.namespace)
    inputs = UsageInputs(pools=pools, namespaces=None if ns is None else frozenset({ns}))

    def listing(
        what: str, api_version: str, kind: str, *, namespaced: bool = True, selector: str | None = None
    ) -> list[Obj] | None:
        try:
            if namespaced:
                return cluster.list(api_version, kind, ns, all_namespaces=ns is None, label_selector=selector)
            return cluster.list(api_version, kind)
        except (ForbiddenError, NotInstalledError) as err:
            inputs.unreadable[what] = why_unreadable(err)
            return None

    inputs.reserved_ips = listing("SpiderReservedIPs", SPIDERPOOL_GV, "SpiderReservedIP", namespaced=False)
    if any(allocations(p)[0] for p in pools):
        inputs.vms = listing("VirtualMachines", KUBEVIRT_GV, "VirtualMachine")
        inputs.vmis = listing("VirtualMachineInstances", KUBEVIRT_GV, "VirtualMachineInstance")
        inputs.endpoints = listing("SpiderEndpoints", SPIDERPOOL_GV, "SpiderEndpoint")
        inputs.pods = listing("virt-launcher pods", "v1", "Pod", selector=LAUNCHER_SELECTOR)
    return inputs


# --- parsing -------------------------------------------------------------------------------------------------------


class Allocation(TypedDict, total=False):
    """One record of ``SpiderIPPool.status.allocatedIPs`` (SP@v1.2.2:pkg/k8s/apis/spiderpool.spidernet.io/v2beta1/
    spiderippool_types.go PoolIPAllocation). Typed for the keys; the values are read with a type check."""

    pod: str  # <ns>/<name> (older records: the name, with ``namespace`` beside it)
    podUid: str
    interface: str  # only SpiderPool v0.8.0/v0.8.1 records it
    namespace: str  # older records only


def allocations(pool: Mapping[str, Any]) -> tuple[dict[str, Allocation], str | None]:
    """(``status.allocatedIPs`` as a dict, problem). The field is a JSON string in every v2beta1 release; a dict is
    accepted too (what a client that decoded it would hand over)."""
    raw = _map(pool.get("status")).get("allocatedIPs")
    if raw is None or raw == "":
        return {}, None
    value: object = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            return {}, "status.allocatedIPs is not valid JSON"
    if not isinstance(value, Mapping):
        return {}, "status.allocatedIPs is not a JSON object of ip → allocation"
    return {str(k): cast(Allocation, _map(v)) for k, v in value.items()}, None


def reserved_set(objects: Iterable[Mapping[str, Any]], family: Family) -> tuple[IPSet, list[str]]:
    """The union of every SpiderReservedIP's ``spec.ips`` of ``family`` (reserved for all pools of that version)."""
    pieces: list[tuple[int, int]] = []
    problems: list[str] = []
    for obj in objects:
        spec = _map(obj.get("spec"))
        entries = [e for e in _list(spec.get("ips")) if isinstance(e, str)]
        version = spec.get("ipVersion")
        if version not in (4, 6) and entries:
            first = entries[0].split("-", 1)[0]
            try:
                version = ipaddress.ip_address(first).version
            except ValueError:
                version = None
        if version != family:
            continue
        try:
            pieces.extend(parse_ip_entries(entries, family, "spec.ips").intervals)
        except InputError as err:
            problems.append(f"SpiderReservedIP {_meta(obj).get('name')}: {err}")
    return IPSet.from_intervals(family, pieces), problems


# --- the report ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    ip: str
    namespace: str | None
    record: str  # the allocation's "pod" key, <ns>/<name>
    pod_uid: str | None
    interface: str | None  # only SpiderPool v0.8.0/v0.8.1 records it
    kind: str  # VirtualMachine | VirtualMachineInstance | Pod
    name: str | None  # the VM (or VMI / pod) name
    state: str | None  # running, stopped, deleted, scheduling, …; None: unknown
    launcher_pod: str | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ip": self.ip,
            "namespace": self.namespace,
            "record": self.record,
            "podUid": self.pod_uid,
            "interface": self.interface,
            "kind": self.kind,
            "name": self.name,
            "state": self.state,
            "launcherPod": self.launcher_pod,
            "note": self.note,
        }


@dataclass
class PoolUsage:
    name: str
    family: int | None
    subnet: str | None
    gateway: str | None
    total: int = 0  # addresses in spec.ips
    usable: int = 0  # spec.ips - excludeIPs (SpiderPool's totalIPCount)
    excluded: int = 0  # spec.ips ∩ excludeIPs
    reserved_objects: int = 0  # usable addresses held back by SpiderReservedIP objects
    allocated: int = 0  # records in status.allocatedIPs
    free: int = 0  # usable - reserved objects - allocated
    free_ranges: list[tuple[str, str]] = field(default_factory=list)
    holders: list[Holder] = field(default_factory=list)
    holders_elsewhere: int = 0  # records in namespaces not shown
    outside: list[str] = field(default_factory=list)  # allocated addresses the pool no longer hands out
    disabled: bool = False
    default: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def reserved(self) -> int:
        return self.excluded + self.reserved_objects

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ipVersion": self.family,
            "subnet": self.subnet,
            "gateway": self.gateway,
            "default": self.default,
            "disable": self.disabled,
            "total": self.total,
            "usable": self.usable,
            "allocated": self.allocated,
            "reserved": {
                "total": self.reserved,
                "excludeIPs": self.excluded,
                "spiderReservedIPs": self.reserved_objects,
            },
            "free": self.free,
            "freeRanges": [{"first": a, "last": b, "count": _count(a, b)} for a, b in self.free_ranges],
            "holders": [h.to_json() for h in self.holders],
            "holdersInOtherNamespaces": self.holders_elsewhere,
            "allocatedOutsidePool": self.outside,
            "problems": self.problems,
        }


def _count(first: str, last: str) -> int:
    return int(ipaddress.ip_address(last)) - int(ipaddress.ip_address(first)) + 1


@dataclass
class UsageReport:
    pools: list[PoolUsage]
    namespaces: list[str] | None  # the namespaces whose holders are listed; None: all
    unreadable: dict[str, str]  # what could not be read → why
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "pools": [p.to_json() for p in self.pools],
            "namespaces": self.namespaces,
            "unreadable": [{"what": k, "reason": v} for k, v in sorted(self.unreadable.items())],
            "problems": self.problems,
        }


@dataclass
class _Index:
    """Each kind indexed once: the holder of every allocation is then a few dict lookups."""

    vms: Keyed | None
    vmis: Keyed | None
    pods: Keyed | None
    endpoints_by_ip: Keyed  # by (namespace, address)

    @classmethod
    def build(cls, inputs: UsageInputs) -> _Index:
        def by_key(items: list[Obj] | None) -> Keyed | None:
            return None if items is None else {_key(o): o for o in items}

        endpoints: Keyed = {}
        for ep in inputs.endpoints or []:
            ns = _key(ep)[0]
            current = _map(_map(ep.get("status")).get("current"))
            for entry in _list(current.get("ips")):
                for fam in ("ipv4", "ipv6"):
                    text = _map(entry).get(fam)
                    if isinstance(text, str) and text:
                        endpoints[(ns, text.split("/", 1)[0])] = ep
        return cls(by_key(inputs.vms), by_key(inputs.vmis), by_key(inputs.pods), endpoints)


def _owner(obj: Mapping[str, Any] | None, kind: str) -> str | None:
    for ref in _list(_meta(obj).get("ownerReferences")):
        if isinstance(ref, Mapping) and ref.get("kind") == kind and ref.get("name"):
            return str(ref["name"])
    return None


def _holder(ip: str, record: Allocation, index: _Index) -> Holder:
    key = str(record.get("pod") or "")
    ns, sep, name = key.partition("/")
    if not sep:  # an old record shape with namespace and pod side by side
        ns, name = str(record.get("namespace") or ""), key
    uid = record.get("podUid")
    iface = record.get("interface")
    base = Holder(ip, ns or None, key, str(uid) if uid else None, str(iface) if iface else None, "Pod", name, None)
    launcher: str | None = None
    vm_name: str | None = None
    pod = index.pods.get((ns, name)) if index.pods is not None else None
    if pod is not None:  # keyed by the launcher pod: enableKubevirtStaticIP is off
        launcher = name
        vmi_name = _owner(pod, VMI_OWNER) or _map(_meta(pod).get("labels")).get("vm.kubevirt.io/name")
        vmi = index.vmis.get((ns, str(vmi_name))) if index.vmis is not None and vmi_name else None
        vm_name = _owner(vmi, "VirtualMachine") or (str(vmi_name) if vmi_name else None)
    elif (index.vms is not None and (ns, name) in index.vms) or (index.vmis is not None and (ns, name) in index.vmis):
        vm_name = name  # keyed by the VMI name = the VM name (enableKubevirtStaticIP)
        vmi = index.vmis.get((ns, name)) if index.vmis is not None else None
        vm_name = _owner(vmi, "VirtualMachine") or vm_name
    else:
        ep = index.endpoints_by_ip.get((ns, ip))
        if ep is not None and _map(ep.get("status")).get("ownerControllerType") == VMI_OWNER:
            vm_name = str(_map(ep.get("status")).get("ownerControllerName") or _key(ep)[1])
        elif ep is not None and index.vms is not None and index.vmis is not None:
            return replace(base, kind="Pod", name=name, state=None, note="not a VM's address")
    if vm_name is None:
        if index.vms is None or index.vmis is None or index.pods is None:
            return replace(base, kind="Pod", name=name, state=None, note="VMs/pods not readable: holder unknown")
        return replace(base, kind="Pod", name=name, state=None, note="not a VM's virt-launcher pod")
    vm = index.vms.get((ns, vm_name)) if index.vms is not None else None
    vmi = index.vmis.get((ns, vm_name)) if index.vmis is not None else None
    if vmi is not None:
        phase = str(_map(vmi.get("status")).get("phase") or "unknown")
        kind = "VirtualMachine" if vm is not None or index.vms is None else VMI_OWNER
        return replace(base, kind=kind, name=vm_name, state=phase.lower(), launcher_pod=launcher)
    if index.vms is None or index.vmis is None:
        return replace(base, kind="VirtualMachine", name=vm_name, state=None, note="VMs/VMIs not readable")
    if vm is not None:
        return replace(
            base, kind="VirtualMachine", name=vm_name, state="stopped", launcher_pod=launcher, note=KEPT_NOTE
        )
    return replace(base, kind="VirtualMachine", name=vm_name, state="deleted", launcher_pod=launcher, note=DELETED_NOTE)


def _family_of_pool(pool: Mapping[str, Any]) -> Family | None:
    spec = _map(pool.get("spec"))
    version = spec.get("ipVersion")
    if version in (4, 6):
        return family_of(int(version))
    subnet = spec.get("subnet")
    try:
        return family_of(ipaddress.ip_network(str(subnet), strict=False).version)
    except ValueError:
        return None


def usage_of(
    pool: Mapping[str, Any], reserved: IPSet | None, index: _Index, namespaces: frozenset[str] | None
) -> PoolUsage:
    """One pool's numbers, free intervals and holders. ``reserved``: the SpiderReservedIPs of its family (None:
    they could not be read)."""
    meta, spec = _meta(pool), _map(pool.get("spec"))
    name = str(meta.get("name"))
    usage = PoolUsage(
        name=name,
        family=_family_of_pool(pool),
        subnet=str(spec["subnet"]) if spec.get("subnet") else None,
        gateway=str(spec["gateway"]) if spec.get("gateway") else None,
        disabled=spec.get("disable") is True,
        default=spec.get("default") is True,
    )
    records, problem = allocations(pool)
    if problem:
        usage.problems.append(problem)
    parsed: PoolSpec | None
    try:
        parsed = PoolSpec.from_manifest(pool)
    except InputError as err:
        parsed = None
        usage.problems.append(f"the pool's spec cannot be read: {err}")
    allocated_pieces: list[tuple[int, int]] = []
    for ip_text in records:
        try:
            address = ipaddress.ip_address(ip_text)
        except ValueError:
            usage.problems.append(f"status.allocatedIPs has a key that is not an IP address: {ip_text!r}")
            continue
        if usage.family is not None and address.version != usage.family:
            usage.problems.append(f"status.allocatedIPs holds {ip_text}, not an IPv{usage.family} address")
            continue
        allocated_pieces.append((int(address), int(address)))
    usage.allocated = len(allocated_pieces)
    counted = _map(pool.get("status")).get("allocatedIPCount")
    if isinstance(counted, int) and not isinstance(counted, bool) and counted != len(records):
        usage.problems.append(f"status.allocatedIPCount says {counted} but status.allocatedIPs holds {len(records)}")
    if parsed is not None:
        effective = parsed.effective
        allocated = IPSet.from_intervals(parsed.family, allocated_pieces)
        held_back = (reserved & effective) if reserved is not None else IPSet.empty(parsed.family)
        free = effective - held_back - allocated
        usage.total = parsed.ips.size
        usage.usable = effective.size
        usage.excluded = (parsed.ips & parsed.exclude).size
        usage.reserved_objects = held_back.size
        usage.free = free.size
        usage.free_ranges = [(str(a), str(b)) for a, b in free.ranges()]
        usage.outside = [str(a) if a == b else f"{a}-{b}" for a, b in (allocated - effective).ranges()]
    for ip_text in sorted(records, key=_sort_key):
        holder = _holder(ip_text, records[ip_text], index)
        if namespaces is not None and holder.namespace not in namespaces:
            usage.holders_elsewhere += 1
            continue
        usage.holders.append(holder)
    return usage


def _sort_key(text: str) -> tuple[int, int, str]:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return (9, 0, text)
    return (address.version, int(address), text)


def pool_usage(inputs: UsageInputs) -> UsageReport:
    """Every pool of ``inputs`` (pure)."""
    index = _Index.build(inputs)
    reserved: dict[int, IPSet | None] = {4: None, 6: None}
    problems: list[str] = []
    if inputs.reserved_ips is not None:
        for family in (4, 6):
            found, bad = reserved_set(inputs.reserved_ips, family_of(family))
            reserved[family] = found
            problems.extend(f"{b} (ignored)" for b in bad)
    pools = [usage_of(pool, reserved[_family_of_pool(pool) or 4], index, inputs.namespaces) for pool in inputs.pools]
    namespaces = sorted(inputs.namespaces) if inputs.namespaces is not None else None
    return UsageReport(pools, namespaces, dict(inputs.unreadable), problems)
