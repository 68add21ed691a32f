"""`virtnet status VM` through the console script against a real API server with the upstream CRDs.

Each VM is rendered with `virtnet new vm`, its bundle server-side applied, and the controllers are played by
tests/cluster/controllers.py (NAD from the SpiderMultusConfig; VMI with status, virt-launcher pod with
network-status, SpiderEndpoint, pool records). Every case asserts the exit code, the JSON contract and, where the
text matters, the tree.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from virtnet.model.capabilities import pod_interface_name

from .cli import Runner, parse_json, virtnet_on
from .controllers import (
    Nic,
    apply_bundle,
    ensure_namespace,
    generate_nad,
    generate_nads,
    render_bundle,
    start_vm,
    stop_vm,
)
from .envtest import ControlPlane, create, http_session, resource_path, server_side_apply

pytestmark = pytest.mark.cluster

PASST_NIC = "master=ens192,subnet=10.7.0.0/16,gateway=10.7.0.1,ips=10.7.120.100-10.7.120.200,pool=10-7-v4"
CONF = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {
        "name": "spiderpool-conf",
        "namespace": "kube-system",
        "labels": {"app.kubernetes.io/version": "1.2.2", "helm.sh/chart": "spiderpool-1.2.2"},
    },
    "data": {"conf.yml": "ipamUnixSocketPath: /var/run/spidernet/spiderpool.sock\nenableIPv4: true\n"
             "enableIPv6: false\nenableStatefulSet: true\nenableKubevirtStaticIP: true\n"},
}  # fmt: skip


@pytest.fixture(scope="module")
def plane(own_cluster: ControlPlane) -> ControlPlane:
    server_side_apply(own_cluster.client, CONF, field_manager="helm")
    return own_cluster


@pytest.fixture(scope="module")
def run(plane: ControlPlane) -> Runner:
    return virtnet_on(plane)


def passt_vm(plane: ControlPlane, ns: str, name: str, *extra: str) -> dict[str, dict[str, Any]]:
    """The README's passt + macvlan VM in ``ns``, applied, with SpiderPool's NAD generated (once per plane)."""
    ensure_namespace(plane.client, ns)
    stored = apply_bundle(plane.client, render_bundle(name, "-n", ns, "--mode", "passt", "--nic", PASST_NIC, *extra))
    nad = {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": {"name": "macvlan-ens192", "namespace": "kube-system"},
    }
    if http_session(plane.client).get(resource_path(plane.client, nad)).status_code == 404:
        generate_nad(plane.client, stored["SpiderMultusConfig/macvlan-ens192"])
    return stored


def eth0(ip: str, **kw: Any) -> Nic:
    return Nic("default", "eth0", ip, "10-7-v4", 16, "10.7.0.1", nad="kube-system/macvlan-ens192", **kw)


def status(run: Runner, name: str, ns: str, *extra: str) -> tuple[int, dict[str, Any]]:
    proc = run("status", name, "-n", ns, "-o", "json", *extra)
    assert "Traceback" not in proc.stderr
    return proc.returncode, parse_json(proc)


def ids(report: dict[str, Any], severity: tuple[str, ...] = ("error", "warning")) -> list[str]:
    return [f["id"] for f in report["findings"] if f["severity"] in severity]


def test_healthy_passt_vm_shows_the_whole_chain(plane: ControlPlane, run: Runner) -> None:
    stored = passt_vm(plane, "st-healthy", "vm1")
    start_vm(plane.client, stored["VirtualMachine/vm1"], [eth0("10.7.120.101")])

    code, report = status(run, "vm1", "st-healthy")
    assert code == 0, report["findings"]
    assert report["healthy"] is True
    assert ids(report) == []
    vm = report["vm"]
    assert (vm["namespace"], vm["name"], vm["state"], vm["runStrategy"]) == ("st-healthy", "vm1", "running", "Always")
    assert vm["vmi"]["phase"] == "Running"
    assert vm["launcherPod"].startswith("virt-launcher-vm1-")
    assert vm["spiderEndpoint"]["ownerControllerType"] == "VirtualMachineInstance"
    assert vm["enableKubevirtStaticIP"] is True
    (iface,) = report["interfaces"]
    assert iface["name"] == "default"
    assert iface["binding"] == "passtBinding"
    assert iface["network"] == {"name": "default", "source": "pod", "primary": True, "podInterface": "eth0"}
    assert iface["nad"]["namespace"] == "kube-system"
    assert iface["nad"]["name"] == "macvlan-ens192"
    assert iface["nad"]["exists"] is True
    assert iface["nad"]["cniType"] == "macvlan"
    assert iface["nad"]["from"] == "annotation v1.multus-cni.io/default-network"
    assert iface["multusConfig"] == {"namespace": "kube-system", "name": "macvlan-ens192", "cniType": "macvlan"}
    assert iface["ipam"] == "spiderpool"
    assert iface["pools"]["ipv4"] == ["10-7-v4"]
    assert iface["pools"]["missing"] == []
    assert iface["pools"]["source"] == "ipam.spidernet.io/ippools entry 0, interface eth0"
    assert iface["endpointIPs"] == [
        {"interface": "eth0", "ipv4": "10.7.120.101/16", "ipv4Pool": "10-7-v4", "vlan": 0, "ipv4Gateway": "10.7.0.1"}
    ]
    assert iface["vmiIPs"] == [{"ip": "10.7.120.101", "infoSource": "domain, guest-agent, multus-status"}]
    assert iface["launcher"]["ips"] == ["10.7.120.101"]
    assert iface["launcher"]["interface"] == "eth0"
    spec_mac = stored["VirtualMachine/vm1"]["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]
    assert iface["mac"]["spec"] == iface["mac"]["vmi"] == spec_mac["macAddress"]
    assert iface["drift"] == []

    text = run("status", "vm1", "-n", "st-healthy")
    assert text.returncode == 0, text.stdout + text.stderr
    for line in (
        "VirtualMachine st-healthy/vm1: running (runStrategy Always, printableStatus Running)",
        "interface default  passtBinding",
        "├─ network: default (pod, primary) → pod interface eth0",
        "├─ NAD: kube-system/macvlan-ens192: macvlan, SpiderPool IPAM",
        "│  └─ generated by SpiderMultusConfig kube-system/macvlan-ens192 (macvlan)",
        "├─ SpiderEndpoint: 10.7.120.101/16 from 10-7-v4 (interface eth0)",
        "├─ VMI: 10.7.120.101 (infoSource domain, guest-agent, multus-status, guest eth0)",
        "└─ drift: none",
        "healthy: every link holds",
    ):
        assert line in text.stdout, text.stdout


def test_healthy_two_nic_bridge_vm_on_ovs(plane: ControlPlane, run: Runner) -> None:
    ns = "st-bridge"
    ensure_namespace(plane.client, ns)
    bundle = render_bundle(
        "vm2", "-n", ns, "--mode", "bridge", "--cni", "ovs",
        "--nic", "bridge=br1,vlan=30,subnet=10.30.0.0/16,gateway=10.30.0.1,ips=10.30.1.10-10.30.1.200",
        "--nic", "bridge=br1,vlan=40,subnet=10.40.0.0/16,gateway=10.40.0.1,ips=10.40.1.10-10.40.1.200",
    )  # fmt: skip
    stored = apply_bundle(plane.client, bundle)
    generate_nads(plane.client, stored)
    secondary = pod_interface_name("nic2", primary=False)
    start_vm(
        plane.client,
        stored["VirtualMachine/vm2"],
        [
            Nic("nic1", "eth0", "10.30.1.10", "ovs-vlan30-v4", 16, nad="kube-system/ovs-vlan30"),
            Nic(
                "nic2",
                secondary,
                "10.40.1.10",
                "ovs-vlan40-v4",
                16,
                guest_interface="eth1",
                nad="kube-system/ovs-vlan40",
            ),
        ],
    )
    code, report = status(run, "vm2", ns)
    assert code == 0, report["findings"]
    first, second = report["interfaces"]
    assert (first["binding"], first["network"]["podInterface"], first["nad"]["name"]) == (
        "bridge",
        "eth0",
        "ovs-vlan30",
    )
    assert first["network"]["source"] == "multus"
    assert first["network"]["primary"] is True
    assert second["network"] == {"name": "nic2", "source": "multus", "primary": False, "podInterface": secondary}
    assert second["nad"]["from"] == "spec.networks[].multus.networkName"
    assert second["nad"]["cniType"] == "ovs"
    assert second["multusConfig"]["name"] == "ovs-vlan40"
    assert second["pools"]["ipv4"] == ["ovs-vlan40-v4"]
    assert second["endpointIPs"][0]["interface"] == secondary
    assert second["endpointIPs"][0]["ipv4Pool"] == "ovs-vlan40-v4"
    assert second["vmiIPs"][0]["ip"] == "10.40.1.10"
    assert second["vmiInterface"]["interfaceName"] == "eth1"
    assert second["launcher"]["network"] == "kube-system/ovs-vlan40"
    assert second["launcher"]["interface"] == secondary


def test_vmi_ip_outside_the_pool_is_drift(plane: ControlPlane, run: Runner) -> None:
    stored = passt_vm(plane, "st-ipdrift", "vm3")
    # the guest configured 10.9.9.9 itself; SpiderPool gave the pod 10.7.120.103
    start_vm(plane.client, stored["VirtualMachine/vm3"], [eth0("10.7.120.103", vmi_ips=("10.9.9.9", "fe80::1"))])
    code, report = status(run, "vm3", "st-ipdrift")
    assert code == 1
    assert ids(report) == ["ip-outside-pool"]
    (finding,) = report["interfaces"][0]["drift"]
    assert finding["interface"] == "default"
    assert finding["severity"] == "error"
    assert "10.9.9.9" in finding["message"]
    assert "10-7-v4" in finding["message"]
    assert report["interfaces"][0]["vmiIPs"][0]["ip"] == "10.9.9.9"
    text = run("status", "vm3", "-n", "st-ipdrift")
    assert text.returncode == 1
    assert "└─ drift: ip-outside-pool" in text.stdout
    assert "✗ error   ip-outside-pool [default]: the VMI reports 10.9.9.9" in text.stdout
    assert "drift: 1 finding(s) need action" in text.stdout


def test_guest_address_inside_the_pool_but_not_the_endpoints_is_drift(plane: ControlPlane, run: Runner) -> None:
    stored = passt_vm(plane, "st-ipdiff", "vm4")
    start_vm(plane.client, stored["VirtualMachine/vm4"], [eth0("10.7.120.104", vmi_ips=("10.7.120.199",))])
    code, report = status(run, "vm4", "st-ipdiff")
    assert code == 1
    assert ids(report) == ["ip-differs-from-endpoint"]
    assert "SpiderEndpoint st-ipdiff/vm4 holds 10.7.120.104" in report["findings"][0]["message"]


def test_endpoint_pool_differs_from_the_requested_pool(plane: ControlPlane, run: Runner) -> None:
    ns = "st-repool"
    stored = passt_vm(plane, ns, "vm5")
    vm = stored["VirtualMachine/vm5"]
    start_vm(plane.client, vm, [eth0("10.7.120.105")])
    # the user moves the VM to a new pool; SpiderPool keeps the old fixed IP
    create(
        plane.client,
        {
            "apiVersion": "spiderpool.spidernet.io/v2beta1",
            "kind": "SpiderIPPool",
            "metadata": {"name": "10-8-v4"},
            "spec": {"ipVersion": 4, "subnet": "10.8.0.0/16", "ips": ["10.8.0.10-10.8.0.50"], "gateway": "10.8.0.1"},
        },
    )
    patch = {"spec": {"template": {"metadata": {"annotations": {
        "ipam.spidernet.io/ippools": '[{"interface":"eth0","ipv4":["10-8-v4"]}]'}}}}}  # fmt: skip
    resp = http_session(plane.client).patch(
        resource_path(plane.client, vm),
        content=json.dumps(patch),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert resp.status_code == 200, resp.text
    code, report = status(run, "vm5", ns)
    assert code == 1
    assert ids(report) == ["endpoint-pool-changed"]
    changed = report["findings"][0]
    assert "holds 10.7.120.105/16 from pool 10-7-v4, but the VM now asks for 10-8-v4" in changed["message"]
    assert "SpiderPool keeps a VM's fixed IP" in changed["message"]
    assert "virtctl stop vm5 -n st-repool" in changed["fix"]
    assert "kubectl delete spiderendpoint vm5 -n st-repool" in changed["fix"]
    assert report["interfaces"][0]["pools"]["ipv4"] == ["10-8-v4"]

    # stopped, the VM still holds the old IP: the advice stands, nothing else is drift
    stop_vm(plane.client, vm)
    code, report = status(run, "vm5", ns)
    assert code == 1
    assert ids(report) == ["endpoint-pool-changed"]
    assert report["vm"]["state"] == "stopped"


def test_missing_spiderendpoint(plane: ControlPlane, run: Runner) -> None:
    stored = passt_vm(plane, "st-noep", "vm6")
    start_vm(plane.client, stored["VirtualMachine/vm6"], [eth0("10.7.120.106")], endpoint=False, record_pools=False)
    code, report = status(run, "vm6", "st-noep")
    assert code == 1
    assert ids(report) == ["endpoint-missing"]
    assert report["vm"]["spiderEndpoint"] is None
    finding = report["findings"][-1]
    assert finding["severity"] == "error"
    assert "no SpiderEndpoint st-noep/vm6" in finding["message"]
    assert "enableKubevirtStaticIP" in finding["fix"]

    # with enableKubevirtStaticIP missing from spiderpool-conf the finding says what that means
    off = json.loads(json.dumps(CONF))
    off["data"]["conf.yml"] = "enableIPv4: true\n"
    server_side_apply(plane.client, off, field_manager="helm")
    try:
        code, report = status(run, "vm6", "st-noep")
    finally:
        server_side_apply(plane.client, CONF, field_manager="helm")
    assert code == 1
    assert report["vm"]["enableKubevirtStaticIP"] is False
    assert "enableKubevirtStaticIP off (a missing key is false)" in report["findings"][-1]["message"]


def test_missing_nad(plane: ControlPlane, run: Runner) -> None:
    # an SMC whose NAD SpiderPool never generated
    ns = "st-nonad"
    ensure_namespace(plane.client, ns)
    bundle = render_bundle(
        "vm7", "-n", ns, "--mode", "passt",
        "--nic", "master=ens224,subnet=10.7.0.0/16,gateway=10.7.0.1,ips=10.7.120.100-10.7.120.200,pool=10-7-v4",
    )  # fmt: skip
    stored = apply_bundle(plane.client, bundle)
    code, report = status(run, "vm7", ns)
    assert code == 1
    assert ids(report) == ["nad-missing"]
    (iface,) = report["interfaces"]
    assert iface["nad"]["exists"] is False
    assert iface["multusConfig"]["name"] == "macvlan-ens224"
    assert "SpiderMultusConfig kube-system/macvlan-ens224 should generate it" in iface["drift"][0]["message"]
    assert "spiderpool-controller" in iface["drift"][0]["fix"]

    # a network naming a NAD nobody makes
    vm = stored["VirtualMachine/vm7"]
    patch = {"spec": {"template": {"metadata": {"annotations": {
        "v1.multus-cni.io/default-network": "kube-system/nowhere"}}}}}  # fmt: skip
    resp = http_session(plane.client).patch(
        resource_path(plane.client, vm),
        content=json.dumps(patch),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert resp.status_code == 200, resp.text
    code, report = status(run, "vm7", ns)
    assert code == 1
    assert ids(report) == ["nad-missing"]
    (iface,) = report["interfaces"]
    assert iface["multusConfig"] is None
    assert "NetworkAttachmentDefinition kube-system/nowhere" in iface["drift"][0]["message"]
    text = run("status", "vm7", "-n", ns)
    assert "├─ NAD: kube-system/nowhere — MISSING" in text.stdout


def test_mac_drift(plane: ControlPlane, run: Runner) -> None:
    stored = passt_vm(plane, "st-mac", "vm8")
    start_vm(plane.client, stored["VirtualMachine/vm8"], [eth0("10.7.120.108", vmi_mac="02:AB:CD:EF:00:01")])
    code, report = status(run, "vm8", "st-mac")
    assert code == 1
    assert ids(report) == ["mac-differs"]
    mac = report["interfaces"][0]["mac"]
    assert mac["vmi"] == "02:ab:cd:ef:00:01"
    assert mac["spec"] != mac["vmi"]
    assert (
        f"rendered with macAddress {mac['spec']} but the VMI reports 02:ab:cd:ef:00:01"
        in report["findings"][0]["message"]
    )


@pytest.mark.parametrize("legacy", [False, True], ids=["runStrategy-Halted", "running-false"])
def test_stopped_vm_is_healthy_and_keeps_its_ip(plane: ControlPlane, run: Runner, legacy: bool) -> None:
    ns, name = f"st-stopped-{int(legacy)}", f"vm9{int(legacy)}"
    stored = passt_vm(plane, ns, name)
    start_vm(plane.client, stored[f"VirtualMachine/{name}"], [eth0(f"10.7.120.19{int(legacy)}")])
    stop_vm(plane.client, stored[f"VirtualMachine/{name}"], legacy_running=legacy)
    code, report = status(run, name, ns)
    assert code == 0, report["findings"]
    assert report["vm"]["state"] == "stopped"
    assert report["vm"]["runStrategy"] == "Halted"
    assert report["vm"]["vmi"] is None
    assert report["vm"]["printableStatus"] == "Stopped"
    (stopped,) = [f for f in report["findings"] if f["id"] == "vm-stopped"]
    assert stopped["severity"] == "info"
    assert (
        f"SpiderPool keeps its fixed IP(s) 10.7.120.19{int(legacy)}/16 in SpiderEndpoint {ns}/{name}"
        in stopped["message"]
    )
    assert report["interfaces"][0]["endpointIPs"][0]["ipv4"] == f"10.7.120.19{int(legacy)}/16"


def test_vm_not_found_names_the_namespace(plane: ControlPlane, run: Runner) -> None:
    ensure_namespace(plane.client, "st-empty")
    proc = run("status", "ghost", "-n", "st-empty")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "VirtualMachine ghost not found in namespace st-empty" in proc.stderr
    assert "Traceback" not in proc.stderr
    # the context's namespace (default) when -n is not given
    proc = run("status", "ghost")
    assert proc.returncode == 1
    assert "not found in namespace default" in proc.stderr


def test_old_stack_kubevirt_v1_0_and_spiderpool_v0_8(own_cluster_old: ControlPlane) -> None:
    plane, run = own_cluster_old, virtnet_on(own_cluster_old)
    ns = "st-old"
    ensure_namespace(plane.client, ns)
    bundle = render_bundle(
        "old1", "-n", ns, "--mode", "passt", "--nic", PASST_NIC,
        "--kubevirt-version", "v1.0.1", "--spiderpool-version", "v0.8.13",
    )  # fmt: skip
    stored = apply_bundle(plane.client, bundle)
    generate_nads(plane.client, stored)
    vm = stored["VirtualMachine/old1"]
    assert "passt" in vm["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]  # core passt on v1.0
    # KubeVirt v1.0 reports no podInterfaceName (not in its CRD)
    start_vm(plane.client, vm, [eth0("10.7.120.150", vmi_ips=("10.7.99.1",))], pod_interface_field=False)
    code, report = status(run, "old1", ns)
    assert code == 1
    assert ids(report) == ["ip-outside-pool"]
    (iface,) = report["interfaces"]
    assert iface["binding"] == "passt"
    assert iface["network"]["podInterface"] == "eth0"
    assert iface["endpointIPs"][0] == {
        "interface": "eth0", "ipv4": "10.7.120.150/16", "ipv4Pool": "10-7-v4", "vlan": 0, "ipv4Gateway": "10.7.0.1"
    }  # fmt: skip
    assert iface["multusConfig"]["name"] == "macvlan-ens192"
    assert iface["nad"]["exists"] is True
