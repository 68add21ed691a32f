"""``virtnet pool suggest``: pick free addresses for a new SpiderIPPool on a node NIC's subnet.

Inputs are the node's addresses and routes (:mod:`virtnet.formats.iproute` parses ``ip`` output) and the
SpiderIPPools that already exist. Everything is interval arithmetic on :class:`~virtnet.model.ipset.IPSet`;
a /8 or an IPv6 /64 costs the same as a /24.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from virtnet.errors import InputError, Location
from virtnet.model.ippool import PoolSpec
from virtnet.model.ipset import Family, IPAddress, IPInterface, IPNetwork, IPSet, family_of
from virtnet.model.text import listed


class HostAddress(NamedTuple):
    """An address configured on a node NIC (``ifname`` without any ``@parent`` suffix)."""

    ifname: str
    interface: IPInterface


class HostLink(NamedTuple):
    """A node network interface, with or without addresses, and its alternative names (``altname enp11s0``)."""

    name: str
    altnames: tuple[str, ...] = ()


class HostRoute(NamedTuple):
    """A node route: ``dst`` None means the default route; ``gateway`` None means directly connected."""

    dst: IPNetwork | None
    gateway: IPAddress | None
    dev: str


@dataclass(frozen=True)
class PoolSuggestion:
    """Addresses suggested for a new pool on ``nic``'s subnet.

    ``avoided`` explains, one line each, which addresses of the subnet were left out and why; ``notes`` holds
    other things worth knowing (no gateway found, overlapping pools, other subnets on the NIC).
    """

    nic: str
    subnet: IPNetwork
    gateway: IPAddress | None
    ips: IPSet
    avoided: tuple[str, ...]
    node_addresses: tuple[IPAddress, ...]
    notes: tuple[str, ...] = ()

    @property
    def family(self) -> Family:
        """The IP family of the suggestion."""
        return family_of(self.subnet.version)

    def to_dict(self) -> dict[str, Any]:
        """A JSON/YAML-friendly form; ``ips`` in SpiderIPPool ``spec.ips`` syntax."""
        return {
            "nic": self.nic,
            "ipVersion": self.family,
            "subnet": str(self.subnet),
            "gateway": None if self.gateway is None else str(self.gateway),
            "count": self.ips.size,
            "ips": self.ips.to_spiderpool(),
            "nodeAddresses": [str(address) for address in self.node_addresses],
            "avoided": list(self.avoided),
            "notes": list(self.notes),
        }

    def to_pool(self, name: str) -> PoolSpec:
        """The suggested SpiderIPPool named ``name``."""
        return PoolSpec(
            name=name,
            subnet=self.subnet,
            ips=self.ips,
            exclude=IPSet.empty(self.family),
            gateway=self.gateway,
            ip_version=self.family,
        )


def is_usable_address(address: IPAddress) -> bool:
    """Whether a NIC address can name the NIC's subnet: not link-local, loopback, multicast or unspecified."""
    return not (address.is_link_local or address.is_loopback or address.is_multicast or address.is_unspecified)


def reserved_addresses(subnet: IPNetwork) -> list[tuple[IPSet, str]]:
    """Addresses of ``subnet`` no host may use, with the reason.

    IPv4 below /31: the network and broadcast addresses. IPv6 below /127: the Subnet-Router anycast address
    (the all-zero host part, RFC 4291 2.6.1), which routers answer to.
    """
    reserved: list[tuple[IPSet, str]] = []
    if subnet.version == 4 and subnet.prefixlen < 31:
        reserved.append((IPSet.from_address(subnet.network_address), "network address"))
        reserved.append((IPSet.from_address(subnet.broadcast_address), "broadcast address"))
    elif subnet.version == 6 and subnet.prefixlen < 127:
        reserved.append((IPSet.from_address(subnet.network_address), "subnet-router anycast address"))
    return reserved


def usable_hosts(subnet: IPNetwork) -> IPSet:
    """The addresses of ``subnet`` a host may use (see :func:`reserved_addresses`)."""
    usable = IPSet.from_network(subnet)
    for addresses, _ in reserved_addresses(subnet):
        usable -= addresses
    return usable


def _choose_gateway(
    nic: str, subnet: IPNetwork, routes: Sequence[HostRoute], notes: list[str]
) -> tuple[IPAddress | None, str]:
    """The gateway for ``subnet`` and a description of where it came from."""
    defaults = [r for r in routes if r.dst is None and r.dev == nic and r.gateway is not None]
    for route in defaults:
        if route.gateway is not None and route.gateway in subnet:
            return route.gateway, f"default route via {nic}"
    via_nic = [r for r in routes if r.dev == nic and r.gateway is not None and r.gateway in subnet]
    via_any = [r for r in routes if r.gateway is not None and r.gateway in subnet]
    for route in via_nic + via_any:
        if route.gateway is not None:
            dst = "default" if route.dst is None else str(route.dst)
            return route.gateway, f"gateway of route {dst} via {route.dev}"
    outside = [str(r.gateway) for r in defaults if r.gateway is not None and r.gateway.version == subnet.version]
    if outside:
        notes.append(
            f"the default route via {nic} uses {', '.join(outside)}, which is not inside {subnet}; "
            "no spec.gateway suggested"
        )
    else:
        notes.append(f"no route via {nic} has a gateway inside {subnet}; no spec.gateway suggested")
    return None, ""


def _pick(free: IPSet, count: int) -> IPSet:
    """``count`` addresses of ``free``: see :func:`suggest_pool` for the rule."""
    for first, last in reversed(free.intervals):
        if last - first + 1 >= count:
            return IPSet.from_intervals(free.family, [(last - count + 1, last)])
    return free.first(count)


def resolve_nic(nic: str, addresses: Sequence[HostAddress], links: Sequence[HostLink]) -> tuple[str, list[str]]:
    """The NIC's name as ``ip route`` prints it (an ``altname`` is resolved) and a note saying so; an InputError
    naming every NIC seen (those without addresses marked) if there is no such NIC."""
    with_address = {a.ifname for a in addresses}
    seen = list(dict.fromkeys([*(link.name for link in links), *(a.ifname for a in addresses)]))
    if nic in seen:
        return nic, []
    for link in links:
        if nic in link.altnames:
            return link.name, [f"{nic} is an altname of {link.name}, the name ip route uses"]
    listed = ", ".join(n if n in with_address else f"{n} (no address)" for n in seen) or "none"
    raise InputError(f"NIC {nic!r} not found; NICs seen: {listed}", Location(path="nic"))


def suggest_pool(
    nic: str,
    addresses: Iterable[tuple[str, IPInterface]],
    routes: Iterable[tuple[IPNetwork | None, IPAddress | None, str]],
    count: int,
    existing_pools: Iterable[PoolSpec] = (),
    family: Family | None = None,
    *,
    links: Iterable[tuple[str, tuple[str, ...]]] = (),
    subnet: IPNetwork | None = None,
) -> PoolSuggestion:
    """Suggest ``count`` free addresses for a new SpiderIPPool on the subnet of ``nic``.

    * NIC: its name, or one of its ``altname``s (``links``: every interface seen, also those without addresses).
    * Subnet: ``subnet`` if given (a NIC without addresses, such as a macvlan master, or one subnet of several);
      else the network of the NIC's first usable (not link-local/loopback) address of ``family``; without
      ``family``, IPv4 if the NIC has one, else IPv6. Other subnets on the NIC are mentioned in ``notes``.
    * Gateway: the default route's gateway via ``nic`` if it lies inside the subnet, else the gateway of any
      route (via ``nic`` first) that lies inside the subnet, else none.
    * Free: the subnet minus its reserved addresses (:func:`reserved_addresses`), every node address in it (on
      any NIC), the gateway, and every existing pool's handed-out addresses and gateway inside it.
    * Choice: the top ``count`` addresses of the highest-addressed contiguous free block that holds at least
      ``count`` - the low end of a subnet is where gateways, DHCP ranges and static hosts usually sit, and a
      single ``a-b`` range is easiest to read and exclude elsewhere. If no block is large enough, the lowest
      ``count`` free addresses across blocks.

    Raises :class:`InputError` if ``count`` < 1, the NIC is missing, has no usable address of the family (and no
    ``subnet`` is given), or fewer than ``count`` addresses are free.
    """
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise InputError(f"must be a positive number of addresses, got {count!r}", Location(path="count"))
    host_addresses = [HostAddress(ifname, interface) for ifname, interface in addresses]
    host_routes = [HostRoute(dst, gateway, dev) for dst, gateway, dev in routes]
    nic, notes = resolve_nic(nic, host_addresses, [HostLink(name, tuple(alts)) for name, alts in links])
    if subnet is None:
        subnet = _subnet_of(nic, host_addresses, family, notes)
    else:
        _note_subnet_off_nic(nic, subnet, host_addresses, notes)
    gateway, gateway_source = _choose_gateway(nic, subnet, host_routes, notes)

    free = _FreeAddresses(subnet)
    for reserved, reason in reserved_addresses(subnet):
        free.take(reserved, reason)
    node_addresses = _node_addresses_in(subnet, host_addresses)
    for address in node_addresses:
        owners = dict.fromkeys(a.ifname for a in host_addresses if a.interface.ip == address)
        free.take(IPSet.from_address(address), f"address of {', '.join(owners)}")
    if gateway is not None:
        free.take(IPSet.from_address(gateway), f"gateway, {gateway_source}")
    for pool in existing_pools:
        _take_pool(free, pool, notes)

    if free.addresses.size < count:
        raise InputError(
            f"only {free.addresses.size} addresses of {subnet} on NIC {nic!r} are free, {count} requested",
            Location(path="count"),
        )
    return PoolSuggestion(
        nic=nic,
        subnet=subnet,
        gateway=gateway,
        ips=_pick(free.addresses, count),
        avoided=tuple(free.avoided),
        node_addresses=tuple(node_addresses),
        notes=tuple(notes),
    )


def _subnet_of(nic: str, host_addresses: Sequence[HostAddress], family: Family | None, notes: list[str]) -> IPNetwork:
    """The network of the NIC's first usable address of ``family`` (IPv4 first without one); other subnets of the
    NIC go into ``notes``. An InputError when the NIC has no such address."""
    on_nic = [a.interface for a in host_addresses if a.ifname == nic]
    usable = [i for i in on_nic if is_usable_address(i.ip) and (family is None or i.version == family)]
    if not usable:
        if not on_nic:
            raise InputError(
                f"NIC {nic!r} exists but has no address (typical for a macvlan/ipvlan master), so its subnet is "
                "unknown: name the subnet of the pool with --subnet CIDR",
                Location(path="nic"),
            )
        fam = "" if family is None else f"IPv{family} "
        has = ", ".join(str(i) for i in on_nic)
        seen = list(dict.fromkeys(a.ifname for a in host_addresses))
        raise InputError(
            f"NIC {nic!r} has no global {fam}address to take a subnet from (its addresses: {has}); "
            f"NICs seen: {', '.join(seen)}",
            Location(path="nic"),
        )
    if family is None and any(i.version == 4 for i in usable):
        usable = [i for i in usable if i.version == 4]
    subnet = usable[0].network
    others = sorted({str(i.network) for i in usable if i.network != subnet})
    if others:
        notes.append(f"{nic} also has addresses in {', '.join(others)}; suggesting for {subnet} (its first)")
    return subnet


def _note_subnet_off_nic(nic: str, subnet: IPNetwork, host_addresses: Sequence[HostAddress], notes: list[str]) -> None:
    """A note when the subnet asked for is not one of the NIC's own."""
    on_nic = [a.interface for a in host_addresses if a.ifname == nic]
    if not any(i.ip in subnet for i in on_nic):
        has = ", ".join(str(i) for i in on_nic if is_usable_address(i.ip)) or "none"
        notes.append(f"{nic} has no address in {subnet} (its addresses: {has}); suggesting for {subnet} as asked")


def _node_addresses_in(subnet: IPNetwork, host_addresses: Sequence[HostAddress]) -> list[IPAddress]:
    """The node's addresses inside ``subnet`` (on any NIC), each once, in address order."""
    inside = {a.interface.ip for a in host_addresses if a.interface.version == subnet.version}
    return sorted((ip for ip in inside if ip in subnet), key=int)


class _FreeAddresses:
    """The subnet's addresses still free, and one line per reason why others were taken out."""

    def __init__(self, subnet: IPNetwork) -> None:
        self.subnet = subnet
        self.addresses = IPSet.from_network(subnet)
        self.avoided: list[str] = []

    def take(self, addresses: IPSet, reason: str) -> None:
        hit = self.addresses & addresses
        if hit:
            self.avoided.append(f"{listed(hit.to_spiderpool(), more='more ranges')} ({reason})")
            self.addresses -= hit


def _take_pool(free: _FreeAddresses, pool: PoolSpec, notes: list[str]) -> None:
    """Take out what an existing pool of the same family hands out and its gateway; note a pool whose subnet only
    overlaps (SpiderPool then rejects the new pool)."""
    subnet = free.subnet
    if pool.family != family_of(subnet.version):
        return
    if pool.subnet != subnet and pool.subnet.overlaps(subnet):
        notes.append(
            f"SpiderIPPool {pool.name} has subnet {pool.subnet}, which overlaps {subnet}; SpiderPool "
            "rejects a new pool unless its subnet is identical"
        )
    free.take(pool.effective & IPSet.from_network(subnet), f"SpiderIPPool {pool.name}")
    if pool.gateway is not None:
        free.take(IPSet.from_address(pool.gateway), f"spec.gateway of SpiderIPPool {pool.name}")


def suggest_pools(
    nic: str,
    addresses: Iterable[tuple[str, IPInterface]],
    routes: Iterable[tuple[IPNetwork | None, IPAddress | None, str]],
    count: int,
    existing_pools: Iterable[PoolSpec] = (),
    *,
    links: Iterable[tuple[str, tuple[str, ...]]] = (),
    family: Family | None = None,
    subnet: IPNetwork | None = None,
) -> list[PoolSuggestion]:
    """One :func:`suggest_pool` per IP family the NIC has a usable address of, IPv4 first (dual stack); only
    ``family`` when given; only ``subnet`` (its family) when given."""
    address_list = [HostAddress(ifname, interface) for ifname, interface in addresses]
    route_list = list(routes)
    pool_list = list(existing_pools)
    link_list = [HostLink(name, tuple(alts)) for name, alts in links]
    if subnet is not None:
        if family is not None and family != subnet.version:
            raise InputError(f"{subnet} is IPv{subnet.version}, not IPv{family}", Location(path="family"))
        return [suggest_pool(nic, address_list, route_list, count, pool_list, links=link_list, subnet=subnet)]
    name, _ = resolve_nic(nic, address_list, link_list)
    families = sorted(
        {
            family_of(interface.version)
            for ifname, interface in address_list
            if ifname == name and is_usable_address(interface.ip) and family in (None, interface.version)
        }
    )
    if not families:
        # Let suggest_pool raise its error naming the NIC, the family and what to do.
        return [suggest_pool(nic, address_list, route_list, count, pool_list, family, links=link_list)]
    return [suggest_pool(nic, address_list, route_list, count, pool_list, fam, links=link_list) for fam in families]
