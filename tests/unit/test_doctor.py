"""The pure checks of ``virtnet doctor`` (virtnet.cluster.doctor) on snapshots built from plain dicts: no server."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from virtnet.cluster.doctor import (
    CHECK_IDS,
    Options,
    Snapshot,
    Status,
    Unread,
    allocated_count,
    basis,
    check_ippool_capacity,
    check_kubevirt_binding_plugins,
    check_kubevirt_feature_gates,
    check_kubevirt_hco,
    check_kubevirt_phase,
    check_multus_config_nads,
    check_spiderpool_ip_families,
    check_spiderpool_known_bugs,
    check_spiderpool_static_ip,
    kubevirt_info,
    multi_nic_leak,
    run,
)
from virtnet.model.modes import Cni, Mode
from virtnet.model.versions import V

Obj = dict[str, Any]

CONF = "enableIPv4: true\nenableIPv6: false\nenableKubevirtStaticIP: true\n"


def labels(version: str) -> dict[str, str]:
    return {
        "helm.sh/chart": f"spiderpool-{version}",
        "app.kubernetes.io/version": version,
        "app.kubernetes.io/component": "spiderpool-controller",
    }


def kubevirt(version: str = "v1.9.0", phase: str = "Deployed", **configuration: Any) -> Obj:
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "KubeVirt",
        "metadata": {"name": "kubevirt", "namespace": "kubevirt"},
        "spec": {"configuration": configuration},
        "status": {"phase": phase, "observedKubeVirtVersion": version},
    }


def pool(name: str, subnet: str, ips: list[str], allocated: int = 0, **spec: Any) -> Obj:
    return {
        "apiVersion": "spiderpool.spidernet.io/v2beta1",
        "kind": "SpiderIPPool",
        "metadata": {"name": name},
        "spec": {"subnet": subnet, "ips": ips, **spec},
        "status": {"allocatedIPCount": allocated},
    }


def smc(name: str, cni: str, pools: list[str], **annotations: str) -> Obj:
    meta: Obj = {"name": name, "namespace": "kube-system"}
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "spiderpool.spidernet.io/v2beta1",
        "kind": "SpiderMultusConfig",
        "metadata": meta,
        "spec": {"cniType": cni, cni: {"master": ["ens192"], "ippools": {"ipv4": pools}}},
    }


def nad(name: str) -> Obj:
    return {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": {"name": name, "namespace": "kube-system"},
        "spec": {"config": "{}"},
    }


def healthy(kv: str = "v1.9.0", sp: str = "1.2.2") -> Snapshot:
    """A cluster ready for passt on macvlan: what gather() would return."""
    return Snapshot(
        server="https://k8s:6443",
        server_version="v1.35.4",
        kubevirt_crd=True,
        kubevirt_cr=kubevirt(kv),
        spiderpool_crd=True,
        controller={"metadata": {"name": "spiderpool-controller", "namespace": "kube-system", "labels": labels(sp)}},
        conf={"metadata": {"name": "spiderpool-conf", "namespace": "kube-system"}, "data": {"conf.yml": CONF}},
        nad_crd=True,
        multus_configs=[smc("macvlan-ens192", "macvlan", ["p1"])],
        nads=[nad("macvlan-ens192")],
        pools=[pool("p1", "10.7.0.0/16", ["10.7.120.100-10.7.120.200"], allocated=3)],
        namespaces=("default", "kube-system"),
    )


def results(snap: Snapshot, mode: Mode | None = Mode.PASST, cni: Cni | None = None, **versions: Any) -> dict[str, Any]:
    report = run(snap, Options(mode=mode, cni=cni, **versions))
    return {c.id: c for c in report.checks}


def judge(check: Any, snap: Snapshot, mode: Mode | None = Mode.PASST, cni: Cni | None = None, **versions: Any) -> Any:
    return check(snap, basis(snap, Options(mode=mode, cni=cni, **versions)))


# --- the whole run ----------------------------------------------------------------------------------------------------


def test_healthy_snapshot_passes_and_checks_come_in_catalogue_order() -> None:
    report = run(healthy(), Options(mode=Mode.PASST))
    assert {c.id: c.status for c in report.checks if c.status is not Status.PASS} == {}
    ids = [c.id for c in report.checks]
    assert ids == [i for i in CHECK_IDS if i in ids]
    assert not report.failed
    assert report.to_dict()["summary"] == {"pass": len(ids), "warn": 0, "fail": 0, "skip": 0}


def test_checks_that_do_not_apply_to_the_mode_are_not_listed() -> None:
    masquerade = results(healthy(), Mode.MASQUERADE, Cni.CALICO)
    assert "default-multus-config" in masquerade
    assert not {"spiderpool-static-ip", "spiderpool-ip-families", "ippool-capacity", "ippool-references"} & set(
        masquerade
    )
    flannel = results(healthy(), Mode.MASQUERADE, Cni.FLANNEL)
    assert "default-multus-config" not in flannel  # no default SpiderMultusConfig for flannel
    no_mode = results(healthy(), None)
    assert "kubevirt-feature-gates" not in no_mode
    assert "ippool-capacity" in no_mode


def test_masquerade_without_spiderpool_is_fine() -> None:
    snap = healthy()
    snap.spiderpool_crd = False
    snap.controller = None
    snap.conf = None
    checks = results(snap, Mode.MASQUERADE, Cni.CALICO)
    assert checks["spiderpool-installed"].status is Status.PASS
    assert "masquerade takes the pod IP from calico" in checks["spiderpool-installed"].message
    assert not any(i.startswith(("multus-", "ippool-", "default-")) for i in checks)
    passt = results(snap, Mode.PASST)
    assert passt["spiderpool-installed"].status is Status.FAIL
    assert passt["ippool-capacity"].message == "SpiderPool is not installed (see spiderpool-installed)"


# --- KubeVirt ---------------------------------------------------------------------------------------------------------


def test_kubevirt_version_comes_from_observed_then_target() -> None:
    assert kubevirt_info(kubevirt("v1.3.1"), None).detected == V("v1.3.1")
    cr = kubevirt()
    cr["status"] = {"targetKubeVirtVersion": "v1.2.0"}
    info = kubevirt_info(cr, None)
    assert (info.detected, info.source) == (V("v1.2.0"), "KubeVirt kubevirt/kubevirt status.targetKubeVirtVersion")
    old = kubevirt_info(kubevirt("v0.59.0"), None)
    assert old.unsupported
    assert old.text == "v0.59.0"
    assert old.used == V("v1.9.0")
    assert kubevirt_info(Unread("forbidden (needs list on kubevirts.kubevirt.io)"), V("v1.1.0")).used == V("v1.1.0")


def test_unsupported_kubevirt_fails_and_skips_the_version_dependent_checks() -> None:
    snap = healthy(kv="v0.59.0")
    checks = results(snap)
    assert checks["kubevirt-version"].status is Status.FAIL
    assert "v0.59.0" in checks["kubevirt-version"].message
    assert checks["kubevirt-feature-gates"].status is Status.SKIP
    overridden = results(snap, kubevirt_version=V("v1.0.1"))
    assert overridden["kubevirt-version"].status is Status.WARN
    assert overridden["kubevirt-feature-gates"].status is Status.FAIL  # judged as v1.0.1: Passt is missing


@pytest.mark.parametrize(
    ("phase", "status"),
    [("Deployed", Status.PASS), ("Deploying", Status.WARN), ("", Status.FAIL), ("Deleting", Status.FAIL)],
)
def test_kubevirt_phase(phase: str, status: Status) -> None:
    snap = healthy()
    snap.kubevirt_cr = kubevirt(phase=phase)
    assert judge(check_kubevirt_phase, snap).status is status


def test_missing_passt_gate_on_v1_0_and_its_hco_fix() -> None:
    snap = healthy(kv="v1.0.1")
    result = judge(check_kubevirt_feature_gates, snap)
    assert result.status is Status.FAIL
    assert "needs feature gate Passt" in result.message
    assert "in KubeVirt kubevirt/kubevirt" in result.fix
    assert isinstance(snap.kubevirt_cr, dict)
    snap.kubevirt_cr["metadata"]["ownerReferences"] = [{"kind": "HyperConverged", "name": "kubevirt-hyperconverged"}]
    assert "through the HyperConverged CR" in judge(check_kubevirt_feature_gates, snap).fix
    hco = judge(check_kubevirt_hco, snap)
    assert hco.status is Status.WARN
    assert "ownerReference HyperConverged kubevirt-hyperconverged" in hco.message
    snap.kubevirt_cr = kubevirt("v1.0.1", developerConfiguration={"featureGates": ["Passt"]})
    assert judge(check_kubevirt_feature_gates, snap).status is Status.PASS


def test_passt_binding_gate_listed_on_v1_8_and_not_disabled_on_v1_9() -> None:
    on_v18 = healthy(kv="v1.8.0")
    assert judge(check_kubevirt_feature_gates, on_v18).status is Status.FAIL
    on_v18.kubevirt_cr = kubevirt("v1.8.0", developerConfiguration={"featureGates": ["PasstBinding"]})
    assert judge(check_kubevirt_feature_gates, on_v18).status is Status.PASS
    on_v19 = healthy()
    assert judge(check_kubevirt_feature_gates, on_v19).status is Status.PASS
    on_v19.kubevirt_cr = kubevirt(developerConfiguration={"disabledFeatureGates": ["PasstBinding"]})
    disabled = judge(check_kubevirt_feature_gates, on_v19)
    assert disabled.status is Status.FAIL
    assert "PasstBinding listed in developerConfiguration.disabledFeatureGates" in disabled.message
    assert "remove PasstBinding" in disabled.fix


def test_passt_plugin_registration_on_v1_5() -> None:
    snap = healthy(kv="v1.5.0")
    missing = judge(check_kubevirt_binding_plugins, snap)
    assert missing.status is Status.FAIL
    assert "binding plugin passt" in missing.message
    snap.kubevirt_cr = kubevirt("v1.5.0", network={"binding": {"passt": {"sidecarImage": "quay.io/kubevirt/x"}}})
    assert judge(check_kubevirt_binding_plugins, snap).status is Status.PASS
    # v1.4 also needs the NetworkBindingPlugins gate
    gates = judge(check_kubevirt_feature_gates, healthy(kv="v1.4.0"))
    assert gates.status is Status.FAIL
    assert "NetworkBindingPlugins" in gates.message


# --- SpiderPool -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("v0.8.0", True),
        ("v0.8.8", True),
        ("v0.8.9", False),
        ("v0.8.13", False),
        ("v0.9.0", True),
        ("v0.9.7", True),
        ("v0.9.8", False),
        ("v1.0.0", False),
        ("v1.2.2", False),
    ],
)
def test_multi_nic_leak_versions(version: str, affected: bool) -> None:
    assert multi_nic_leak(V(version)) is affected


def test_known_bug_warns_only_for_multi_nic_modes() -> None:
    snap = healthy(sp="0.9.3")
    bridge = judge(check_spiderpool_known_bugs, snap, Mode.BRIDGE)
    assert bridge.status is Status.WARN
    assert "spiderpool#4295" in bridge.message
    assert judge(check_spiderpool_known_bugs, snap, Mode.PASST).status is Status.PASS
    snap.controller = Unread("forbidden (needs list on deployments.apps)")
    snap.conf = Unread("forbidden (needs get on configmaps in namespace kube-system)")
    unknown = judge(check_spiderpool_known_bugs, snap, Mode.BRIDGE)
    assert unknown.status is Status.SKIP
    assert "forbidden (needs list on deployments.apps)" in unknown.message


def with_conf(text: str | None) -> Snapshot:
    snap = healthy()
    assert isinstance(snap.conf, dict)
    snap.conf["data"] = {"conf.yml": text} if text is not None else {}
    return snap


def test_static_ip_missing_false_or_unparseable() -> None:
    missing = judge(check_spiderpool_static_ip, with_conf("enableIPv4: true\n"))
    assert missing.status is Status.FAIL
    assert "is missing (a missing key means false)" in missing.message
    assert "enableKubevirtStaticIP: true" in missing.fix
    assert "is False, not true" in judge(check_spiderpool_static_ip, with_conf("enableKubevirtStaticIP: false")).message
    quoted = judge(check_spiderpool_static_ip, with_conf('enableKubevirtStaticIP: "true"'))
    assert quoted.status is Status.FAIL  # a string is not a Go bool
    broken = judge(check_spiderpool_static_ip, with_conf("enableKubevirtStaticIP: [\n"))
    assert "not valid YAML" in broken.message
    assert "no data key conf.yml" in judge(check_spiderpool_static_ip, with_conf(None)).message
    assert judge(check_spiderpool_static_ip, with_conf("x: 1"), None).status is Status.WARN  # no mode: a warning


def test_static_ip_off_on_v0_8_3_also_crashes_the_agent() -> None:
    snap = with_conf("enableIPv4: true\n")
    assert isinstance(snap.controller, dict)
    snap.controller["metadata"]["labels"] = labels("0.8.3")
    assert "issue #2966" in judge(check_spiderpool_static_ip, snap).message


def test_static_ip_conf_refused_or_absent() -> None:
    snap = healthy()
    snap.conf = Unread("forbidden (needs get on configmaps in namespace kube-system)")
    skipped = judge(check_spiderpool_static_ip, snap)
    assert (skipped.status, skipped.message) == (
        Status.SKIP,
        "forbidden (needs get on configmaps in namespace kube-system)",
    )
    snap.conf = None
    assert "ConfigMap spiderpool-conf not found in kube-system" in judge(check_spiderpool_static_ip, snap).message


def test_pools_of_a_disabled_family() -> None:
    snap = healthy()
    snap.pools = [pool("p1", "fd00:7::/64", ["fd00:7::10-fd00:7::20"])]
    result = judge(check_spiderpool_ip_families, snap)
    assert result.status is Status.FAIL
    assert "p1 (IPv6)" in result.message
    neither = judge(check_spiderpool_ip_families, with_conf("enableKubevirtStaticIP: true\n"))
    assert neither.status is Status.FAIL
    assert "neither IPv4 nor IPv6" in neither.message


def test_spiderpool_version_outside_the_supported_range() -> None:
    checks = results(healthy(sp="0.7.0"))
    assert checks["spiderpool-version"].status is Status.FAIL
    assert "SpiderPool 0.7.0 is outside" in checks["spiderpool-version"].message
    assert results(healthy(sp="0.7.0"), spiderpool_version=V("v0.8.0"))["spiderpool-version"].status is Status.WARN


# --- Multus -----------------------------------------------------------------------------------------------------------


def test_multus_config_nad_name_from_cr_name_and_relevance() -> None:
    snap = healthy()
    snap.multus_configs = [
        smc("macvlan-ens192", "macvlan", ["p1"]),
        smc("renamed", "macvlan", ["p1"], **{"multus.spidernet.io/cr-name": "ens192-vlan0"}),
    ]
    snap.nads = [nad("macvlan-ens192"), nad("ens192-vlan0")]
    assert judge(check_multus_config_nads, snap).status is Status.PASS
    snap.nads = [nad("macvlan-ens192"), nad("renamed")]  # a NAD named like the SMC does not count
    missing = judge(check_multus_config_nads, snap)
    assert missing.status is Status.FAIL
    assert "kube-system/renamed (NAD kube-system/ens192-vlan0)" in missing.message
    bridge = judge(check_multus_config_nads, snap, Mode.BRIDGE)  # not an ovs network: warning only
    assert bridge.status is Status.WARN
    snap.nads = Unread("forbidden (needs list on network-attachment-definitions.k8s.cni.cncf.io in namespace default)")
    assert judge(check_multus_config_nads, snap).status is Status.SKIP


def test_default_multus_config_for_masquerade_on_cilium() -> None:
    snap = healthy()
    assert isinstance(snap.multus_configs, list)
    checks = results(snap, Mode.MASQUERADE, Cni.CILIUM)
    assert checks["default-multus-config"].status is Status.FAIL
    assert "kube-system/cilium is missing and so is NAD kube-system/cilium" in checks["default-multus-config"].message
    snap.multus_configs = [*snap.multus_configs, smc("cilium", "custom", [])]
    checks = results(snap, Mode.MASQUERADE, Cni.CILIUM)
    assert "but its NAD kube-system/cilium does not" in checks["default-multus-config"].message
    assert isinstance(snap.nads, list)
    snap.nads = [*snap.nads, nad("cilium")]
    assert results(snap, Mode.MASQUERADE, Cni.CILIUM)["default-multus-config"].status is Status.PASS


# --- pools ------------------------------------------------------------------------------------------------------------


def test_allocated_count() -> None:
    assert allocated_count({"status": {"allocatedIPCount": 7}}) == 7
    ips = {"10.0.0.1": {"pod": "ns/vm", "podUid": "u"}, "10.0.0.2": {"pod": "ns/vm2", "podUid": "v"}}
    assert allocated_count({"status": {"allocatedIPs": json.dumps(ips)}}) == 2
    assert allocated_count({"status": {"allocatedIPs": "not json"}}) == 0
    assert allocated_count({}) == 0


def test_capacity_full_low_disabled_and_no_pool() -> None:
    snap = healthy()
    snap.pools = [pool("p1", "10.7.0.0/16", ["10.7.120.100-10.7.120.200"], allocated=101)]
    full = judge(check_ippool_capacity, snap)
    assert full.status is Status.FAIL
    assert "exhausted: p1 (101 of 101 allocated)" in full.message
    snap.pools = [pool("p1", "10.7.0.0/16", ["10.7.120.100-10.7.120.200"], allocated=91)]
    assert judge(check_ippool_capacity, snap).status is Status.WARN
    snap.pools = [pool("p1", "10.7.0.0/16", ["10.7.120.100-10.7.120.200"], disable=True)]
    disabled = judge(check_ippool_capacity, snap)
    assert disabled.status is Status.WARN
    assert "disabled" in disabled.message
    snap.pools = []
    assert "no SpiderIPPool exists" in judge(check_ippool_capacity, snap).message


def test_capacity_counts_ranges_without_expanding_them() -> None:
    snap = healthy()
    huge = pool("v6", "fd00::/64", ["fd00::1-fd00::ffff:ffff:ffff:ffff"], excludeIPs=["fd00::1"], allocated=1)
    snap.pools = [huge]
    snap.multus_configs = []
    result = judge(check_ippool_capacity, snap)
    assert result.status is Status.PASS
    assert f"v6 {2**64 - 3}/{2**64 - 2} free" in result.message


def test_the_mode_pools_are_the_ones_its_networks_name() -> None:
    snap = healthy()
    snap.pools = [
        pool("p1", "10.7.0.0/16", ["10.7.120.100-10.7.120.200"]),
        pool("ovs-only", "10.30.0.0/16", ["10.30.1.1-10.30.1.2"], allocated=2),  # full, but passt does not use it
    ]
    snap.multus_configs = [smc("macvlan-ens192", "macvlan", ["p1", "missing-pool"]), smc("br1", "ovs", ["ovs-only"])]
    snap.nads = [nad("macvlan-ens192"), nad("br1")]
    checks = results(snap, Mode.PASST)
    assert checks["ippool-capacity"].status is Status.PASS
    assert checks["ippool-references"].status is Status.FAIL
    assert "kube-system/macvlan-ens192 names missing-pool" in checks["ippool-references"].message
    assert results(snap, Mode.BRIDGE)["ippool-capacity"].status is Status.FAIL


def test_subnet_overlap_and_vlan_come_from_the_lint_rules_with_version_severity() -> None:
    snap = healthy(sp="1.2.2")
    snap.multus_configs = []
    snap.pools = [
        pool("guide", "10.7.120.11/16", ["10.7.120.100-10.7.120.200"]),
        pool("inner", "10.7.120.0/24", ["10.7.120.10-10.7.120.20"]),
    ]
    on_v12 = results(snap)
    assert on_v12["ippool-subnet"].status is Status.FAIL  # v0.9.2+ rejects a non-canonical subnet
    assert "guide: spec.subnet 10.7.120.11/16 is not canonical" in on_v12["ippool-subnet"].message
    assert on_v12["ippool-overlap"].status is Status.FAIL
    on_v08 = results(snap, spiderpool_version=V("v0.8.5"))
    assert on_v08["ippool-subnet"].status is Status.WARN
    vlan = copy.deepcopy(healthy())
    vlan.pools = [pool("p1", "10.7.0.0/16", ["10.7.120.100-10.7.120.200"], vlan=30)]
    assert results(vlan, spiderpool_version=V("v0.8.13"))["ippool-vlan"].status is Status.WARN
    on_v1 = results(vlan, spiderpool_version=V("v1.0.0"))["ippool-vlan"]
    assert on_v1.status is Status.FAIL
    assert "Helm does not upgrade CRDs" in on_v1.message


def test_refused_pools_skip_every_pool_check() -> None:
    snap = healthy()
    snap.pools = Unread("forbidden (needs list on spiderippools.spiderpool.spidernet.io)")
    checks = results(snap)
    for check in ("ippool-references", "ippool-capacity", "ippool-subnet", "ippool-vlan", "ippool-overlap"):
        assert checks[check].status is Status.SKIP
        assert checks[check].message == "forbidden (needs list on spiderippools.spiderpool.spidernet.io)"
    assert checks["spiderpool-ip-families"].status is Status.PASS  # the ConfigMap alone still says something
