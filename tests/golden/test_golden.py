"""Snapshot tests: every mode x {oldest, newest} supported version, passt on each KubeVirt generation, and the
corrected guide examples. Each golden file holds the warnings and notes (as comments) and the bundle.

Regenerate with ``pytest tests/golden --update-golden`` and review the diff: a golden file is a reviewed
statement of what virtnet renders, not a cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from virtnet.formats.intent import intent_from_document
from virtnet.formats.yamlio import dump_yaml_stream, load_documents
from virtnet.render import render_bundle

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
CASES = sorted((HERE / "cases").glob("*.yaml"))
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
OLDEST = ("v1.0.0", "v0.8.0")
NEWEST = ("v1.9.0", "v1.2.2")
PASST_GENERATIONS = [("v1.1.0", "v0.8.13"), ("v1.2.0", "v0.9.2"), ("v1.5.0", "v1.0.0"), ("v1.8.0", "v1.2.2")]


def render_text(path: Path, versions: tuple[str, str] | None) -> str:
    doc = load_documents(path.read_text(), path.name)[0]
    if versions:
        doc.data["spec"]["versions"] = {"kubevirt": versions[0], "spiderpool": versions[1]}
    bundle = render_bundle(intent_from_document(doc))
    header = [f"# virtnet render {path.relative_to(ROOT)}"]
    if versions:
        header[0] += f" --kubevirt-version {versions[0]} --spiderpool-version {versions[1]}"
    header += [f"# warning: {w}" for w in bundle.warnings]
    header += [f"# note: {n}" for n in bundle.notes]
    return "\n".join(header) + "\n" + dump_yaml_stream(bundle.objects)


def case_versions(path: Path) -> list[tuple[str, str]]:
    """{oldest, newest}, or the pairs a ``# golden-versions: KV/SP KV/SP …`` first line names (a case that only some
    versions can render, e.g. passt + OVS NICs, which core passt on KubeVirt v1.0/v1.1 refuses)."""
    first = path.read_text().splitlines()[0]
    if first.startswith("# golden-versions:"):
        pairs = [tuple(pair.split("/")) for pair in first.split(":", 1)[1].split()]
        return [(kv, sp) for kv, sp in pairs]
    return [OLDEST, NEWEST]


def golden_cases() -> list[tuple[Path, tuple[str, str] | None]]:
    cases: list[tuple[Path, tuple[str, str] | None]] = []
    for path in CASES:
        cases += [(path, versions) for versions in case_versions(path)]
        if path.stem.startswith("passt-macvlan"):
            cases += [(path, v) for v in PASST_GENERATIONS]
    for path in EXAMPLES:
        cases += [(path, None), (path, NEWEST)]
    return cases


def golden_name(path: Path, versions: tuple[str, str] | None) -> str:
    prefix = "example-" if path.parent.name == "examples" else ""
    suffix = f"__kv-{versions[0]}__sp-{versions[1]}" if versions else "__pinned"
    return f"{prefix}{path.stem}{suffix}.yaml"


@pytest.mark.parametrize(("path", "versions"), golden_cases(), ids=[golden_name(p, v)[:-5] for p, v in golden_cases()])
def test_bundle_matches_golden(path: Path, versions: tuple[str, str] | None, update_golden: bool) -> None:
    golden = HERE / "bundles" / golden_name(path, versions)
    actual = render_text(path, versions)
    if update_golden:
        golden.write_text(actual)
    assert golden.exists(), f"{golden.name} is missing: run pytest tests/golden --update-golden and review it"
    assert actual == golden.read_text()


def test_no_stale_golden_files() -> None:
    expected = {golden_name(p, v) for p, v in golden_cases()}
    present = {p.name for p in (HERE / "bundles").glob("*.yaml")}
    assert present - expected == set(), "golden files without a case: delete them"
