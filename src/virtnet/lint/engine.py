"""Run the rule catalogue over parsed documents."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from virtnet.errors import InputError, Location
from virtnet.formats.yamlio import Document
from virtnet.lint.context import LintContext, as_map
from virtnet.lint.model import Finding, LintObject, LintResult, ObjectRef, Path, Rule, Severity
from virtnet.lint.registry import all_rules, lookup

SUPPRESS_PREFIX = "ignore-check.virtnet.io/"
CLUSTER_SCOPED = {
    "SpiderIPPool",
    "SpiderSubnet",
    "SpiderReservedIP",
    "SpiderCoordinator",
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "StorageClass",
    "Node",
}


@dataclass(frozen=True)
class LintOptions:
    kubevirt_version: str | None = None
    spiderpool_version: str | None = None
    enable: tuple[str, ...] = ()  # codes or slugs; when given, only these run
    disable: tuple[str, ...] = ()
    severity: Severity = Severity.INFO  # report findings at or above this
    default_namespace: str = "default"
    files: int = field(default=0, compare=False)


def _resolve(keys: Sequence[str], flag: str) -> set[str]:
    codes: set[str] = set()
    for key in keys:
        found = lookup(key)
        if found is None:
            raise InputError(f"no rule '{key}'; `virtnet rules` lists codes and slugs", Location(path=flag))
        codes.add(found.code)
    return codes


def objects_of(documents: Sequence[Document], default_namespace: str = "default") -> list[LintObject]:
    """Kubernetes objects in the documents; ``List`` kinds are expanded, non-objects ignored."""
    out: list[LintObject] = []
    for doc in documents:
        stack: list[tuple[object, Path]] = [(doc.data, ())]
        while stack:
            data, base = stack.pop()
            if not isinstance(data, Mapping):
                continue
            kind = data.get("kind")
            if isinstance(kind, str) and kind.endswith("List") and isinstance(data.get("items"), list):
                items = data["items"]
                stack.extend((item, (*base, "items", i)) for i, item in reversed(list(enumerate(items))))
                continue
            if not isinstance(kind, str):
                continue
            meta = as_map(data.get("metadata"))
            name = meta.get("name") or meta.get("generateName") or "<unnamed>"
            ns = meta.get("namespace")
            namespace = None if kind in CLUSTER_SCOPED else (str(ns) if ns else default_namespace)
            ref = ObjectRef(str(data.get("apiVersion", "")), kind, namespace, str(name))
            out.append(LintObject(data=data, document=doc, base=base, ref=ref))
    return out


def lint(documents: Sequence[Document], options: LintOptions | None = None) -> LintResult:
    options = options or LintOptions()
    rules = all_rules()
    enabled = _resolve(options.enable, "--enable") if options.enable else {r.code for r in rules}
    enabled -= _resolve(options.disable, "--disable")
    objects = objects_of(documents, options.default_namespace)
    ctx = LintContext.build(objects, options.kubevirt_version, options.spiderpool_version)
    by_kind: dict[str, list[Rule]] = defaultdict(list)
    for r in rules:
        if r.code in enabled:
            for kind in r.kinds:
                by_kind[kind].append(r)
    findings: list[Finding] = []
    suppressed = 0
    for obj in objects:
        applicable = by_kind.get(obj.kind)
        if not applicable:
            continue
        annotations = obj.annotations
        for r in applicable:
            for v in r.check(obj, ctx):
                severity = v.severity or r.severity
                if severity.rank < options.severity.rank:
                    continue
                if f"{SUPPRESS_PREFIX}{r.slug}" in annotations:
                    suppressed += 1
                    continue
                pos = obj.position(v.path)
                findings.append(
                    Finding(
                        rule=r,
                        severity=severity,
                        message=v.message,
                        fix=v.fix or r.fix,
                        object=obj.ref,
                        file=obj.document.source,
                        line=pos[0] if pos else None,
                        column=pos[1] if pos else None,
                        path=v.path,
                    )
                )
    findings.sort(key=lambda f: (f.file, f.line or 0, f.column or 0, f.rule.code))
    return LintResult(
        findings=tuple(findings),
        objects=len(objects),
        files=options.files or len({d.source for d in documents}),
        kubevirt_version=str(ctx.versions.kubevirt),
        spiderpool_version=str(ctx.versions.spiderpool),
        versions_from=ctx.versions_from,
        suppressed=suppressed,
    )
