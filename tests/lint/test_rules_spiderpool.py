"""SpiderPool rules (VN009-VN016, VN021): exact messages, severities and paths where they matter."""

from __future__ import annotations

import gc
import json
import random
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from virtnet.formats.yamlio import dump_yaml_stream, load_documents
from virtnet.lint import Finding, LintOptions, Severity, lint
from virtnet.lint.context import LintContext, per_context
from virtnet.lint.engine import objects_of
from virtnet.lint.rules import ippool_overlap
from virtnet.model.capabilities import pod_interface_name
from virtnet.model.ippool import PoolSpec, overlap
from virtnet.model.text import MAX_LISTED

GOLDEN = Path(__file__).parents[1] / "golden" / "bundles"
MINE = ("VN009", "VN010", "VN011", "VN012", "VN013", "VN014", "VN015", "VN016", "VN021")


def run(text: str, code: str, kv: str | None = None, sp: str | None = None) -> list[Finding]:
    docs = load_documents(textwrap.dedent(text), "t.yaml")
    return list(lint(docs, LintOptions(kubevirt_version=kv, spiderpool_version=sp, enable=(code,))).findings)


def run_objects(objects: list[dict[str, Any]], code: str, sp: str | None = None) -> list[Finding]:
    return list(
        lint(
            load_documents(dump_yaml_stream(objects), "t.yaml"), LintOptions(spiderpool_version=sp, enable=(code,))
        ).findings
    )


def vm(
    annotations: dict[str, str] | None = None,
    networks: list[dict[str, Any]] | None = None,
    name: str = "vm1",
    kind: str = "VirtualMachine",
    vm_annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    nets = networks or [{"name": "nic1", "multus": {"default": True, "networkName": "kube-system/ovs-vlan30"}}]
    spec = {
        "domain": {"devices": {"interfaces": [{"name": n["name"], "bridge": {}} for n in nets]}},
        "networks": nets,
    }
    if kind == "VirtualMachineInstance":
        meta: dict[str, Any] = {"name": name, "namespace": "vms", "annotations": annotations or {}}
        return {"apiVersion": "kubevirt.io/v1", "kind": kind, "metadata": meta, "spec": spec}
    meta = {"name": name, "namespace": "vms"}
    if vm_annotations:
        meta["annotations"] = vm_annotations
    template: dict[str, Any] = {"spec": spec}
    if annotations:
        template["metadata"] = {"annotations": annotations}
    return {"apiVersion": "kubevirt.io/v1", "kind": kind, "metadata": meta, "spec": {"template": template}}


def pool(name: str, subnet: str, ips: list[str], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "spiderpool.spidernet.io/v2beta1",
        "kind": "SpiderIPPool",
        "metadata": {"name": name},
        "spec": {"subnet": subnet, "ips": ips, **spec},
    }


def smc(name: str, spec: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "kube-system"}
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "spiderpool.spidernet.io/v2beta1",
        "kind": "SpiderMultusConfig",
        "metadata": meta,
        "spec": spec,
    }


TWO_NICS = [
    {"name": "nic1", "multus": {"default": True, "networkName": "kube-system/ovs-vlan30"}},
    {"name": "nic2", "multus": {"networkName": "kube-system/ovs-vlan40"}},
]
IPPOOLS = "ipam.spidernet.io/ippools"
IPPOOL = "ipam.spidernet.io/ippool"
ANNOTATION_PATH = ("spec", "template", "metadata", "annotations", IPPOOLS)


# --- VN009 ippool-annotation-invalid ------------------------------------------------------------------------------


def test_vn009_mixed_named_and_unnamed_quotes_spiderpool() -> None:
    value = json.dumps([{"interface": "eth0", "ipv4": ["a"]}, {"ipv4": ["b"]}])
    (f,) = run_objects([vm({IPPOOLS: value}, TWO_NICS)], "VN009")
    assert f.severity is Severity.ERROR
    assert f.path == ANNOTATION_PATH
    assert f.message == (
        "ipam.spidernet.io/ippools entry 1 has no interface while the others name one; SpiderPool rejects the mix "
        "('NIC should be either all specified or all unspecified')"
    )


def test_vn009_duplicate_interface() -> None:
    value = json.dumps([{"interface": "eth0", "ipv4": ["a"]}, {"interface": "eth0", "ipv4": ["b"]}])
    (f,) = run_objects([vm({IPPOOLS: value}, TWO_NICS)], "VN009")
    assert "'duplicate interface eth0'" in f.message


@pytest.mark.parametrize(("sp", "errors"), [("v0.8.0", 1), ("v0.8.1", 1), ("v0.8.2", 0), ("v1.2.2", 0)])
def test_vn009_unnamed_entries_need_v0_8_2(sp: str, errors: int) -> None:
    value = json.dumps([{"ipv4": ["a"]}, {"ipv4": ["b"]}])
    found = run_objects([vm({IPPOOLS: value}, TWO_NICS)], "VN009", sp=sp)
    assert len(found) == errors
    if errors:
        assert "'interface must be specified'" in found[0].message


def test_vn009_vm_metadata_error_and_redundant_copy_warning() -> None:
    value = '{"ipv4":["a"]}'
    (f,) = run_objects([vm(vm_annotations={IPPOOL: value})], "VN009")
    assert f.severity is Severity.ERROR
    assert f.path == ("metadata", "annotations", IPPOOL)
    assert "never reaches the virt-launcher pod" in f.message
    (g,) = run_objects([vm({IPPOOL: value}, vm_annotations={IPPOOL: value})], "VN009")
    assert g.severity is Severity.WARNING


def test_vn009_shapes() -> None:
    text = """
    apiVersion: kubevirt.io/v1
    kind: VirtualMachine
    metadata: {name: vm1}
    spec:
      template:
        metadata:
          annotations:
            ipam.spidernet.io/ippool: {"ipv4": ["a"]}
            ipam.spidernet.io/ippools: '[]'
    """
    messages = {f.message: f.severity for f in run(text, "VN009")}
    assert any("must be a string holding JSON" in m for m in messages)
    assert any("is an empty list" in m for m in messages)
    ignored = f"{IPPOOL} is ignored because {IPPOOLS} is also set (SpiderPool reads ippools first)"
    assert messages[ignored] is Severity.WARNING


def test_vn009_bad_json_names_the_position() -> None:
    (f,) = run_objects([vm({IPPOOLS: '[{"interface":"eth0",}]'})], "VN009")
    assert re.search(r"is not valid JSON \(.* at line 1 column \d+\)", f.message)


def test_vn009_field_types_and_unknown_keys() -> None:
    value = json.dumps([{"interface": 0, "ipv4": ["a", "a"], "cleangateway": "yes", "gateway": "x"}])
    found = run_objects([vm({IPPOOLS: value})], "VN009")
    by = {f.message: f.severity for f in found}
    assert by["ipam.spidernet.io/ippools entry 0 has 'interface': 0, which must be a string"] is Severity.ERROR
    assert by["ipam.spidernet.io/ippools entry 0 has 'cleangateway': \"yes\", which must be true or false"] is (
        Severity.ERROR
    )
    assert any("'gateway', which is ignored" in m and s is Severity.WARNING for m, s in by.items())


def test_vn009_case_insensitive_keys_like_go() -> None:
    assert run_objects([vm({IPPOOL: '{"IPv4":["a"]}'})], "VN009") == []


# --- VN010 ippool-interface-mismatch ------------------------------------------------------------------------------


def test_vn010_ordinal_name_gives_the_hashed_name() -> None:
    value = json.dumps([{"interface": "eth0", "ipv4": ["a"]}, {"interface": "net1", "ipv4": ["b"]}])
    (f,) = run_objects([vm({IPPOOLS: value}, TWO_NICS)], "VN010", sp="v1.2.2")
    right = pod_interface_name("nic2", primary=False)
    assert right == "podf3c3bc44bbb"
    assert f.message == (
        "entry 1 names interface 'net1', the pre-v1.0 ordinal name; KubeVirt v1.9.0 names the pod interface of "
        f"network 'nic2' {right}: use that"
    )
    assert f.severity is Severity.ERROR
    assert f.path == ANNOTATION_PATH


def test_vn010_unknown_interface_lists_the_real_ones() -> None:
    value = json.dumps([{"interface": "eth0", "ipv4": ["a"]}, {"interface": "eth1", "ipv4": ["b"]}])
    found = run_objects([vm({IPPOOLS: value}, TWO_NICS)], "VN010")
    assert found[0].message == (
        "entry 1 names interface 'eth1', which the VM's pod does not have; its interfaces are eth0 ('nic1'), "
        "podf3c3bc44bbb ('nic2')"
    )


def test_vn010_missing_entry_is_an_error_only_when_the_nad_uses_spiderpool() -> None:
    value = json.dumps([{"interface": "eth0", "ipv4": ["a"]}])
    macvlan = smc("ovs-vlan40", {"cniType": "ovs", "ovs": {"bridge": "br1"}})
    (f,) = run_objects([macvlan, vm({IPPOOLS: value}, TWO_NICS)], "VN010")
    assert f.severity is Severity.ERROR
    assert "('interface podf3c3bc44bbb must be specified')" in f.message
    no_ipam = smc("ovs-vlan40", {"cniType": "ovs", "disableIPAM": True, "ovs": {"bridge": "br1"}})
    assert run_objects([no_ipam, vm({IPPOOLS: value}, TWO_NICS)], "VN010") == []
    (unknown,) = run_objects([vm({IPPOOLS: value}, TWO_NICS)], "VN010")
    assert unknown.severity is Severity.WARNING


def test_vn010_nad_with_other_ipam_needs_no_entry() -> None:
    nad = {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": {"name": "ovs-vlan40", "namespace": "kube-system"},
        "spec": {
            "config": json.dumps(
                {"cniVersion": "0.3.1", "type": "ovs", "bridge": "br1", "ipam": {"type": "whereabouts"}}
            )
        },
    }
    value = json.dumps([{"interface": "eth0", "ipv4": ["a"]}])
    assert run_objects([nad, vm({IPPOOLS: value}, TWO_NICS)], "VN010") == []


def test_vn010_multus_name_mismatch_severity_depends_on_fallbacks() -> None:
    only = pool("only-v4", "10.40.0.0/24", ["10.40.0.10"], multusName=["kube-system/ovs-vlan40"])
    free = pool("free-v4", "10.30.0.0/24", ["10.30.0.10"])
    bare = pool("bare-v4", "10.30.0.0/24", ["10.30.0.20"], multusName=["ovs-vlan30"])
    (f,) = run_objects([only, vm({IPPOOLS: json.dumps([{"interface": "eth0", "ipv4": ["only-v4"]}])})], "VN010")
    assert f.severity is Severity.ERROR
    assert "does not include kube-system/ovs-vlan30, the NAD of network 'nic1' (pod interface eth0)" in f.message
    value = json.dumps([{"interface": "eth0", "ipv4": ["only-v4", "free-v4"]}])
    (g,) = run_objects([only, free, vm({IPPOOLS: value})], "VN010")
    assert g.severity is Severity.WARNING
    value = json.dumps([{"interface": "eth0", "ipv4": ["bare-v4"]}])  # a bare multusName matches by name
    assert run_objects([bare, vm({IPPOOLS: value})], "VN010") == []


def test_vn010_pool_not_listed_by_the_nad_warns_unless_same_subnet() -> None:
    listed_pool = pool("vlan30-v4", "10.30.0.0/24", ["10.30.0.10-10.30.0.20"])
    sibling = pool("vlan30-extra", "10.30.0.0/24", ["10.30.0.30-10.30.0.40"])
    stranger = pool("vlan99-v4", "10.99.0.0/24", ["10.99.0.10"])
    conf = smc("ovs-vlan30", {"cniType": "ovs", "ovs": {"bridge": "br1", "ippools": {"ipv4": ["vlan30-v4"]}}})
    objs = [listed_pool, sibling, stranger, conf]
    ok = vm({IPPOOLS: json.dumps([{"interface": "eth0", "ipv4": ["vlan30-extra"]}])})
    assert run_objects([*objs, ok], "VN010") == []
    bad = vm({IPPOOLS: json.dumps([{"interface": "eth0", "ipv4": ["vlan99-v4"]}])})
    (f,) = run_objects([*objs, bad], "VN010")
    assert f.severity is Severity.WARNING
    assert "SpiderMultusConfig kube-system/ovs-vlan30 lists" in f.message


def test_vn010_ordered_entries_extra_and_missing() -> None:
    three = json.dumps([{"ipv4": ["a"]}, {"ipv4": ["b"]}, {"ipv4": ["c"]}])
    (f,) = run_objects([vm({IPPOOLS: three}, TWO_NICS)], "VN010")
    assert f.severity is Severity.WARNING
    assert f.message.endswith("entry 2 matches no interface")


def test_vn010_single_ippool_annotation_on_two_spiderpool_nics() -> None:
    confs = [smc(n, {"cniType": "ovs", "ovs": {"bridge": "br1"}}) for n in ("ovs-vlan30", "ovs-vlan40")]
    (f,) = run_objects([*confs, vm({IPPOOL: '{"ipv4":["a"]}'}, TWO_NICS)], "VN010")
    assert f.severity is Severity.WARNING
    assert "(eth0, podf3c3bc44bbb) the same pools" in f.message


def test_vn010_pod_network_with_default_network_annotation() -> None:
    nets = [{"name": "default", "pod": {}}]
    conf = smc("macvlan-ens192", {"cniType": "macvlan", "macvlan": {"master": ["ens192"]}})
    annotations = {"v1.multus-cni.io/default-network": "kube-system/macvlan-ens192", IPPOOLS: '[{"interface":"net1"}]'}
    found = run_objects([conf, vm(annotations, nets)], "VN010")
    assert [f.severity for f in found] == [Severity.ERROR, Severity.ERROR]
    assert "uses SpiderPool IPAM but has no ippools entry" in found[1].message
    assert "(ordinal netN names are only kept for VMs created before KubeVirt v1.0)" in found[0].message


# --- VN011 ippool-not-found -----------------------------------------------------------------------------------------


def test_vn011_silent_without_pools_in_the_input() -> None:
    assert run_objects([vm({IPPOOL: '{"ipv4":["nowhere"]}'})], "VN011") == []


def test_vn011_not_found_is_a_warning_with_a_suggestion() -> None:
    objs = [pool("vlan30-v4", "10.30.0.0/24", ["10.30.0.10"]), vm({IPPOOL: '{"ipv4":["vlan30-v4-ippool"]}'})]
    (f,) = run_objects(objs, "VN011")
    assert f.severity is Severity.WARNING
    assert f.message == (
        "ipam.spidernet.io/ippool names pool 'vlan30-v4-ippool', which is not among the input's SpiderIPPools; "
        "did you mean 'vlan30-v4'?"
    )


def test_vn011_wrong_family_is_an_error() -> None:
    objs = [pool("v6", "fd00::/64", ["fd00::10"]), vm({IPPOOLS: '[{"interface":"eth0","ipv4":["v6"]}]'})]
    (f,) = run_objects(objs, "VN011")
    assert f.severity is Severity.ERROR
    assert "'expect an IPv4 IPPool, but the version of the IPPool v6 is IPv6'" in f.message


def test_vn011_invalid_name_and_wildcards() -> None:
    (f,) = run_objects([vm({IPPOOL: '{"ipv4":["Vlan_30"]}'})], "VN011")
    assert f.severity is Severity.ERROR
    assert "not a valid object name" in f.message
    objs = [pool("vlan30-v4", "10.30.0.0/24", ["10.30.0.10"]), vm({IPPOOL: '{"ipv6":["vlan30-*"]}'})]
    (g,) = run_objects(objs, "VN011")
    assert g.severity is Severity.ERROR
    assert "every pool it matches (vlan30-v4) is IPv4" in g.message
    (h,) = run_objects([pool("a", "10.0.0.0/24", []), vm({IPPOOL: '{"ipv4":["b?"]}'})], "VN011")
    assert h.severity is Severity.WARNING


def test_vn011_multusconfig_pools() -> None:
    objs = [
        pool("vlan100-v4", "10.100.0.0/24", []),
        smc(
            "m",
            {"cniType": "macvlan", "macvlan": {"master": ["ens192"], "ippools": {"ipv4": ["vlan100-v4", "missing"]}}},
        ),
    ]
    (f,) = run_objects(objs, "VN011")
    assert f.path == ("spec", "macvlan", "ippools", "ipv4", 1)


# --- VN012 ippool-subnet-invalid ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sp", "severity"),
    [
        ("v0.8.13", Severity.WARNING),
        ("v0.9.1", Severity.WARNING),
        ("v0.9.2", Severity.ERROR),
        ("v1.2.2", Severity.ERROR),
    ],
)
def test_vn012_canonical_subnet_by_version(sp: str, severity: Severity) -> None:
    (f,) = run_objects([pool("p", "10.7.120.11/16", ["10.7.120.100"])], "VN012", sp=sp)
    assert f.severity is severity
    assert f.path == ("spec", "subnet")
    assert "10.7.120.11/16 is not canonical; write 10.7.0.0/16" in f.message


def test_vn012_points_at_the_offending_entry() -> None:
    found = run_objects([pool("p", "10.0.0.0/24", ["10.0.0.1-10.0.0.9", "10.0.1.1"], gateway="10.0.0.5")], "VN012")
    by_path = {f.path: f.message for f in found}
    assert by_path[("spec", "ips", 1)] == "spec.ips has 10.0.1.1 outside spec.subnet 10.0.0.0/24"
    assert by_path[("spec", "ips", 0)].startswith("spec.ips contains spec.gateway 10.0.0.5")


@pytest.mark.parametrize(
    ("spec", "path", "fragment"),
    [
        ({"subnet": "10.0.0.0/24", "ips": "10.0.0.1"}, ("spec", "ips"), "expected a list"),
        ({"subnet": "10.0.0.0/24", "gateway": "fd00::1"}, ("spec", "gateway"), "IPv6"),
        ({"subnet": "10.0.0.0/24", "ips": [7]}, ("spec", "ips", 0), "expected a string"),
        ({"subnet": "banana"}, ("spec", "subnet"), "is not a CIDR subnet"),
        ({"subnet": "10.0.0.0/24", "ipVersion": 5}, ("spec", "ipVersion"), "must be 4 or 6"),
        ({"subnet": "10.0.0.0/24", "routes": [{"dst": "10.1.0.0/16"}]}, ("spec", "routes", 0, "gw"), "gateway"),
        ({"ips": ["10.0.0.1"]}, ("spec", "subnet"), "needs spec.subnet"),
    ],
)
def test_vn012_malformed_values_are_findings(spec: dict[str, Any], path: tuple[Any, ...], fragment: str) -> None:
    obj = {
        "apiVersion": "spiderpool.spidernet.io/v2beta1",
        "kind": "SpiderIPPool",
        "metadata": {"name": "p"},
        "spec": spec,
    }
    (f,) = run_objects([obj], "VN012")
    assert f.severity is Severity.ERROR
    assert f.path == path
    assert fragment in f.message


def test_vn012_ip_version_mismatch_and_wrong_api_version() -> None:
    obj = pool("p", "10.0.0.0/24", [], ipVersion=6)
    obj["apiVersion"] = "spiderpool.spidernet.io/v2beta2"
    found = run_objects([obj], "VN012")
    assert [f.path for f in found] == [("apiVersion",), ("spec", "ipVersion")]


# --- VN013 ippool-overlap -----------------------------------------------------------------------------------------


def test_vn013_reports_each_pool_with_its_partner() -> None:
    objs = [pool("a", "10.0.0.0/16", []), pool("b", "10.0.5.0/24", []), pool("c", "10.1.0.0/24", [])]
    found = run_objects(objs, "VN013")
    # issue 9: each overlapping pair once, on the pool that comes second (the one SpiderPool rejects), naming both
    assert [f.object.name for f in found] == ["b"]
    assert " a " in f" {found[0].message} " or "and a " in found[0].message
    assert all(f.path == ("spec", "subnet") for f in found)


def test_vn013_same_subnet_disjoint_after_exclude_is_fine() -> None:
    objs = [
        pool("a", "10.0.0.0/24", ["10.0.0.10-10.0.0.20"]),
        pool("b", "10.0.0.0/24", ["10.0.0.10-10.0.0.30"], excludeIPs=["10.0.0.10-10.0.0.20"]),
    ]
    assert run_objects(objs, "VN013") == []


def _random_pools(rng: random.Random, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        prefix = rng.choice([22, 23, 24, 24, 24])
        third = rng.choice([0, 1, 2, 4]) if prefix == 24 else 0
        subnet = f"10.0.{third}.0/{prefix}"
        lo = rng.randrange(1, 200)
        out.append(pool(f"p{i}", subnet, [f"10.0.{third}.{lo}-10.0.{third}.{lo + rng.randrange(0, 40)}"]))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_vn013_sweep_agrees_with_pairwise_overlap(seed: int) -> None:
    rng = random.Random(seed)
    objs = _random_pools(rng, rng.randrange(2, 6))  # at most MAX_LISTED partners: nothing is capped
    specs = {o["metadata"]["name"]: PoolSpec.from_manifest(o) for o in objs}
    expected = {frozenset((a, b)) for a in specs for b in specs if a != b and overlap(specs[a], specs[b])}
    pairs = [
        frozenset((f.object.name, m.group(1)))
        for f in run_objects(objs, "VN013")
        if (m := re.search(r"SpiderIPPool \S+ (?:\(spec.subnet \S+\) )?and (\S+)", f.message))
    ]
    assert set(pairs) == expected
    assert len(pairs) == len(expected)  # issue 9: each pair once, not once from each pool


def test_vn013_index_is_built_once_per_context_and_not_quadratic() -> None:
    n = 4000
    objs = [pool(f"p{i}", f"10.{i // 256}.{i % 256}.0/24", [f"10.{i // 256}.{i % 256}.10"]) for i in range(n)]
    objs += [pool(f"same{i}", "10.200.0.0/24", ["10.200.0.1-10.200.0.50"]) for i in range(300)]  # all overlap
    objs.append(pool("wide", "10.0.0.0/12", []))  # contains the 4000 /24s
    docs = load_documents(dump_yaml_stream(objs), "t.yaml")
    ctx = LintContext.build(objects_of(docs))
    calls = 0
    original = ippool_overlap._overlap_index.__wrapped__  # type: ignore[attr-defined]

    def counting(c: LintContext) -> Any:
        nonlocal calls
        calls += 1
        return original(c)

    check = per_context(counting)
    index = check(ctx)
    for _ in ctx.objects:
        check(ctx)
    assert calls == 1  # built once per context, not once per pool (timing lives in bench/, not here)
    assert all(len(v) <= MAX_LISTED + 1 for v in index.subnets.values())
    assert all(len(v) <= MAX_LISTED + 1 for v in index.addresses.values())
    assert index.subnets["p17"] == ["wide"]
    assert len(index.subnets["wide"]) == MAX_LISTED + 1
    assert len(index.addresses["same0"]) == MAX_LISTED + 1
    found = [f for f in lint(docs, LintOptions(enable=("VN013",))).findings if f.object.name == "wide"]
    assert len(found) == MAX_LISTED + 1  # five partners and a "more than listed" summary
    assert "more pools than the 5 listed" in found[-1].message


def test_per_context_memo_forgets_dead_contexts() -> None:
    calls: list[int] = []
    memo = per_context(lambda c: calls.append(1) or len(calls))
    ctx = LintContext.build([])
    assert memo(ctx) == memo(ctx) == 1
    del ctx
    gc.collect()
    assert memo(LintContext.build([])) == 2


# --- VN014 ippool-removed-field -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sp", "severity"),
    [
        ("v0.8.0", Severity.WARNING),
        ("v0.9.13", Severity.WARNING),
        ("v1.0.0", Severity.ERROR),
        ("v1.2.2", Severity.ERROR),
    ],
)
def test_vn014_vlan_by_version(sp: str, severity: Severity) -> None:
    (f,) = run_objects([pool("p", "10.0.0.0/24", [], vlan=30)], "VN014", sp=sp)
    assert f.severity is severity
    assert f.path == ("spec", "vlan")
    assert "macvlan.vlanID" in f.fix


# --- VN015 ippool-exhausted -----------------------------------------------------------------------------------------


def test_vn015_counts_entries_not_fallbacks_and_dedupes_vm_and_vmi() -> None:
    p = pool("tiny", "10.0.0.0/24", ["10.0.0.1"])
    assert (
        run_objects(
            [
                p,
                vm({IPPOOL: '{"ipv4":["tiny"]}'}),
                vm({IPPOOL: '{"ipv4":["tiny"]}'}, kind="VirtualMachineInstance"),
                vm({IPPOOL: '{"ipv4":["big","tiny"]}'}, name="vm2"),
            ],
            "VN015",
        )
        == []
    )
    two_nics = json.dumps([{"interface": "eth0", "ipv4": ["tiny"]}, {"interface": "podf3c3bc44bbb", "ipv4": ["tiny"]}])
    (f,) = run_objects([p, vm({IPPOOLS: two_nics}, TWO_NICS)], "VN015")
    assert f.message == (
        "SpiderIPPool tiny hands out 1 address but 2 fixed IPs are taken from it by 1 VM of the input (vms/vm1)"
    )
    assert f.severity is Severity.ERROR


def test_vn015_wrong_family_demand_is_not_counted() -> None:
    p = pool("tiny", "10.0.0.0/24", [])
    assert run_objects([p, vm({IPPOOL: '{"ipv6":["tiny"]}'})], "VN015") == []


def test_vn015_reads_the_annotation_as_spiderpool_does() -> None:
    # Go's encoding/json matches "IPv4" to the ipv4 field: VN009/VN011 already read it so, and VN015 counts it too
    p = pool("tiny", "10.0.0.0/24", ["10.0.0.1"])
    (f,) = run_objects([p, vm({IPPOOL: '{"IPv4":["tiny"]}'}), vm({IPPOOL: '{"ipv4":["tiny"]}'}, name="vm2")], "VN015")
    assert "2 fixed IPs are taken from it by 2 VMs of the input (vms/vm1, vms/vm2)" in f.message
    # a pool named only in an ippool annotation that ippools overrides is not taken from
    both = {IPPOOLS: json.dumps([{"interface": "eth0", "ipv4": ["big"]}]), IPPOOL: '{"ipv4":["tiny"]}'}
    assert run_objects([p, vm(both), vm(both, name="vm2")], "VN015") == []


# --- VN016 multusconfig-invalid -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cni", "sp", "ok"),
    [
        ("ib-sriov", "v0.8.13", False),
        ("ib-sriov", "v0.9.0", True),
        ("vlan", "v1.1.0", False),
        ("vlan", "v1.2.0", True),
        ("bridge", "v1.2.2", False),
    ],
)
def test_vn016_cni_type_enum_per_version(cni: str, sp: str, ok: bool) -> None:
    block = {
        "ib-sriov": ("ibsriov", {"resourceName": "r"}),
        "vlan": ("vlan", {"master": ["ens1"]}),
        "bridge": ("bridge", {}),
    }[cni]
    found = run_objects([smc("m", {"cniType": cni, block[0]: block[1]})], "VN016", sp=sp)
    assert (found == []) is ok, [f.message for f in found]
    if not ok:
        assert found[0].path == ("spec", "cniType")


@pytest.mark.parametrize(("sp", "severity"), [("v0.8.13", Severity.WARNING), ("v1.0.0", Severity.ERROR)])
def test_vn016_foreign_block_that_v0_8_does_not_check(sp: str, severity: Severity) -> None:
    spec = {"cniType": "macvlan", "macvlan": {"master": ["ens192"]}, "ovs": {"bridge": "br1"}}
    (f,) = run_objects([smc("m", spec)], "VN016", sp=sp)
    assert f.severity is severity
    assert f.path == ("spec", "ovs")


def test_vn016_field_checks() -> None:
    specs = [
        {"cniType": "macvlan", "macvlan": {"master": []}},
        {"cniType": "macvlan", "macvlan": {"master": ["a", "b"], "bond": {"mode": 9}}},
        {"cniType": "sriov", "sriov": {"vlanID": -1}},
        {"cniType": "ovs", "ovs": {"bridge": "br1", "trunk": [{"minID": 20, "maxID": 10}, {"id": 5000}]}},
        {"cniType": "custom", "customCNI": "{not json"},
        {"cniType": "vlan", "vlan": {"master": ["ens1"], "vlanMode": "auto", "vlanID": 5}},
    ]
    found = run_objects([smc(f"m{i}", s) for i, s in enumerate(specs)], "VN016", sp="v1.2.2")
    paths = sorted((f.object.name, f.path) for f in found)
    assert paths == sorted(
        [
            ("m0", ("spec", "macvlan", "master")),
            ("m1", ("spec", "macvlan", "bond")),
            ("m1", ("spec", "macvlan", "bond", "mode")),
            ("m2", ("spec", "sriov", "resourceName")),
            ("m2", ("spec", "sriov", "vlanID")),
            ("m3", ("spec", "ovs", "trunk", 0, "minID")),
            ("m3", ("spec", "ovs", "trunk", 1, "id")),
            ("m4", ("spec", "customCNI")),
            ("m5", ("spec", "vlan", "vlanID")),
        ]
    )
    assert all(f.severity is Severity.ERROR for f in found)


def test_vn016_annotations() -> None:
    found = run_objects(
        [
            smc(
                "m",
                {"cniType": "custom"},
                {"multus.spidernet.io/cr-name": "", "multus.spidernet.io/cni-version": "0.2.0"},
            )
        ],
        "VN016",
    )
    messages = sorted(f.message for f in found)
    assert "('invalid custom net-attach-def resource empty name')" in messages[1]
    assert "('unsupported CNI version 0.2.0')" in messages[0]


def test_vn016_no_cni_type_defaults_to_custom_from_v0_9() -> None:
    assert run_objects([smc("calico", {"enableCoordinator": False})], "VN016", sp="v0.9.0") == []
    (f,) = run_objects([smc("calico", {"enableCoordinator": False})], "VN016", sp="v0.8.13")
    assert f.message.startswith("spec.cniType is required on SpiderPool v0.8.13")


# --- VN021 static-ip-disabled ---------------------------------------------------------------------------------------


def conf(text: Any, name: str = "spiderpool-conf") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "kube-system"},
        "data": {"conf.yml": text},
    }


def test_vn021_crash_note_on_old_versions() -> None:
    (f,) = run_objects([conf("enableKubevirtStaticIP: false\n"), vm({IPPOOL: '{"ipv4":["a"]}'})], "VN021", sp="v0.8.3")
    assert f.message == (
        "enableKubevirtStaticIP is false in conf.yml, so the VMs that take SpiderPool addresses (vms/vm1) get a new "
        "IP on every restart and spiderpool-agent crashes at start (issue #2966); set it to true"
    )
    assert f.path == ("data", "conf.yml")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [('enableKubevirtStaticIP: "true"\n', "not a boolean"), ("- a\n- b\n", "not a YAML mapping"), (7, "string")],
)
def test_vn021_broken_conf(text: Any, fragment: str) -> None:
    (f,) = run_objects([conf(text)], "VN021")
    assert fragment in f.message


def test_vn021_other_configmaps_and_stubs_are_ignored() -> None:
    assert run_objects([conf("x: [", name="other"), vm({IPPOOL: '{"ipv4":["a"]}'})], "VN021") == []
    stub = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "spiderpool-conf"}}
    assert run_objects([stub, vm({IPPOOL: '{"ipv4":["a"]}'})], "VN021") == []


# --- real manifests -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.yaml")), ids=lambda p: p.name)
def test_rendered_bundles_are_clean(path: Path) -> None:
    match = re.search(r"__kv-(v\d+\.\d+\.\d+)__sp-(v\d+\.\d+\.\d+)", path.name)
    kv, sp = match.groups() if match else (None, None)
    result = lint(
        load_documents(path.read_text(), path.name),
        LintOptions(kubevirt_version=kv, spiderpool_version=sp, enable=MINE),
    )
    assert [f.message for f in result.findings] == []


FIXTURES = Path(__file__).parent / "fixtures"
MY_SLUGS = (
    "ippool-annotation-invalid",
    "ippool-interface-mismatch",
    "ippool-not-found",
    "ippool-subnet-invalid",
    "ippool-overlap",
    "ippool-removed-field",
    "ippool-exhausted",
    "multusconfig-invalid",
    "static-ip-disabled",
)
ODD_VALUES: list[Any] = [None, 0, -1, 99999, True, "", "x", "[", "{}", "10.0.0.0/8", [], [None], {}, {"a": [1]}]


def _mutate(value: Any, rng: random.Random) -> Any:
    """``value`` with one randomly chosen leaf or subtree replaced by an odd value."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        return {**value, key: _mutate(value[key], rng)}
    if isinstance(value, list) and value and rng.random() < 0.8:
        i = rng.randrange(len(value))
        return [*value[:i], _mutate(value[i], rng), *value[i + 1 :]]
    return rng.choice(ODD_VALUES)


@pytest.mark.parametrize("slug", MY_SLUGS)
def test_malformed_manifests_never_crash(slug: str) -> None:
    rng = random.Random(slug)
    for path in sorted((FIXTURES / slug).glob("*.yaml")):
        objects = [d.data for d in load_documents(path.read_text(), path.name) if isinstance(d.data, dict)]
        for _ in range(60):
            mutated = [_mutate(o, rng) if rng.random() < 0.7 else o for o in objects]
            mutated = [m for m in mutated if isinstance(m, dict)]
            lint(load_documents(dump_yaml_stream(mutated), "m.yaml"), LintOptions(enable=MINE))
