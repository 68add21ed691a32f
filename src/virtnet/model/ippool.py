"""SpiderIPPool (``spiderpool.spidernet.io/v2beta1``) semantics, as enforced by the SpiderPool webhook.

What is modelled, and where it comes from (``pkg/ippoolmanager/ippool_validate.go`` and ``pkg/ip``):

* ``spec.ips`` / ``spec.excludeIPs`` entries are ``a`` or ``a-b`` of the pool's family, ordered, no spaces, no
  CIDR; each must lie inside ``spec.subnet``.
* The addresses a pool hands out are ``spec.ips`` minus ``spec.excludeIPs``.
* ``spec.gateway`` must lie in the subnet and must not be handed out (unless excluded).
* ``spec.routes[i].gw`` must lie in the subnet; ``0.0.0.0/0`` / ``::/0`` is rejected ("please specify
  'spec.gateway' to configure the default route"); two routes may not share a ``dst``.
* Two pools of one family whose subnets differ but overlap are rejected; pools with the identical subnet are
  accepted unless the addresses they hand out overlap.
* SpiderPool >= v0.9.2 rejects a subnet that is not written canonically ("unformatted subnet %s, please change
  it to %s"); v0.8.x accepts e.g. ``10.7.120.11/16``.

All address arithmetic uses :class:`~virtnet.model.ipset.IPSet` intervals; nothing is expanded.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from virtnet.errors import InputError, Location
from virtnet.model.ipset import (
    Family,
    IPAddress,
    IPFamilyError,
    IPNetwork,
    IPSet,
    family_of,
    parse_address,
)
from virtnet.model.text import listed

API_VERSION = "spiderpool.spidernet.io/v2beta1"
KIND = "SpiderIPPool"

_CIDR_RE = re.compile(r"^[0-9A-Fa-f:.]+/[0-9]+$")


class PoolRoute(NamedTuple):
    """One entry of ``spec.routes``: traffic to ``dst`` goes via ``gw``."""

    dst: IPNetwork
    gw: IPAddress


def parse_ip_entries(entries: Sequence[object], family: Family, path: str) -> IPSet:
    """Parse ``spec.ips`` / ``spec.excludeIPs`` entries (``a`` or ``a-b``) into one :class:`IPSet`.

    Errors are :class:`InputError` located at ``path[i]`` of the offending entry.
    """
    if isinstance(entries, str | bytes) or not isinstance(entries, Sequence):
        raise InputError(
            f"expected a list of entries such as '10.0.0.1-10.0.0.9', got {entries!r}", Location(path=path)
        )
    pieces: list[tuple[int, int]] = []
    for index, entry in enumerate(entries):
        entry_path = f"{path}[{index}]"
        if not isinstance(entry, str):
            raise InputError(
                f"expected a string such as '10.0.0.1' or '10.0.0.1-10.0.0.9', got {entry!r}",
                Location(path=entry_path),
            )
        pieces.extend(IPSet.parse(entry, family, path=entry_path, allow_cidr=False).intervals)
    return IPSet(family, tuple(pieces))


def canonical_subnet(text: str, path: str = "spec.subnet") -> tuple[IPNetwork, bool]:
    """Parse a CIDR subnet leniently; return it in canonical form and whether ``text`` already was canonical.

    ``'10.7.120.11/16'`` gives ``(IPv4Network('10.7.0.0/16'), False)``. The prefix must be written as a length
    (``/16``), as SpiderPool (Go's ``net.ParseCIDR``) requires.
    """
    location = Location(path=path)
    if not isinstance(text, str):
        raise InputError(f"expected a CIDR subnet such as '10.0.0.0/24' as a string, got {text!r}", location)
    if "/" not in text and text.strip():
        try:
            ipaddress.ip_address(text)
        except ValueError:
            pass
        else:
            example = f"{text}/24" if "." in text else f"{text}/64"
            raise InputError(f"{text!r} has no prefix length; write it as a CIDR such as '{example}'", location)
    if not _CIDR_RE.match(text):
        raise InputError(f"{text!r} is not a CIDR subnet such as '10.0.0.0/24' or 'fd00::/64'", location)
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InputError(f"{text!r} is not a CIDR subnet such as '10.0.0.0/24' or 'fd00::/64'", location) from None
    return network, str(network) == text


def _describe(ips: IPSet) -> str:
    """Ranges of ``ips`` for a message, at most a few of them."""
    return listed(ips.to_spiderpool(), more="more ranges")


@dataclass(frozen=True)
class PoolSpec:
    """The parts of a SpiderIPPool that decide which addresses it hands out.

    ``subnet`` is canonical; ``subnet_text`` is the subnet as written (defaults to the canonical text).
    ``ip_version`` is the declared ``spec.ipVersion`` and may disagree with the subnet (see :meth:`problems`).
    The families of ``ips``, ``exclude``, ``gateway`` and routes must match the subnet's.
    """

    name: str
    subnet: IPNetwork
    ips: IPSet
    exclude: IPSet
    gateway: IPAddress | None
    ip_version: Family
    routes: tuple[PoolRoute, ...] = ()
    subnet_text: str = field(default="")

    def __post_init__(self) -> None:
        family = self.subnet.version
        if self.ips.family != family:
            raise IPFamilyError(
                f"SpiderIPPool {self.name}: spec.ips is IPv{self.ips.family} but spec.subnet {self.subnet} "
                f"is IPv{family}",
                Location(path="spec.ips"),
            )
        if self.exclude.family != family:
            raise IPFamilyError(
                f"SpiderIPPool {self.name}: spec.excludeIPs is IPv{self.exclude.family} but spec.subnet "
                f"{self.subnet} is IPv{family}",
                Location(path="spec.excludeIPs"),
            )
        if self.gateway is not None and self.gateway.version != family:
            raise IPFamilyError(
                f"SpiderIPPool {self.name}: spec.gateway {self.gateway} is IPv{self.gateway.version} but "
                f"spec.subnet {self.subnet} is IPv{family}",
                Location(path="spec.gateway"),
            )
        object.__setattr__(self, "routes", tuple(PoolRoute(*route) for route in self.routes))
        for index, route in enumerate(self.routes):
            if route.dst.version != family or route.gw.version != family:
                raise IPFamilyError(
                    f"SpiderIPPool {self.name}: route {route.dst} via {route.gw} is not IPv{family} like "
                    f"spec.subnet {self.subnet}",
                    Location(path=f"spec.routes[{index}]"),
                )
        object.__setattr__(self, "ip_version", family_of(self.ip_version))
        if not self.subnet_text:
            object.__setattr__(self, "subnet_text", str(self.subnet))

    # --- construction ---------------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        name: str,
        subnet: str,
        ips: Sequence[str] = (),
        exclude: Sequence[str] = (),
        gateway: str | None = None,
        routes: Sequence[tuple[str, str]] = (),
        ip_version: Family | None = None,
    ) -> PoolSpec:
        """A pool from SpiderIPPool-syntax strings (a shortcut for :meth:`from_manifest`)."""
        spec: dict[str, Any] = {"subnet": subnet, "ips": list(ips), "excludeIPs": list(exclude)}
        if gateway is not None:
            spec["gateway"] = gateway
        if routes:
            spec["routes"] = [{"dst": dst, "gw": gw} for dst, gw in routes]
        if ip_version is not None:
            spec["ipVersion"] = ip_version
        return cls.from_manifest({"metadata": {"name": name}, "spec": spec})

    @classmethod
    def from_manifest(cls, obj: Mapping[str, Any]) -> PoolSpec:
        """Build a pool from a SpiderIPPool object (as loaded from YAML/JSON).

        ``metadata.name`` and ``spec.subnet`` are required. Malformed values raise :class:`InputError` naming
        the field; well-formed but rejected settings are reported by :meth:`problems` instead.
        """
        if not isinstance(obj, Mapping):
            raise InputError(f"expected a {KIND} object (a mapping), got {type(obj).__name__}")
        kind = obj.get("kind")
        if kind is not None and kind != KIND:
            raise InputError(f"expected kind {KIND}, got {kind!r}", Location(path="kind"))
        api_version = obj.get("apiVersion")
        if api_version is not None and api_version != API_VERSION:
            raise InputError(f"expected apiVersion {API_VERSION}, got {api_version!r}", Location(path="apiVersion"))
        metadata = obj.get("metadata")
        if not isinstance(metadata, Mapping):
            raise InputError(f"{KIND} needs metadata.name", Location(path="metadata"))
        name = metadata.get("name")
        if not isinstance(name, str) or not name:
            raise InputError(f"{KIND} needs a non-empty string name, got {name!r}", Location(path="metadata.name"))
        spec = obj.get("spec")
        if not isinstance(spec, Mapping):
            raise InputError(f"{KIND} {name} has no spec mapping", Location(path="spec"))
        if "subnet" not in spec or spec["subnet"] is None:
            raise InputError(f"{KIND} {name} needs spec.subnet", Location(path="spec.subnet"))
        subnet, _ = canonical_subnet(spec["subnet"], "spec.subnet")
        family = family_of(subnet.version)

        ip_version: Family = family
        if spec.get("ipVersion") is not None:
            raw = spec["ipVersion"]
            if isinstance(raw, bool) or raw not in (4, 6):
                raise InputError(f"must be 4 or 6, got {raw!r}", Location(path="spec.ipVersion"))
            ip_version = family_of(raw)

        ips = parse_ip_entries(_list(spec, "ips"), family, "spec.ips")
        exclude = parse_ip_entries(_list(spec, "excludeIPs"), family, "spec.excludeIPs")

        gateway: IPAddress | None = None
        if spec.get("gateway") is not None:
            gateway = parse_address(spec["gateway"], family, path="spec.gateway")

        routes: list[PoolRoute] = []
        for index, raw_route in enumerate(_list(spec, "routes")):
            routes.append(_parse_route(raw_route, family, f"spec.routes[{index}]"))

        return cls(
            name=name,
            subnet=subnet,
            ips=ips,
            exclude=exclude,
            gateway=gateway,
            ip_version=ip_version,
            routes=tuple(routes),
            subnet_text=spec["subnet"],
        )

    # --- queries --------------------------------------------------------------------------------------------

    @property
    def family(self) -> Family:
        """The IP family of the subnet."""
        return family_of(self.subnet.version)

    @property
    def subnet_set(self) -> IPSet:
        """Every address of the subnet."""
        return IPSet.from_network(self.subnet)

    @property
    def effective(self) -> IPSet:
        """The addresses the pool hands out: ``spec.ips`` minus ``spec.excludeIPs``."""
        return self.ips - self.exclude

    @property
    def capacity(self) -> int:
        """How many addresses the pool hands out."""
        return self.effective.size

    @property
    def is_canonical(self) -> bool:
        """Whether ``spec.subnet`` is written canonically (required by SpiderPool >= v0.9.2)."""
        return self.subnet_text == str(self.subnet)

    def free_count(self, allocated: int = 0) -> int:
        """Addresses still free when ``allocated`` of them are in use (never below zero)."""
        if not isinstance(allocated, int) or isinstance(allocated, bool) or allocated < 0:
            raise InputError(f"allocated address count must be a non-negative integer, got {allocated!r}")
        return max(0, self.capacity - allocated)

    def contains(self, address: IPAddress) -> bool:
        """Whether the pool hands out ``address``."""
        return address in self.effective

    def problems(self) -> list[tuple[str, str]]:
        """What SpiderPool would reject or warn about, as ``(field path, message)`` pairs, in field order."""
        found: list[tuple[str, str]] = []
        subnet_set = self.subnet_set
        if self.ip_version != self.subnet.version:
            found.append(
                (
                    "spec.ipVersion",
                    f"is {self.ip_version} but spec.subnet {self.subnet} is IPv{self.subnet.version}",
                )
            )
        if not self.is_canonical:
            found.append(
                (
                    "spec.subnet",
                    f"{self.subnet_text!r} is not canonical; SpiderPool >= v0.9.2 rejects it "
                    f'("unformatted subnet"), write {self.subnet}',
                )
            )
        outside = self.ips - subnet_set
        if outside:
            found.append(("spec.ips", f"{_describe(outside)} outside spec.subnet {self.subnet}"))
        outside = self.exclude - subnet_set
        if outside:
            found.append(("spec.excludeIPs", f"{_describe(outside)} outside spec.subnet {self.subnet}"))
        if self.gateway is not None:
            if self.gateway not in subnet_set:
                found.append(("spec.gateway", f"{self.gateway} is outside spec.subnet {self.subnet}"))
            elif self.gateway in self.effective:
                found.append(
                    (
                        "spec.ips",
                        f"contains spec.gateway {self.gateway}; add it to spec.excludeIPs or remove it from spec.ips",
                    )
                )
        seen: set[IPNetwork] = set()
        for index, route in enumerate(self.routes):
            if route.dst.prefixlen == 0:
                found.append(
                    (
                        f"spec.routes[{index}].dst",
                        f"{route.dst} is the default route; use spec.gateway to configure it",
                    )
                )
            elif route.dst in seen:
                found.append((f"spec.routes[{index}].dst", f"{route.dst} appears in more than one route"))
            seen.add(route.dst)
            if route.gw not in subnet_set:
                found.append((f"spec.routes[{index}].gw", f"{route.gw} is outside spec.subnet {self.subnet}"))
        return found

    # --- output ---------------------------------------------------------------------------------------------

    def to_manifest(self) -> dict[str, Any]:
        """The SpiderIPPool object, keys in a stable order, subnet in canonical form."""
        spec: dict[str, Any] = {
            "ipVersion": self.ip_version,
            "subnet": str(self.subnet),
            "ips": self.ips.to_spiderpool(),
        }
        if self.exclude:
            spec["excludeIPs"] = self.exclude.to_spiderpool()
        if self.gateway is not None:
            spec["gateway"] = str(self.gateway)
        if self.routes:
            spec["routes"] = [{"dst": str(route.dst), "gw": str(route.gw)} for route in self.routes]
        return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": self.name}, "spec": spec}


def _list(spec: Mapping[str, Any], key: str) -> list[Any]:
    value = spec.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"expected a list, got {value!r}", Location(path=f"spec.{key}"))
    return value


def _parse_route(raw: object, family: Family, path: str) -> PoolRoute:
    if not isinstance(raw, Mapping):
        raise InputError(f"expected a mapping with 'dst' and 'gw', got {raw!r}", Location(path=path))
    dst_text = raw.get("dst")
    gw_text = raw.get("gw")
    if not isinstance(dst_text, str):
        raise InputError(f"needs a destination CIDR string, got {dst_text!r}", Location(path=f"{path}.dst"))
    if not isinstance(gw_text, str):
        raise InputError(f"needs a gateway address string, got {gw_text!r}", Location(path=f"{path}.gw"))
    try:
        dst = ipaddress.ip_network(dst_text, strict=False)
    except ValueError:
        raise InputError(f"{dst_text!r} is not a CIDR such as '10.0.0.0/24'", Location(path=f"{path}.dst")) from None
    if dst.version != family:
        raise IPFamilyError(
            f"{dst_text!r} is IPv{dst.version} but the pool is IPv{family}", Location(path=f"{path}.dst")
        )
    gw = parse_address(gw_text, family, path=f"{path}.gw")
    return PoolRoute(dst, gw)


def overlap(a: PoolSpec, b: PoolSpec) -> str | None:
    """Why SpiderPool would refuse ``a`` and ``b`` side by side, or None if it would accept both.

    Pools of different families never conflict. Different but overlapping subnets conflict; identical subnets
    conflict only where the handed-out addresses (``ips`` minus ``excludeIPs``) overlap.
    """
    if a.family != b.family:
        return None
    if a.subnet != b.subnet:
        if a.subnet.overlaps(b.subnet):
            return (
                f"SpiderIPPool {a.name} (spec.subnet {a.subnet}) and {b.name} (spec.subnet {b.subnet}) have "
                "different but overlapping subnets; pools sharing addresses must use the identical subnet"
            )
        return None
    shared = a.effective & b.effective
    if shared:
        return (
            f"SpiderIPPool {a.name} and {b.name} both hand out {_describe(shared)} in subnet {a.subnet}; "
            "exclude them from one of the pools"
        )
    return None
