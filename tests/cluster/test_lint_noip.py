"""`virtnet lint --cluster` and the live SpiderEndpoint (issue 10 §5, rule VN031 endpoint-pool-changed).

SpiderPool keeps a VM's address in the SpiderEndpoint named after the VMI while the VM exists; a VM whose pool
annotation now names another pool keeps the old address. No SpiderPool runs here: the test writes the SpiderEndpoint
as SpiderPool does (no status subresource: ``status.current.{uid,node,ips[]}`` with ``ipv4Pool``,
``ownerControllerType: VirtualMachineInstance``; sp@v1.2.2 spiderendpoint_types.go).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .cli import parse_json, virtnet_on
from .envtest import ControlPlane, create, server_side_apply

pytestmark = pytest.mark.cluster

NS = "vms"
FIELD_MANAGER = "lint-noip-test"


def _pool(name: str, third: int) -> dict[str, Any]:
    return {
        "apiVersion": "spiderpool.spidernet.io/v2beta1",
        "kind": "SpiderIPPool",
        "metadata": {"name": name},
        "spec": {"subnet": f"10.{third}.0.0/24", "ips": [f"10.{third}.0.10-10.{third}.0.50"]},
    }


def _vm(name: str, pool: str) -> dict[str, Any]:
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "runStrategy": "Always",
            "template": {
                "metadata": {"annotations": {"ipam.spidernet.io/ippool": json.dumps({"ipv4": [pool]})}},
                "spec": {
                    "domain": {
                        "devices": {"interfaces": [{"name": "default", "masquerade": {}}]},
                        "resources": {"requests": {"memory": "1Gi"}},
                    },
                    "networks": [{"name": "default", "pod": {}}],
                },
            },
        },
    }


def _endpoint(name: str, pool: str, address: str) -> dict[str, Any]:
    return {
        "apiVersion": "spiderpool.spidernet.io/v2beta1",
        "kind": "SpiderEndpoint",
        "metadata": {"name": name, "namespace": NS},
        "status": {
            "current": {
                "uid": "5f1c2d3e-0000-4000-8000-00000000000a",
                "node": "worker-1",
                "ips": [{"interface": "eth0", "ipv4": f"{address}/24", "ipv4Pool": pool, "vlan": 0,
                         "cleanGateway": False}],
            },
            "ownerControllerType": "VirtualMachineInstance",
            "ownerControllerName": name,
        },
    }  # fmt: skip


@pytest.fixture(scope="module")
def world(own_cluster: ControlPlane) -> ControlPlane:
    client = own_cluster.client
    create(client, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for obj in (_pool("old-v4", 1), _pool("new-v4", 2), _vm("moved", "new-v4"), _vm("stayed", "old-v4")):
        server_side_apply(client, obj, field_manager=FIELD_MANAGER)
    create(client, _endpoint("moved", "old-v4", "10.1.0.10"))
    create(client, _endpoint("stayed", "old-v4", "10.1.0.11"))
    return own_cluster


def _noip(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in result["findings"] if f["code"] == "VN031"]


def test_an_endpoint_holding_another_pool_is_reported_with_what_to_delete(world: ControlPlane) -> None:
    run = virtnet_on(world)
    everything = run("lint", "--cluster", "-n", NS, "-o", "json")
    assert "Traceback" not in everything.stderr
    # the endpoints are context, not checked objects: no finding is about one
    assert all(f["object"]["kind"] != "SpiderEndpoint" for f in parse_json(everything)["findings"])
    proc = run("lint", "--cluster", "-n", NS, "-o", "json", "--enable", "VN031")
    assert proc.returncode == 0, proc.stderr  # VN031 is a warning
    findings = _noip(parse_json(proc))
    assert [f["object"]["name"] for f in findings] == ["moved"], findings
    message = findings[0]["message"]
    assert "keeps 10.1.0.10/24 on eth0 from pool old-v4" in message
    assert "new-v4" in message
    assert f"delete SpiderEndpoint {NS}/moved" in message


def test_all_namespaces_and_files_without_the_endpoint(world: ControlPlane) -> None:
    run = virtnet_on(world)
    proc = run("lint", "--cluster", "-A", "-o", "json", "--enable", "VN031")
    assert proc.returncode == 0, proc.stderr
    assert [f["object"]["name"] for f in _noip(parse_json(proc))] == ["moved"]
    # the same VM linted from a file (no live SpiderEndpoint) gets no VN031
    files = run("lint", "-", "-o", "json", "--enable", "VN031", stdin=json.dumps(_vm("moved", "new-v4")))
    assert files.returncode == 0, files.stderr
    assert _noip(parse_json(files)) == []
