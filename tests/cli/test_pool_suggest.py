"""`virtnet pool suggest` from real `ip` output, run as a user would (issue 9)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.cli.test_cli import GUIDE_IP_A, assert_one_line_error

Run = Callable[..., subprocess.CompletedProcess[str]]

# A node as `ip a` prints it: ens192 carries the node's addresses (dual stack), ens224 is a macvlan master without
# any address, enp11s0 is the altname of ens256, which has two IPv4 subnets.
NODE_IP_A = """\
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
2: ens192: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP group default qlen 1000
    link/ether 00:50:56:b4:37:2d brd ff:ff:ff:ff:ff:ff
    inet 10.7.120.11/16 brd 10.7.255.255 scope global noprefixroute ens192
       valid_lft forever preferred_lft forever
    inet6 fd00:7::11/64 scope global noprefixroute
       valid_lft forever preferred_lft forever
    inet6 fe80::61d2:6f30:1e9:108/64 scope link noprefixroute
       valid_lft forever preferred_lft forever
3: ens224: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP group default qlen 1000
    link/ether 00:50:56:b4:37:2e brd ff:ff:ff:ff:ff:ff
4: ens256: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP group default qlen 1000
    link/ether 00:50:56:b4:37:2f brd ff:ff:ff:ff:ff:ff
    altname enp11s0
    inet 10.20.0.5/24 brd 10.20.0.255 scope global ens256
       valid_lft forever preferred_lft forever
    inet 10.21.0.5/24 brd 10.21.0.255 scope global ens256
       valid_lft forever preferred_lft forever
"""
ROUTE_V4 = "default via 10.7.0.1 dev ens192 proto static metric 100\n10.21.0.0/24 via 10.21.0.1 dev ens256\n"
ROUTE_V6 = "default via fd00:7::1 dev ens192 proto static metric 100\n"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def suggest(virtnet: Run, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return virtnet("pool", "suggest", "--ip-addr", write(tmp_path, "addr.txt", NODE_IP_A), *args)


def pools(stdout: str) -> list[dict[str, Any]]:
    return [o for o in yaml.safe_load_all(stdout) if o]


# --- Bug 4: a NIC without addresses exists ----------------------------------------------------------------------------


def test_a_nic_without_addresses_is_seen_and_the_way_on_is_named(virtnet: Run, tmp_path: Path) -> None:
    result = suggest(virtnet, tmp_path, "--nic", "ens224")
    assert_one_line_error(result, "--nic", "ens224", "no address", "--subnet")
    assert "not found" not in result.stderr
    with_subnet = suggest(
        virtnet, tmp_path, "--nic", "ens224", "--subnet", "10.50.0.0/24", "--count", "10", "-o", "json"
    )
    assert with_subnet.returncode == 0, with_subnet.stderr
    (pool,) = json.loads(with_subnet.stdout)["items"]
    assert pool["spec"]["subnet"] == "10.50.0.0/24"
    assert pool["spec"]["ips"] == ["10.50.0.245-10.50.0.254"]


def test_nics_seen_lists_nics_without_addresses(virtnet: Run, tmp_path: Path) -> None:
    result = suggest(virtnet, tmp_path, "--nic", "eth9")
    assert_one_line_error(result, "eth9", "ens224")


# --- Bug 5: several --ip-route / --ip-addr are merged ----------------------------------------------------------------


def test_several_route_and_addr_files_are_merged(virtnet: Run, tmp_path: Path) -> None:
    v4 = write(tmp_path, "route4.txt", ROUTE_V4)
    v6 = write(tmp_path, "route6.txt", ROUTE_V6)
    result = suggest(virtnet, tmp_path, "--nic", "ens192", "--ip-route", v4, "--ip-route", v6, "-o", "yaml")
    assert result.returncode == 0, result.stderr
    gateways = {p["spec"]["ipVersion"]: p["spec"].get("gateway") for p in pools(result.stdout)}
    assert gateways == {4: "10.7.0.1", 6: "fd00:7::1"}
    extra = write(
        tmp_path, "addr2.txt", "5: ens300: <BROADCAST,UP> mtu 1500\n    inet 10.99.0.2/24 scope global ens300\n"
    )
    merged = virtnet(
        "pool", "suggest", "--nic", "ens300", "--ip-addr", write(tmp_path, "addr.txt", NODE_IP_A), "--ip-addr", extra
    )
    assert merged.returncode == 0, merged.stderr
    assert "10.99.0.0/24" in merged.stdout


# --- Bug 6: --family, and names without a doubled suffix -----------------------------------------------------------


def test_name_on_a_dual_stack_nic_is_not_doubled(virtnet: Run, tmp_path: Path) -> None:
    result = suggest(virtnet, tmp_path, "--nic", "ens192", "--name", "10-7-v4", "-o", "yaml")
    assert result.returncode == 0, result.stderr
    assert [p["metadata"]["name"] for p in pools(result.stdout)] == ["10-7-v4", "10-7-v6"]
    only6 = suggest(virtnet, tmp_path, "--nic", "ens192", "--family", "6", "--name", "fd00-7", "-o", "yaml")
    assert only6.returncode == 0, only6.stderr
    (pool,) = pools(only6.stdout)
    assert (pool["metadata"]["name"], pool["spec"]["ipVersion"]) == ("fd00-7", 6)


# --- Bug 9: one reader of manifests -------------------------------------------------------------------------------


def test_existing_pools_in_any_list_kind_are_avoided(virtnet: Run, tmp_path: Path) -> None:
    existing = write(
        tmp_path,
        "pools.yaml",
        "apiVersion: spiderpool.spidernet.io/v2beta1\nkind: SpiderIPPoolList\nitems:\n"
        "- apiVersion: spiderpool.spidernet.io/v2beta1\n  kind: SpiderIPPool\n  metadata: {name: taken}\n"
        "  spec: {subnet: 10.7.0.0/16, ips: [10.7.255.0-10.7.255.254]}\n",
    )
    result = virtnet(
        "pool", "suggest", "--nic", "ens192", "--ip-addr", write(tmp_path, "a.txt", GUIDE_IP_A), "--count", "5",
        "--existing", existing,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "SpiderIPPool taken" in result.stdout
    assert "10.7.255.250" not in result.stdout


# --- Rough edge 11: --subnet, --existing DIR, altnames -------------------------------------------------------------


def test_subnet_chooses_among_the_nics_subnets(virtnet: Run, tmp_path: Path) -> None:
    first = suggest(virtnet, tmp_path, "--nic", "ens256", "--count", "3", "-o", "json")
    assert json.loads(first.stdout)["items"][0]["spec"]["subnet"] == "10.20.0.0/24"
    second = suggest(
        virtnet, tmp_path, "--nic", "ens256", "--subnet", "10.21.0.0/24", "--count", "3", "-o", "json",
        "--ip-route", write(tmp_path, "r.txt", ROUTE_V4),
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    (pool,) = json.loads(second.stdout)["items"]
    assert pool["spec"]["subnet"] == "10.21.0.0/24"
    assert pool["spec"]["gateway"] == "10.21.0.1"


def test_existing_takes_a_directory(virtnet: Run, tmp_path: Path) -> None:
    folder = tmp_path / "pools"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "p.yaml").write_text(
        "apiVersion: spiderpool.spidernet.io/v2beta1\nkind: SpiderIPPool\nmetadata: {name: in-dir}\n"
        "spec: {subnet: 10.7.0.0/16, ips: [10.7.255.200-10.7.255.254]}\n"
    )
    result = virtnet(
        "pool", "suggest", "--nic", "ens192", "--ip-addr", write(tmp_path, "a.txt", GUIDE_IP_A), "--count", "5",
        "--existing", str(folder),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "SpiderIPPool in-dir" in result.stdout


def test_an_altname_finds_its_nic(virtnet: Run, tmp_path: Path) -> None:
    result = suggest(virtnet, tmp_path, "--nic", "enp11s0", "--count", "3")
    assert result.returncode == 0, result.stderr
    assert "NIC ens256" in result.stdout
    assert "10.20.0.0/24" in result.stdout
    assert "altname" in result.stdout


# --- Rough edge 12: plurals ---------------------------------------------------------------------------------------


def test_one_address_is_singular(virtnet: Run, tmp_path: Path) -> None:
    result = suggest(virtnet, tmp_path, "--nic", "ens192", "--family", "4", "--count", "1")
    assert result.returncode == 0, result.stderr
    assert "(1 address)" in result.stdout
