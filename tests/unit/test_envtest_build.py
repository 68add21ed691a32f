"""hack/envtest/build.sh refuses to build when the pinned SpiderPool v0.8.13 CRD files are missing or changed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "hack/envtest/build.sh"
PINS = ROOT / "hack/envtest/crd-fallback.sha256"


def pinned_files() -> list[str]:
    return [line.split()[1] for line in PINS.read_text().splitlines() if line and not line.startswith("#")]


def build(fallback: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VIRTNET_ENVTEST_CRD_FALLBACK": str(fallback), "VIRTNET_ENVTEST_CACHE": str(cache)}
    return subprocess.run(["bash", str(BUILD)], capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.fixture
def go_available() -> None:
    assert shutil.which("go"), "Go is required by hack/envtest/build.sh (README: the two commands)"


def test_pins_cover_the_six_spiderpool_v0_8_13_crds() -> None:
    files = pinned_files()
    assert len(files) == 6
    assert all(f.startswith("spiderpool/v0.8.13/spiderpool.spidernet.io_") for f in files)


def test_missing_pinned_file_stops_the_build_with_one_sentence(go_available: None, tmp_path: Path) -> None:
    proc = build(tmp_path / "nothing-here", tmp_path / "cache")
    assert proc.returncode == 4, proc.stderr
    said = [line for line in proc.stderr.splitlines() if line.startswith("envtest: ")]
    assert len(said) == 1, proc.stderr
    assert "spiderpool/v0.8.13/" in said[0]
    assert "is missing from" in said[0]
    assert not any((tmp_path / "cache").glob("*/.complete"))


def test_changed_pinned_file_stops_the_build_naming_both_sums(go_available: None, tmp_path: Path) -> None:
    fallback = tmp_path / "crds"
    for name in pinned_files():
        (fallback / name).parent.mkdir(parents=True, exist_ok=True)
        (fallback / name).write_text("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n")
    proc = build(fallback, tmp_path / "cache")
    assert proc.returncode == 4, proc.stderr
    said = [line for line in proc.stderr.splitlines() if line.startswith("envtest: ")]
    assert len(said) == 1, proc.stderr
    assert "differs from the upstream file pinned in hack/envtest/crd-fallback.sha256" in said[0]
