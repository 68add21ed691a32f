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
from virtnet.model.manifest import as_map


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


def default_network_ref(annotations: Mapping[str, Any]) -> NadRef | None:
    """The NAD of Multus' ``v1.multus-cni.io/default-network`` annotation: ``ns/name`` text, or JSON network
    selection elements (the first one's ``name`` and ``namespace``). None when the annotation is absent, blank or
    unreadable; the namespace is None when the annotation gives none."""
    value = annotations.get(keys.DEFAULT_NETWORK)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if not text.startswith(("[", "{")):
        return parse_nad_ref(text)
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return None
    first = as_map(parsed[0] if isinstance(parsed, list) and parsed else parsed)
    name, ns = first.get("name"), first.get("namespace")
    if not isinstance(name, str) or not name:
        return None
    return NadRef(str(ns) if ns else None, name)
