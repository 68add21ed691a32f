"""Parsers for a node's network state as printed by iproute2: ``ip addr`` and ``ip route``, text or JSON.

* :func:`parse_addresses` reads ``ip addr`` / ``ip a`` (also indented as pasted from docs, with a leading
  ``# ip a`` prompt line), ``ip -br addr``, or ``ip -j addr``.
* :func:`parse_routes` reads ``ip route`` / ``ip -6 route`` / ``ip route show default`` (multipath ``nexthop``
  lines included) or ``ip -j route``.

JSON vs text is detected from the first non-blank character. Interface names lose their ``@parent`` suffix
(``ens192.30@ens192`` is ``ens192.30``, the name routes use). Routes that carry no next hop (``blackhole``,
``unreachable``, ``local``, ``broadcast`` ...) are skipped. Anything unrecognisable is an :class:`InputError`
naming the source and the line.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from virtnet.errors import InputError, Location
from virtnet.model.ipset import IPAddress, IPInterface, IPNetwork
from virtnet.model.suggest import HostAddress, HostLink, HostRoute

_PROMPT_RE = re.compile(r"^\s*(?:.*[$#]\s*)?ip(?:\s|$)")
_HEADER_RE = re.compile(r"^(?P<indent>\s*)\d+:\s+(?P<name>[^\s:@]+)(?:@[^\s:]*)?:\s*(?:<[^>]*>.*)?$")
_ALTNAME_RE = re.compile(r"^\s*altname\s+(?P<name>\S+)\s*$")
_INET_RE = re.compile(r"^\s*(?P<kind>inet6?)\s+(?P<local>\S+)(?:\s+peer\s+(?P<peer>\S+))?(?:\s|$)")
_BRIEF_RE = re.compile(
    r"^\s*(?P<name>[^\s@]+)(?:@\S+)?\s+"
    r"(?P<state>UP|DOWN|UNKNOWN|LOWERLAYERDOWN|DORMANT|NOTPRESENT|TESTING)(?:\s+(?P<addrs>.*))?$"
)
_NON_UNICAST = frozenset(
    {"local", "broadcast", "multicast", "anycast", "blackhole", "unreachable", "prohibit", "throw", "nat"}
)
# Keywords of `ip route` output followed by one value, skipped so that a value is never read as a keyword.
_ROUTE_KEYWORDS_WITH_VALUE = frozenset(
    {
        "proto",
        "scope",
        "src",
        "metric",
        "table",
        "pref",
        "expires",
        "mtu",
        "advmss",
        "weight",
        "realm",
        "from",
        "nhid",
    }
)


def _error(source_name: str, line: int | None, message: str) -> InputError:
    return InputError(message, Location(file=source_name, line=line))


def _is_json(text: str) -> bool:
    stripped = text.lstrip()
    return stripped[:1] in ("[", "{")


def _without_prompt(text: str) -> str:
    """``text`` with a leading ``$ ip ...`` / ``[root@x ~]# ip ...`` command line blanked (numbering kept)."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        if _PROMPT_RE.match(line):
            lines[index] = ""
        break
    return "\n".join(lines)


def _interface(local: str, prefix: int | str, source_name: str, line: int | None) -> IPInterface:
    try:
        interface = ipaddress.ip_interface(f"{local}/{prefix}")
    except ValueError:
        raise _error(source_name, line, f"{local}/{prefix} is not an address with a prefix length") from None
    if isinstance(interface, ipaddress.IPv6Interface) and interface.ip.scope_id is not None:
        # ip prints no zone index; strip it if it was pasted with one.
        interface = ipaddress.IPv6Interface(f"{str(interface.ip).split('%')[0]}/{interface.network.prefixlen}")
    return interface


# --- addresses ----------------------------------------------------------------------------------------------


def parse_addresses(text: str, source_name: str) -> list[HostAddress]:
    """Addresses from ``ip addr``, ``ip -br addr`` or ``ip -j addr`` output, in the order printed."""
    text = _without_prompt(text)
    if not text.strip():
        raise _error(source_name, None, "is empty; expected the output of `ip addr` or `ip -j addr`")
    if _is_json(text):
        return parse_addresses_json(text, source_name)
    return parse_addresses_text(text, source_name)


def parse_addresses_json(text: str, source_name: str) -> list[HostAddress]:
    """Addresses from ``ip -j addr`` (a list of ``{ifname, addr_info: [{family, local, prefixlen}]}``)."""
    data = _load_json(_without_prompt(text), source_name)
    if not isinstance(data, list):
        raise _error(source_name, None, "expected a JSON list as printed by `ip -j addr`")
    result: list[HostAddress] = []
    for index, link in enumerate(data):
        where = f"[{index}]"
        if not isinstance(link, dict):
            raise InputError(
                "expected an interface object as printed by `ip -j addr`",
                Location(file=source_name, path=where),
            )
        if not link:
            continue  # some iproute2 versions print empty objects
        ifname = link.get("ifname")
        if not isinstance(ifname, str) or not ifname:
            raise InputError(
                "interface has no 'ifname'; is this `ip -j addr` output?",
                Location(file=source_name, path=f"{where}.ifname"),
            )
        infos = link.get("addr_info", [])
        if not isinstance(infos, list):
            raise InputError("expected a list", Location(file=source_name, path=f"{where}.addr_info"))
        for number, info in enumerate(infos):
            info_path = f"{where}.addr_info[{number}]"
            if not isinstance(info, dict):
                raise InputError("expected an address object", Location(file=source_name, path=info_path))
            if info.get("family") not in ("inet", "inet6"):
                continue
            local, prefixlen = info.get("local"), info.get("prefixlen")
            if not isinstance(local, str) or not isinstance(prefixlen, int) or isinstance(prefixlen, bool):
                raise InputError(
                    f"needs 'local' (an address) and 'prefixlen' (a number), got {local!r} and {prefixlen!r}",
                    Location(file=source_name, path=info_path),
                )
            peer = info.get("address")
            if isinstance(peer, str) and peer != local:
                prefixlen = 32 if info["family"] == "inet" else 128  # point-to-point: prefix belongs to the peer
            try:
                interface = ipaddress.ip_interface(f"{local}/{prefixlen}")
            except ValueError:
                raise InputError(
                    f"{local}/{prefixlen} is not an address with a prefix length",
                    Location(file=source_name, path=info_path),
                ) from None
            result.append(HostAddress(ifname.split("@")[0], interface))
    return result


def parse_addresses_text(text: str, source_name: str) -> list[HostAddress]:
    """Addresses from ``ip addr`` text (any uniform extra indentation) or ``ip -br addr``."""
    lines = _without_prompt(text).split("\n")
    first = next((line for line in lines if line.strip()), "")
    if not _HEADER_RE.match(first) and _BRIEF_RE.match(first):
        return _parse_brief(lines, source_name)
    result: list[HostAddress] = []
    current: str | None = None
    header_indent = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        header = _HEADER_RE.match(line)
        if header:
            current = header["name"]
            header_indent = len(header["indent"].expandtabs())
            continue
        indent = len(line) - len(line.lstrip())
        if current is None or len(line[:indent].expandtabs()) <= header_indent:
            raise _error(
                source_name,
                number,
                f"{line.strip()!r} is not part of `ip addr` output; expected an interface line such as "
                "'2: ens192: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 ...'",
            )
        inet = _INET_RE.match(line)
        if inet is None:
            continue  # link/ether, valid_lft, altname, ... lines
        local = inet["local"]
        if "/" in local:
            address, _, prefix = local.partition("/")
        else:
            address, prefix = local, "32" if inet["kind"] == "inet" else "128"
        result.append(HostAddress(current, _interface(address, prefix, source_name, number)))
    return result


def _parse_brief(lines: list[str], source_name: str) -> list[HostAddress]:
    result: list[HostAddress] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        match = _BRIEF_RE.match(line)
        if match is None:
            raise _error(
                source_name,
                number,
                f"{line.strip()!r} is not a line of `ip -br addr` output such as 'ens192 UP 10.7.120.11/16'",
            )
        for token in (match["addrs"] or "").split():
            address, slash, prefix = token.partition("/")
            if not slash:
                raise _error(source_name, number, f"{token!r} is not an address with a prefix length")
            result.append(HostAddress(match["name"], _interface(address, prefix, source_name, number)))
    return result


# --- links --------------------------------------------------------------------------------------------------


def parse_links(text: str, source_name: str) -> list[HostLink]:
    """Every interface in ``ip addr`` / ``ip -br addr`` / ``ip -j addr`` output, those without an address too (a
    macvlan master usually has none), with its ``altname``s; in the order printed. Call after
    :func:`parse_addresses`, which reports malformed input."""
    text = _without_prompt(text)
    if not text.strip():
        return []
    links: dict[str, list[str]] = {}
    if _is_json(text):
        data = _load_json(text, source_name)
        for link in data if isinstance(data, list) else []:
            if isinstance(link, dict) and isinstance(link.get("ifname"), str) and link["ifname"]:
                altnames = link.get("altnames")
                names = [a for a in altnames if isinstance(a, str)] if isinstance(altnames, list) else []
                links.setdefault(link["ifname"].split("@")[0], []).extend(names)
        return [HostLink(name, tuple(alts)) for name, alts in links.items()]
    lines = text.split("\n")
    first = next((line for line in lines if line.strip()), "")
    brief = not _HEADER_RE.match(first) and _BRIEF_RE.match(first)
    current: str | None = None
    for line in lines:
        if brief:
            match = _BRIEF_RE.match(line)
            if match:
                links.setdefault(match["name"], [])
            continue
        header = _HEADER_RE.match(line)
        if header:
            current = header["name"]
            links.setdefault(current, [])
            continue
        altname = _ALTNAME_RE.match(line)
        if altname and current is not None:
            links[current].append(altname["name"])
    return [HostLink(name, tuple(alts)) for name, alts in links.items()]


# --- routes -------------------------------------------------------------------------------------------------


def parse_routes(text: str, source_name: str) -> list[HostRoute]:
    """Routes from ``ip route`` text or ``ip -j route``; empty input means no routes."""
    text = _without_prompt(text)
    if not text.strip():
        return []
    if _is_json(text):
        return parse_routes_json(text, source_name)
    return parse_routes_text(text, source_name)


def _route_dst(token: str) -> IPNetwork | None:
    """None for the default route; raises ValueError if ``token`` is not a destination."""
    if token == "default":
        return None
    network = ipaddress.ip_network(token, strict=False)
    return None if network.prefixlen == 0 else network


def _address(token: str) -> IPAddress:
    address = ipaddress.ip_address(token)
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        address = ipaddress.IPv6Address(token.split("%")[0])
    return address


def parse_routes_json(text: str, source_name: str) -> list[HostRoute]:
    """Routes from ``ip -j route`` (a list of ``{dst, gateway?, dev?, type?, nexthops?}``)."""
    data = _load_json(_without_prompt(text), source_name)
    if not isinstance(data, list):
        raise _error(source_name, None, "expected a JSON list as printed by `ip -j route`")
    result: list[HostRoute] = []
    for index, entry in enumerate(data):
        where = f"[{index}]"
        if not isinstance(entry, dict):
            raise InputError("expected a route object", Location(file=source_name, path=where))
        if entry.get("type", "unicast") != "unicast":
            continue
        raw_dst = entry.get("dst")
        if not isinstance(raw_dst, str):
            raise InputError(
                f"route needs 'dst' ('default' or a CIDR), got {raw_dst!r}",
                Location(file=source_name, path=f"{where}.dst"),
            )
        try:
            dst = _route_dst(raw_dst)
        except ValueError:
            raise InputError(
                f"{raw_dst!r} is not 'default' or a CIDR", Location(file=source_name, path=f"{where}.dst")
            ) from None
        hops: list[tuple[Any, Any, str]] = []
        nexthops = entry.get("nexthops")
        if isinstance(nexthops, list):
            hops.extend(
                (hop.get("gateway"), hop.get("dev"), f"{where}.nexthops[{n}]")
                for n, hop in enumerate(nexthops)
                if isinstance(hop, dict)
            )
        else:
            hops.append((entry.get("gateway"), entry.get("dev"), where))
        for raw_gateway, dev, hop_path in hops:
            if not isinstance(dev, str):
                continue  # no device: nothing to attach a pool to
            gateway: IPAddress | None = None
            if raw_gateway is not None:
                try:
                    gateway = _address(str(raw_gateway))
                except ValueError:
                    raise InputError(
                        f"{raw_gateway!r} is not an IP address",
                        Location(file=source_name, path=f"{hop_path}.gateway"),
                    ) from None
            result.append(HostRoute(dst, gateway, dev))
    return result


def parse_routes_text(text: str, source_name: str) -> list[HostRoute]:
    """Routes from ``ip route`` / ``ip -6 route`` text, multipath ``nexthop`` lines included."""
    result: list[HostRoute] = []
    multipath_dst: IPNetwork | None = None
    in_multipath = False
    for number, line in enumerate(_without_prompt(text).split("\n"), start=1):
        tokens = line.split()
        if not tokens:
            continue
        if tokens[0] == "nexthop":
            if not in_multipath:
                raise _error(source_name, number, "'nexthop' line does not follow a multipath route")
            gateway, dev = _via_dev(tokens[1:], source_name, number)
            if dev is not None:
                result.append(HostRoute(multipath_dst, gateway, dev))
            continue
        in_multipath = False
        if tokens[0] in _NON_UNICAST:
            continue
        if tokens[0] == "unicast":
            tokens = tokens[1:]
        if tokens and tokens[0] == "cache":
            continue
        if not tokens:
            raise _error(source_name, number, "route line has no destination")
        try:
            dst = _route_dst(tokens[0])
        except ValueError:
            raise _error(
                source_name,
                number,
                f"{line.strip()!r} is not a line of `ip route` output such as "
                "'default via 10.7.0.1 dev ens192 proto static metric 100'",
            ) from None
        gateway, dev = _via_dev(tokens[1:], source_name, number)
        if dev is None and gateway is None:
            in_multipath, multipath_dst = True, dst  # "default proto static ..." followed by nexthop lines
            continue
        if dev is not None:
            result.append(HostRoute(dst, gateway, dev))
    return result


def _via_dev(tokens: list[str], source_name: str, line: int) -> tuple[IPAddress | None, str | None]:
    """The ``via`` gateway and ``dev`` name among a route line's ``key value`` tokens."""
    gateway: IPAddress | None = None
    dev: str | None = None
    index = 0
    while index < len(tokens):
        key = tokens[index]
        if key in ("via", "dev"):
            value_at = index + 1
            if key == "via" and value_at < len(tokens) and tokens[value_at] in ("inet", "inet6"):
                value_at += 1  # "via inet6 fe80::1": a next hop of another family
            if value_at >= len(tokens):
                raise _error(source_name, line, f"'{key}' has no value")
            value = tokens[value_at]
            if key == "dev":
                dev = value
            else:
                try:
                    gateway = _address(value)
                except ValueError:
                    raise _error(source_name, line, f"'via {value}': {value!r} is not an IP address") from None
            index = value_at + 1
        elif key in _ROUTE_KEYWORDS_WITH_VALUE:
            index += 2
        else:
            index += 1  # a flag such as linkdown, onlink, dead, offload
    return gateway, dev


def _load_json(text: str, source_name: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(
            f"is not valid JSON: {err.msg}", Location(file=source_name, line=err.lineno, column=err.colno)
        ) from None
