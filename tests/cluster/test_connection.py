"""Connecting like kubectl, and every way a connection fails, through the console script of each cluster verb.

kubectl's rules: --kubeconfig, else $KUBECONFIG (several files merged, the first to name an entry wins), else
~/.kube/config, else the pod's service account; --context, else current-context; -n, else the context's namespace,
else ``default``. Failures are one line on stderr naming the server or object and the next step, exit 1 (exit 2 for
a bad kubeconfig: that is input), and never a traceback.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from .cli import run_virtnet
from .envtest import ControlPlane, create, http_session

pytestmark = pytest.mark.cluster

# One invocation of every verb that talks to a cluster (apply reads a file first, so it gets one).
VM_FILE = Path(__file__).resolve().parents[1] / "fixtures/guide/01-masquerade-calico-vm.yaml"
READ_VERBS = {
    "doctor": ("doctor",),
    "status": ("status", "no-such-vm"),
    "pool-usage": ("pool", "usage"),
    "lint-cluster": ("lint", "--cluster"),
}
ALL_VERBS = {**READ_VERBS, "apply": ("apply", "--no-lint", "-f", str(VM_FILE))}


def kubeconfig_for(server: str, token: str, *, namespace: str | None = None, ca: bytes | None = None) -> dict[str, Any]:
    cluster: dict[str, Any] = {"server": server}
    if ca is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
    context: dict[str, Any] = {"cluster": "c", "user": "u"}
    if namespace:
        context["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "ctx", "context": context}],
        "current-context": "ctx",
    }


def write(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def plane_ca(plane: ControlPlane) -> bytes:
    return (plane.workdir / "pki" / "apiserver.crt").read_bytes()


def admin_token(plane: ControlPlane) -> str:
    return (plane.workdir / "pki" / "tokens.csv").read_text().split(",", 1)[0]


# --- servers that misbehave ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: nothing listens there


class _Answer(BaseHTTPRequestHandler):
    status = 500
    body = b'{"kind":"Status","apiVersion":"v1","status":"Failure","message":"etcdserver: leader changed","code":500}'
    content_type = "application/json"

    def _reply(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_PATCH = do_PUT = do_POST = _reply  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


class _Html(_Answer):
    status = 200
    body = b"<html><body>Welcome to nginx!</body></html>"
    content_type = "text/html"


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- failures, every verb ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", sorted(ALL_VERBS))
def test_closed_port_is_one_line_exit_1(verb: str, closed_port: int, tmp_path: Path) -> None:
    config = write(tmp_path / "kc", kubeconfig_for(f"https://127.0.0.1:{closed_port}", "t"))
    proc = run_virtnet(*ALL_VERBS[verb], "--kubeconfig", str(config))
    assert_one_line_error(proc, 1, f"cannot reach the API server at https://127.0.0.1:{closed_port}", "refused")


@pytest.mark.parametrize("verb", sorted(ALL_VERBS))
def test_server_answering_500_is_one_line_exit_1(verb: str, tmp_path: Path) -> None:
    with serving(_Answer) as url:
        config = write(tmp_path / "kc", kubeconfig_for(url, "t"))
        proc = run_virtnet(*ALL_VERBS[verb], "--kubeconfig", str(config))
    assert_one_line_error(proc, 1, url, "500", "etcdserver: leader changed")


def test_something_that_is_not_kubernetes_is_named(tmp_path: Path) -> None:
    with serving(_Html) as url:
        config = write(tmp_path / "kc", kubeconfig_for(url, "t"))
        proc = run_virtnet("doctor", "--kubeconfig", str(config))
    assert_one_line_error(proc, 1, "not JSON", "Kubernetes API server")


@pytest.mark.parametrize("verb", sorted(READ_VERBS))
def test_wrong_token_is_401_with_next_step(verb: str, cluster: ControlPlane, tmp_path: Path) -> None:
    config = write(tmp_path / "kc", kubeconfig_for(cluster.server, "not-a-token", ca=plane_ca(cluster)))
    proc = run_virtnet(*READ_VERBS[verb], "--kubeconfig", str(config))
    assert_one_line_error(proc, 1, "401", "credentials")


def test_untrusted_certificate_is_named(cluster: ControlPlane, tmp_path: Path) -> None:
    config = write(tmp_path / "kc", kubeconfig_for(cluster.server, admin_token(cluster)))  # no CA: system roots
    proc = run_virtnet("pool", "usage", "--kubeconfig", str(config))
    assert_one_line_error(proc, 1, "TLS certificate is not trusted")


def test_crd_not_installed_is_said_so(control_planes: Any, tmp_path: Path) -> None:
    plane = control_planes.get(("kubevirt-v1.9.0", "nad-v1.7.7"))  # no SpiderPool
    proc = run_virtnet("pool", "usage", "--kubeconfig", str(plane.kubeconfig))
    assert_one_line_error(proc, 1, "SpiderIPPool", "is not installed", "install SpiderPool")


def test_forbidden_names_verb_and_resource(cluster: ControlPlane, namespace: str, tmp_path: Path) -> None:
    token = service_account_token(cluster, namespace, "nobody")
    config = write(tmp_path / "kc", kubeconfig_for(cluster.server, token, namespace=namespace, ca=plane_ca(cluster)))
    proc = run_virtnet("status", "vm1", "--kubeconfig", str(config))
    line = assert_one_line_error(proc, 1, "forbidden", "get on virtualmachines.kubevirt.io", f"namespace {namespace}")
    assert "deploy/rbac" in line


# --- bad kubeconfig: input, exit 2 ---------------------------------------------------------------------------------


def test_missing_kubeconfig_file_is_exit_2(tmp_path: Path) -> None:
    proc = run_virtnet("doctor", "--kubeconfig", str(tmp_path / "nope"))
    assert_one_line_error(proc, 2, str(tmp_path / "nope"), "does not exist")


def test_kubeconfig_that_is_not_yaml_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "kc").write_text("clusters: [\n")
    proc = run_virtnet("doctor", "--kubeconfig", str(tmp_path / "kc"))
    assert_one_line_error(proc, 2, "not valid YAML")


def test_unknown_context_lists_the_known_ones(cluster: ControlPlane) -> None:
    proc = run_virtnet("doctor", "--kubeconfig", str(cluster.kubeconfig), "--context", "prod")
    assert_one_line_error(proc, 2, "no context 'prod'", "envtest")


def test_no_kubeconfig_anywhere_says_how_to_get_one(tmp_path: Path) -> None:
    proc = run_virtnet("doctor", env={"HOME": str(tmp_path), "KUBECONFIG": ""})
    assert_one_line_error(proc, 2, "--kubeconfig", "KUBECONFIG", "service account")


# --- selecting cluster, context and namespace like kubectl ---------------------------------------------------------


def _vm(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "runStrategy": "Halted",
            "template": {"spec": {"domain": {"devices": {}}}},
        },
    }


def test_namespace_comes_from_the_context_then_the_flag(cluster: ControlPlane, namespace: str, tmp_path: Path) -> None:
    create(cluster.client, _vm("ctx-vm", namespace))
    config = kubeconfig_for(cluster.server, admin_token(cluster), namespace=namespace, ca=plane_ca(cluster))
    path = write(tmp_path / "kc", config)
    from_context = run_virtnet("status", "ctx-vm", "-o", "json", "--kubeconfig", str(path))
    assert "does not exist" not in from_context.stderr, from_context.stderr
    assert json.loads(from_context.stdout)["vm"]["namespace"] == namespace
    elsewhere = run_virtnet("status", "ctx-vm", "-n", "default", "--kubeconfig", str(path))
    assert elsewhere.returncode == 1
    assert "default" in elsewhere.stderr


def test_kubeconfig_env_with_several_files_and_context_flag(
    cluster: ControlPlane, namespace: str, tmp_path: Path, closed_port: int
) -> None:
    """KUBECONFIG=a:b merges; the current-context of the first file wins; --context picks one from the second."""
    create(cluster.client, _vm("env-vm", namespace))
    broken = kubeconfig_for(f"https://127.0.0.1:{closed_port}", "t")
    good = kubeconfig_for(cluster.server, admin_token(cluster), namespace=namespace, ca=plane_ca(cluster))
    good["clusters"][0]["name"] = "real"
    good["users"][0]["name"] = "real-user"
    good["contexts"] = [{"name": "real", "context": {"cluster": "real", "user": "real-user", "namespace": namespace}}]
    first = write(tmp_path / "first", broken)
    second = write(tmp_path / "second", good)
    env = {"KUBECONFIG": f"{tmp_path / 'missing'}:{first}:{second}"}
    default = run_virtnet("status", "env-vm", env=env)
    assert_one_line_error(default, 1, f"127.0.0.1:{closed_port}")
    chosen = run_virtnet("status", "env-vm", "--context", "real", "-o", "json", env=env)
    assert chosen.returncode in (0, 1), chosen.stderr
    assert json.loads(chosen.stdout)["vm"]["name"] == "env-vm"


def test_in_cluster_service_account(cluster: ControlPlane, namespace: str, tmp_path: Path) -> None:
    """In a pod (no kubeconfig anywhere): the service account's token, CA and namespace, as kubectl reads them.

    The pod is simulated with a private mount namespace holding /var/run/secrets/kubernetes.io/serviceaccount.
    """
    unshare = shutil.which("unshare")
    assert unshare is not None, "util-linux unshare is needed for this test (apt-get install util-linux)"
    create(cluster.client, _vm("pod-vm", namespace))
    token = admin_token(cluster)
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text(token)
    (sa / "ca.crt").write_bytes(plane_ca(cluster))
    (sa / "namespace").write_text(namespace)
    host, port = cluster.server.removeprefix("https://").rsplit(":", 1)
    exe = Path(os.environ.get("VIRTUAL_ENV", "")) / "bin" / "virtnet"
    if not exe.exists():
        import sys

        exe = Path(sys.executable).parent / "virtnet"
    script = (
        "set -e; mount -t tmpfs none /var/run 2>/dev/null || mount -t tmpfs none /run; "
        "mkdir -p /var/run/secrets/kubernetes.io; "
        f"mount --bind {sa} /var/run/secrets/kubernetes.io/serviceaccount 2>/dev/null || "
        f"{{ mkdir -p /var/run/secrets/kubernetes.io/serviceaccount && "
        f"cp {sa}/* /var/run/secrets/kubernetes.io/serviceaccount/; }}; "
        f'exec "{exe}" status pod-vm -o json'
    )
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env.update({"HOME": str(tmp_path), "KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port})
    proc = subprocess.run(
        [unshare, "-m", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["vm"]["namespace"] == namespace, proc.stderr


# --- helpers -------------------------------------------------------------------------------------------------------


def service_account_token(plane: ControlPlane, namespace: str, name: str) -> str:
    """A ServiceAccount's token from the TokenRequest API (the account has no RBAC unless a test binds some)."""
    create(
        plane.client, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}}
    )
    resp = http_session(plane.client).post(
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
        json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}},
    )
    assert resp.status_code == 201, resp.text
    token: str = resp.json()["status"]["token"]
    return token
