from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.cli.conftest import ROOT, run_script

Run = Callable[..., subprocess.CompletedProcess[str]]

GUIDE_FLAGS = [
    "new",
    "vm",
    "passt-macvlan-spiderpool",
    "--mode",
    "passt",
    "--cni",
    "macvlan",
    "--nic",
    "master=ens192,subnet=10.7.0.0/16,gateway=10.7.0.1,ips=10.7.120.100-10.7.120.200,pool=10-7-v4",
]


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_guide_values_give_a_recognisable_bundle(virtnet: Run, ssh_key: Path) -> None:
    result = virtnet(
        *GUIDE_FLAGS,
        "--ssh-key",
        str(ssh_key),
        "--kubevirt-version",
        "v1.0.1",
        "--spiderpool-version",
        "v0.8.0",
        "--include-kubevirt-patch",  # stdout leaves the KubeVirt CR patch out unless asked (issue 9)
    )
    assert result.returncode == 0, result.stderr
    objects = list(yaml.safe_load_all(result.stdout))
    by_kind = {o["kind"]: o for o in objects}
    assert [o["kind"] for o in objects] == [
        "SpiderIPPool",
        "SpiderMultusConfig",
        "KubeVirt",
        "Secret",
        "VirtualMachine",
    ]
    assert by_kind["SpiderIPPool"]["metadata"]["name"] == "10-7-v4"
    assert by_kind["SpiderIPPool"]["spec"]["ips"] == ["10.7.120.100-10.7.120.200"]
    assert by_kind["SpiderIPPool"]["spec"]["gateway"] == "10.7.0.1"
    assert by_kind["SpiderMultusConfig"]["metadata"] == {
        "name": "macvlan-ens192",
        "namespace": "kube-system",
        "labels": {"app.kubernetes.io/managed-by": "virtnet"},
    }
    assert by_kind["SpiderMultusConfig"]["spec"]["macvlan"]["master"] == ["ens192"]
    assert by_kind["KubeVirt"]["spec"]["configuration"]["developerConfiguration"]["featureGates"] == ["Passt"]
    template = by_kind["VirtualMachine"]["spec"]["template"]
    assert template["metadata"]["annotations"]["v1.multus-cni.io/default-network"] == "kube-system/macvlan-ens192"
    assert template["spec"]["domain"]["devices"]["interfaces"][0]["passt"] == {}
    assert "featureGates is a list" in result.stderr


def test_kubectl_plugin_is_the_same_program(ssh_key: Path) -> None:
    result = run_script("kubectl-virtnet", "--help")
    assert result.returncode == 0
    assert "Usage: kubectl virtnet" in result.stdout
    plugin = run_script("kubectl-virtnet", *GUIDE_FLAGS, "--ssh-key", str(ssh_key), "-q")
    direct = run_script("virtnet", *GUIDE_FLAGS, "--ssh-key", str(ssh_key), "-q")
    assert plugin.stdout == direct.stdout != ""


def test_json_output_is_a_kubernetes_list(virtnet: Run, ssh_key: Path) -> None:
    result = virtnet(*GUIDE_FLAGS, "--ssh-key", str(ssh_key), "-o", "json")
    data = json.loads(result.stdout)
    assert data["kind"] == "List"
    assert data["items"][-1]["kind"] == "VirtualMachine"


def test_out_dir_writes_one_file_per_object_in_apply_order(virtnet: Run, ssh_key: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    result = virtnet(*GUIDE_FLAGS, "--ssh-key", str(ssh_key), "--out-dir", str(out))
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names[0].startswith("01-spiderippool-")
    assert names[-1].startswith("04-virtualmachine-")
    assert len(names) == 4  # pool, multus config, secret, VM: passtBinding needs no KubeVirt change on v1.9


def test_print_intent_round_trips_through_render(virtnet: Run, ssh_key: Path, tmp_path: Path) -> None:
    intent = virtnet(*GUIDE_FLAGS, "--ssh-key", str(ssh_key), "--print-intent")
    path = tmp_path / "vm.yaml"
    path.write_text(intent.stdout)
    rendered = virtnet("render", str(path), "-q")
    direct = virtnet(*GUIDE_FLAGS, "--ssh-key", str(ssh_key), "-q")
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.stdout == direct.stdout


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.yaml")))
def test_examples_render_like_their_golden_files(virtnet: Run, example: str) -> None:
    result = virtnet("render", f"examples/{example}", "--include-kubevirt-patch")  # golden files hold the whole bundle
    golden = (ROOT / "tests/golden/bundles" / f"example-{example[:-5]}__pinned.yaml").read_text()
    assert result.returncode == 0, result.stderr
    assert result.stdout == golden[golden.index("---\n") :]


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--nic", "maste=ens192"], ["--nic #1", "unknown key 'maste'"]),
        (["--nic", "master=ens192,vlan=x"], ["--nic #1 vlan", "not a number"]),
        (["--nic", "master=ens192,subnet=10.7.0.0/16,gateway=10.8.0.1,ips=10.7.1.1"], ["--nic #1 gateway", "10.8.0.1"]),
        (["--nic", "master=ens192,subnet=10.7.0.0/16,gateway=10.7.0.1,ips=10.7.1.9-10.7.1.1"], ["--nic #1 ips"]),
        (
            ["--nic", "master=ens192,subnet=10.7.0.0/16", "--kubevirt-version", "v1.12.0"],
            ["--kubevirt-version", "v1.0 to v1.9"],
        ),
        (["--nic", "master=ens192,gateway=10.7.0.1"], ["--nic #1 gateway", "needs subnet="]),
        ([], ["--nic", "needs at least one NIC"]),
    ],
)
def test_bad_flags_give_one_line_and_exit_2(virtnet: Run, ssh_key: Path, args: list[str], needles: list[str]) -> None:
    result = virtnet("new", "vm", "vm1", "--mode", "passt", "--ssh-key", str(ssh_key), *args)
    assert_one_line_error(result, *needles)


def test_private_key_is_refused_without_printing_it(virtnet: Run, tmp_path: Path) -> None:
    key = tmp_path / "id"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END OPENSSH PRIVATE KEY-----\n")
    result = virtnet("new", "vm", "vm1", "--mode", "masquerade", "--ssh-key", str(key))
    assert_one_line_error(result, str(key), "private key")
    assert "c2VjcmV0" not in result.stderr + result.stdout


def test_password_file_warns_and_stays_out_of_stdout(virtnet: Run, tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("hunter2-secret\n")
    result = virtnet("new", "vm", "vm1", "--mode", "masquerade", "--password-file", str(pw))
    assert result.returncode == 0
    assert "warning:" in result.stderr
    assert "password" in result.stderr
    assert "hunter2-secret" not in result.stdout + result.stderr


def test_intent_file_errors_name_file_line_and_field(virtnet: Run, tmp_path: Path) -> None:
    path = tmp_path / "vm.yaml"
    path.write_text(
        "apiVersion: virtnet.io/v1alpha1\nkind: VMNetwork\nmetadata:\n  name: vm1\nspec:\n  mode: passt\n"
        "  nics:\n  - master: ens192\n    vlna: 30\n"
    )
    result = virtnet("render", str(path))
    assert_one_line_error(result, f"{path}:9:5", "spec.nics[0]", "unknown field 'vlna'")


def test_unreadable_and_invalid_files(virtnet: Run, tmp_path: Path) -> None:
    assert_one_line_error(virtnet("render", str(tmp_path / "nope.yaml")), "nope.yaml", "does not exist")
    bad = tmp_path / "bad.yaml"
    bad.write_text("spec: [unclosed\n")
    assert_one_line_error(virtnet("render", str(bad)), "bad.yaml:2", "not valid YAML")
    version = tmp_path / "v.yaml"
    version.write_text(
        "apiVersion: virtnet.io/v1alpha1\nkind: VMNetwork\nmetadata: {name: a}\nspec:\n  mode: masquerade\n"
        "  versions: {kubevirt: v1.11.0}\n"
    )
    assert_one_line_error(virtnet("render", str(version)), "v.yaml:6", "spec.versions.kubevirt", "v1.0 to v1.9")


def test_render_reads_stdin_and_overrides_versions(virtnet: Run) -> None:
    text = (ROOT / "examples/passt-macvlan-spiderpool.yaml").read_text()
    result = virtnet("render", "-", "--kubevirt-version", "v1.5.0", "-q", stdin=text)
    assert result.returncode == 0, result.stderr
    assert "binding:\n              name: passt" in result.stdout


def test_modes_text_and_json(virtnet: Run) -> None:
    text = virtnet("modes", "--kubevirt-version", "v1.0.1", "--spiderpool-version", "v0.8.0")
    assert text.returncode == 0
    assert "passt       macvlan" in text.stdout
    data = json.loads(virtnet("modes", "-o", "json").stdout)
    assert data["kubevirtVersion"] == "v1.9.0"
    assert {m["mode"] for m in data["modes"]} == {"masquerade", "passt", "bridge"}
    assert_one_line_error(virtnet("modes", "--spiderpool-version", "v2.0"), "--spiderpool-version", "v0.8 to v1.2")


def test_schema_is_valid_json_schema(virtnet: Run) -> None:
    import jsonschema

    schema = json.loads(virtnet("schema").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    for example in (ROOT / "examples").glob("*.yaml"):
        jsonschema.validate(yaml.safe_load(example.read_text()), schema)


GUIDE_IP_A = """\
2: ens192: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP group default qlen 1000
    link/ether 00:50:56:b4:37:2d brd ff:ff:ff:ff:ff:ff
    inet 10.7.120.11/16 brd 10.7.255.255 scope global noprefixroute ens192
      valid_lft forever preferred_lft forever
    inet6 fe80::61d2:6f30:1e9:108/64 scope link noprefixroute
      valid_lft forever preferred_lft forever
"""


def test_pool_suggest_from_the_guides_ip_a(virtnet: Run, tmp_path: Path) -> None:
    addr = tmp_path / "addr.txt"
    addr.write_text(GUIDE_IP_A)
    route = tmp_path / "route.txt"
    route.write_text("default via 10.7.0.1 dev ens192 proto static metric 100\n")
    result = virtnet(
        "pool",
        "suggest",
        "--nic",
        "ens192",
        "--ip-addr",
        str(addr),
        "--ip-route",
        str(route),
        "--count",
        "101",
        "-o",
        "yaml",
    )
    assert result.returncode == 0, result.stderr
    (pool,) = list(yaml.safe_load_all(result.stdout))
    assert pool["kind"] == "SpiderIPPool"
    assert pool["spec"]["subnet"] == "10.7.0.0/16"
    assert pool["spec"]["gateway"] == "10.7.0.1"
    text = virtnet("pool", "suggest", "--nic", "ens192", "--ip-addr", "-", "--count", "5", stdin=GUIDE_IP_A)
    assert text.returncode == 0
    assert "10.7.0.0/16" in text.stdout
    missing = virtnet("pool", "suggest", "--nic", "eth9", "--ip-addr", str(addr))
    assert_one_line_error(missing, "eth9")


def test_help_answers_questions(virtnet: Run) -> None:
    top = virtnet("--help").stdout
    for verb in ("modes", "new", "render", "pool", "schema"):
        assert verb in top
    new_vm = virtnet("new", "vm", "--help").stdout
    assert "master" in new_vm
    assert "ens192" in new_vm
    assert "Examples" in new_vm


def test_plan_errors_in_files_get_line_numbers(virtnet: Run, tmp_path: Path) -> None:
    path = tmp_path / "vm.yaml"
    path.write_text(
        "apiVersion: virtnet.io/v1alpha1\nkind: VMNetwork\nmetadata: {name: a}\nspec:\n  mode: passt\n  nics:\n"
        "  - master: ens192\n    pools:\n    - subnet: 10.0.0.0/24\n      ips: [10.0.1.5]\n"
    )
    assert_one_line_error(virtnet("render", str(path)), f"{path}:10:7", "spec.nics[0].pools[0].ips", "10.0.1.5")


def test_existing_pool_errors_point_into_the_file(virtnet: Run, tmp_path: Path) -> None:
    addr = tmp_path / "addr.txt"
    addr.write_text(GUIDE_IP_A)
    pools = tmp_path / "pools.yaml"
    pools.write_text(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: spiderpool.spidernet.io/v2beta1\n  kind: SpiderIPPool\n"
        "  metadata: {name: x}\n  spec:\n    subnet: 10.7.0.0/16\n    ips: [10.7.255.0-10.7.255.300]\n"
    )
    result = virtnet("pool", "suggest", "--nic", "ens192", "--ip-addr", str(addr), "--existing", str(pools))
    assert_one_line_error(result, f"{pools}:9:11", "items[0].spec.ips[0]")


def test_kubevirt_patch_goes_where_kubectl_apply_does_not_look(virtnet: Run, ssh_key: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    result = virtnet(*GUIDE_FLAGS, "--ssh-key", str(ssh_key), "--kubevirt-version", "v1.0.1", "--out-dir", str(out))
    assert result.returncode == 0, result.stderr
    top = sorted(p.name for p in out.iterdir() if p.is_file())
    assert [n.split("-")[1] for n in top] == ["spiderippool", "spidermultusconfig", "secret", "virtualmachine"]
    (patch,) = (out / "patches").iterdir()
    assert patch.name == "03-kubevirt-kubevirt.yaml"
    assert yaml.safe_load(patch.read_text())["spec"]["configuration"]["developerConfiguration"]["featureGates"] == [
        "Passt"
    ]
