"""Rules for the reasons SpiderPool gives a VM's virt-launcher pod no address (issue 10).

SpiderPool picks the pools of each pod NIC (annotations ``ipam.spidernet.io/ippools`` → ``ippool`` → Namespace
defaults → the NAD's ``default_ipv4/6_ippool`` / the SpiderMultusConfig's ``ippools``; SP@v1.2.2:pkg/ipam/
pool_selections.go ``getPoolCandidates``), drops the families conf.yml switched off (pkg/ipam/config.go
``filterPoolMisspecified``), then filters every candidate with ``selectByPod`` (SP@v1.2.2:pkg/ipam/allocate.go):
terminating, ``disable``, ``ipVersion``, ``nodeName`` else ``nodeAffinity``, ``namespaceName`` else
``namespaceAffinity``, ``podAffinity``, ``multusName``. A NIC whose candidates are all filtered out fails CNI ADD
(``no IPPool available, all IPv4 IPPools … filtered out``) and the VM never starts.

Covered elsewhere: pool missing / wrong family (VN011), exhausted (VN015), ``multusName`` (VN010/VN011),
``enableKubevirtStaticIP`` (VN021). Here: the pool's selection fields vs the launcher pod (VN027), a family switched
off in conf.yml (VN028), one NAD attached twice (VN029), ``default-route-nic`` naming no pod interface (VN030), and,
with ``lint --cluster``, a SpiderEndpoint still holding an address of a pool the VM no longer asks for (VN031).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import yaml

from virtnet.lint.context import IPPOOLS_ANNOTATION, LintContext, Workload, workload_of
from virtnet.lint.model import LintObject, Path, Severity, Violation
from virtnet.lint.registry import rule
from virtnet.lint.spiderpool import WILDCARD_CHARS, PodNic, pod_nics, requested_pools
from virtnet.model import annotations as keys
from virtnet.model.capabilities import multi_nic_leak_fixed_in
from virtnet.model.manifest import as_list, as_map
from virtnet.model.text import listed

SP_SELECT = "SP@v1.2.2:pkg/ipam/allocate.go selectByPod"
SP_CANDIDATES = "SP@v1.2.2:pkg/ipam/pool_selections.go getPoolCandidates"
SP_CONFIG = "SP@v1.2.2:pkg/ipam/config.go filterPoolMisspecified"
# KubeVirt labels every virt-launcher pod with the VMI's labels plus these (KV@v1.9.0:pkg/virt-controller/services/
# template.go; same in KV@v1.0.1): kubevirt.io=virt-launcher, kubevirt.io/created-by=<VMI uid>,
# vm.kubevirt.io/name=<VMI name>. A VM's VMI carries the VM template's labels.
LAUNCHER_APP = ("kubevirt.io", "virt-launcher")
LAUNCHER_VM_NAME = "vm.kubevirt.io/name"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every Namespace (k8s >= 1.21)
HOSTNAME_LABEL = "kubernetes.io/hostname"
# --- what the VM asks for ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """One pool a pod NIC of the VM takes an address from (first names first; later ones are fallbacks)."""

    nic: PodNic
    family: int
    pool: str
    path: Path


def _network_path(w: Workload, network: str | None) -> Path:
    for i, net in w.networks:
        if network is not None and net.get("name") == network:
            return w.network_path(i)
    return w.spec_path


def asks(w: Workload, ctx: LintContext) -> list[Ask]:
    """The pools each SpiderPool NIC of ``w`` asks for, the way getPoolCandidates picks them (annotations win over
    the NAD's defaults); computed once per object."""
    return ctx.object_memo(w.obj, asks, lambda: _asks(w, ctx))


def _asks(w: Workload, ctx: LintContext) -> list[Ask]:
    nics = [n for n in pod_nics(w, ctx) if n.uses_spiderpool is not False]
    parsed = requested_pools(w, ctx)
    out: list[Ask] = []
    if parsed.ok and parsed.entries:
        path = w.annotation_path(parsed.key or IPPOOLS_ANNOTATION)
        all_nics = pod_nics(w, ctx)
        for entry in parsed.entries:
            if entry.index is None:  # the ippool object: every SpiderPool NIC
                targets = nics
            elif entry.interface is not None:
                targets = [n for n in all_nics if n.pod_interface == entry.interface]
            else:  # ordering mode: item i is the i-th pod NIC (SP@v1.2.2:pkg/ipam/allocate.go)
                targets = all_nics[entry.index : entry.index + 1]
            for nic in targets:
                out.extend(Ask(nic, 4, p, path) for p in entry.pools(4))
                out.extend(Ask(nic, 6, p, path) for p in entry.pools(6))
        return out
    for nic in nics:
        if nic.nad is None:
            continue
        path = _network_path(w, nic.network)
        out.extend(Ask(nic, 4, p, path) for p in nic.nad.ipv4_pools)
        out.extend(Ask(nic, 6, p, path) for p in nic.nad.ipv6_pools)
    return out


# --- label selectors with partial knowledge ----------------------------------------------------------------------


def selector_matches(selector: object, labels: Mapping[str, str], known: Callable[[str], bool]) -> bool | None:
    """metav1.LabelSelector semantics; ``known(key)`` says whether ``labels`` is the whole truth for that key.
    False: cannot match; True: matches; None: cannot tell."""
    sel = as_map(selector)
    unsure = False
    for key, value in as_map(sel.get("matchLabels")).items():
        if not known(str(key)):
            unsure = True
        elif labels.get(str(key)) != str(value):
            return False
    for expr in as_list(sel.get("matchExpressions")):
        e = as_map(expr)
        key, op = str(e.get("key", "")), e.get("operator")
        values = {str(v) for v in as_list(e.get("values"))}
        if not known(key):
            unsure = True
            continue
        has, value = key in labels, labels.get(key)
        ok = {
            "In": has and value in values,
            "NotIn": not has or value not in values,
            "Exists": has,
            "DoesNotExist": not has,
        }.get(str(op))
        if ok is None:
            unsure = True  # an unknown operator: the webhook rejects it; not our concern here
        elif not ok:
            return False
    return None if unsure else True


def _pod_labels(w: Workload) -> dict[str, str]:
    if w.obj.kind == "VirtualMachine":
        raw = as_map(as_map(as_map(as_map(w.obj.data.get("spec")).get("template")).get("metadata")).get("labels"))
    else:
        raw = as_map(as_map(w.obj.data.get("metadata")).get("labels"))
    labels = {str(k): str(v) for k, v in as_map(raw).items()}
    labels[LAUNCHER_APP[0]] = LAUNCHER_APP[1]
    labels[LAUNCHER_VM_NAME] = w.obj.ref.name
    return labels


def _pod_label_known(key: str) -> bool:
    # kubevirt.io/created-by (the VMI uid) and other kubevirt.io/* labels KubeVirt may add are not in the manifest
    return key == LAUNCHER_APP[0] or key == LAUNCHER_VM_NAME or "kubevirt.io/" not in key


def _refusals(pool: LintObject, w: Workload, ctx: LintContext) -> Iterator[tuple[str, str]]:
    """(field, why) for each selectByPod check the pool fails for ``w``'s launcher pod."""
    spec = as_map(pool.data.get("spec"))
    name = pool.ref.name
    if spec.get("disable") is True:
        yield "disable", f"SpiderIPPool {name} has spec.disable: true ('disabled IPPool {name}')"
    node_selector = {str(k): str(v) for k, v in as_map(w.spec.get("nodeSelector")).items()}
    node_names = [str(n) for n in as_list(spec.get("nodeName"))]
    if node_names:
        host = node_selector.get(HOSTNAME_LABEL)
        if host is not None and host not in node_names:
            yield (
                "nodeName",
                (
                    f"SpiderIPPool {name} spec.nodeName {node_names} does not include the node the VM is pinned to "
                    f"(nodeSelector {HOSTNAME_LABEL}: {host}) ('unmatched Node name of IPPool {name}')"
                ),
            )
    elif (
        "nodeAffinity" in spec
        and selector_matches(spec.get("nodeAffinity"), node_selector, lambda k: k in node_selector) is False
    ):
        yield (
            "nodeAffinity",
            (
                f"SpiderIPPool {name} spec.nodeAffinity cannot match any node the VM's nodeSelector "
                f"{node_selector} allows ('unmatched Node affinity of IPPool {name}')"
            ),
        )
    ns = w.namespace
    ns_names = [str(n) for n in as_list(spec.get("namespaceName"))]
    if ns_names:
        if ns not in ns_names:
            yield (
                "namespaceName",
                (
                    f"SpiderIPPool {name} spec.namespaceName {ns_names} does not include the VM's namespace {ns} "
                    f"('unmatched Namespace name of IPPool {name}')"
                ),
            )
    elif "namespaceAffinity" in spec:
        ns_obj = ctx.by_key.get(("Namespace", "", ns))
        labels = {NAMESPACE_NAME_LABEL: ns}
        if ns_obj is not None:
            raw = as_map(as_map(ns_obj.data.get("metadata")).get("labels"))
            labels.update({str(k): str(v) for k, v in raw.items()})
        known: Callable[[str], bool] = (lambda k: True) if ns_obj is not None else (lambda k: k == NAMESPACE_NAME_LABEL)
        if selector_matches(spec.get("namespaceAffinity"), labels, known) is False:
            shown = "its labels" if ns_obj is not None else "its name"
            yield (
                "namespaceAffinity",
                (
                    f"SpiderIPPool {name} spec.namespaceAffinity does not match namespace {ns} ({shown}) "
                    f"('unmatched Namespace affinity of IPPool {name}')"
                ),
            )
    if "podAffinity" in spec:
        labels = _pod_labels(w)
        if selector_matches(spec.get("podAffinity"), labels, _pod_label_known) is False:
            yield (
                "podAffinity",
                (
                    f"SpiderIPPool {name} spec.podAffinity does not match the virt-launcher pod's labels (the VM "
                    f"template's labels plus kubevirt.io: virt-launcher, {LAUNCHER_VM_NAME}: {w.obj.ref.name}) "
                    f"('unmatched Pod affinity of IPPool {name}')"
                ),
            )


@rule(
    code="VN027",
    slug="ippool-refuses-vm",
    severity=Severity.ERROR,
    summary="a pool the VM takes its address from whose disable, nodeName/nodeAffinity, namespaceName/"
    "namespaceAffinity or podAffinity refuses the VM's virt-launcher pod",
    why="SpiderPool filters every candidate pool of a NIC with selectByPod; when all of them are refused, CNI ADD "
    "fails ('no IPPool available, all IPv4 IPPools [...] filtered out: unmatched ... of IPPool ...') and the VM "
    "never starts. The launcher pod carries the VM template's labels plus kubevirt.io: virt-launcher and "
    "vm.kubevirt.io/name.",
    fix="Make the pool admit the VM (spec.disable: false; add the namespace to spec.namespaceName or a label the "
    "spec.namespaceAffinity selects to the Namespace; add the labels spec.podAffinity selects to "
    "spec.template.metadata.labels; align spec.nodeName/nodeAffinity with the VM's spec.template.spec.nodeSelector), "
    "or name another pool in ipam.spidernet.io/ippool(s).",
    references=(SP_SELECT, SP_CANDIDATES, "SP@v0.8.13:pkg/ipam/allocate.go selectByPod (same checks)",
                "SP@v1.2.2:pkg/k8s/apis/spiderpool.spidernet.io/v2beta1/spiderippool_types.go",
                "KV@v1.9.0:pkg/virt-controller/services/template.go (launcher pod labels)"),
    versions="all supported SpiderPool versions",
)  # fmt: skip
def ippool_refuses_vm(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    for w in workload_of(obj, ctx):
        # a NIC fails only when every pool it names for a family is refused (later names are fallbacks)
        groups: dict[tuple[str, int], list[Ask]] = {}
        for a in asks(w, ctx):
            groups.setdefault((a.nic.pod_interface, a.family), []).append(a)
        seen: set[tuple[Path, str]] = set()
        for (_iface, family), group in groups.items():
            reasons: list[tuple[Ask, str]] = []
            for a in group:
                pool = ctx.pools.get(a.pool)
                if pool is None or WILDCARD_CHARS & set(a.pool):
                    reasons = []
                    break  # unknown here: cannot say the NIC is refused
                found = list(_refusals(pool, w, ctx))
                if not found:
                    reasons = []
                    break
                reasons.extend((a, why) for _, why in found)
            for a, why in reasons:
                if (a.path, why) in seen:
                    continue
                seen.add((a.path, why))
                yield Violation(f"{a.nic.where}, IPv{family}: {why}; the VM gets no address", a.path)


# --- IP families switched off ------------------------------------------------------------------------------------


def conf_families(ctx: LintContext) -> tuple[bool, bool] | None:
    """(enableIPv4, enableIPv6) of the input's spiderpool-conf conf.yml (a missing key is false:
    SP@v1.2.2:pkg/types/k8s.go, yaml.Unmarshal into Go bools); None when there is none or it cannot be read."""

    def build() -> tuple[bool, bool] | None:
        conf = ctx.spiderpool_conf
        text = as_map(conf.data.get("data")).get("conf.yml") if conf is not None else None
        if not isinstance(text, str):
            return None
        try:
            parsed = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError):
            return None
        if not isinstance(parsed, Mapping):
            return None
        return parsed.get("enableIPv4") is True, parsed.get("enableIPv6") is True

    return ctx.memo(conf_families, build)


@rule(
    code="VN028",
    slug="ip-family-disabled",
    severity=Severity.ERROR,
    summary="a VM that takes addresses from IPv4 (IPv6) pools while spiderpool-conf conf.yml has enableIPv4 "
    "(enableIPv6) false or missing",
    why="SpiderPool drops the pool candidates of a family conf.yml switched off without an error (a missing key is "
    "false): the NIC silently gets no address of that family, and no address at all when it was its only family.",
    fix="Set enableIPv4: true / enableIPv6: true in the spiderpool-conf ConfigMap's data.conf.yml (Helm values "
    "ipam.enableIPv4 / ipam.enableIPv6) and restart spiderpool-agent, or name pools of an enabled family.",
    references=(SP_CONFIG, "SP@v1.2.2:pkg/types/k8s.go (SpiderpoolConfigmapConfig)",
                "SP@v1.2.2:charts/spiderpool/templates/configmap.yaml", SP_CANDIDATES),
    versions="all supported SpiderPool versions",
)  # fmt: skip
def ip_family_disabled(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    families = conf_families(ctx)
    if families is None:
        return
    for w in workload_of(obj, ctx):
        by_nic: dict[str, dict[int, list[Ask]]] = {}
        for a in asks(w, ctx):
            by_nic.setdefault(a.nic.pod_interface, {}).setdefault(a.family, []).append(a)
        for fams in by_nic.values():
            off = [f for f in fams if not families[0 if f == 4 else 1]]
            for family in off:
                a = fams[family][0]
                what = "no address at all" if len(off) == len(fams) else f"no IPv{family} address"
                yield Violation(
                    f"{a.nic.where} takes IPv{family} addresses from {listed([x.pool for x in fams[family]])} but "
                    f"spiderpool-conf conf.yml has enableIPv{family} false or missing: the NIC gets {what}",
                    a.path,
                )


# --- one NAD attached twice --------------------------------------------------------------------------------------


@rule(
    code="VN029",
    slug="nad-attached-twice",
    severity=Severity.WARNING,
    summary="the same NetworkAttachmentDefinition attached twice to one VM (default network and a Multus network, "
    "or two Multus networks) with SpiderPool IPAM",
    why="Each attachment is its own pod NIC: SpiderPool gives each an address from the same pools, so the VM holds "
    "two addresses of one subnet (asymmetric routing). Before SpiderPool v0.8.9 / v0.9.8 / v1.0.0 a multi-NIC "
    "pod whose second NIC fails allocation leaks the first NIC's address on every retry until its pool is "
    "exhausted (spiderpool#4295, fixed by #4379).",
    fix="Attach each NAD once (drop the duplicate entry from spec.template.spec.networks and its interface), or "
    "use a second NAD / SpiderMultusConfig for the second NIC; upgrade SpiderPool to v0.8.9, v0.9.8 or v1.0.0+.",
    references=(SP_CANDIDATES, "SP@v1.2.2:pkg/ipam/allocate.go (one allocation per NIC)", "spiderpool#4295",
                "spiderpool PR #4379 (cherry-picks #4384 release-v0.8, #4383 release-v0.9, #4382 release-v1.0)"),
    versions="error before SpiderPool v0.8.9 / v0.9.8 / v1.0.0 (the pool leak), warning after",
)  # fmt: skip
def nad_attached_twice(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    for w in workload_of(obj, ctx):
        seen: dict[tuple[str | None, str], PodNic] = {}
        for nic in pod_nics(w, ctx):
            if nic.nad_ref is None or nic.uses_spiderpool is False:
                continue
            key = (
                (nic.nad.namespace, nic.nad.name) if nic.nad is not None else (nic.nad_ref.namespace, nic.nad_ref.name)
            )
            first = seen.get(key)
            if first is None:
                seen[key] = nic
                continue
            ref = f"{key[0]}/{key[1]}" if key[0] else key[1]
            sp = ctx.versions.spiderpool
            fixed = multi_nic_leak_fixed_in(sp)
            leak = (
                f"; on SpiderPool {sp} a failed allocation of one NIC leaks the other's address on every retry "
                f"until the pool is exhausted (spiderpool#4295, fixed in {fixed})"
                if fixed is not None
                else ""
            )
            yield Violation(
                f"NAD {ref} is attached twice: {first.where} and {nic.where} each take an address from the same "
                f"pools{leak}",
                _network_path(w, nic.network),
                Severity.ERROR if fixed is not None else None,
            )


# --- default-route-nic -------------------------------------------------------------------------------------------


@rule(
    code="VN030",
    slug="default-route-nic-unknown",
    severity=Severity.ERROR,
    summary="ipam.spidernet.io/default-route-nic naming an interface the VM's virt-launcher pod will not have",
    why="SpiderPool's coordinator puts the pod's default route on the named NIC; KubeVirt names the pod interfaces "
    "eth0 (the primary network) and pod<sha256(network name)[:11]> (secondary Multus networks), never net1: a name "
    "that is none of them fails the coordinator's CNI ADD and the pod never gets its network.",
    fix="Set ipam.spidernet.io/default-route-nic in spec.template.metadata.annotations to eth0 or to the pod "
    "interface of the network that should carry the default route (pod<hash>, as the message lists).",
    references=("SP@v1.2.2:cmd/spiderpool-agent/cmd/coordinator.go (default-route-nic)",
                "SP@v1.2.2:pkg/constant/k8s.go (AnnoDefaultRouteInterface)",
                "KV@v1.0.1:pkg/network/namescheme/networknamescheme.go", "SP:docs/usage/kubevirt.md"),
    versions="all supported versions",
)  # fmt: skip
def default_route_nic_unknown(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    for w in workload_of(obj, ctx):
        value = w.annotations.get(keys.DEFAULT_ROUTE_NIC)
        if value is None:
            continue
        names = [n.pod_interface for n in pod_nics(w, ctx)]
        if isinstance(value, str) and value.strip() in names:
            continue
        listing = ", ".join(f"{n.pod_interface} ({n.network or 'cluster default network'})" for n in pod_nics(w, ctx))
        yield Violation(
            f"{keys.DEFAULT_ROUTE_NIC} is {value!r} but the virt-launcher pod's interfaces are {listing}",
            w.annotation_path(keys.DEFAULT_ROUTE_NIC),
        )


# --- the live SpiderEndpoint (lint --cluster) ---------------------------------------------------------------------


@rule(
    code="VN031",
    slug="endpoint-pool-changed",
    severity=Severity.WARNING,
    summary="a VM whose SpiderEndpoint still holds an address from a pool the VM no longer asks for (lint --cluster)",
    why="For KubeVirt VMs SpiderPool always returns the address recorded in the SpiderEndpoint named after the VMI "
    "(retrieveStaticIPAllocation) while the VM exists: a changed ipam.spidernet.io/ippool(s) annotation or NAD pool "
    "has no effect, and if the old pool is gone or refuses the pod the VM gets no address.",
    fix="Stop the VM (spec.runStrategy: Halted), delete the SpiderEndpoint <namespace>/<VM name> (kubectl delete "
    "spiderendpoint -n <namespace> <VM name>), then start the VM: it takes a new address from the pools it names.",
    references=("SP@v1.2.2:pkg/ipam/allocate.go (retrieveStaticIPAllocation; no outdated-IP release for VMIs)",
                "SP@v1.2.2:pkg/workloadendpointmanager/workloadendpoint_manager.go",
                "SP@v1.2.2:pkg/k8s/apis/spiderpool.spidernet.io/v2beta1/spiderendpoint_types.go "
                "(status.current.ips[].ipv4Pool/ipv6Pool)"),
    versions="all supported SpiderPool versions; needs the live SpiderEndpoint (lint --cluster)",
)  # fmt: skip
def endpoint_pool_changed(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    for w in workload_of(obj, ctx):
        endpoint = ctx.by_key.get(("SpiderEndpoint", w.namespace, w.obj.ref.name))
        if endpoint is None:
            continue
        wanted: dict[tuple[str, int], list[str]] = {}
        for a in asks(w, ctx):
            wanted.setdefault((a.nic.pod_interface, a.family), []).append(a.pool)
        current = as_map(as_map(endpoint.data.get("status")).get("current"))
        for ip in as_list(current.get("ips")):
            entry = as_map(ip)
            iface = str(entry.get("interface", ""))
            for family in (4, 6):
                held = entry.get(f"ipv{family}Pool")
                pools = wanted.get((iface, family))
                if not isinstance(held, str) or not held or not pools or held in pools:
                    continue
                if any(WILDCARD_CHARS & set(p) for p in pools):
                    continue
                address = entry.get(f"ipv{family}") or "its address"
                a = next(x for x in asks(w, ctx) if x.nic.pod_interface == iface and x.family == family)
                yield Violation(
                    f"SpiderEndpoint {w.namespace}/{w.obj.ref.name} keeps {address} on {iface} from pool {held}, but "
                    f"the VM now asks for {listed(pools)}: SpiderPool keeps the old address while the VM exists; "
                    f"stop the VM, delete SpiderEndpoint {w.namespace}/{w.obj.ref.name}, then start it",
                    a.path,
                )
