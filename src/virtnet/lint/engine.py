"""Run the rule catalogue over parsed documents."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from virtnet.errors import InputError, Location
from virtnet.formats.yamlio import Document, format_path
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
    # Set by a caller that found the versions itself (the cluster: KubeVirt CR status, SpiderPool's Deployment) and
    # passes them as kubevirt_version/spiderpool_version: replaces "from --kubevirt-version" in the result.
    versions_from: str | None = None


def _resolve(keys: Sequence[str], flag: str) -> set[str]:
    codes: set[str] = set()
    for key in keys:
        found = lookup(key)
        if found is None:
            raise InputError(f"no rule '{key}'; `virtnet rules` lists codes and slugs", Location(path=flag))
        codes.add(found.code)
    return codes


def enabled_rules(options: LintOptions) -> set[str]:
    """Codes of the rules to run; an unknown name in --enable/--disable is an input error naming the flag."""
    rules = all_rules()  # loads the catalogue, which lookup() needs
    enabled = _resolve(options.enable, "--enable") if options.enable else {r.code for r in rules}
    return enabled - _resolve(options.disable, "--disable")


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


def live_object(data: Mapping[str, Any], namespaced: bool) -> LintObject:
    """A live object read from a cluster (no file, no positions); ``namespaced`` comes from discovery."""
    meta = as_map(data.get("metadata"))
    namespace = str(meta.get("namespace") or "default") if namespaced else None
    ref = ObjectRef(str(data.get("apiVersion", "")), str(data.get("kind", "")), namespace, str(meta.get("name", "")))
    return LintObject(data=data, document=None, base=(), ref=ref)


def lint(documents: Sequence[Document], options: LintOptions | None = None) -> LintResult:
    options = options or LintOptions()
    objects = objects_of(documents, options.default_namespace)
    return lint_objects(objects, options, files=options.files or len({d.source for d in documents}))


def _order(f: Finding) -> tuple[int, str, int, int, str, str]:
    """Findings in files by file, line, column, code; findings on live objects by object, field path, code."""
    if f.file is not None:
        return (0, f.file, f.line or 0, f.column or 0, "", f.rule.code)
    o = f.object
    return (1, f"{o.kind}\0{o.namespace or ''}\0{o.name}", 0, 0, format_path(f.path), f.rule.code)


def lint_objects(
    objects: Sequence[LintObject],
    options: LintOptions | None = None,
    *,
    context: Sequence[LintObject] = (),
    files: int = 0,
) -> LintResult:
    """Run the rules on ``objects``; ``context`` objects are seen by the rules (a NAD another namespace's VM
    references) but not checked themselves."""
    options = options or LintOptions()
    rules = all_rules()
    enabled = enabled_rules(options)
    everything = [*objects, *context] if context else objects
    ctx = LintContext.build(everything, options.kubevirt_version, options.spiderpool_version)
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
                        file=obj.document.source if obj.document is not None else None,
                        line=pos[0] if pos else None,
                        column=pos[1] if pos else None,
                        path=v.path,
                    )
                )
    findings.sort(key=_order)
    return LintResult(
        findings=tuple(findings),
        objects=len(objects),
        files=files,
        kubevirt_version=str(ctx.versions.kubevirt),
        spiderpool_version=str(ctx.versions.spiderpool),
        versions_from=options.versions_from or ctx.versions_from,
        suppressed=suppressed,
    )
