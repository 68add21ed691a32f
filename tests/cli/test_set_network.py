"""`virtnet set network -f FILE --local` through the console script: the guide's VMs moved between modes for the
guide's versions and the newest, every KubeVirt example VM, refusals, networkData in all its places, comments, diffs."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli.conftest import ROOT
from virtnet.formats.yamlio import load_documents
from virtnet.lint import LintOptions, Severity, lint
from virtnet.model.identity import mac_address
from virtnet.render.setnetwork import NETWORK_ANNOTATIONS

Run = Callable[..., subprocess.CompletedProcess[str]]

GUIDE = ROOT / "tests" / "fixtures" / "guide"
MASQUERADE_VM = GUIDE / "01-masquerade-calico-vm.yaml"
EXAMPLES = Path(ROOT).parent / "shared" / "reference" / "corpus" / "kubevirt-v1.9.0-examples"
MACVLAN = "master=ens192,subnet=10.7.0.0/16,gateway=10.7.0.1,ips=10.7.120.100-10.7.120.200,pool=10-7-v4"
OVS = [
    "--nic",
    "bridge=br1,vlan=30,subnet=10.30.0.0/24,gateway=10.30.0.1,ips=10.30.0.100-10.30.0.200",
    "--nic",
    "bridge=br1,vlan=40,subnet=10.40.0.0/24,gateway=10.40.0.1,ips=10.40.0.100-10.40.0.200",
]
OLD = ["--kubevirt-version", "v1.0.1", "--spiderpool-version", "v0.8.0"]
NEW = ["--kubevirt-version", "v1.9.0", "--spiderpool-version", "v1.2.2"]
MAC = mac_address("default", "masquerade-calico", "default")
MAC2 = mac_address("default", "masquerade-calico", "nic2")


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    return proc


def refused(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stdout == "", "nothing is printed when the edit is refused"
    assert "virtnet: error: refusing to edit VirtualMachine" in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr
    return proc.stderr


def set_local(virtnet: Run, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return virtnet("set", "network", "-f", str(path), "--local", *args)


def documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def vm_of(text: str, name: str | None = None) -> dict[str, Any]:
    found = [
        d for d in documents(text) if d["kind"] == "VirtualMachine" and (name is None or d["metadata"]["name"] == name)
    ]
    assert len(found) == 1, text
    return found[0]


def tspec(vm: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = vm["spec"]["template"]["spec"]
    return result


def annotations(vm: dict[str, Any]) -> dict[str, Any]:
    return dict((vm["spec"]["template"].get("metadata") or {}).get("annotations") or {})


def without_networking(vm: dict[str, Any]) -> dict[str, Any]:
    """The VM with every path networking owns removed: what must not change."""
    vm = copy.deepcopy(vm)
    template = vm["spec"]["template"]
    meta = template.get("metadata")
    if meta is not None:
        for key in NETWORK_ANNOTATIONS:
            (meta.get("annotations") or {}).pop(key, None)
        if meta.get("annotations") == {}:
            meta.pop("annotations")
        if not meta:
            template.pop("metadata")
    spec = template["spec"]
    spec.pop("networks", None)
    devices = spec.get("domain", {}).get("devices")
    if devices is not None:
        devices.pop("interfaces", None)
    for vol in spec.get("volumes", []):
        for src in ("cloudInitNoCloud", "cloudInitConfigDrive"):
            for key in ("networkData", "networkDataBase64"):
                (vol.get(src) or {}).pop(key, None)
    return vm


def lint_errors(text: str, versions: list[str]) -> set[tuple[str, str]]:
    """Errors of the documents, with SpiderPool's default calico SpiderMultusConfig (the guide's) beside them."""
    options = LintOptions(kubevirt_version=versions[1], spiderpool_version=versions[3])
    calico = load_documents((GUIDE / "00-calico-multusconfig.yaml").read_text(), "calico.yaml")
    result = lint([*load_documents(text, "out.yaml"), *calico], options)
    return {(f.rule.code, f.object.name) for f in result.findings if f.severity is Severity.ERROR}


def assert_lints_clean(original: str, edited: str, versions: list[str]) -> None:
    """No error the original did not have (the guide's VM has plaintext root credentials, VN020: not networking)."""
    assert lint_errors(edited, versions) - lint_errors(original, versions) == set()


# --- the guide's masquerade VM, moved -----------------------------------------------------------------------------


@pytest.mark.parametrize(("versions", "binding"), [(OLD, "passt"), (NEW, "passtBinding")])
def test_guide_masquerade_vm_moved_to_passt_macvlan(virtnet: Run, versions: list[str], binding: str) -> None:
    original = MASQUERADE_VM.read_text()
    proc = ok(set_local(virtnet, MASQUERADE_VM, "--mode", "passt", "--cni", "macvlan", "--nic", MACVLAN, *versions))
    vm = vm_of(proc.stdout)
    assert tspec(vm)["domain"]["devices"]["interfaces"] == [{"name": "default", binding: {}}]
    assert tspec(vm)["networks"] == [{"name": "default", "pod": {}}]
    assert annotations(vm) == {
        "v1.multus-cni.io/default-network": "kube-system/macvlan-ens192",
        "ipam.spidernet.io/ippools": '[{"interface":"eth0","ipv4":["10-7-v4"]}]',
    }
    assert "networkData" not in tspec(vm)["volumes"][1]["cloudInitNoCloud"], "one NIC: cloud-init's fallback DHCP"
    assert without_networking(vm) == without_networking(yaml.safe_load(original))
    kinds = [d["kind"] for d in documents(proc.stdout)]
    assert kinds == ["VirtualMachine", "SpiderIPPool", "SpiderMultusConfig"], "the KubeVirt CR change is a note"
    assert proc.stdout.startswith("# Verbatim from the guide"), "the file's comment survives"
    assert "needs a restart to take effect" in proc.stderr
    assert "a new fixed IP from 10-7-v4" in proc.stderr
    if versions == OLD:
        assert "needs feature gate Passt" in proc.stderr
        assert "no RestartRequired condition" in proc.stderr
    assert_lints_clean(original, proc.stdout, versions)


@pytest.mark.parametrize("versions", [OLD, NEW])
def test_guide_masquerade_vm_to_two_ovs_nics_and_back(virtnet: Run, tmp_path: Path, versions: list[str]) -> None:
    original = MASQUERADE_VM.read_text()
    proc = ok(set_local(virtnet, MASQUERADE_VM, "--mode", "bridge", "--cni", "ovs", *OVS, *versions))
    vm = vm_of(proc.stdout)
    assert tspec(vm)["domain"]["devices"]["interfaces"] == [
        {"name": "default", "bridge": {}, "macAddress": MAC},
        {"name": "nic2", "bridge": {}, "macAddress": MAC2},
    ]
    assert tspec(vm)["networks"] == [
        {"name": "default", "multus": {"default": True, "networkName": "kube-system/ovs-vlan30"}},
        {"name": "nic2", "multus": {"networkName": "kube-system/ovs-vlan40"}},
    ]
    assert annotations(vm) == {
        "ipam.spidernet.io/ippools": '[{"interface":"eth0","ipv4":["ovs-vlan30-v4"]},'
        '{"interface":"podf3c3bc44bbb","ipv4":["ovs-vlan40-v4"]}]',
        "ipam.spidernet.io/default-route-nic": "eth0",
    }
    assert yaml.safe_load(tspec(vm)["volumes"][1]["cloudInitNoCloud"]["networkData"]) == {
        "version": 2,
        "ethernets": {
            "default": {"match": {"macaddress": MAC}, "dhcp4": True},
            "nic2": {"match": {"macaddress": MAC2}, "dhcp4": True, "dhcp4-overrides": {"use-routes": False}},
        },
    }
    assert without_networking(vm) == without_networking(yaml.safe_load(original))
    assert [d["metadata"]["name"] for d in documents(proc.stdout)[1:]] == [
        "ovs-vlan30-v4",
        "ovs-vlan40-v4",
        "ovs-vlan30",
        "ovs-vlan40",
    ]
    assert_lints_clean(original, proc.stdout, versions)

    moved = tmp_path / "bridge.yaml"
    moved.write_text(proc.stdout)
    back = ok(set_local(virtnet, moved, "--mode", "masquerade", "--cni", "calico", *versions))
    vm = vm_of(back.stdout)
    assert tspec(vm)["domain"]["devices"]["interfaces"] == [{"name": "default", "masquerade": {}, "macAddress": MAC}]
    assert tspec(vm)["networks"] == [{"name": "default", "pod": {}}]
    assert annotations(vm) == {"v1.multus-cni.io/default-network": "kube-system/k8s-pod-network"}
    assert yaml.safe_load(tspec(vm)["volumes"][1]["cloudInitNoCloud"]["networkData"]) == {
        "version": 2,
        "ethernets": {"default": {"match": {"macaddress": MAC}, "dhcp4": True}},
    }
    assert without_networking(vm) == without_networking(yaml.safe_load(original))
    assert "entry 'nic2' of removed NIC nic2 dropped" in back.stderr
    assert "warning: NIC nic2 (bridge on multus:kube-system/ovs-vlan40) is removed" in back.stderr
    assert_lints_clean(original, back.stdout, versions)
    again = ok(set_local(virtnet, moved, "--mode", "bridge", *OVS, *versions))
    assert "no change: the VM already has this network" in again.stderr


def test_json_output_and_a_vm_named_in_a_file_of_several(virtnet: Run, tmp_path: Path) -> None:
    both = tmp_path / "two.yaml"
    both.write_text(MASQUERADE_VM.read_text() + "---\n" + (GUIDE / "05-bridge-ovs-vm.yaml").read_text())
    proc = ok(
        virtnet(
            "set", "network", "bridge-ovs-spiderpool", "-f", str(both), "--local", "--mode", "masquerade", "-o", "json"
        )
    )
    items = json.loads(proc.stdout)["items"]
    assert [i["metadata"]["name"] for i in items] == ["masquerade-calico", "bridge-ovs-spiderpool"]
    assert items[0] == yaml.safe_load(MASQUERADE_VM.read_text()), "the other VM is printed as it was"
    assert tspec(items[1])["networks"] == [{"name": "ovs-bridge1", "pod": {}}]


# --- every KubeVirt example VM ------------------------------------------------------------------------------------


def example_vms() -> list[Path]:
    return sorted(
        p
        for p in EXAMPLES.glob("*.yaml")
        if any(d and d.get("kind") == "VirtualMachine" for d in yaml.safe_load_all(p.read_text()))
    )


@pytest.mark.parametrize(
    ("mode", "flags"),
    [("masquerade", []), ("passt", ["--nic", MACVLAN]), ("bridge", OVS)],
)
def test_every_kubevirt_example_vm_keeps_every_non_network_field(
    virtnet: Run, tmp_path: Path, mode: str, flags: list[str]
) -> None:
    files = example_vms()
    assert len(files) == 12
    combined = "".join(p.read_text() if p.read_text().startswith("---") else "---\n" + p.read_text() for p in files)
    path = tmp_path / "examples.yaml"
    path.write_text(combined)
    proc = ok(set_local(virtnet, path, "--mode", mode, *flags))
    before = [d for d in documents(combined) if d["kind"] == "VirtualMachine"]
    after = [d for d in documents(proc.stdout) if d["kind"] == "VirtualMachine"]
    assert [v["metadata"]["name"] for v in after] == [v["metadata"]["name"] for v in before]
    for old, new in zip(before, after, strict=True):
        assert without_networking(new) == without_networking(old), old["metadata"]["name"]
        assert tspec(new)["networks"][0]["name"] == "default", "the implicit pod network's NIC name is kept"
    assert_lints_clean(combined, proc.stdout, NEW)


# --- refusals ------------------------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, *docs: dict[str, Any] | str) -> Path:
    path = tmp_path / name
    path.write_text("".join("---\n" + (d if isinstance(d, str) else yaml.safe_dump(d, sort_keys=False)) for d in docs))
    return path


def guide(name: str = "01-masquerade-calico-vm.yaml") -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((GUIDE / name).read_text())
    return data


def test_refuses_live_migrate_to_a_mode_kubevirt_does_not_migrate(virtnet: Run, tmp_path: Path) -> None:
    vm = guide()
    tspec(vm)["evictionStrategy"] = "LiveMigrate"
    path = write(tmp_path, "vm.yaml", vm)
    refused(
        set_local(virtnet, path, "--mode", "passt", "--nic", MACVLAN, *OLD),
        "evictionStrategy is LiveMigrate",
        "KubeVirt does not migrate passt (core binding)",
        "hint: pick a mode KubeVirt migrates",
    )
    ok(set_local(virtnet, path, "--mode", "passt", "--nic", MACVLAN, *NEW))  # passtBinding migrates


def test_refuses_bridge_on_a_macvlan_network(virtnet: Run, tmp_path: Path) -> None:
    nad = {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": {"name": "macvlan-ens192", "namespace": "kube-system"},
        "spec": {
            "config": json.dumps({"cniVersion": "0.3.1", "name": "macvlan-ens192", "plugins": [{"type": "macvlan"}]})
        },
    }
    path = write(tmp_path, "vm.yaml", guide(), nad)
    refused(
        set_local(virtnet, path, "--mode", "bridge", "--nic", "network=kube-system/macvlan-ens192,pool=p1"),
        "bridge binding on kube-system/macvlan-ens192, a macvlan network",
    )
    proc = virtnet("set", "network", "-f", str(path), "--local", "--mode", "bridge", "--cni", "macvlan")
    assert proc.returncode == 2
    assert "bridge binding does not work over macvlan" in proc.stderr


def test_refuses_removing_the_nic_a_network_data_route_depends_on(virtnet: Run, tmp_path: Path) -> None:
    vm = guide("05-bridge-ovs-vm.yaml")
    tspec(vm)["volumes"][1]["cloudInitNoCloud"]["networkData"] = (
        "version: 2\nethernets:\n  enp1s0:\n    dhcp4: true\n  enp2s0:\n    dhcp4: true\n"
        "    routes:\n    - to: 10.99.0.0/16\n      via: 10.40.0.1\n"
    )
    path = write(tmp_path, "vm.yaml", vm)
    refused(
        set_local(virtnet, path, "--mode", "masquerade"),
        "networkData entry 'enp2s0' (NIC ovs-bridge2, which the edit removes) carries routes (10.99.0.0/16 via "
        "10.40.0.1)",
    )
    ok(
        set_local(
            virtnet,
            path,
            "--mode",
            "bridge",
            "--nic",
            "network=kube-system/ovs-vlan30,pool=a",
            "--nic",
            "network=kube-system/ovs-vlan40,pool=b",
        )
    )


def test_refuses_a_pool_that_exists_with_another_spec(virtnet: Run, tmp_path: Path) -> None:
    pool = {
        "apiVersion": "spiderpool.spidernet.io/v2beta1",
        "kind": "SpiderIPPool",
        "metadata": {"name": "10-7-v4"},
        "spec": {"subnet": "10.8.0.0/16", "ips": ["10.8.0.10"]},
    }
    path = write(tmp_path, "vm.yaml", guide(), pool)
    refused(set_local(virtnet, path, "--mode", "passt", "--nic", MACVLAN), "SpiderIPPool 10-7-v4 already exists")


def test_refuses_tcp_probes_without_a_pod_network(virtnet: Run, tmp_path: Path) -> None:
    vm = guide()
    tspec(vm)["livenessProbe"] = {"tcpSocket": {"port": 22}}
    refused(
        set_local(virtnet, write(tmp_path, "vm.yaml", vm), "--mode", "bridge", *OVS), "livenessProbe with tcpSocket"
    )


def test_existing_matching_pool_and_multus_config_in_the_file_are_reused(virtnet: Run, tmp_path: Path) -> None:
    pool = {
        "apiVersion": "spiderpool.spidernet.io/v2beta1",
        "kind": "SpiderIPPool",
        "metadata": {"name": "lan"},
        "spec": {"subnet": "10.7.0.0/16", "gateway": "10.7.0.1", "ips": ["10.7.120.100-10.7.120.200"]},
    }
    smc = {
        "apiVersion": "spiderpool.spidernet.io/v2beta1",
        "kind": "SpiderMultusConfig",
        "metadata": {"name": "uplink", "namespace": "kube-system"},
        "spec": {"cniType": "macvlan", "macvlan": {"master": ["ens192"], "vlanID": 0}},
    }
    path = write(tmp_path, "vm.yaml", guide(), pool, smc)
    proc = ok(set_local(virtnet, path, "--mode", "passt", "--nic", MACVLAN.replace(",pool=10-7-v4", "")))
    docs = documents(proc.stdout)
    assert [d["kind"] for d in docs] == ["VirtualMachine", "SpiderIPPool", "SpiderMultusConfig"], "nothing added"
    assert docs[1] == pool
    assert docs[2] == smc
    assert annotations(docs[0]) == {
        "v1.multus-cni.io/default-network": "kube-system/uplink",
        "ipam.spidernet.io/ippools": '[{"interface":"eth0","ipv4":["lan"]}]',
    }
    assert "uses the existing SpiderIPPool lan" in proc.stderr
    assert "uses the existing SpiderMultusConfig kube-system/uplink" in proc.stderr


# --- networkData -------------------------------------------------------------------------------------------------


def cloud_vm(source: str, field: str, text: str) -> dict[str, Any]:
    vm = guide()
    vol = tspec(vm)["volumes"][1]
    ci = vol.pop("cloudInitNoCloud")
    vol[source] = ci
    if field == "networkDataBase64":
        ci[field] = base64.b64encode(text.encode()).decode()
    elif field == "networkDataSecretRef":
        ci[field] = {"name": "nd"}
    else:
        ci[field] = text
    return vm


V2 = "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n    mtu: 1400\n"
OPENSTACK = json.dumps(
    {
        "links": [{"id": "l0", "type": "phy", "mtu": 1400}],
        "networks": [{"id": "n0", "link": "l0", "type": "ipv4_dhcp"}],
        "services": [],
    }
)


def decoded(ci: dict[str, Any], field: str, secret: dict[str, Any] | None = None) -> str:
    if field == "networkDataBase64":
        return base64.b64decode(ci[field]).decode()
    if field == "networkDataSecretRef":
        assert secret is not None
        return base64.b64decode(secret["data"]["networkdata"]).decode()
    return str(ci[field])


@pytest.mark.parametrize("source", ["cloudInitNoCloud", "cloudInitConfigDrive"])
@pytest.mark.parametrize("field", ["networkData", "networkDataBase64", "networkDataSecretRef"])
def test_network_data_is_rewritten_wherever_it_is(virtnet: Run, tmp_path: Path, source: str, field: str) -> None:
    text = OPENSTACK if source == "cloudInitConfigDrive" else V2
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "nd"},
        "type": "Opaque",
        "data": {"networkdata": base64.b64encode(text.encode()).decode()},
    }
    path = write(tmp_path, "vm.yaml", cloud_vm(source, field, text), secret)
    extra = ["--update-secret"] if field == "networkDataSecretRef" else []
    proc = ok(set_local(virtnet, path, "--mode", "bridge", *OVS, *extra))
    docs = documents(proc.stdout)
    vm = docs[0]
    ci = tspec(vm)["volumes"][1][source]
    assert [k for k in ci if k.startswith("networkData")] == [field], "the networkData stays where it was"
    new = decoded(ci, field, docs[1] if field == "networkDataSecretRef" else None)
    macs = [i["macAddress"] for i in tspec(vm)["domain"]["devices"]["interfaces"]]
    if source == "cloudInitConfigDrive":
        data = json.loads(new)
        assert data["links"] == [
            {"id": "l0", "type": "phy", "mtu": 1400, "ethernet_mac_address": macs[0]},
            {"id": "nic2", "type": "phy", "ethernet_mac_address": macs[1]},
        ]
        assert [(n["link"], n["type"]) for n in data["networks"]] == [("l0", "ipv4_dhcp"), ("nic2", "ipv4_dhcp")]
    else:
        assert yaml.safe_load(new)["ethernets"] == {
            "eth0": {"match": {"macaddress": macs[0]}, "dhcp4": True, "mtu": 1400},
            "nic2": {"match": {"macaddress": macs[1]}, "dhcp4": True, "dhcp4-overrides": {"use-routes": False}},
        }
    if field == "networkDataSecretRef":
        without = ok(set_local(virtnet, path, "--mode", "bridge", *OVS))
        assert documents(without.stdout)[1] == secret, "the Secret changes only with --update-secret"
        assert "rerun with --update-secret" in without.stderr
        assert base64.b64encode(text.encode()).decode() not in without.stderr, "Secret data is never printed"


# --- comments and diffs ------------------------------------------------------------------------------------------


COMMENTED = """\
# my VM, kept in git
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: commented  # the name
spec:
  runStrategy: Halted
  template:
    metadata:
      labels:
        app: web  # used by the service
    spec:
      domain:
        devices:
          disks:
          - name: root  # boot disk
            disk: {bus: virtio}
          interfaces:
          - name: default
            masquerade: {}  # old binding
        resources:
          requests:
            memory: "1Gi"
      networks:
      - name: default
        pod: {}
      volumes:
      - name: root
        containerDisk:
          image: quay.io/containerdisks/fedora:latest  # image
"""


def test_comments_survive_and_the_diff_shows_only_the_edit(virtnet: Run, tmp_path: Path) -> None:
    path = tmp_path / "vm.yaml"
    path.write_text(COMMENTED)
    proc = ok(set_local(virtnet, path, "--mode", "passt", "--nic", MACVLAN))
    for comment in ("# my VM, kept in git", "# the name", "# used by the service", "# boot disk", "# image"):
        assert comment in proc.stdout
    assert 'memory: "1Gi"' in proc.stdout, "quotes stay"
    assert "disk: {bus: virtio}" in proc.stdout, "flow style stays"
    assert "takes effect at the next start" in proc.stderr
    diff = ok(set_local(virtnet, path, "--mode", "passt", "--nic", MACVLAN, "--diff"))
    lines = diff.stdout.splitlines()
    assert lines[0].startswith("--- a/")
    assert lines[1].startswith("+++ b/")
    changed = [line for line in lines[2:] if line[:1] in "+-"]
    assert changed == [
        "+      annotations:",
        "+        v1.multus-cni.io/default-network: kube-system/macvlan-ens192",
        '+        ipam.spidernet.io/ippools: \'[{"interface":"eth0","ipv4":["10-7-v4"]}]\'',
        "-            masquerade: {}  # old binding",
        "+            passtBinding: {}",
    ]
    assert path.read_text() == COMMENTED, "--local never writes the file"


def test_bad_input_is_exit_2(virtnet: Run, tmp_path: Path) -> None:
    proc = virtnet("set", "network", "-f", str(MASQUERADE_VM), "--mode", "passt")
    assert proc.returncode == 2
    assert "add --local" in proc.stderr
    proc = set_local(virtnet, MASQUERADE_VM, "--mode", "passt", "--nic", "master=ens192")
    assert proc.returncode == 2
    assert "--nic #1" in proc.stderr
    assert "Traceback" not in proc.stderr
    empty = tmp_path / "none.yaml"
    empty.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    proc = set_local(virtnet, empty, "--mode", "masquerade")
    assert proc.returncode == 2
    assert "holds no VirtualMachine" in proc.stderr
