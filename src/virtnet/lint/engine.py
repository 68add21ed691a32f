"""Run the rule catalogue over parsed documents."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from virtnet.errors import InputError, Location
from virtnet.formats.yamlio import Document, format_path, manifest_objects
from virtnet.lint.context import LintContext
from virtnet.lint.model import Finding, LintObject, LintResult, NotRun, ObjectRef, Path, Rule, Severity
from virtnet.lint.registry import all_rules, lookup
from virtnet.lint.rules.duplicates import Place
from virtnet.lint.schema import Catalog, coverage, shipped_catalog
from virtnet.model.manifest import as_map

SUPPRESS_PREFIX = "ignore-check.virtnet.io/"
ANY_KIND = "*"  # a rule with kinds=("*",) checks every object
SCHEMA_RULES = {"VN025", "VN026"}  # unknown-field, schema-invalid: the summary counts what they validated
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
    # The schemas of the schema rules (unknown-field, schema-invalid); None: the shipped ones of the target versions.
    # ``virtnet lint --cluster`` passes the cluster's CRD schemas.
    schemas: Catalog | None = field(default=None, compare=False)


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
        for data, base in manifest_objects(doc):  # the reader every verb shares (any …List unpacked)
            kind = str(data.get("kind"))
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
    enabled = enabled_rules(options)
    everything = [*objects, *context] if context else objects
    ctx = new_context(everything, options)
    findings, suppressed = check_objects(objects, ctx, rules_by_kind(enabled), options)
    if DUPLICATE_RULE in enabled:
        found, hidden = duplicate_findings(places_of(objects), options)
        findings += found
        suppressed += hidden
    schema = coverage(objects, ctx.schema_catalog) if enabled & SCHEMA_RULES else None
    return result_of(findings, len(objects), files, ctx, options, suppressed, schema)


DUPLICATE_RULE = "VN040"  # duplicate-object: needs every object at once, not dispatched per kind
# (document index, path of the object in it) of a streamed object, and how to find a position in such a document
Locator = tuple[int, Path]
Locate = Callable[[str, int, Path], "tuple[int, int] | None"]


def _unplaced(obj: LintObject) -> Place:
    return Place(obj.ref, obj.document.source if obj.document is not None else None, None, None, obj.annotations)


def places_of(objects: Sequence[LintObject], repeated: set[ObjectRef] | None = None) -> list[Place]:
    """Where each object is, for duplicate-object. Only an object whose ref occurs more than once can get a finding,
    so only those get the line/column of metadata.name: computing it composes the document again (positions are
    computed on demand, and lint keeps that for objects with findings)."""
    if repeated is None:
        seen: set[ObjectRef] = set()
        repeated = set()
        for o in objects:
            (repeated if o.ref in seen else seen).add(o.ref)
    return [Place.of(o) if o.ref in repeated else _unplaced(o) for o in objects]


def duplicate_findings(places: Sequence[Place], options: LintOptions) -> tuple[list[Finding], int]:
    """VN040 findings on every copy of a repeated object, and how many were suppressed."""
    from virtnet.lint.rules.duplicates import duplicate_violations

    found = lookup(DUPLICATE_RULE)
    assert found is not None  # registered with the catalogue
    out: list[Finding] = []
    suppressed = 0
    if found.severity.rank < options.severity.rank:
        return out, suppressed
    for place, v in duplicate_violations(places):
        if f"{SUPPRESS_PREFIX}{found.slug}" in place.annotations:
            suppressed += 1
            continue
        out.append(
            Finding(
                rule=found,
                severity=found.severity,
                message=v.message,
                fix=v.fix or found.fix,
                object=place.ref,
                file=place.file,
                line=place.line,
                column=place.column,
                path=v.path,
            )
        )
    return out, suppressed


def new_context(objects: Sequence[LintObject], options: LintOptions) -> LintContext:
    ctx = LintContext.build(objects, options.kubevirt_version, options.spiderpool_version)
    ctx.schema_catalog = options.schemas or shipped_catalog(ctx.versions)
    return ctx


def rules_by_kind(enabled: set[str]) -> dict[str, list[Rule]]:
    by_kind: dict[str, list[Rule]] = defaultdict(list)
    for r in all_rules():
        if r.code in enabled:
            for kind in r.kinds:
                by_kind[kind].append(r)
    return by_kind


def check_objects(
    objects: Iterable[LintObject], ctx: LintContext, by_kind: Mapping[str, list[Rule]], options: LintOptions
) -> tuple[list[Finding], int]:
    """The findings of the rules on ``objects`` (positions resolved) and how many were suppressed."""
    findings: list[Finding] = []
    suppressed = 0
    everywhere = by_kind.get(ANY_KIND)  # rules of every kind (suppression-unknown)
    for obj in objects:
        applicable = by_kind.get(obj.kind)
        if everywhere:
            applicable = [*applicable, *everywhere] if applicable else everywhere
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
        ctx.object_done()
    return findings, suppressed


def result_of(
    findings: list[Finding],
    objects: int,
    files: int,
    ctx: LintContext,
    options: LintOptions,
    suppressed: int,
    schema: Mapping[str, Any] | None,
) -> LintResult:
    findings.sort(key=_order)
    return LintResult(
        findings=tuple(findings),
        objects=objects,
        files=files,
        kubevirt_version=str(ctx.versions.kubevirt),
        spiderpool_version=str(ctx.versions.spiderpool),
        versions_from=options.versions_from or ctx.versions_from,
        suppressed=suppressed,
        schema=schema,
        not_run=not_run(ctx, enabled_rules(options)),
    )


# Cross-object rules that stay silent when the objects they compare VMs with are not in the input: (codes, what they
# need, whether a workload needs it). ``lint --cluster`` reads those kinds from the cluster.
_NEEDS_NADS = "no NetworkAttachmentDefinition or SpiderMultusConfig in the input for the VMs' Multus networks"
_NEEDS_KUBEVIRT = "no KubeVirt CR in the input to check the VMs' feature gates and binding plugins against"


def not_run(ctx: LintContext, enabled: set[str]) -> tuple[NotRun, ...]:
    """The enabled cross-object rules that could not check this input's VMs for lack of the objects they need."""
    workloads = ctx.workloads
    if not workloads:
        return ()
    missing: list[tuple[tuple[str, ...], str]] = []
    if not ctx.nads and any("multus" in net for w in workloads for _, net in w.networks):
        missing.append((("VN007", "VN008", "VN017"), _NEEDS_NADS))
    if ctx.kubevirt_cr is None:
        missing.append((("VN006",), _NEEDS_KUBEVIRT))
    out: list[NotRun] = []
    for codes, reason in missing:
        for code in codes:
            found = lookup(code)
            if code in enabled and found is not None:
                out.append(NotRun(code, found.slug, reason))
    return tuple(sorted(out, key=lambda n: n.code))


# --- streaming: VMs one document at a time (and on two cores, see virtnet.cli.lint) ----------------------------

WORKLOAD_KINDS = frozenset({"VirtualMachine", "VirtualMachineInstance"})


class NotAWorkload(Exception):  # noqa: N818  (a signal, not an error: the caller lints the plain way)
    """A document streamed as a VM/VMI holds another kind: the input must be linted without streaming."""


@dataclass
class Shard:
    """What checking a stream of VM/VMI documents found: findings with positions, counts, and for every workload
    the little the rules of other kinds need from it (pools' users, fixed-IP VMs): :func:`workload_summary`."""

    findings: list[Finding]
    objects: int
    suppressed: int
    summaries: list[tuple[ObjectRef, dict[str, Any]]]
    validated: int  # objects the schema rules had a schema for
    skipped: dict[str, int]  # kinds without one, and how many
    places: list[Place] = field(default_factory=list)  # where each workload is (duplicate-object)
    # for each place: its document's index and the object's path in it, so lint_rest can find the line of a
    # repeated one (places carry no position: computing one for every VM would compose every document again)
    locators: list[Locator] = field(default_factory=list)


def workload_summary(obj: LintObject) -> dict[str, Any]:
    """The parts of a VM/VMI the rules of other kinds read (``LintContext.workloads``: pool users and fixed-IP
    VMs read the pod annotations and the networks), as a small object of the same shape."""
    data = obj.data
    spec = as_map(data.get("spec"))
    meta = as_map(data.get("metadata"))
    summary_meta = {k: meta[k] for k in ("name", "namespace", "annotations") if k in meta}
    if obj.kind == "VirtualMachine":
        template = as_map(spec.get("template"))
        inner = as_map(template.get("spec"))
        kept = {k: inner[k] for k in ("networks",) if k in inner} or ({"domain": {}} if inner else {})
        summary_spec: dict[str, Any] = {"template": {"metadata": as_map(template.get("metadata")), "spec": kept}}
    else:
        summary_spec = {k: spec[k] for k in ("networks",) if k in spec} or ({"domain": {}} if spec else {})
    return {"apiVersion": data.get("apiVersion"), "kind": obj.kind, "metadata": summary_meta, "spec": summary_spec}


def lint_stream(
    workload_documents: Iterable[Document],
    context_objects: Sequence[LintObject],
    options: LintOptions,
) -> Shard:
    """Check VM/VMI documents one at a time against a context of the other objects (the VM rules look across
    objects only at NADs, SpiderMultusConfigs, pools, the KubeVirt CR, spiderpool-conf and PVCs/DataVolumes);
    each document can be dropped once its findings have their positions."""
    enabled = enabled_rules(options)
    by_kind = rules_by_kind(enabled)
    ctx = new_context(context_objects, options)
    shard = Shard([], 0, 0, [], 0, {})
    schema = bool(enabled & SCHEMA_RULES)
    for doc in workload_documents:
        objects = objects_of([doc], options.default_namespace)
        for obj in objects:
            if obj.kind not in WORKLOAD_KINDS:
                raise NotAWorkload(f"{doc.source}: document {doc.index + 1} holds a {obj.kind}")
        found, suppressed = check_objects(objects, ctx, by_kind, options)
        shard.findings += found
        shard.suppressed += suppressed
        shard.objects += len(objects)
        shard.summaries += [(obj.ref, workload_summary(obj)) for obj in objects]
        shard.places += [_unplaced(obj) for obj in objects]
        shard.locators += [(doc.index, obj.base) for obj in objects]
        if schema:
            counted = coverage(objects, ctx.schema_catalog)
            shard.validated += counted["validated"]
            for kind, n in counted["skipped"].items():
                shard.skipped[kind] = shard.skipped.get(kind, 0) + n
    return shard


def lint_rest(
    context_objects: Sequence[LintObject],
    shards: Sequence[Shard],
    options: LintOptions,
    files: int,
    locate: Locate | None = None,
) -> LintResult:
    """Check the non-workload objects — with every streamed workload's summary in the context — and merge the
    shards' findings: the same result as :func:`lint_objects` on everything."""
    enabled = enabled_rules(options)
    proxies = [LintObject(data=data, document=None, base=(), ref=ref) for s in shards for ref, data in s.summaries]
    ctx = new_context([*context_objects, *proxies], options)
    findings, suppressed = check_objects(context_objects, ctx, rules_by_kind(enabled), options)
    schema: dict[str, Any] | None = None
    if enabled & SCHEMA_RULES:
        schema = coverage(context_objects, ctx.schema_catalog)
        skipped = dict(schema["skipped"])
        for s in shards:
            schema["validated"] += s.validated
            for kind, n in s.skipped.items():
                skipped[kind] = skipped.get(kind, 0) + n
        schema["skipped"] = dict(sorted(skipped.items()))
    for s in shards:
        findings += s.findings
        suppressed += s.suppressed
    if DUPLICATE_RULE in enabled:
        seen: set[ObjectRef] = set()
        repeated: set[ObjectRef] = set()
        for ref in [o.ref for o in context_objects] + [p.ref for s in shards for p in s.places]:
            (repeated if ref in seen else seen).add(ref)
        places = places_of(context_objects, repeated)
        for s in shards:
            for place, (index, base) in zip(s.places, s.locators, strict=True):
                if place.ref in repeated and place.file is not None and locate is not None:
                    pos = locate(place.file, index, (*base, "metadata", "name")) or locate(place.file, index, base)
                    if pos is not None:
                        place = replace(place, line=pos[0], column=pos[1])
                places.append(place)
        found, hidden = duplicate_findings(places, options)
        findings += found
        suppressed += hidden
    objects = len(context_objects) + sum(s.objects for s in shards)
    return result_of(findings, objects, files, ctx, options, suppressed, schema)
