"""Value types of the lint engine."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from virtnet.formats.yamlio import Document, format_path

if TYPE_CHECKING:
    from virtnet.lint.context import LintContext

Path = tuple[str | int, ...]


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


@dataclass(frozen=True)
class ObjectRef:
    api_version: str
    kind: str
    namespace: str | None
    name: str

    def to_dict(self) -> dict[str, str | None]:
        return {"apiVersion": self.api_version, "kind": self.kind, "namespace": self.namespace, "name": self.name}

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


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


@dataclass(frozen=True)
class Violation:
    """What a rule reports: a message, the field it is about, and optional overrides."""

    message: str
    path: Path = ()
    severity: Severity | None = None
    fix: str | None = None


Check = Callable[["LintObject", "LintContext"], Iterable[Violation]]


@dataclass(frozen=True)
class Rule:
    code: str  # VN + 3 digits, stable forever
    slug: str  # kebab-case, stable
    severity: Severity
    summary: str  # one line: what it catches
    why: str  # why it matters
    fix: str  # how to fix, in general
    references: tuple[str, ...]
    versions: str  # which versions it applies to, for humans
    kinds: tuple[str, ...]  # object kinds the check is called for
    check: Check = field(compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "slug": self.slug,
            "severity": self.severity.value,
            "summary": self.summary,
            "why": self.why,
            "fix": self.fix,
            "references": list(self.references),
            "versions": self.versions,
            "kinds": list(self.kinds),
        }


@dataclass(frozen=True)
class Finding:
    rule: Rule
    severity: Severity
    message: str
    fix: str
    object: ObjectRef
    file: str | None  # None for a live object read from a cluster (``object`` names it)
    line: int | None
    column: int | None
    path: Path

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.rule.code,
            "slug": self.rule.slug,
            "severity": self.severity.value,
            "message": self.message,
            "fix": self.fix,
            "object": self.object.to_dict(),
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": format_path(self.path),
        }


@dataclass(frozen=True)
class NotChecked:
    """A kind of live object that could not be read from the cluster, and why (forbidden, not installed)."""

    api_version: str
    kind: str
    reason: str  # "forbidden (needs list on virtualmachineinstances.kubevirt.io)", "not installed", …
    namespace: str | None = None  # the namespace that was refused; None: cluster-wide / every namespace
    forbidden: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"apiVersion": self.api_version, "kind": self.kind, "namespace": self.namespace, "reason": self.reason}

    def __str__(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.kind}{where}: {self.reason}"


@dataclass(frozen=True)
class NotRun:
    """A cross-object rule that could not check the input's VMs because the objects it compares them with are not
    in the input (a VM's Multus network without any NAD or SpiderMultusConfig); ``lint --cluster`` resolves it."""

    code: str
    slug: str
    reason: str  # "no NetworkAttachmentDefinition or SpiderMultusConfig in the input"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "slug": self.slug, "reason": self.reason}


@dataclass(frozen=True)
class LintResult:
    findings: tuple[Finding, ...]
    objects: int
    files: int
    kubevirt_version: str
    spiderpool_version: str
    versions_from: str
    suppressed: int = 0
    # live objects (``virtnet lint --cluster``): where they were read, and the kinds that could not be
    cluster: Mapping[str, Any] | None = None  # {"server", "context", "namespace" (None: all namespaces)}
    not_checked: tuple[NotChecked, ...] = ()
    # the schema rules' coverage: {"validated": n, "skipped": {kind: n}, "from": "...", "notes": [...]}; None when
    # neither schema rule ran
    schema: Mapping[str, Any] | None = None
    # files only: cross-object rules that had nothing in the input to compare the VMs with (see NotRun)
    not_run: tuple[NotRun, ...] = ()

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "errors": self.count(Severity.ERROR),
            "warnings": self.count(Severity.WARNING),
            "infos": self.count(Severity.INFO),
            "suppressed": self.suppressed,
            "objects": self.objects,
            "files": self.files,
            "kubevirtVersion": self.kubevirt_version,
            "spiderpoolVersion": self.spiderpool_version,
            "versionsFrom": self.versions_from,
        }
        if self.schema is not None:
            out["schema"] = dict(self.schema)
        if self.not_run and self.cluster is None:  # live objects: the cluster is the whole input
            out["notRun"] = [n.to_dict() for n in self.not_run]
        if self.cluster is not None:  # only for live objects: file output stays exactly as it was
            out["cluster"] = dict(self.cluster)
            out["notChecked"] = [n.to_dict() for n in self.not_checked]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"findings": [f.to_dict() for f in self.findings], "summary": self.summary()}
