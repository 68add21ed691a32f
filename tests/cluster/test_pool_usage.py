"""`virtnet pool usage` through the console script against a real API server with the upstream CRDs.

The pool, SMC and VMs come from `virtnet new vm` bundles; tests/cluster/controllers.py plays SpiderPool and KubeVirt
(pool ``status.allocatedIPs`` through the /status subresource, SpiderEndpoints, VMIs, virt-launcher pods).
"""

from __future__ import annotations

import os
import pty
import subprocess
from typing import Any

import pytest

from .cli import BIN, Runner, parse_json, virtnet_on
from .controllers import (
    Nic,
    apply_bundle,
    delete,
    ensure_namespace,
    generate_nads,
    record_allocation,
    render_bundle,
    start_vm,
    stop_vm,
)
from .envtest import REPO_ROOT, ControlPlane, create

pytestmark = pytest.mark.cluster

PASST_NIC = "master=ens192,subnet=10.7.0.0/16,gateway=10.7.0.1,ips=10.7.120.100-10.7.120.200,pool=10-7-v4"


def eth0(ip: str) -> Nic:
    return Nic("default", "eth0", ip, "10-7-v4", 16, "10.7.0.1", nad="kube-system/macvlan-ens192")


def pool(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "spiderpool.spidernet.io/v2beta1", "kind": "SpiderIPPool", "metadata": {"name": name},
            "spec": spec}  # fmt: skip


@pytest.fixture(scope="module")
def world(own_cluster: ControlPlane) -> ControlPlane:
    """Pool 10-7-v4 (10.7.120.100-200) held by: a running VM, a stopped VM, a deleted VM's leftover, a VM keyed by
    its launcher pod (enableKubevirtStaticIP off), a plain pod; 10.7.120.150-151 reserved by a SpiderReservedIP."""
    client = own_cluster.client
    stored: dict[str, Any] = {}
    for ns, name in (("pu-a", "web"), ("pu-a", "db"), ("pu-b", "gone"), ("pu-a", "legacy")):
        ensure_namespace(client, ns)
        stored.update(apply_bundle(client, render_bundle(name, "-n", ns, "--mode", "passt", "--nic", PASST_NIC)))
    generate_nads(client, stored)
    start_vm(client, stored["VirtualMachine/web"], [eth0("10.7.120.100")])
    start_vm(client, stored["VirtualMachine/db"], [eth0("10.7.120.101")])
    stop_vm(client, stored["VirtualMachine/db"])
    start_vm(client, stored["VirtualMachine/gone"], [eth0("10.7.120.102")])
    stop_vm(client, stored["VirtualMachine/gone"])
    delete(client, stored["VirtualMachine/gone"])  # SpiderPool's GC has not run: record and endpoint linger
    legacy = start_vm(
        client, stored["VirtualMachine/legacy"], [eth0("10.7.120.103")], endpoint=False, record_pools=False
    )
    launcher = legacy["Pod"]["metadata"]
    record_allocation(client, "10-7-v4", "10.7.120.103", f"pu-a/{launcher['name']}", launcher["uid"])
    nginx = create(
        client,
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nginx-7d9f", "namespace": "pu-b"},
         "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}},
    ).object  # fmt: skip
    record_allocation(client, "10-7-v4", "10.7.120.104", "pu-b/nginx-7d9f", nginx["metadata"]["uid"])
    create(
        client,
        {"apiVersion": "spiderpool.spidernet.io/v2beta1", "kind": "SpiderReservedIP", "metadata": {"name": "keep"},
         "spec": {"ipVersion": 4, "ips": ["10.7.120.150-10.7.120.151"]}},
    )  # fmt: skip
    return own_cluster


@pytest.fixture(scope="module")
def run(world: ControlPlane) -> Runner:
    return virtnet_on(world)


def usage(run: Runner, *args: str) -> dict[str, Any]:
    proc = run("pool", "usage", *args, "-o", "json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return dict(parse_json(proc))


def by_ip(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {h["ip"]: h for h in entry["holders"]}


def test_numbers_free_ranges_and_holders(run: Runner) -> None:
    report = usage(run, "10-7-v4", "-A")
    assert report["namespaces"] is None
    assert report["unreadable"] == []
    (entry,) = report["pools"]
    assert (entry["name"], entry["ipVersion"], entry["subnet"], entry["gateway"]) == (
        "10-7-v4",
        4,
        "10.7.0.0/16",
        "10.7.0.1",
    )
    assert (entry["total"], entry["usable"], entry["allocated"], entry["free"]) == (101, 101, 5, 94)
    assert entry["reserved"] == {"total": 2, "excludeIPs": 0, "spiderReservedIPs": 2}
    assert entry["freeRanges"] == [
        {"first": "10.7.120.105", "last": "10.7.120.149", "count": 45},
        {"first": "10.7.120.152", "last": "10.7.120.200", "count": 49},
    ]
    assert entry["problems"] == []
    holders = by_ip(entry)
    web = holders["10.7.120.100"]
    assert (web["kind"], web["namespace"], web["name"], web["state"]) == ("VirtualMachine", "pu-a", "web", "running")
    assert web["record"] == "pu-a/web"  # keyed by the VMI name (enableKubevirtStaticIP)
    db = holders["10.7.120.101"]
    assert (db["kind"], db["name"], db["state"]) == ("VirtualMachine", "db", "stopped")
    assert "SpiderPool keeps a stopped VM's IP while the VM exists" in db["note"]
    gone = holders["10.7.120.102"]
    assert (gone["kind"], gone["namespace"], gone["name"], gone["state"]) == (
        "VirtualMachine",
        "pu-b",
        "gone",
        "deleted",
    )
    assert "leaked" in gone["note"]
    legacy = holders["10.7.120.103"]
    assert (legacy["kind"], legacy["name"], legacy["state"]) == ("VirtualMachine", "legacy", "running")
    assert legacy["launcherPod"] == legacy["record"].split("/")[1]
    assert legacy["launcherPod"].startswith("virt-launcher-legacy-")
    nginx = holders["10.7.120.104"]
    assert (nginx["kind"], nginx["name"], nginx["state"]) == ("Pod", "nginx-7d9f", None)


def test_namespace_filters_the_holders_not_the_numbers(run: Runner) -> None:
    (entry,) = usage(run, "10-7-v4", "-n", "pu-a")["pools"]
    assert sorted(by_ip(entry)) == ["10.7.120.100", "10.7.120.101", "10.7.120.103"]
    assert entry["holdersInOtherNamespaces"] == 2
    assert entry["allocated"] == 5
    # no -n: the context's namespace (default), where nothing holds an address
    report = usage(run, "10-7-v4")
    assert report["namespaces"] == ["default"]
    assert report["pools"][0]["holders"] == []
    assert report["pools"][0]["holdersInOtherNamespaces"] == 5


def test_text_says_the_stopped_vm_keeps_its_ip(run: Runner) -> None:
    proc = run("pool", "usage", "10-7-v4", "-A")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "SpiderIPPool 10-7-v4  IPv4 10.7.0.0/16  gateway 10.7.0.1" in out
    assert (
        "  total 101  allocated 5  reserved 2 (excludeIPs 0, SpiderReservedIP 2)  free 94" + "\n"
    ) in out  # no bar: stdout is not a terminal
    assert "  free: 10.7.120.105-10.7.120.149, 10.7.120.152-10.7.120.200" in out
    assert "    10.7.120.101  VirtualMachine pu-a/db  stopped  — SpiderPool keeps a stopped VM's IP" in out
    assert "    10.7.120.100  VirtualMachine pu-a/web  running" in out
    assert "█" not in out


def test_bars_on_a_terminal(world: ControlPlane) -> None:
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTNET_DEBUG")}
    env["KUBECONFIG"] = str(world.kubeconfig)
    with subprocess.Popen(
        [str(BIN / "virtnet"), "pool", "usage", "10-7-v4", "-A"],
        stdout=secondary,
        stderr=subprocess.PIPE,
        cwd=REPO_ROOT,
        env=env,
    ) as proc:
        os.close(secondary)
        chunks = []
        while True:
            try:
                data = os.read(primary, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        assert proc.stderr is not None
        errors = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == 0, errors
    os.close(primary)
    out = b"".join(chunks).decode()
    # 5 of 101 allocated → 1 of 30 cells; 2 reserved → 1 cell (rounded); the rest free
    assert "free 94  [█▒" + "░" * 28 + "]" in out, out


def test_unknown_pool_is_named(run: Runner) -> None:
    proc = run("pool", "usage", "10-7-v4", "no-such-pool", "-A")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "no SpiderIPPool named no-such-pool" in proc.stderr
    assert "10-7-v4" in proc.stderr  # what the cluster has
    assert "Traceback" not in proc.stderr


def test_slash8_and_ipv6_slash64_pools_are_intervals(world: ControlPlane, run: Runner) -> None:
    client = world.client
    create(client, pool("big-v4", ipVersion=4, subnet="11.0.0.0/8", ips=["11.0.0.1-11.255.255.254"],
                        excludeIPs=["11.0.0.1-11.0.0.255"], gateway="11.0.0.1"))  # fmt: skip
    create(client, pool("big-v6", ipVersion=6, subnet="fd00:10::/64", ips=["fd00:10::1-fd00:10::ffff:ffff:ffff:fffe"]))
    record_allocation(client, "big-v4", "11.1.2.3", "pu-a/web", "uid-1")
    record_allocation(client, "big-v6", "fd00:10::a", "pu-a/web", "uid-1")
    report = usage(run, "big-v4", "big-v6", "-A")
    v4, v6 = report["pools"]
    assert (v4["total"], v4["usable"], v4["allocated"]) == (2**24 - 2, 2**24 - 2 - 255, 1)
    assert v4["reserved"] == {"total": 255, "excludeIPs": 255, "spiderReservedIPs": 0}
    assert v4["free"] == 2**24 - 2 - 255 - 1
    assert v4["freeRanges"] == [
        {"first": "11.0.1.0", "last": "11.1.2.2", "count": 65795},
        {"first": "11.1.2.4", "last": "11.255.255.254", "count": 16711163},
    ]
    assert by_ip(v4)["11.1.2.3"]["name"] == "web"
    assert v6["total"] == 2**64 - 2
    assert v6["free"] == 2**64 - 3
    assert [(r["first"], r["last"]) for r in v6["freeRanges"]] == [
        ("fd00:10::1", "fd00:10::9"),
        ("fd00:10::b", "fd00:10::ffff:ffff:ffff:fffe"),
    ]


def test_old_stack_spiderpool_v0_8(own_cluster_old: ControlPlane) -> None:
    """SpiderPool v0.8.13 + KubeVirt v1.0.1: the same record shape (v0.8.0/v0.8.1 also wrote `interface`)."""
    client, run = own_cluster_old.client, virtnet_on(own_cluster_old)
    ensure_namespace(client, "pu-old")
    stored = apply_bundle(
        client,
        render_bundle("old", "-n", "pu-old", "--mode", "passt", "--nic", PASST_NIC,
                      "--kubevirt-version", "v1.0.1", "--spiderpool-version", "v0.8.13"),
    )  # fmt: skip
    generate_nads(client, stored)
    start_vm(client, stored["VirtualMachine/old"], [eth0("10.7.120.120")], pod_interface_field=False)
    stop_vm(client, stored["VirtualMachine/old"])
    record_allocation(client, "10-7-v4", "10.7.120.121", "pu-old/old", "uid-x", interface="eth0")  # v0.8.0 shape
    report = usage(run, "-n", "pu-old")
    (entry,) = report["pools"]
    assert (entry["allocated"], entry["free"]) == (2, 99)
    first, second = entry["holders"]
    assert (first["ip"], first["name"], first["state"], first["interface"]) == ("10.7.120.120", "old", "stopped", None)
    assert (second["ip"], second["interface"], second["state"]) == ("10.7.120.121", "eth0", "stopped")
