"""Rules about the Multus attachments of a VM: which NAD each network resolves to, and whether that CNI fits.

A VM reaches a NetworkAttachmentDefinition in two ways: ``spec.networks[].multus.networkName`` (``ns/name``, a bare
name means the VM's namespace: ``KV@v1.0.1:pkg/virt-controller/services/template.go getNamespaceAndNetworkName``)
and, for its ``pod: {}`` network, the template annotation ``v1.multus-cni.io/default-network`` that KubeVirt copies
to the virt-launcher pod (``filterVMIAnnotationsForPod``). Multus reads that annotation — and the networkName of a
``multus: {default: true}`` network, which KubeVirt writes into it — with a bare name in Multus' own namespace,
kube-system, not the VM's (:func:`virtnet.model.podannotations.default_network_entry`). NADs that
SpiderPool generates from SpiderMultusConfigs are indexed by :class:`~virtnet.lint.context.LintContext` under the
name SpiderPool gives them (annotation ``multus.spidernet.io/cr-name``, else the SMC name; ``SP:pkg/multuscniconfig/
multusconfig_informer.go``).
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from virtnet.lint.context import (
    CR_NAME_ANNOTATION,
    DEFAULT_NETWORK_ANNOTATION,
    LintContext,
    Nad,
    Workload,
    is_custom,
    workload_of,
)
from virtnet.lint.model import LintObject, Path, Severity, Violation
from virtnet.lint.registry import rule
from virtnet.lint.rules.kubevirt import binding_of
from virtnet.lint.spiderpool import uses_spiderpool
from virtnet.model.capabilities import Binding, passt_binding_for
from virtnet.model.manifest import as_map
from virtnet.model.podannotations import MULTUS_NAMESPACE, default_network_entry
from virtnet.model.versions import Version

UG_INTERFACES = "UG:docs/network/interfaces_and_networks.md"
SP_KUBEVIRT = "SP:docs/usage/kubevirt.md"
MACVLAN_LIKE = ("macvlan", "ipvlan")


@dataclass(frozen=True)
class Attachment:
    """One network of a workload and the NAD it resolves to (``nad`` None when the input does not hold it)."""

    network: Mapping[str, Any]
    interface_index: int | None  # index of the interface of the same name (None: no such interface)
    interface: Mapping[str, Any] | None
    ref: tuple[str, str]  # (namespace, name) of the NAD
    value: str  # what the user wrote
    path: Path  # the networkName field or the annotation
    via_annotation: bool
    nad: Nad | None
    # a default network named without a namespace: Multus looked it up in kube-system (not the VM's namespace)
    in_multus_namespace: bool = False


def attachments(w: Workload, ctx: LintContext) -> list[Attachment]:
    """Every NAD reference of the workload: Multus networks, and the default-network annotation.

    The annotation is listed even when the VM has no ``pod: {}`` network (its interface fields are then None), but
    not when a Multus ``default: true`` network exists: KubeVirt then overwrites the annotation with that network.
    Resolved once per object (several rules ask).
    """
    return ctx.object_memo(w.obj, attachments, lambda: _attachments(w, ctx))


def _attachments(w: Workload, ctx: LintContext) -> list[Attachment]:
    ifaces = {str(x.get("name")): (i, x) for i, x in w.interfaces}
    out: list[Attachment] = []
    pod_network: Mapping[str, Any] | None = None
    for j, net in w.networks:
        if "pod" in net and pod_network is None:
            pod_network = net
        multus = as_map(net.get("multus"))
        value = multus.get("networkName")
        if "multus" not in net or not isinstance(value, str) or not value:
            continue
        bare = False
        if multus.get("default") is True:  # KubeVirt hands it to Multus as the default network
            default = _default_ref(value)
            if default is None:
                continue
            ref, bare = default
        else:  # KubeVirt splits networkName on the first '/' and takes it literally (getNamespaceAndNetworkName)
            ns, sep, name = value.partition("/")
            ref = (ns, name) if sep else (w.namespace, value)
        i, iface = ifaces.get(str(net.get("name")), (None, None))
        nad = ctx.nads.get(ref)
        path = w.network_path(j, "multus", "networkName")
        out.append(Attachment(net, i, iface, ref, str(value), path, False, nad, bare))
    annotation = w.annotations.get(DEFAULT_NETWORK_ANNOTATION)
    chosen = _default_ref(annotation) if w.multus_default() is None else None
    if chosen is not None:
        selected, bare = chosen
        i, iface = ifaces.get(str(pod_network.get("name")), (None, None)) if pod_network is not None else (None, None)
        out.append(
            Attachment(
                pod_network or {},
                i,
                iface,
                selected,
                str(annotation),
                w.annotation_path(DEFAULT_NETWORK_ANNOTATION),
                True,
                ctx.nads.get(selected),
                bare,
            )
        )
    return out


def _default_ref(value: object) -> tuple[tuple[str, str], bool] | None:
    """(namespace, name) of the NAD Multus makes the pod's default network from ``value``, and whether ``value`` left
    the namespace out (Multus then looks in kube-system): :func:`virtnet.model.podannotations.default_network_entry`."""
    entry = default_network_entry(value)
    if entry is None:
        return None
    ref, named = entry
    return (ref.namespace or MULTUS_NAMESPACE, ref.name), not named


def nad_origin(nad: Nad) -> str:
    """``SpiderMultusConfig kube-system/x`` or ``NetworkAttachmentDefinition kube-system/x``: where a NAD comes from."""
    return str(nad.source.ref)


def _passt_text(kv: Version) -> str:
    return f"`{passt_binding_for(kv).interface_field}`"


@rule(
    code="VN007",
    slug="bridge-on-macvlan",
    severity=Severity.ERROR,
    summary="bridge binding on a network whose NAD is macvlan or ipvlan (a Multus network, or the pod network "
    "whose default-network annotation points at such a NAD)",
    why="Bridge binding moves the pod interface's MAC into the VM, but a macvlan/ipvlan link only passes traffic for "
    "the MAC it was created with: the VM gets no connectivity ('No gateway address found in routes', kubevirt#5483, "
    "#7001). The KubeVirt user guide lists macvlan and ipvlan under 'Invalid CNIs for secondary networks'; "
    "SpiderPool's KubeVirt page calls them unsuitable for bridge binding.",
    fix="Put the macvlan/ipvlan NAD on the pod network (annotation v1.multus-cni.io/default-network) and bind it "
    "with passt (or masquerade); use an OVS or Linux-bridge CNI for networks bound with bridge.",
    references=(f"{UG_INTERFACES} 'Invalid CNIs for secondary networks'", "kubevirt/kubevirt#5483",
                "kubevirt/kubevirt#7001", SP_KUBEVIRT),
    versions="all supported versions; only when the NAD or SpiderMultusConfig is part of the input",
)  # fmt: skip
def bridge_on_macvlan(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    if not ctx.nads:
        return
    passt = _passt_text(ctx.versions.kubevirt)
    for w in workload_of(obj, ctx):
        for att in attachments(w, ctx):
            if att.nad is None or att.nad.cni_type not in MACVLAN_LIKE or att.interface is None:
                continue
            if att.interface_index is None:
                continue
            binding, key = binding_of(att.interface)
            if binding is not Binding.BRIDGE or key is None:
                continue
            cni = att.nad.cni_type
            name = att.interface.get("name")
            where = "the pod network's default network" if att.via_annotation else "Multus network"
            instead = f"bind it with {passt}" + ("" if att.via_annotation else " on a `pod: {}` network")
            yield Violation(
                f"interface '{name}' uses bridge binding on {where} {att.nad.ref}, whose CNI is {cni} "
                f"({nad_origin(att.nad)}); {cni} does not work with bridge binding, {instead} instead",
                w.interface_path(att.interface_index, key),
                fix=f"Bind '{name}' with {passt} on a `pod: {{}}` network and point the annotation "
                f"{DEFAULT_NETWORK_ANNOTATION} at {att.nad.ref}, or attach this network through an OVS or bridge CNI.",
            )


MAX_FUZZY_CANDIDATES = 200  # closest-name search costs candidates * misses: skip it beyond


class _NadNames:
    """Name lookups over the input's NADs for suggestions, built once per context and only when a NAD is missing."""

    def __init__(self, ctx: LintContext) -> None:
        self.namespaces: dict[str, list[str]] = defaultdict(list)  # NAD name -> namespaces holding it
        self.by_smc: dict[str, list[tuple[str, str]]] = defaultdict(list)  # SMC name -> (ns, generated NAD name)
        self.by_length: dict[int, list[str]] = defaultdict(list)  # distinct NAD names by length
        self.memo: dict[tuple[str, str], tuple[str, str] | None] = {}
        for (ns, name), nad in ctx.nads.items():
            if not self.namespaces[name]:
                self.by_length[len(name)].append(name)
            self.namespaces[name].append(ns)
            if nad.source.kind == "SpiderMultusConfig":
                self.by_smc[nad.source.ref.name].append((ns, name))
        for spaces in self.namespaces.values():
            spaces.sort()
        for generated in self.by_smc.values():
            generated.sort()

    def close_names(self, name: str) -> list[str]:
        """NAD names that could be a typo away from ``name`` (same length ± a third), or [] when too many."""
        slack = max(2, len(name) // 3)
        found: list[str] = []
        for length in range(max(1, len(name) - slack), len(name) + slack + 1):
            found.extend(self.by_length.get(length, ()))
            if len(found) > MAX_FUZZY_CANDIDATES:
                return []
        return found


def _suggest(ns: str, name: str, ctx: LintContext) -> tuple[str, str] | None:
    """The NAD the user probably meant by ``ns/name``, and why; None when nothing is close."""
    names = ctx.memo(_NadNames, lambda: _NadNames(ctx))
    key = (ns, name)
    if key not in names.memo:
        names.memo[key] = _guess(ns, name, names)
    return names.memo[key]


def _guess(ns: str, name: str, names: _NadNames) -> tuple[str, str] | None:
    smc = names.by_smc.get(name, [])
    for k_ns, k_name in smc:
        if k_ns == ns and k_name != name:
            return (
                f"{k_ns}/{k_name}",
                f"SpiderMultusConfig {ns}/{name} generates its NAD under the name '{k_name}' "
                f"(annotation {CR_NAME_ANNOTATION})",
            )
    other = [k_ns for k_ns in names.namespaces.get(name, ()) if k_ns != ns]
    if other:
        return (
            f"{other[0]}/{name}",
            f"'{name}' exists in namespace {other[0]}, not {ns} (NADs generated by a SpiderMultusConfig live in the "
            "SpiderMultusConfig's namespace)",
        )
    if smc:
        k_ns, k_name = smc[0]
        return f"{k_ns}/{k_name}", f"SpiderMultusConfig {k_ns}/{name} generates the NAD {k_ns}/{k_name}"
    close = difflib.get_close_matches(name, names.close_names(name), n=1, cutoff=0.75)
    if close:
        spaces = names.namespaces[close[0]]
        right = f"{ns if ns in spaces else spaces[0]}/{close[0]}"
        return right, f"{right} is the closest NAD name in the input"
    return None


@rule(
    code="VN008",
    slug="nad-not-found",
    severity=Severity.ERROR,
    summary="a Multus networkName or v1.multus-cni.io/default-network annotation that no NAD or SpiderMultusConfig "
    "in the input provides",
    why="KubeVirt accepts the VM, but the virt-launcher pod is never created: 'Failed to locate network attachment "
    "definition <ns>/<name>' (the Multus default network fails the same way in CNI ADD). A bare networkName means "
    "the VM's namespace; a bare name in the default-network annotation or a `multus: {default: true}` network means "
    "Multus' own namespace (kube-system), not the VM's. SpiderPool creates NADs in the SpiderMultusConfig's namespace "
    "(usually kube-system) and under its multus.spidernet.io/cr-name (SMC 'calico' → NAD 'k8s-pod-network').",
    fix="Reference the NAD as namespace/name exactly as it exists (for a SpiderMultusConfig: its namespace and its "
    "multus.spidernet.io/cr-name, else its name).",
    references=("KV@v1.0.1:pkg/virt-controller/services/template.go getNamespaceAndNetworkName",
                "KV@v1.9.0:pkg/network/multus/nad.go",
                "multus-cni:pkg/k8sclient/k8sclient.go tryLoadK8sPodDefaultNetwork",
                "SP:pkg/multuscniconfig/multusconfig_informer.go",
                SP_KUBEVIRT),
    versions="all supported versions; only when the input holds at least one NAD or SpiderMultusConfig",
)  # fmt: skip
def nad_not_found(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    if not ctx.nads:
        return  # nothing is known about the cluster's NADs
    for w in workload_of(obj, ctx):
        for att in attachments(w, ctx):
            if att.nad is not None:
                continue
            ns, name = att.ref
            field = f"annotation {DEFAULT_NETWORK_ANNOTATION}" if att.via_annotation else "networkName"
            guess = _suggest(ns, name, ctx)
            said = f"{field} '{att.value}'" + ("" if att.value == f"{ns}/{name}" else f" (= {ns}/{name})")
            if guess is None:
                yield Violation(
                    f"{said} matches no NetworkAttachmentDefinition or SpiderMultusConfig in the input",
                    att.path,
                    fix=f"Create NetworkAttachmentDefinition {ns}/{name} (or a SpiderMultusConfig generating it), or "
                    "reference an existing NAD as namespace/name.",
                )
                continue
            right, reason = guess
            if att.in_multus_namespace and right.endswith(f"/{name}"):
                reason = (
                    f"Multus looks up a default network named without a namespace in its own namespace, {ns}, not in "
                    f"the VM's; '{name}' exists in {right.split('/', 1)[0]}"
                )
            yield Violation(
                f"{said} matches no NetworkAttachmentDefinition or SpiderMultusConfig in the input; "
                f"did you mean '{right}'?",
                att.path,
                fix=f"Use '{right}': {reason}.",
            )


def _set_by_flag(nad: Nad) -> bool:
    """Whether the NAD's coordinator is SpiderMultusConfig's enableCoordinator (not a plugin of a written chain)."""
    return nad.source.kind == "SpiderMultusConfig" and not is_custom(as_map(nad.source.data.get("spec")))


def _coordinator_off(nad: Nad) -> str:
    if _set_by_flag(nad):
        return f"{nad_origin(nad)} sets enableCoordinator: false"
    field = "spec.customCNI" if nad.source.kind == "SpiderMultusConfig" else "the CNI chain"
    return f"{field} of {nad_origin(nad)} has no 'coordinator' plugin"


@rule(
    code="VN017",
    slug="multi-nic-without-coordinator",
    severity=Severity.WARNING,
    summary="a VM with several SpiderPool-IPAM NICs whose NADs do not run SpiderPool's coordinator plugin",
    why="Every SpiderPool NIC gets a default route from its pool's gateway; without the coordinator the routes of "
    "the NICs conflict and the VM answers on the wrong interface. SpiderPool's KubeVirt page: the NADs 'must enable "
    "the coordinator plugin to solve the multiple interfaces default route problem'.",
    fix="Set enableCoordinator: true on the SpiderMultusConfigs (or add {\"type\": \"coordinator\"} to the NAD's "
    "plugin chain); pin the default route with the annotation ipam.spidernet.io/default-route-nic if needed.",
    references=(SP_KUBEVIRT, "SP:test/e2e/kubevirt/kubevirt_test.go F00003",
                "SP:pkg/k8s/apis/spiderpool.spidernet.io/v2beta1/spidermultus_types.go enableCoordinator"),
    versions="all supported SpiderPool versions; only for NADs and SpiderMultusConfigs in the input",
)  # fmt: skip
def multi_nic_without_coordinator(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    if not ctx.nads:
        return
    for w in workload_of(obj, ctx):
        nics = [
            att
            for att in attachments(w, ctx)
            if att.nad is not None and att.interface is not None and uses_spiderpool(ctx, att.nad) is True
        ]
        if len(nics) < 2:
            continue
        seen: set[tuple[str, str]] = set()
        for att in nics:
            assert att.nad is not None
            if att.nad.coordinator is not False or att.ref in seen:
                continue
            seen.add(att.ref)
            yield Violation(
                f"NAD {att.nad.ref} is one of {len(nics)} SpiderPool NICs of this VM but does not run the coordinator "
                f"({_coordinator_off(att.nad)}); enable it so only one NIC carries the default route",
                att.path,
                fix=f"Set enableCoordinator: true in {nad_origin(att.nad)}."
                if _set_by_flag(att.nad)
                else f'Add {{"type": "coordinator"}} after the main plugin in {nad_origin(att.nad)}.',
            )
