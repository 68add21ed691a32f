"""Playing KubeVirt's and SpiderPool's controllers on a test control plane (no controller runs there).

Each helper writes the objects the way the upstream controller writes them:

- ``generate_nad``: the NetworkAttachmentDefinition SpiderPool's spiderpool-controller makes from a
  SpiderMultusConfig — same namespace, name = annotation ``multus.spidernet.io/cr-name`` or the SMC's name, a
  controller ownerReference to the SMC, ``cniVersion`` 0.3.1, the CNI plugin with ``ipam: {type: spiderpool,
  default_ipv4_ippool: …}`` followed by ``coordinator`` (SP@v1.2.2:pkg/multuscniconfig/multusconfig_informer.go).
- ``start_vm``: what virt-controller, Multus, SpiderPool IPAM and virt-handler do when a VM starts — the VMI (owned
  by the VM, ``status.phase: Running``, ``status.interfaces[]`` with ``name``, ``interfaceName``, ``ipAddress``,
  ``ipAddresses``, ``mac``, ``infoSource``; VMI CRDs have no status subresource, so status goes in the create body),
  the virt-launcher pod (labels ``kubevirt.io: virt-launcher``, ``kubevirt.io/created-by: <VMI uid>``,
  ``vm.kubevirt.io/name``; the VMI's annotations; ``k8s.v1.cni.cncf.io/network-status``), the SpiderEndpoint named
  after the VMI (no status subresource: ``status.current.{uid,node,ips[]}``, ``ownerControllerType:
  VirtualMachineInstance``; ``ipv4`` written ``address/prefix``), and the pool's ``status.allocatedIPs`` (a JSON
  string ``ip → {pod: <ns>/<vmi name>, podUid}``, written through the ``/status`` subresource) with
  ``allocatedIPCount``.
- ``stop_vm``: runStrategy Halted, VMI and pod gone; SpiderEndpoint and pool record stay (SpiderPool keeps them).
- ``SpiderPoolController``: ``generate_nad`` from a thread, as soon as each named SpiderMultusConfig exists.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lightkube import ApiError, Client, KubeConfig

from .cli import parse_json, run_virtnet
from .envtest import ControlPlane, create, http_session, ref, resource_path, server_side_apply

NODE = "worker-1"
INFO_SOURCE = "domain, guest-agent, multus-status"
PATCH_TYPE_ANNOTATION = "virtnet.io/patch-type"


def _raise(resp: Any) -> Any:
    if resp.status_code >= 400:
        raise AssertionError(f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text[:500]}")
    return resp.json()


def ensure_namespace(client: Client, name: str) -> None:
    """The namespace and its ``default`` ServiceAccount (no controller-manager makes it; pods need it)."""
    for obj in (
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}},
    ):
        try:
            create(client, obj)
        except ApiError as err:
            if err.status.code != 409:
                raise


def render_bundle(*args: str) -> list[dict[str, Any]]:
    """``virtnet new vm ARGS -o json`` through the console script: the bundle's objects in apply order (the KubeVirt
    CR patch included)."""
    proc = run_virtnet("new", "vm", *args, "-o", "json", "--include-kubevirt-patch")
    assert proc.returncode == 0, proc.stderr
    return list(parse_json(proc)["items"])


def apply_bundle(client: Client, objects: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Server-side apply every object except the KubeVirt CR patch; returns the stored objects by kind/name."""
    stored: dict[str, dict[str, Any]] = {}
    for obj in objects:
        annotations = obj["metadata"].get("annotations") or {}
        if obj["kind"] == "KubeVirt" or PATCH_TYPE_ANNOTATION in annotations:
            continue
        if obj["metadata"].get("namespace"):
            ensure_namespace(client, obj["metadata"]["namespace"])
        result = server_side_apply(client, obj, field_manager="virtnet-test")
        stored[f"{obj['kind']}/{obj['metadata']['name']}"] = result.object
    return stored


def generate_nad(client: Client, smc: Mapping[str, Any]) -> dict[str, Any]:
    """The NAD spiderpool-controller generates from a stored SpiderMultusConfig."""
    meta, spec = smc["metadata"], smc["spec"]
    cni = spec["cniType"]
    name = (meta.get("annotations") or {}).get("multus.spidernet.io/cr-name") or meta["name"]
    block = spec.get(cni) or {}
    pools = block.get("ippools") or {}
    ipam: dict[str, Any] = {"type": "spiderpool"}
    if pools.get("ipv4"):
        ipam["default_ipv4_ippool"] = pools["ipv4"]
    if pools.get("ipv6"):
        ipam["default_ipv6_ippool"] = pools["ipv6"]
    plugins: list[dict[str, Any]] = []
    if cni in ("macvlan", "ipvlan"):
        master = block["master"][0] + (f".{block['vlanID']}" if block.get("vlanID") else "")
        if block.get("vlanID"):
            plugins.append({"type": "ifacer", "interfaces": block["master"], "vlanID": block["vlanID"]})
        plugins.append({"type": cni, "master": master, "mode": "bridge", "ipam": ipam})
    elif cni == "ovs":
        plugin = {"type": "ovs", "bridge": block["bridge"], "ipam": ipam}
        if block.get("vlan"):
            plugin["vlan"] = block["vlan"]
        plugins.append(plugin)
    else:
        raise AssertionError(f"no NAD generator for cniType {cni}")
    if spec.get("enableCoordinator", True):
        plugins.append({"type": "coordinator"})
    config = {"cniVersion": "0.3.1", "name": name, "plugins": plugins}
    nad = {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "ownerReferences": [
                {
                    "apiVersion": "spiderpool.spidernet.io/v2beta1",
                    "kind": "SpiderMultusConfig",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"config": json.dumps(config)},
    }
    return create(client, nad).object


class SpiderPoolController:
    """Plays spiderpool-controller from a thread: once each named SpiderMultusConfig exists, writes its NAD (for a
    verb that waits for the NAD while the test runs it)."""

    def __init__(self, plane: ControlPlane, *smcs: tuple[str, str], timeout: float = 120) -> None:
        self._plane = plane
        self._pending = list(smcs)  # (namespace, name)
        self._deadline = time.monotonic() + timeout
        self._stop = threading.Event()
        self.nads: dict[str, dict[str, Any]] = {}
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SpiderPoolController:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        client = Client(KubeConfig.from_file(self._plane.kubeconfig), trust_env=False)
        session = http_session(client)
        try:
            while self._pending and not self._stop.is_set() and time.monotonic() < self._deadline:
                for namespace, name in list(self._pending):
                    smc = ref("spiderpool.spidernet.io/v2beta1", "SpiderMultusConfig", name, namespace)
                    resp = session.get(resource_path(client, smc))
                    if resp.status_code == 200:
                        self.nads[name] = generate_nad(client, resp.json())
                        self._pending.remove((namespace, name))
                time.sleep(0.05)
        except BaseException as err:  # reported by the test
            self.error = err
        finally:
            session.close()
            client.close()

    @property
    def done(self) -> bool:
        """Every NAD is written."""
        return not self._pending

    def check(self) -> None:
        assert self.error is None, repr(self.error)
        assert not self._pending, f"no SpiderMultusConfig appeared for {self._pending}"


def generate_nads(client: Client, stored: Mapping[str, Mapping[str, Any]]) -> None:
    for key, obj in stored.items():
        if key.startswith("SpiderMultusConfig/"):
            generate_nad(client, obj)


@dataclass(frozen=True)
class Nic:
    """What one VM interface got: its address (and the pool it came from) as SpiderPool allocated it."""

    name: str  # spec.domain.devices.interfaces[].name
    pod_interface: str  # eth0 / pod<hash>
    ip: str
    pool: str
    prefix: int
    gateway: str | None = None
    guest_interface: str = "eth0"
    vmi_ips: tuple[str, ...] | None = None  # what the VMI reports (default: the allocated ip)
    vmi_mac: str | None = None  # what the VMI reports (default: the spec's macAddress)
    nad: str | None = None  # ns/name in network-status (default: the cluster network)


def _merge_status(client: Client, obj: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
    path = resource_path(client, obj) + "/status"
    resp = http_session(client).patch(
        path, content=json.dumps({"status": status}), headers={"Content-Type": "application/merge-patch+json"}
    )
    return dict(_raise(resp))


def get(client: Client, obj: Mapping[str, Any]) -> dict[str, Any]:
    return dict(_raise(http_session(client).get(resource_path(client, obj))))


def record_allocation(client: Client, pool: str, ip: str, key: str, uid: str, interface: str | None = None) -> None:
    """Add ``ip → {pod: key, podUid: uid}`` to the pool's ``status.allocatedIPs`` (read-modify-write, /status)."""
    pool_ref = ref("spiderpool.spidernet.io/v2beta1", "SpiderIPPool", pool)
    current = get(client, pool_ref)
    status = current.get("status") or {}
    records = json.loads(status.get("allocatedIPs") or "{}")
    record: dict[str, str] = {"pod": key, "podUid": uid}
    if interface is not None:  # the v0.8.0/v0.8.1 shape
        record = {"interface": interface, **record}
    records[ip] = record
    _merge_status(client, pool_ref, {"allocatedIPs": json.dumps(records), "allocatedIPCount": len(records)})


def set_vm_status(client: Client, vm: Mapping[str, Any], printable: str) -> None:
    status: dict[str, Any] = {"printableStatus": printable}
    if printable == "Running":
        status.update({"created": True, "ready": True})
    _merge_status(client, vm, status)


def start_vm(
    client: Client,
    vm: Mapping[str, Any],
    nics: Sequence[Nic],
    *,
    endpoint: bool = True,
    endpoint_pools: Mapping[str, str] | None = None,
    pod_interface_field: bool = True,
    record_pools: bool = True,
) -> dict[str, dict[str, Any]]:
    """VMI + virt-launcher pod + SpiderEndpoint + pool records for a stored VM; returns them by kind."""
    vm = get(client, vm)
    meta = vm["metadata"]
    ns, name = meta["namespace"], meta["name"]
    template = vm["spec"]["template"]
    macs = {i["name"]: i.get("macAddress") for i in template["spec"]["domain"]["devices"].get("interfaces", [])}
    interfaces = []
    for nic in nics:
        ips = list(nic.vmi_ips if nic.vmi_ips is not None else (nic.ip,))
        entry: dict[str, Any] = {
            "name": nic.name,
            "interfaceName": nic.guest_interface,
            "mac": nic.vmi_mac or macs.get(nic.name) or "02:00:00:00:00:01",
            "infoSource": INFO_SOURCE,
            "queueCount": 1,
        }
        if ips:
            entry["ipAddress"] = ips[0]
            entry["ipAddresses"] = ips
        if pod_interface_field:  # KubeVirt >= v1.4 reports it; the v1.0/v1.1 CRDs do not have the field
            entry["podInterfaceName"] = nic.pod_interface
        interfaces.append(entry)
    vmi = {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachineInstance",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {**(template.get("metadata", {}).get("labels") or {}), "kubevirt.io/nodeName": NODE},
            "annotations": template.get("metadata", {}).get("annotations") or {},
            "ownerReferences": [
                {
                    "apiVersion": "kubevirt.io/v1",
                    "kind": "VirtualMachine",
                    "name": name,
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": template["spec"],
        "status": {"phase": "Running", "nodeName": NODE, "interfaces": interfaces},
    }
    vmi = create(client, vmi).object
    network_status = []
    for nic in nics:
        item: dict[str, Any] = {
            "name": nic.nad or "k8s-pod-network",
            "interface": nic.pod_interface,
            "ips": [nic.ip],
            "mac": "aa:bb:cc:00:00:0" + str(len(network_status) + 1),
            "dns": {},
        }
        if nic.pod_interface == "eth0":
            item["default"] = True
        network_status.append(item)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"virt-launcher-{name}-{secrets.token_hex(3)[:5]}",
            "namespace": ns,
            "labels": {
                **(template.get("metadata", {}).get("labels") or {}),
                "kubevirt.io": "virt-launcher",
                "kubevirt.io/created-by": vmi["metadata"]["uid"],
                "vm.kubevirt.io/name": name,
            },
            "annotations": {
                **(template.get("metadata", {}).get("annotations") or {}),
                "kubevirt.io/domain": name,
                "k8s.v1.cni.cncf.io/network-status": json.dumps(network_status, indent=4),
            },
            "ownerReferences": [
                {
                    "apiVersion": "kubevirt.io/v1",
                    "kind": "VirtualMachineInstance",
                    "name": name,
                    "uid": vmi["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "nodeName": NODE,
            "containers": [{"name": "compute", "image": "quay.io/kubevirt/virt-launcher:v1.9.0"}],
        },
    }
    pod = create(client, pod).object
    _merge_status(client, pod, {"phase": "Running"})
    objects = {"VirtualMachineInstance": vmi, "Pod": pod}
    if endpoint:
        pools = dict(endpoint_pools or {})
        ips = []
        for nic in nics:
            family = "ipv6" if ":" in nic.ip else "ipv4"
            entry = {
                "interface": nic.pod_interface,
                family: f"{nic.ip}/{nic.prefix}",
                f"{family}Pool": pools.get(nic.name, nic.pool),
                "vlan": 0,
                "cleanGateway": False,
            }
            if nic.gateway:
                entry[f"{family}Gateway"] = nic.gateway
            ips.append(entry)
        endpoint_obj = {
            "apiVersion": "spiderpool.spidernet.io/v2beta1",
            "kind": "SpiderEndpoint",
            "metadata": {"name": name, "namespace": ns},
            "status": {
                "current": {"uid": pod["metadata"]["uid"], "node": NODE, "ips": ips},
                "ownerControllerType": "VirtualMachineInstance",
                "ownerControllerName": name,
            },
        }
        objects["SpiderEndpoint"] = create(client, endpoint_obj).object
    if record_pools:
        for nic in nics:
            pool = (endpoint_pools or {}).get(nic.name, nic.pool)
            record_allocation(client, pool, nic.ip, f"{ns}/{name}", pod["metadata"]["uid"])
    set_vm_status(client, vm, "Running")
    return objects


def stop_vm(client: Client, vm: Mapping[str, Any], *, legacy_running: bool = False) -> None:
    """What `virtctl stop` leads to: runStrategy Halted (or running: false), the VMI and its pod deleted."""
    vm = get(client, vm)
    session = http_session(client)
    patch = {"spec": {"running": False, "runStrategy": None}} if legacy_running else {"spec": {"runStrategy": "Halted"}}
    _raise(
        session.patch(
            resource_path(client, vm),
            content=json.dumps(patch),
            headers={"Content-Type": "application/merge-patch+json"},
        )
    )
    ns, name = vm["metadata"]["namespace"], vm["metadata"]["name"]
    vmi_ref = {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachineInstance",
        "metadata": {"name": name, "namespace": ns},
    }
    pods = _raise(session.get(f"/api/v1/namespaces/{ns}/pods", params={"labelSelector": f"vm.kubevirt.io/name={name}"}))
    for pod in pods["items"]:
        _raise(
            session.delete(
                f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}", params={"gracePeriodSeconds": "0"}
            )
        )
    resp = session.delete(resource_path(client, vmi_ref))
    if resp.status_code != 404:
        _raise(resp)
    set_vm_status(client, vm, "Stopped")


def delete(client: Client, obj: Mapping[str, Any]) -> None:
    resp = http_session(client).delete(resource_path(client, obj))
    if resp.status_code != 404:
        _raise(resp)
