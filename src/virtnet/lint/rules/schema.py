"""Schema rules: what kube-apiserver refuses in a custom resource before any webhook sees it.

Both rules read one validation of each object (:mod:`virtnet.lint.schema`) against the schema of the target
version: the shipped upstream schemas (KubeVirt per minor, SpiderPool v0.8.13 / v1.2.2, Multus NAD v1.7.7; see
``virtnet.schemas``) or, with ``lint --cluster``, the cluster's own CRDs. Objects of kinds without a schema are
skipped (the lint summary counts them).
"""

from __future__ import annotations

from collections.abc import Iterator

from virtnet.lint.context import LintContext
from virtnet.lint.model import LintObject, Severity, Violation
from virtnet.lint.registry import rule
from virtnet.lint.schema import Catalog, SchemaError, compiled, shipped_catalog
from virtnet.schemas import all_kinds

SCHEMA_KINDS = tuple(all_kinds())
REFERENCES = (
    "k8s.io/apiextensions-apiserver@v0.35.4: pkg/apiserver/schema/pruning/algorithm.go (unknown fields), "
    "pkg/apiserver/validation/validation.go (OpenAPI checks and their messages)",
    "KV@v1.9.0:pkg/virt-operator/resource/generate/components/validations_generated.go (the KubeVirt CRD schemas)",
    "SP@v1.2.2:charts/spiderpool/crds/ (the SpiderPool CRD schemas; v0.8.13 pinned by SHA-256)",
    "https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation",
)
VERSIONS = (
    "the schema of the target version: KubeVirt v1.0 to v1.9 (one per minor), SpiderPool v0.8.13 / v1.2.2 (v0.9 and "
    "v1.0, v1.1 use the nearest), Multus NAD v1.7.7; with --cluster the cluster's CRDs"
)


def catalog(ctx: LintContext) -> Catalog:
    return ctx.schema_catalog or shipped_catalog(ctx.versions)


def schema_errors(obj: LintObject, ctx: LintContext) -> list[SchemaError]:
    """What the API server would refuse in ``obj``: one validation per object, shared by both rules."""
    return ctx.object_memo(obj, schema_errors, lambda: _validate(obj, catalog(ctx)))


def _validate(obj: LintObject, cat: Catalog) -> list[SchemaError]:
    kind, problem = cat.lookup(str(obj.data.get("apiVersion", "")), obj.kind)
    if kind is not None:
        return compiled(kind).errors(obj.data)
    if problem is not None:
        return [SchemaError(("apiVersion",), problem, fix="write one of the served apiVersions")]
    return []


def _violations(errors: list[SchemaError], unknown: bool) -> Iterator[Violation]:
    for e in errors:
        if e.unknown is unknown:
            yield Violation(e.message, e.path, fix=e.fix)


@rule(
    code="VN025",
    slug="unknown-field",
    severity=Severity.ERROR,
    summary="a field the target version's CRD schema does not declare (a typo such as macaddress, or a field of "
    "another release such as passtBinding before KubeVirt v1.8)",
    why="With fieldValidation=Strict (kubectl's default) the API server refuses the whole object with `strict "
    'decoding error: unknown field "…"`; without it the field is silently dropped, so the setting you wrote never '
    "takes effect.",
    fix="Correct the field name (the finding suggests the known sibling it most likely meant) or remove it, or "
    "target the release that has it.",
    references=REFERENCES,
    versions=VERSIONS,
    kinds=SCHEMA_KINDS,
)
def unknown_field(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    yield from _violations(schema_errors(obj, ctx), unknown=True)


@rule(
    code="VN026",
    slug="schema-invalid",
    severity=Severity.ERROR,
    summary='a value the target version\'s CRD schema refuses: wrong type ("2" for an integer, "true" for a '
    "boolean), a value outside the enum, a missing required field, a pattern, length, range or item-count violation, "
    "a duplicate in a list-type set/map, an apiVersion the CRD does not serve",
    why="The API server refuses the object (HTTP 422 `… is invalid: spec.x: Invalid value: …`) before KubeVirt's or "
    "SpiderPool's webhooks see it; the message is the one it would print.",
    fix="Write the value the schema asks for (the finding names the type, the allowed values or the bound).",
    references=REFERENCES,
    versions=VERSIONS,
    kinds=SCHEMA_KINDS,
)
def schema_invalid(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    yield from _violations(schema_errors(obj, ctx), unknown=False)
