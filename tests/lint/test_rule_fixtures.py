"""Every rule has at least one failing and one passing fixture, and each fixture does what its name says.

Layout: ``tests/lint/fixtures/<slug>/bad-*.yaml`` must produce at least one finding of rule <slug> (and, for every
``# expect: VNxxx line N`` comment, a finding of that rule at line N); ``good-*.yaml`` must produce none of it.
A ``# lint: --kubevirt-version V --spiderpool-version V`` comment selects the target versions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lint.helpers import expected_lines, lint_file
from virtnet.lint import all_rules
from virtnet.lint.registry import lookup

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(FIXTURES.glob("*/*.yaml"))


def test_every_rule_has_a_failing_and_a_passing_fixture() -> None:
    missing = []
    for rule in all_rules():
        folder = FIXTURES / rule.slug
        if not list(folder.glob("bad-*.yaml")) or not list(folder.glob("good-*.yaml")):
            missing.append(f"{rule.code} {rule.slug}")
    assert missing == [], f"rules without bad-*.yaml and good-*.yaml fixtures in tests/lint/fixtures/<slug>/: {missing}"


def test_fixture_folders_name_real_rules() -> None:
    slugs = {r.slug for r in all_rules()}
    assert {p.name for p in FIXTURES.iterdir() if p.is_dir()} <= slugs


def test_every_bad_fixture_pins_its_finding() -> None:
    unpinned = [
        f"{p.parent.name}/{p.name}"
        for p in CASES
        if p.name.startswith("bad-") and not any(lookup(code) is lookup(p.parent.name) for code, _ in expected_lines(p))
    ]
    assert unpinned == [], f"bad fixtures without a '# expect: VNxxx line N' comment for their own rule: {unpinned}"


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_fixture(path: Path) -> None:
    slug = path.parent.name
    result = lint_file(path)
    mine = [f for f in result.findings if f.rule.slug == slug]
    if path.name.startswith("bad-"):
        assert mine, f"{path.name} should trigger {slug}; findings: {[f.rule.slug for f in result.findings]}"
        for code, line in expected_lines(path):
            assert any(f.rule.code == code and f.line == line for f in result.findings), (
                f"expected {code} at line {line}, got {[(f.rule.code, f.line) for f in result.findings]}"
            )
        for f in mine:
            assert f.line is not None, f"{f.rule.slug} finding without a line: {f.message}"
    else:
        assert not mine, f"{path.name} should not trigger {slug}: {[f.message for f in mine]}"
