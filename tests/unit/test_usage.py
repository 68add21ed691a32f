"""The pure part of `virtnet pool usage` (numbers, free intervals, holders) and how `gather` reads (each kind once)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from virtnet.cli.pool import usage_text
from virtnet.cluster.usage import (
    UsageInputs,
    allocations,
    gather,
    pool_usage,
    reserved_set,
)
from virtnet.errors import ForbiddenError, NotFoundError
from virtnet.model.ipset import IPSet


def ippool(name: str, subnet: str, ips: list[str], exclude: list[str] | None = None, **records: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"ipVersion": 6 if ":" in subnet else 4, "subnet": subnet, "ips": ips}
    if exclude:
        spec["excludeIPs"] = exclude
    status = {"allocatedIPs": json.dumps(records), "allocatedIPCount": len(records)} if records else {}
    return {"metadata": {"name": name}, "spec": spec, "status": status}


def rec(key: str, uid: str = "u") -> dict[str, str]:
    return {"pod": key, "podUid": uid}


def obj(kind: str, ns: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"namespace": ns, "name": name, **extra.pop("meta", {})}, **extra}


def test_allocations_accept_the_json_string_a_dict_and_report_garbage() -> None:
    assert allocations({"status": {"allocatedIPs": '{"10.0.0.1":{"pod":"a/b","podUid":"u"}}'}})[0] == {
        "10.0.0.1": {"pod": "a/b", "podUid": "u"}
    }
    assert allocations({"status": {"allocatedIPs": {"10.0.0.1": {"pod": "a/b"}}}})[0] == {"10.0.0.1": {"pod": "a/b"}}
    assert allocations({"status": {}}) == ({}, None)
    assert allocations({"status": {"allocatedIPs": "{oops"}}) == ({}, "status.allocatedIPs is not valid JSON")


def test_reserved_ips_by_family_with_ip_version_inferred() -> None:
    objects = [
        {"metadata": {"name": "a"}, "spec": {"ipVersion": 4, "ips": ["10.0.0.5-10.0.0.6"]}},
        {"metadata": {"name": "b"}, "spec": {"ips": ["10.0.0.9"]}},  # ipVersion left to the webhook
        {"metadata": {"name": "c"}, "spec": {"ipVersion": 6, "ips": ["fd00::1"]}},
        {"metadata": {"name": "d"}, "spec": {"ipVersion": 4, "ips": ["not-an-ip"]}},
    ]
    v4, problems = reserved_set(objects, 4)
    assert v4 == IPSet.of(4, ["10.0.0.5-10.0.0.6", "10.0.0.9"])
    assert len(problems) == 1
    assert problems[0].startswith("SpiderReservedIP d")
    assert reserved_set(objects, 6)[0] == IPSet.of(6, ["fd00::1"])


def test_numbers_and_free_ranges() -> None:
    pool = ippool(
        "p",
        "10.7.0.0/16",
        ["10.7.120.100-10.7.120.200"],
        ["10.7.120.200"],
        **{"10.7.120.100": rec("ns/a"), "10.7.120.150": rec("ns/b")},
    )
    reserved = [{"metadata": {"name": "r"}, "spec": {"ipVersion": 4, "ips": ["10.7.120.101", "10.9.9.9"]}}]
    (usage,) = pool_usage(UsageInputs(pools=[pool], reserved_ips=reserved)).pools
    assert (usage.total, usage.usable, usage.excluded, usage.reserved_objects, usage.allocated, usage.free) == (
        101,
        100,
        1,
        1,
        2,
        97,
    )
    assert usage.free_ranges == [("10.7.120.102", "10.7.120.149"), ("10.7.120.151", "10.7.120.199")]
    assert usage.total == usage.allocated + usage.reserved + usage.free


def test_a_slash8_costs_what_a_slash24_costs() -> None:
    """Same shape of allocations → same number of intervals, whatever the pool's size; an IPv6 /64 works too."""
    records = {"10.0.0.10": rec("ns/a"), "10.0.0.20": rec("ns/b")}
    small = ippool("s", "10.0.0.0/24", ["10.0.0.1-10.0.0.254"], **records)
    large = ippool("l", "10.0.0.0/8", ["10.0.0.1-10.255.255.254"], **records)
    huge = ippool("h", "fd00::/64", ["fd00::1-fd00::ffff:ffff:ffff:fffe"], **{"fd00::10": rec("ns/c")})
    s, big, h = pool_usage(UsageInputs(pools=[small, large, huge])).pools
    assert len(s.free_ranges) == len(big.free_ranges) == 3
    assert big.free == 2**24 - 2 - 2
    assert h.free == 2**64 - 3
    assert h.free_ranges == [("fd00::1", "fd00::f"), ("fd00::11", "fd00::ffff:ffff:ffff:fffe")]


def test_holders_are_traced_to_their_vm() -> None:
    records = {
        "10.0.0.1": rec("a/web"),  # keyed by the VMI name (enableKubevirtStaticIP)
        "10.0.0.2": rec("a/db"),  # VM stopped: no VMI
        "10.0.0.3": rec("b/gone"),  # VM deleted, its endpoint lingers
        "10.0.0.4": rec("a/virt-launcher-legacy-x1y2z"),  # keyed by the pod (static IP off)
        "10.0.0.5": {"interface": "eth0", "pod": "b/nginx", "podUid": "u"},  # v0.8.0/0.8.1 record shape
        "10.0.0.6": rec("a/lonely-vmi"),  # a VMI without a VM
    }
    pool = ippool("p", "10.0.0.0/24", ["10.0.0.1-10.0.0.100"], **records)
    vmi = {"status": {"phase": "Running"}}
    legacy_vmi = {"ownerReferences": [{"kind": "VirtualMachine", "name": "legacy"}]}
    legacy_pod = {"ownerReferences": [{"kind": "VirtualMachineInstance", "name": "legacy"}]}
    gone = {
        "ownerControllerType": "VirtualMachineInstance",
        "ownerControllerName": "gone",
        "current": {"ips": [{"interface": "eth0", "ipv4": "10.0.0.3/24"}]},
    }
    inputs = UsageInputs(
        pools=[pool],
        vms=[obj("VirtualMachine", "a", "web"), obj("VirtualMachine", "a", "db"), obj("VirtualMachine", "a", "legacy")],
        vmis=[
            obj("VirtualMachineInstance", "a", "web", **vmi),
            obj("VirtualMachineInstance", "a", "legacy", meta=legacy_vmi, **vmi),
            obj("VirtualMachineInstance", "a", "lonely-vmi", status={"phase": "Scheduling"}),
        ],
        endpoints=[obj("SpiderEndpoint", "b", "gone", status=gone)],
        pods=[obj("Pod", "a", "virt-launcher-legacy-x1y2z", meta=legacy_pod)],
    )
    (usage,) = pool_usage(inputs).pools
    holders = {h.ip: h for h in usage.holders}
    assert (holders["10.0.0.1"].kind, holders["10.0.0.1"].name, holders["10.0.0.1"].state) == (
        "VirtualMachine",
        "web",
        "running",
    )
    assert holders["10.0.0.2"].state == "stopped"
    assert holders["10.0.0.2"].note is not None
    assert "keeps a stopped VM's IP" in holders["10.0.0.2"].note
    assert (holders["10.0.0.3"].name, holders["10.0.0.3"].state) == ("gone", "deleted")
    legacy = holders["10.0.0.4"]
    assert (legacy.name, legacy.state, legacy.launcher_pod) == ("legacy", "running", "virt-launcher-legacy-x1y2z")
    assert (holders["10.0.0.5"].kind, holders["10.0.0.5"].interface, holders["10.0.0.5"].state) == ("Pod", "eth0", None)
    lonely = holders["10.0.0.6"]
    assert (lonely.kind, lonely.state) == ("VirtualMachineInstance", "scheduling")


def test_unreadable_vms_make_holders_unknown_not_wrong() -> None:
    pool = ippool("p", "10.0.0.0/24", ["10.0.0.1-10.0.0.9"], **{"10.0.0.1": rec("a/web")})
    (usage,) = pool_usage(UsageInputs(pools=[pool], vms=None, vmis=None, pods=None)).pools
    (holder,) = usage.holders
    assert holder.state is None
    assert holder.note == "VMs/pods not readable: holder unknown"


def test_namespace_filter_counts_the_others() -> None:
    records = {"10.0.0.1": rec("a/x"), "10.0.0.2": rec("b/y"), "10.0.0.3": rec("b/z")}
    pool = ippool("p", "10.0.0.0/24", ["10.0.0.1-10.0.0.9"], **records)
    (usage,) = pool_usage(UsageInputs(pools=[pool], namespaces=frozenset({"a"}))).pools
    assert [h.ip for h in usage.holders] == ["10.0.0.1"]
    assert usage.holders_elsewhere == 2
    assert usage.allocated == 3


def test_problems_of_a_pool_are_reported_not_raised() -> None:
    pool = ippool(
        "p", "10.0.0.0/24", ["10.0.0.1-10.0.0.9"], **{"10.0.0.1": rec("a/x"), "fd00::1": rec("a/y"), "junk": rec("a/z")}
    )
    pool["status"]["allocatedIPCount"] = 7
    pool["spec"]["ips"].remove("10.0.0.1-10.0.0.9")
    pool["spec"]["ips"].append("10.0.0.2-10.0.0.9")  # 10.0.0.1 was allocated, then taken out of the pool
    (usage,) = pool_usage(UsageInputs(pools=[pool])).pools
    assert usage.outside == ["10.0.0.1"]
    assert usage.allocated == 1
    assert any("not an IPv4 address" in p for p in usage.problems)
    assert any("not an IP address: 'junk'" in p for p in usage.problems)
    assert any("allocatedIPCount says 7" in p for p in usage.problems)
    broken = {"metadata": {"name": "b"}, "spec": {"subnet": "nope"}}
    (usage,) = pool_usage(UsageInputs(pools=[broken])).pools
    assert usage.problems
    assert usage.problems[0].startswith("the pool's spec cannot be read")
    assert usage.free_ranges == []


def test_text_draws_bars_only_when_asked() -> None:
    pool = ippool("p", "10.0.0.0/24", ["10.0.0.1-10.0.0.10"], **{f"10.0.0.{i}": rec("a/x") for i in range(1, 6)})
    report = pool_usage(UsageInputs(pools=[pool])).to_json()
    plain = usage_text(report, bars=False)
    assert "█" not in plain
    assert "  free: 10.0.0.6-10.0.0.10" in plain
    assert "[" + "█" * 15 + "░" * 15 + "]" in usage_text(report, bars=True)


# --- gather: every kind listed once, however many pools ----------------------------------------------------------


class FakeCluster:
    """Records every list call; answers from canned items."""

    namespace = "default"
    server = "https://example:6443"

    def __init__(self, pools: list[dict[str, Any]], forbid: tuple[str, ...] = ()) -> None:
        self.pools = pools
        self.forbid = forbid
        self.calls: Counter[str] = Counter()

    def list(self, api_version: str, kind: str, namespace: str | None = None, **kw: Any) -> list[dict[str, Any]]:
        self.calls[kind] += 1
        if kind in self.forbid:
            raise ForbiddenError("no", verb="list", resource=kind.lower())
        return self.pools if kind == "SpiderIPPool" else []


def test_gather_lists_each_kind_once_for_many_pools() -> None:
    pools = [ippool(f"p{i}", "10.0.0.0/24", [f"10.0.0.{i}"], **{f"10.0.0.{i}": rec("a/x")}) for i in range(1, 40)]
    cluster = FakeCluster(pools)
    inputs = gather(cluster, all_namespaces=True)
    kinds = ("SpiderIPPool", "SpiderReservedIP", "VirtualMachine", "VirtualMachineInstance", "SpiderEndpoint", "Pod")
    assert cluster.calls == Counter(dict.fromkeys(kinds, 1))
    assert inputs.namespaces is None
    assert len(inputs.pools) == 39


def test_gather_skips_vm_reads_when_nothing_is_allocated_and_records_refusals() -> None:
    cluster = FakeCluster([ippool("p", "10.0.0.0/24", ["10.0.0.1"])], forbid=("SpiderReservedIP",))
    inputs = gather(cluster, namespace="a")
    assert set(cluster.calls) == {"SpiderIPPool", "SpiderReservedIP"}
    assert inputs.reserved_ips is None
    assert inputs.unreadable == {"SpiderReservedIPs": "forbidden (needs list on spiderreservedip)"}
    assert inputs.namespaces == frozenset({"a"})


def test_gather_names_unknown_pools() -> None:
    cluster = FakeCluster([ippool("p", "10.0.0.0/24", ["10.0.0.1"])])
    with pytest.raises(NotFoundError, match="no SpiderIPPool named q, r"):
        gather(cluster, ["p", "q", "r"])
