"""`virtnet status VM`: the chain from a VirtualMachine to the IPs it holds, link by link, and where it drifted.

Per interface of the VM: interface → binding → network → NetworkAttachmentDefinition (and the SpiderMultusConfig
that generated it) → pool(s) asked for by ``ipam.spidernet.io/ippool(s)`` (else the NAD's default pools) →
SpiderEndpoint IP (``status.current.ips[]`` by pod interface) → VMI-reported IP (``status.interfaces[]`` by name,
with ``infoSource``) → the virt-launcher pod's ``k8s.v1.cni.cncf.io/network-status``.

:func:`build_status` is pure (dicts in, a :class:`StatusReport` out) so an admission webhook or a controller can
reuse it with objects it already holds; :func:`gather` does the reads (a dozen requests at most, each allowed to be
refused) and :func:`plan_interfaces` tells it what to read.

Upstream facts this relies on:
- SpiderEndpoint of a VM: named after the VMI (= the VM's name) in its namespace when ``enableKubevirtStaticIP``
  is on, ``status.ownerControllerType: VirtualMachineInstance``; ``status.current.{uid,node,ips[]}`` with
  ``ips[] = {interface, ipv4, ipv6, ipv4Pool, ipv6Pool, vlan, ipv4Gateway, ipv6Gateway, cleanGateway, routes}``
  (+ ``mac`` from v1.2.0); ``ipv4``/``ipv6`` are written ``address/prefix`` — SP@v1.2.2 and
  SP@v0.8.13:pkg/k8s/apis/spiderpool.spidernet.io/v2beta1/spiderendpoint_types.go, docs/reference/crd-spiderendpoint.md.
  The CRD has no status subresource (charts/spiderpool/crds/spiderpool.spidernet.io_spiderendpoints.yaml).
- A VM keeps its recorded IPs: every new virt-launcher pod gets them back (``retrieveStaticIPAllocation``), a changed
  pool annotation is not re-evaluated for VMs (only StatefulSets get ``releaseStsOutdatedIPIfNeed``) —
  SP@v1.2.2:pkg/ipam/allocate.go. So an endpoint pool that differs from the requested one stays until the endpoint
  goes: stop the VM and delete the SpiderEndpoint (or delete the VM, which releases IP and endpoint —
  SP@v1.2.2:pkg/workloadendpointmanager/workloadendpoint_manager.go, pkg/kubevirtmanager ``IsValidVMPod``).
- Unnamed ``ippools`` entries: SpiderPool records their NICs as "0", "1", … and renames them on the NIC's CNI ADD
  (SP@v1.2.2:pkg/ipam/allocate.go ``UpdateAllocationNICName``), so an endpoint entry may carry the index.
- Pod interfaces: ``eth0`` for the primary network, ``pod<sha256(network)[:11]>`` for each secondary Multus network
  (KV@v1.0.1:pkg/network/namescheme/networknamescheme.go); v1.4+ also report the name in
  ``status.interfaces[].podInterfaceName`` (KV@v1.9.0:staging/src/kubevirt.io/api/core/v1/types.go), preferred here.
- virt-launcher pods carry the label ``kubevirt.io/created-by=<VMI uid>`` in every supported KubeVirt (the label
  ``vm.kubevirt.io/name`` holds the VMI's *hostname*, and only in newer releases) —
  KV@v1.9.0:pkg/virt-controller/services/template.go ``renderLaunchManifest``.
- VMI ``status.interfaces[].infoSource`` is a comma-separated list of ``domain``, ``guest-agent``,
  ``multus-status`` (KV@v1.9.0:pkg/network/vmispec/infosource.go).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, cast

from virtnet.cluster.facts import KUBEVIRT_GV, NAD_GV, SPIDERPOOL_CONF, SPIDERPOOL_GV, SpiderpoolConf, why_unreadable
from virtnet.cluster.read import SPIDERPOOL_NAMESPACES
from virtnet.errors import ForbiddenError, InputError, NotFoundError, NotInstalledError
from virtnet.lint.spiderpool import pool_annotations
from virtnet.model import annotations as keys
from virtnet.model.capabilities import pod_interface_name
from virtnet.model.ippool import PoolSpec
from virtnet.model.ipset import IPAddress
from virtnet.model.manifest import as_list as _list
from virtnet.model.manifest import as_map as _map
from virtnet.model.manifest import metadata_of as _meta
from virtnet.model.podannotations import NadRef, default_network, default_network_ref, parse_nad_ref
from virtnet.model.versions import SPIDERPOOL

if TYPE_CHECKING:  # the reads go through the one client; the decisions below need none
    from virtnet.cluster.client import Cluster

Obj = dict[str, Any]
T = TypeVar("T")

NETWORK_STATUS = "k8s.v1.cni.cncf.io/network-status"  # Multus writes it on the pod (NAD client-go types.go)
CREATED_BY = "kubevirt.io/created-by"  # virt-launcher pod label = VMI uid (KV template.go)
VMI_OWNER = "VirtualMachineInstance"  # SpiderEndpoint status.ownerControllerType of a VM (SP kubevirt support)
BINDINGS = ("masquerade", "bridge", "sriov", "passt", "passtBinding", "slirp", "macvtap")
DRIFT = ("error", "warning")  # severities that make `virtnet status` exit 1
_WILDCARD = set("*?[")


def _ip(text: object) -> IPAddress | None:
    """An address from ``10.0.0.1`` or SpiderEndpoint's ``10.0.0.1/16``; None when it is not one."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return ipaddress.ip_interface(text.strip()).ip
    except ValueError:
        return None


def _mac(text: object) -> str | None:
    return text.strip().lower().replace("-", ":") if isinstance(text, str) and text.strip() else None


# --- what the cluster reports, per interface ----------------------------------------------------------------------
# The entries of the lists the chain is followed through, as upstream writes them. Typed for the keys; the values
# come from the cluster (or any caller's dicts), so the readers below still check each value's type.


class VmiInterface(TypedDict, total=False):
    """VMI ``status.interfaces[]`` (KV@v1.9.0:staging/src/kubevirt.io/api/core/v1/types.go
    VirtualMachineInstanceNetworkInterface; ``podInterfaceName`` from v1.4)."""

    name: str  # the spec.networks[] / interfaces[] name
    interfaceName: str  # inside the guest
    podInterfaceName: str
    ipAddress: str  # the first of ipAddresses
    ipAddresses: list[str]
    mac: str
    infoSource: str  # comma-separated: domain, guest-agent, multus-status


class EndpointIP(TypedDict, total=False):
    """SpiderEndpoint ``status.current.ips[]`` (SP@v1.2.2:pkg/k8s/apis/spiderpool.spidernet.io/v2beta1/
    spiderendpoint_types.go IPAllocationDetail; ``mac`` from v1.2.0)."""

    interface: str  # the pod interface, or SpiderPool's index of an unnamed ippools entry until renamed
    ipv4: str  # address/prefix
    ipv6: str
    ipv4Pool: str
    ipv6Pool: str
    vlan: int
    ipv4Gateway: str
    ipv6Gateway: str
    cleanGateway: bool
    mac: str


class NetworkStatusEntry(TypedDict, total=False):
    """One entry of the pod's ``k8s.v1.cni.cncf.io/network-status`` annotation, which Multus writes
    (k8snetworkplumbingwg/network-attachment-definition-client pkg/apis/k8s.cni.cncf.io/v1/types.go NetworkStatus)."""

    name: str  # namespace/name of the NAD (the cluster network's name for the default one)
    interface: str
    ips: list[str]
    mac: str
    default: bool


# --- findings -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One broken link or drift. ``severity``: error | warning (both exit 1), info, skip (could not be read)."""

    id: str
    severity: str
    message: str
    fix: str | None = None
    interface: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": self.severity,
            "interface": self.interface,
            "message": self.message,
            "fix": self.fix,
        }


# --- what the VM asks for -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NicPlan:
    """One interface of the VM spec and the network behind it."""

    name: str  # spec.domain.devices.interfaces[].name
    binding: str  # masquerade, bridge, passtBinding, binding:<plugin>, … or "none"
    network: str | None  # the spec.networks[] entry of the same name (None: missing)
    source: str  # pod | multus | missing | <other key>
    primary: bool
    pod_interface: str | None  # eth0 / pod<hash> (None: no pod interface, e.g. a missing network)
    index: int | None  # position in SpiderPool's NIC order (eth0 = 0, then secondaries in order)
    nad: tuple[str, str] | None  # (namespace, name) of the NAD behind the network
    nad_from: str | None  # spec.networks[].multus.networkName or the default-network annotation
    mac: str | None  # spec macAddress (the rendered one)


def binding_of(interface: Mapping[str, Any]) -> str:
    plugin = _map(interface.get("binding")).get("name")
    if isinstance(plugin, str) and plugin:
        return f"binding:{plugin}"
    for key in BINDINGS:
        if key in interface:
            return key
    return "none"


def _nad_key(ref: NadRef, namespace: str) -> tuple[str, str]:
    """(namespace, name) of a NAD reference; one that names no namespace is in the VM's ``namespace``."""
    return (ref.namespace if ref.namespace is not None else namespace), ref.name


def vm_template(vm: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(template spec, template annotations) of a VirtualMachine."""
    template = _map(_map(vm.get("spec")).get("template"))
    return _map(template.get("spec")), _map(_meta(template).get("annotations"))


def plan_interfaces(vm: Mapping[str, Any]) -> list[NicPlan]:
    """The VM's interfaces in spec order, with the pod interface and NAD KubeVirt (>= v1.0) gives each."""
    namespace = str(_meta(vm).get("namespace") or "default")
    spec, annotations = vm_template(vm)
    networks = {str(n.get("name")): n for n in _list(spec.get("networks")) if isinstance(n, Mapping)}
    # SpiderPool's NIC order: eth0 first, then each secondary Multus network in spec.networks order
    # (SP@v1.2.2:pkg/ipam/allocate.go: item i+1 of an unnamed ippools list ↔ entry i of the networks annotation)
    secondaries = [
        name
        for name, net in networks.items()
        if isinstance(net.get("multus"), Mapping) and _map(net.get("multus")).get("default") is not True
    ]
    plans: list[NicPlan] = []
    devices = _map(_map(spec.get("domain")).get("devices"))
    for iface in _list(devices.get("interfaces")):
        if not isinstance(iface, Mapping):
            continue
        name = str(iface.get("name", ""))
        mac = _mac(iface.get("macAddress"))
        net = networks.get(name)
        binding = binding_of(iface)
        if net is None:
            plans.append(NicPlan(name, binding, None, "missing", False, None, None, None, None, mac))
            continue
        multus = net.get("multus")
        if "pod" in net:
            default = default_network_ref(annotations)  # a bare name is in Multus' namespace, not the VM's
            ref = _nad_key(default, namespace) if default is not None else None
            via = f"annotation {keys.DEFAULT_NETWORK}" if ref else None
            plans.append(NicPlan(name, binding, name, "pod", True, "eth0", 0, ref, via, mac))
        elif isinstance(multus, Mapping):
            network_name = str(multus.get("networkName") or "")
            via = "spec.networks[].multus.networkName"
            if multus.get("default") is True:  # handed to Multus as the default network: bare is in its namespace
                default = default_network(network_name)
                ref = _nad_key(default, namespace) if default is not None else None
                plans.append(NicPlan(name, binding, name, "multus", True, "eth0", 0, ref, via, mac))
            else:
                ref = _nad_key(parse_nad_ref(network_name), namespace) if network_name else None
                index = secondaries.index(name) + 1
                pod_if = pod_interface_name(name, primary=False)
                plans.append(NicPlan(name, binding, name, "multus", False, pod_if, index, ref, via, mac))
        else:
            other = next((k for k in net if k != "name"), "unknown")
            plans.append(NicPlan(name, binding, name, str(other), False, None, None, None, None, mac))
    return plans


# --- NADs and what they say ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NadInfo:
    cni_type: str | None
    spiderpool: bool | None  # does the chain delegate IPAM to SpiderPool (None: cannot tell)
    ipv4_pools: tuple[str, ...] = ()
    ipv6_pools: tuple[str, ...] = ()


def nad_info(nad: Mapping[str, Any]) -> NadInfo:
    """CNI type, SpiderPool IPAM and its default pools from a NAD's ``spec.config`` (SpiderPool's generated NAD:
    SP@v1.2.2:pkg/multuscniconfig/multusconfig_informer.go; IPAM keys: cmd/spiderpool/cmd/cni_types.go)."""
    text = _map(nad.get("spec")).get("config")
    try:
        config = json.loads(text) if isinstance(text, str) and text.strip() else None
    except (ValueError, RecursionError):
        config = None
    if not isinstance(config, Mapping):
        return NadInfo(None, None)
    plugins = [config] if "type" in config else [p for p in _list(config.get("plugins")) if isinstance(p, Mapping)]
    helpers = {"ifacer", "coordinator", "tuning", "sbr", "portmap", "bandwidth"}
    main = [str(p.get("type")) for p in plugins if str(p.get("type")) not in helpers]
    v4: tuple[str, ...] = ()
    v6: tuple[str, ...] = ()
    spiderpool = False
    for plugin in plugins:
        ipam = _map(plugin.get("ipam"))
        if ipam.get("type") == "spiderpool":
            spiderpool = True
            v4 = tuple(str(x) for x in _list(ipam.get("default_ipv4_ippool")))
            v6 = tuple(str(x) for x in _list(ipam.get("default_ipv6_ippool")))
    return NadInfo(main[0] if main else None, spiderpool if plugins else None, v4, v6)


def smc_for(nad_key: tuple[str, str], nad: Mapping[str, Any] | None, smcs: Sequence[Mapping[str, Any]]) -> Obj | None:
    """The SpiderMultusConfig that generates this NAD: its controller ownerReference, else the SMC of the same
    namespace whose ``multus.spidernet.io/cr-name`` (or own name) is the NAD's name."""
    ns, name = nad_key
    owner = None
    for ref in _list(_meta(nad).get("ownerReferences")):
        if isinstance(ref, Mapping) and ref.get("kind") == "SpiderMultusConfig":
            owner = str(ref.get("name"))
    by_name = None
    for smc in smcs:
        meta = _meta(smc)
        if meta.get("namespace") != ns:
            continue
        if owner is not None and meta.get("name") == owner:
            return dict(smc)
        generated = _map(meta.get("annotations")).get(keys.CR_NAME) or meta.get("name")
        if generated == name and by_name is None:
            by_name = dict(smc)
    return by_name


# --- pools --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolRequest:
    """The pools one interface asks for, and where that came from."""

    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()
    source: str | None = None  # None: nothing names pools for this interface

    def names(self, family: int) -> tuple[str, ...]:
        return self.ipv4 if family == 4 else self.ipv6

    @property
    def all(self) -> tuple[str, ...]:
        return (*self.ipv4, *self.ipv6)


def requested_pools(
    plan: NicPlan, annotations: Mapping[str, Any], nad: NadInfo | None
) -> tuple[PoolRequest, str | None]:
    """(pools, problem): SpiderPool's precedence — ``ippools`` (by interface name, or by position when unnamed),
    else ``ippool`` (every NIC), else the NAD's ``default_ipv4/6_ippool`` (SP@v1.2.2:pkg/ipam/pool_selections.go
    ``getPoolCandidates``). ``problem`` says why the annotation could not be read."""
    parsed = pool_annotations(annotations, SPIDERPOOL.newest)
    if parsed.key is not None and not parsed.ok:
        issues = "; ".join(i.message for i in parsed.issues if i.key == parsed.key and i.severity.value == "error")
        return PoolRequest(), f"{parsed.key} cannot be read by SpiderPool: {issues}"
    if parsed.key == keys.IPPOOLS and plan.pod_interface is not None:
        for entry in parsed.entries:
            if entry.interface is not None and entry.interface == plan.pod_interface:
                where = f"{keys.IPPOOLS} entry {entry.index}, interface {entry.interface}"
                return PoolRequest(entry.ipv4, entry.ipv6, where), None
            if entry.interface is None and entry.index == plan.index:
                where = f"{keys.IPPOOLS} entry {entry.index}, by position"
                return PoolRequest(entry.ipv4, entry.ipv6, where), None
    if parsed.key == keys.IPPOOL and parsed.entries:
        entry = parsed.entries[0]
        return PoolRequest(entry.ipv4, entry.ipv6, keys.IPPOOL), None
    if nad is not None and (nad.ipv4_pools or nad.ipv6_pools):
        return PoolRequest(nad.ipv4_pools, nad.ipv6_pools, "the NAD's default_ipv4/6_ippool"), None
    return PoolRequest(), None


def is_wildcard(name: str) -> bool:
    return bool(_WILDCARD & set(name))


def expand(names: Iterable[str], pools: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(found, missing) pool names; wildcard patterns (SpiderPool >= v1.0.0) match any pool of ``pools``."""
    found: list[str] = []
    missing: list[str] = []
    for name in names:
        if is_wildcard(name):
            hits = sorted(fnmatch.filter(pools, name))
            if hits:
                found.extend(hits)
            else:
                missing.append(name)
        elif name in pools:
            found.append(name)
        else:
            missing.append(name)
    return found, missing


# --- reads ---------------------------------------------------------------------------------------------------------


@dataclass
class StatusInputs:
    """Everything :func:`build_status` looks at. ``nads`` maps each NAD looked up to the object or None (does not
    exist); ``pools`` holds the SpiderIPPools that exist (by name); ``unreadable`` maps what could not be read to
    why ("forbidden (needs get on pods)"), so the report says "skip" there instead of guessing."""

    vm: Obj
    vmi: Obj | None = None
    pods: list[Obj] = field(default_factory=list)
    endpoint: Obj | None = None
    nads: dict[tuple[str, str], Obj | None] = field(default_factory=dict)
    multus_configs: list[Obj] = field(default_factory=list)
    pools: dict[str, Obj] = field(default_factory=dict)
    conf: SpiderpoolConf | None = None
    spiderpool_installed: bool = True
    unreadable: dict[str, str] = field(default_factory=dict)


def gather(cluster: Cluster, name: str, namespace: str | None = None) -> StatusInputs:
    """Read the VM and what hangs off it: VMI, launcher pod(s), SpiderEndpoint, NADs, SMCs, pools, spiderpool-conf.

    About ten requests for a VM with two NICs; nothing is listed cluster-wide except the SpiderIPPools when a pool
    name is a wildcard. Raises :class:`NotFoundError` when the VM does not exist (naming the namespace searched)."""
    ns = namespace or cluster.namespace
    vm = cluster.get(KUBEVIRT_GV, "VirtualMachine", name, ns)
    if vm is None:
        raise NotFoundError(
            f"VirtualMachine {name} not found in namespace {ns}",
            f"list the VMs there with `kubectl get vm -n {ns}`, or name another namespace with -n",
        )
    inputs = StatusInputs(vm=vm)
    reader = _Reader(cluster, inputs)
    reader.vmi_and_pods(name, ns)
    inputs.spiderpool_installed = cluster.serves(SPIDERPOOL_GV, "SpiderIPPool")
    if inputs.spiderpool_installed:
        inputs.endpoint = reader.attempt(
            "SpiderEndpoint", lambda: cluster.get(SPIDERPOOL_GV, "SpiderEndpoint", name, ns)
        )
    plans = plan_interfaces(vm)
    nad_keys = sorted({p.nad for p in plans if p.nad is not None})
    reader.nads(nad_keys)
    if inputs.spiderpool_installed:
        reader.multus_configs(sorted({k[0] for k in nad_keys}))
        reader.pools(plans)
        reader.spiderpool_conf()
    return inputs


@dataclass
class _Reader:
    """The reads of :func:`gather`, each allowed to be refused: what could not be read is recorded in
    ``inputs.unreadable`` (with why) instead of raised."""

    cluster: Cluster
    inputs: StatusInputs

    def attempt(self, what: str, read: Callable[[], T]) -> T | None:
        try:
            return read()
        except (ForbiddenError, NotInstalledError) as err:
            self.inputs.unreadable[what] = why_unreadable(err)
            return None

    def vmi_and_pods(self, name: str, ns: str) -> None:
        """The VMI, and the virt-launcher pods that carry its uid."""
        cluster, inputs = self.cluster, self.inputs
        inputs.vmi = self.attempt(
            "VirtualMachineInstance", lambda: cluster.get(KUBEVIRT_GV, "VirtualMachineInstance", name, ns)
        )
        uid = _meta(inputs.vmi).get("uid")
        if inputs.vmi is not None and uid:
            selector = f"{CREATED_BY}={uid}"
            inputs.pods = (
                self.attempt("virt-launcher pods", lambda: cluster.list("v1", "Pod", ns, label_selector=selector)) or []
            )

    def nads(self, nad_keys: Sequence[tuple[str, str]]) -> None:
        """Each NAD the interfaces name (None: it does not exist; left out: it could not be read)."""
        cluster, inputs = self.cluster, self.inputs
        if not nad_keys or not cluster.serves(NAD_GV, "NetworkAttachmentDefinition"):
            inputs.nads = dict.fromkeys(nad_keys)  # without the NAD CRD no NAD can exist
            return
        for key in nad_keys:
            what = f"NetworkAttachmentDefinition {key[0]}/{key[1]}"
            found = self.attempt(what, partial(cluster.get, NAD_GV, "NetworkAttachmentDefinition", key[1], key[0]))
            if what not in inputs.unreadable:
                inputs.nads[key] = found

    def multus_configs(self, namespaces: Sequence[str]) -> None:
        """The SpiderMultusConfigs of the NADs' namespaces."""
        for smc_ns in namespaces:
            smcs = self.attempt(
                f"SpiderMultusConfigs in {smc_ns}",
                partial(self.cluster.list, SPIDERPOOL_GV, "SpiderMultusConfig", smc_ns),
            )
            self.inputs.multus_configs.extend(smcs or [])

    def pools(self, plans: Sequence[NicPlan]) -> None:
        """The SpiderIPPools the interfaces ask for: each by name, or all of them when a name is a wildcard."""
        cluster, inputs = self.cluster, self.inputs
        _, annotations = vm_template(inputs.vm)
        wanted: set[str] = set()
        for plan in plans:
            nad = inputs.nads.get(plan.nad) if plan.nad else None
            request, _ = requested_pools(plan, annotations, nad_info(nad) if nad else None)
            wanted.update(request.all)
        if any(is_wildcard(n) for n in wanted):
            listed = self.attempt("SpiderIPPools", lambda: cluster.list(SPIDERPOOL_GV, "SpiderIPPool"))
            for pool in listed or []:
                inputs.pools[str(_meta(pool).get("name"))] = pool
            return
        for pool_name in sorted(wanted):
            read = partial(cluster.get, SPIDERPOOL_GV, "SpiderIPPool", pool_name)
            found_pool = self.attempt(f"SpiderIPPool {pool_name}", read)
            if found_pool is not None:
                inputs.pools[pool_name] = found_pool

    def spiderpool_conf(self) -> None:
        """spiderpool-conf from the first SpiderPool namespace that has it."""
        for conf_ns in SPIDERPOOL_NAMESPACES:
            try:
                conf = self.cluster.get("v1", "ConfigMap", SPIDERPOOL_CONF, conf_ns)
            except ForbiddenError as err:
                self.inputs.unreadable[SPIDERPOOL_CONF] = why_unreadable(err)
                continue
            if conf is not None:
                self.inputs.conf = SpiderpoolConf.parse(conf)
                self.inputs.unreadable.pop(SPIDERPOOL_CONF, None)
                break


# --- the report ----------------------------------------------------------------------------------------------------


@dataclass
class InterfaceStatus:
    """One interface's chain and its drift (the ``interfaces[]`` entry of ``-o json``)."""

    plan: NicPlan
    pod_interface: str | None = None  # the VMI's podInterfaceName when reported, else the computed one
    nad: dict[str, Any] | None = None
    multus_config: dict[str, Any] | None = None
    uses_spiderpool: bool | None = None
    pools: dict[str, Any] = field(default_factory=dict)
    endpoint_ips: list[dict[str, Any]] = field(default_factory=list)
    vmi_ips: list[dict[str, Any]] = field(default_factory=list)
    vmi_interface: dict[str, Any] | None = None
    launcher: dict[str, Any] | None = None
    mac: dict[str, Any] = field(default_factory=dict)
    drift: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        p = self.plan
        ipam = {True: "spiderpool", False: "other", None: None}[self.uses_spiderpool]
        return {
            "name": p.name,
            "binding": p.binding,
            "network": {
                "name": p.network,
                "source": p.source,
                "primary": p.primary,
                "podInterface": self.pod_interface,
            },
            "nad": self.nad,
            "multusConfig": self.multus_config,
            "ipam": ipam,
            "pools": self.pools,
            "endpointIPs": self.endpoint_ips,
            "vmiIPs": self.vmi_ips,
            "vmiInterface": self.vmi_interface,
            "launcher": self.launcher,
            "mac": self.mac,
            "drift": [f.to_json() for f in self.drift],
        }


@dataclass
class StatusReport:
    vm: dict[str, Any]
    interfaces: list[InterfaceStatus]
    findings: list[Finding]

    @property
    def healthy(self) -> bool:
        return not any(f.severity in DRIFT for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "vm": self.vm,
            "interfaces": [i.to_json() for i in self.interfaces],
            "findings": [f.to_json() for f in self.findings],
            "healthy": self.healthy,
        }


def run_strategy(vm: Mapping[str, Any]) -> str:
    """``spec.runStrategy``, else the legacy ``spec.running`` bool (true = Always, false = Halted)."""
    spec = _map(vm.get("spec"))
    strategy = spec.get("runStrategy")
    if isinstance(strategy, str) and strategy:
        return strategy
    running = spec.get("running")
    if isinstance(running, bool):
        return "Always" if running else "Halted"
    return "Halted"


def launcher_pod(pods: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The pod serving the VMI now: running and not terminating, newest first (a migration has two)."""
    live = [p for p in pods if not _meta(p).get("deletionTimestamp")]
    if not live:
        return None
    running = [p for p in live if _map(p.get("status")).get("phase") == "Running"] or live
    return max(running, key=lambda p: str(_meta(p).get("creationTimestamp") or ""))


def network_status(pod: Mapping[str, Any] | None) -> list[NetworkStatusEntry]:
    """The entries of the pod's ``k8s.v1.cni.cncf.io/network-status`` annotation (Multus), [] when unreadable."""
    text = _map(_meta(pod).get("annotations")).get(NETWORK_STATUS)
    if not isinstance(text, str):
        return []
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return []
    return cast("list[NetworkStatusEntry]", [e for e in _list(value) if isinstance(e, Mapping)])


def _pool_specs(names: Iterable[str], pools: Mapping[str, Obj]) -> list[PoolSpec]:
    specs = []
    for name in names:
        try:
            specs.append(PoolSpec.from_manifest(pools[name]))
        except (InputError, KeyError):
            continue
    return specs


def _endpoint_json(entry: EndpointIP) -> dict[str, Any]:
    keep = ("interface", "ipv4", "ipv4Pool", "ipv6", "ipv6Pool", "vlan", "ipv4Gateway", "ipv6Gateway", "mac")
    return {k: entry.get(k) for k in keep if k in entry}


def _delete_advice(ns: str, name: str, pools: str, held_pool: str) -> str:
    return (
        f"to re-IP from {pools}: stop the VM (virtctl stop {name} -n {ns}, or runStrategy: Halted), delete its "
        f"SpiderEndpoint (kubectl delete spiderendpoint {name} -n {ns}) and start the VM again — SpiderPool then "
        f"allocates afresh and its IP GC frees the old record in {held_pool}; deleting and re-creating the VM also "
        f"releases the IP. To keep the address instead, ask for {held_pool} again in the annotation"
    )


@dataclass
class _Context:
    """What every interface of one VM shares while its report is built."""

    inputs: StatusInputs
    ns: str
    name: str
    annotations: Mapping[str, Any]
    vmi_ifaces: dict[str, VmiInterface]  # by name
    endpoint_entries: list[EndpointIP]
    pod: Mapping[str, Any] | None
    net_status: list[NetworkStatusEntry]

    @property
    def vmi_exists(self) -> bool:
        return self.inputs.vmi is not None


def build_status(inputs: StatusInputs) -> StatusReport:
    """The chain of every interface and what drifted, from objects already read (pure)."""
    vm = inputs.vm
    meta = _meta(vm)
    endpoint_current = _map(_map(_map(inputs.endpoint).get("status")).get("current"))
    pod = launcher_pod(inputs.pods)
    ctx = _Context(
        inputs=inputs,
        ns=str(meta.get("namespace") or "default"),
        name=str(meta.get("name")),
        annotations=vm_template(vm)[1],
        vmi_ifaces={
            str(i.get("name")): cast(VmiInterface, i)
            for i in _list(_map(_map(inputs.vmi).get("status")).get("interfaces"))
            if isinstance(i, Mapping)
        },
        endpoint_entries=cast(
            "list[EndpointIP]", [e for e in _list(endpoint_current.get("ips")) if isinstance(e, Mapping)]
        ),
        pod=pod,
        net_status=network_status(pod),
    )
    summary, findings = _vm_summary(ctx)
    interfaces = [_interface(plan, ctx) for plan in plan_interfaces(vm)]
    for iface in interfaces:
        findings.extend(iface.drift)
    findings.extend(_endpoint_missing(ctx, interfaces))
    return StatusReport(summary, interfaces, findings)


def _vm_summary(ctx: _Context) -> tuple[dict[str, Any], list[Finding]]:
    """The ``vm`` object of ``-o json`` and the findings about the VM as a whole."""
    return _summary(ctx), [*_unread_findings(ctx.inputs), *_run_findings(ctx), *_endpoint_findings(ctx)]


def _phase(vmi: object) -> str:
    return str(_map(_map(vmi).get("status")).get("phase") or "")


def _summary(ctx: _Context) -> dict[str, Any]:
    inputs, ns, pod = ctx.inputs, ctx.ns, ctx.pod
    vm, vmi, endpoint = inputs.vm, inputs.vmi, inputs.endpoint
    phase = _phase(vmi)
    state = "stopped" if vmi is None else (phase.lower() or "unknown")
    if vmi is not None and _meta(vmi).get("deletionTimestamp"):
        state = "stopping"
    ep_status = _map(_map(endpoint).get("status"))
    ep_current = _map(ep_status.get("current"))
    return {
        "namespace": ns,
        "name": ctx.name,
        "runStrategy": run_strategy(vm),
        "printableStatus": _map(vm.get("status")).get("printableStatus"),
        "state": state,
        "vmi": {"phase": phase or None, "node": _map(vmi.get("status")).get("nodeName"), "uid": _meta(vmi).get("uid")}
        if vmi is not None
        else None,
        "launcherPods": sorted(str(_meta(p).get("name")) for p in inputs.pods),
        "launcherPod": str(_meta(pod).get("name")) if pod is not None else None,
        "spiderEndpoint": {
            "namespace": ns,
            "name": str(_meta(endpoint).get("name")),
            "ownerControllerType": ep_status.get("ownerControllerType"),
            "ownerControllerName": ep_status.get("ownerControllerName"),
            "uid": ep_current.get("uid"),
            "node": ep_current.get("node"),
        }
        if endpoint is not None
        else None,
        "enableKubevirtStaticIP": inputs.conf.enable_kubevirt_static_ip if inputs.conf else None,
    }


def _unread_findings(inputs: StatusInputs) -> list[Finding]:
    """What could not be read (those links are skipped), and a cluster without SpiderPool."""
    findings = [
        Finding("unreadable", "skip", f"could not read {what}: {why}; those links are not checked")
        for what, why in sorted(inputs.unreadable.items())
    ]
    if not inputs.spiderpool_installed:
        findings.append(
            Finding("spiderpool-not-installed", "info", "SpiderPool is not installed: no pool or SpiderEndpoint links")
        )
    return findings


def _run_findings(ctx: _Context) -> list[Finding]:
    """A stopped VM (and the IPs SpiderPool keeps for it), a VMI that is not Running, a Running one without pod."""
    inputs, ns, name = ctx.inputs, ctx.ns, ctx.name
    vmi = inputs.vmi
    phase = _phase(vmi)
    if vmi is None:
        strategy = run_strategy(inputs.vm)
        kept = [str(e[k]) for e in ctx.endpoint_entries for k in ("ipv4", "ipv6") if e.get(k)]
        message = f"the VM is stopped (runStrategy {strategy}, no VMI)"
        if kept:
            message += (
                f"; SpiderPool keeps its fixed IP(s) {', '.join(kept)} in SpiderEndpoint {ns}/{name} while the "
                "VM exists"
            )
        fix = f"start it with `virtctl start {name} -n {ns}`" + ("; deleting the VM releases the IP(s)" if kept else "")
        return [Finding("vm-stopped", "info", message, fix)]
    if phase != "Running":
        severity = "error" if phase in ("Failed", "Unknown") else "warning"
        return [
            Finding(
                "vmi-not-running",
                severity,
                f"VMI {ns}/{name} is {phase or 'without a phase'}, not Running",
                f"kubectl describe vmi {name} -n {ns}; a virt-launcher pod stuck in ContainerCreating usually means "
                "the CNI or SpiderPool IPAM failed (its events say why)",
            )
        ]
    if ctx.pod is None and "virt-launcher pods" not in inputs.unreadable:
        return [
            Finding(
                "launcher-pod-missing",
                "warning",
                f"VMI {ns}/{name} is Running but no virt-launcher pod carries {CREATED_BY}={_meta(vmi).get('uid')}",
                f"kubectl get pods -n {ns} -l kubevirt.io=virt-launcher",
            )
        ]
    return []


def _endpoint_findings(ctx: _Context) -> list[Finding]:
    """A SpiderEndpoint of the VM's name held by another workload, or recording another pod than the running one."""
    inputs, ns, name, pod = ctx.inputs, ctx.ns, ctx.name, ctx.pod
    endpoint = inputs.endpoint
    if endpoint is None:
        return []
    ep_status = _map(endpoint.get("status"))
    ep_current = _map(ep_status.get("current"))
    findings: list[Finding] = []
    owner = ep_status.get("ownerControllerType")
    if owner not in (None, VMI_OWNER):
        findings.append(
            Finding(
                "endpoint-owner",
                "warning",
                f"SpiderEndpoint {ns}/{name} belongs to {owner} {ep_status.get('ownerControllerName')}, not to this "
                "VM's VMI",
                "another workload of the same name holds the endpoint; rename one of them",
            )
        )
    pod_uid = _meta(pod).get("uid")
    if _phase(inputs.vmi) == "Running" and pod_uid and ep_current.get("uid") not in (None, pod_uid):
        findings.append(
            Finding(
                "endpoint-stale",
                "warning",
                f"SpiderEndpoint {ns}/{name} records pod uid {ep_current.get('uid')}, but the running virt-launcher "
                f"pod {_meta(pod).get('name')} has uid {pod_uid}; SpiderPool rewrites it on every CNI ADD of the VM",
                "look for a failed CNI ADD in the pod's events and the spiderpool-agent log of its node",
            )
        )
    return findings


def _interface(plan: NicPlan, ctx: _Context) -> InterfaceStatus:
    status = InterfaceStatus(plan, pod_interface=plan.pod_interface)
    vmi_iface = ctx.vmi_ifaces.get(plan.name)
    if vmi_iface is not None:
        reported = vmi_iface.get("podInterfaceName")
        if isinstance(reported, str) and reported:
            status.pod_interface = reported
        status.vmi_interface = {
            k: vmi_iface.get(k) for k in ("interfaceName", "podInterfaceName", "infoSource", "mac") if k in vmi_iface
        }
    if plan.source == "missing":
        status.drift.append(
            Finding(
                "network-missing",
                "error",
                f"interface {plan.name} has no spec.networks entry of the same name",
                "add the network or rename the interface (KubeVirt rejects such a VM)",
                plan.name,
            )
        )
    info = _nad_link(plan, ctx, status)
    request = _pool_link(plan, ctx, status, info)
    endpoint_ips = _endpoint_link(plan, ctx, status, request)
    _vmi_link(plan, ctx, status, request, endpoint_ips, vmi_iface)
    _launcher_link(plan, ctx, status, endpoint_ips)
    vmi_mac = _mac(vmi_iface.get("mac")) if vmi_iface is not None else None
    status.mac = {"spec": plan.mac, "vmi": vmi_mac, "pod": (status.launcher or {}).get("mac")}
    if plan.mac and vmi_mac and plan.mac != vmi_mac:
        status.drift.append(
            Finding(
                "mac-differs",
                "error",
                f"interface {plan.name} is rendered with macAddress {plan.mac} but the VMI reports {vmi_mac}",
                "cloud-init matches NICs by MAC: restart the VM so the spec's MAC applies, or render the bundle "
                "again with the MAC the guest has",
                plan.name,
            )
        )
    return status


def _nad_link(plan: NicPlan, ctx: _Context, status: InterfaceStatus) -> NadInfo | None:
    if plan.nad is None:
        return None
    key = plan.nad
    readable = key in ctx.inputs.nads
    nad = ctx.inputs.nads.get(key)
    smc = smc_for(key, nad, ctx.inputs.multus_configs)
    info = nad_info(nad) if nad is not None else None
    status.uses_spiderpool = info.spiderpool if info is not None else None
    status.nad = {
        "namespace": key[0],
        "name": key[1],
        "from": plan.nad_from,
        "exists": (nad is not None) if readable else None,
        "cniType": info.cni_type if info else None,
        "spiderpoolIPAM": info.spiderpool if info else None,
    }
    if smc is not None:
        status.multus_config = {
            "namespace": _meta(smc).get("namespace"),
            "name": _meta(smc).get("name"),
            "cniType": _map(smc.get("spec")).get("cniType"),
        }
    if readable and nad is None:
        if smc is not None:
            message = (
                f"NetworkAttachmentDefinition {key[0]}/{key[1]} does not exist although SpiderMultusConfig "
                f"{_meta(smc).get('namespace')}/{_meta(smc).get('name')} should generate it"
            )
            fix = (
                "spiderpool-controller generates it: check that it runs and read its log "
                "(kubectl logs -n kube-system deploy/spiderpool-controller)"
            )
        else:
            message = f"NetworkAttachmentDefinition {key[0]}/{key[1]} ({plan.nad_from}) does not exist"
            fix = (
                f"create it (or a SpiderMultusConfig named {key[1]} in {key[0]}), or point the network at an "
                "existing NAD; the virt-launcher pod cannot start without it"
            )
        status.drift.append(Finding("nad-missing", "error", message, fix, plan.name))
    return info


@dataclass(frozen=True)
class _Expected:
    request: PoolRequest
    specs: dict[int, list[PoolSpec]]  # the existing pools asked for, by family
    complete: dict[int, bool]  # every pool of the family exists (so "not in the pool" is meaningful)
    spiderpool: bool  # this NIC takes its IP from SpiderPool


def _pool_link(plan: NicPlan, ctx: _Context, status: InterfaceStatus, info: NadInfo | None) -> _Expected:
    inputs = ctx.inputs
    request, problem = requested_pools(plan, ctx.annotations, info)
    if problem is not None:
        status.drift.append(
            Finding("annotation-invalid", "error", problem, "`virtnet lint` on the VM manifest says how", plan.name)
        )
    # a NIC takes its IP from SpiderPool when its NAD says so, or (NAD unknown) when the annotation names pools
    spiderpool = bool(status.uses_spiderpool) or (status.uses_spiderpool is None and request.source is not None)
    readable = inputs.spiderpool_installed and not any(k.startswith("SpiderIPPool") for k in inputs.unreadable)
    found4, missing4 = expand(request.ipv4, inputs.pools)
    found6, missing6 = expand(request.ipv6, inputs.pools)
    missing = [*missing4, *missing6] if readable else []
    status.pools = {
        "ipv4": list(request.ipv4),
        "ipv6": list(request.ipv6),
        "source": request.source,
        "missing": missing,
    }
    for pool in missing:
        status.drift.append(
            Finding(
                "pool-missing",
                "error",
                f"SpiderIPPool {pool} ({request.source}) does not exist",
                "create it or fix the name; SpiderPool fails the CNI ADD of the VM's pod without it",
                plan.name,
            )
        )
    return _Expected(
        request,
        {4: _pool_specs(found4, inputs.pools), 6: _pool_specs(found6, inputs.pools)},
        {4: readable and not missing4 and bool(found4), 6: readable and not missing6 and bool(found6)},
        spiderpool,
    )


def _endpoint_link(plan: NicPlan, ctx: _Context, status: InterfaceStatus, expected: _Expected) -> dict[int, IPAddress]:
    """The endpoint entries of this NIC — by pod interface name, else by SpiderPool's index ("0", "1", …) of an
    unnamed ippools entry not yet renamed — and whether their pools are still the requested ones."""
    endpoint = ctx.inputs.endpoint
    if endpoint is None:
        return {}
    names = [n for n in (status.pod_interface, plan.pod_interface) if n]
    if plan.index is not None:
        names.append(str(plan.index))
    entries: list[EndpointIP] = []
    for candidate in names:
        entries = [e for e in ctx.endpoint_entries if e.get("interface") == candidate]
        if entries:
            break
    status.endpoint_ips = [_endpoint_json(e) for e in entries]
    held: dict[int, IPAddress] = {}
    request = expected.request
    for entry in entries:
        for family, ip_key, pool_key in ((4, "ipv4", "ipv4Pool"), (6, "ipv6", "ipv6Pool")):
            address = _ip(entry.get(ip_key))
            if address is not None:
                held[family] = address
            held_pool, wanted = entry.get(pool_key), request.names(family)
            if not isinstance(held_pool, str) or not held_pool or not wanted:
                continue
            if not any(fnmatch.fnmatchcase(held_pool, w) for w in wanted):
                status.drift.append(
                    Finding(
                        "endpoint-pool-changed",
                        "error",
                        f"SpiderEndpoint {ctx.ns}/{ctx.name} holds {entry.get(ip_key)} from pool {held_pool}, but the "
                        f"VM now asks for {', '.join(wanted)} ({request.source}); SpiderPool keeps a VM's fixed IP "
                        "and never moves it to another pool",
                        _delete_advice(ctx.ns, ctx.name, ", ".join(wanted), held_pool),
                        plan.name,
                    )
                )
    if expected.spiderpool and not entries:
        recorded = ", ".join(str(e.get("interface")) for e in ctx.endpoint_entries) or "none"
        status.drift.append(
            Finding(
                "endpoint-interface-missing",
                "error",
                f"SpiderEndpoint {ctx.ns}/{ctx.name} has no entry for pod interface {status.pod_interface or '?'} "
                f"(it records: {recorded})",
                "the ippools annotation probably does not name this interface; `virtnet lint` shows the fix, then "
                "restart the VM",
                plan.name,
            )
        )
    return held


def _vmi_link(
    plan: NicPlan,
    ctx: _Context,
    status: InterfaceStatus,
    expected: _Expected,
    held: dict[int, IPAddress],
    vmi_iface: VmiInterface | None,
) -> None:
    if vmi_iface is None:
        return
    texts = [t for t in _list(vmi_iface.get("ipAddresses")) if isinstance(t, str)]
    single = vmi_iface.get("ipAddress")
    if isinstance(single, str) and single and single not in texts:
        texts.insert(0, single)
    source = vmi_iface.get("infoSource")
    reported: list[IPAddress] = []
    for text in texts:
        status.vmi_ips.append({"ip": text, "infoSource": source})
        address = _ip(text)
        if address is not None and not address.is_link_local:
            reported.append(address)
    if not expected.spiderpool or not ctx.vmi_exists:
        return
    moved = any(f.id == "endpoint-pool-changed" for f in status.drift)
    outside: set[IPAddress] = set()
    for address in reported:
        family = address.version
        if not expected.complete[family] or any(address in spec.effective for spec in expected.specs[family]):
            continue
        outside.add(address)
        if held.get(family) == address and moved:
            continue  # the endpoint still holds it from the old pool: endpoint-pool-changed says so and what to do
        pools = ", ".join(spec.name for spec in expected.specs[family])
        status.drift.append(
            Finding(
                "ip-outside-pool",
                "error",
                f"the VMI reports {address} on {plan.name} (infoSource: {source or '?'}), which is not in pool "
                f"{pools} ({expected.request.source})",
                "if the SpiderEndpoint holds an IP of another pool, see endpoint-pool-changed; if the guest set the "
                "address itself, let it use DHCP (cloud-init networkData)",
                plan.name,
            )
        )
    for held_family, held_address in held.items():
        same = [a for a in reported if a.version == held_family]
        if same and held_address not in same and not set(same) & outside:
            status.drift.append(
                Finding(
                    "ip-differs-from-endpoint",
                    "error",
                    f"the VMI reports {', '.join(map(str, same))} on {plan.name} but SpiderEndpoint "
                    f"{ctx.ns}/{ctx.name} holds {held_address}",
                    "the guest uses another address than the one SpiderPool gave its pod: let it use DHCP",
                    plan.name,
                )
            )


def _launcher_link(plan: NicPlan, ctx: _Context, status: InterfaceStatus, held: dict[int, IPAddress]) -> None:
    pod = ctx.pod
    if pod is None:
        return
    pod_name = _meta(pod).get("name")
    match = [e for e in ctx.net_status if e.get("interface") in (status.pod_interface, plan.pod_interface)]
    if not match and plan.primary:
        match = [e for e in ctx.net_status if e.get("default") is True]
    if not match:
        status.launcher = {"pod": pod_name, "network": None, "interface": None, "ips": [], "mac": None}
        return
    entry = match[0]
    status.launcher = {
        "pod": pod_name,
        "network": entry.get("name"),
        "interface": entry.get("interface"),
        "ips": [str(x) for x in _list(entry.get("ips"))],
        "mac": entry.get("mac"),
    }
    pod_ips = [a for a in (_ip(x) for x in _list(entry.get("ips"))) if a is not None]
    for family, address in held.items():
        same = [a for a in pod_ips if a.version == family]
        if same and address not in same:
            status.drift.append(
                Finding(
                    "pod-ip-differs-from-endpoint",
                    "warning",
                    f"pod {pod_name} got {', '.join(map(str, same))} on {entry.get('interface')} (network-status) "
                    f"but SpiderEndpoint {ctx.ns}/{ctx.name} holds {address}",
                    "the CNI did not use SpiderPool's answer; check the NAD's ipam section",
                    plan.name,
                )
            )


def _endpoint_missing(ctx: _Context, interfaces: Sequence[InterfaceStatus]) -> list[Finding]:
    inputs = ctx.inputs
    if inputs.vmi is None or inputs.endpoint is not None or not inputs.spiderpool_installed:
        return []
    if "SpiderEndpoint" in inputs.unreadable:
        return []
    spiderpool_nics = [
        i for i in interfaces if i.uses_spiderpool or (i.uses_spiderpool is None and i.pools.get("source"))
    ]
    if not spiderpool_nics:
        return []
    running = _map(_map(inputs.vmi).get("status")).get("phase") == "Running"
    ns, name = ctx.ns, ctx.name
    if inputs.conf is not None and not inputs.conf.enable_kubevirt_static_ip:
        message = (
            f"no SpiderEndpoint {ns}/{name}: spiderpool-conf has enableKubevirtStaticIP off (a missing key is false), "
            "so SpiderPool treats the VM's pod as stateless and its IP changes on every restart"
        )
        fix = "set ipam.enableKubevirtStaticIP=true in the SpiderPool Helm values and restart spiderpool-agent"
    else:
        message = (
            f"no SpiderEndpoint {ns}/{name} although the VMI exists and "
            f"{', '.join(i.plan.name for i in spiderpool_nics)} take their IP from SpiderPool: no fixed IP is recorded "
            "for this VM"
        )
        fix = (
            "check that the virt-launcher pod's CNI ADD reached SpiderPool (pod events, spiderpool-agent log) and "
            "that enableKubevirtStaticIP is true in spiderpool-conf"
        )
    return [Finding("endpoint-missing", "error" if running else "warning", message, fix)]
