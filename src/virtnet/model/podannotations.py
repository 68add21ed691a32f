"""What the pod-template annotations Multus and SpiderPool act on name: NADs and SpiderIPPools.

One reader per annotation value, shared by the linter (which judges a manifest) and the cluster verbs (which follow
a live VM to its NADs and pools); the keys are in :mod:`virtnet.model.annotations`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from virtnet.model import annotations as keys


@dataclass(frozen=True)
class NadRef:
    """A NetworkAttachmentDefinition as a VM's ``multus.networkName`` or a Multus annotation names it."""

    namespace: str | None  # None: not given (and not knowable where the caller passed no default namespace)
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


def parse_nad_ref(text: str, default_namespace: str | None = None) -> NadRef:
    """``ns/name`` or ``name``, optionally followed by ``@interface``, split as KubeVirt and Multus split it."""
    text = text.split("@", 1)[0].strip()
    if "/" in text:
        ns, _, name = text.partition("/")
        return NadRef(ns, name)
    return NadRef(default_namespace, text)


# Multus looks up a NAD named without a namespace in the pod's default-network annotation in its own namespace,
# ``multusNamespace`` ("kube-system" unless Multus' config changes it), not in the pod's: multus-cni
# pkg/k8sclient/k8sclient.go tryLoadK8sPodDefaultNetwork calls parsePodNetworkAnnotation(annotation,
# conf.MultusNamespace); pkg/types/conf.go defaultMultusNamespace. KubeVirt writes a ``multus: {default: true}``
# network's networkName into that annotation as it is (KV@v1.0.1:pkg/virt-controller/services/template.go
# lookupMultusDefaultNetworkName), so the same holds for it. (A secondary network's bare networkName is in the VM's
# namespace: KubeVirt qualifies it itself, getNamespaceAndNetworkName.)
MULTUS_NAMESPACE = "kube-system"


def network_selection(text: str, default_namespace: str) -> list[NadRef] | None:
    """The NADs a Multus network-selection value names, read the way Multus' parsePodNetworkAnnotation reads it
    (multus-cni pkg/k8sclient/k8sclient.go): JSON — a list of ``{"name", "namespace", …}`` objects — whenever the
    text holds ``[``, ``{`` or ``"``; otherwise a comma-separated list of ``name``, ``ns/name`` or ``ns/name@ifname``
    (spaces around the parts trimmed). An empty namespace is ``default_namespace``. None when Multus would refuse the
    value or an entry names no NAD (:func:`default_network_problem` says why)."""
    read = _read_selection(text, default_namespace)
    return read if isinstance(read, list) else None


def _read_selection(text: str, default_namespace: str) -> list[NadRef] | str:
    if not text.strip():
        return "it is empty"
    if any(c in text for c in '[{"'):
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError) as err:
            return f"it holds '[', '{{' or '\"', so Multus reads it as JSON, and it is not valid JSON ({err})"
        if not isinstance(parsed, list):
            return "Multus reads JSON network selections as a list of objects, and this is not a list"
        pairs: list[tuple[object, object]] = []
        for entry in parsed:
            if not isinstance(entry, Mapping):
                return 'every entry of a JSON network selection must be an object with a "name"'
            pairs.append((entry.get("namespace"), entry.get("name")))
    else:
        pairs = []
        for item in text.split(","):
            ns_name = item.strip().split("/")
            if len(ns_name) > 2:
                return f"'{item.strip()}' has more than one '/' (Multus expects namespace/name@interface)"
            name_if = ns_name[-1].split("@")
            if len(name_if) > 2:
                return f"'{item.strip()}' has more than one '@' (Multus expects namespace/name@interface)"
            pairs.append((ns_name[0].strip() if len(ns_name) == 2 else "", name_if[0].strip()))
    out: list[NadRef] = []
    for ns, name in pairs:
        if not isinstance(name, str) or not name:
            return "an entry names no network (its name is missing or empty)"
        if not isinstance(ns, str | None):
            return f"the namespace of '{name}' is not a string"
        out.append(NadRef(ns or default_namespace, name))
    return out


def default_network_entry(text: object) -> tuple[NadRef, bool] | None:
    """The NAD Multus makes a pod's default network from a ``v1.multus-cni.io/default-network`` value (or the
    networkName of a ``multus: {default: true}`` network, which KubeVirt copies there) — its first entry, a bare name
    in :data:`MULTUS_NAMESPACE` — and whether the value named the namespace itself. None when the value is not text,
    blank, or refused (:func:`network_selection`)."""
    if not isinstance(text, str):
        return None
    refs = network_selection(text, "")
    if not refs:
        return None
    first = refs[0]
    return NadRef(first.namespace or MULTUS_NAMESPACE, first.name), bool(first.namespace)


def default_network(text: object) -> NadRef | None:
    """The NAD of :func:`default_network_entry`, without whether the namespace was named."""
    entry = default_network_entry(text)
    return entry[0] if entry is not None else None


def default_network_ref(annotations: Mapping[str, Any]) -> NadRef | None:
    """The NAD of a pod template's ``v1.multus-cni.io/default-network`` annotation (:func:`default_network`); None
    when the annotation is absent, blank or unreadable."""
    return default_network(annotations.get(keys.DEFAULT_NETWORK))


def default_network_problem(text: str) -> str | None:
    """Why Multus cannot make a pod's default network from this ``v1.multus-cni.io/default-network`` value (or
    networkName of a Multus default network), or None when it can: it must read (:func:`network_selection`) and name
    exactly one network (tryLoadK8sPodDefaultNetwork refuses more than one and has none to use when it names none)."""
    read = _read_selection(text, MULTUS_NAMESPACE)
    if isinstance(read, str):
        return read
    if len(read) != 1:
        return f"Multus takes exactly one default network, and this names {len(read) or 'none'}"
    return None
