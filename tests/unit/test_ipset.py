"""IPSet against a brute-force oracle (Python sets of ints) on small ranges, plus error paths and huge sets."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from virtnet.errors import InputError
from virtnet.model.ipset import Family, IPFamilyError, IPSet, int_to_ip

# Small universes: an IPv4 /24 and an IPv6 /120 (256 addresses each), so the oracle can expand them.
BASE: dict[Family, int] = {
    4: int(ipaddress.IPv4Address("10.0.0.0")),
    6: int(ipaddress.IPv6Address("fd00::")),
}
SPAN = 256

FAMILIES: tuple[Family, ...] = (4, 6)
families = st.sampled_from(FAMILIES)


@st.composite
def oracle_sets(draw: st.DrawFn, family: Family) -> set[int]:
    """A random set of integers within the family's small universe, built from random runs."""
    runs = draw(
        st.lists(
            st.tuples(st.integers(0, SPAN - 1), st.integers(0, 12)),
            max_size=8,
        )
    )
    result: set[int] = set()
    for start, length in runs:
        result.update(BASE[family] + x for x in range(start, min(start + length, SPAN - 1) + 1))
    return result


def to_ipset(family: Family, values: set[int]) -> IPSet:
    """Build via single-address intervals, in arbitrary (reversed) order, so normalisation is exercised."""
    return IPSet.from_intervals(family, [(v, v) for v in sorted(values, reverse=True)])


def expand(ips: IPSet) -> set[int]:
    """The oracle view of an IPSet (test-only: fine on small sets)."""
    return {v for first, last in ips.intervals for v in range(first, last + 1)}


@st.composite
def pairs(draw: st.DrawFn) -> tuple[Family, set[int], set[int]]:
    family = draw(families)
    return family, draw(oracle_sets(family)), draw(oracle_sets(family))


def assert_normalised(ips: IPSet) -> None:
    for first, last in ips.intervals:
        assert first <= last
    for (_, last), (first, _) in zip(ips.intervals, ips.intervals[1:], strict=False):
        assert last + 1 < first, "intervals must be disjoint and non-adjacent"


@given(pairs())
def test_union_matches_oracle(case: tuple[Family, set[int], set[int]]) -> None:
    family, a, b = case
    result = to_ipset(family, a) | to_ipset(family, b)
    assert expand(result) == a | b
    assert_normalised(result)
    assert result == to_ipset(family, a).union(to_ipset(family, b))


@given(pairs())
def test_intersection_matches_oracle(case: tuple[Family, set[int], set[int]]) -> None:
    family, a, b = case
    result = to_ipset(family, a) & to_ipset(family, b)
    assert expand(result) == a & b
    assert_normalised(result)


@given(pairs())
def test_difference_matches_oracle(case: tuple[Family, set[int], set[int]]) -> None:
    family, a, b = case
    result = to_ipset(family, a) - to_ipset(family, b)
    assert expand(result) == a - b
    assert_normalised(result)


@given(pairs())
def test_overlaps_and_subset_match_oracle(case: tuple[Family, set[int], set[int]]) -> None:
    family, a, b = case
    sa, sb = to_ipset(family, a), to_ipset(family, b)
    assert sa.overlaps(sb) == bool(a & b)
    assert sa.issubset(sb) == (a <= b)


@given(pairs())
def test_equality_and_hash_follow_contents(case: tuple[Family, set[int], set[int]]) -> None:
    family, a, b = case
    sa, sb = to_ipset(family, a), to_ipset(family, b)
    assert (sa == sb) == (a == b)
    if a == b:
        assert hash(sa) == hash(sb)
    # Built differently (one interval per run vs per address), still equal.
    assert IPSet.from_intervals(family, sa.intervals) == sa


@given(families.flatmap(lambda f: st.tuples(st.just(f), oracle_sets(f))))
def test_contains_size_and_emptiness_match_oracle(case: tuple[Family, set[int]]) -> None:
    family, values = case
    ips = to_ipset(family, values)
    for offset in range(-2, SPAN + 2):
        address = int_to_ip(family, BASE[family] + offset)
        assert (address in ips) == (BASE[family] + offset in values)
    assert ips.size == len(values)
    assert ips.is_empty == (not values)
    assert bool(ips) == bool(values)


@given(families.flatmap(lambda f: st.tuples(st.just(f), oracle_sets(f), st.integers(0, SPAN + 5))))
def test_first_and_last_match_oracle(case: tuple[Family, set[int], int]) -> None:
    family, values, n = case
    ips = to_ipset(family, values)
    ordered = sorted(values)
    assert expand(ips.first(n)) == set(ordered[:n])
    assert expand(ips.last(n)) == set(ordered[-n:] if n else [])
    assert ips.first(n).size == min(n, len(values))


@given(families.flatmap(lambda f: st.tuples(st.just(f), oracle_sets(f))))
def test_to_spiderpool_round_trips(case: tuple[Family, set[int]]) -> None:
    family, values = case
    ips = to_ipset(family, values)
    entries = ips.to_spiderpool()
    assert IPSet.of(family, entries) == ips
    # One entry per maximal run, singletons written without a dash.
    for entry, (first, last) in zip(entries, ips.intervals, strict=True):
        assert ("-" in entry) == (first != last)


@given(families.flatmap(lambda f: st.tuples(st.just(f), oracle_sets(f))))
def test_ranges_are_maximal_runs(case: tuple[Family, set[int]]) -> None:
    family, values = case
    ranges = to_ipset(family, values).ranges()
    covered = {v for first, last in ranges for v in range(int(first), int(last) + 1)}
    assert covered == values
    assert all(first.version == family for first, _ in ranges)


# --- construction and parsing ------------------------------------------------------------------------------


def test_constructor_sorts_and_merges_adjacent_and_overlapping() -> None:
    ips = IPSet(4, ((10, 20), (1, 3), (4, 5), (15, 30), (40, 40)))
    assert ips.intervals == ((1, 5), (10, 30), (40, 40))


def test_parse_forms() -> None:
    assert IPSet.parse("10.0.0.7").to_spiderpool() == ["10.0.0.7"]
    assert IPSet.parse("10.0.0.7-10.0.0.9").size == 3
    assert IPSet.parse("10.0.0.0/30").to_spiderpool() == ["10.0.0.0-10.0.0.3"]
    assert IPSet.parse("fd00::1-fd00::ff", 6).size == 255
    assert IPSet.parse("10.0.0.5-10.0.0.5").to_spiderpool() == ["10.0.0.5"]


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("10.0.0.9-10.0.0.1", {}, "'10.0.0.9-10.0.0.1' starts after it ends"),
        ("10.0.0.1-fd00::1", {}, "'10.0.0.1-fd00::1' mixes IPv4 and IPv6"),
        ("10.0.0.1 - 10.0.0.9", {}, "'10.0.0.1 - 10.0.0.9' contains whitespace; write ranges as 'a-b' without spaces"),
        ("banana", {}, "'banana' is not an IP address or an 'a-b' range"),
        ("10.0.0.1-banana", {}, "'banana' in '10.0.0.1-banana' is not an IP address"),
        ("10.0.0.1-10.0.0.2-10.0.0.3", {}, "'10.0.0.1-10.0.0.2-10.0.0.3' is not an IP address or an 'a-b' range"),
        ("fd00::1", {"family": 4}, "'fd00::1' is IPv6 but IPv4 is expected here"),
        ("fe80::1%eth0", {}, "'fe80::1%eth0' has a zone index (%...); write the address without it"),
        ("", {}, "is empty; expected an entry such as '10.0.0.1' or '10.0.0.1-10.0.0.9'"),
        ("10.0.0.0/33", {}, "'10.0.0.0/33' is not an IP address, 'a-b' range or CIDR"),
        (
            "10.0.0.0/24",
            {"allow_cidr": False},
            "'10.0.0.0/24' is a CIDR, which this field does not take; write it as the range '10.0.0.0-10.0.0.255'",
        ),
        ("fd00::/64", {"family": 4}, "'fd00::/64' is IPv6 but IPv4 is expected here"),
    ],
)
def test_parse_errors(text: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as info:
        IPSet.parse(text, path="spec.ips[3]", **kwargs)  # type: ignore[arg-type]
    assert info.value.message == message
    assert info.value.location.path == "spec.ips[3]"
    assert str(info.value) == f"field spec.ips[3]: {message}"


def test_parse_rejects_non_string() -> None:
    with pytest.raises(InputError, match=r"expected a string such as '10\.0\.0\.1'.*got 42"):
        IPSet.parse(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("intervals", "message"),
    [
        (((5, 4),), "IPSet interval (5, 4) is not an ordered IPv4 range"),
        (((0, 2**32),), f"IPSet interval (0, {2**32}) is not an ordered IPv4 range"),
        (((-1, 3),), "IPSet interval (-1, 3) is not an ordered IPv4 range"),
        ((("a", "b"),), "IPSet interval must be a (first, last) pair of integers, got ('a', 'b')"),
        (((True, 3),), "IPSet interval must be a (first, last) pair of integers, got (True, 3)"),
        ((7,), "IPSet interval must be a (first, last) pair of integers, got 7"),
    ],
)
def test_bad_intervals(intervals: tuple[object, ...], message: str) -> None:
    with pytest.raises(InputError) as info:
        IPSet(4, intervals)  # type: ignore[arg-type]
    assert info.value.message == message


def test_bad_family() -> None:
    with pytest.raises(InputError, match="IP family must be 4 or 6, got 5"):
        IPSet(5, ())  # type: ignore[arg-type]


def test_from_range_errors() -> None:
    a, b = ipaddress.IPv4Address("10.0.0.9"), ipaddress.IPv4Address("10.0.0.1")
    with pytest.raises(InputError, match=r"^range 10\.0\.0\.9-10\.0\.0\.1 starts after it ends$"):
        IPSet.from_range(a, b)
    with pytest.raises(IPFamilyError, match=r"^range 10\.0\.0\.9-fd00::1 mixes IPv4 and IPv6$"):
        IPSet.from_range(a, ipaddress.IPv6Address("fd00::1"))


def test_of_mixes_item_kinds_and_rejects_other_family() -> None:
    ips = IPSet.of(
        4,
        [
            ipaddress.IPv4Address("10.0.0.1"),
            ipaddress.IPv4Network("10.0.0.8/30"),
            "10.0.0.2-10.0.0.3",
            IPSet.parse("10.0.0.20"),
        ],
    )
    assert ips.to_spiderpool() == ["10.0.0.1-10.0.0.3", "10.0.0.8-10.0.0.11", "10.0.0.20"]
    with pytest.raises(IPFamilyError, match=r"cannot add IPv6 fd00::1 to an IPv4 set"):
        IPSet.of(4, [ipaddress.IPv6Address("fd00::1")])


@pytest.mark.parametrize(
    ("operation", "verb"),
    [
        (lambda a, b: a | b, "combine"),
        (lambda a, b: a & b, "intersect"),
        (lambda a, b: a - b, "subtract"),
        (lambda a, b: a.overlaps(b), "intersect"),
    ],
)
def test_mixing_families_is_an_error(operation: object, verb: str) -> None:
    v4, v6 = IPSet.parse("10.0.0.1"), IPSet.parse("fd00::1")
    with pytest.raises(IPFamilyError) as info:
        operation(v4, v6)  # type: ignore[operator]
    assert info.value.message == f"cannot {verb} an IPv4 set and an IPv6 set"


def test_contains_other_family_or_non_address_is_false() -> None:
    v4 = IPSet.parse("0.0.0.0-0.0.0.255")
    assert ipaddress.IPv6Address("::1") not in v4  # same integer, other family
    assert "0.0.0.1" not in v4
    assert ipaddress.IPv4Address("0.0.0.1") in v4


def test_first_rejects_negative() -> None:
    with pytest.raises(InputError, match="number of addresses must be a non-negative integer, got -1"):
        IPSet.parse("10.0.0.1").first(-1)


def test_lowest_highest_str_repr() -> None:
    ips = IPSet.of(4, ["10.0.0.9", "10.0.0.1-10.0.0.3"])
    assert ips.lowest == ipaddress.IPv4Address("10.0.0.1")
    assert ips.highest == ipaddress.IPv4Address("10.0.0.9")
    assert str(ips) == "10.0.0.1-10.0.0.3,10.0.0.9"
    assert repr(ips) == "IPSet(IPv4: 10.0.0.1-10.0.0.3,10.0.0.9)"
    assert IPSet.empty(6).lowest is None
    assert str(IPSet.empty(6)) == "(empty)"


# --- huge sets: these would hang if anything expanded a range -----------------------------------------------


def test_ipv4_slash8_with_hundreds_of_holes() -> None:
    net = IPSet.from_network(ipaddress.IPv4Network("10.0.0.0/8"))
    holes = IPSet.from_intervals(
        4, [(int(net.intervals[0][0]) + 1000 * k, int(net.intervals[0][0]) + 1000 * k + 9) for k in range(400)]
    )
    free = net - holes
    assert free.size == 2**24 - 400 * 10
    assert len(free.intervals) == 400  # the first hole starts at the network address
    assert (free & holes).is_empty
    assert free | holes == net
    assert free.first(3).to_spiderpool() == ["10.0.0.10-10.0.0.12"]
    assert free.last(2).to_spiderpool() == ["10.255.255.254-10.255.255.255"]


def test_ipv6_slash64_with_hundreds_of_holes() -> None:
    net = IPSet.from_network(ipaddress.IPv6Network("fd00::/64"))
    base = net.intervals[0][0]
    holes = IPSet.from_intervals(6, [(base + (k << 40), base + (k << 40) + 2**20 - 1) for k in range(1, 301)])
    free = net - holes
    assert free.size == 2**64 - 300 * 2**20
    assert free.first(2**63).size == 2**63
    assert ipaddress.IPv6Address("fd00::ffff:ffff:ffff:ffff") in free
    assert ipaddress.IPv6Address(base + (7 << 40) + 5) not in free
    assert free.issubset(net)
    assert not free.overlaps(holes)
