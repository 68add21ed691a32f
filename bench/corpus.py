"""The benchmark corpus: N VirtualMachines rendered by virtnet across the guide's modes, with their SpiderIPPools,
SpiderMultusConfigs and cloud-init Secrets, split into ~100 files, with planted schema and semantic mistakes.

    .venv/bin/python bench/corpus.py N DIR       # write the corpus for N VMs into DIR (prints the plant list)

Modes, in turn: passt + macvlan (one NIC on a macvlan VLAN), bridge + OVS (two NICs on two OVS VLANs),
masquerade (the pod network only). VMs live in 10 namespaces and share 50 macvlan and 50 OVS VLANs — one
SpiderIPPool and one SpiderMultusConfig per VLAN, in ``shared.yaml`` with one cloud-init Secret per namespace that
every VM of the namespace names (``userDataSecretRef``; keeps the object count realistic: a cluster's Secrets are
not linted). Every VM file holds N/100 VMs.

Planted mistakes (``Plant``): the schema mistakes of issue 8 — ``macaddress`` (wrong case), ``sockets: "2"``,
``multus: {default: "true"}``, SpiderMultusConfig ``vlanID: "30"``, SpiderIPPool ``ipVersion: 5`` — and semantic
ones the rules find (an interface without its network, a Multus network whose NAD does not exist, an ippools
annotation naming a missing pool, a bridge binding on a macvlan network). Everything else lints clean.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from virtnet.formats.intent import intent_from_document  # noqa: E402
from virtnet.formats.yamlio import Document, dump_yaml_stream  # noqa: E402
from virtnet.render import render_bundle  # noqa: E402

NAMESPACES = 10
VLANS = 50  # macvlan VLANs 100..149 and OVS VLANs 200..249: one pool and one SMC each
FILES = 100
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFdrc13d8dLllgF33no/g0Y7M+vlt5yyjM+ljpm+m1xX bench@virtnet"
IMAGE = "docker://release-ci.daocloud.io/virtnest/system-images/centos-7.9-x86_64:v1"


@dataclass(frozen=True)
class Plant:
    """One planted mistake: which object, which field (JSON path as kubeconform prints it: /a/b/0/c), what."""

    file: str
    kind: str
    name: str
    path: str  # the field virtnet must report (dotted, as in `virtnet lint -o json`)
    what: str  # e.g. "schema: macaddress"
    schema: bool  # kubeconform -strict finds it too

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "kind": self.kind, "name": self.name, "path": self.path, "what": self.what,
                "schema": self.schema}  # fmt: skip


def _pool(kind: str, vlan: int) -> dict[str, Any]:
    octet = vlan - 100 if kind == "macvlan" else vlan - 200 + 100
    return {"name": f"{kind}-vlan{vlan}-v4", "subnet": f"10.{octet}.0.0/22", "gateway": f"10.{octet}.0.1",
            "ips": [f"10.{octet}.0.10-10.{octet}.3.250"]}  # fmt: skip


def _nic(kind: str, vlan: int) -> dict[str, Any]:
    if kind == "macvlan":
        nic = {"master": "ens192", "vlan": vlan, "multusConfig": f"macvlan-vlan{vlan}"}
    else:
        nic = {"bridge": "br-data", "vlan": vlan, "multusConfig": f"ovs-vlan{vlan}"}
    return {**nic, "pools": [_pool(kind, vlan)]}


def _render(name: str, namespace: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    data = {"apiVersion": "virtnet.io/v1alpha1", "kind": "VMNetwork", "metadata": {"name": name,
            "namespace": namespace}, "spec": spec}  # fmt: skip
    return render_bundle(intent_from_document(Document(data=data, source="bench", index=0))).objects


def _vm_spec(i: int) -> dict[str, Any]:
    vlan = i // 3 % VLANS
    vm = {"image": IMAGE, "disk": {"size": "10Gi", "storageClass": "rook-ceph-block", "accessMode": "ReadWriteOnce"},
          "cpu": {"cores": 1 + i % 4, "sockets": 1, "threads": 1, "model": "host-model"},
          "memory": f"{1 + i % 8}Gi", "architecture": "amd64"}  # fmt: skip
    cloud = {"sshAuthorizedKeys": [KEY]}
    if i % 3 == 0:
        return {"mode": "passt", "cni": "macvlan", "nics": [_nic("macvlan", 100 + vlan)], "vm": vm, "cloudInit": cloud}
    if i % 3 == 1:
        nics = [_nic("ovs", 200 + vlan), _nic("ovs", 200 + (vlan + 1) % VLANS)]
        return {"mode": "bridge", "cni": "ovs", "nics": nics, "vm": vm, "cloudInit": cloud}
    return {"mode": "masquerade", "cni": "calico", "vm": vm, "cloudInit": cloud}


def _vm(i: int, shared: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    namespace = f"tenant-{i % NAMESPACES}"
    vm: dict[str, Any] = {}
    for obj in _render(f"vm-{i:05d}", namespace, _vm_spec(i)):
        kind = obj["kind"]
        if kind == "VirtualMachine":
            vm = obj
        elif kind == "Secret":
            secret = {**obj, "metadata": {**obj["metadata"], "name": f"cloudinit-{namespace}"}}
            shared.setdefault((kind, namespace), secret)
        else:
            shared.setdefault((kind, obj["metadata"]["name"]), obj)
    for volume in vm["spec"]["template"]["spec"]["volumes"]:
        ci = volume.get("cloudInitNoCloud")
        if ci and "secretRef" in ci:
            ci["secretRef"]["name"] = f"cloudinit-{namespace}"
    return vm


# --- planted mistakes --------------------------------------------------------------------------------------------

# The masquerade VMs' pod network: the NAD of SpiderPool's default calico SpiderMultusConfig (spiderpool-init
# creates it in a real cluster; virtnet does not render it).
POD_NETWORK = {
    "apiVersion": "k8s.cni.cncf.io/v1",
    "kind": "NetworkAttachmentDefinition",
    "metadata": {"name": "k8s-pod-network", "namespace": "kube-system"},
    "spec": {"config": json.dumps({"cniVersion": "0.3.1", "name": "k8s-pod-network", "plugins": [
        {"type": "calico", "ipam": {"type": "calico-ipam"}}, {"type": "coordinator"}]})},
}  # fmt: skip

VM_MISTAKES = ("macaddress", "sockets", "multus-default", "no-network", "nad-missing", "pool-missing", "bridge-macvlan")


def _plant_vm(vm: dict[str, Any], what: str, file: str) -> Plant:
    spec = vm["spec"]["template"]["spec"]
    name = vm["metadata"]["name"]
    base = "spec.template.spec"
    if what == "macaddress":  # passt VM: interface 0 has macAddress
        iface = spec["domain"]["devices"]["interfaces"][0]
        iface["macaddress"] = iface.pop("macAddress")
        return Plant(file, "VirtualMachine", name, f"{base}.domain.devices.interfaces[0].macaddress", what, True)
    if what == "sockets":
        spec["domain"]["cpu"]["sockets"] = "2"
        return Plant(file, "VirtualMachine", name, f"{base}.domain.cpu.sockets", what, True)
    if what == "multus-default":  # bridge VM: its first Multus network
        spec["networks"][1]["multus"]["default"] = "true"
        return Plant(file, "VirtualMachine", name, f"{base}.networks[1].multus.default", what, True)
    if what == "no-network":  # bridge VM: its second interface names a network that is not there
        spec["domain"]["devices"]["interfaces"][1]["name"] = "nic9"
        return Plant(file, "VirtualMachine", name, f"{base}.domain.devices.interfaces[1].name", what, False)
    if what == "nad-missing":  # bridge VM: Multus network of a SpiderMultusConfig nobody rendered
        spec["networks"][1]["multus"]["networkName"] = "kube-system/ovs-vlan999"
        return Plant(file, "VirtualMachine", name, f"{base}.networks[1].multus.networkName", what, False)
    if what == "pool-missing":  # passt VM: its ippools annotation names a pool that does not exist
        annotations = vm["spec"]["template"]["metadata"]["annotations"]
        entries = json.loads(annotations["ipam.spidernet.io/ippools"])
        entries[0]["ipv4"] = ["missing-pool-v4"]
        annotations["ipam.spidernet.io/ippools"] = json.dumps(entries, separators=(",", ":"))
        return Plant(file, "VirtualMachine", name, "spec.template.metadata.annotations.ipam.spidernet.io/ippools",
                     what, False)  # fmt: skip
    if what == "bridge-macvlan":  # passt VM turned into a bridge binding on its macvlan network
        iface = spec["domain"]["devices"]["interfaces"][0]
        for key in ("passt", "passtBinding", "binding"):
            iface.pop(key, None)
        iface["bridge"] = {}
        return Plant(file, "VirtualMachine", name, f"{base}.domain.devices.interfaces[0].bridge", what, False)
    raise ValueError(what)


def _mode_of(what: str) -> int:
    """i % 3 of the VMs a mistake fits: 0 passt+macvlan, 1 bridge+ovs."""
    return 0 if what in ("macaddress", "pool-missing", "bridge-macvlan", "sockets") else 1


def build(n: int) -> tuple[dict[str, str], list[Plant]]:
    """{file name: YAML text}, planted mistakes. Deterministic."""
    shared: dict[tuple[str, str], dict[str, Any]] = {}
    files = min(FILES, max(1, n // 10))
    per_file = -(-n // files)
    planted: list[Plant] = []
    copies = max(1, n // 2000)  # each VM mistake planted this often (1 at 100 and 1,000 VMs, 5 at 10,000)
    targets: dict[int, str] = {}
    for k, what in enumerate(VM_MISTAKES):
        for c in range(copies):
            # spread over the files: copy c of mistake k goes into file (k * 7 + c * 13 + 3) % files, on a VM of
            # the mode it fits (i % 3), never on a VM that already has a mistake
            i = (k * 7 + c * 13 + 3) % files * per_file + 3 * k % per_file
            while i % 3 != _mode_of(what) or i in targets:
                i = (i + 1) % n
            targets[i] = what
    out: dict[str, str] = {}
    for f in range(files):
        name = f"vms-{f:03d}.yaml"
        vms = []
        for i in range(f * per_file, min(n, (f + 1) * per_file)):
            vm = _vm(i, shared)
            if i in targets:
                planted.append(_plant_vm(vm, targets[i], name))
            vms.append(vm)
        out[name] = dump_yaml_stream(vms)
    objects = [POD_NETWORK, *shared.values()]
    smc = next(o for o in objects if o["kind"] == "SpiderMultusConfig" and o["spec"]["cniType"] == "macvlan")
    smc["spec"]["macvlan"]["vlanID"] = str(smc["spec"]["macvlan"]["vlanID"])
    planted.append(Plant("shared.yaml", "SpiderMultusConfig", smc["metadata"]["name"], "spec.macvlan.vlanID",
                         "vlanID-string", True))  # fmt: skip
    pools = [o for o in objects if o["kind"] == "SpiderIPPool"]
    pool = pools[len(pools) // 2]
    pool["spec"]["ipVersion"] = 5
    planted.append(Plant("shared.yaml", "SpiderIPPool", pool["metadata"]["name"], "spec.ipVersion", "ipVersion-5",
                         True))  # fmt: skip
    out["shared.yaml"] = dump_yaml_stream(objects)
    return out, planted


def write(n: int, directory: Path) -> list[Plant]:
    files, planted = build(n)
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    plants = json.dumps([p.to_dict() for p in planted], indent=1)
    directory.with_name(directory.name + ".planted.json").write_text(plants)
    return planted


if __name__ == "__main__":
    for plant in write(int(sys.argv[1]), Path(sys.argv[2])):
        print(plant)
