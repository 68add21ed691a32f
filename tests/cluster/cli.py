"""Running the installed ``virtnet`` console script against a test control plane, as a user would.

``virtnet_on(plane)`` gives a runner that passes ``--kubeconfig`` through the ``KUBECONFIG`` environment variable
(so every verb is exercised the way kubectl users configure it); ``parse_json`` reads ``-o json`` output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from .envtest import REPO_ROOT, ControlPlane

BIN = Path(sys.executable).parent
EMPTY_HOME = Path(tempfile.mkdtemp(prefix="virtnet-cluster-home-"))


class Runner(Protocol):
    def __call__(
        self, *args: str, stdin: str | None = None, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]: ...


def run_virtnet(
    *args: str,
    kubeconfig: Path | str | None = None,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    exe = BIN / "virtnet"
    assert exe.exists(), f"console script virtnet is not installed in {BIN}: run `make setup`"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("VIRTNET_DEBUG")}
    # an empty home: `virtnet new vm` without --ssh-key would read the developer's ~/.ssh (a test passes HOME in
    # env to test ~/.kube/config)
    environ["HOME"] = str(EMPTY_HOME)
    if kubeconfig is not None:
        environ["KUBECONFIG"] = str(kubeconfig)
    environ.update(env or {})
    return subprocess.run(
        [str(exe), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=environ,
        timeout=timeout,
        check=False,
    )


def virtnet_on(plane: ControlPlane) -> Runner:
    def run(
        *args: str, stdin: str | None = None, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return run_virtnet(*args, kubeconfig=plane.kubeconfig, stdin=stdin, env=env, timeout=timeout)

    return run


def parse_json(proc: subprocess.CompletedProcess[str]) -> Any:
    try:
        return json.loads(proc.stdout)
    except ValueError as err:
        raise AssertionError(
            f"not JSON (exit {proc.returncode}): {err}\nstdout: {proc.stdout[:2000]}\nstderr: {proc.stderr[:2000]}"
        ) from None


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """``proc``, after asserting it exited 0 without a traceback."""
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    return proc
