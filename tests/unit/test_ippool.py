"""SpiderIPPool semantics: spec.ips syntax, canonical subnets, PoolSpec, problems() and overlap()."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from virtnet.errors import InputError
from virtnet.model.ippool import PoolRoute, PoolSpec, canonical_subnet, overlap, parse_ip_entries
from virtnet.model.ipset import IPFamilyError, IPSet


def manifest(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "spiderpool.spidernet.io/v2beta1",
        "kind": "SpiderIPPool",
        "metadata": {"name": "vm-pool"},
        "spec": spec,
    }


# --- parse_ip_entries ----------------------------------------------------------------------------------------


@given(
    st.sampled_from([4, 6]).flatmap(
        lambda f: st.tuples(
            st.just(f),
            st.lists(st.tuples(st.integers(0, 255), st.integers(0, 20)), max_size=10),
        )
    )
)
def test_parse_ip_entries_round_trip(case: tuple[int, list[tuple[int, int]]]) -> None:
    family, runs = case
    base = int(ipaddress.ip_address("192.168.7.0" if family == 4 else "2001:db8::"))
    expected: set[int] = set()
    for start, length in runs:
        expected.update(range(base + start, base + min(start + length, 255) + 1))
    ips = IPSet.from_intervals(family, [(v, v) for v in expected])  # type: ignore[arg-type]
    parsed = parse_ip_entries(ips.to_spiderpool(), family, "spec.ips")  # type: ignore[arg-type]
    assert parsed == ips
    assert {v for a, b in parsed.intervals for v in range(a, b + 1)} == expected


def test_parse_ip_entries_merges_overlapping_entries() -> None:
    ips = parse_ip_entries(["10.0.0.5-10.0.0.9", "10.0.0.1", "10.0.0.2-10.0.0.6"], 4, "spec.ips")
    assert ips.to_spiderpool() == ["10.0.0.1-10.0.0.9"]


@pytest.mark.parametrize(
    ("entries", "family", "path", "message"),
    [
        (["10.0.0.1", "10.0.0.2", "10.0.0.9-10.0.0.1"], 4, "spec.ips[2]", "'10.0.0.9-10.0.0.1' starts after it ends"),
        (["fd00::1"], 4, "spec.ips[0]", "'fd00::1' is IPv6 but IPv4 is expected here"),
        (["10.0.0.1"], 6, "spec.ips[0]", "'10.0.0.1' is IPv4 but IPv6 is expected here"),
        (["10.0.0.1", "nope"], 4, "spec.ips[1]", "'nope' is not an IP address or an 'a-b' range"),
        (
            ["10.0.0.0/30"],
            4,
            "spec.ips[0]",
            "'10.0.0.0/30' is a CIDR, which this field does not take; write it as the range '10.0.0.0-10.0.0.3'",
        ),
        (
            ["10.0.0.1 - 10.0.0.3"],
            4,
            "spec.ips[0]",
            "'10.0.0.1 - 10.0.0.3' contains whitespace; write ranges as 'a-b' without spaces",
        ),
        ([17], 4, "spec.ips[0]", "expected a string such as '10.0.0.1' or '10.0.0.1-10.0.0.9', got 17"),
        ("10.0.0.1", 4, "spec.ips", "expected a list of entries such as '10.0.0.1-10.0.0.9', got '10.0.0.1'"),
    ],
)
def test_parse_ip_entries_errors(entries: Any, family: int, path: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_ip_entries(entries, family, "spec.ips")  # type: ignore[arg-type]
    assert info.value.location.path == path
    assert info.value.message == message
    assert str(info.value) == f"field {path}: {message}"


# --- canonical_subnet ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "network", "canonical"),
    [
        ("10.7.120.11/16", "10.7.0.0/16", False),
        ("10.7.0.0/16", "10.7.0.0/16", True),
        ("fd00::/64", "fd00::/64", True),
        ("fd00::1/64", "fd00::/64", False),
        ("FD00::/64", "fd00::/64", False),
        ("fd00:0::/64", "fd00::/64", False),
        ("10.0.0.1/32", "10.0.0.1/32", True),
    ],
)
def test_canonical_subnet(text: str, network: str, canonical: bool) -> None:
    assert canonical_subnet(text) == (ipaddress.ip_network(network), canonical)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10.0.0.0", "'10.0.0.0' has no prefix length; write it as a CIDR such as '10.0.0.0/24'"),
        ("fd00::", "'fd00::' has no prefix length; write it as a CIDR such as 'fd00::/64'"),
        ("10.0.0.0/255.255.0.0", "'10.0.0.0/255.255.0.0' is not a CIDR subnet such as '10.0.0.0/24' or 'fd00::/64'"),
        ("10.0.0.0/33", "'10.0.0.0/33' is not a CIDR subnet such as '10.0.0.0/24' or 'fd00::/64'"),
        (" 10.0.0.0/24", "' 10.0.0.0/24' is not a CIDR subnet such as '10.0.0.0/24' or 'fd00::/64'"),
        ("lan", "'lan' is not a CIDR subnet such as '10.0.0.0/24' or 'fd00::/64'"),
        (24, "expected a CIDR subnet such as '10.0.0.0/24' as a string, got 24"),
    ],
)
def test_canonical_subnet_errors(text: Any, message: str) -> None:
    with pytest.raises(InputError) as info:
        canonical_subnet(text)
    assert info.value.message == message
    assert info.value.location.path == "spec.subnet"


# --- PoolSpec -------------------------------------------------------------------------------------------------


def test_from_manifest_reads_every_field() -> None:
    pool = PoolSpec.from_manifest(
        manifest(
            ipVersion=4,
            subnet="10.7.120.11/16",
            ips=["10.7.200.1-10.7.200.100", "10.7.200.150"],
            excludeIPs=["10.7.200.50-10.7.200.59"],
            gateway="10.7.0.1",
            routes=[{"dst": "172.16.0.0/12", "gw": "10.7.0.254"}],
        )
    )
    assert pool.name == "vm-pool"
    assert pool.subnet == ipaddress.IPv4Network("10.7.0.0/16")
    assert pool.subnet_text == "10.7.120.11/16"
    assert pool.ip_version == 4
    assert pool.gateway == ipaddress.IPv4Address("10.7.0.1")
    assert pool.routes == (PoolRoute(ipaddress.IPv4Network("172.16.0.0/12"), ipaddress.IPv4Address("10.7.0.254")),)
    assert pool.effective.to_spiderpool() == ["10.7.200.1-10.7.200.49", "10.7.200.60-10.7.200.100", "10.7.200.150"]
    assert pool.capacity == 91
    assert pool.free_count() == 91
    assert pool.free_count(allocated=90) == 1
    assert pool.free_count(allocated=500) == 0
    assert pool.contains(ipaddress.IPv4Address("10.7.200.1"))
    assert not pool.contains(ipaddress.IPv4Address("10.7.200.55"))
    assert not pool.is_canonical


def test_from_manifest_defaults() -> None:
    pool = PoolSpec.from_manifest({"metadata": {"name": "v6"}, "spec": {"subnet": "fd00::/64"}})
    assert pool.ip_version == 6
    assert pool.ips.is_empty
    assert pool.exclude.is_empty
    assert pool.ips.family == 6
    assert pool.gateway is None
    assert pool.routes == ()
    assert pool.capacity == 0
    assert pool.problems() == []


@pytest.mark.parametrize(
    ("obj", "path", "message"),
    [
        ([], None, "expected a SpiderIPPool object (a mapping), got list"),
        (
            {**manifest(subnet="10.0.0.0/24"), "kind": "SpiderSubnet"},
            "kind",
            "expected kind SpiderIPPool, got 'SpiderSubnet'",
        ),
        (
            {**manifest(subnet="10.0.0.0/24"), "apiVersion": "spiderpool.spidernet.io/v1"},
            "apiVersion",
            "expected apiVersion spiderpool.spidernet.io/v2beta1, got 'spiderpool.spidernet.io/v1'",
        ),
        ({"spec": {"subnet": "10.0.0.0/24"}}, "metadata", "SpiderIPPool needs metadata.name"),
        (
            {"metadata": {"name": ""}, "spec": {"subnet": "10.0.0.0/24"}},
            "metadata.name",
            "SpiderIPPool needs a non-empty string name, got ''",
        ),
        ({"metadata": {"name": "p"}}, "spec", "SpiderIPPool p has no spec mapping"),
        ({"metadata": {"name": "p"}, "spec": {"ips": []}}, "spec.subnet", "SpiderIPPool p needs spec.subnet"),
        (
            manifest(subnet="10.0.0.0"),
            "spec.subnet",
            "'10.0.0.0' has no prefix length; write it as a CIDR such as '10.0.0.0/24'",
        ),
        (manifest(subnet="10.0.0.0/24", ipVersion=5), "spec.ipVersion", "must be 4 or 6, got 5"),
        (manifest(subnet="10.0.0.0/24", ipVersion=True), "spec.ipVersion", "must be 4 or 6, got True"),
        (manifest(subnet="10.0.0.0/24", ips="10.0.0.1"), "spec.ips", "expected a list, got '10.0.0.1'"),
        (
            manifest(subnet="10.0.0.0/24", ips=["10.0.0.1", "10.0.0.9-10.0.0.3"]),
            "spec.ips[1]",
            "'10.0.0.9-10.0.0.3' starts after it ends",
        ),
        (
            manifest(subnet="10.0.0.0/24", excludeIPs=["fd00::1"]),
            "spec.excludeIPs[0]",
            "'fd00::1' is IPv6 but IPv4 is expected here",
        ),
        (manifest(subnet="10.0.0.0/24", gateway="10.0.0.x"), "spec.gateway", "'10.0.0.x' is not an IP address"),
        (
            manifest(subnet="10.0.0.0/24", gateway="fd00::1"),
            "spec.gateway",
            "'fd00::1' is an IPv6 address but IPv4 is expected here",
        ),
        (manifest(subnet="10.0.0.0/24", gateway=1), "spec.gateway", "expected an IP address as a string, got 1"),
        (
            manifest(subnet="10.0.0.0/24", routes=["x"]),
            "spec.routes[0]",
            "expected a mapping with 'dst' and 'gw', got 'x'",
        ),
        (
            manifest(subnet="10.0.0.0/24", routes=[{"gw": "10.0.0.1"}]),
            "spec.routes[0].dst",
            "needs a destination CIDR string, got None",
        ),
        (
            manifest(subnet="10.0.0.0/24", routes=[{"dst": "1.0.0.0/8"}]),
            "spec.routes[0].gw",
            "needs a gateway address string, got None",
        ),
        (
            manifest(subnet="10.0.0.0/24", routes=[{"dst": "1.0.0.0/88", "gw": "10.0.0.1"}]),
            "spec.routes[0].dst",
            "'1.0.0.0/88' is not a CIDR such as '10.0.0.0/24'",
        ),
        (
            manifest(subnet="10.0.0.0/24", routes=[{"dst": "fd00::/8", "gw": "10.0.0.1"}]),
            "spec.routes[0].dst",
            "'fd00::/8' is IPv6 but the pool is IPv4",
        ),
        (
            manifest(subnet="10.0.0.0/24", routes=[{"dst": "1.0.0.0/8", "gw": "fd00::1"}]),
            "spec.routes[0].gw",
            "'fd00::1' is an IPv6 address but IPv4 is expected here",
        ),
    ],
)
def test_from_manifest_errors(obj: Any, path: str | None, message: str) -> None:
    with pytest.raises(InputError) as info:
        PoolSpec.from_manifest(obj)
    assert info.value.message == message
    assert info.value.location.path == path


def test_constructor_rejects_family_mismatch() -> None:
    with pytest.raises(IPFamilyError) as info:
        PoolSpec(
            name="p",
            subnet=ipaddress.IPv4Network("10.0.0.0/24"),
            ips=IPSet.parse("fd00::1"),
            exclude=IPSet.empty(4),
            gateway=None,
            ip_version=4,
        )
    assert info.value.message == "SpiderIPPool p: spec.ips is IPv6 but spec.subnet 10.0.0.0/24 is IPv4"
    with pytest.raises(IPFamilyError, match=r"spec.gateway fd00::1 is IPv6 but spec.subnet 10.0.0.0/24 is IPv4"):
        PoolSpec(
            name="p",
            subnet=ipaddress.IPv4Network("10.0.0.0/24"),
            ips=IPSet.empty(4),
            exclude=IPSet.empty(4),
            gateway=ipaddress.IPv6Address("fd00::1"),
            ip_version=4,
        )


def test_free_count_rejects_negative() -> None:
    with pytest.raises(InputError, match="allocated address count must be a non-negative integer, got -3"):
        PoolSpec.build("p", "10.0.0.0/24").free_count(-3)


# --- problems -------------------------------------------------------------------------------------------------


def test_clean_pool_has_no_problems() -> None:
    pool = PoolSpec.build(
        "p",
        "10.0.0.0/24",
        ips=["10.0.0.1-10.0.0.100"],
        exclude=["10.0.0.1"],
        gateway="10.0.0.1",
        routes=[("172.16.0.0/12", "10.0.0.254")],
    )
    assert pool.problems() == []


def test_problems_lists_everything_in_field_order() -> None:
    pool = PoolSpec.build(
        "p",
        "10.0.0.7/24",
        ips=["10.0.0.1-10.0.0.100", "10.0.1.5-10.0.1.9", "10.0.2.1"],
        exclude=["10.0.3.0"],
        gateway="10.0.0.50",
        routes=[("0.0.0.0/0", "10.0.0.1"), ("172.16.0.0/12", "10.9.0.1"), ("172.16.0.0/12", "10.0.0.1")],
        ip_version=6,
    )
    assert pool.problems() == [
        ("spec.ipVersion", "is 6 but spec.subnet 10.0.0.0/24 is IPv4"),
        (
            "spec.subnet",
            "'10.0.0.7/24' is not canonical; SpiderPool >= v0.9.2 rejects it (\"unformatted subnet\"), "
            "write 10.0.0.0/24",
        ),
        ("spec.ips", "10.0.1.5-10.0.1.9, 10.0.2.1 outside spec.subnet 10.0.0.0/24"),
        ("spec.excludeIPs", "10.0.3.0 outside spec.subnet 10.0.0.0/24"),
        ("spec.ips", "contains spec.gateway 10.0.0.50; add it to spec.excludeIPs or remove it from spec.ips"),
        ("spec.routes[0].dst", "0.0.0.0/0 is the default route; use spec.gateway to configure it"),
        ("spec.routes[1].gw", "10.9.0.1 is outside spec.subnet 10.0.0.0/24"),
        ("spec.routes[2].dst", "172.16.0.0/12 appears in more than one route"),
    ]


def test_problem_gateway_outside_subnet_and_ipv6_default_route() -> None:
    pool = PoolSpec.build("p6", "fd00::/64", ips=["fd00::10-fd00::20"], gateway="fd01::1", routes=[("::/0", "fd00::1")])
    assert pool.problems() == [
        ("spec.gateway", "fd01::1 is outside spec.subnet fd00::/64"),
        ("spec.routes[0].dst", "::/0 is the default route; use spec.gateway to configure it"),
    ]


def test_problem_lists_at_most_five_ranges() -> None:
    outside = [f"10.1.0.{n}" for n in range(0, 20, 2)]
    problems = PoolSpec.build("p", "10.0.0.0/24", ips=outside).problems()
    assert problems == [
        (
            "spec.ips",
            "10.1.0.0, 10.1.0.2, 10.1.0.4, 10.1.0.6, 10.1.0.8 and 5 more ranges outside spec.subnet 10.0.0.0/24",
        )
    ]


# --- to_manifest ----------------------------------------------------------------------------------------------


def test_to_manifest_is_canonical_and_ordered() -> None:
    pool = PoolSpec.build(
        "vm-pool",
        "10.7.120.11/16",
        ips=["10.7.200.10", "10.7.200.1-10.7.200.9"],
        exclude=["10.7.200.5"],
        gateway="10.7.0.1",
    )
    out = pool.to_manifest()
    assert out == {
        "apiVersion": "spiderpool.spidernet.io/v2beta1",
        "kind": "SpiderIPPool",
        "metadata": {"name": "vm-pool"},
        "spec": {
            "ipVersion": 4,
            "subnet": "10.7.0.0/16",
            "ips": ["10.7.200.1-10.7.200.10"],
            "excludeIPs": ["10.7.200.5"],
            "gateway": "10.7.0.1",
        },
    }
    assert list(out) == ["apiVersion", "kind", "metadata", "spec"]
    assert list(out["spec"]) == ["ipVersion", "subnet", "ips", "excludeIPs", "gateway"]
    again = PoolSpec.from_manifest(out)
    assert again.effective == pool.effective
    assert again.is_canonical


def test_to_manifest_omits_empty_optional_fields_and_keeps_routes() -> None:
    spec = PoolSpec.build("p", "fd00::/64", ips=["fd00::5"]).to_manifest()["spec"]
    assert spec == {"ipVersion": 6, "subnet": "fd00::/64", "ips": ["fd00::5"]}
    routed = PoolSpec.build("p", "10.0.0.0/24", routes=[("172.16.0.0/12", "10.0.0.254")]).to_manifest()["spec"]
    assert routed["routes"] == [{"dst": "172.16.0.0/12", "gw": "10.0.0.254"}]


# --- overlap --------------------------------------------------------------------------------------------------


def test_overlap_different_overlapping_subnets() -> None:
    a = PoolSpec.build("a", "10.0.0.0/16", ips=["10.0.1.1"])
    b = PoolSpec.build("b", "10.0.5.0/24", ips=["10.0.5.1"])
    assert overlap(a, b) == (
        "SpiderIPPool a (spec.subnet 10.0.0.0/16) and b (spec.subnet 10.0.5.0/24) have different but "
        "overlapping subnets; pools sharing addresses must use the identical subnet"
    )


def test_overlap_identical_subnet_depends_on_effective_ips() -> None:
    a = PoolSpec.build("a", "10.0.0.0/24", ips=["10.0.0.1-10.0.0.50"], exclude=["10.0.0.40-10.0.0.50"])
    b = PoolSpec.build("b", "10.0.0.0/24", ips=["10.0.0.40-10.0.0.60"])
    assert overlap(a, b) is None  # a excludes what b hands out
    c = PoolSpec.build("c", "10.0.0.0/24", ips=["10.0.0.30-10.0.0.35", "10.0.0.39"])
    assert overlap(a, c) == (
        "SpiderIPPool a and c both hand out 10.0.0.30-10.0.0.35, 10.0.0.39 in subnet 10.0.0.0/24; "
        "exclude them from one of the pools"
    )
    # Subnets written differently but equal after canonicalisation count as identical.
    d = PoolSpec.build("d", "10.0.0.9/24", ips=["10.0.0.200"])
    assert overlap(a, d) is None


def test_overlap_disjoint_and_other_family() -> None:
    a = PoolSpec.build("a", "10.0.0.0/24", ips=["10.0.0.1"])
    assert overlap(a, PoolSpec.build("b", "10.0.1.0/24", ips=["10.0.1.1"])) is None
    assert overlap(a, PoolSpec.build("c", "::/0", ips=["::a00:1"])) is None


# --- scale: would hang if anything expanded a range ------------------------------------------------------------


def test_huge_pools_compute_exactly() -> None:
    excludes = [f"10.{k}.0.0-10.{k}.0.255" for k in range(200)] + [f"10.{k}.9.9" for k in range(200)]
    pool = PoolSpec.build("big4", "10.0.0.0/8", ips=["10.0.0.0-10.255.255.255"], exclude=excludes)
    assert pool.capacity == 2**24 - 200 * 257
    assert pool.free_count(allocated=10) == 2**24 - 200 * 257 - 10

    v6_excludes = [f"fd00::{k:x}:0-fd00::{k:x}:ffff" for k in range(1, 301)]
    pool6 = PoolSpec.build("big6", "fd00::/64", ips=["fd00::-fd00::ffff:ffff:ffff:ffff"], exclude=v6_excludes)
    assert pool6.capacity == 2**64 - 300 * 2**16
    other = PoolSpec.build("other6", "fd00::/64", ips=["fd00::5:0-fd00::5:ffff", "fd00::ffff:0:0:1"])
    message = overlap(pool6, other)
    assert message is not None
    assert "fd00::ffff:0:0:1" in message
    assert "fd00::5:0" not in message  # excluded from big6
