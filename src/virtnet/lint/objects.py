"""The input's objects as the lint engine sees them: each object's data, where it came from, and which object it is
(:class:`~virtnet.model.manifest.ObjectRef`).

The bottom of the lint package: :mod:`virtnet.lint.context` indexes these objects and :mod:`virtnet.lint.model`
(rules, findings, results) refers to both objects and context, so the context never imports the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from virtnet.formats.yamlio import Document
from virtnet.model.manifest import ObjectRef as ObjectRef  # which object; shared with the cluster verbs

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class LintObject:
    """One Kubernetes object from the input, with where it came from (``document`` is None for a live object read
    from a cluster: it has no file and no positions)."""

    data: Mapping[str, Any]
    document: Document | None
    base: Path  # path of this object inside its document (``('items', 3)`` for a List item)
    ref: ObjectRef

    @property
    def kind(self) -> str:
        return self.ref.kind

    @property
    def annotations(self) -> Mapping[str, Any]:
        meta = self.data.get("metadata")
        annotations = meta.get("annotations") if isinstance(meta, Mapping) else None
        return annotations if isinstance(annotations, Mapping) else {}

    def position(self, path: Path) -> tuple[int, int] | None:
        if self.document is None:
            return None
        return self.document.position((*self.base, *path))
