"""Reading Kubernetes objects held as plain dicts (parsed manifests, API answers) without trusting their shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_EMPTY: Mapping[str, Any] = {}


def as_map(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one (read-only)."""
    # parsed documents hold plain dicts; `type(x) is dict` is much cheaper than the ABC check on the hot path
    return value if type(value) is dict or isinstance(value, Mapping) else _EMPTY


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def metadata_of(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The object's ``metadata`` mapping (empty when the object or its metadata is missing or malformed)."""
    return as_map(obj.get("metadata")) if obj else _EMPTY
