"""Rules about single interface fields (model, MAC, PCI address, ACPI index) and the pod's default network.

Facts: KubeVirt's interface admission (``KV@v1.0.1:pkg/virt-api/webhooks/validating-webhook/admitters/
vmi-create-admitter.go``, ``KV@v1.9.0:pkg/network/admitter/``), Go's ``net.ParseMAC`` (which KubeVirt uses),
``pkg/util/hardware/hw_utils.go PCI_ADDRESS_PATTERN``, libvirt's rules for ``<mac>`` and ``<acpi index>``, and
``KV@v1.0.1:pkg/virt-controller/services/template.go`` (a Multus default network overwrites the pod annotation
``v1.multus-cni.io/default-network``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from virtnet.lint.context import DEFAULT_NETWORK_ANNOTATION, LintContext, Workload, workload_of
from virtnet.lint.model import LintObject, Severity, Violation
from virtnet.lint.registry import rule
from virtnet.lint.rules.kubevirt import binding_of
from virtnet.model.capabilities import IGB_MODEL_FIRST, Binding
from virtnet.model.identity import mac_problem
from virtnet.model.identity import parse_mac as parse_mac  # Go net.ParseMAC; importable from here as before
from virtnet.model.manifest import as_int, as_map
from virtnet.model.podannotations import default_network, default_network_problem
from virtnet.model.versions import Version

UG_INTERFACES = "UG:docs/network/interfaces_and_networks.md"
VALID_MODELS = ("e1000", "e1000e", "ne2k_pci", "pcnet", "rtl8139", "virtio")
PCI_ADDRESS = re.compile(r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$")
ACPI_INDEX_MAX = 16383


def allowed_models(kv: Version) -> tuple[str, ...]:
    return (*VALID_MODELS, "igb") if kv >= IGB_MODEL_FIRST else VALID_MODELS


@rule(
    code="VN023",
    slug="interface-fields-invalid",
    severity=Severity.ERROR,
    summary="an interface model KubeVirt does not support, a malformed, too long, multicast or reserved MAC, a "
    "malformed or duplicate pciAddress, an acpiIndex out of range or used twice",
    why="KubeVirt rejects the VM ('interface … uses model … that is not supported.', '… has malformed MAC address', "
    "'… has MAC address … that is too long.', 'The requested MAC address is reserved for the in-pod bridge.', "
    "'… has malformed PCI address'); libvirt refuses to start a domain with a multicast MAC, a duplicate PCI address "
    "or a duplicate / out-of-range ACPI index.",
    fix="Use a supported model (virtio), a unicast 6-byte MAC like 02:6e:7e:00:00:01 (not 02:00:00:00:00:00 with "
    "masquerade), a PCI address like 0000:02:00.0 used once, and distinct acpiIndex values in 1..16383.",
    references=("KV@v1.0.1:pkg/virt-api/webhooks/validating-webhook/admitters/vmi-create-admitter.go",
                "KV@v1.9.0:pkg/network/admitter/", "KV@v1.0.1:pkg/network/link/reserved_macs.go",
                "KV@v1.9.0:pkg/util/hardware/hw_utils.go PCI_ADDRESS_PATTERN", UG_INTERFACES,
                "libvirt: formatdomain 'acpi index' (1..16383)"),
    versions="all supported versions; model igb from KubeVirt v1.4",
)  # fmt: skip
def interface_fields_invalid(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    models = allowed_models(ctx.versions.kubevirt)
    kv = ctx.versions.kubevirt
    for w in workload_of(obj, ctx):
        pci_seen: dict[str, str] = {}
        acpi_seen: dict[int, str] = {}
        for i, iface in w.interfaces:
            name = str(iface.get("name"))
            model = iface.get("model")
            if isinstance(model, str) and model and model not in models:
                hint = " (igb needs KubeVirt v1.9)" if model == "igb" else ""
                yield Violation(
                    f"interface '{name}' uses model '{model}', which KubeVirt {kv} does not support{hint}; use one of "
                    f"{', '.join(models)} (virtio is the fast one)",
                    w.interface_path(i, "model"),
                )
            mac = iface.get("macAddress")
            if isinstance(mac, str) and mac:
                yield from _check_mac(w, i, name, mac, iface)
            pci = iface.get("pciAddress")
            if isinstance(pci, str) and pci:
                if not PCI_ADDRESS.match(pci):
                    yield Violation(
                        f"interface '{name}' has malformed PCI address '{pci}'; write it as domain:bus:slot.function, "
                        "e.g. 0000:02:00.0",
                        w.interface_path(i, "pciAddress"),
                    )
                elif pci.lower() in pci_seen:
                    yield Violation(
                        f"interface '{name}' uses PCI address {pci}, already taken by interface "
                        f"'{pci_seen[pci.lower()]}'; give each interface its own slot",
                        w.interface_path(i, "pciAddress"),
                    )
                else:
                    pci_seen[pci.lower()] = name
            index = as_int(iface.get("acpiIndex"))
            if index is None or index == 0:
                continue
            if index < 0:
                yield Violation(
                    f"interface '{name}' has acpiIndex {index}, which KubeVirt ignores; use 1..{ACPI_INDEX_MAX}",
                    w.interface_path(i, "acpiIndex"),
                    Severity.WARNING,
                )
            elif index > ACPI_INDEX_MAX:
                yield Violation(
                    f"interface '{name}' has acpiIndex {index}, above libvirt's maximum {ACPI_INDEX_MAX}; use "
                    f"1..{ACPI_INDEX_MAX}",
                    w.interface_path(i, "acpiIndex"),
                )
            elif index in acpi_seen:
                yield Violation(
                    f"interface '{name}' has acpiIndex {index}, already used by interface '{acpi_seen[index]}'; "
                    "acpiIndex must be unique",
                    w.interface_path(i, "acpiIndex"),
                )
            else:
                acpi_seen[index] = name


def _check_mac(w: Workload, i: int, name: str, mac: str, iface: Mapping[str, Any]) -> Iterator[Violation]:
    # the same check `virtnet new vm` / `virtnet render` make on an intent's MAC (virtnet.model.identity)
    binding, _key = binding_of(iface)
    problem = mac_problem(mac, masquerade=binding is Binding.MASQUERADE)
    if problem is not None:
        yield Violation(f"interface '{name}' {problem}", w.interface_path(i, "macAddress"))


@rule(
    code="VN024",
    slug="default-network-conflict",
    severity=Severity.WARNING,
    summary="a v1.multus-cni.io/default-network annotation that has no effect: overridden by a Multus default "
    "network, not connected to any VM network, or set on the VirtualMachine instead of its template",
    why="With `multus: {default: true}` KubeVirt writes the pod annotation v1.multus-cni.io/default-network itself "
    "and overwrites the user's value. Without a `pod: {}` network the pod's default network is not plugged into the "
    "VM. Only spec.template.metadata.annotations reach the virt-launcher pod; annotations on the VirtualMachine do "
    "not.",
    fix="Keep one way of choosing the primary network: `pod: {}` plus the annotation in "
    "spec.template.metadata.annotations, or `multus: {default: true, networkName: …}` without the annotation.",
    references=("KV@v1.0.1:pkg/virt-controller/services/template.go generatePodAnnotations",
                "KV@v1.0.1:pkg/virt-controller/services/template.go filterVMIAnnotationsForPod", UG_INTERFACES),
)  # fmt: skip
def default_network_conflict(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    for w in workload_of(obj, ctx):
        if obj.kind == "VirtualMachine":
            own = obj.annotations.get(DEFAULT_NETWORK_ANNOTATION)
            if own is not None and DEFAULT_NETWORK_ANNOTATION not in w.annotations:
                yield Violation(
                    f"annotation {DEFAULT_NETWORK_ANNOTATION}: '{own}' is on the VirtualMachine, where it has no "
                    "effect; move it to spec.template.metadata.annotations",
                    ("metadata", "annotations", DEFAULT_NETWORK_ANNOTATION),
                )
        value = w.annotations.get(DEFAULT_NETWORK_ANNOTATION)
        wanted = default_network(value)
        if wanted is None:
            continue
        path = w.annotation_path(DEFAULT_NETWORK_ANNOTATION)
        default = w.multus_default()
        if default is not None:
            _j, net = default
            name = as_map(net.get("multus")).get("networkName")
            actual = default_network(name)
            if actual is not None and actual != wanted:
                yield Violation(
                    f"annotation {DEFAULT_NETWORK_ANNOTATION}: '{value}' is overwritten by KubeVirt with the Multus "
                    f"default network '{name}' of network '{net.get('name')}'; remove the annotation",
                    path,
                    fix=f"Remove the annotation, or set networkName of network '{net.get('name')}' to '{value}' if "
                    "that is the intended primary network.",
                )
            continue
        if w.networks and w.pod_network() is None:
            yield Violation(
                f"annotation {DEFAULT_NETWORK_ANNOTATION}: '{value}' sets the pod's default network, but the VM has no "
                "`pod: {}` network, so it is not connected to the VM; add a `pod: {}` network or use "
                f"`multus: {{default: true, networkName: {value}}}`",
                path,
            )


@rule(
    code="VN032",
    slug="default-network-unreadable",
    severity=Severity.ERROR,
    summary="a v1.multus-cni.io/default-network annotation, or the networkName of a Multus default network, that "
    "Multus cannot use as the pod's default network",
    why="Multus reads the virt-launcher pod's default-network annotation (KubeVirt copies the template's, or writes "
    "the networkName of a `multus: {default: true}` network there) when the pod's network is set up: as JSON — a "
    "list of objects — whenever the value holds '[', '{' or a double quote, otherwise as namespace/name. A value it "
    "cannot parse, or one that names no network or more than one, fails the pod's CNI ADD: the VM never starts and "
    "gets no IP. Neither KubeVirt nor the API server checks the value.",
    fix="Name exactly one NetworkAttachmentDefinition, as namespace/name (kube-system/macvlan-ens192) or as JSON "
    '[{"name": "macvlan-ens192", "namespace": "kube-system"}].',
    references=("multus-cni:pkg/k8sclient/k8sclient.go parsePodNetworkAnnotation",
                "multus-cni:pkg/k8sclient/k8sclient.go tryLoadK8sPodDefaultNetwork",
                "KV@v1.0.1:pkg/virt-controller/services/template.go lookupMultusDefaultNetworkName"),
)  # fmt: skip
def default_network_unreadable(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    for w in workload_of(obj, ctx):
        default = w.multus_default()
        if default is not None:  # KubeVirt writes its networkName over any annotation (VN024)
            j, net = default
            value = as_map(net.get("multus")).get("networkName")
            if not isinstance(value, str) or not value:
                continue  # a missing networkName is KubeVirt's (and the schema rule's) to refuse
            where = f"networkName '{value}' of the Multus default network '{net.get('name')}'"
            path = w.network_path(j, "multus", "networkName")
        else:
            value = w.annotations.get(DEFAULT_NETWORK_ANNOTATION)
            if not isinstance(value, str):
                continue
            where = f"annotation {DEFAULT_NETWORK_ANNOTATION} '{value}'"
            path = w.annotation_path(DEFAULT_NETWORK_ANNOTATION)
        problem = default_network_problem(value)
        if problem is not None:
            yield Violation(f"{where}: Multus cannot use it as the pod's default network: {problem}", path)
