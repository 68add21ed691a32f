"""Fixtures of the cluster tests: a real etcd + kube-apiserver with upstream CRDs (docs/envtest.md).

- ``envtest_assets`` (session): directory with ``bin/`` and ``crds/<set>/``; builds it with
  hack/envtest/build.sh when missing. If that cannot be done the tests fail with one sentence
  saying what is missing and how to get it.
- ``control_planes`` (session): ``get(crd_sets)`` starts (once per session) a control plane
  with those CRD sets installed; for tests that need another combination.
- ``cluster`` (session): ``ControlPlane`` with the newest releases (``DEFAULT_CRD_SETS``).
- ``cluster_old`` (session, started only when a test asks for it): ``ControlPlane`` with the
  releases the guide targets (``OLD_CRD_SETS``).
- ``namespace`` (function): name of a fresh namespace in ``cluster``.

A ``ControlPlane`` has ``kubeconfig`` (Path), ``client`` (lightkube ``Client``), ``server``,
``crd_sets`` and ``startup_seconds``.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from lightkube import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace

from .envtest import DEFAULT_CRD_SETS, OLD_CRD_SETS, ControlPlane, EnvtestError, ensure_assets


class ControlPlanes:
    """Control planes of this session, one per CRD-set combination, started on first use."""

    def __init__(self, assets: Path, config: pytest.Config) -> None:
        self._assets = assets
        self._config = config
        self._started: dict[tuple[str, ...], ControlPlane] = {}
        self._failed: dict[tuple[str, ...], str] = {}

    def get(self, crd_sets: Sequence[str]) -> ControlPlane:
        key = tuple(crd_sets)
        if key in self._failed:
            pytest.fail(self._failed[key], pytrace=False)
        if key not in self._started:
            try:
                plane = ControlPlane(self._assets, key).start()
            except EnvtestError as e:
                self._failed[key] = str(e)
            if key in self._failed:
                pytest.fail(self._failed[key], pytrace=False)
            self._started[key] = plane
            _report(
                self._config,
                f"kube-apiserver with {', '.join(key)}: ready in {plane.ready_seconds:.1f}s, "
                f"CRDs established in {plane.startup_seconds:.1f}s",
            )
        return self._started[key]

    def stop_all(self) -> None:
        for plane in self._started.values():
            plane.stop()
        self._started.clear()


def _report(config: pytest.Config, line: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    ctx = capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext()
    with ctx:
        reporter.write_line(f"virtnet envtest: {line}")


class _Progress:
    """A text stream that writes whole lines to the terminal past pytest's capture."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config

    def write(self, text: str) -> int:
        for line in text.splitlines():
            _report(self._config, line.removeprefix("virtnet envtest: "))
        return len(text)

    def flush(self) -> None:
        pass


@pytest.fixture(scope="session")
def envtest_assets(pytestconfig: pytest.Config) -> Path:
    try:
        return ensure_assets(progress=_Progress(pytestconfig))
    except EnvtestError as e:
        problem = str(e)
    pytest.fail(problem, pytrace=False)  # outside the except block: no "during handling" chain


@pytest.fixture(scope="session")
def control_planes(envtest_assets: Path, pytestconfig: pytest.Config) -> Iterator[ControlPlanes]:
    planes = ControlPlanes(envtest_assets, pytestconfig)
    try:
        yield planes
    finally:
        planes.stop_all()


@pytest.fixture(scope="session")
def cluster(control_planes: ControlPlanes) -> ControlPlane:
    """Control plane with the newest KubeVirt, SpiderPool and NetworkAttachmentDefinition CRDs."""
    return control_planes.get(DEFAULT_CRD_SETS)


@pytest.fixture(scope="session")
def cluster_old(control_planes: ControlPlanes) -> ControlPlane:
    """Control plane with the KubeVirt CRDs of the release the guide targets (v1.0.1; SpiderPool: see OLD_CRD_SETS)."""
    return control_planes.get(OLD_CRD_SETS)


@pytest.fixture
def namespace(cluster: ControlPlane, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace in ``cluster``, deleted afterwards (it stays Terminating: no controllers run)."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{slug or 't'}-{secrets.token_hex(3)}"
    cluster.client.create(Namespace(metadata=ObjectMeta(name=name)))
    try:
        yield name
    finally:
        with contextlib.suppress(ApiError):
            cluster.client.delete(Namespace, name)


@pytest.fixture(scope="module")
def own_cluster(envtest_assets: Path) -> Iterator[ControlPlane]:
    """A control plane of this test module alone (newest CRDs), for tests that change cluster-wide state
    (SpiderIPPools, the KubeVirt CR, spiderpool-conf) or stop the API server."""
    plane = ControlPlane(envtest_assets, DEFAULT_CRD_SETS)
    try:
        plane.start()
    except EnvtestError as e:
        problem = str(e)
    else:
        try:
            yield plane
        finally:
            plane.stop()
        return
    pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="module")
def own_cluster_old(envtest_assets: Path) -> Iterator[ControlPlane]:
    """Like ``own_cluster`` with the releases the guide targets (KubeVirt v1.0.1, SpiderPool v0.8.13)."""
    plane = ControlPlane(envtest_assets, OLD_CRD_SETS)
    try:
        plane.start()
    except EnvtestError as e:
        problem = str(e)
    else:
        try:
            yield plane
        finally:
            plane.stop()
        return
    pytest.fail(problem, pytrace=False)
