"""`virtnet set network` against the real kube-apiserver, through the console script.

The test plays SpiderPool's controller (the NAD of a new SpiderMultusConfig, written from a thread while set network
waits for it) and KubeVirt's (a VMI for a running VM). The module has its own control plane: it writes cluster-scoped
SpiderIPPools.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from virtnet.render.setnetwork import NETWORK_ANNOTATIONS

from .cli import ok, parse_json, virtnet_on
from .controllers import Nic, SpiderPoolController, ensure_namespace, generate_nad, start_vm
from .envtest import REPO_ROOT, ControlPlane, get, http_session, resource_path, server_side_apply

pytestmark = pytest.mark.cluster

KV = "kubevirt.io/v1"
SP = "spiderpool.spidernet.io/v2beta1"
GUIDE_VM = REPO_ROOT / "tests" / "fixtures" / "guide" / "01-masquerade-calico-vm.yaml"
MACVLAN = "master=ens192,subnet=10.7.0.0/16,gateway=10.7.0.1,ips=10.7.120.100-10.7.120.200,pool=10-7-v4"
NS = "vms"


@pytest.fixture(scope="module")
def plane(own_cluster: ControlPlane) -> ControlPlane:
    ensure_namespace(own_cluster.client, NS)
    return own_cluster


def guide_vm(name: str) -> dict[str, Any]:
    vm: dict[str, Any] = yaml.safe_load(GUIDE_VM.read_text())
    vm["metadata"] = {"name": name, "namespace": NS}
    return vm


def create_with_manager(plane: ControlPlane, obj: dict[str, Any], manager: str) -> dict[str, Any]:
    """POST (an Update operation, as `kubectl apply` without --server-side makes it) with a field manager."""
    resp = http_session(plane.client).post(
        resource_path(plane.client, obj, named=False), params={"fieldManager": manager}, json=obj
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def without_networking(vm: dict[str, Any]) -> dict[str, Any]:
    vm = copy.deepcopy(vm)
    for key in ("managedFields", "resourceVersion", "generation"):
        vm["metadata"].pop(key, None)
    vm.pop("status", None)
    template = vm["spec"]["template"]
    for key in NETWORK_ANNOTATIONS:
        (template.get("metadata", {}).get("annotations") or {}).pop(key, None)
    if template.get("metadata", {}).get("annotations") == {}:
        template["metadata"].pop("annotations")
    template["spec"].pop("networks", None)
    template["spec"]["domain"]["devices"].pop("interfaces", None)
    return vm


def owned(vm: dict[str, Any], manager: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for entry in vm["metadata"]["managedFields"]:
        if entry["manager"] == manager:
            fields.update(entry["fieldsV1"])
    return fields


def tspec_fields(fields: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = fields.get("f:spec", {}).get("f:template", {}).get("f:spec", {})
    return result


def actions(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(o["kind"], o["name"], o["action"]) for o in report["apply"]["objects"]]


def test_a_live_vm_is_edited_and_a_second_run_writes_nothing(plane: ControlPlane) -> None:
    run = virtnet_on(plane)
    vm = server_side_apply(plane.client, guide_vm("web"), field_manager="virtnet").object
    start_vm(
        plane.client,
        vm,
        [Nic(name="default", pod_interface="eth0", ip="10.233.64.7", pool="-", prefix=24)],
        endpoint=False,
        record_pools=False,
    )
    before = get(plane, KV, "VirtualMachine", "web", NS)
    args = ("set", "network", "web", "-n", NS, "--mode", "passt", "--cni", "macvlan", "--nic", MACVLAN)
    with SpiderPoolController(plane, ("kube-system", "macvlan-ens192")) as maker:
        proc = ok(run(*args, "-o", "report-json"))
    assert maker.error is None
    assert maker.done
    report = parse_json(proc)
    assert actions(report) == [
        ("SpiderIPPool", "10-7-v4", "created"),
        ("SpiderMultusConfig", "macvlan-ens192", "created"),
        ("VirtualMachine", "web", "configured"),
    ]
    assert report["apply"]["waits"][0]["ready"] is True
    edit = report["edit"]
    assert edit["effect"]["when"] == "restart"
    assert "its VMI exists" in edit["effect"]["vm"]
    assert edit["ips"][0]["ip"].startswith("a new fixed IP from 10-7-v4")
    after = get(plane, KV, "VirtualMachine", "web", NS)
    template = after["spec"]["template"]
    assert template["spec"]["domain"]["devices"]["interfaces"] == [{"passtBinding": {}, "name": "default"}]
    assert template["metadata"]["annotations"] == {
        "v1.multus-cni.io/default-network": "kube-system/macvlan-ens192",
        "ipam.spidernet.io/ippools": '[{"interface":"eth0","ipv4":["10-7-v4"]}]',
    }
    assert without_networking(after) == without_networking(before)
    versions = {
        (kind, name): get(plane, api, kind, name, ns)["metadata"]["resourceVersion"]
        for api, kind, name, ns in (
            (KV, "VirtualMachine", "web", NS),
            (SP, "SpiderIPPool", "10-7-v4", None),
            (SP, "SpiderMultusConfig", "macvlan-ens192", "kube-system"),
        )
    }

    again = ok(run(*args))
    assert "no change: the VM already has this network" in again.stdout
    assert "VirtualMachine vms/web unchanged" in again.stdout
    assert "0 created, 0 configured, 1 unchanged" in again.stdout, "existing pool and config reused, not re-applied"
    for (kind, name), version in versions.items():
        api = KV if kind == "VirtualMachine" else SP
        ns = NS if kind == "VirtualMachine" else ("kube-system" if kind == "SpiderMultusConfig" else None)
        assert get(plane, api, kind, name, ns)["metadata"]["resourceVersion"] == version, f"{kind} {name} rewritten"


def test_dry_run_server_checks_everything_and_stores_nothing(plane: ControlPlane) -> None:
    run = virtnet_on(plane)
    server_side_apply(plane.client, guide_vm("dry"), field_manager="virtnet")
    version = get(plane, KV, "VirtualMachine", "dry", NS)["metadata"]["resourceVersion"]
    nic = "bridge=br7,vlan=70,subnet=10.70.0.0/24,gateway=10.70.0.1,ips=10.70.0.10-10.70.0.20"
    proc = ok(run("set", "network", "dry", "-n", NS, "--mode", "bridge", "--nic", nic, "--dry-run=server"))
    assert "SpiderIPPool ovs-vlan70-v4 created (dry run: server)" in proc.stdout
    assert "NetworkAttachmentDefinition kube-system/ovs-vlan70 absent: apply would wait for it" in proc.stdout
    assert "VirtualMachine vms/dry configured (dry run: server)" in proc.stdout
    assert "v1.multus-cni.io/default-network]: removed (was kube-system/k8s-pod-network)" in proc.stdout
    assert "removed annotations" not in proc.stdout, "virtnet alone owns it: its apply drops it, no patch needed"
    assert "nothing was written" in proc.stdout
    assert get(plane, SP, "SpiderIPPool", "ovs-vlan70-v4") is None
    assert get(plane, KV, "VirtualMachine", "dry", NS)["metadata"]["resourceVersion"] == version
    client_yaml = ok(
        run("set", "network", "dry", "-n", NS, "--mode", "bridge", "--nic", nic, "--dry-run=client", "-o", "yaml")
    )
    shown = [d for d in yaml.safe_load_all(client_yaml.stdout) if d]
    assert shown[0]["spec"]["template"]["spec"]["networks"] == [
        {"name": "default", "multus": {"default": True, "networkName": "kube-system/ovs-vlan70"}}
    ]
    assert "managedFields" not in shown[0]["metadata"]
    diff = ok(run("set", "network", "dry", "-n", NS, "--mode", "bridge", "--nic", nic, "--diff"))
    changed = [line for line in diff.stdout.splitlines()[2:] if line[:1] in "+-"]
    assert any(line.startswith("-") and "masquerade: {}" in line for line in changed), diff.stdout
    assert any(line.startswith("+") and "bridge: {}" in line for line in changed), diff.stdout
    assert not any("cpu" in line or "disk" in line for line in changed), "only networking changes"
    assert get(plane, KV, "VirtualMachine", "dry", NS)["metadata"]["resourceVersion"] == version


@pytest.fixture(scope="module")
def networks(plane: ControlPlane) -> None:
    """A pool and two SpiderMultusConfigs (with their NADs) that exist already: set network reuses them."""
    for obj in (
        {"apiVersion": SP, "kind": "SpiderIPPool", "metadata": {"name": "lan-v4"},
         "spec": {"subnet": "10.9.0.0/16", "ips": ["10.9.1.1-10.9.1.9"], "gateway": "10.9.0.1"}},
        {"apiVersion": SP, "kind": "SpiderIPPool", "metadata": {"name": "lan2-v4"},
         "spec": {"subnet": "10.10.0.0/16", "ips": ["10.10.1.1-10.10.1.9"], "gateway": "10.10.0.1"}},
        {"apiVersion": SP, "kind": "SpiderMultusConfig", "metadata": {"name": "lan", "namespace": "kube-system"},
         "spec": {"cniType": "macvlan", "macvlan": {"master": ["ens224"], "vlanID": 0}}},
        {"apiVersion": SP, "kind": "SpiderMultusConfig", "metadata": {"name": "ovs-lan", "namespace": "kube-system"},
         "spec": {"cniType": "ovs", "ovs": {"bridge": "br9"}}},
    ):  # fmt: skip
        stored = server_side_apply(plane.client, obj, field_manager="admin").object
        if obj["kind"] == "SpiderMultusConfig":
            generate_nad(plane.client, stored)


def test_a_vm_of_another_field_manager_is_not_taken_over_without_force(plane: ControlPlane, networks: None) -> None:
    run = virtnet_on(plane)
    create_with_manager(plane, guide_vm("owned"), "kubectl-client-side-apply")
    before = get(plane, KV, "VirtualMachine", "owned", NS)
    args = ("set", "network", "owned", "-n", NS, "--mode", "passt", "--nic", "master=ens224,pool=lan-v4")

    proc = run(*args)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert "field manager 'kubectl-client-side-apply' owns .spec.template.spec.domain.devices.interfaces" in proc.stderr
    assert ".spec.template.metadata.annotations.v1.multus-cni.io/default-network" in proc.stderr
    assert "nothing was written" in proc.stderr
    assert "--force-conflicts" in proc.stderr
    version = before["metadata"]["resourceVersion"]
    assert get(plane, KV, "VirtualMachine", "owned", NS)["metadata"]["resourceVersion"] == version
    report = parse_json(run(*args, "-o", "report-json"))
    assert {c["field"] for c in report["conflicts"]} == {
        ".spec.template.spec.domain.devices.interfaces",
        ".spec.template.metadata.annotations.v1.multus-cni.io/default-network",
    }

    forced = ok(run(*args, "--force-conflicts"))
    assert "VirtualMachine vms/owned configured" in forced.stdout
    assert "uses the existing SpiderMultusConfig kube-system/lan" in forced.stdout
    after = get(plane, KV, "VirtualMachine", "owned", NS)
    assert after["spec"]["template"]["metadata"]["annotations"]["v1.multus-cni.io/default-network"] == "kube-system/lan"
    assert without_networking(after) == without_networking(before)
    kubectl = owned(after, "kubectl-client-side-apply")
    mine = owned(after, "virtnet")
    assert "f:interfaces" in tspec_fields(mine)["f:domain"]["f:devices"]
    assert "f:interfaces" not in tspec_fields(kubectl)["f:domain"]["f:devices"], "taken over: only with force"
    assert "f:cpu" in tspec_fields(kubectl)["f:domain"], "kubectl keeps every field the edit does not need"
    assert "f:disks" in tspec_fields(kubectl)["f:domain"]["f:devices"]
    assert "f:dataVolumeTemplates" in kubectl["f:spec"]
    assert "f:cpu" not in tspec_fields(mine).get("f:domain", {}), "virtnet owns only what the edit needs"
    assert "f:dataVolumeTemplates" not in mine.get("f:spec", {})
    again = ok(run(*args))
    assert "VirtualMachine vms/owned unchanged" in again.stdout
    assert (
        get(plane, KV, "VirtualMachine", "owned", NS)["metadata"]["resourceVersion"]
        == (after["metadata"]["resourceVersion"])
    )


def test_an_annotation_another_manager_set_is_removed_only_with_force(plane: ControlPlane, networks: None) -> None:
    run = virtnet_on(plane)
    create_with_manager(plane, guide_vm("owned2"), "kubectl-client-side-apply")
    before = get(plane, KV, "VirtualMachine", "owned2", NS)
    bridge = ("set", "network", "owned2", "-n", NS, "--mode", "bridge", "--nic", "bridge=br9,pool=lan2-v4")
    refused = run(*bridge)
    assert refused.returncode == 1
    assert ".spec.template.metadata.annotations.v1.multus-cni.io/default-network (to remove)" in refused.stderr
    moved = ok(run(*bridge, "--force-conflicts"))
    assert "removed annotations v1.multus-cni.io/default-network (JSON patch)" in moved.stdout
    final = get(plane, KV, "VirtualMachine", "owned2", NS)
    assert "v1.multus-cni.io/default-network" not in final["spec"]["template"]["metadata"]["annotations"]
    assert final["spec"]["template"]["spec"]["networks"] == [
        {"name": "default", "multus": {"default": True, "networkName": "kube-system/ovs-lan"}}
    ]
    assert without_networking(final) == without_networking(before)
    again = ok(run(*bridge))
    assert "VirtualMachine vms/owned2 unchanged" in again.stdout
    assert (
        get(plane, KV, "VirtualMachine", "owned2", NS)["metadata"]["resourceVersion"]
        == (final["metadata"]["resourceVersion"])
    )


def test_an_edit_that_brings_a_lint_error_is_refused_before_writing_unless_no_lint(plane: ControlPlane) -> None:
    # The pool the user names exists, but only for namespace "other": SpiderPool would refuse the VM's pod (no IP at
    # the next start). set network's own checks accept the edit; lint (VN027 ippool-refuses-vm) does not.
    run = virtnet_on(plane)
    server_side_apply(plane.client, guide_vm("fenced"), field_manager="virtnet")
    pool = {
        "apiVersion": SP,
        "kind": "SpiderIPPool",
        "metadata": {"name": "fenced-v4"},
        "spec": {"subnet": "10.9.0.0/16", "ips": ["10.9.1.10-10.9.1.20"], "gateway": "10.9.0.1"},
    }
    pool["spec"]["namespaceName"] = ["other"]
    server_side_apply(plane.client, pool, field_manager="kubectl")
    before = get(plane, KV, "VirtualMachine", "fenced", NS)
    args = ("set", "network", "fenced", "-n", NS, "--mode", "passt", "--cni", "macvlan")
    args += ("--nic", "master=ens256,pool=fenced-v4")
    refused = run(*args)
    assert refused.returncode == 1, refused.stderr
    assert "error: lint VN027 ippool-refuses-vm" in refused.stdout
    assert "refusing to edit VirtualMachine vms/fenced: lint finds 1 error the edit would bring" in refused.stderr
    assert "--no-lint" in refused.stderr
    after = get(plane, KV, "VirtualMachine", "fenced", NS)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert get(plane, SP, "SpiderMultusConfig", "macvlan-ens256", "kube-system") is None  # nothing written
    report = parse_json(run(*args, "-o", "report-json"))
    assert report["refused"] == "lint found 1 error"
    assert [f["code"] for f in report["lint"]] == ["VN027"]
    with SpiderPoolController(plane, ("kube-system", "macvlan-ens256")) as maker:
        forced = ok(run(*args, "--no-lint"))
    assert maker.error is None
    assert "error: lint VN027 ippool-refuses-vm" in forced.stdout  # still said
    edited = get(plane, KV, "VirtualMachine", "fenced", NS)
    assert edited["spec"]["template"]["metadata"]["annotations"]["v1.multus-cni.io/default-network"] == (
        "kube-system/macvlan-ens256"
    )
