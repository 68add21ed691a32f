"""``virtnet doctor`` against a real kube-apiserver, through the console script.

Where KubeVirt, SpiderPool or Helm would act, the test writes the objects itself, shaped as upstream writes them:
the KubeVirt CR's status through its /status subresource (virt-operator: phase, observedKubeVirtVersion), the
spiderpool-controller Deployment and the spiderpool-conf ConfigMap with the chart's labels
(SP@v1.2.2:charts/spiderpool/templates/_helpers.tpl, configmap.yaml), a SpiderIPPool's status.allocatedIPs /
allocatedIPCount through /status (the IPAM), and the NAD of a SpiderMultusConfig with its controller
ownerReference (SP@v1.2.2:pkg/multuscniconfig/multusconfig_informer.go).

The module owns its planes (``own_cluster``: KubeVirt v1.9.0 + SpiderPool v1.2.2 CRDs; ``own_cluster_old``:
KubeVirt v1.0.1 + SpiderPool v0.8.13) because it writes cluster-wide objects; every test that breaks something
puts it back.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .cli import parse_json, run_virtnet, virtnet_on
from .envtest import (
    REPO_ROOT,
    ControlPlane,
    create,
    http_session,
    resource_path,
    server_side_apply,
    service_account_kubeconfig,
    write_status,
)

pytestmark = pytest.mark.cluster

Obj = dict[str, Any]
MANAGER = "virtnet-test"
STATUSES = {"pass", "warn", "fail", "skip"}
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

# --- objects as upstream writes them --------------------------------------------------------------------------------


def namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def kubevirt_cr(gates: list[str] | None = None) -> Obj:
    """kubevirt-cr.yaml of a KubeVirt release, with the feature gates virtnet would add."""
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "KubeVirt",
        "metadata": {"name": "kubevirt", "namespace": "kubevirt"},
        "spec": {
            "certificateRotateStrategy": {},
            "configuration": {"developerConfiguration": {"featureGates": list(gates or [])}},
            "customizeComponents": {},
            "imagePullPolicy": "IfNotPresent",
            "workloadUpdateStrategy": {},
        },
    }


def kubevirt_status(version: str, phase: str = "Deployed") -> Obj:
    """What virt-operator writes once the install is done (KV@v1.9.0:staging/src/kubevirt.io/api/core/v1/types.go)."""
    return {
        "phase": phase,
        "observedKubeVirtVersion": version,
        "targetKubeVirtVersion": version,
        "observedKubeVirtRegistry": "quay.io/kubevirt",
        "targetKubeVirtRegistry": "quay.io/kubevirt",
        "operatorVersion": version,
        "conditions": [
            {
                "type": "Available",
                "status": "True",
                "reason": "AllComponentsReady",
                "message": "All components are ready.",
            }
        ],
    }


def chart_labels(version: str) -> dict[str, str]:
    """spiderpool.spiderpoolController.labels of the chart (app version without the v)."""
    bare = version.removeprefix("v")
    return {
        "helm.sh/chart": f"spiderpool-{bare}",
        "app.kubernetes.io/name": "spiderpool",
        "app.kubernetes.io/instance": "spiderpool",
        "app.kubernetes.io/component": "spiderpool-controller",
        "app.kubernetes.io/version": bare,
        "app.kubernetes.io/managed-by": "Helm",
    }


def controller_deployment(version: str) -> Obj:
    labels = chart_labels(version)
    selector = {k: labels[k] for k in ("app.kubernetes.io/name", "app.kubernetes.io/instance")}
    selector["app.kubernetes.io/component"] = "spiderpool-controller"
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "spiderpool-controller",
            "namespace": "kube-system",
            "labels": labels,
            "annotations": {"meta.helm.sh/release-name": "spiderpool", "meta.helm.sh/release-namespace": "kube-system"},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": selector},
                "spec": {
                    "serviceAccountName": "spiderpool-controller",
                    "containers": [
                        {
                            "name": "spiderpool-controller",
                            "image": f"ghcr.io/spidernet-io/spiderpool/spiderpool-controller:v{version.lstrip('v')}",
                        }
                    ],
                },
            },
        },
    }


# The chart's conf.yml with its default values (SP@v1.2.2:charts/spiderpool/templates/configmap.yaml, values.yaml).
CONF_YML = """\
ipamUnixSocketPath: /var/run/spidernet/spiderpool.sock
enableIPv4: true
enableIPv6: false
enableStatefulSet: true
enableKubevirtStaticIP: true
enableCleanOutdatedEndpoint: false
enableSpiderSubnet: false
enableAutoPoolForApplication: false
enableIPConflictDetection: false
enableGatewayDetection: false
enableValidatingResourcesDeletedWebhook: false
clusterSubnetDefaultFlexibleIPNumber: 0
tuneSysctlConfig: true
podResourceInject:
  enabled: false
  namespacesExclude: ["kube-system","spiderpool","metallb-system","istio-system"]
  namespacesInclude: []
"""


def spiderpool_conf(version: str, conf_yml: str = CONF_YML) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "spiderpool-conf", "namespace": "kube-system", "labels": chart_labels(version)},
        "data": {"clusterNetwork": "calico", "conf.yml": conf_yml},
    }


def ippool(name: str, subnet: str, ips: list[str], gateway: str, **extra: Any) -> Obj:
    return {
        "apiVersion": "spiderpool.spidernet.io/v2beta1",
        "kind": "SpiderIPPool",
        "metadata": {"name": name},
        "spec": {"ipVersion": 4, "subnet": subnet, "ips": ips, "gateway": gateway, "default": False, **extra},
    }


def allocation(first: str, count: int, namespace: str = "vms") -> Obj:
    """status of a pool whose IPAM handed out ``count`` addresses from ``first`` on, one VM each."""
    start = ipaddress.ip_address(first)
    allocated = {
        str(start + i): {"pod": f"{namespace}/vm-{i}", "podUid": f"00000000-0000-0000-0000-{i:012d}"}
        for i in range(count)
    }
    return {"allocatedIPs": json.dumps(allocated), "allocatedIPCount": count}


def multus_config(name: str, cni: str, block: Obj, namespace: str = "kube-system", **annotations: str) -> Obj:
    meta: Obj = {"name": name, "namespace": namespace}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {
        "apiVersion": "spiderpool.spidernet.io/v2beta1",
        "kind": "SpiderMultusConfig",
        "metadata": meta,
        "spec": {"cniType": cni, **block},
    }


def generated_nad(smc: Obj, uid: str, config: Obj) -> Obj:
    """The NAD spiderpool-controller generates for ``smc`` (name from multus.spidernet.io/cr-name or the SMC's)."""
    meta = smc["metadata"]
    name = meta.get("annotations", {}).get("multus.spidernet.io/cr-name", meta["name"])
    return {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "ownerReferences": [
                {
                    "apiVersion": "spiderpool.spidernet.io/v2beta1",
                    "kind": "SpiderMultusConfig",
                    "name": meta["name"],
                    "uid": uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"config": json.dumps({"cniVersion": "0.3.1", "name": name, **config})},
    }


def macvlan_config(master: str, pools: list[str]) -> Obj:
    ipam = {"type": "spiderpool", "default_ipv4_ippool": pools}
    return {
        "plugins": [
            {"type": "macvlan", "master": master, "mode": "bridge", "ipam": ipam},
            {"type": "coordinator"},
        ]
    }


# --- talking to the plane -------------------------------------------------------------------------------------------


def apply(plane: ControlPlane, obj: Obj) -> Obj:
    return server_side_apply(plane.client, obj, field_manager=MANAGER, force=True).object


def delete(plane: ControlPlane, obj: Obj) -> None:
    resp = http_session(plane.client).delete(resource_path(plane.client, obj))
    assert resp.status_code in (200, 202, 404), resp.text


def with_smc_and_nad(plane: ControlPlane, smc: Obj, config: Obj) -> tuple[Obj, Obj]:
    created = apply(plane, smc)
    nad = generated_nad(smc, created["metadata"]["uid"], config)
    apply(plane, nad)
    return smc, nad


def doctor(plane: ControlPlane, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    proc = virtnet_on(plane)("doctor", *args, "-o", "json")
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc, parse_json(proc)


def by_id(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {c["id"]: c for c in report["checks"]}


def not_passing(report: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: f"{c['status']}: {c['message']}" for c in report["checks"] if c["status"] != "pass"}


# --- the healthy cluster: passt on KubeVirt v1.9 with SpiderPool v1.2.2 ---------------------------------------------

POOL = ippool("10-7-v4", "10.7.0.0/16", ["10.7.120.100-10.7.120.200"], "10.7.0.1")  # 101 addresses
SMC = multus_config(
    "macvlan-ens192", "macvlan", {"macvlan": {"master": ["ens192"], "vlanID": 0, "ippools": {"ipv4": ["10-7-v4"]}}}
)


@pytest.fixture(scope="module")
def healthy(own_cluster: ControlPlane) -> ControlPlane:
    plane = own_cluster
    create(plane.client, namespace("kubevirt"))
    cr = apply(plane, kubevirt_cr())
    write_status(plane, cr, kubevirt_status("v1.9.0"))
    apply(plane, controller_deployment("v1.2.2"))
    apply(plane, spiderpool_conf("v1.2.2"))
    apply(plane, POOL)
    write_status(plane, POOL, {**allocation("10.7.120.100", 3), "totalIPCount": 101})
    with_smc_and_nad(plane, SMC, macvlan_config("ens192", ["10-7-v4"]))
    return plane


def test_healthy_cluster_for_passt_passes_every_check(healthy: ControlPlane) -> None:
    proc, report = doctor(healthy, "--mode", "passt")
    assert proc.returncode == 0, proc.stdout
    assert not_passing(report) == {}
    checks = by_id(report)
    assert {
        "api-reachable",
        "kubevirt-installed",
        "kubevirt-phase",
        "kubevirt-version",
        "kubevirt-hco",
        "kubevirt-binding",
        "kubevirt-feature-gates",
        "kubevirt-binding-plugins",
        "spiderpool-installed",
        "spiderpool-version",
        "spiderpool-static-ip",
        "spiderpool-ip-families",
        "spiderpool-known-bugs",
        "multus-nad-crd",
        "multus-config-nads",
        "ippool-references",
        "ippool-capacity",
        "ippool-subnet",
        "ippool-vlan",
        "ippool-overlap",
    } == set(checks)
    assert "PasstBinding not disabled" in checks["kubevirt-feature-gates"]["message"]
    assert "10-7-v4 98/101 free" in checks["ippool-capacity"]["message"]
    assert checks["ippool-references"]["message"] == (
        "the pools named by 1 macvlan network (kube-system/macvlan-ens192) exist"
    )
    assert "(1 pool, named by macvlan networks)" in checks["ippool-capacity"]["message"]
    assert report["summary"] == {"pass": len(checks), "warn": 0, "fail": 0, "skip": 0}
    assert report["versions"]["kubevirt"] == {
        "detected": "v1.9.0",
        "source": "KubeVirt kubevirt/kubevirt status.observedKubeVirtVersion",
        "used": "v1.9.0",
    }
    assert report["versions"]["spiderpool"]["detected"] == "v1.2.2"
    assert "label app.kubernetes.io/version" in report["versions"]["spiderpool"]["source"]
    assert report["versions"]["kubernetes"].startswith("v1.")


def test_text_output_is_a_table_with_a_summary(healthy: ControlPlane) -> None:
    proc = virtnet_on(healthy)("doctor", "--mode", "passt")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("virtnet doctor: mode passt on macvlan; Kubernetes v1.")
    assert "KubeVirt v1.9.0, SpiderPool v1.2.2" in lines[0]
    header = next(line for line in lines if line.startswith("STATUS"))
    assert header.split() == ["STATUS", "CHECK", "MESSAGE", "/", "FIX"]
    assert any(re.match(r"^pass\s+spiderpool-static-ip\s+enableKubevirtStaticIP: true", line) for line in lines)
    assert lines[-1] == "20 pass, 0 warn, 0 fail, 0 skip"
    assert "\x1b[" not in proc.stdout  # no colour when stdout is not a terminal


def test_json_contract(healthy: ControlPlane) -> None:
    _proc, report = doctor(healthy, "--mode", "passt")
    assert {"checks", "summary", "versions"} <= set(report)
    assert set(report["summary"]) == STATUSES
    for check in report["checks"]:
        assert set(check) == {"id", "status", "message", "fix"}
        assert KEBAB.match(check["id"]), check["id"]
        assert check["status"] in STATUSES
        assert check["message"]
        assert "\n" not in check["message"]
        assert (check["fix"] == "") == (check["status"] in ("pass", "skip")), check
    ids = [c["id"] for c in report["checks"]]
    assert len(ids) == len(set(ids))
    for status in STATUSES:
        assert report["summary"][status] == sum(1 for c in report["checks"] if c["status"] == status)
    assert set(report["versions"]) == {"kubernetes", "kubevirt", "spiderpool"}
    assert set(report["versions"]["kubevirt"]) == {"detected", "source", "used"}


def test_missing_enable_kubevirt_static_ip_fails_with_the_fix(healthy: ControlPlane) -> None:
    without = "".join(line for line in CONF_YML.splitlines(keepends=True) if "enableKubevirtStaticIP" not in line)
    apply(healthy, spiderpool_conf("v1.2.2", without))
    try:
        proc, report = doctor(healthy, "--mode", "passt")
        text = virtnet_on(healthy)("doctor", "--mode", "passt")
    finally:
        apply(healthy, spiderpool_conf("v1.2.2"))
    assert proc.returncode == 1
    assert list(not_passing(report)) == ["spiderpool-static-ip"]
    check = by_id(report)["spiderpool-static-ip"]
    assert check["status"] == "fail"
    assert (
        "enableKubevirtStaticIP in kube-system/spiderpool-conf conf.yml is missing (a missing key means false)"
        in (check["message"])
    )
    assert "new address on every restart" in check["message"]
    assert "IP-conflict-detection skip" in check["message"]
    assert "set enableKubevirtStaticIP: true in data.conf.yml of kube-system/spiderpool-conf" in check["fix"]
    assert "ipam.enableKubevirtStaticIP=true" in check["fix"]
    assert report["summary"]["fail"] == 1
    # the human table shows the fix under the message
    assert text.returncode == 1
    assert re.search(r"^fail\s+spiderpool-static-ip\s+enableKubevirtStaticIP", text.stdout, re.MULTILINE)
    assert re.search(r"^\s+fix: set enableKubevirtStaticIP: true", text.stdout, re.MULTILINE)
    assert text.stdout.splitlines()[-1] == "19 pass, 0 warn, 1 fail, 0 skip"


def test_static_ip_false_is_named_false(healthy: ControlPlane) -> None:
    apply(
        healthy,
        spiderpool_conf("v1.2.2", CONF_YML.replace("enableKubevirtStaticIP: true", "enableKubevirtStaticIP: false")),
    )
    try:
        proc, report = doctor(healthy, "--mode", "bridge")
    finally:
        apply(healthy, spiderpool_conf("v1.2.2"))
    assert proc.returncode == 1
    assert "is False, not true" in by_id(report)["spiderpool-static-ip"]["message"]


def test_hco_owned_kubevirt_cr_warns_to_change_the_hyperconverged_cr(healthy: ControlPlane) -> None:
    owned = kubevirt_cr()
    owned["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "hco-operator"}
    apply(healthy, owned)
    try:
        proc, report = doctor(healthy, "--mode", "passt")
    finally:
        apply(healthy, kubevirt_cr())  # the same field manager without the label: the label goes
    assert proc.returncode == 0  # a warning does not fail
    assert list(not_passing(report)) == ["kubevirt-hco"]
    check = by_id(report)["kubevirt-hco"]
    assert check["status"] == "warn"
    assert "label app.kubernetes.io/managed-by=hco-operator" in check["message"]
    assert "reverted" in check["message"]
    assert "HyperConverged CR" in check["fix"]


def test_smc_whose_nad_never_appeared(healthy: ControlPlane) -> None:
    other = multus_config("sriov-vf", "sriov", {"sriov": {"resourceName": "intel.com/sriov_netdevice"}})
    apply(healthy, other)
    try:
        proc, report = doctor(healthy, "--mode", "passt")
        assert proc.returncode == 0  # not a macvlan network: passt VMs do not use it
        check = by_id(report)["multus-config-nads"]
        assert check["status"] == "warn", check
        assert "kube-system/sriov-vf (NAD kube-system/sriov-vf)" in check["message"]
        mine = multus_config(
            "macvlan-ens224",
            "macvlan",
            {"macvlan": {"master": ["ens224"], "ippools": {"ipv4": ["10-7-v4"]}}},
            **{"multus.spidernet.io/cr-name": "ens224-untagged"},
        )
        apply(healthy, mine)
        try:
            proc, report = doctor(healthy, "--mode", "passt")
        finally:
            delete(healthy, mine)
        assert proc.returncode == 1
        check = by_id(report)["multus-config-nads"]
        assert check["status"] == "fail", check
        assert "kube-system/macvlan-ens224 (NAD kube-system/ens224-untagged)" in check["message"]  # cr-name wins
        assert "2 SpiderMultusConfigs in default, kube-system never got a NAD" in check["message"]
        assert "spiderpool-controller" in check["fix"]
    finally:
        delete(healthy, other)


def test_multus_configs_are_read_in_the_namespace_and_spiderpools_or_everywhere(healthy: ControlPlane) -> None:
    create(healthy.client, namespace("tenant"))
    lonely = multus_config("tenant-macvlan", "macvlan", {"macvlan": {"master": ["ens193"]}}, namespace="tenant")
    apply(healthy, lonely)
    try:
        default_proc, default_ns = doctor(healthy, "--mode", "passt")  # default + kube-system: not seen
        tenant_proc, tenant = doctor(healthy, "--mode", "passt", "-n", "tenant")
        all_proc, everywhere = doctor(healthy, "--mode", "passt", "-A")
    finally:
        delete(healthy, lonely)
    assert default_proc.returncode == 0
    assert by_id(default_ns)["multus-config-nads"]["message"] == (
        "1 SpiderMultusConfig in default, kube-system, each with its NAD"
    )
    for proc, report, where in ((tenant_proc, tenant, "in tenant, kube-system"), (all_proc, everywhere, "in every")):
        assert proc.returncode == 1
        check = by_id(report)["multus-config-nads"]
        assert check["status"] == "fail"
        assert where in check["message"]
        assert "tenant/tenant-macvlan (NAD tenant/tenant-macvlan)" in check["message"]


def test_exhausted_pool_fails(healthy: ControlPlane) -> None:
    write_status(healthy, POOL, allocation("10.7.120.100", 101))
    try:
        proc, report = doctor(healthy, "--mode", "passt")
    finally:
        write_status(healthy, POOL, allocation("10.7.120.100", 3))
    assert proc.returncode == 1
    assert list(not_passing(report)) == ["ippool-capacity"]
    check = by_id(report)["ippool-capacity"]
    assert check["status"] == "fail"
    assert "exhausted: 10-7-v4 (101 of 101 allocated)" in check["message"]
    assert "all IP addresses used out" in check["message"]
    assert "spec.ips" in check["fix"]


def test_nearly_exhausted_pool_warns(healthy: ControlPlane) -> None:
    write_status(healthy, POOL, allocation("10.7.120.100", 95))
    try:
        proc, report = doctor(healthy, "--mode", "passt")
    finally:
        write_status(healthy, POOL, allocation("10.7.120.100", 3))
    assert proc.returncode == 0
    assert by_id(report)["ippool-capacity"]["status"] == "warn"
    assert "nearly exhausted: 10-7-v4 (6 of 101 free)" in by_id(report)["ippool-capacity"]["message"]


def test_pool_named_by_the_mode_that_does_not_exist(healthy: ControlPlane) -> None:
    smc = multus_config("macvlan-ens256", "macvlan", {"macvlan": {"master": ["ens256"], "ippools": {"ipv4": ["gone"]}}})
    with_smc_and_nad(healthy, smc, macvlan_config("ens256", ["gone"]))
    try:
        proc, report = doctor(healthy, "--mode", "passt")
    finally:
        delete(healthy, smc)
        delete(healthy, generated_nad(smc, "", {}))
    assert proc.returncode == 1
    check = by_id(report)["ippool-references"]
    assert check["status"] == "fail"
    assert "kube-system/macvlan-ens256 names gone" in check["message"]


def test_masquerade_on_calico_needs_the_default_multus_config(healthy: ControlPlane) -> None:
    proc, report = doctor(healthy, "--mode", "masquerade", "--cni", "calico")
    assert proc.returncode == 1
    check = by_id(report)["default-multus-config"]
    assert check["status"] == "fail"
    assert "kube-system/calico is missing and so is NAD kube-system/k8s-pod-network" in check["message"]
    # pools and fixed IPs are not masquerade's business
    assert not {"spiderpool-static-ip", "spiderpool-ip-families", "ippool-capacity"} & set(by_id(report))
    calico = multus_config(
        "calico",
        "custom",
        {"enableCoordinator": False, "customCNI": json.dumps({"cniVersion": "0.3.1", "type": "calico"})},
        **{"multus.spidernet.io/cr-name": "k8s-pod-network"},
    )
    with_smc_and_nad(healthy, calico, {"plugins": [{"type": "calico"}]})
    try:
        proc, report = doctor(healthy, "--mode", "masquerade", "--cni", "calico")
    finally:
        delete(healthy, calico)
        delete(healthy, generated_nad(calico, "", {}))
    assert proc.returncode == 0, not_passing(report)
    assert by_id(report)["default-multus-config"]["status"] == "pass"


def test_version_overrides_are_used_and_reported(healthy: ControlPlane) -> None:
    proc, report = doctor(healthy, "--mode", "passt", "--kubevirt-version", "v1.5.0")
    checks = by_id(report)
    assert report["versions"]["kubevirt"]["detected"] == "v1.9.0"
    assert report["versions"]["kubevirt"]["used"] == "v1.5.0"
    assert "judge by --kubevirt-version v1.5.0" in checks["kubevirt-version"]["message"]
    # passt on v1.5 is the binding plugin, which must be registered
    assert checks["kubevirt-binding-plugins"]["status"] == "fail"
    assert "binding plugin passt" in checks["kubevirt-binding-plugins"]["message"]
    assert proc.returncode == 1
    bad = virtnet_on(healthy)("doctor", "--mode", "passt", "--kubevirt-version", "v2.0.0")
    assert bad.returncode == 2
    assert bad.stderr.startswith("virtnet: error: --kubevirt-version: ")
    cni = virtnet_on(healthy)("doctor", "--mode", "bridge", "--cni", "macvlan")
    assert cni.returncode == 2
    assert "--cni" in cni.stderr
    assert "bridge binding does not work over macvlan" in cni.stderr


def test_without_mode_only_mode_independent_checks(healthy: ControlPlane) -> None:
    proc, report = doctor(healthy)
    assert proc.returncode == 0, not_passing(report)
    ids = set(by_id(report))
    assert "kubevirt-feature-gates" not in ids
    assert "spiderpool-known-bugs" not in ids
    assert {"kubevirt-installed", "spiderpool-static-ip", "multus-config-nads", "ippool-capacity"} <= ids
    assert "(1 pool, all pools)" in by_id(report)["ippool-capacity"]["message"]


# --- a read-only user ------------------------------------------------------------------------------------------------


READ_CORE = [
    {"apiGroups": ["kubevirt.io"], "resources": ["kubevirts"], "verbs": ["get", "list"]},
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]},
]


def test_read_only_user_sees_forbidden_reads_as_skips(healthy: ControlPlane, tmp_path: Path) -> None:
    kubeconfig = service_account_kubeconfig(healthy, tmp_path, "doctor-core-only", READ_CORE)
    proc = run_virtnet("doctor", "--mode", "passt", "-o", "json", kubeconfig=kubeconfig)
    assert "Traceback" not in proc.stderr
    report = parse_json(proc)
    assert proc.returncode == 0, not_passing(report)  # nothing it could read is wrong
    skipped = {c["id"]: c["message"] for c in report["checks"] if c["status"] == "skip"}
    assert skipped == {
        "multus-config-nads": "forbidden (needs list on spidermultusconfigs.spiderpool.spidernet.io in namespace "
        "default)",
        "ippool-references": "forbidden (needs list on spiderippools.spiderpool.spidernet.io)",
        "ippool-capacity": "forbidden (needs list on spiderippools.spiderpool.spidernet.io)",
        "ippool-subnet": "forbidden (needs list on spiderippools.spiderpool.spidernet.io)",
        "ippool-vlan": "forbidden (needs list on spiderippools.spiderpool.spidernet.io)",
        "ippool-overlap": "forbidden (needs list on spiderippools.spiderpool.spidernet.io)",
    }
    # what it could read is judged as for the admin
    assert by_id(report)["spiderpool-static-ip"]["status"] == "pass"
    assert by_id(report)["kubevirt-feature-gates"]["status"] == "pass"
    token = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["token"]
    assert token not in proc.stdout
    assert token not in proc.stderr


def test_the_shipped_read_only_role_is_enough(healthy: ControlPlane, tmp_path: Path) -> None:
    role = yaml.safe_load((REPO_ROOT / "deploy" / "rbac" / "virtnet-readonly.yaml").read_text())
    kubeconfig = service_account_kubeconfig(healthy, tmp_path, "doctor-shipped-role", role["rules"])
    proc = run_virtnet("doctor", "--mode", "passt", "-o", "json", kubeconfig=kubeconfig)
    report = parse_json(proc)
    assert proc.returncode == 0
    assert not_passing(report) == {}
    assert report["summary"]["pass"] == 20


def test_user_who_may_read_nothing_gets_only_skips(healthy: ControlPlane, tmp_path: Path) -> None:
    kubeconfig = service_account_kubeconfig(healthy, tmp_path, "doctor-nothing", [])
    for output in ("json", "text"):
        proc = run_virtnet("doctor", "--mode", "bridge", "-o", output, kubeconfig=kubeconfig)
        assert "Traceback" not in proc.stderr
        assert proc.returncode == 0, proc.stdout
    report = parse_json(run_virtnet("doctor", "--mode", "bridge", "-o", "json", kubeconfig=kubeconfig))
    checks = by_id(report)
    assert checks["kubevirt-installed"] == {
        "id": "kubevirt-installed",
        "status": "skip",
        "message": "forbidden (needs list on kubevirts.kubevirt.io)",
        "fix": "",
    }
    assert checks["spiderpool-installed"]["message"].startswith("forbidden (needs list on deployments.apps)")
    assert checks["spiderpool-static-ip"]["message"] == (
        "forbidden (needs get on configmaps in namespace kube-system or spiderpool)"
    )
    assert checks["kubevirt-feature-gates"]["status"] == "skip"
    for check in report["checks"]:
        assert check["status"] in ("pass", "skip"), check  # discovery-based checks (CRDs served) still pass
        if check["status"] == "skip":
            assert "forbidden (needs " in check["message"] or "unknown (forbidden" in check["message"], check


# --- the old plane: KubeVirt v1.0.1, SpiderPool v0.8 -----------------------------------------------------------------

OVS_POOL_30 = ippool("vlan30-v4", "10.30.0.0/16", ["10.30.1.10-10.30.1.200"], "10.30.0.1")
OVS_POOL_40 = ippool("vlan40-v4", "10.40.0.0/16", ["10.40.1.10-10.40.1.200"], "10.40.0.1")


def ovs_smc(vlan: int, pool: str) -> Obj:
    return multus_config(
        f"ovs-vlan{vlan}", "ovs", {"ovs": {"bridge": "br1", "vlan": vlan, "ippools": {"ipv4": [pool]}}}
    )


@pytest.fixture(scope="module")
def old(own_cluster_old: ControlPlane) -> ControlPlane:
    plane = own_cluster_old
    create(plane.client, namespace("kubevirt"))
    cr = apply(plane, kubevirt_cr())
    write_status(plane, cr, kubevirt_status("v1.0.1"))
    apply(plane, controller_deployment("v0.8.5"))
    apply(plane, spiderpool_conf("v0.8.5"))
    for obj in (OVS_POOL_30, OVS_POOL_40):
        apply(plane, obj)
    for vlan, name in ((30, "vlan30-v4"), (40, "vlan40-v4")):
        ipam = {"type": "spiderpool", "default_ipv4_ippool": [name]}
        config = {"plugins": [{"type": "ovs", "bridge": "br1", "vlan": vlan, "ipam": ipam}]}
        with_smc_and_nad(plane, ovs_smc(vlan, name), config)
    return plane


def test_missing_passt_gate_on_kubevirt_v1_0_1(old: ControlPlane) -> None:
    proc, report = doctor(old, "--mode", "passt")
    assert proc.returncode == 1
    gates = by_id(report)["kubevirt-feature-gates"]
    assert gates["status"] == "fail"
    assert "passt on KubeVirt v1.0.1 needs feature gate Passt" in gates["message"]
    assert (
        "Passt not in spec.configuration.developerConfiguration.featureGates of KubeVirt kubevirt/kubevirt"
        in (gates["message"])
    )
    assert "add Passt to developerConfiguration.featureGates in KubeVirt kubevirt/kubevirt" in gates["fix"]
    assert by_id(report)["kubevirt-binding"]["message"].startswith("mode passt uses passt (core binding) on KubeVirt")
    apply(old, kubevirt_cr(["Passt"]))
    try:
        proc, report = doctor(old, "--mode", "passt")
    finally:
        apply(old, kubevirt_cr())
    assert by_id(report)["kubevirt-feature-gates"]["status"] == "pass"
    assert "Passt enabled" in by_id(report)["kubevirt-feature-gates"]["message"]


def test_spiderpool_v0_8_5_with_bridge_multi_nic_warns_of_the_ip_leak(old: ControlPlane) -> None:
    proc, report = doctor(old, "--mode", "bridge")
    assert proc.returncode == 0, not_passing(report)
    assert report["versions"]["spiderpool"]["detected"] == "v0.8.5"
    bug = by_id(report)["spiderpool-known-bugs"]
    assert bug["status"] == "warn"
    assert "SpiderPool v0.8.5 leaks addresses with multi-NIC VMs (spiderpool#4295)" in bug["message"]
    assert "v0.8.9, v0.9.8, v1.0.0" in bug["fix"]
    assert list(not_passing(report)) == ["spiderpool-known-bugs"]
    # ovs networks name both pools: those are the mode's pools
    assert "vlan30-v4 191/191 free, vlan40-v4 191/191 free" in by_id(report)["ippool-capacity"]["message"]
    # passt gives a VM one NIC: not affected
    _, passt = doctor(old, "--mode", "passt")
    assert by_id(passt)["spiderpool-known-bugs"]["status"] == "pass"
    assert "one NIC" in by_id(passt)["spiderpool-known-bugs"]["message"]
    assert by_id(passt)["ippool-references"]["message"].startswith("no macvlan SpiderMultusConfig or NAD names a pool")
    # a fixed release is not affected
    _, fixed = doctor(old, "--mode", "bridge", "--spiderpool-version", "v0.8.9")
    assert by_id(fixed)["spiderpool-known-bugs"]["status"] == "pass"


def test_spec_vlan_on_pools_when_the_running_spiderpool_is_v1(old: ControlPlane) -> None:
    tagged = ippool("guide-vlan", "10.50.0.0/16", ["10.50.1.10-10.50.1.20"], "10.50.0.1", vlan=50)
    apply(old, tagged)
    try:
        _, on_v08 = doctor(old)  # v0.8.5: deprecated, no effect
        apply(old, controller_deployment("v1.0.0"))
        apply(old, spiderpool_conf("v1.0.0"))
        proc, on_v1 = doctor(old)
    finally:
        apply(old, controller_deployment("v0.8.5"))
        apply(old, spiderpool_conf("v0.8.5"))
        delete(old, tagged)
    assert by_id(on_v08)["ippool-vlan"]["status"] == "warn"
    assert "guide-vlan: SpiderIPPool spec.vlan (50) is deprecated" in by_id(on_v08)["ippool-vlan"]["message"]
    vlan = by_id(on_v1)["ippool-vlan"]
    assert proc.returncode == 1
    assert vlan["status"] == "fail"
    assert "does not exist in SpiderPool v1.0.0" in vlan["message"]
    assert "Helm does not upgrade CRDs" in vlan["message"]
    assert "charts/spiderpool/crds" in vlan["fix"]


def test_non_canonical_subnet_and_overlap(old: ControlPlane) -> None:
    guide = ippool("10-7-v4", "10.7.120.11/16", ["10.7.120.100-10.7.120.200"], "10.7.0.1")  # v0.8 accepts it
    overlapping = ippool("10-7-120-v4", "10.7.120.0/24", ["10.7.120.10-10.7.120.20"], "10.7.120.1")
    apply(old, guide)
    with contextlib.ExitStack() as undo:
        undo.callback(delete, old, guide)
        _, on_v08 = doctor(old)
        apply(old, overlapping)
        undo.callback(delete, old, overlapping)
        proc, both = doctor(old)
    subnet = by_id(on_v08)["ippool-subnet"]
    assert subnet["status"] == "warn"  # SpiderPool v0.8.5 accepts it; v0.9.2+ rejects it
    assert "spec.subnet 10.7.120.11/16 is not canonical; write 10.7.0.0/16" in subnet["message"]
    overlap = by_id(both)["ippool-overlap"]
    assert proc.returncode == 1
    assert overlap["status"] == "fail"
    assert "different but overlapping subnets" in overlap["message"]
