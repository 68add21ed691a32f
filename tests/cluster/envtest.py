"""A real Kubernetes test control plane (etcd + kube-apiserver) for the cluster tests.

The binaries and CRD sets come from ``hack/envtest/build.sh`` (see docs/envtest.md);
this module starts them on loopback ports, installs the selected CRD sets and hands
out a ready lightkube ``Client``. Everything it starts is stopped again by
``ControlPlane.stop()``, by the context manager, and at interpreter exit.

Helpers that talk to the API server the way ``kubectl`` does, but with the knobs the
tests need (``fieldValidation``, ``dryRun``, the ``Warning`` response headers):
``server_side_apply``, ``dry_run_apply``, ``create`` and ``get``; ``service_account_kubeconfig``
makes a user with exactly the given RBAC rules.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx2
import yaml
from lightkube import ApiError, Client, KubeConfig
from lightkube.config import client_adapter

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "hack" / "envtest" / "build.sh"

#: Newest releases: what the default ``cluster`` fixture installs.
DEFAULT_CRD_SETS: tuple[str, ...] = ("kubevirt-v1.9.0", "spiderpool-v1.2.2", "nad-v1.7.7")
#: The releases the guide targets: what the ``cluster_old`` fixture installs. SpiderPool v0.8.13 comes from the
#: SHA-256-pinned chart files (hack/envtest/crd-fallback.sha256), as the Go module proxy does not serve it.
OLD_CRD_SETS: tuple[str, ...] = ("kubevirt-v1.0.1", "spiderpool-v0.8.13", "nad-v1.7.7")

# libyaml's loader when PyYAML has it: the KubeVirt CRDs are ~1.7 MB of YAML, 3 s in pure Python.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ADMIN_USER = "envtest-admin"
START_TIMEOUT = 120.0  # seconds for etcd + kube-apiserver ready + CRDs established


class Progress(Protocol):
    """Where ``ensure_assets`` says that a (long) build starts: a text stream."""

    def write(self, text: str, /) -> int: ...
    def flush(self) -> None: ...


class EnvtestError(RuntimeError):
    """The test control plane could not be built or started (the message says why and what to do)."""


# --------------------------------------------------------------------------- build


def ensure_assets(progress: Progress | None = None) -> Path:
    """Return the directory holding ``bin/kube-apiserver``, ``bin/etcd`` and ``crds/<set>/``.

    ``VIRTNET_ENVTEST_ASSETS`` may name a ready directory; otherwise ``hack/envtest/build.sh``
    runs, which returns at once when its cache is complete and builds (many minutes) when not.
    """
    override = os.environ.get("VIRTNET_ENVTEST_ASSETS")
    if override:
        assets = Path(override)
        if not (assets / "bin" / "kube-apiserver").is_file():
            raise EnvtestError(f"VIRTNET_ENVTEST_ASSETS={override} holds no bin/kube-apiserver")
        return assets
    if shutil.which("bash") is None:
        raise EnvtestError("bash is required to run hack/envtest/build.sh: install it and re-run")
    where = subprocess.run(["bash", str(BUILD_SCRIPT), "--dir"], capture_output=True, text=True)
    if where.returncode != 0:
        raise EnvtestError(f"hack/envtest/build.sh --dir failed: {where.stderr.strip()}")
    cached = where.stdout.strip()
    if not (Path(cached) / ".complete").is_file() and progress is not None:
        progress.write(
            f"virtnet envtest: building kube-apiserver + etcd into {cached} "
            "(first run on this machine: about 8 minutes on 2 cores)\n"
        )
        progress.flush()
    with tempfile.NamedTemporaryFile("w+", prefix="virtnet-envtest-build-", suffix=".log", delete=False) as log:
        proc = subprocess.run(["bash", str(BUILD_SCRIPT)], stdout=subprocess.PIPE, stderr=log, text=True)
        log.seek(0)
        output = log.read()
    if proc.returncode != 0:
        said = [line.removeprefix("envtest: ") for line in output.splitlines() if line.startswith("envtest: ")]
        reason = said[-1] if said else f"hack/envtest/build.sh exited with status {proc.returncode}"
        raise EnvtestError(f"{reason} [build log: {log.name}]")
    os.unlink(log.name)
    return Path(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- processes


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: have the kernel kill the child when pytest dies without running atexit (SIGKILL).

    SIGKILL, not SIGTERM: both processes would get it at once, etcd exits at once, and a
    kube-apiserver shutting down gracefully without its etcd hangs.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL))


class _Process:
    def __init__(self, name: str, argv: list[str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: killpg reaches anything it forks
            preexec_fn=_die_with_parent,
        )

    def exited(self) -> bool:
        return self.popen.poll() is not None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()


def _openssl_rsa_key(path: Path) -> None:
    if shutil.which("openssl") is None:
        raise EnvtestError(
            "openssl is required to make the service-account key of the test control plane: "
            "install it (Debian: apt-get install openssl) and re-run"
        )
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(path)],
        check=True,
        capture_output=True,
    )


# --------------------------------------------------------------------------- control plane


WORKDIR_PREFIX = "virtnet-envtest-"


def _sweep_stale_workdirs() -> None:
    """Remove work directories left by test runs that were killed (SIGKILL runs no cleanup)."""
    for d in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        try:
            pid = int((d / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except PermissionError:
            continue


@dataclass(frozen=True)
class CrdSet:
    name: str
    project: str
    files: tuple[Path, ...]


def crd_set(assets: Path, name: str) -> CrdSet:
    directory = assets / "crds" / name
    files = tuple(sorted(directory.glob("*.yaml")))
    if not files:
        available = sorted(p.name for p in (assets / "crds").iterdir() if p.is_dir())
        skipped = assets / "crds" / "SKIPPED"
        why = ""
        if skipped.is_file() and name in skipped.read_text().split():
            why = (
                " It was skipped at build time because its upstream files could not be had "
                "(see VERSIONS and docs/envtest.md: the SpiderPool v0.8 chart CRDs need the pinned "
                "fallback directory, VIRTNET_ENVTEST_CRD_FALLBACK); then re-run hack/envtest/build.sh --force."
            )
        raise EnvtestError(f"CRD set {name!r} is not in {assets / 'crds'} (available: {', '.join(available)}).{why}")
    return CrdSet(name=name, project=name.rsplit("-v", 1)[0], files=files)


class ControlPlane:
    """etcd + kube-apiserver on loopback, with CRD sets installed.

    Attributes once started: ``kubeconfig`` (path of an admin kubeconfig), ``client``
    (lightkube ``Client`` built from it), ``server`` (https URL), ``crd_sets``,
    ``ready_seconds`` (process start until ``/readyz`` is ok) and ``startup_seconds`` (until
    every CRD is Established and discoverable).
    """

    def __init__(
        self,
        assets: Path,
        crd_sets: Sequence[str],
        workdir: Path | None = None,
        extra_apiserver_args: Sequence[str] = (),
    ) -> None:
        self.assets = assets
        self.crd_sets = tuple(crd_sets)
        self._extra_args = list(extra_apiserver_args)
        sets = [crd_set(assets, n) for n in self.crd_sets]
        projects = [s.project for s in sets]
        if len(set(projects)) != len(projects):
            raise EnvtestError(f"CRD sets {self.crd_sets} install two releases of the same project")
        self._sets = sets
        self._own_workdir = workdir is None
        if workdir is None:
            _sweep_stale_workdirs()
            workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
            (workdir / "owner.pid").write_text(f"{os.getpid()}\n")
        self.workdir = workdir
        self._procs: list[_Process] = []
        self._crds: list[dict[str, Any]] = []
        self._client: Client | None = None
        self.kubeconfig = self.workdir / "kubeconfig"
        self.server = ""
        self.ready_seconds = 0.0  # processes started until /readyz said ok
        self.startup_seconds = 0.0  # ... until every CRD was Established and discoverable
        self._stopped = False

    # -- lifecycle

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def client(self) -> Client:
        if self._client is None:
            raise EnvtestError("the control plane is not started")
        return self._client

    def start(self) -> ControlPlane:
        atexit.register(self.stop)
        began = time.monotonic()
        try:
            for attempt in range(3):
                try:
                    self._start_processes()
                    break
                except _PortTakenError:
                    self._stop_processes()
                    if attempt == 2:
                        raise
            self.ready_seconds = time.monotonic() - began
            self._client = Client(KubeConfig.from_file(self.kubeconfig), trust_env=False)
            self._install_crds(began + START_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._client is not None:
            self._client.close()
        _close_http(self._client)
        self._stop_processes()
        if self._own_workdir and not os.environ.get("VIRTNET_ENVTEST_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)
        atexit.unregister(self.stop)

    def _stop_processes(self) -> None:
        # kube-apiserver first, then etcd (it was started first).
        for proc in reversed(self._procs):
            proc.stop()
        self._procs.clear()

    # -- kube-apiserver alone (etcd keeps running and keeps the data)

    def stop_apiserver(self) -> None:
        """Stop only kube-apiserver, as a server that goes away in the middle of a client's work; etcd, the port,
        the certificates and the token stay, so :meth:`restart_apiserver` brings the same cluster back."""
        proc = next((p for p in self._procs if p.name == "kube-apiserver"), None)
        if proc is None:
            raise EnvtestError("kube-apiserver is not running")
        self._stopped_apiserver_args = [str(a) for a in proc.popen.args]  # type: ignore[union-attr]  # a list: Popen(argv)
        proc.stop()
        self._procs.remove(proc)

    def restart_apiserver(self) -> None:
        """Start kube-apiserver again with the arguments it had (same port, certificates, token and etcd) and wait
        until it is ready and serves every CRD again."""
        argv = getattr(self, "_stopped_apiserver_args", None)
        if argv is None:
            raise EnvtestError("restart_apiserver() needs a stop_apiserver() first")
        self._restarts = getattr(self, "_restarts", 0) + 1
        self._procs.append(_Process("kube-apiserver", argv, self.workdir / f"kube-apiserver.{self._restarts}.log"))
        del self._stopped_apiserver_args
        pki = self.workdir / "pki"
        token = (pki / "tokens.csv").read_text().split(",", 1)[0]
        deadline = time.monotonic() + START_TIMEOUT
        self._wait_ready(pki / "apiserver.crt", token, deadline)
        # fresh connections: the old keep-alive ones died with the old process
        if self._client is not None:
            _close_http(self._client)
            self._client.close()
            self._client = Client(KubeConfig.from_file(self.kubeconfig), trust_env=False)
        http = http_session(self.client)
        served: dict[str, set[str]] = {}
        for doc in self._crds:
            spec = doc["spec"]
            for v in spec["versions"]:
                if v.get("served"):
                    served.setdefault(f"{spec['group']}/{v['name']}", set()).add(spec["names"]["plural"])
        while served:
            if time.monotonic() > deadline:
                raise EnvtestError(f"CRDs not in discovery within {START_TIMEOUT:.0f}s after restart: {sorted(served)}")
            for gv in sorted(served):
                resp = http.get(f"/apis/{gv}")
                if resp.status_code == 200 and served[gv] <= {r["name"] for r in resp.json().get("resources", [])}:
                    del served[gv]
            if served:
                time.sleep(0.05)

    # -- start-up steps

    def _start_processes(self) -> None:
        wd = self.workdir
        bin_dir = self.assets / "bin"
        etcd_client, etcd_peer, secure = _free_port(), _free_port(), _free_port()
        etcd_dir = wd / "etcd"
        shutil.rmtree(etcd_dir, ignore_errors=True)
        pki = wd / "pki"
        pki.mkdir(exist_ok=True)
        sa_key = pki / "service-account.key"
        if not sa_key.exists():
            _openssl_rsa_key(sa_key)
        token = secrets.token_hex(24)
        tokens = pki / "tokens.csv"
        tokens.write_text(f'{token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n')
        tokens.chmod(0o600)

        etcd = _Process(
            "etcd",
            [
                str(bin_dir / "etcd"),
                "--name=envtest",
                f"--data-dir={etcd_dir}",
                f"--listen-client-urls=http://127.0.0.1:{etcd_client}",
                f"--advertise-client-urls=http://127.0.0.1:{etcd_client}",
                f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-cluster=envtest=http://127.0.0.1:{etcd_peer}",
                "--unsafe-no-fsync=true",  # test data: speed over durability
                "--log-level=warn",
            ],
            wd / "etcd.log",
        )
        self._procs.append(etcd)
        apiserver = _Process(
            "kube-apiserver",
            [
                str(bin_dir / "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{etcd_client}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={secure}",
                f"--cert-dir={pki}",  # self-signed serving cert made by the apiserver itself
                "--service-cluster-ip-range=10.0.0.0/24",
                "--allow-privileged=true",
                "--authorization-mode=RBAC",
                f"--token-auth-file={tokens}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={sa_key}",
                f"--service-account-signing-key-file={sa_key}",
                "--profiling=false",
                *self._extra_args,
            ],
            wd / "kube-apiserver.log",
        )
        self._procs.append(apiserver)
        self.server = f"https://127.0.0.1:{secure}"
        if not self._crds:  # parse while the processes boot
            self._crds = load_manifests(f for crds in self._sets for f in crds.files)
        ca = pki / "apiserver.crt"
        self._wait_ready(ca, token, time.monotonic() + START_TIMEOUT)
        self._write_kubeconfig(ca, token)

    def _check_alive(self) -> None:
        for proc in self._procs:
            if proc.exited():
                tail = proc.log_tail()
                if "address already in use" in tail:
                    raise _PortTakenError(proc.name)
                raise EnvtestError(
                    f"{proc.name} exited with status {proc.popen.returncode} while the test control plane "
                    f"was starting; last lines of {proc.log_path}:\n{tail}"
                )

    def _wait_ready(self, ca: Path, token: str, deadline: float) -> None:
        last = "no answer yet"
        while time.monotonic() < deadline:
            self._check_alive()
            if ca.is_file():
                request = urllib.request.Request(f"{self.server}/readyz", headers={"Authorization": f"Bearer {token}"})
                try:
                    context = ssl.create_default_context(cafile=str(ca))
                    with urllib.request.urlopen(request, context=context, timeout=5) as resp:
                        if resp.status == 200:
                            return
                except urllib.error.HTTPError as e:
                    last = f"HTTP {e.code}: {e.read()[-300:].decode(errors='replace')}"
                except (OSError, ssl.SSLError) as e:
                    last = str(e)
            time.sleep(0.1)
        tails = "\n".join(f"--- {p.log_path}:\n{p.log_tail()}" for p in self._procs)
        raise EnvtestError(f"kube-apiserver was not ready within {START_TIMEOUT:.0f}s ({last})\n{tails}")

    def _write_kubeconfig(self, ca: Path, token: str) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "envtest",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": base64.b64encode(ca.read_bytes()).decode(),
                    },
                }
            ],
            "users": [{"name": ADMIN_USER, "user": {"token": token}}],
            "contexts": [
                {"name": "envtest", "context": {"cluster": "envtest", "user": ADMIN_USER, "namespace": "default"}}
            ],
            "current-context": "envtest",
        }
        self.kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))
        self.kubeconfig.chmod(0o600)

    def _install_crds(self, deadline: float) -> None:
        http = http_session(self.client)
        names: list[str] = []
        served: dict[str, set[str]] = {}
        for doc in self._crds:
            resp = http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=doc)
            _raise_for_status(resp)
            names.append(doc["metadata"]["name"])
            spec = doc["spec"]
            for v in spec["versions"]:
                if v.get("served"):
                    served.setdefault(f"{spec['group']}/{v['name']}", set()).add(spec["names"]["plural"])
        pending = set(names)
        while pending:
            if time.monotonic() > deadline:
                raise EnvtestError(f"CRDs not Established within {START_TIMEOUT:.0f}s: {sorted(pending)}")
            self._check_alive()
            for name in sorted(pending):
                resp = http.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
                _raise_for_status(resp)
                conditions = (resp.json().get("status") or {}).get("conditions") or []
                if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                    pending.discard(name)
            if pending:
                time.sleep(0.05)
        # Established means the endpoints serve; discovery follows a moment later.
        while served:
            if time.monotonic() > deadline:
                raise EnvtestError(f"CRDs not in discovery within {START_TIMEOUT:.0f}s: {sorted(served)}")
            for gv in sorted(served):
                resp = http.get(f"/apis/{gv}")
                if resp.status_code == 200:
                    listed = {r["name"] for r in resp.json().get("resources", [])}
                    if served[gv] <= listed:
                        del served[gv]
            if served:
                time.sleep(0.05)


class _PortTakenError(EnvtestError):
    pass


# --------------------------------------------------------------------------- API helpers

_HTTP: weakref.WeakKeyDictionary[Client, httpx2.Client] = weakref.WeakKeyDictionary()
_PLURALS: weakref.WeakKeyDictionary[Client, dict[tuple[str, str], tuple[str, bool]]] = weakref.WeakKeyDictionary()


def http_session(client: Client) -> httpx2.Client:
    """An httpx2 session to the server of ``client``, with its credentials (for raw requests)."""
    session = _HTTP.get(client)
    if session is None:
        session = client_adapter.Client(client.config, client_adapter.ConnectionParams(trust_env=False))
        _HTTP[client] = session
    return session


def _close_http(client: Client | None) -> None:
    if client is not None and client in _HTTP:
        _HTTP.pop(client).close()


def _raise_for_status(resp: httpx2.Response) -> None:
    if resp.status_code >= 400:
        raise ApiError(request=resp.request, response=resp)


_WARNING = re.compile(r'^\s*\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"')


def warnings_of(resp: httpx2.Response) -> list[str]:
    """The texts of the ``Warning: 299 - "text"`` headers of a response (RFC 7234 format)."""
    texts = []
    for value in resp.headers.get_list("warning"):
        m = _WARNING.match(value)
        texts.append(re.sub(r"\\(.)", r"\1", m.group(1)) if m else value)
    return texts


def _as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, Mapping):
        return dict(obj)
    to_dict = getattr(obj, "to_dict", None)
    if to_dict is None:
        raise TypeError(f"expected a manifest mapping or a lightkube resource, got {type(obj).__name__}")
    result: dict[str, Any] = to_dict()
    return result


def resource_path(client: Client, obj: Mapping[str, Any], *, named: bool = True) -> str:
    """The REST path of ``obj`` (collection path when ``named`` is false), found through discovery."""
    api_version, kind = obj["apiVersion"], obj["kind"]
    group, _, version = api_version.rpartition("/")
    plural, namespaced = _plural(client, api_version, kind)
    parts = ["/api", version] if not group else ["/apis", group, version]
    if namespaced:
        namespace = obj.get("metadata", {}).get("namespace") or client.namespace
        parts += ["namespaces", namespace]
    parts.append(plural)
    if named:
        parts.append(obj["metadata"]["name"])
    return "/".join(parts)


def _plural(client: Client, api_version: str, kind: str) -> tuple[str, bool]:
    cache = _PLURALS.setdefault(client, {})
    key = (api_version, kind)
    if key not in cache:
        path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        resp = http_session(client).get(path)
        _raise_for_status(resp)
        for r in resp.json().get("resources", []):
            if "/" not in r["name"]:
                cache[(api_version, r["kind"])] = (r["name"], bool(r["namespaced"]))
        if key not in cache:
            raise LookupError(f"the API server serves no kind {kind} in {api_version}")
    return cache[key]


@dataclass(frozen=True)
class Result:
    """What the API server answered: the object it returned and the ``Warning`` headers."""

    object: dict[str, Any]
    warnings: list[str]


def server_side_apply(
    client: Client,
    obj: Any,
    *,
    field_manager: str,
    dry_run: bool = False,
    force: bool = False,
    field_validation: str = "Strict",
) -> Result:
    """Server-side apply ``obj`` (a manifest mapping or lightkube resource).

    Raises ``lightkube.ApiError`` with the API server's Status when it refuses.
    """
    manifest = _as_dict(obj)
    params = {"fieldManager": field_manager, "fieldValidation": field_validation}
    if dry_run:
        params["dryRun"] = "All"
    if force:
        params["force"] = "true"
    resp = http_session(client).patch(
        resource_path(client, manifest),
        params=params,
        content=json.dumps(manifest).encode(),  # JSON is YAML: valid apply-patch+yaml
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    _raise_for_status(resp)
    return Result(resp.json(), warnings_of(resp))


def dry_run_apply(client: Client, obj: Any, field_manager: str = "virtnet-test") -> list[str]:
    """Server-side apply ``obj`` with ``dryRun=All``, ``fieldValidation=Strict`` and ``force=true``.

    Nothing is stored. Returns the API server's warnings (``Warning`` response headers, e.g.
    deprecated API versions); raises ``lightkube.ApiError`` when the server rejects the object
    (unknown or duplicate fields, schema violations, missing namespace, ...).
    """
    return server_side_apply(client, obj, field_manager=field_manager, dry_run=True, force=True).warnings


def create(client: Client, obj: Any, *, field_validation: str = "Strict", dry_run: bool = False) -> Result:
    """POST ``obj`` (create) with the given ``fieldValidation``; raises ``lightkube.ApiError`` on refusal."""
    manifest = _as_dict(obj)
    params = {"fieldValidation": field_validation}
    if dry_run:
        params["dryRun"] = "All"
    resp = http_session(client).post(resource_path(client, manifest, named=False), params=params, json=manifest)
    _raise_for_status(resp)
    return Result(resp.json(), warnings_of(resp))


def ref(api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    """Just enough of a manifest to name an object (what :func:`resource_path` needs)."""
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}


def get(plane: ControlPlane, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
    """The object as the API server stores it, or None when it does not exist."""
    resp = http_session(plane.client).get(resource_path(plane.client, ref(api_version, kind, name, namespace)))
    if resp.status_code == 404:
        return None
    assert resp.status_code == 200, resp.text
    return resp.json()


def write_status(plane: ControlPlane, obj: Mapping[str, Any], status: Mapping[str, Any]) -> None:
    """Merge-patch ``status`` through the object's ``/status`` subresource, as the controller that owns it would."""
    resp = http_session(plane.client).patch(
        resource_path(plane.client, obj) + "/status",
        content=json.dumps({"status": status}).encode(),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert resp.status_code == 200, resp.text


def service_account_kubeconfig(plane: ControlPlane, work: Path, name: str, rules: Sequence[Mapping[str, Any]]) -> Path:
    """``work/<name>.kubeconfig``: ServiceAccount ``default/<name>``, bound to ClusterRole ``<name>`` with ``rules``
    (nothing more), with a token from the TokenRequest API."""
    rbac = "rbac.authorization.k8s.io/v1"
    for obj in (
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "default"}},
        {"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": name}, "rules": list(rules)},
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "default"}],
        },
    ):
        server_side_apply(plane.client, obj, field_manager="virtnet-test", force=True)
    resp = http_session(plane.client).post(
        f"/api/v1/namespaces/default/serviceaccounts/{name}/token",
        json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}},
    )
    assert resp.status_code == 201, resp.text
    config = yaml.safe_load(plane.kubeconfig.read_text())  # the admin's: same server, CA and namespace (default)
    config["users"] = [{"name": name, "user": {"token": resp.json()["status"]["token"]}}]
    config["contexts"][0]["context"]["user"] = name
    path = work / f"{name}.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def load_manifests(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every non-empty YAML document of ``paths``, in order."""
    docs: list[dict[str, Any]] = []
    for path in paths:
        docs.extend(d for d in yaml.load_all(path.read_text(), Loader=_YAML_LOADER) if d)
    return docs
