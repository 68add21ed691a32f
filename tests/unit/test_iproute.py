"""Parsing `ip addr` / `ip route` output, text and JSON, from the fixtures and from bad input."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from virtnet.errors import InputError
from virtnet.formats.iproute import (
    parse_addresses,
    parse_addresses_json,
    parse_addresses_text,
    parse_routes,
    parse_routes_json,
    parse_routes_text,
)
from virtnet.model.suggest import HostAddress, HostRoute

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "iproute"

if4 = ipaddress.IPv4Interface
if6 = ipaddress.IPv6Interface
n4 = ipaddress.IPv4Network
n6 = ipaddress.IPv6Network
a4 = ipaddress.IPv4Address
a6 = ipaddress.IPv6Address


def read(name: str) -> str:
    return (FIXTURES / name).read_text()


# --- addresses ------------------------------------------------------------------------------------------------


def test_guide_ip_a() -> None:
    assert parse_addresses(read("guide_ip_a.txt"), "guide_ip_a.txt") == [
        HostAddress("ens192", if4("10.7.120.11/16")),
        HostAddress("ens192", if6("fe80::61d2:6f30:1e9:108/64")),
    ]


def test_full_node_ip_a() -> None:
    assert parse_addresses(read("node_ip_a.txt"), "node_ip_a.txt") == [
        HostAddress("lo", if4("127.0.0.1/8")),
        HostAddress("lo", if6("::1/128")),
        HostAddress("ens192", if4("10.7.120.11/16")),
        HostAddress("ens192", if4("10.7.120.50/16")),  # secondary
        HostAddress("ens192", if6("2001:db8:7::11/64")),
        HostAddress("ens192", if6("fe80::61d2:6f30:1e9:108/64")),
        HostAddress("ens224", if6("fe80::250:56ff:feb4:8a10/64")),
        HostAddress("ens192.30", if4("172.30.0.5/24")),  # VLAN: '@ens192' dropped
        HostAddress("docker0", if4("172.17.0.1/16")),
        HostAddress("tun0", if4("192.168.255.1/32")),  # point-to-point: the prefix belongs to the peer
    ]


def test_docs_indented_with_prompt() -> None:
    assert parse_addresses(read("docs_indented_ip_a.txt"), "docs.txt") == [
        HostAddress("lo", if4("127.0.0.1/8")),
        HostAddress("ens192", if4("10.7.120.11/16")),
        HostAddress("ens192", if6("fe80::61d2:6f30:1e9:108/64")),
    ]


def test_brief_output() -> None:
    assert parse_addresses(read("node_ip_br_a.txt"), "br.txt") == [
        HostAddress("lo", if4("127.0.0.1/8")),
        HostAddress("lo", if6("::1/128")),
        HostAddress("ens192", if4("10.7.120.11/16")),
        HostAddress("ens192", if6("2001:db8:7::11/64")),
        HostAddress("ens192", if6("fe80::61d2:6f30:1e9:108/64")),
        HostAddress("ens192.30", if4("172.30.0.5/24")),
    ]


def test_json_addresses_match_text() -> None:
    from_json = parse_addresses(read("node_ip_j_addr.json"), "node_ip_j_addr.json")
    assert from_json == [
        HostAddress("lo", if4("127.0.0.1/8")),
        HostAddress("lo", if6("::1/128")),
        HostAddress("ens192", if4("10.7.120.11/16")),
        HostAddress("ens192", if6("2001:db8:7::11/64")),
        HostAddress("ens192", if6("fe80::61d2:6f30:1e9:108/64")),
        HostAddress("ens192.30", if4("172.30.0.5/24")),
        HostAddress("tun0", if4("192.168.255.1/32")),
    ]
    assert parse_addresses_json(read("node_ip_j_addr.json"), "x") == from_json


def test_auto_detection_picks_the_right_parser() -> None:
    text = read("guide_ip_a.txt")
    assert parse_addresses(text, "a") == parse_addresses_text(text, "a")
    as_json = json.dumps(
        [{"ifname": "ens192", "addr_info": [{"family": "inet", "local": "10.7.120.11", "prefixlen": 16}]}]
    )
    assert parse_addresses("\n  " + as_json, "a") == [HostAddress("ens192", if4("10.7.120.11/16"))]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "hello world\n",
            1,
            "'hello world' is not part of `ip addr` output; expected an interface line such as "
            "'2: ens192: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 ...'",
        ),
        (
            "2: ens192: <UP> mtu 1500\n    inet 10.0.0.1/24 scope global ens192\nstray text\n",
            3,
            "'stray text' is not part of `ip addr` output; expected an interface line such as "
            "'2: ens192: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 ...'",
        ),
        (
            "2: ens192: <UP> mtu 1500\n    link/ether 00:50:56:b4:37:2d\n    inet 10.0.0.300/24 scope global\n",
            3,
            "10.0.0.300/24 is not an address with a prefix length",
        ),
        ("ens192 UP 10.0.0.1\n", 1, "'10.0.0.1' is not an address with a prefix length"),
        (
            "ens192 UP 10.0.0.1/24\ngarbage\n",
            2,
            "'garbage' is not a line of `ip -br addr` output such as 'ens192 UP 10.7.120.11/16'",
        ),
    ],
)
def test_address_text_errors(text: str, line: int, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_addresses(text, "node.txt")
    assert info.value.message == message
    assert info.value.location.file == "node.txt"
    assert info.value.location.line == line
    assert str(info.value) == f"node.txt:{line}: {message}"


def test_empty_address_input() -> None:
    with pytest.raises(InputError) as info:
        parse_addresses("  \n", "empty.txt")
    assert str(info.value) == "empty.txt: is empty; expected the output of `ip addr` or `ip -j addr`"


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        ('{"ifname": "x"}', None, "expected a JSON list as printed by `ip -j addr`"),
        ("[1]", "[0]", "expected an interface object as printed by `ip -j addr`"),
        ('[{"addr_info": []}]', "[0].ifname", "interface has no 'ifname'; is this `ip -j addr` output?"),
        ('[{"ifname": "e", "addr_info": {}}]', "[0].addr_info", "expected a list"),
        ('[{"ifname": "e", "addr_info": [3]}]', "[0].addr_info[0]", "expected an address object"),
        (
            '[{"ifname": "e", "addr_info": [{"family": "inet", "local": "10.0.0.1"}]}]',
            "[0].addr_info[0]",
            "needs 'local' (an address) and 'prefixlen' (a number), got '10.0.0.1' and None",
        ),
        (
            '[{"ifname": "e", "addr_info": [{"family": "inet", "local": "fd00::1", "prefixlen": 200}]}]',
            "[0].addr_info[0]",
            "fd00::1/200 is not an address with a prefix length",
        ),
    ],
)
def test_address_json_errors(text: str, path: str | None, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_addresses(text, "addr.json")
    assert info.value.message == message
    assert info.value.location.file == "addr.json"
    assert info.value.location.path == path


def test_invalid_json_names_line_and_column() -> None:
    with pytest.raises(InputError) as info:
        parse_addresses('[\n  {"ifname": "e",,}\n]', "addr.json")
    assert info.value.location.line == 2
    assert info.value.location.column == 18
    assert str(info.value) == "addr.json:2:18: is not valid JSON: Expecting property name enclosed in double quotes"


# --- routes ---------------------------------------------------------------------------------------------------


NODE_ROUTES = [
    HostRoute(None, a4("10.7.0.1"), "ens192"),
    HostRoute(n4("10.7.0.0/16"), None, "ens192"),
    HostRoute(n4("10.50.0.0/16"), a4("10.7.0.2"), "ens192"),
    HostRoute(n4("10.50.0.0/16"), a4("10.7.0.3"), "ens192"),
    HostRoute(n4("172.17.0.0/16"), None, "docker0"),
]


def test_text_routes() -> None:
    assert parse_routes(read("node_ip_route.txt"), "node_ip_route.txt") == [
        *NODE_ROUTES,
        HostRoute(n4("172.30.0.0/24"), None, "ens192.30"),
        HostRoute(n4("172.31.0.0/24"), a4("172.30.0.254"), "ens192.30"),  # 'onlink' flag skipped
        HostRoute(n4("192.168.255.2/32"), None, "tun0"),  # blackhole/unreachable dropped
    ]


def test_ipv6_text_routes() -> None:
    assert parse_routes(read("node_ip_6_route.txt"), "r6") == [
        HostRoute(n6("::1/128"), None, "lo"),
        HostRoute(n6("2001:db8:7::/64"), None, "ens192"),
        HostRoute(n6("fe80::/64"), None, "ens192"),
        HostRoute(None, a6("fe80::1"), "ens192"),
    ]


def test_json_routes() -> None:
    expected = [*NODE_ROUTES, HostRoute(n4("192.168.255.2/32"), None, "tun0")]
    assert parse_routes(read("node_ip_j_route.json"), "j") == expected
    assert parse_routes_json(read("node_ip_j_route.json"), "j") == expected


def test_route_variants() -> None:
    text = (
        "$ ip route show default\n"
        "default via 10.7.0.1 dev ens192 proto static metric 100\n"
        "0.0.0.0/0 via 10.7.0.9 dev ens193\n"
        "unicast 10.9.0.0/16 via 10.7.0.5 dev ens192\n"
        "10.10.0.0/16 via inet6 fe80::1 dev ens192\n"
        "default dev ppp0 scope link\n"
    )
    assert parse_routes_text(text, "r") == [
        HostRoute(None, a4("10.7.0.1"), "ens192"),
        HostRoute(None, a4("10.7.0.9"), "ens193"),
        HostRoute(n4("10.9.0.0/16"), a4("10.7.0.5"), "ens192"),
        HostRoute(n4("10.10.0.0/16"), a6("fe80::1"), "ens192"),
        HostRoute(None, None, "ppp0"),
    ]
    assert parse_routes("", "none") == []


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "default via 10.7.0.1 dev ens192\nhello there\n",
            2,
            "'hello there' is not a line of `ip route` output such as "
            "'default via 10.7.0.1 dev ens192 proto static metric 100'",
        ),
        ("default via gateway dev ens192\n", 1, "'via gateway': 'gateway' is not an IP address"),
        ("default via 10.7.0.1 dev\n", 1, "'dev' has no value"),
        ("\tnexthop via 10.7.0.2 dev ens192 weight 1\n", 1, "'nexthop' line does not follow a multipath route"),
        ("unicast\n", 1, "route line has no destination"),
    ],
)
def test_route_text_errors(text: str, line: int, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_routes(text, "routes.txt")
    assert info.value.message == message
    assert info.value.location.line == line
    assert info.value.location.file == "routes.txt"


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        ('{"dst": "default"}', None, "expected a JSON list as printed by `ip -j route`"),
        ('["x"]', "[0]", "expected a route object"),
        ('[{"dev": "e"}]', "[0].dst", "route needs 'dst' ('default' or a CIDR), got None"),
        ('[{"dst": "nowhere", "dev": "e"}]', "[0].dst", "'nowhere' is not 'default' or a CIDR"),
        ('[{"dst": "default", "gateway": "x", "dev": "e"}]', "[0].gateway", "'x' is not an IP address"),
        (
            '[{"dst": "default", "nexthops": [{"gateway": "10.0.0.1", "dev": "e"}, {"gateway": "y", "dev": "e"}]}]',
            "[0].nexthops[1].gateway",
            "'y' is not an IP address",
        ),
    ],
)
def test_route_json_errors(text: str, path: str | None, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_routes(text, "routes.json")
    assert info.value.message == message
    assert info.value.location.path == path
    assert info.value.location.file == "routes.json"
