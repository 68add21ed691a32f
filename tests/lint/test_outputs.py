"""What users see: the guide's manifests through `virtnet lint` in text, JSON and SARIF (snapshots), the findings
the guide must produce per version, exit codes through the console script, and zero errors on everything virtnet
renders."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT, run_script
from tests.golden.test_golden import golden_cases, golden_name
from virtnet.formats.yamlio import load_documents
from virtnet.lint import LintOptions, Severity, lint

GUIDE = ROOT / "tests/fixtures/guide"
GOLDEN = Path(__file__).parent / "golden"
OLD = ("--kubevirt-version", "v1.0.1", "--spiderpool-version", "v0.8.0")
NEW = ("--kubevirt-version", "v1.3.0", "--spiderpool-version", "v1.2.2")


def run_lint(*args: str) -> subprocess.CompletedProcess[str]:
    return run_script("virtnet", "lint", *args, cwd=ROOT)


def findings(*args: str) -> list[dict[str, object]]:
    result = run_lint("tests/fixtures/guide", "-o", "json", *args)
    assert result.returncode == 1, result.stderr
    data: list[dict[str, object]] = json.loads(result.stdout)["findings"]
    return data


def slugs_for(found: list[dict[str, object]], name: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in found:
        obj = f["object"]
        assert isinstance(obj, dict)
        if obj["name"] == name:
            out.setdefault(str(f["slug"]), str(f["severity"]))
    return out


def test_guide_findings_on_its_own_versions() -> None:
    found = findings(*OLD)
    assert slugs_for(found, "passt-macvlan-spiderpool")["nad-not-found"] == "error"
    pool = slugs_for(found, "10-7-v4")
    assert pool == {"ippool-subnet-invalid": "warning", "ippool-removed-field": "warning"}  # v0.8 accepts both
    assert "ippool-interface-mismatch" in slugs_for(found, "bridge-ovs-spiderpool")
    for vm in ("masquerade-calico", "passt-macvlan-spiderpool", "bridge-ovs-spiderpool"):
        assert slugs_for(found, vm)["plaintext-credentials"] == "error"
    assert "binding-unsupported-version" not in slugs_for(
        found, "passt-macvlan-spiderpool"
    )  # core passt is fine on 1.0


def test_guide_findings_on_newer_versions() -> None:
    found = findings(*NEW)
    pool = slugs_for(found, "10-7-v4")
    # spec.vlan is gone from SpiderPool v1.x's schema: the API server refuses it (unknown-field) and VN014 says why
    assert pool == {"ippool-subnet-invalid": "error", "ippool-removed-field": "error", "unknown-field": "error"}
    assert slugs_for(found, "passt-macvlan-spiderpool")["binding-unsupported-version"] == "error"


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_output_snapshots(fmt: str, update_golden: bool) -> None:
    result = run_lint("tests/fixtures/guide", "-o", fmt, "--no-color", *NEW)
    assert result.returncode == 1
    golden = GOLDEN / f"guide.{fmt}"
    if update_golden:
        golden.write_text(result.stdout)
    assert result.stdout == golden.read_text()


def test_sarif_is_well_formed() -> None:
    doc = json.loads(run_lint("tests/fixtures/guide", "-o", "sarif", *NEW).stdout)
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    for res in run["results"]:
        assert rule_ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
        region = res["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1
        assert region["startColumn"] >= 1


def test_exit_codes(tmp_path: Path) -> None:
    clean = ROOT / "tests/lint/fixtures/interface-network-mismatch/good-basic.yaml"
    assert run_lint(str(clean)).returncode == 0
    assert run_lint("tests/fixtures/guide").returncode == 1
    warn_only = tmp_path / "warn.yaml"
    warn_only.write_text((ROOT / "tests/fixtures/guide/02-passt-ippool.yaml").read_text())
    assert run_lint(str(warn_only), *OLD).returncode == 0
    assert run_lint(str(warn_only), *OLD, "--strict").returncode == 1
    assert run_lint(str(warn_only), *NEW, "--disable", "ippool-subnet-invalid,VN014,unknown-field").returncode == 0
    assert run_lint(str(tmp_path / "missing.yaml")).returncode == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: VirtualMachine\nmetadata: {name: [\n")
    broken = run_lint(str(bad))
    assert broken.returncode == 2
    assert "bad.yaml:3" in broken.stderr
    assert "Traceback" not in broken.stderr
    unknown = run_lint(str(clean), "--enable", "no-such-rule")
    assert unknown.returncode == 2
    assert "no-such-rule" in unknown.stderr


def test_suppression_annotation(tmp_path: Path) -> None:
    text = (ROOT / "tests/fixtures/guide/02-passt-ippool.yaml").read_text()
    text = text.replace(
        "  name: 10-7-v4\n",
        "  name: 10-7-v4\n  annotations:\n    ignore-check.virtnet.io/ippool-removed-field: migrating\n"
        "    ignore-check.virtnet.io/unknown-field: migrating\n",
    )
    path = tmp_path / "pool.yaml"
    path.write_text(text)
    data = json.loads(run_lint(str(path), *NEW, "-o", "json").stdout)
    assert {f["slug"] for f in data["findings"]} == {"ippool-subnet-invalid"}
    assert data["summary"]["suppressed"] == 2


def test_stdin_and_lists(tmp_path: Path) -> None:
    items = [d.data for p in sorted(GUIDE.glob("*.yaml")) for d in load_documents(p.read_text(), p.name)]
    listed = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    result = run_script("virtnet", "lint", "-", "-o", "json", *NEW, stdin=listed)
    data = json.loads(result.stdout)
    assert data["summary"]["objects"] == len(items)
    assert all(f["file"] == "<stdin>" and f["line"] for f in data["findings"])


@pytest.mark.parametrize(("path", "versions"), golden_cases(), ids=[golden_name(p, v)[:-5] for p, v in golden_cases()])
def test_everything_virtnet_renders_lints_without_errors(path: Path, versions: tuple[str, str] | None) -> None:
    golden = ROOT / "tests/golden/bundles" / golden_name(path, versions)
    text = golden.read_text()
    if versions is None:  # an example pinned to its own versions
        pinned = load_documents(path.read_text(), path.name)[0].data["spec"]["versions"]
        versions = (pinned["kubevirt"], pinned["spiderpool"])
    kv, sp = versions
    result = lint(load_documents(text, golden.name), LintOptions(kubevirt_version=kv, spiderpool_version=sp))
    errors = [f"{f.rule.slug}: {f.message}" for f in result.findings if f.severity is Severity.ERROR]
    assert errors == []
    warnings = [f"{f.rule.slug}: {f.message}" for f in result.findings if f.severity is Severity.WARNING]
    assert warnings == []
