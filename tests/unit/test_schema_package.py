"""`pip install virtnet` brings the schemas along: the wheel holds src/virtnet/schemas/data/, and an installed copy
loads every set through importlib.resources with no network and no repository around (built and installed with
--no-index, run with ``python -S`` from an empty directory so neither site-packages nor the source tree is seen)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.cli.conftest import ROOT

DATA = ROOT / "src/virtnet/schemas/data"

LOAD_ALL = """
import json, sys
target = sys.argv[1]
sys.path.insert(0, target)
import virtnet.schemas as schemas
assert schemas.__file__.startswith(target), schemas.__file__
out = {}
for project, sets in schemas.index()["sets"].items():
    for entry in sets:
        loaded = schemas.load(project, entry["version"])
        out[f"{project}-{entry['version']}"] = sorted(loaded.kinds)
print(json.dumps(out))
"""


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}
    env["PIP_NO_INDEX"] = "1"  # offline: nothing may come from a package index
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300)


def test_the_wheel_ships_the_schemas_and_an_installed_copy_loads_them_offline(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist),
        str(ROOT), cwd=tmp_path,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("virtnet-*.whl")
    shipped = {f"virtnet/schemas/data/{p.name}" for p in DATA.iterdir() if p.suffix in (".json", ".gz")}
    assert len(shipped) >= 14
    assert shipped <= set(zipfile.ZipFile(wheel).namelist())

    site = tmp_path / "site"
    installed = _run(
        sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(site), str(wheel),
        cwd=tmp_path,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    loaded = _run(sys.executable, "-S", "-c", LOAD_ALL, str(site), cwd=empty)
    assert loaded.returncode == 0, loaded.stderr
    sets = json.loads(loaded.stdout)
    assert sets["kubevirt-v1.0.1"] == ["KubeVirt", "VirtualMachine", "VirtualMachineInstance"]
    assert sets["kubevirt-v1.9.0"] == ["KubeVirt", "VirtualMachine", "VirtualMachineInstance"]
    assert len([k for k in sets if k.startswith("kubevirt-")]) == 10
    assert "SpiderIPPool" in sets["spiderpool-v0.8.13"]
    assert "SpiderMultusConfig" in sets["spiderpool-v1.2.2"]
    assert sets["nad-v1.7.7"] == ["NetworkAttachmentDefinition"]
