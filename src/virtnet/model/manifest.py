"""Reading Kubernetes objects held as plain dicts (parsed manifests, API answers) without trusting their shape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_EMPTY: Mapping[str, Any] = {}


def as_map(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one (read-only)."""
    # parsed documents hold plain dicts; `type(x) is dict` is much cheaper than the ABC check on the hot path
    return value if type(value) is dict or isinstance(value, Mapping) else _EMPTY


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def as_int(value: Any) -> int | None:
    """``value`` if it is an integer (a JSON boolean is not one), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def metadata_of(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The object's ``metadata`` mapping (empty when the object or its metadata is missing or malformed)."""
    return as_map(obj.get("metadata")) if obj else _EMPTY


@dataclass(frozen=True)
class ObjectRef:
    """Which object: apiVersion, kind, namespace (None when cluster-scoped) and name."""

    api_version: str
    kind: str
    namespace: str | None
    name: str

    def to_dict(self) -> dict[str, str | None]:
        return {"apiVersion": self.api_version, "kind": self.kind, "namespace": self.namespace, "name": self.name}

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    @classmethod
    def of(cls, obj: Mapping[str, Any], namespaced: bool, default_namespace: str) -> ObjectRef:
        """The reference of a manifest; a namespaced object without ``metadata.namespace`` is in
        ``default_namespace``."""
        meta = metadata_of(obj)
        namespace = str(meta.get("namespace") or default_namespace) if namespaced else None
        return cls(str(obj.get("apiVersion", "")), str(obj.get("kind", "")), namespace, str(meta.get("name", "")))
