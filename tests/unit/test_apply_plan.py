"""`virtnet apply`'s pure decisions: order, classification, the KubeVirt CR merge, the HCO change, VM addresses."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from virtnet.cluster.apply import (
    HCO_JSONPATCH_ANNOTATION,
    Item,
    Ref,
    Report,
    apply_body,
    classify_client,
    classify_server,
    contains,
    desired_view,
    hco_change,
    merge_kubevirt,
    might_be_unchanged,
    nad_of_multus_config,
    plan,
    same_object,
    vm_addresses,
)
from virtnet.errors import InputError, Location
from virtnet.model.capabilities import pod_interface_name

SP = "spiderpool.spidernet.io/v2beta1"


def obj(api_version: str, kind: str, name: str, namespace: str | None = None, **rest: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **rest}


def item(o: dict[str, Any], namespaced: bool = True) -> Item:
    return Item(o, Ref.of(o, namespaced, "default"), Location(file="in.yaml"))


CLUSTER_SCOPED = {"Namespace", "SpiderIPPool"}


def items(*objects: dict[str, Any]) -> list[Item]:
    return [item(o, o["kind"] not in CLUSTER_SCOPED) for o in objects]


# --- order ---------------------------------------------------------------------------------------------------------


def test_plan_orders_by_dependency_and_waits_for_each_multus_config_nad() -> None:
    vm = obj("kubevirt.io/v1", "VirtualMachine", "vm1", "ns1")
    secret = obj("v1", "Secret", "vm1-cloudinit", "ns1")
    kv = obj("kubevirt.io/v1", "KubeVirt", "kubevirt", "kubevirt")
    plugin_nad = obj("k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition", "netbindingpasst", "default")
    smc_a = obj(SP, "SpiderMultusConfig", "a", "kube-system")
    smc_b = obj(SP, "SpiderMultusConfig", "b", "kube-system")
    smc_b["metadata"]["annotations"] = {"multus.spidernet.io/cr-name": "b-nad"}
    pool = obj(SP, "SpiderIPPool", "p1")
    ns = obj("v1", "Namespace", "ns1")
    cm = obj("v1", "ConfigMap", "extra", "ns1")
    steps = plan(items(vm, secret, cm, kv, plugin_nad, smc_a, pool, smc_b, ns))
    assert [(s.op, s.ref.kind, s.ref.name) for s in steps] == [
        ("apply", "Namespace", "ns1"),
        ("apply", "SpiderIPPool", "p1"),
        ("apply", "SpiderMultusConfig", "a"),
        ("apply", "SpiderMultusConfig", "b"),
        ("wait-nad", "NetworkAttachmentDefinition", "a"),
        ("wait-nad", "NetworkAttachmentDefinition", "b-nad"),  # cr-name annotation names the NAD
        ("apply", "NetworkAttachmentDefinition", "netbindingpasst"),
        ("kubevirt", "KubeVirt", "kubevirt"),
        ("apply", "ConfigMap", "extra"),
        ("apply", "Secret", "vm1-cloudinit"),
        ("apply", "VirtualMachine", "vm1"),
    ]
    assert steps[5].owner == Ref(SP, "SpiderMultusConfig", "kube-system", "b")
    assert steps[5].ref.namespace == "kube-system"


def test_plan_keeps_input_order_within_a_kind_and_waits_at_the_end_when_nothing_follows() -> None:
    steps = plan(items(obj(SP, "SpiderMultusConfig", "z", "ns"), obj(SP, "SpiderMultusConfig", "a", "ns")))
    assert [(s.op, s.ref.name) for s in steps] == [("apply", "z"), ("apply", "a"), ("wait-nad", "z"), ("wait-nad", "a")]


def test_nad_of_multus_config_defaults_to_its_name() -> None:
    smc = obj(SP, "SpiderMultusConfig", "m", "x")
    assert nad_of_multus_config(Ref.of(smc, True, "d"), smc) == Ref(
        "k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition", "x", "m"
    )


def test_plan_refuses_duplicates_and_empty_input() -> None:
    one = obj("v1", "Secret", "s", "ns")
    with pytest.raises(InputError, match="appears twice"):
        plan(items(one, copy.deepcopy(one)))
    with pytest.raises(InputError, match="no Kubernetes objects"):
        plan([])


def test_same_name_in_two_namespaces_is_not_a_duplicate() -> None:
    assert len(plan(items(obj("v1", "Secret", "s", "a"), obj("v1", "Secret", "s", "b")))) == 2


# --- what is sent, and classification ------------------------------------------------------------------------------


def test_apply_body_drops_server_metadata_and_virtnet_explanations() -> None:
    o = obj("kubevirt.io/v1", "KubeVirt", "kv", "kubevirt")
    o["metadata"].update(
        resourceVersion="7",
        uid="u",
        managedFields=[{"manager": "x"}],
        annotations={"virtnet.io/reason": "why", "virtnet.io/patch-type": "merge", "keep": "me"},
    )
    body = apply_body(o)
    assert body["metadata"] == {"name": "kv", "namespace": "kubevirt", "annotations": {"keep": "me"}}
    assert o["metadata"]["resourceVersion"] == "7"  # the input is not modified


def test_secret_string_data_compares_as_data() -> None:
    desired = obj("v1", "Secret", "s", "ns", type="Opaque", stringData={"userdata": "hello"})
    live = obj("v1", "Secret", "s", "ns", type="Opaque", data={"userdata": "aGVsbG8="})
    live["metadata"]["resourceVersion"] = "5"
    assert desired_view(desired)["data"] == {"userdata": "aGVsbG8="}
    assert classify_client(desired, live) == "unchanged"
    live["data"]["userdata"] = "b3RoZXI="
    assert classify_client(desired, live) == "configured"


def test_classify_client() -> None:
    desired = obj(SP, "SpiderIPPool", "p", spec={"ips": ["10.0.0.1-10.0.0.9"], "gateway": "10.0.0.254"})
    assert classify_client(desired, None) == "created"
    live = copy.deepcopy(desired)
    live["spec"]["default"] = False  # defaulted or set by others: not ours to compare
    live["metadata"]["finalizers"] = ["spiderpool.spidernet.io"]
    live["status"] = {"allocatedIPCount": 1}
    assert classify_client(desired, live) == "unchanged"
    live["spec"]["ips"] = ["10.0.0.1-10.0.0.8"]
    assert classify_client(desired, live) == "configured"
    live["spec"]["ips"] = ["10.0.0.1-10.0.0.9", "10.0.0.20"]  # lists compare whole
    assert classify_client(desired, live) == "configured"


def test_contains_treats_bools_and_numbers_apart() -> None:
    assert not contains({"a": 1}, {"a": True})
    assert not contains({"a": False}, {"a": 0})
    assert contains({"a": 1}, {"a": 1.0})
    assert contains({"a": None}, {})
    assert not contains({"a": None}, {"a": 3})
    assert not contains({"a": {}}, {"a": []})


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=3),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3),
        max_leaves=12,
    )
)
def test_contains_is_reflexive(value: Any) -> None:
    assert contains(value, copy.deepcopy(value))


def test_classify_server_ignores_resource_version_and_managed_field_times_only() -> None:
    live = obj("v1", "ConfigMap", "c", "ns", data={"a": "1"})
    live["metadata"].update(
        resourceVersion="10", managedFields=[{"manager": "virtnet", "time": "2026-01-01T00:00:00Z", "fieldsV1": {}}]
    )
    answer = copy.deepcopy(live)
    answer["metadata"]["resourceVersion"] = "11"
    answer["metadata"]["managedFields"][0]["time"] = "2026-01-02T00:00:00Z"
    assert same_object(live, answer)
    assert classify_server(live, answer) == "unchanged"
    answer["metadata"]["managedFields"].append({"manager": "other", "fieldsV1": {}})
    assert classify_server(live, answer) == "configured"  # ownership changes are a write
    assert classify_server(None, answer) == "created"


def test_might_be_unchanged_only_when_every_desired_field_holds() -> None:
    desired = obj("v1", "ConfigMap", "c", "ns", data={"a": "1"})
    assert not might_be_unchanged(desired, None)
    assert might_be_unchanged(desired, {**copy.deepcopy(desired), "extra": 1})
    assert not might_be_unchanged(desired, obj("v1", "ConfigMap", "c", "ns", data={"a": "2"}))


# --- the KubeVirt CR merge -----------------------------------------------------------------------------------------


def kubevirt(gates: list[str] | None = None, bindings: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if gates is not None:
        config["developerConfiguration"] = {"featureGates": gates}
    if bindings is not None:
        config["network"] = {"binding": bindings}
    o = obj("kubevirt.io/v1", "KubeVirt", "kubevirt", "kubevirt", spec={"configuration": config, **extra})
    o["metadata"]["resourceVersion"] = "42"
    return o


PASST = {"sidecarImage": "quay.io/kubevirt/network-passt-binding:v1.4.0", "migration": {}}


def change(gates: list[str] | None = None, bindings: dict[str, Any] | None = None) -> dict[str, Any]:
    c = kubevirt(gates, bindings)
    del c["metadata"]["resourceVersion"]
    c["metadata"]["annotations"] = {"virtnet.io/patch-type": "merge", "virtnet.io/reason": "needs it"}
    return c


def test_merge_adds_missing_gates_and_registrations_and_keeps_everything() -> None:
    live = kubevirt(["Snapshot", "HotplugVolumes"], {"mine": {"sidecarImage": "x:1"}}, imagePullPolicy="Always")
    live["status"] = {"observedKubeVirtVersion": "v1.4.0"}
    m = merge_kubevirt(live, change(["NetworkBindingPlugins", "Snapshot"], {"passt": PASST}))
    spec = m.merged["spec"]
    assert spec["configuration"]["developerConfiguration"]["featureGates"] == [
        "Snapshot",
        "HotplugVolumes",
        "NetworkBindingPlugins",
    ]
    assert spec["configuration"]["network"]["binding"] == {"mine": {"sidecarImage": "x:1"}, "passt": PASST}
    assert spec["imagePullPolicy"] == "Always"
    assert m.merged["status"] == live["status"]
    assert m.merged["metadata"]["resourceVersion"] == "42"  # optimistic concurrency: written back as read
    assert "annotations" not in m.merged["metadata"]  # virtnet's explanations never reach the live CR
    assert m.added_gates == ("NetworkBindingPlugins",)
    assert m.added_bindings == ("passt",)
    assert m.added_fields == ()
    assert m.changed
    assert live["spec"]["configuration"]["developerConfiguration"]["featureGates"] == ["Snapshot", "HotplugVolumes"]


def test_merge_creates_missing_sections() -> None:
    m = merge_kubevirt(kubevirt(), change(["PasstBinding"], {"passt": PASST}))
    assert m.merged["spec"]["configuration"] == {
        "developerConfiguration": {"featureGates": ["PasstBinding"]},
        "network": {"binding": {"passt": PASST}},
    }
    assert m.added_gates == ("PasstBinding",)
    assert m.added_bindings == ("passt",)
    bare = obj("kubevirt.io/v1", "KubeVirt", "kubevirt", "kubevirt")  # no spec at all
    m2 = merge_kubevirt(bare, change(["PasstBinding"]))
    assert m2.merged["spec"]["configuration"]["developerConfiguration"]["featureGates"] == ["PasstBinding"]
    assert m2.added_gates == ("PasstBinding",)


def test_merge_is_idempotent_and_reports_nothing_to_add() -> None:
    first = merge_kubevirt(kubevirt(["Snapshot"]), change(["PasstBinding"], {"passt": PASST}))
    second = merge_kubevirt(first.merged, change(["PasstBinding"], {"passt": PASST}))
    assert not second.changed
    assert second.merged == first.merged
    assert second.describe() == "nothing to add"


def test_merge_never_overwrites_an_existing_registration_but_adds_its_missing_fields() -> None:
    old = {"sidecarImage": "quay.io/kubevirt/network-passt-binding:v1.3.0"}
    m = merge_kubevirt(kubevirt([], {"passt": old}), change([], {"passt": PASST}))
    passt = m.merged["spec"]["configuration"]["network"]["binding"]["passt"]
    assert passt == {"sidecarImage": "quay.io/kubevirt/network-passt-binding:v1.3.0", "migration": {}}
    assert m.added_bindings == ()
    assert m.added_fields == ("spec.configuration.network.binding.passt.migration",)
    assert len(m.kept) == 1
    assert "sidecarImage" in m.kept[0]
    assert "v1.3.0" in m.kept[0]


def test_merge_warns_about_a_needed_gate_that_is_disabled() -> None:
    live = kubevirt(["Snapshot"])
    live["spec"]["configuration"]["developerConfiguration"]["disabledFeatureGates"] = ["PasstBinding"]
    m = merge_kubevirt(live, change(["PasstBinding"]))
    assert m.disabled == ("PasstBinding",)
    assert m.merged["spec"]["configuration"]["developerConfiguration"]["disabledFeatureGates"] == ["PasstBinding"]


gate_names = st.lists(st.sampled_from(["A", "B", "C", "Passt", "PasstBinding", "Snapshot"]), max_size=5)
binding_names = st.dictionaries(
    st.sampled_from(["passt", "mine", "l2bridge"]),
    st.fixed_dictionaries({"sidecarImage": st.sampled_from(["x:1", "x:2"])}),
    max_size=3,
)


@given(gate_names, binding_names, gate_names, binding_names)
def test_merge_never_removes(
    live_gates: list[str], live_b: dict[str, Any], want: list[str], want_b: dict[str, Any]
) -> None:
    live = kubevirt(live_gates, live_b)
    m = merge_kubevirt(live, change(want, want_b))
    merged_config = m.merged["spec"]["configuration"]
    gates = merged_config["developerConfiguration"]["featureGates"]
    assert gates[: len(live_gates)] == live_gates  # what was there stays, in its order
    assert set(want) <= set(gates)
    for name, reg in live_b.items():
        assert merged_config["network"]["binding"][name] == reg  # an existing registration is never changed
    assert set(want_b) <= set(merged_config["network"]["binding"])
    assert m.changed == (m.merged != live)


# --- HCO -----------------------------------------------------------------------------------------------------------


def test_hco_change_puts_gates_in_the_jsonpatch_annotation_and_registrations_in_network_binding() -> None:
    live = kubevirt(["Snapshot"], {"mine": {"sidecarImage": "x:1"}})
    live["metadata"]["namespace"] = "kubevirt-hyperconverged"
    live["metadata"]["ownerReferences"] = [{"kind": "HyperConverged", "name": "kubevirt-hyperconverged"}]
    m = merge_kubevirt(live, change(["NetworkBindingPlugins"], {"passt": PASST}))
    hco = hco_change(live, m)
    assert (hco.namespace, hco.name) == ("kubevirt-hyperconverged", "kubevirt-hyperconverged")
    assert hco.jsonpatch == (
        {
            "op": "add",
            "path": "/spec/configuration/developerConfiguration/featureGates/-",
            "value": "NetworkBindingPlugins",
        },
    )
    assert hco.network_binding == {"passt": PASST}
    commands = hco.commands()
    assert commands[0].startswith("kubectl annotate --overwrite -n kubevirt-hyperconverged hyperconverged ")
    assert HCO_JSONPATCH_ANNOTATION in commands[0]
    patch = json.loads(commands[0].split("='", 1)[1].rstrip("'"))
    assert patch == list(hco.jsonpatch)
    assert json.loads(commands[1].split(" -p '", 1)[1].rstrip("'")) == {"spec": {"networkBinding": {"passt": PASST}}}


def test_hco_change_adds_the_gate_list_when_there_is_none() -> None:
    live = kubevirt()
    hco = hco_change(live, merge_kubevirt(live, change(["PasstBinding"])))
    assert hco.jsonpatch == (
        {
            "op": "add",
            "path": "/spec/configuration/developerConfiguration",
            "value": {"featureGates": ["PasstBinding"]},
        },
    )
    assert hco.network_binding == {}
    assert len(hco.commands()) == 1


def test_hco_change_is_empty_when_nothing_is_missing() -> None:
    live = kubevirt(["PasstBinding"])
    assert hco_change(live, merge_kubevirt(live, change(["PasstBinding"]))).empty


# --- the report ----------------------------------------------------------------------------------------------------


def test_report_summary_and_json_contract() -> None:
    from virtnet.cluster.apply import Failure, Outcome

    r = Report()
    r.objects.append(Outcome(Ref(SP, "SpiderIPPool", None, "p"), "created"))
    r.objects.append(Outcome(Ref("v1", "Secret", "ns", "s"), "unchanged"))
    assert r.ok
    r.failure = Failure(Ref("v1", "Secret", "ns", "t"), "boom")
    r.not_applied = [Ref("kubevirt.io/v1", "VirtualMachine", "ns", "vm")]
    d = r.to_dict()
    assert d["objects"][0] == {
        "apiVersion": SP,
        "kind": "SpiderIPPool",
        "namespace": None,
        "name": "p",
        "action": "created",
    }
    assert d["summary"] == {
        "created": 1,
        "configured": 0,
        "unchanged": 1,
        "failed": 1,
        "interrupted": 0,
        "notApplied": 1,
    }
    assert d["failed"]["error"] == "boom"
    assert not r.ok


# --- a started VM's addresses --------------------------------------------------------------------------------------


def vm_with(networks: list[dict[str, Any]], pools: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "vm1", "namespace": "ns1"},
        "spec": {
            "template": {
                "metadata": {"annotations": {"ipam.spidernet.io/ippools": pools}},
                "spec": {"networks": networks},
            }
        },
    }


POOL = {
    "apiVersion": SP,
    "kind": "SpiderIPPool",
    "metadata": {"name": "p30"},
    "spec": {"subnet": "10.30.0.0/16", "ips": ["10.30.1.10-10.30.1.20"]},
}


def endpoint(owner: str, ips: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {"name": "vm1", "namespace": "ns1"},
        "status": {"current": {"ips": ips}, "ownerControllerType": owner},
    }


def test_vm_addresses_merge_endpoint_and_vmi_by_ip() -> None:
    vm = vm_with(
        [
            {"name": "n30", "multus": {"networkName": "a/b", "default": True}},
            {"name": "n40", "multus": {"networkName": "a/c"}},
        ],
        '[{"ipv4":["p30"]},{"ipv4":["p40"]}]',
    )
    pod40 = pod_interface_name("n40", primary=False)
    ep = endpoint(
        "VirtualMachineInstance",
        [
            {"interface": "eth0", "ipv4": "10.30.1.10/16", "ipv4Pool": "p30"},
            {"interface": pod40, "ipv4": "10.40.1.10/16", "ipv4Pool": "other"},
        ],
    )
    vmi = {
        "status": {
            "interfaces": [
                {"name": "n30", "ipAddresses": ["10.30.1.10", "fe80::1"], "infoSource": "domain, guest-agent"}
            ]
        }
    }
    found = {a.ip: a for a in vm_addresses(vm, vmi, ep, {"p30": POOL, "other": None})}
    assert set(found) == {"10.30.1.10", "10.40.1.10"}  # link-local left out
    first = found["10.30.1.10"]
    assert (first.interface, first.pod_interface, first.pool, first.fixed) == ("n30", "eth0", "p30", True)
    assert len(first.sources) == 2
    assert first.sources[0].startswith("SpiderEndpoint ns1/vm1")
    assert "guest-agent" in first.sources[1]
    second = found["10.40.1.10"]
    assert (second.interface, second.pod_interface, second.fixed) == ("n40", pod40, False)
    assert "not from p30, p40" in second.why


def test_vm_addresses_not_fixed_when_the_endpoint_belongs_to_a_pod_or_ip_is_outside_the_pool() -> None:
    vm = vm_with([{"name": "default", "pod": {}}], '[{"ipv4":["p30"]}]')
    ep = endpoint("Pod", [{"interface": "eth0", "ipv4": "10.30.1.11/16", "ipv4Pool": "p30"}])
    (a,) = vm_addresses(vm, {}, ep, {"p30": POOL})
    assert not a.fixed
    assert "enableKubevirtStaticIP" in a.why
    ep = endpoint("VirtualMachineInstance", [{"interface": "eth0", "ipv4": "10.30.9.9/16", "ipv4Pool": "p30"}])
    (b,) = vm_addresses(vm, {}, ep, {"p30": POOL})
    assert not b.fixed
    assert "outside pool p30" in b.why
    (c,) = vm_addresses(vm, {"status": {"interfaces": [{"name": "default", "ipAddress": "10.244.0.5"}]}}, None, {})
    assert not c.fixed
    assert c.pool is None
    assert c.sources == ("VMI status.interfaces[default]",)


def test_hco_change_keeps_the_operations_the_annotation_already_holds() -> None:
    live = kubevirt(["Snapshot"])
    tuning = {"op": "add", "path": "/spec/configuration/apiConfiguration", "value": {"restClient": {"rateLimiter": {}}}}
    gate = {"op": "add", "path": "/spec/configuration/developerConfiguration/featureGates/-", "value": "PasstBinding"}
    annotations = {HCO_JSONPATCH_ANNOTATION: json.dumps([tuning])}
    hyperconverged: dict[str, Any] = {"metadata": {"name": "hco", "annotations": annotations}}
    hco = hco_change(live, merge_kubevirt(live, change(["PasstBinding"])), hyperconverged)
    assert hco.jsonpatch == (tuning, gate)
    assert (hco.name, hco.includes_existing, hco.new_operations) == ("hco", True, 1)
    assert not hco.empty
    # already asked for (HCO has not propagated it yet): nothing new to print
    annotations[HCO_JSONPATCH_ANNOTATION] = json.dumps([tuning, gate])
    again = hco_change(live, merge_kubevirt(live, change(["PasstBinding"])), hyperconverged)
    assert again.empty
    assert again.commands() == []


def _vm_with(annotations: dict[str, object]) -> dict[str, object]:
    return {"spec": {"template": {"metadata": {"annotations": annotations}}}}


def test_requested_pools_are_read_as_spiderpool_reads_them() -> None:
    from virtnet.cluster.apply import requested_pools

    many = '[{"interface":"eth0","ipv4":["a","b"]},{"interface":"net1","ipv6":["c"]}]'
    one = '{"ipv4":["d"],"ipv6":["e"]}'
    assert requested_pools(_vm_with({"ipam.spidernet.io/ippools": many})) == {"a", "b", "c"}
    assert requested_pools(_vm_with({"ipam.spidernet.io/ippool": one})) == {"d", "e"}
    # SpiderPool reads ippools first and ignores ippool when both are set (SP@v1.2.2:pkg/ipam/pool_selections.go
    # getPoolCandidates)
    assert requested_pools(_vm_with({"ipam.spidernet.io/ippools": many, "ipam.spidernet.io/ippool": one})) == {
        "a",
        "b",
        "c",
    }


def test_malformed_pool_annotations_name_no_pool() -> None:
    from virtnet.cluster.apply import requested_pools

    assert requested_pools(_vm_with({"ipam.spidernet.io/ippools": "[oops", "ipam.spidernet.io/ippool": 3})) == set()
    assert requested_pools(_vm_with({"ipam.spidernet.io/ippools": '["x", {"ipv4": "not-a-list"}]'})) == set()
