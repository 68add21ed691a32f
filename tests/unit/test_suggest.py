"""`virtnet pool suggest` logic: properties against a brute-force oracle, the guide's example, every error."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from virtnet.errors import InputError
from virtnet.formats.iproute import parse_addresses, parse_routes
from virtnet.model.ippool import PoolSpec
from virtnet.model.ipset import Family, IPAddress, IPInterface, IPNetwork, IPSet, int_to_ip
from virtnet.model.suggest import (
    HostAddress,
    HostRoute,
    PoolSuggestion,
    reserved_addresses,
    suggest_pool,
    suggest_pools,
    usable_hosts,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "iproute"
FAMILIES: tuple[Family, ...] = (4, 6)

v4 = ipaddress.IPv4Address
v6 = ipaddress.IPv6Address
if4 = ipaddress.IPv4Interface
if6 = ipaddress.IPv6Interface


def expand(ips: IPSet) -> set[int]:
    return {v for first, last in ips.intervals for v in range(first, last + 1)}


def runs(values: set[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive integers (the oracle's free blocks)."""
    out: list[tuple[int, int]] = []
    for v in sorted(values):
        if out and v == out[-1][1] + 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out


# --- property: never hand out a taken address, exactly `count`, by the documented rule ------------------------


@dataclass(frozen=True)
class Scenario:
    """A small subnet (at most 256 addresses) with node addresses, a gateway and pools, as offsets."""

    family: Family
    prefix: int
    base: int
    size: int
    node: list[int]
    gateway: int | None
    pools: list[tuple[str, list[tuple[int, int]], list[int], int | None]]
    count: int

    def ip(self, offset: int) -> IPAddress:
        return int_to_ip(self.family, self.base + offset)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    family: Family = draw(st.sampled_from(FAMILIES))
    bits = 32 if family == 4 else 128
    prefix = draw(st.integers(bits - 8, bits - 2))  # /24../30 or /120../126: at most 256 addresses
    size = 1 << (bits - prefix)
    offsets = st.integers(0, size - 1)
    pools = []
    for index in range(draw(st.integers(0, 3))):
        ips = draw(st.lists(st.tuples(offsets, st.integers(0, 10)), max_size=4))
        pools.append((f"pool-{index}", ips, draw(st.lists(offsets, max_size=3)), draw(st.none() | offsets)))
    return Scenario(
        family=family,
        prefix=prefix,
        base=int(ipaddress.ip_address("10.0.0.0" if family == 4 else "fd00::")),
        size=size,
        node=draw(st.lists(offsets, min_size=1, max_size=4)),
        gateway=draw(st.none() | offsets),
        pools=pools,
        count=draw(st.integers(1, size)),
    )


@given(scenarios())
def test_suggestion_respects_every_taken_address(sc: Scenario) -> None:
    base, size, count = sc.base, sc.size, sc.count
    subnet = ipaddress.ip_network(f"{sc.ip(0)}/{sc.prefix}")

    addresses: list[tuple[str, IPInterface]] = [("eth0", ipaddress.ip_interface(f"{sc.ip(sc.node[0])}/{sc.prefix}"))]
    addresses += [("eth1", ipaddress.ip_interface(f"{sc.ip(o)}/{sc.prefix}")) for o in sc.node[1:]]
    addresses.append(("eth0", ipaddress.ip_interface("fe80::1/64")))
    routes: list[tuple[IPNetwork | None, IPAddress | None, str]] = []
    if sc.gateway is not None:
        routes.append((None, sc.ip(sc.gateway), "eth0"))

    pools = []
    taken_by_pools: set[int] = set()
    for name, ips, excl, pool_gw in sc.pools:
        entries = [f"{sc.ip(o)}-{sc.ip(min(o + n, size - 1))}" for o, n in ips]
        pool = PoolSpec.build(
            name,
            str(subnet),
            ips=entries,
            exclude=[str(sc.ip(o)) for o in excl],
            gateway=None if pool_gw is None else str(sc.ip(pool_gw)),
        )
        pools.append(pool)
        pool_ips = {base + o + k for o, n in ips for k in range(min(n, size - 1 - o) + 1)}
        taken_by_pools |= pool_ips - {base + o for o in excl}
        if pool_gw is not None:
            taken_by_pools.add(base + pool_gw)

    reserved: set[int] = set()
    if sc.family == 4 and sc.prefix < 31:
        reserved = {base, base + size - 1}
    elif sc.family == 6 and sc.prefix < 127:
        reserved = {base}
    node_ints = {base + o for o in sc.node}
    gw_ints = set() if sc.gateway is None else {base + sc.gateway}
    free = set(range(base, base + size)) - reserved - node_ints - gw_ints - taken_by_pools

    if len(free) < count:
        with pytest.raises(InputError) as info:
            suggest_pool("eth0", addresses, routes, count, pools)
        assert info.value.message == f"only {len(free)} addresses of {subnet} on NIC 'eth0' are free, {count} requested"
        return

    result = suggest_pool("eth0", addresses, routes, count, pools)
    chosen = expand(result.ips)
    assert len(chosen) == count
    assert result.ips.size == count
    assert chosen <= free
    assert not chosen & node_ints, "never a node address"
    assert not chosen & gw_ints, "never the gateway"
    assert not chosen & reserved, "never the network/broadcast/anycast address"
    assert not chosen & taken_by_pools, "never an address of an existing pool"
    assert result.subnet == subnet
    assert result.gateway == (None if sc.gateway is None else sc.ip(sc.gateway))
    assert {int(a) for a in result.node_addresses} == node_ints

    blocks = [b for b in runs(free) if b[1] - b[0] + 1 >= count]
    if blocks:
        top = blocks[-1][1]
        assert chosen == set(range(top - count + 1, top + 1))
    else:
        assert chosen == set(sorted(free)[:count])


# --- the guide's example --------------------------------------------------------------------------------------


def guide() -> tuple[list[HostAddress], list[HostRoute]]:
    addresses = parse_addresses((FIXTURES / "guide_ip_a.txt").read_text(), "guide_ip_a.txt")
    routes = parse_routes((FIXTURES / "guide_ip_route.txt").read_text(), "guide_ip_route.txt")
    return addresses, routes


def test_guide_example() -> None:
    addresses, routes = guide()
    result = suggest_pool("ens192", addresses, routes, 101)
    assert result.subnet == ipaddress.IPv4Network("10.7.0.0/16")
    assert result.gateway == v4("10.7.0.1")
    assert result.ips.size == 101
    assert v4("10.7.120.11") not in result.ips
    assert v4("10.7.0.1") not in result.ips
    assert result.ips.issubset(IPSet.from_network(result.subnet))
    assert result.ips.to_spiderpool() == ["10.7.255.154-10.7.255.254"]
    assert result.node_addresses == (v4("10.7.120.11"),)
    assert result.to_dict() == {
        "nic": "ens192",
        "ipVersion": 4,
        "subnet": "10.7.0.0/16",
        "gateway": "10.7.0.1",
        "count": 101,
        "ips": ["10.7.255.154-10.7.255.254"],
        "nodeAddresses": ["10.7.120.11"],
        "avoided": [
            "10.7.0.0 (network address)",
            "10.7.255.255 (broadcast address)",
            "10.7.120.11 (address of ens192)",
            "10.7.0.1 (gateway, default route via ens192)",
        ],
        "notes": [],
    }


def test_suggestion_becomes_a_clean_pool() -> None:
    addresses, routes = guide()
    pool = suggest_pool("ens192", addresses, routes, 101).to_pool("vm-ens192")
    assert pool.problems() == []
    assert pool.capacity == 101
    assert pool.to_manifest()["spec"] == {
        "ipVersion": 4,
        "subnet": "10.7.0.0/16",
        "ips": ["10.7.255.154-10.7.255.254"],
        "gateway": "10.7.0.1",
    }


# --- errors ---------------------------------------------------------------------------------------------------


def test_missing_nic_lists_nics_seen() -> None:
    addresses, routes = guide()
    with pytest.raises(InputError) as info:
        suggest_pool("eth0", addresses, routes, 1)
    assert info.value.message == "NIC 'eth0' not found; NICs seen: ens192"
    assert info.value.location.path == "nic"


def test_nic_without_usable_address_of_family() -> None:
    addresses, routes = guide()
    with pytest.raises(InputError) as info:
        suggest_pool("ens192", addresses, routes, 1, family=6)
    assert info.value.message == (
        "NIC 'ens192' has no global IPv6 address to take a subnet from "
        "(its addresses: 10.7.120.11/16, fe80::61d2:6f30:1e9:108/64); NICs seen: ens192"
    )


def test_link_local_only_nic() -> None:
    addresses = [
        HostAddress("ens224", if6("fe80::1/64")),
        HostAddress("ens225", if4("169.254.3.4/16")),
        HostAddress("ens192", if4("10.0.0.5/24")),
    ]
    for nic, has in (("ens224", "fe80::1/64"), ("ens225", "169.254.3.4/16")):
        with pytest.raises(InputError) as info:
            suggest_pool(nic, addresses, [], 1)
        assert info.value.message == (
            f"NIC {nic!r} has no global address to take a subnet from (its addresses: {has}); "
            "NICs seen: ens224, ens225, ens192"
        )


def test_not_enough_free() -> None:
    addresses = [HostAddress("eth0", if4("192.168.1.1/29"))]
    routes = [HostRoute(None, v4("192.168.1.6"), "eth0")]
    with pytest.raises(InputError) as info:
        suggest_pool("eth0", addresses, routes, 5)
    assert info.value.message == "only 4 addresses of 192.168.1.0/29 on NIC 'eth0' are free, 5 requested"
    assert info.value.location.path == "count"
    assert suggest_pool("eth0", addresses, routes, 4).ips.to_spiderpool() == ["192.168.1.2-192.168.1.5"]


@pytest.mark.parametrize("count", [0, -1, True])
def test_count_must_be_positive(count: int) -> None:
    with pytest.raises(InputError) as info:
        suggest_pool("eth0", [HostAddress("eth0", if4("10.0.0.1/24"))], [], count)
    assert info.value.message == f"must be a positive number of addresses, got {count!r}"


# --- choices --------------------------------------------------------------------------------------------------


def test_falls_back_to_lowest_addresses_across_blocks() -> None:
    # /28: usable .1-.14; node addresses split it into free blocks .1-.3, .5-.7, .9-.11 and .13-.14.
    addresses = [HostAddress("eth0", if4(f"10.1.1.{n}/28")) for n in (4, 8, 12)]
    addresses.insert(0, HostAddress("eth0", if4("10.1.1.0/28")))  # odd but legal: the network address
    result = suggest_pool("eth0", addresses, [], 5)
    assert result.ips.to_spiderpool() == ["10.1.1.1-10.1.1.3", "10.1.1.5-10.1.1.6"]
    assert suggest_pool("eth0", addresses, [], 3).ips.to_spiderpool() == ["10.1.1.9-10.1.1.11"]
    assert suggest_pool("eth0", addresses, [], 2).ips.to_spiderpool() == ["10.1.1.13-10.1.1.14"]


def test_dual_stack_prefers_ipv4_and_family_selects() -> None:
    addresses = parse_addresses((FIXTURES / "node_ip_a.txt").read_text(), "node_ip_a.txt")
    routes = parse_routes((FIXTURES / "node_ip_route.txt").read_text(), "r4") + parse_routes(
        (FIXTURES / "node_ip_6_route.txt").read_text(), "r6"
    )
    four = suggest_pool("ens192", addresses, routes, 10)
    assert four.subnet == ipaddress.IPv4Network("10.7.0.0/16")
    assert four.node_addresses == (v4("10.7.120.11"), v4("10.7.120.50"))
    six = suggest_pool("ens192", addresses, routes, 10, family=6)
    assert six.subnet == ipaddress.IPv6Network("2001:db8:7::/64")
    assert six.gateway is None
    assert six.notes == (
        "the default route via ens192 uses fe80::1, which is not inside 2001:db8:7::/64; no spec.gateway suggested",
    )
    assert six.ips.to_spiderpool() == ["2001:db8:7:0:ffff:ffff:ffff:fff6-2001:db8:7:0:ffff:ffff:ffff:ffff"]
    assert "2001:db8:7:: (subnet-router anycast address)" in six.avoided
    assert [s.family for s in suggest_pools("ens192", addresses, routes, 10)] == [4, 6]
    assert [s.family for s in suggest_pools("ens192.30", addresses, routes, 10)] == [4]


def test_gateway_from_a_route_inside_the_subnet() -> None:
    addresses = parse_addresses((FIXTURES / "node_ip_a.txt").read_text(), "node_ip_a.txt")
    routes = parse_routes((FIXTURES / "node_ip_route.txt").read_text(), "node_ip_route.txt")
    result = suggest_pool("ens192.30", addresses, routes, 3)
    assert result.gateway == v4("172.30.0.254")
    assert result.ips.to_spiderpool() == ["172.30.0.251-172.30.0.253"]
    assert "172.30.0.254 (gateway, gateway of route 172.31.0.0/24 via ens192.30)" in result.avoided


def test_no_gateway_note() -> None:
    result = suggest_pool("eth0", [HostAddress("eth0", if4("10.0.0.5/24"))], [], 1)
    assert result.gateway is None
    assert result.notes == ("no route via eth0 has a gateway inside 10.0.0.0/24; no spec.gateway suggested",)


def test_several_subnets_on_one_nic_uses_the_first() -> None:
    addresses = [
        HostAddress("eth0", if4("10.0.0.5/24")),
        HostAddress("eth0", if4("192.168.9.5/24")),
    ]
    result = suggest_pool("eth0", addresses, [HostRoute(None, v4("192.168.9.1"), "eth0")], 2)
    assert result.subnet == ipaddress.IPv4Network("10.0.0.0/24")
    assert result.gateway is None
    assert result.notes[0] == "eth0 also has addresses in 192.168.9.0/24; suggesting for 10.0.0.0/24 (its first)"


def test_existing_pools_avoided_and_overlapping_subnet_noted() -> None:
    addresses = [HostAddress("eth0", if4("10.0.0.5/24"))]
    routes = [HostRoute(None, v4("10.0.0.1"), "eth0")]
    same = PoolSpec.build("same", "10.0.0.0/24", ips=["10.0.0.200-10.0.0.254"], gateway="10.0.0.1")
    wider = PoolSpec.build("wider", "10.0.0.0/16", ips=["10.0.0.150-10.0.0.199", "10.0.9.1"])
    elsewhere = PoolSpec.build("elsewhere", "10.9.0.0/24", ips=["10.9.0.1-10.9.0.254"])
    ipv6 = PoolSpec.build("v6", "fd00::/64", ips=["fd00::1"])
    result = suggest_pool("eth0", addresses, routes, 10, [same, wider, elsewhere, ipv6])
    assert result.ips.to_spiderpool() == ["10.0.0.140-10.0.0.149"]
    assert result.avoided[-2:] == (
        "10.0.0.200-10.0.0.254 (SpiderIPPool same)",
        "10.0.0.150-10.0.0.199 (SpiderIPPool wider)",
    )
    assert result.notes == (
        "SpiderIPPool wider has subnet 10.0.0.0/16, which overlaps 10.0.0.0/24; SpiderPool rejects a new pool "
        "unless its subnet is identical",
    )


def test_reserved_and_usable_hosts() -> None:
    assert usable_hosts(ipaddress.IPv4Network("10.0.0.0/30")).to_spiderpool() == ["10.0.0.1-10.0.0.2"]
    assert usable_hosts(ipaddress.IPv4Network("10.0.0.0/31")).size == 2
    assert usable_hosts(ipaddress.IPv4Network("10.0.0.7/32")).size == 1
    assert usable_hosts(ipaddress.IPv6Network("fd00::/127")).size == 2
    assert usable_hosts(ipaddress.IPv6Network("fd00::/64")).size == 2**64 - 1
    assert [reason for _, reason in reserved_addresses(ipaddress.IPv4Network("10.0.0.0/24"))] == [
        "network address",
        "broadcast address",
    ]


# --- scale ----------------------------------------------------------------------------------------------------


def test_huge_subnets_with_many_pools() -> None:
    addresses = [HostAddress("eth0", if4("10.0.0.5/8")), HostAddress("eth0", if6("fd00::5/64"))]
    routes = [HostRoute(None, v4("10.0.0.1"), "eth0")]
    pools4 = [PoolSpec.build(f"p{k}", "10.0.0.0/8", ips=[f"10.{k}.0.0-10.{k}.255.255"]) for k in range(200, 256)]
    result4 = suggest_pool("eth0", addresses, routes, 2**20, pools4)
    # 10.200.0.0 and up (the broadcast address too) belong to pools: the top free block ends at 10.199.255.255.
    assert result4.ips.to_spiderpool() == ["10.184.0.0-10.199.255.255"]
    assert result4.ips.size == 2**20

    # big6 hands out all of fd00::/64 except 300 separate 2**32 blocks (fd00::2:0:0/96, fd00::4:0:0/96, ...):
    # no single free block holds 2**40 addresses, so the lowest 256 blocks are chosen.
    excludes = [f"fd00::{2 * k:x}:0:0-fd00::{2 * k:x}:ffff:ffff" for k in range(1, 301)]
    pool6 = PoolSpec.build("big6", "fd00::/64", ips=["fd00::-fd00::ffff:ffff:ffff:ffff"], exclude=excludes)
    assert pool6.capacity == 2**64 - 300 * 2**32
    result6 = suggest_pool("eth0", addresses, routes, 2**40, [pool6], family=6)
    assert isinstance(result6, PoolSuggestion)
    assert result6.ips.size == 2**40
    assert len(result6.ips.intervals) == 256
    assert result6.ips.to_spiderpool()[:2] == ["fd00::2:0:0-fd00::2:ffff:ffff", "fd00::4:0:0-fd00::4:ffff:ffff"]
    assert result6.ips.to_spiderpool()[-1] == "fd00::200:0:0-fd00::200:ffff:ffff"
    assert not result6.ips.overlaps(pool6.effective)
