"""CLI tests run the installed console scripts, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
# The scripts run with an empty home of their own: `virtnet new vm` without --ssh-key reads ~/.ssh/id_*.pub, and a
# test must give the same result on every machine, never the developer's own key (or kubeconfig).
HOME = Path(tempfile.mkdtemp(prefix="virtnet-cli-home-"))


def script_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTNET_DEBUG", "KUBECONFIG")}
    env["HOME"] = str(HOME)
    return env


def run_script(
    script: str, *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    exe = BIN / script
    assert exe.exists(), f"console script {script} is not installed in {BIN}: run `make setup`"
    return subprocess.run(
        [str(exe), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=script_env(),
        timeout=60,
        check=False,
    )


@pytest.fixture
def virtnet() -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return run_script("virtnet", *args, stdin=stdin, cwd=cwd)

    return run


@pytest.fixture
def ssh_key(tmp_path: Path) -> Path:
    path = tmp_path / "id.pub"
    path.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFdrc13d8dLllgF33no/g0Y7M+vlt5yyjM+ljpm+m1xX cli@test\n")
    return path
