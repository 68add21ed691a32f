"""Issue 9, the lint part: what a new user hit, through the `virtnet` console script."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli import assert_one_line_error

Run = Callable[..., subprocess.CompletedProcess[str]]

VM = """\
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: {name}
  namespace: default{annotations}
spec:
  runStrategy: Always
  template:
    spec:
      domain:
        devices:
          interfaces:
          - name: default
            masquerade: {{}}
        resources:
          requests:
            memory: 1Gi
      networks:
      - name: default
        pod: {{}}
"""

BRIDGE_VM = """\
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: two-nics
  namespace: default
spec:
  runStrategy: Always
  template:
    spec:
      domain:
        devices:
          interfaces:
          - name: default
            masquerade: {}
          - name: ovs
            bridge: {}
        resources:
          requests:
            memory: 1Gi
      networks:
      - name: default
        pod: {}
      - name: ovs
        multus:
          networkName: kube-system/ovs-vlan30
      volumes:
      - name: cloudinitdisk
        cloudInitNoCloud:
          userData: "#cloud-config\\n"
"""

SMC = """\
apiVersion: spiderpool.spidernet.io/v2beta1
kind: SpiderMultusConfig
metadata:
  name: ovs-vlan30
  namespace: kube-system
spec:
  cniType: ovs
  ovs:
    bridge: br1
    vlan: 30
"""


def pool(name: str, subnet: str, ips: str) -> str:
    return (
        f"apiVersion: spiderpool.spidernet.io/v2beta1\nkind: SpiderIPPool\nmetadata:\n  name: {name}\nspec:\n"
        f"  subnet: {subnet}\n  ips:\n  - {ips}\n"
    )


def lint_json(virtnet: Run, *args: str) -> tuple[int, dict[str, Any]]:
    result = virtnet("lint", "-o", "json", *args)
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)


def findings(data: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in data["findings"] if f["code"] == code]


# --- bug 2: duplicate objects ---------------------------------------------------------------------------------------


def test_the_same_object_in_two_files_is_an_error_at_both_locations(virtnet: Run, tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(VM.format(name="p1", annotations=""))
    (tmp_path / "b.yaml").write_text("# the same VM again\n" + VM.format(name="p1", annotations=""))
    (tmp_path / "c.yaml").write_text(VM.format(name="p2", annotations=""))
    code, data = lint_json(virtnet, str(tmp_path))
    assert code == 1
    dup = findings(data, "VN040")
    assert [(Path(f["file"]).name, f["line"]) for f in dup] == [("a.yaml", 4), ("b.yaml", 5)]
    assert all(f["severity"] == "error" and f["object"]["name"] == "p1" for f in dup)
    assert "b.yaml:" in dup[0]["message"]
    assert "a.yaml:" in dup[1]["message"]
    text = virtnet("lint", str(tmp_path))
    assert "VN040 duplicate-object" in text.stdout


# --- bug 7 / rough edge 2: fix texts -------------------------------------------------------------------------------


def test_vn020_fix_names_the_real_secretref_field(virtnet: Run) -> None:
    (rule,) = [r for r in json.loads(virtnet("rules", "-o", "json").stdout) if r["code"] == "VN020"]
    assert "userDataSecretRef" not in rule["fix"]
    assert "cloudInitNoCloud.secretRef" in rule["fix"]


def test_vn012_fix_names_this_pools_subnet(virtnet: Run, tmp_path: Path) -> None:
    path = tmp_path / "pool.yaml"
    path.write_text(pool("p", "10.30.1.0/16", "10.30.1.10-10.30.1.20"))
    code, data = lint_json(virtnet, str(path))
    assert code == 1
    (found,) = [f for f in findings(data, "VN012") if f["path"] == "spec.subnet"]
    assert "10.30.0.0/16" in found["fix"]
    assert "10.7.0.0/16" not in found["fix"]


def test_vn004_core_passt_fix_is_about_the_single_interface(virtnet: Run, tmp_path: Path) -> None:
    path = tmp_path / "vm.yaml"
    path.write_text(
        BRIDGE_VM.replace("masquerade: {}", "passt: {}").replace("name: two-nics", "name: passt2") + "---\n" + SMC
    )
    code, data = lint_json(virtnet, "--kubevirt-version", "v1.0.1", str(path))
    assert code == 1
    (found,) = [f for f in findings(data, "VN004") if "only interface" in f["message"]]
    assert "bridge" not in found["fix"]
    assert "other 1 interface" in found["fix"]


# --- rough edge 3: VN013 once per pair ------------------------------------------------------------------------------


def test_vn013_reports_each_overlapping_pair_once(virtnet: Run, tmp_path: Path) -> None:
    path = tmp_path / "pools.yaml"
    path.write_text(
        pool("wide", "10.30.0.0/16", "10.30.0.10-10.30.0.20") + "---\n" + pool("narrow", "10.30.0.0/24", "10.30.0.100")
    )
    code, data = lint_json(virtnet, str(path))
    assert code == 1
    found = findings(data, "VN013")
    assert [f["object"]["name"] for f in found] == ["narrow"]
    assert "wide" in found[0]["message"]


# --- rough edge 4: checks that could not run; empty input -----------------------------------------------------------


def test_summary_says_which_cross_object_checks_could_not_run(virtnet: Run, tmp_path: Path) -> None:
    path = tmp_path / "vm.yaml"
    path.write_text(BRIDGE_VM)
    _, data = lint_json(virtnet, str(path))
    not_run = {n["code"]: n for n in data["summary"]["notRun"]}
    assert {"VN008", "VN006"} <= set(not_run)
    assert "NetworkAttachmentDefinition" in not_run["VN008"]["reason"]
    assert "KubeVirt" in not_run["VN006"]["reason"]
    text = virtnet("lint", str(path)).stdout
    for needle in ("not run", "nad-not-found", "virtnet lint --cluster"):
        assert needle in text
    # with the SpiderMultusConfig in the input VN008 runs (and finds nothing): no longer listed
    path.write_text(BRIDGE_VM + "---\n" + SMC)
    _, data = lint_json(virtnet, str(path))
    assert "VN008" not in {n["code"] for n in data["summary"].get("notRun", [])}
    # --disable: a rule that was not asked for is not reported as not run
    _, data = lint_json(virtnet, "--disable", "VN006", str(path))
    assert "VN006" not in {n["code"] for n in data["summary"].get("notRun", [])}


@pytest.mark.parametrize("kind", ["empty-dir", "comments-only", "no-manifest-suffix"])
def test_input_without_manifests_is_an_input_error(virtnet: Run, tmp_path: Path, kind: str) -> None:
    target = tmp_path / "in"
    target.mkdir()
    if kind == "comments-only":
        target = target / "c.yaml"
        target.write_text("# nothing here\n---\n")
    elif kind == "no-manifest-suffix":
        (target / "notes.txt").write_text(VM.format(name="x", annotations=""))
    result = virtnet("lint", str(target))
    assert_one_line_error(result, str(target), "nothing to check")
    assert "0 objects" not in result.stdout


# --- rough edge 5: 2-NIC bridge VM without networkData -------------------------------------------------------------


def test_two_nic_bridge_vm_without_network_data_warns(virtnet: Run, tmp_path: Path) -> None:
    path = tmp_path / "vm.yaml"
    path.write_text(BRIDGE_VM + "---\n" + SMC)
    code, data = lint_json(virtnet, str(path))
    found = findings(data, "VN019")
    assert len(found) == 1, data["findings"]
    assert found[0]["severity"] == "warning"
    assert "networkData" in found[0]["message"]
    assert "ovs" in found[0]["message"]
    assert code == 0  # a warning
    assert virtnet("lint", "--strict", str(path)).returncode == 1


# --- rough edge 6: unknown suppression ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [("cloudinit-network-mismatc", "cloudinit-network-mismatch"), ("VN019", "cloudinit-network-mismatch")],
)
def test_suppression_of_an_unknown_rule_warns_with_did_you_mean(
    virtnet: Run, tmp_path: Path, key: str, suggestion: str
) -> None:
    path = tmp_path / "vm.yaml"
    annotations = f'\n  annotations:\n    ignore-check.virtnet.io/{key}: "we know"'
    path.write_text(VM.format(name="v", annotations=annotations))
    code, data = lint_json(virtnet, str(path))
    found = findings(data, "VN041")
    assert len(found) == 1, data["findings"]
    assert found[0]["severity"] == "warning"
    assert f"did you mean ignore-check.virtnet.io/{suggestion}" in found[0]["message"]
    assert found[0]["line"] == 7
    assert code == 0


def test_duplicates_are_found_when_a_large_input_is_linted_streaming(virtnet: Run, tmp_path: Path) -> None:
    vms = "---\n".join(VM.format(name=f"vm{i}", annotations="") for i in range(3000))
    assert len(vms) > 1_000_000  # virtnet.cli.lint.STREAM_BYTES: the VMs are checked one document at a time
    (tmp_path / "many.yaml").write_text(vms)
    (tmp_path / "again.yaml").write_text(VM.format(name="vm2999", annotations=""))
    code, data = lint_json(virtnet, "--enable", "duplicate-object", str(tmp_path))
    assert code == 1
    dup = findings(data, "VN040")
    assert sorted((Path(f["file"]).name, f["line"]) for f in dup) == [("again.yaml", 4), ("many.yaml", 2999 * 21 + 4)]
    assert data["summary"]["objects"] == 3001
