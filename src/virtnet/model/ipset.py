"""Immutable sets of IP addresses of one family, stored as sorted, merged, disjoint integer intervals.

Nothing here ever expands a range into its addresses: every operation walks the interval lists, so its cost
depends on the number of intervals only. A ``10.0.0.0/8`` or an IPv6 ``/64`` costs the same as a ``/24``.

Text syntax understood by :meth:`IPSet.parse` (one entry at a time):

* ``10.0.0.7`` or ``fd00::7`` - a single address;
* ``10.0.0.7-10.0.0.9`` - an inclusive range (the SpiderIPPool ``spec.ips`` syntax), no spaces;
* ``10.0.0.0/24`` - a network, all of its addresses (only where ``allow_cidr`` is true).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from virtnet.errors import InputError, Location

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
IPInterface: TypeAlias = ipaddress.IPv4Interface | ipaddress.IPv6Interface
Family: TypeAlias = Literal[4, 6]

_BITS: dict[int, int] = {4: 32, 6: 128}
_EXAMPLE = "'10.0.0.1' or '10.0.0.1-10.0.0.9'"


class IPFamilyError(InputError):
    """IPv4 and IPv6 were mixed where one family is required."""


def family_of(version: int) -> Family:
    """``4`` or ``6`` as a :data:`Family`; anything else is an :class:`InputError`."""
    if version == 4:
        return 4
    if version == 6:
        return 6
    raise InputError(f"IP family must be 4 or 6, got {version!r}")


def max_int(family: Family) -> int:
    """The highest address of ``family`` as an integer."""
    return (1 << _BITS[family]) - 1


def int_to_ip(family: Family, value: int) -> IPAddress:
    """The address of ``family`` whose integer value is ``value``."""
    if family == 4:
        return ipaddress.IPv4Address(value)
    return ipaddress.IPv6Address(value)


def _fmt(family: Family, value: int) -> str:
    return str(int_to_ip(family, value))


def parse_address(text: str, family: Family | None = None, *, path: str | None = None) -> IPAddress:
    """Parse one IP address (no prefix, no zone), optionally requiring ``family``.

    Raises :class:`InputError` at ``path`` with a sentence users can act on.
    """
    location = Location(path=path) if path else None
    if not isinstance(text, str):
        raise InputError(f"expected an IP address as a string, got {text!r}", location)
    if text != text.strip() or not text:
        raise InputError(f"{text!r} is not an IP address", location)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise InputError(f"{text!r} is not an IP address", location) from None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        raise InputError(f"{text!r} has a zone index (%...); write the address without it", location)
    if family is not None and address.version != family:
        raise IPFamilyError(f"{text!r} is an IPv{address.version} address but IPv{family} is expected here", location)
    return address


def _normalize(family: Family, intervals: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sort, validate and merge overlapping or adjacent intervals."""
    top = max_int(family)
    bad_pair = "IPSet interval must be a (first, last) pair of integers, got"
    items: list[tuple[int, int]] = []
    for pair in intervals:
        try:
            first, last = pair
        except (TypeError, ValueError):
            raise InputError(f"{bad_pair} {pair!r}") from None
        if any(not isinstance(v, int) or isinstance(v, bool) for v in (first, last)):
            raise InputError(f"{bad_pair} {pair!r}")
        if not 0 <= first <= last <= top:
            raise InputError(f"IPSet interval {pair!r} is not an ordered IPv{family} range")
        items.append((first, last))
    items.sort()
    merged: list[tuple[int, int]] = []
    for first, last in items:
        if merged and first <= merged[-1][1] + 1:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return tuple(merged)


@dataclass(frozen=True)
class IPSet:
    """An immutable set of addresses of one IP family.

    ``intervals`` holds sorted, disjoint, non-adjacent inclusive ``(first, last)`` integer pairs; whatever is
    passed to the constructor is validated, sorted and merged. Equality and hashing compare the addresses, not
    how the set was built. There is deliberately no ``__iter__``/``__len__``: a set may hold 2**64 addresses.
    """

    family: Family
    intervals: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "family", family_of(self.family))
        object.__setattr__(self, "intervals", _normalize(self.family, self.intervals))

    @classmethod
    def _trusted(cls, family: Family, intervals: tuple[tuple[int, int], ...]) -> IPSet:
        """Build from intervals already sorted, disjoint and merged (internal fast path)."""
        result = object.__new__(cls)
        object.__setattr__(result, "family", family)
        object.__setattr__(result, "intervals", intervals)
        return result

    # --- construction ---------------------------------------------------------------------------------------

    @classmethod
    def empty(cls, family: Family) -> IPSet:
        """The empty set of ``family``."""
        return cls._trusted(family_of(family), ())

    @classmethod
    def from_intervals(cls, family: Family, intervals: Iterable[tuple[int, int]]) -> IPSet:
        """A set from inclusive integer intervals, in any order, possibly overlapping."""
        return cls(family, tuple(intervals))

    @classmethod
    def from_address(cls, address: IPAddress) -> IPSet:
        """The set holding just ``address``."""
        value = int(address)
        return cls._trusted(family_of(address.version), ((value, value),))

    @classmethod
    def from_range(cls, first: IPAddress, last: IPAddress) -> IPSet:
        """All addresses from ``first`` to ``last`` inclusive."""
        if first.version != last.version:
            raise IPFamilyError(f"range {first}-{last} mixes IPv4 and IPv6")
        if int(first) > int(last):
            raise InputError(f"range {first}-{last} starts after it ends")
        return cls._trusted(family_of(first.version), ((int(first), int(last)),))

    @classmethod
    def from_network(cls, network: IPNetwork) -> IPSet:
        """Every address of ``network``, network and broadcast addresses included."""
        return cls._trusted(
            family_of(network.version),
            ((int(network.network_address), int(network.broadcast_address)),),
        )

    @classmethod
    def parse(
        cls,
        text: str,
        family: Family | None = None,
        *,
        path: str | None = None,
        allow_cidr: bool = True,
    ) -> IPSet:
        """Parse one entry: an address, an ``a-b`` range, or (if ``allow_cidr``) a network.

        ``family`` (if given) is required of the entry. Errors are :class:`InputError` at ``path``.
        """
        location = Location(path=path) if path else None
        if not isinstance(text, str):
            raise InputError(f"expected a string such as {_EXAMPLE}, got {text!r}", location)
        if not text:
            raise InputError(f"is empty; expected an entry such as {_EXAMPLE}", location)
        if any(ch.isspace() for ch in text):
            raise InputError(f"{text!r} contains whitespace; write ranges as 'a-b' without spaces", location)
        if "/" in text:
            return cls._parse_cidr(text, family, location, allow_cidr)
        parts = text.split("-")
        if len(parts) > 2:
            raise InputError(f"{text!r} is not an IP address or an 'a-b' range", location)
        addresses: list[IPAddress] = []
        for part in parts:
            try:
                addresses.append(ipaddress.ip_address(part))
            except ValueError:
                if len(parts) == 1:
                    raise InputError(f"{text!r} is not an IP address or an 'a-b' range", location) from None
                raise InputError(f"{part!r} in {text!r} is not an IP address", location) from None
            if isinstance(addresses[-1], ipaddress.IPv6Address) and addresses[-1].scope_id is not None:
                raise InputError(f"{text!r} has a zone index (%...); write the address without it", location)
        first, last = addresses[0], addresses[-1]
        if first.version != last.version:
            raise IPFamilyError(f"{text!r} mixes IPv4 and IPv6", location)
        if family is not None and first.version != family:
            raise IPFamilyError(f"{text!r} is IPv{first.version} but IPv{family} is expected here", location)
        if int(first) > int(last):
            raise InputError(f"{text!r} starts after it ends", location)
        return cls._trusted(family_of(first.version), ((int(first), int(last)),))

    @classmethod
    def _parse_cidr(cls, text: str, family: Family | None, location: Location | None, allow_cidr: bool) -> IPSet:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise InputError(f"{text!r} is not an IP address, 'a-b' range or CIDR", location) from None
        if not allow_cidr:
            first, last = network.network_address, network.broadcast_address
            hint = str(first) if first == last else f"{first}-{last}"
            message = f"{text!r} is a CIDR, which this field does not take; write it as the range '{hint}'"
            raise InputError(message, location)
        if family is not None and network.version != family:
            message = f"{text!r} is IPv{network.version} but IPv{family} is expected here"
            raise IPFamilyError(message, location)
        return cls.from_network(network)

    @classmethod
    def of(cls, family: Family, items: Iterable[IPAddress | IPNetwork | str | IPSet]) -> IPSet:
        """The union of ``items``: addresses, networks, text entries (see :meth:`parse`) or other sets."""
        fam = family_of(family)
        pieces: list[tuple[int, int]] = []
        for item in items:
            if isinstance(item, str):
                piece = cls.parse(item, fam)
            elif isinstance(item, IPSet):
                piece = item
            elif isinstance(item, ipaddress.IPv4Network | ipaddress.IPv6Network):
                piece = cls.from_network(item)
            else:
                piece = cls.from_address(item)
            if piece.family != fam:
                raise IPFamilyError(f"cannot add IPv{piece.family} {piece} to an IPv{fam} set")
            pieces.extend(piece.intervals)
        return cls(fam, tuple(pieces))

    # --- set algebra ----------------------------------------------------------------------------------------

    def _check_family(self, other: IPSet, verb: str) -> None:
        if not isinstance(other, IPSet):
            raise InputError(f"cannot {verb} an IPSet and {type(other).__name__}")
        if other.family != self.family:
            raise IPFamilyError(f"cannot {verb} an IPv{self.family} set and an IPv{other.family} set")

    def union(self, other: IPSet) -> IPSet:
        """Addresses in either set."""
        self._check_family(other, "combine")
        if not other.intervals:
            return self
        if not self.intervals:
            return other
        return IPSet(self.family, self.intervals + other.intervals)

    def intersection(self, other: IPSet) -> IPSet:
        """Addresses in both sets."""
        self._check_family(other, "intersect")
        out: list[tuple[int, int]] = []
        a, b = self.intervals, other.intervals
        i = j = 0
        while i < len(a) and j < len(b):
            lo = max(a[i][0], b[j][0])
            hi = min(a[i][1], b[j][1])
            if lo <= hi:
                out.append((lo, hi))
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return IPSet._trusted(self.family, tuple(out))

    def difference(self, other: IPSet) -> IPSet:
        """Addresses in this set but not in ``other``."""
        self._check_family(other, "subtract")
        out: list[tuple[int, int]] = []
        b = other.intervals
        j = 0
        for first, last in self.intervals:
            cur = first
            while j < len(b) and b[j][1] < cur:
                j += 1
            k = j
            while k < len(b) and b[k][0] <= last:
                if b[k][0] > cur:
                    out.append((cur, b[k][0] - 1))
                cur = max(cur, b[k][1] + 1)
                if cur > last:
                    break
                k += 1
            if cur <= last:
                out.append((cur, last))
        return IPSet._trusted(self.family, tuple(out))

    def __or__(self, other: IPSet) -> IPSet:
        return self.union(other)

    def __and__(self, other: IPSet) -> IPSet:
        return self.intersection(other)

    def __sub__(self, other: IPSet) -> IPSet:
        return self.difference(other)

    def overlaps(self, other: IPSet) -> bool:
        """Whether the sets share at least one address."""
        return not self.intersection(other).is_empty

    def issubset(self, other: IPSet) -> bool:
        """Whether every address of this set is in ``other``."""
        return self.difference(other).is_empty

    def __contains__(self, address: object) -> bool:
        """Whether ``address`` (an ``ipaddress`` address) is in the set; other families are never members."""
        if not isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return False
        if address.version != self.family:
            return False
        value = int(address)
        lo, hi = 0, len(self.intervals)
        while lo < hi:
            mid = (lo + hi) // 2
            first, last = self.intervals[mid]
            if value < first:
                hi = mid
            elif value > last:
                lo = mid + 1
            else:
                return True
        return False

    # --- measuring and slicing ------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """How many addresses the set holds (may be huge, e.g. 2**64)."""
        return sum(last - first + 1 for first, last in self.intervals)

    @property
    def is_empty(self) -> bool:
        """Whether the set holds no address."""
        return not self.intervals

    def __bool__(self) -> bool:
        return bool(self.intervals)

    def _check_count(self, n: int) -> None:
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise InputError(f"number of addresses must be a non-negative integer, got {n!r}")

    def first(self, n: int) -> IPSet:
        """The ``n`` lowest addresses (the whole set if it holds fewer)."""
        self._check_count(n)
        out: list[tuple[int, int]] = []
        left = n
        for first, last in self.intervals:
            if left <= 0:
                break
            take = min(left, last - first + 1)
            out.append((first, first + take - 1))
            left -= take
        return IPSet._trusted(self.family, tuple(out))

    def last(self, n: int) -> IPSet:
        """The ``n`` highest addresses (the whole set if it holds fewer)."""
        self._check_count(n)
        out: list[tuple[int, int]] = []
        left = n
        for first, last in reversed(self.intervals):
            if left <= 0:
                break
            take = min(left, last - first + 1)
            out.append((last - take + 1, last))
            left -= take
        return IPSet._trusted(self.family, tuple(reversed(out)))

    def ranges(self) -> tuple[tuple[IPAddress, IPAddress], ...]:
        """The maximal contiguous ranges as ``(first, last)`` address pairs, lowest first."""
        return tuple((int_to_ip(self.family, a), int_to_ip(self.family, b)) for a, b in self.intervals)

    @property
    def lowest(self) -> IPAddress | None:
        """The lowest address, or None if empty."""
        return int_to_ip(self.family, self.intervals[0][0]) if self.intervals else None

    @property
    def highest(self) -> IPAddress | None:
        """The highest address, or None if empty."""
        return int_to_ip(self.family, self.intervals[-1][1]) if self.intervals else None

    # --- text -----------------------------------------------------------------------------------------------

    def to_spiderpool(self) -> list[str]:
        """SpiderIPPool ``spec.ips`` entries: ``a`` for single addresses, ``a-b`` for ranges."""
        return [
            _fmt(self.family, a) if a == b else f"{_fmt(self.family, a)}-{_fmt(self.family, b)}"
            for a, b in self.intervals
        ]

    def __str__(self) -> str:
        return ",".join(self.to_spiderpool()) if self.intervals else "(empty)"

    def __repr__(self) -> str:
        return f"IPSet(IPv{self.family}: {self})"
