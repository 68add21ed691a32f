"""`virtnet modes` filters and citations, `virtnet rules` (all rules, one rule in full), as a user runs them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest

from tests.cli.test_cli import assert_one_line_error

Run = Callable[..., subprocess.CompletedProcess[str]]


def test_modes_filters_by_mode_and_cni(virtnet: Run) -> None:
    result = virtnet("modes", "--mode", "passt", "--cni", "ipvlan", "-o", "json")
    assert result.returncode == 0, result.stderr
    assert [(m["mode"], m["cni"]) for m in json.loads(result.stdout)["modes"]] == [("passt", "ipvlan")]
    text = virtnet("modes", "--mode", "masquerade")
    assert text.returncode == 0
    assert "passt " not in text.stdout
    assert "masquerade  flannel" in text.stdout
    assert_one_line_error(virtnet("modes", "--mode", "bridge", "--cni", "macvlan"), "--cni", "macvlan", "ovs")


@pytest.mark.parametrize("sp", ["v0.8.0", "v1.0.0", "v1.2.2"])
def test_modes_cites_the_spiderpool_doc_of_the_target_version(virtnet: Run, sp: str) -> None:
    result = virtnet("modes", "--spiderpool-version", sp, "--mode", "bridge")
    assert result.returncode == 0
    assert f"SP@{sp}:docs/usage/kubevirt.md" in result.stdout
    others = {"v0.8.0", "v1.0.0", "v1.2.2"} - {sp}
    assert not any(f"SP@{o}:docs/usage/kubevirt.md" in result.stdout for o in others)


def test_rules_lists_every_rule(virtnet: Run) -> None:
    text = virtnet("rules")
    assert text.returncode == 0
    data = json.loads(virtnet("rules", "-o", "json").stdout)
    codes = [r["code"] for r in data]
    assert codes == sorted(codes)
    assert len(codes) == len(set(codes)) >= 20
    for rule in data:
        assert f"{rule['code']}  {rule['slug']}" in text.stdout


@pytest.mark.parametrize("key", ["VN008", "vn008", "nad-not-found"])
def test_rules_shows_one_rule_in_full(virtnet: Run, key: str) -> None:
    data = {r["code"]: r for r in json.loads(virtnet("rules", "-o", "json").stdout)}
    rule = data["VN008"]
    result = virtnet("rules", key)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("VN008 nad-not-found")
    for part in (rule["summary"], rule["why"], rule["fix"], *rule["references"]):
        assert part in out
    assert "ignore-check.virtnet.io/nad-not-found" in out
    assert "VN009" not in out
    one = json.loads(virtnet("rules", key, "-o", "json").stdout)
    assert one["code"] == "VN008"


def test_rules_unknown_rule_is_an_error(virtnet: Run) -> None:
    assert_one_line_error(virtnet("rules", "nad-not-foun"), "nad-not-foun", "virtnet rules")


TWO_NIC_VM_ONE_ETHERNET = """\
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: vm1, namespace: default}
spec:
  runStrategy: Halted
  template:
    spec:
      domain:
        devices:
          interfaces:
          - {name: a, bridge: {}, macAddress: "02:00:00:00:00:0a"}
          - {name: b, bridge: {}, macAddress: "02:00:00:00:00:0b"}
      networks:
      - {name: a, multus: {default: true, networkName: kube-system/a}}
      - {name: b, multus: {networkName: kube-system/b}}
      volumes:
      - name: cloudinitdisk
        cloudInitNoCloud:
          networkData: |
            version: 2
            ethernets:
              a: {match: {macaddress: "02:00:00:00:00:0a"}, dhcp4: true}
"""


def test_one_entry_is_singular_in_lint_messages(virtnet: Run) -> None:
    result = virtnet("lint", "-", "--enable", "cloudinit-network-mismatch", stdin=TWO_NIC_VM_ONE_ETHERNET)
    assert "networkData configures 1 ethernet entry (" in result.stdout, result.stdout
    assert "1 ethernet entries" not in result.stdout
