"""Least privilege: the ClusterRoles in deploy/rbac/ are enough for their verbs, what a role does not allow is
reported as not checked (never a crash), and no verb ever prints Secret data or a token.

Every user here is a ServiceAccount with a token from the TokenRequest API, bound to the shipped roles only.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .cli import parse_json, run_virtnet
from .controllers import Nic, apply_bundle, ensure_namespace, generate_nad, render_bundle, start_vm
from .envtest import REPO_ROOT, ControlPlane, create, http_session, load_manifests, server_side_apply
from .test_connection import kubeconfig_for, plane_ca, service_account_token

pytestmark = pytest.mark.cluster

RBAC = REPO_ROOT / "deploy/rbac"
CANARY = "canary-3f9a1c7e-do-not-print"
NS = "rbac-vms"
PASST_NIC = "master=ens192,subnet=10.7.0.0/16,gateway=10.7.0.1,ips=10.7.120.100-10.7.120.200,pool=10-7-v4"

CONF = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {
        "name": "spiderpool-conf",
        "namespace": "kube-system",
        "labels": {"app.kubernetes.io/version": "1.2.2", "helm.sh/chart": "spiderpool-1.2.2"},
    },
    "data": {"conf.yml": "enableIPv4: true\nenableIPv6: false\nenableKubevirtStaticIP: true\n"},
}


@pytest.fixture(scope="module")
def plane(own_cluster: ControlPlane) -> ControlPlane:
    """The shipped roles installed, one passt VM running, and a Secret (and more) holding the canary."""
    client = own_cluster.client
    for role in load_manifests(sorted(RBAC.glob("*.yaml"))):
        create(client, role)
    server_side_apply(client, CONF, field_manager="helm")
    ensure_namespace(client, NS)
    stored = apply_bundle(client, render_bundle("vm1", "-n", NS, "--mode", "passt", "--nic", PASST_NIC))
    generate_nad(client, stored["SpiderMultusConfig/macvlan-ens192"])
    start_vm(client, stored["VirtualMachine/vm1"], [Nic("default", "eth0", "10.7.120.101", "10-7-v4", 16, "10.7.0.1")])
    create(
        client,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "vm1-extra", "namespace": NS},
            "data": {"password": base64.b64encode(CANARY.encode()).decode()},
            "stringData": {"userdata": f"#cloud-config\npassword: {CANARY}\n"},
        },
    )
    return own_cluster


def bind(plane: ControlPlane, account: str, role: str, *, namespace: str | None = None) -> None:
    """ClusterRoleBinding (every namespace) or, with ``namespace``, a RoleBinding in that namespace only."""
    subject = {"kind": "ServiceAccount", "name": account, "namespace": NS}
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}
    if namespace is None:
        binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding"}
        binding["metadata"] = {"name": f"{account}-{role}"}
    else:
        binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding"}
        binding["metadata"] = {"name": f"{account}-{role}", "namespace": namespace}
    create(plane.client, {**binding, "subjects": [subject], "roleRef": ref})


@pytest.fixture(scope="module")
def viewer(plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Kubeconfig of a ServiceAccount bound cluster-wide to virtnet-readonly, with a canary in an unused user."""
    token = service_account_token(plane, NS, "viewer")
    bind(plane, "viewer", "virtnet-readonly")
    return write_kubeconfig(plane, tmp_path_factory.mktemp("viewer"), token), token


@pytest.fixture(scope="module")
def ns_viewer(plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Bound to virtnet-readonly in the VM's namespace only: cluster-scoped objects are not readable."""
    token = service_account_token(plane, NS, "ns-viewer")
    bind(plane, "ns-viewer", "virtnet-readonly", namespace=NS)
    return write_kubeconfig(plane, tmp_path_factory.mktemp("ns-viewer"), token), token


def write_kubeconfig(plane: ControlPlane, directory: Path, token: str) -> Path:
    config: dict[str, Any] = kubeconfig_for(plane.server, token, namespace=NS, ca=plane_ca(plane))
    # an unused user whose secrets must not leak either
    config["users"].append({"name": "other", "user": {"token": CANARY, "username": "x", "password": CANARY}})
    path = directory / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


READ_ONLY = {
    "doctor": ("doctor", "--mode", "passt", "--cni", "macvlan"),
    "doctor-json": ("doctor", "--mode", "passt", "--cni", "macvlan", "-o", "json"),
    "status": ("status", "vm1"),
    "status-json": ("status", "vm1", "-o", "json"),
    "pool-usage": ("pool", "usage", "-A"),
    "pool-usage-json": ("pool", "usage", "-A", "-o", "json"),
    "lint-cluster": ("lint", "--cluster", "-A"),
    "lint-cluster-json": ("lint", "--cluster", "-A", "-o", "json"),
}


def assert_no_secret(proc: subprocess.CompletedProcess[str], token: str) -> None:
    for stream in (proc.stdout, proc.stderr):
        assert CANARY not in stream
        assert token not in stream
        assert base64.b64encode(CANARY.encode()).decode() not in stream
        assert "Traceback" not in stream


@pytest.mark.parametrize("verb", sorted(READ_ONLY))
def test_read_only_role_is_enough(viewer: tuple[Path, str], verb: str) -> None:
    kubeconfig, token = viewer
    proc = run_virtnet(*READ_ONLY[verb], kubeconfig=kubeconfig)
    assert_no_secret(proc, token)
    assert proc.returncode in (0, 1), proc.stderr
    assert "forbidden" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_read_only_doctor_passes_every_check_it_needs(viewer: tuple[Path, str]) -> None:
    kubeconfig, _ = viewer
    report = parse_json(run_virtnet(*READ_ONLY["doctor-json"], kubeconfig=kubeconfig))
    assert [c for c in report["checks"] if c["status"] == "skip" and "forbidden" in c["message"]] == []


def test_read_only_status_sees_the_whole_chain(viewer: tuple[Path, str]) -> None:
    kubeconfig, _ = viewer
    proc = run_virtnet(*READ_ONLY["status-json"], kubeconfig=kubeconfig)
    report = parse_json(proc)
    (iface,) = report["interfaces"]
    assert iface["endpointIPs"][0]["ipv4"].startswith("10.7.120.101")
    assert iface["nad"]["exists"] is True


@pytest.mark.parametrize("verb", ["doctor-json", "status-json", "lint-cluster-json"])
def test_namespace_only_binding_reports_what_it_could_not_read(ns_viewer: tuple[Path, str], verb: str) -> None:
    """Bound in one namespace: the cluster-scoped SpiderIPPools and KubeVirt CR are not readable — said, not fatal."""
    kubeconfig, token = ns_viewer
    args = [a for a in READ_ONLY[verb] if a != "-A"]
    proc = run_virtnet(*args, kubeconfig=kubeconfig)
    assert_no_secret(proc, token)
    assert proc.returncode in (0, 1), proc.stderr
    said = proc.stdout + proc.stderr
    assert "forbidden" in said
    assert "spiderippools.spiderpool.spidernet.io" in said


def test_namespace_only_pool_usage_is_one_clear_line(ns_viewer: tuple[Path, str]) -> None:
    kubeconfig, token = ns_viewer
    proc = run_virtnet("pool", "usage", kubeconfig=kubeconfig)
    assert_no_secret(proc, token)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "list on spiderippools.spiderpool.spidernet.io" in lines[0]
    assert "deploy/rbac" in lines[0]


def test_read_only_role_grants_no_secret_and_no_write(plane: ControlPlane, viewer: tuple[Path, str]) -> None:
    """The role itself: the API server's SubjectAccessReview for the viewer says no to Secrets and every write."""
    session = http_session(plane.client)
    user = f"system:serviceaccount:{NS}:viewer"
    groups = ["system:serviceaccounts", f"system:serviceaccounts:{NS}", "system:authenticated"]

    def allowed(verb: str, resource: str, group: str = "") -> bool:
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": user,
                "groups": groups,
                "resourceAttributes": {"verb": verb, "resource": resource, "group": group, "namespace": NS},
            },
        }
        resp = session.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json=review)
        assert resp.status_code == 201, resp.text
        return bool(resp.json()["status"].get("allowed"))

    assert allowed("list", "virtualmachines", "kubevirt.io")
    assert not allowed("get", "secrets")
    assert not allowed("list", "secrets")
    for verb in ("create", "patch", "update", "delete"):
        assert not allowed(verb, "virtualmachines", "kubevirt.io")
        assert not allowed(verb, "spiderippools", "spiderpool.spidernet.io")
