"""The pure part of `virtnet status`: interface plans, NAD/SMC/pool links and drift, from dicts (no server)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from virtnet.cli.status import render_text
from virtnet.cluster.facts import SpiderpoolConf
from virtnet.cluster.status import (
    StatusInputs,
    binding_of,
    build_status,
    expand,
    launcher_pod,
    nad_info,
    plan_interfaces,
    requested_pools,
    run_strategy,
    smc_for,
)
from virtnet.model.capabilities import pod_interface_name

NS = "vms"
SECONDARY = pod_interface_name("nic2", primary=False)
MAC = "0a:55:44:f7:b1:05"


def vm(annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    """A passt VM on the pod network whose default network is the SpiderPool macvlan NAD (the README's VM)."""
    template_spec = {
        "domain": {"devices": {"interfaces": [{"name": "default", "passtBinding": {}, "macAddress": MAC}]}},
        "networks": [{"name": "default", "pod": {}}],
    }
    template_spec.update(spec)
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": "vm1", "namespace": NS, "uid": "vm-uid"},
        "spec": {
            "runStrategy": "Always",
            "template": {
                "metadata": {
                    "annotations": annotations
                    if annotations is not None
                    else {
                        "v1.multus-cni.io/default-network": "kube-system/macvlan-ens192",
                        "ipam.spidernet.io/ippools": '[{"interface":"eth0","ipv4":["10-7-v4"]}]',
                    }
                },
                "spec": template_spec,
            },
        },
        "status": {"printableStatus": "Running"},
    }


def bridge_vm() -> dict[str, Any]:
    return vm(
        {"ipam.spidernet.io/ippools": '[{"ipv4":["p30"]},{"ipv4":["p40"]}]'},  # unnamed: by position
        domain={"devices": {"interfaces": [{"name": "nic1", "bridge": {}}, {"name": "nic2", "bridge": {}}]}},
        networks=[
            {"name": "nic1", "multus": {"networkName": "kube-system/ovs-vlan30", "default": True}},
            {"name": "nic2", "multus": {"networkName": "ovs-vlan40"}},
        ],
    )


def nad(name: str, ns: str = "kube-system", cni: str = "macvlan", pools: tuple[str, ...] = ()) -> dict[str, Any]:
    ipam: dict[str, Any] = {"type": "spiderpool"}
    if pools:
        ipam["default_ipv4_ippool"] = list(pools)
    config = {"cniVersion": "0.3.1", "name": name, "plugins": [{"type": cni, "ipam": ipam}, {"type": "coordinator"}]}
    return {
        "metadata": {
            "name": name,
            "namespace": ns,
            "ownerReferences": [{"kind": "SpiderMultusConfig", "name": f"smc-{name}", "controller": True}],
        },
        "spec": {"config": json.dumps(config)},
    }


def smc(name: str, ns: str = "kube-system", cr_name: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if cr_name:
        meta["annotations"] = {"multus.spidernet.io/cr-name": cr_name}
    return {"metadata": meta, "spec": {"cniType": "macvlan"}}


def ippool(name: str, subnet: str = "10.7.0.0/16", ips: str = "10.7.120.100-10.7.120.200") -> dict[str, Any]:
    return {
        "apiVersion": "spiderpool.spidernet.io/v2beta1",
        "kind": "SpiderIPPool",
        "metadata": {"name": name},
        "spec": {"ipVersion": 4, "subnet": subnet, "ips": [ips]},
    }


def vmi(ips: list[str], mac: str = MAC, phase: str = "Running", name: str = "default") -> dict[str, Any]:
    return {
        "metadata": {"name": "vm1", "namespace": NS, "uid": "vmi-uid"},
        "status": {
            "phase": phase,
            "nodeName": "n1",
            "interfaces": [
                {
                    "name": name,
                    "ipAddress": ips[0] if ips else None,
                    "ipAddresses": ips,
                    "mac": mac,
                    "infoSource": "domain, guest-agent",
                }
            ],
        },
    }


def pod(ip: str, uid: str = "pod-uid", interface: str = "eth0") -> dict[str, Any]:
    status = [{"name": "kube-system/macvlan-ens192", "interface": interface, "ips": [ip], "mac": "aa:bb:cc:dd:ee:ff"}]
    return {
        "metadata": {
            "name": "virt-launcher-vm1-abcde",
            "namespace": NS,
            "uid": uid,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "annotations": {"k8s.v1.cni.cncf.io/network-status": json.dumps(status)},
        },
        "status": {"phase": "Running"},
    }


def endpoint(entries: list[dict[str, Any]], uid: str = "pod-uid", owner: str = "VirtualMachineInstance") -> dict:
    return {
        "metadata": {"name": "vm1", "namespace": NS},
        "status": {
            "current": {"uid": uid, "node": "n1", "ips": entries},
            "ownerControllerType": owner,
            "ownerControllerName": "vm1",
        },
    }


def healthy(**changes: Any) -> StatusInputs:
    inputs = StatusInputs(
        vm=vm(),
        vmi=vmi(["10.7.120.100"]),
        pods=[pod("10.7.120.100")],
        endpoint=endpoint([{"interface": "eth0", "ipv4": "10.7.120.100/16", "ipv4Pool": "10-7-v4", "vlan": 0}]),
        nads={("kube-system", "macvlan-ens192"): nad("macvlan-ens192")},
        multus_configs=[smc("smc-macvlan-ens192"), smc("other")],
        pools={"10-7-v4": ippool("10-7-v4")},
        conf=SpiderpoolConf(True, True, False),
    )
    for key, value in changes.items():
        setattr(inputs, key, value)
    return inputs


def drift_ids(inputs: StatusInputs) -> list[str]:
    return [f.id for f in build_status(inputs).findings if f.severity in ("error", "warning")]


# --- plans --------------------------------------------------------------------------------------------------------


def test_plan_of_a_pod_network_with_a_multus_default_network_annotation() -> None:
    (plan,) = plan_interfaces(vm())
    assert (plan.name, plan.binding, plan.source, plan.primary, plan.pod_interface, plan.index) == (
        "default",
        "passtBinding",
        "pod",
        True,
        "eth0",
        0,
    )
    assert plan.nad == ("kube-system", "macvlan-ens192")
    assert plan.nad_from == "annotation v1.multus-cni.io/default-network"
    assert plan.mac == MAC


def test_plan_of_two_multus_networks_names_secondaries_by_hash_and_defaults_their_namespace() -> None:
    first, second = plan_interfaces(bridge_vm())
    assert (first.pod_interface, first.index, first.nad) == ("eth0", 0, ("kube-system", "ovs-vlan30"))
    assert (second.pod_interface, second.index, second.nad) == (SECONDARY, 1, (NS, "ovs-vlan40"))
    assert SECONDARY == "podf3c3bc44bbb"  # the name the bundle renders for network nic2


def test_a_default_network_named_without_namespace_is_looked_up_where_multus_looks() -> None:
    # Multus resolves a bare default-network name in its own namespace (kube-system), not the VM's (vms); a
    # secondary network's bare networkName is in the VM's namespace (KubeVirt qualifies it)
    (plan,) = plan_interfaces(vm({"v1.multus-cni.io/default-network": "macvlan-ens192"}))
    assert plan.nad == ("kube-system", "macvlan-ens192")
    two = bridge_vm()
    two["spec"]["template"]["spec"]["networks"][0]["multus"]["networkName"] = "ovs-vlan30"
    first, second = plan_interfaces(two)
    assert (first.nad, second.nad) == (("kube-system", "ovs-vlan30"), (NS, "ovs-vlan40"))


def test_plan_without_network_and_with_json_default_network_annotation() -> None:
    annotations = {"v1.multus-cni.io/default-network": '[{"name":"calico","namespace":"kube-system"}]'}
    (plan,) = plan_interfaces(vm(annotations))
    assert plan.nad == ("kube-system", "calico")
    broken = vm(networks=[])
    (plan,) = plan_interfaces(broken)
    assert (plan.source, plan.pod_interface, plan.nad) == ("missing", None, None)


@pytest.mark.parametrize(
    ("interface", "binding"),
    [
        ({"name": "a", "binding": {"name": "passt"}}, "binding:passt"),
        ({"name": "a", "masquerade": {}}, "masquerade"),
        ({"name": "a", "passt": {}}, "passt"),
        ({"name": "a"}, "none"),
    ],
)
def test_binding_of(interface: dict[str, Any], binding: str) -> None:
    assert binding_of(interface) == binding


@pytest.mark.parametrize(
    ("spec", "strategy"),
    [
        ({"runStrategy": "Manual"}, "Manual"),
        ({"running": True}, "Always"),
        ({"running": False}, "Halted"),
        ({}, "Halted"),
    ],
)
def test_run_strategy(spec: dict[str, Any], strategy: str) -> None:
    assert run_strategy({"spec": spec}) == strategy


# --- NADs, SMCs, pools --------------------------------------------------------------------------------------------


def test_nad_info_reads_the_spiderpool_ipam_and_its_default_pools() -> None:
    info = nad_info(nad("x", cni="ovs", pools=("p1", "p2")))
    assert (info.cni_type, info.spiderpool, info.ipv4_pools) == ("ovs", True, ("p1", "p2"))
    calico = {"spec": {"config": json.dumps({"type": "calico", "ipam": {"type": "calico-ipam"}})}}
    assert nad_info(calico).spiderpool is False
    assert nad_info({"spec": {"config": "{not json"}}).spiderpool is None


def test_smc_for_prefers_the_controller_owner_then_the_cr_name() -> None:
    owned = nad("macvlan-ens192")
    smcs = [smc("macvlan-ens192"), smc("smc-macvlan-ens192")]
    found = smc_for(("kube-system", "macvlan-ens192"), owned, smcs)
    assert found is not None
    assert found["metadata"]["name"] == "smc-macvlan-ens192"
    renamed = smc_for(("kube-system", "net-a"), None, [smc("whatever", cr_name="net-a")])
    assert renamed is not None
    assert renamed["metadata"]["name"] == "whatever"
    assert smc_for(("other-ns", "net-a"), None, [smc("net-a")]) is None


def test_requested_pools_follow_spiderpools_precedence() -> None:
    plan, = plan_interfaces(vm())  # fmt: skip
    request, problem = requested_pools(plan, {"ipam.spidernet.io/ippools": '[{"interface":"eth0","ipv4":["a"]}]'}, None)
    assert (request.ipv4, request.source, problem) == (
        ("a",),
        "ipam.spidernet.io/ippools entry 0, interface eth0",
        None,
    )
    request, _ = requested_pools(plan, {"ipam.spidernet.io/ippool": '{"ipv4":["b"],"ipv6":["b6"]}'}, None)
    assert (request.ipv4, request.ipv6, request.source) == (("b",), ("b6",), "ipam.spidernet.io/ippool")
    request, _ = requested_pools(plan, {}, nad_info(nad("n", pools=("c",))))
    assert (request.ipv4, request.source) == (("c",), "the NAD's default_ipv4/6_ippool")
    request, problem = requested_pools(plan, {"ipam.spidernet.io/ippools": "[{"}, None)
    assert request.source is None
    assert problem is not None
    assert problem.startswith("ipam.spidernet.io/ippools cannot be read by SpiderPool")
    _, second = plan_interfaces(bridge_vm())
    request, _ = requested_pools(second, bridge_vm()["spec"]["template"]["metadata"]["annotations"], None)
    assert (request.ipv4, request.source) == (("p40",), "ipam.spidernet.io/ippools entry 1, by position")


def test_expand_matches_wildcards_and_reports_missing_names() -> None:
    assert expand(["10-7-*", "x", "nope-*"], {"10-7-v4": {}, "10-7-b": {}, "x": {}}) == (
        ["10-7-b", "10-7-v4", "x"],
        ["nope-*"],
    )


def test_launcher_pod_prefers_the_running_newest_live_pod() -> None:
    old = pod("10.0.0.1", uid="old")
    new = copy.deepcopy(pod("10.0.0.2", uid="new"))
    new["metadata"]["creationTimestamp"] = "2026-02-01T00:00:00Z"
    dying = copy.deepcopy(new)
    dying["metadata"]["deletionTimestamp"] = "2026-03-01T00:00:00Z"
    chosen = launcher_pod([old, new, dying])
    assert chosen is not None
    assert chosen["metadata"]["uid"] == "new"
    assert launcher_pod([dying]) is None


# --- the report ---------------------------------------------------------------------------------------------------


def test_healthy_chain() -> None:
    report = build_status(healthy())
    assert report.healthy
    out = report.to_json()
    (iface,) = out["interfaces"]
    assert iface["multusConfig"]["name"] == "smc-macvlan-ens192"
    assert iface["endpointIPs"][0]["ipv4"] == "10.7.120.100/16"
    assert iface["vmiIPs"] == [{"ip": "10.7.120.100", "infoSource": "domain, guest-agent"}]
    assert iface["launcher"]["ips"] == ["10.7.120.100"]
    assert iface["mac"] == {"spec": MAC, "vmi": MAC, "pod": "aa:bb:cc:dd:ee:ff"}
    assert out["vm"]["state"] == "running"
    assert out["healthy"] is True
    text = render_text(out)
    assert "└─ drift: none" in text
    assert text.endswith("healthy: every link holds\n")


def test_ip_outside_pool_ignores_link_local_addresses() -> None:
    assert drift_ids(healthy(vmi=vmi(["10.7.120.100", "fe80::1"]))) == []
    assert drift_ids(healthy(vmi=vmi(["10.9.9.9"]))) == ["ip-outside-pool"]


def test_guest_address_in_pool_but_not_the_endpoints() -> None:
    assert drift_ids(healthy(vmi=vmi(["10.7.120.150"]))) == ["ip-differs-from-endpoint"]


def test_pod_address_differs_from_the_endpoint() -> None:
    assert drift_ids(healthy(pods=[pod("10.7.120.177")])) == ["pod-ip-differs-from-endpoint"]


def test_endpoint_pool_changed_says_what_to_delete() -> None:
    inputs = healthy()
    inputs.vm = vm({"ipam.spidernet.io/ippools": '[{"interface":"eth0","ipv4":["new-pool"]}]'})
    inputs.pools["new-pool"] = ippool("new-pool", "10.8.0.0/16", "10.8.0.10-10.8.0.20")
    findings = [f for f in build_status(inputs).findings if f.severity == "error"]
    assert [f.id for f in findings] == ["endpoint-pool-changed"]
    assert findings[0].fix is not None
    assert "kubectl delete spiderendpoint vm1 -n vms" in findings[0].fix
    assert "virtctl stop vm1 -n vms" in findings[0].fix
    # the endpoint's own address is explained by the changed pool; another guest address is drift of its own
    inputs.vmi = vmi(["10.7.120.100", "10.9.9.9"])
    assert drift_ids(inputs) == ["endpoint-pool-changed", "ip-outside-pool"]


def test_wildcard_pool_request_matches_the_endpoint_pool() -> None:
    inputs = healthy()
    inputs.vm = vm({"ipam.spidernet.io/ippools": '[{"interface":"eth0","ipv4":["10-7-*"]}]'})
    assert drift_ids(inputs) == []


def test_endpoint_missing_and_static_ip_off() -> None:
    inputs = healthy(endpoint=None)
    (finding,) = [f for f in build_status(inputs).findings if f.id == "endpoint-missing"]
    assert finding.severity == "error"
    inputs.conf = SpiderpoolConf(False, True, False)
    (finding,) = [f for f in build_status(inputs).findings if f.id == "endpoint-missing"]
    assert "enableKubevirtStaticIP off" in finding.message
    # an endpoint that could not be read is not "missing"
    inputs.unreadable["SpiderEndpoint"] = "forbidden (needs get on spiderendpoints.spiderpool.spidernet.io)"
    report = build_status(inputs)
    assert report.healthy
    assert [f.severity for f in report.findings if f.id == "unreadable"] == ["skip"]


def test_endpoint_entry_named_by_index_matches_an_unnamed_ippools_entry() -> None:
    inputs = healthy(
        vm=bridge_vm(),
        vmi={"metadata": {"uid": "vmi-uid"}, "status": {"phase": "Running", "interfaces": []}},
        pods=[],
        endpoint=endpoint(
            [
                {"interface": "eth0", "ipv4": "10.30.1.10/16", "ipv4Pool": "p30"},
                {"interface": "1", "ipv4": "10.40.1.10/16", "ipv4Pool": "p40"},
            ]
        ),
        nads={
            ("kube-system", "ovs-vlan30"): nad("ovs-vlan30", cni="ovs"),
            (NS, "ovs-vlan40"): nad("ovs-vlan40", NS, "ovs"),
        },
        pools={
            "p30": ippool("p30", "10.30.0.0/16", "10.30.1.10-10.30.1.200"),
            "p40": ippool("p40", "10.40.0.0/16", "10.40.1.10-10.40.1.200"),
        },
    )
    report = build_status(inputs)
    _first, second = report.to_json()["interfaces"]
    assert second["endpointIPs"][0]["interface"] == "1"
    assert second["network"]["podInterface"] == SECONDARY
    assert [f.id for f in report.findings if f.severity in ("error", "warning")] == ["launcher-pod-missing"]


def test_endpoint_without_this_interface() -> None:
    inputs = healthy(endpoint=endpoint([{"interface": "net1", "ipv4": "10.7.120.100/16", "ipv4Pool": "10-7-v4"}]))
    assert drift_ids(inputs) == ["endpoint-interface-missing"]


def test_stale_endpoint_uid_and_foreign_owner() -> None:
    entries = [{"interface": "eth0", "ipv4": "10.7.120.100/16", "ipv4Pool": "10-7-v4", "vlan": 0}]
    stale = healthy(endpoint=endpoint(entries, uid="older-pod"))
    assert drift_ids(stale) == ["endpoint-stale"]
    foreign = healthy(endpoint=endpoint(entries, owner="StatefulSet"))
    assert drift_ids(foreign) == ["endpoint-owner"]


@pytest.mark.parametrize(("phase", "severity"), [("Scheduling", "warning"), ("Failed", "error"), ("", "warning")])
def test_vmi_not_running(phase: str, severity: str) -> None:
    report = build_status(healthy(vmi=vmi(["10.7.120.100"], phase=phase)))
    assert [(f.id, f.severity) for f in report.findings if f.id == "vmi-not-running"] == [("vmi-not-running", severity)]


def test_mac_differs_case_insensitively() -> None:
    assert drift_ids(healthy(vmi=vmi(["10.7.120.100"], mac=MAC.upper()))) == []
    assert drift_ids(healthy(vmi=vmi(["10.7.120.100"], mac="02:00:00:00:00:09"))) == ["mac-differs"]


def test_missing_nad_and_pool() -> None:
    inputs = healthy(nads={("kube-system", "macvlan-ens192"): None}, pools={})
    report = build_status(inputs)
    ids = [f.id for f in report.findings if f.severity == "error"]
    assert ids == ["nad-missing", "pool-missing"]
    nad_missing = report.findings[[f.id for f in report.findings].index("nad-missing")]
    assert "SpiderMultusConfig kube-system/smc-macvlan-ens192" not in nad_missing.message  # owner unknown: no NAD
    # the SMC that would generate it, found by name
    inputs.multus_configs = [smc("macvlan-ens192")]
    report = build_status(inputs)
    nad_missing = report.findings[[f.id for f in report.findings].index("nad-missing")]
    assert "SpiderMultusConfig kube-system/macvlan-ens192 should generate it" in nad_missing.message


def test_stopped_vm_keeps_its_ip_and_is_healthy() -> None:
    inputs = healthy(vmi=None, pods=[])
    inputs.vm["spec"] = {**inputs.vm["spec"], "runStrategy": "Halted"}
    report = build_status(inputs)
    assert report.healthy
    (stopped,) = report.findings
    assert stopped.id == "vm-stopped"
    assert "SpiderPool keeps its fixed IP(s) 10.7.120.100/16" in stopped.message
    assert report.vm["state"] == "stopped"


def test_annotation_invalid_is_drift() -> None:
    assert drift_ids(healthy(vm=vm({"ipam.spidernet.io/ippools": "{}"}))) == ["annotation-invalid"]


def test_spiderpool_not_installed_is_information_only() -> None:
    report = build_status(healthy(spiderpool_installed=False, endpoint=None, pools={}))
    assert [f.id for f in report.findings] == ["spiderpool-not-installed"]
