"""`virtnet new vm` and `virtnet render`, run as a user would (issue 9): what they write, what they refuse and how
their errors name the flag."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli.conftest import ROOT
from tests.cli.test_cli import GUIDE_FLAGS, assert_one_line_error

Run = Callable[..., subprocess.CompletedProcess[str]]

PASST_NIC = "master=ens192,subnet=10.7.0.0/16,gateway=10.7.0.1,ips=10.7.120.100-10.7.120.200,pool=10-7-v4"
OVS_NIC = "bridge=br1,vlan=30,subnet=10.30.0.0/24,gateway=10.30.0.1,ips=10.30.0.10-10.30.0.99"


def objects_of(stdout: str) -> list[dict[str, Any]]:
    return [o for o in yaml.safe_load_all(stdout) if o]


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def lint_clean(virtnet: Run, stdout: str, *versions: str) -> None:
    result = virtnet("lint", "-", *versions, "-o", "json", stdin=stdout)
    report = json.loads(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["findings"] == [], report["findings"]


# --- Bug 1: --out-dir never mixes an earlier bundle with this one ----------------------------------------------------


def test_out_dir_replaces_only_its_own_earlier_bundle_and_says_which(
    virtnet: Run, ssh_key: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bundle"
    old = virtnet(*GUIDE_FLAGS, "--ssh-key", str(ssh_key), "--kubevirt-version", "v1.0.1", "--out-dir", str(out))
    assert old.returncode == 0, old.stderr
    assert (out / "05-virtualmachine-passt-macvlan-spiderpool.yaml").exists()
    new = virtnet(*GUIDE_FLAGS, "--ssh-key", str(ssh_key), "--kubevirt-version", "v1.9.0", "--out-dir", str(out))
    assert new.returncode == 0, new.stderr
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))
    assert files == [
        "01-spiderippool-10-7-v4.yaml",
        "02-spidermultusconfig-macvlan-ens192.yaml",
        "03-secret-passt-macvlan-spiderpool-cloudinit.yaml",
        "04-virtualmachine-passt-macvlan-spiderpool.yaml",
    ]
    assert "passt: {}" not in (out / "04-virtualmachine-passt-macvlan-spiderpool.yaml").read_text()
    # the files of the earlier bundle that are gone are named
    assert "05-virtualmachine-passt-macvlan-spiderpool.yaml" in new.stderr
    assert "patches/03-kubevirt-kubevirt.yaml" in new.stderr


def test_out_dir_refuses_a_directory_with_files_virtnet_did_not_write(
    virtnet: Run, ssh_key: Path, tmp_path: Path
) -> None:
    out = tmp_path / "manifests"
    out.mkdir()
    (out / "my-vm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mine}\n")
    result = virtnet(*GUIDE_FLAGS, "--ssh-key", str(ssh_key), "--out-dir", str(out))
    assert_one_line_error(result, str(out), "--out-dir", "my-vm.yaml")
    assert sorted(p.name for p in out.iterdir()) == ["my-vm.yaml"]  # nothing written, nothing removed


# --- Bug 3: new vm accepts nothing its own lint rejects --------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "nic", "needles"),
    [
        ("passt", PASST_NIC + ",mac=01:00:00:00:00:01", ["--nic #1 mac", "multicast"]),
        ("masquerade", "mac=02:00:00:00:00:00", ["--nic #1 mac", "reserved"]),
    ],
)
def test_a_mac_lint_rejects_is_refused(virtnet: Run, ssh_key: Path, mode: str, nic: str, needles: list[str]) -> None:
    result = virtnet("new", "vm", "vm1", "--mode", mode, "--nic", nic, "--ssh-key", str(ssh_key))
    assert_one_line_error(result, *needles)


def test_a_mac_in_an_intent_file_is_checked_like_lint_does(virtnet: Run, tmp_path: Path) -> None:
    path = tmp_path / "vm.yaml"
    path.write_text(
        "apiVersion: virtnet.io/v1alpha1\nkind: VMNetwork\nmetadata: {name: a}\nspec:\n  mode: passt\n  nics:\n"
        "  - master: ens192\n    mac: 03:00:00:00:00:01\n"
        "    pools: [{subnet: 10.7.0.0/16, ips: [10.7.1.1]}]\n"
    )
    assert_one_line_error(virtnet("render", str(path)), f"{path}:8:5", "spec.nics[0].mac", "multicast")


# --- Bug 8: each --nic value is checked itself and the key is named ---------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "nic", "needles"),
    [
        ("bridge", "bridge=br1 subnet=10.30.0.0/24", ["--nic #1 bridge", "'br1 subnet=10.30.0.0/24'", "space"]),
        ("passt", "master=ens192;rm,subnet=10.7.0.0/16,ips=10.7.1.1", ["--nic #1 master", "'ens192;rm'", "';'"]),
        ("passt", f"master={'e' * 24},subnet=10.7.0.0/16,ips=10.7.1.1", ["--nic #1 master", "24 bytes", "15"]),
        ("passt", "master=ens:1,subnet=10.7.0.0/16,ips=10.7.1.1", ["--nic #1 master", "':'"]),
        ("passt", "master=..,subnet=10.7.0.0/16,ips=10.7.1.1", ["--nic #1 master", "'..'"]),
        (
            "passt",
            "master=enp11s0f0np0,vlan=300,subnet=10.7.0.0/16,ips=10.7.1.1",
            ["--nic #1 vlan", "enp11s0f0np0.300", "16 bytes"],
        ),
        ("bridge", f"bridge={'b' * 16},subnet=10.30.0.0/24,ips=10.30.0.9", ["--nic #1 bridge", "15"]),
        ("passt", "master=ens192,subnet=10.7.0.0/16,ips=10.7.1.1,pool=Pool_1", ["--nic #1 pool", "'Pool_1'"]),
    ],
)
def test_nic_values_are_checked_and_the_key_named(
    virtnet: Run, ssh_key: Path, mode: str, nic: str, needles: list[str]
) -> None:
    result = virtnet("new", "vm", "vm1", "--mode", mode, "--nic", nic, "--ssh-key", str(ssh_key))
    assert_one_line_error(result, *needles)
    assert "SpiderMultusConfig name" not in result.stderr


# --- Bug 10 / Rough edge 9: the KubeVirt CR change never goes where `kubectl apply` takes it whole --------------------


def test_stdout_leaves_the_kubevirt_patch_out_and_says_so(virtnet: Run, ssh_key: Path) -> None:
    result = virtnet(*GUIDE_FLAGS, "--ssh-key", str(ssh_key), "--kubevirt-version", "v1.0.1", "-q")
    assert result.returncode == 0, result.stderr
    kinds = [o["kind"] for o in objects_of(result.stdout)]
    assert kinds == ["SpiderIPPool", "SpiderMultusConfig", "Secret", "VirtualMachine"]
    assert "--include-kubevirt-patch" in result.stderr  # a warning: shown even with -q
    assert "feature gate Passt" in result.stderr


@pytest.mark.parametrize("output", ["yaml", "json"])
def test_include_kubevirt_patch_has_no_explanations_to_apply(virtnet: Run, ssh_key: Path, output: str) -> None:
    result = virtnet(
        *GUIDE_FLAGS, "--ssh-key", str(ssh_key), "--kubevirt-version", "v1.5.0", "--include-kubevirt-patch",
        "-o", output,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    objects = json.loads(result.stdout)["items"] if output == "json" else objects_of(result.stdout)
    (kubevirt,) = by_kind(objects, "KubeVirt")
    assert "annotations" not in kubevirt["metadata"]
    assert "virtnet.io/" not in json.dumps(kubevirt)
    assert kubevirt["spec"]["configuration"]["network"]["binding"]["passt"]["sidecarImage"].endswith(":v1.5.0")


def test_patch_file_in_out_dir_explains_itself_in_a_comment_only(virtnet: Run, ssh_key: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    result = virtnet(*GUIDE_FLAGS, "--ssh-key", str(ssh_key), "--kubevirt-version", "v1.0.1", "--out-dir", str(out))
    assert result.returncode == 0, result.stderr
    text = (out / "patches" / "03-kubevirt-kubevirt.yaml").read_text()
    assert text.startswith("#")
    assert "kubectl patch" in text
    assert "feature gate Passt" in text
    patch = yaml.safe_load(text)
    assert "annotations" not in patch["metadata"]


def test_render_to_stdout_leaves_the_patch_out_too(virtnet: Run) -> None:
    result = virtnet("render", "examples/passt-macvlan-spiderpool.yaml")
    assert result.returncode == 0, result.stderr
    assert "KubeVirt" not in [o["kind"] for o in objects_of(result.stdout)]
    assert "--include-kubevirt-patch" in result.stderr
    full = virtnet("render", "examples/passt-macvlan-spiderpool.yaml", "--include-kubevirt-patch")
    assert "KubeVirt" in [o["kind"] for o in objects_of(full.stdout)]


# --- Rough edge 1: errors about flags give flag advice ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "advice", "intent_words"),
    [
        (
            ["--mode", "passt", "--nic", PASST_NIC, "--ippool-interfaces", "ordered", "--spiderpool-version", "v0.8.0"],
            "--ippool-interfaces named",
            ["ippoolInterfaces"],
        ),
        (
            ["--mode", "masquerade", "--eviction-strategy", "LiveMigrate", "--access-mode", "ReadWriteOnce"],
            "--access-mode ReadWriteMany",
            ["vm.disk", "accessMode"],
        ),
        (
            ["--mode", "passt", "--nic", "master=ens192,subnet=10.7.0.0/16,gateway=10.7.0.1,ips=10.7.0.1-10.7.0.9"],
            "exclude=",
            ["excludeIPs"],
        ),
    ],
)
def test_flag_errors_give_flag_advice(
    virtnet: Run, ssh_key: Path, args: list[str], advice: str, intent_words: list[str]
) -> None:
    result = virtnet("new", "vm", "vm1", "--ssh-key", str(ssh_key), *args)
    assert_one_line_error(result, advice)
    for word in intent_words:
        assert word not in result.stderr


# --- Rough edge 7: passt or masquerade primary + OVS secondary NICs -------------------------------------------------


def test_passt_primary_with_ovs_secondary_nics_lints_clean(virtnet: Run, ssh_key: Path) -> None:
    result = virtnet(
        "new", "vm", "mixed", "--mode", "passt", "--cni", "macvlan", "--nic", PASST_NIC, "--nic", OVS_NIC,
        "--ssh-key", str(ssh_key), "--kubevirt-version", "v1.9.0", "--include-kubevirt-patch",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    objects = objects_of(result.stdout)
    smcs = {o["spec"]["cniType"]: o for o in by_kind(objects, "SpiderMultusConfig")}
    assert set(smcs) == {"macvlan", "ovs"}
    (vm,) = by_kind(objects, "VirtualMachine")
    spec = vm["spec"]["template"]["spec"]
    primary, secondary = spec["domain"]["devices"]["interfaces"]
    assert "passtBinding" in primary
    assert secondary["bridge"] == {}
    assert spec["networks"] == [
        {"name": "default", "pod": {}},
        {"name": "nic2", "multus": {"networkName": "kube-system/ovs-vlan30"}},
    ]
    lint_clean(virtnet, result.stdout, "--kubevirt-version", "v1.9.0")


def test_passt_with_secondary_nics_is_refused_where_core_passt_must_be_alone(virtnet: Run, ssh_key: Path) -> None:
    result = virtnet(
        "new", "vm", "mixed", "--mode", "passt", "--nic", PASST_NIC, "--nic", OVS_NIC, "--ssh-key", str(ssh_key),
        "--kubevirt-version", "v1.0.1",
    )  # fmt: skip
    assert_one_line_error(result, "--nic #2", "only interface", "v1.2")


def test_masquerade_primary_with_an_ovs_secondary_nic_lints_clean(virtnet: Run, ssh_key: Path) -> None:
    result = virtnet(
        "new", "vm", "masq-ovs", "--mode", "masquerade", "--cni", "calico", "--nic", OVS_NIC,
        "--ssh-key", str(ssh_key), "--kubevirt-version", "v1.0.1", "--spiderpool-version", "v0.8.0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (vm,) = by_kind(objects_of(result.stdout), "VirtualMachine")
    spec = vm["spec"]["template"]["spec"]
    assert [next(k for k in i if k in ("masquerade", "bridge")) for i in spec["domain"]["devices"]["interfaces"]] == [
        "masquerade",
        "bridge",
    ]
    assert spec["networks"][0] == {"name": "default", "pod": {}}
    lint_clean(virtnet, result.stdout, "--kubevirt-version", "v1.0.1", "--spiderpool-version", "v0.8.0")


def test_modes_says_where_secondary_ovs_nics_work(virtnet: Run) -> None:
    old = json.loads(virtnet("modes", "--kubevirt-version", "v1.0.1", "--mode", "passt", "-o", "json").stdout)
    new = json.loads(virtnet("modes", "--kubevirt-version", "v1.9.0", "--mode", "passt", "-o", "json").stdout)
    assert {m["secondaryOVSNICs"] for m in old["modes"]} == {False}
    assert {m["secondaryOVSNICs"] for m in new["modes"]} == {True}


# --- Rough edge 8: containerDisk or DataVolume, node selector ---------------------------------------------------------


def test_disk_is_a_container_disk_unless_a_datavolume_is_asked_for(virtnet: Run, ssh_key: Path) -> None:
    quick = virtnet("new", "vm", "a", "--mode", "masquerade", "--ssh-key", str(ssh_key))
    assert quick.returncode == 0, quick.stderr
    (vm,) = by_kind(objects_of(quick.stdout), "VirtualMachine")
    assert "dataVolumeTemplates" not in vm["spec"]
    volumes = vm["spec"]["template"]["spec"]["volumes"]
    assert volumes[0]["containerDisk"] == {"image": "quay.io/containerdisks/fedora:latest"}
    cdi = virtnet("new", "vm", "a", "--mode", "masquerade", "--ssh-key", str(ssh_key), "--disk", "datavolume")
    (vm,) = by_kind(objects_of(cdi.stdout), "VirtualMachine")
    assert vm["spec"]["dataVolumeTemplates"][0]["spec"]["source"] == {
        "registry": {"url": "docker://quay.io/containerdisks/fedora:latest"}
    }
    both = virtnet("new", "vm", "a", "--mode", "masquerade", "--disk", "containerdisk", "--storage-class", "fast")
    assert_one_line_error(both, "--storage-class", "containerdisk")


def test_node_selector(virtnet: Run, ssh_key: Path) -> None:
    result = virtnet(
        "new", "vm", "a", "--mode", "bridge", "--nic", OVS_NIC, "--ssh-key", str(ssh_key),
        "--node-selector", "kubernetes.io/hostname=node1", "--node-selector", "ovs=true",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (vm,) = by_kind(objects_of(result.stdout), "VirtualMachine")
    assert vm["spec"]["template"]["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "node1", "ovs": "true"}
    bad = virtnet("new", "vm", "a", "--mode", "masquerade", "--node-selector", "bad key=x")
    assert_one_line_error(bad, "--node-selector", "'bad key'")


# --- Rough edge 10: versions ----------------------------------------------------------------------------------------


def test_unknown_patch_release_of_a_known_minor_is_accepted_with_a_note(virtnet: Run, ssh_key: Path) -> None:
    result = virtnet(*GUIDE_FLAGS, "--ssh-key", str(ssh_key), "--kubevirt-version", "v1.9.99")
    assert result.returncode == 0, result.stderr
    assert "KubeVirt v1.9.99 is newer than v1.9.0" in result.stderr
    sp = virtnet("modes", "--spiderpool-version", "v1.2.9")
    assert sp.returncode == 0
    assert "SpiderPool v1.2.9 is newer than v1.2.2" in sp.stderr


def test_unknown_minor_is_refused_with_a_message_that_agrees(virtnet: Run) -> None:
    result = virtnet("modes", "--kubevirt-version", "v1.10.0")
    assert_one_line_error(result, "--kubevirt-version", "v1.10.0", "v1.0 to v1.9", "patch release")


def test_empty_version_is_an_error(virtnet: Run, ssh_key: Path) -> None:
    assert_one_line_error(virtnet("modes", "--kubevirt-version", ""), "--kubevirt-version")
    result = virtnet(*GUIDE_FLAGS, "--ssh-key", str(ssh_key), "--spiderpool-version", "")
    assert_one_line_error(result, "--spiderpool-version")
    rendered = virtnet("render", "examples/masquerade-calico.yaml", "--kubevirt-version", "")
    assert_one_line_error(rendered, "--kubevirt-version")


def test_lint_summary_names_where_each_version_came_from(virtnet: Run) -> None:
    result = virtnet("lint", "tests/fixtures/guide", "--kubevirt-version", "v1.3.0")
    summary = result.stdout.strip().splitlines()[-1]
    assert "from KubeVirt from" not in summary
    assert "KubeVirt from --kubevirt-version" in summary
    assert "SpiderPool" in summary.split("(", 1)[1]


# --- Rough edge 12 (new vm side): one note for SpiderPool's default NAD -----------------------------------------------


@pytest.mark.parametrize(("cni", "nad"), [("calico", "kube-system/k8s-pod-network"), ("cilium", "kube-system/cilium")])
def test_modes_and_new_vm_name_the_same_default_nad(virtnet: Run, ssh_key: Path, cni: str, nad: str) -> None:
    vm = virtnet("new", "vm", "a", "--mode", "masquerade", "--cni", cni, "--ssh-key", str(ssh_key))
    assert nad in vm.stderr
    modes = virtnet("modes", "--mode", "masquerade", "--cni", cni)
    assert nad in modes.stdout


def test_examples_still_lint_clean(virtnet: Run) -> None:
    for example in sorted((ROOT / "examples").glob("*.yaml")):
        rendered = virtnet("render", str(example), "--include-kubevirt-patch", "-q")
        assert rendered.returncode == 0, rendered.stderr
        pinned = yaml.safe_load(example.read_text())["spec"]["versions"]
        lint_clean(
            virtnet, rendered.stdout, "--kubevirt-version", pinned["kubevirt"], "--spiderpool-version",
            pinned["spiderpool"],
        )  # fmt: skip


@pytest.mark.parametrize(
    ("flag", "value"),
    [("-n", "Bad_NS"), ("--kubevirt-namespace", "Bad_NS"), ("--spiderpool-namespace", "Bad_NS")],
)
def test_a_bad_namespace_names_its_own_flag(virtnet: Run, flag: str, value: str) -> None:
    result = virtnet("new", "vm", "vm1", "--mode", "passt", flag, value)
    expected = "--namespace" if flag == "-n" else flag
    assert_one_line_error(result, f"{expected}: 'Bad_NS' is not a DNS label")
