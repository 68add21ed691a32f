"""What the program promises as a whole: an internal error is one line and exit 70, and the test runner never lets
the developer's own files (~/.ssh) into a test."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import BIN, ROOT

Run = Callable[..., subprocess.CompletedProcess[str]]

CANARY_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeveloperKeyMustNotLeakIntoTests0000000000 dev@laptop"

# Injected at interpreter start (sitecustomize on PYTHONPATH): makes rendering raise an exception virtnet does not
# expect, exactly as a bug would.
FAULT = """\
import virtnet.render

def _boom(*args, **kwargs):
    raise RuntimeError("injected fault for the exit-70 test")

virtnet.render.render_bundle = _boom
"""


def test_tests_do_not_read_the_developers_ssh_keys(
    virtnet: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "developer"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519.pub").write_text(CANARY_KEY + "\n")
    monkeypatch.setenv("HOME", str(home))
    result = virtnet("new", "vm", "a", "--mode", "masquerade")
    assert result.returncode == 0, result.stderr
    assert "DeveloperKeyMustNotLeak" not in result.stdout
    assert "no SSH key and no password" in result.stderr


def test_default_ssh_key_comes_from_home_and_is_named(tmp_path: Path) -> None:
    """Outside the test runner's isolation the documented default applies: ~/.ssh/id_ed25519.pub, named on stderr."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519.pub").write_text(CANARY_KEY + "\n")
    env = {**os.environ, "HOME": str(home)}
    result = subprocess.run(
        [str(BIN / "virtnet"), "new", "vm", "a", "--mode", "masquerade"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "DeveloperKeyMustNotLeak" in result.stdout
    assert str(home / ".ssh" / "id_ed25519.pub") in result.stderr


def _run_with_fault(tmp_path: Path, debug: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sitecustomize.py").write_text(FAULT)
    env = {k: v for k, v in os.environ.items() if k != "VIRTNET_DEBUG"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), *filter(None, [env.get("PYTHONPATH")])])
    env["HOME"] = str(tmp_path)
    if debug:
        env["VIRTNET_DEBUG"] = "1"
    return subprocess.run(
        [str(BIN / "virtnet"), "new", "vm", "a", "--mode", "masquerade"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=False,
    )  # fmt: skip


def test_an_internal_error_is_one_line_and_exit_70(tmp_path: Path) -> None:
    result = _run_with_fault(tmp_path, debug=False)
    assert result.returncode == 70, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "virtnet: internal error: RuntimeError: injected fault for the exit-70 test (set VIRTNET_DEBUG=1 for the "
        "traceback, and please report it)"
    ]
    assert result.stdout == ""


def test_virtnet_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = _run_with_fault(tmp_path, debug=True)
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "injected fault for the exit-70 test" in result.stderr
