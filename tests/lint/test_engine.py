from __future__ import annotations

from collections.abc import Iterator

import pytest

from virtnet.errors import InputError
from virtnet.formats.yamlio import load_documents
from virtnet.lint import LintOptions, Severity, all_rules, lint
from virtnet.lint.context import LintContext
from virtnet.lint.engine import objects_of
from virtnet.lint.model import LintObject, Rule, Violation
from virtnet.lint.registry import RegistryError, register


def _noop(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    yield from ()


def rule(code: str, slug: str) -> Rule:
    return Rule(code, slug, Severity.INFO, "s", "w", "f", (), "all", ("X",), _noop)


def test_duplicate_codes_and_slugs_fail_at_registration() -> None:
    existing = all_rules()[0]
    with pytest.raises(RegistryError, match=existing.code):
        register(rule(existing.code, "brand-new-slug"))
    with pytest.raises(RegistryError, match=existing.slug):
        register(rule("VN999", existing.slug))
    with pytest.raises(RegistryError, match="three digits"):
        register(rule("VN1", "another-slug"))


def test_codes_are_stable_and_dense_enough_to_read() -> None:
    rules = all_rules()
    assert [r.code for r in rules] == sorted(r.code for r in rules)
    assert len({r.slug for r in rules}) == len(rules)
    for r in rules:
        assert all((r.summary, r.why, r.fix, r.references)), r.code


def test_lists_are_expanded_with_positions_and_namespaces_defaulted() -> None:
    text = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
    text += "- {apiVersion: spiderpool.spidernet.io/v2beta1, kind: SpiderIPPool, metadata: {name: p}}\n"
    objects = objects_of(load_documents(text, "l.yaml"), "team")
    assert [(o.kind, o.ref.namespace, o.base) for o in objects] == [
        ("ConfigMap", "team", ("items", 0)),
        ("SpiderIPPool", None, ("items", 1)),  # cluster-scoped
    ]
    assert objects[1].position(("metadata",)) == (5, 69)


def test_unknown_rule_names_the_flag() -> None:
    with pytest.raises(InputError) as err:
        lint([], LintOptions(enable=("nope",)))
    assert err.value.location.path == "--enable"


def test_versions_detected_from_the_input() -> None:
    text = (
        "apiVersion: kubevirt.io/v1\nkind: KubeVirt\nmetadata: {name: kubevirt, namespace: kubevirt}\n"
        "status: {observedKubeVirtVersion: v1.2.0}\n---\napiVersion: v1\nkind: ConfigMap\n"
        "metadata: {name: spiderpool-conf, namespace: kube-system, labels: {app.kubernetes.io/version: 0.8.4}}\n"
    )
    result = lint(load_documents(text, "c.yaml"))
    assert (result.kubevirt_version, result.spiderpool_version) == ("v1.2.0", "v0.8.4")
    assert "KubeVirt from" in result.versions_from
    flagged = lint(load_documents(text, "c.yaml"), LintOptions(kubevirt_version="v1.9.0"))
    assert flagged.kubevirt_version == "v1.9.0"
