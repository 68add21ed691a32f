"""Value types of the lint engine: what a rule reports, the rule itself, findings and the result.

The input's objects (:class:`LintObject`, :class:`ObjectRef`, :data:`Path`) are defined in
:mod:`virtnet.lint.objects`, below :mod:`virtnet.lint.context`, and re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from virtnet.formats.yamlio import format_path
from virtnet.lint.context import LintContext
from virtnet.lint.objects import LintObject as LintObject
from virtnet.lint.objects import ObjectRef as ObjectRef
from virtnet.lint.objects import Path as Path


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


@dataclass(frozen=True)
class Violation:
    """What a rule reports: a message, the field it is about, and optional overrides."""

    message: str
    path: Path = ()
    severity: Severity | None = None
    fix: str | None = None


Check = Callable[[LintObject, LintContext], Iterable[Violation]]


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
