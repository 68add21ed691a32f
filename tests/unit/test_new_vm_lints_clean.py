"""Everything `virtnet new vm` can produce lints clean with `virtnet lint` for the same versions (issue 9, bug 3):
a matrix of modes, CNIs, NIC shapes and options over every KubeVirt minor and the SpiderPool lines.

Both commands run in process through the CLI entry point (`virtnet.cli.main.main`, the function the console script
calls) so the matrix stays fast; tests/cli/test_new_vm.py runs the installed script on representative cases.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from virtnet.cli.main import main
from virtnet.model.capabilities import PASST_BINDING_FIRST, PASST_PLUGIN_FIRST, passt_binding_for
from virtnet.model.versions import V, Version

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFdrc13d8dLllgF33no/g0Y7M+vlt5yyjM+ljpm+m1xX matrix@virtnet\n"
KUBEVIRT = ["v1.0.1", "v1.1.1", "v1.2.0", "v1.3.0", "v1.4.0", "v1.5.0", "v1.6.0", "v1.7.0", "v1.8.0", "v1.9.0"]
SPIDERPOOL = ["v0.8.0", "v0.9.2", "v1.0.0", "v1.2.2"]
PAIRS = [(kv, sp) for i, kv in enumerate(KUBEVIRT) for sp in (SPIDERPOOL[i % len(SPIDERPOOL)], SPIDERPOOL[-1])]

PASST = "master=ens192,subnet=10.7.0.0/16,gateway=10.7.0.1,ips=10.7.120.100-10.7.120.200,pool=10-7-v4"
PASST_VLAN = "master=ens192,vlan=20,subnet=10.20.0.0/24,gateway=10.20.0.1,ips=10.20.0.10-10.20.0.99"
OVS30 = "bridge=br1,vlan=30,subnet=10.30.0.0/24,gateway=10.30.0.1,ips=10.30.0.10-10.30.0.99,exclude=10.30.0.50"
OVS40 = "bridge=br-data,vlan=40,subnet=10.40.0.0/24,gateway=10.40.0.1,ips=10.40.0.10-10.40.0.99,mac=02:aa:bb:cc:dd:01"
V6 = "bridge=br1,subnet=fd00:30::/64,gateway=fd00:30::1,ips=fd00:30::10-fd00:30::ff"


def variants(kv: Version, sp: Version) -> dict[str, list[str]]:
    """name → `new vm` arguments that are valid for these versions."""
    out: dict[str, list[str]] = {
        "masquerade-calico": ["--mode", "masquerade", "--cni", "calico"],
        "masquerade-cilium": ["--mode", "masquerade", "--cni", "cilium"],
        "masquerade-flannel": ["--mode", "masquerade", "--cni", "flannel"],
        "masquerade-alone": ["--mode", "masquerade", "--without-spiderpool", "--nic", "mac=02:12:34:56:78:9a"],
        "masquerade-datavolume-migrate": [
            "--mode", "masquerade", "--disk", "datavolume", "--access-mode", "ReadWriteMany",
            "--eviction-strategy", "LiveMigrate", "--storage-class", "ceph", "--disk-size", "20Gi",
        ],
        "masquerade-ovs": ["--mode", "masquerade", "--nic", OVS30, "--nic", OVS40, "--node-selector", "ovs=true"],
        "passt-macvlan": ["--mode", "passt", "--cni", "macvlan", "--nic", PASST],
        "passt-ipvlan-vlan": ["--mode", "passt", "--cni", "ipvlan", "--nic", PASST_VLAN, "--no-coordinator"],
        "bridge-two": ["--mode", "bridge", "--nic", OVS30, "--nic", OVS40, "--cpu-cores", "2", "--memory", "2Gi"],
        "bridge-v6": ["--mode", "bridge", "--nic", V6, "--user", "ops"],
    }  # fmt: skip
    if passt_binding_for(kv).value != "passt":  # not core passt: OVS NICs may follow the passt NIC
        out["passt-ovs"] = ["--mode", "passt", "--nic", PASST, "--nic", OVS30]
    if sp >= V("v0.8.2"):
        out["bridge-ordered"] = ["--mode", "bridge", "--nic", OVS30, "--nic", OVS40, "--ippool-interfaces", "ordered"]
    if PASST_PLUGIN_FIRST <= kv < PASST_BINDING_FIRST:
        out["passt-plugin"] = ["--mode", "passt", "--nic", PASST, "--passt", "plugin"]
    if kv >= PASST_BINDING_FIRST:
        out["passt-binding-ovs-dv"] = [
            "--mode", "passt", "--nic", PASST, "--nic", OVS40, "--disk", "datavolume", "--passt", "passtBinding",
        ]  # fmt: skip
    return out


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code in (0, 1), err  # 1: lint found errors, which the caller reports with the findings
    return out


@pytest.mark.parametrize(("kv", "sp"), PAIRS, ids=[f"kv-{kv}__sp-{sp}" for kv, sp in PAIRS])
def test_everything_new_vm_renders_lints_clean(
    kv: str, sp: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "id.pub"
    key.write_text(KEY)
    monkeypatch.setenv("HOME", str(tmp_path))
    versions = ["--kubevirt-version", kv, "--spiderpool-version", sp]
    for name, args in variants(V(kv), V(sp)).items():
        bundle = run(
            capsys, monkeypatch, "new", "vm", name, "-n", f"ns-{name}", *args, *versions, "--ssh-key", str(key),
            "--include-kubevirt-patch", "-q",
        )  # fmt: skip
        assert bundle.startswith("---"), f"{name}: no bundle"
        report = json.loads(run(capsys, monkeypatch, "lint", "-", *versions, "-o", "json", stdin=bundle))
        assert report["findings"] == [], f"{name} on KubeVirt {kv}, SpiderPool {sp}"
        assert report["summary"]["objects"] == bundle.count("\n---\n") + 1  # every object was linted
        assert report["summary"]["errors"] == report["summary"]["warnings"] == 0
