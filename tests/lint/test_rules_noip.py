"""Issue 10 rules (VN027-VN031): no new findings on anything virtnet renders or on the reference corpus, and the
pure helpers behave as SpiderPool does."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lint.helpers import lint_file
from virtnet.formats.yamlio import load_documents
from virtnet.lint import LintOptions, lint
from virtnet.lint.rules.noip import selector_matches
from virtnet.model.capabilities import multi_nic_leak_fixed_in
from virtnet.model.versions import V

ROOT = Path(__file__).resolve().parents[2]
NOIP_SLUGS = {"ippool-refuses-vm", "ip-family-disabled", "nad-attached-twice", "default-route-nic-unknown",
              "endpoint-pool-changed"}  # fmt: skip
BUNDLES = sorted((ROOT / "tests" / "golden" / "bundles").glob("*.yaml"))
CORPUS = sorted(
    p for p in (ROOT.parent / "shared" / "reference" / "corpus").rglob("*") if p.suffix in (".yaml", ".yml")
)


def test_inputs_exist() -> None:
    assert BUNDLES
    assert CORPUS


@pytest.mark.parametrize("path", BUNDLES, ids=[p.name for p in BUNDLES])
def test_no_findings_on_rendered_bundles(path: Path) -> None:
    result = lint_file(path)
    assert [f.message for f in result.findings if f.rule.slug in NOIP_SLUGS] == []


@pytest.mark.parametrize("path", CORPUS, ids=[str(p.relative_to(p.parents[1])) for p in CORPUS])
def test_no_findings_on_corpus(path: Path) -> None:
    docs = load_documents(path.read_text(), path.name)
    result = lint(docs, LintOptions())
    assert [f.message for f in result.findings if f.rule.slug in NOIP_SLUGS] == []


def test_selector_matches_with_partial_knowledge() -> None:
    labels = {"app": "web", "kubevirt.io": "virt-launcher"}
    assert selector_matches({"matchLabels": {"app": "web"}}, labels, lambda k: True) is True
    assert selector_matches({"matchLabels": {"app": "db"}}, labels, lambda k: True) is False
    expr = {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}
    assert selector_matches(expr, labels, lambda k: True) is True
    assert selector_matches(expr, labels, lambda k: k != "tier") is None
    notin = {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}
    assert selector_matches(notin, labels, lambda k: True) is False


@pytest.mark.parametrize(
    ("version", "fixed"),
    [("v0.8.8", "v0.8.9"), ("v0.8.9", None), ("v0.9.7", "v0.9.8"), ("v0.9.8", None), ("v1.0.0", None),
     ("v1.2.2", None)],
)  # fmt: skip
def test_leak_fix_versions(version: str, fixed: str | None) -> None:
    assert multi_nic_leak_fixed_in(V(version)) == (V(fixed) if fixed else None)
