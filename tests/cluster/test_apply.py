"""`virtnet apply` against the real kube-apiserver, through the console script.

The test plays SpiderPool's controller (it writes the NetworkAttachmentDefinition of each SpiderMultusConfig,
sometimes while apply waits for it, from a thread) and KubeVirt's (the VMI with its status, the SpiderEndpoint).
Every test runs on a control plane of this module alone: apply writes cluster-scoped pools, the KubeVirt CR, and one
test stops the API server.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client, KubeConfig

from .cli import BIN, ok, parse_json, run_virtnet, virtnet_on
from .controllers import Nic, SpiderPoolController, ensure_namespace, generate_nad, start_vm
from .envtest import REPO_ROOT, ControlPlane, create, get, http_session, ref, resource_path

pytestmark = pytest.mark.cluster

SP = "spiderpool.spidernet.io/v2beta1"
NAD = "k8s.cni.cncf.io/v1"
KV = "kubevirt.io/v1"


# --- helpers -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plane(own_cluster: ControlPlane) -> ControlPlane:
    ensure_namespace(own_cluster.client, "kubevirt")
    return own_cluster


@pytest.fixture(scope="module")
def old_plane(own_cluster_old: ControlPlane) -> ControlPlane:
    ensure_namespace(own_cluster_old.client, "kubevirt")
    return own_cluster_old


def rv(plane: ControlPlane, api_version: str, kind: str, name: str, namespace: str | None = None) -> str:
    obj = get(plane, api_version, kind, name, namespace)
    assert obj is not None, f"{kind} {namespace}/{name} does not exist"
    return str(obj["metadata"]["resourceVersion"])


def patch(plane: ControlPlane, obj: dict[str, Any], body: dict[str, Any], manager: str, subresource: str = "") -> Any:
    resp = http_session(plane.client).patch(
        resource_path(plane.client, obj) + subresource,
        params={"fieldManager": manager},
        content=json.dumps(body),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def new_vm(tmp_path: Path, name: str, *args: str) -> Path:
    """``virtnet new vm NAME ARGS`` (the rendered bundle, with the KubeVirt CR patch that apply merges) written to
    a file, as a user would."""
    proc = run_virtnet("new", "vm", name, *args, "-q", "--include-kubevirt-patch")
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / f"{name}.yaml"
    path.write_text(proc.stdout)
    return path


def passt_vm(tmp_path: Path, name: str, namespace: str, nic: int, *flags: str) -> Path:
    """The guide's passt + macvlan VM, on its own node NIC ens<nic>, subnet 10.<nic>.0.0/16 and pool."""
    return new_vm(
        tmp_path,
        name,
        "-n",
        namespace,
        "--mode",
        "passt",
        "--cni",
        "macvlan",
        "--nic",
        f"master=ens{nic},subnet=10.{nic}.0.0/16,gateway=10.{nic}.0.1,ips=10.{nic}.1.10-10.{nic}.1.20,pool=pool-{nic}",
        *flags,
    )


def reset_kubevirt(
    plane: ControlPlane,
    version: str,
    gates: Sequence[str] | None = None,
    bindings: dict[str, Any] | None = None,
    *,
    hco: bool = False,
) -> dict[str, Any]:
    """A fresh KubeVirt CR kubevirt/kubevirt as virt-operator (or HCO) leaves it, its status naming ``version``."""
    session = http_session(plane.client)
    cr = ref(KV, "KubeVirt", "kubevirt", "kubevirt")
    resp = session.delete(resource_path(plane.client, cr))
    assert resp.status_code in (200, 404), resp.text
    config: dict[str, Any] = {}
    if gates is not None:
        config["developerConfiguration"] = {"featureGates": list(gates)}
    if bindings is not None:
        config["network"] = {"binding": bindings}
    body: dict[str, Any] = {**cr, "spec": {"configuration": config, "imagePullPolicy": "IfNotPresent"}}
    if hco:  # what HCO sets on the KubeVirt CR it owns (HCO:pkg/util/consts.go, controllers/operands/kubevirt.go)
        body["metadata"]["name"] = "kubevirt"
        body["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "hco-operator"}
        body["metadata"]["ownerReferences"] = [
            {
                "apiVersion": "hco.kubevirt.io/v1beta1",
                "kind": "HyperConverged",
                "name": "kubevirt-hyperconverged",
                "uid": "4d1c3a0e-61a4-4c3e-9a47-2b0c8f3f9a11",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    create(plane.client, body)
    status = {"phase": "Deployed", "observedKubeVirtVersion": version, "targetKubeVirtVersion": version}
    return dict(patch(plane, cr, {"status": status}, "virt-operator", "/status"))


def kubevirt_spec(plane: ControlPlane) -> dict[str, Any]:
    return dict(get(plane, KV, "KubeVirt", "kubevirt", "kubevirt")["spec"])


def actions(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(o["kind"], o["name"], o["action"]) for o in report["objects"]]


def refs(entries: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(o["kind"], o["name"]) for o in entries]


def failed(proc: subprocess.CompletedProcess[str], code: int = 1) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    return proc


def start_virtnet(plane: ControlPlane, *args: str) -> subprocess.Popen[str]:
    """The console script in the background (the test acts on the cluster while it runs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTNET_DEBUG")}
    env["KUBECONFIG"] = str(plane.kubeconfig)
    return subprocess.Popen(
        [str(BIN / "virtnet"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )


def read_until(proc: subprocess.Popen[str], wanted: str) -> list[str]:
    """The lines apply printed up to ``wanted`` (text output: one line per finished step, flushed at once)."""
    assert proc.stdout is not None
    lines: list[str] = []
    while not lines or lines[-1] != wanted:
        line = proc.stdout.readline()
        assert line, (lines, proc.communicate())
        lines.append(line.rstrip("\n"))
    return lines


def resource_versions(plane: ControlPlane, report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (o["kind"], o["name"]): rv(plane, o["apiVersion"], o["kind"], o["name"], o["namespace"])
        for o in report["objects"]
    }


# --- apply, then apply again ---------------------------------------------------------------------------------------


def test_guide_passt_vm_waits_for_its_nad_and_a_second_apply_writes_nothing(
    plane: ControlPlane, tmp_path: Path
) -> None:
    reset_kubevirt(plane, "v1.9.0")
    ensure_namespace(plane.client, "apply-a")
    bundle = passt_vm(tmp_path, "passt-a", "apply-a", 201)
    run = virtnet_on(plane)
    with SpiderPoolController(plane, ("kube-system", "macvlan-ens201")) as spiderpool:
        first = parse_json(ok(run("apply", "-f", str(bundle), "-o", "json")))
    spiderpool.check()
    assert actions(first) == [
        ("SpiderIPPool", "pool-201", "created"),
        ("SpiderMultusConfig", "macvlan-ens201", "created"),
        ("Secret", "passt-a-cloudinit", "created"),
        ("VirtualMachine", "passt-a", "created"),
    ]
    assert first["summary"] == {
        "created": 4,
        "configured": 0,
        "unchanged": 0,
        "failed": 0,
        "interrupted": 0,
        "notApplied": 0,
    }
    (wait,) = first["waits"]
    assert (wait["nad"]["namespace"], wait["nad"]["name"], wait["ready"]) == ("kube-system", "macvlan-ens201", True)
    # the Secret was written after the NAD appeared: apply waited (etcd revisions only grow)
    nad_rv = int(spiderpool.nads["macvlan-ens201"]["metadata"]["resourceVersion"])
    secret = get(plane, "v1", "Secret", "passt-a-cloudinit", "apply-a")
    assert int(secret["metadata"]["resourceVersion"]) > nad_rv
    for o in first["objects"]:
        live = get(plane, o["apiVersion"], o["kind"], o["name"], o["namespace"])
        managers = {(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]}
        assert ("virtnet", "Apply") in managers, (o, managers)
        assert "virtnet.io/reason" not in (live["metadata"].get("annotations") or {})
    before = resource_versions(plane, first)

    second = parse_json(ok(run("apply", "-f", str(bundle), "-o", "json")))
    assert [a for _, _, a in actions(second)] == ["unchanged"] * 4
    assert second["summary"]["unchanged"] == 4
    assert resource_versions(plane, second) == before  # nothing written

    text = ok(run("apply", "-f", str(bundle))).stdout.splitlines()
    assert text[0] == "SpiderIPPool pool-201 unchanged"
    assert "NetworkAttachmentDefinition kube-system/macvlan-ens201 present" in text[2]
    assert text[-1] == "4 objects: 0 created, 0 configured, 4 unchanged"
    assert resource_versions(plane, second) == before


def test_namespaces_first_and_other_objects_before_secrets_and_vms(plane: ControlPlane, tmp_path: Path) -> None:
    reset_kubevirt(plane, "v1.9.0")
    docs = list(yaml.safe_load_all(passt_vm(tmp_path, "passt-b", "apply-b", 202).read_text()))
    extra = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "notes", "namespace": "apply-b"},
            "data": {"a": "b"},
        },
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apply-b"}},  # last in the file
    ]
    path = tmp_path / "shuffled.yaml"
    path.write_text(yaml.safe_dump_all([*reversed(docs), *extra]))  # VM first, Namespace last
    # a NAD that is already there (made earlier): apply does not wait for it
    nad = {
        "apiVersion": NAD,
        "kind": "NetworkAttachmentDefinition",
        "metadata": {"name": "macvlan-ens202", "namespace": "kube-system"},
        "spec": {"config": json.dumps({"cniVersion": "0.3.1", "name": "macvlan-ens202", "type": "macvlan"})},
    }
    create(plane.client, nad)
    proc = ok(virtnet_on(plane)("apply", "-f", str(path)))
    assert proc.stdout.splitlines() == [
        "Namespace apply-b created",
        "SpiderIPPool pool-202 created",
        "SpiderMultusConfig kube-system/macvlan-ens202 created",
        "NetworkAttachmentDefinition kube-system/macvlan-ens202 present "
        "(SpiderPool generates it from SpiderMultusConfig kube-system/macvlan-ens202)",
        "ConfigMap apply-b/notes created",
        "Secret apply-b/passt-b-cloudinit created",
        "VirtualMachine apply-b/passt-b created",
        "6 objects: 6 created, 0 configured, 0 unchanged",
    ]


# --- dry runs ------------------------------------------------------------------------------------------------------


def test_dry_runs_write_nothing_and_tell_what_would_change(plane: ControlPlane, tmp_path: Path) -> None:
    reset_kubevirt(plane, "v1.9.0")
    ensure_namespace(plane.client, "apply-c")
    nics = [
        "--nic",
        "bridge=br1,vlan=30,subnet=10.30.0.0/16,gateway=10.30.0.1,ips=10.30.1.10-10.30.1.200",
        "--nic",
        "bridge=br1,vlan=40,subnet=10.40.0.0/16,gateway=10.40.0.1,ips=10.40.1.10-10.40.1.200",
    ]
    bundle = new_vm(tmp_path, "bridge-c", "-n", "apply-c", "--mode", "bridge", "--cni", "ovs", *nics)
    objects = list(yaml.safe_load_all(bundle.read_text()))
    run = virtnet_on(plane)
    for mode in ("client", "server"):
        report = parse_json(ok(run("apply", "-f", str(bundle), f"--dry-run={mode}", "-o", "json")))
        assert report["dryRun"] == mode
        assert [a for _, _, a in actions(report)] == ["created"] * len(objects)
        assert refs(report["objects"]) == [(o["kind"], o["metadata"]["name"]) for o in objects]
        assert all(w.get("skipped") == "absent: apply would wait for it" for w in report["waits"])
        for o in objects:
            ns = o["metadata"].get("namespace")
            assert get(plane, o["apiVersion"], o["kind"], o["metadata"]["name"], ns) is None, (mode, o["kind"])
    text = ok(run("apply", "-f", str(bundle), "--dry-run=server")).stdout
    assert "VirtualMachine apply-c/bridge-c created (dry run: server)" in text
    assert text.rstrip().endswith("nothing was written")

    smcs = [("kube-system", o["metadata"]["name"]) for o in objects if o["kind"] == "SpiderMultusConfig"]
    assert len(smcs) == 2
    with SpiderPoolController(plane, *smcs) as spiderpool:
        ok(run("apply", "-f", str(bundle)))
    spiderpool.check()
    before = {
        (o["kind"], o["metadata"]["name"]): rv(
            plane, o["apiVersion"], o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")
        )
        for o in objects
    }

    bigger = new_vm(tmp_path, "bridge-c", "-n", "apply-c", "--mode", "bridge", "--cni", "ovs", *nics, "--memory", "2Gi")
    for mode in ("client", "server"):
        report = parse_json(ok(run("apply", "-f", str(bigger), f"--dry-run={mode}", "-o", "json")))
        assert [(k, a) for k, _, a in actions(report) if a != "unchanged"] == [("VirtualMachine", "configured")], mode
    after = {
        (o["kind"], o["metadata"]["name"]): rv(
            plane, o["apiVersion"], o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")
        )
        for o in objects
    }
    assert after == before

    # the server checks what the client cannot: fieldValidation=Strict refuses an unknown field
    vm = next(o for o in objects if o["kind"] == "VirtualMachine")
    vm["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]["bogus"] = True
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump_all(objects))
    report = parse_json(failed(run("apply", "-f", str(broken), "--dry-run=server", "--no-lint", "-o", "json")))
    assert report["failed"]["kind"] == "VirtualMachine"
    # kube-apiserver says 500 "field not declared in schema" for an existing object (kubernetes/kubernetes#122480)
    assert report["failed"]["error"].startswith("the API server refused VirtualMachine apply-c/bridge-c: ")
    assert "spec.template.spec.domain.devices.interfaces[0].bogus" in report["failed"]["error"]
    assert rv(plane, KV, "VirtualMachine", "bridge-c", "apply-c") == before[("VirtualMachine", "bridge-c")]


# --- conflicts -----------------------------------------------------------------------------------------------------


def test_conflict_names_the_other_field_manager_and_fields_and_force_conflicts_takes_them(
    plane: ControlPlane, tmp_path: Path
) -> None:
    reset_kubevirt(plane, "v1.9.0")
    ensure_namespace(plane.client, "apply-d")
    bundle = passt_vm(tmp_path, "passt-d", "apply-d", 203)
    run = virtnet_on(plane)
    with SpiderPoolController(plane, ("kube-system", "macvlan-ens203")) as spiderpool:
        ok(run("apply", "-f", str(bundle)))
    spiderpool.check()
    smc = ref(SP, "SpiderMultusConfig", "macvlan-ens203", "kube-system")
    patch(plane, smc, {"spec": {"macvlan": {"vlanID": 7}}}, "kubectl-edit")  # someone edits a field virtnet set

    report = parse_json(failed(run("apply", "-f", str(bundle), "-o", "json")))
    assert report["failed"]["kind"] == "SpiderMultusConfig"
    assert report["failed"]["conflicts"] == [{"manager": "kubectl-edit", "field": ".spec.macvlan.vlanID"}]
    assert "--force-conflicts" in report["failed"]["hint"]
    assert actions(report) == [("SpiderIPPool", "pool-203", "unchanged")]
    assert refs(report["notApplied"]) == [("Secret", "passt-d-cloudinit"), ("VirtualMachine", "passt-d")]
    proc = failed(run("apply", "-f", str(bundle)))
    assert (
        "FAILED: SpiderMultusConfig kube-system/macvlan-ens203: conflict: "
        "field manager 'kubectl-edit' owns .spec.macvlan.vlanID" in proc.stdout
    )
    assert "not applied: Secret apply-d/passt-d-cloudinit, VirtualMachine apply-d/passt-d" in proc.stdout
    assert "kubectl-edit" in proc.stderr
    assert get(plane, SP, "SpiderMultusConfig", "macvlan-ens203", "kube-system")["spec"]["macvlan"]["vlanID"] == 7

    report = parse_json(ok(run("apply", "-f", str(bundle), "--force-conflicts", "-o", "json")))
    assert ("SpiderMultusConfig", "macvlan-ens203", "configured") in actions(report)
    live = get(plane, SP, "SpiderMultusConfig", "macvlan-ens203", "kube-system")
    assert live["spec"]["macvlan"]["vlanID"] == 0
    owners = {m["manager"]: m.get("fieldsV1", {}) for m in live["metadata"]["managedFields"]}
    assert "f:vlanID" in owners["virtnet"]["f:spec"]["f:macvlan"]
    assert "f:vlanID" not in owners.get("kubectl-edit", {}).get("f:spec", {}).get("f:macvlan", {})


# --- the KubeVirt CR -----------------------------------------------------------------------------------------------


MY_BINDING = {"sidecarImage": "example.org/mybinding:v1", "networkAttachmentDefinition": "default/mybinding"}


def test_kubevirt_cr_change_adds_gates_and_registration_and_keeps_what_was_there(
    plane: ControlPlane, tmp_path: Path
) -> None:
    reset_kubevirt(plane, "v1.4.0", ["Snapshot"], {"mybinding": MY_BINDING})
    ensure_namespace(plane.client, "apply-e")
    # KubeVirt v1.4: passt is the binding plugin: gate NetworkBindingPlugins + registration + the plugin's NAD
    bundle = passt_vm(tmp_path, "passt-e", "apply-e", 204, "--kubevirt-version", "v1.4.0")
    run = virtnet_on(plane)
    with SpiderPoolController(plane, ("kube-system", "macvlan-ens204")) as spiderpool:
        report = parse_json(ok(run("apply", "-f", str(bundle), "-o", "json")))
    spiderpool.check()
    kinds = [k for k, _, _ in actions(report)]
    assert kinds == [
        "SpiderIPPool",
        "SpiderMultusConfig",
        "NetworkAttachmentDefinition",
        "KubeVirt",
        "Secret",
        "VirtualMachine",
    ]
    kv = next(o for o in report["objects"] if o["kind"] == "KubeVirt")
    assert (kv["namespace"], kv["name"], kv["action"]) == ("kubevirt", "kubevirt", "configured")
    assert kv["detail"] == "added feature gates NetworkBindingPlugins; binding plugin passt"
    live = get(plane, KV, "KubeVirt", "kubevirt", "kubevirt")
    config = live["spec"]["configuration"]
    assert config["developerConfiguration"]["featureGates"] == ["Snapshot", "NetworkBindingPlugins"]
    assert config["network"]["binding"]["mybinding"] == MY_BINDING
    assert config["network"]["binding"]["passt"] == {
        "sidecarImage": "quay.io/kubevirt/network-passt-binding:v1.4.0",
        "networkAttachmentDefinition": "default/netbindingpasst",
        "migration": {},
        "computeResourceOverhead": {"requests": {"memory": "250Mi"}},
    }
    assert live["spec"]["imagePullPolicy"] == "IfNotPresent"
    assert live["status"]["observedKubeVirtVersion"] == "v1.4.0"
    assert not any(k.startswith("virtnet.io/") for k in live["metadata"].get("annotations") or {})
    assert ("virtnet", "Update") in {(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]}
    assert get(plane, NAD, "NetworkAttachmentDefinition", "netbindingpasst", "default") is not None

    kv_rv = live["metadata"]["resourceVersion"]
    again = parse_json(ok(run("apply", "-f", str(bundle), "-o", "json")))
    assert [a for _, _, a in actions(again)] == ["unchanged"] * 6
    assert rv(plane, KV, "KubeVirt", "kubevirt", "kubevirt") == kv_rv


def test_hco_owned_kubevirt_cr_is_not_edited_and_the_hyperconverged_change_is_printed(
    plane: ControlPlane, tmp_path: Path
) -> None:
    before = reset_kubevirt(plane, "v1.4.0", ["Snapshot"], hco=True)
    ensure_namespace(plane.client, "apply-f")
    bundle = passt_vm(tmp_path, "passt-f", "apply-f", 205, "--kubevirt-version", "v1.4.0")
    run = virtnet_on(plane)
    with SpiderPoolController(plane, ("kube-system", "macvlan-ens205")) as spiderpool:
        report = parse_json(failed(run("apply", "-f", str(bundle), "-o", "json")))
    spiderpool.check()
    assert rv(plane, KV, "KubeVirt", "kubevirt", "kubevirt") == before["metadata"]["resourceVersion"]
    assert kubevirt_spec(plane)["configuration"]["developerConfiguration"]["featureGates"] == ["Snapshot"]
    assert "KubeVirt" not in [k for k, _, _ in actions(report)]
    assert ("VirtualMachine", "passt-f", "created") in actions(report)  # the rest is applied
    hco = report["hyperConverged"]
    assert hco["kubevirt"]["name"] == "kubevirt"
    change = hco["change"]
    assert (change["kind"], change["namespace"], change["name"]) == (
        "HyperConverged",
        "kubevirt",
        "kubevirt-hyperconverged",
    )
    assert json.loads(change["annotations"]["kubevirt.kubevirt.io/jsonpatch"]) == [
        {
            "op": "add",
            "path": "/spec/configuration/developerConfiguration/featureGates/-",
            "value": "NetworkBindingPlugins",
        }
    ]
    assert change["spec"]["networkBinding"]["passt"]["networkAttachmentDefinition"] == "default/netbindingpasst"

    proc = failed(run("apply", "-f", str(bundle)))
    assert "KubeVirt kubevirt/kubevirt is owned by the HyperConverged operator (HCO): not edited" in proc.stdout
    assert (
        "kubectl annotate --overwrite -n kubevirt hyperconverged kubevirt-hyperconverged "
        'kubevirt.kubevirt.io/jsonpatch=\'[{"op":"add","path":"/spec/configuration/developerConfiguration/'
        'featureGates/-","value":"NetworkBindingPlugins"}]\''
    ) in proc.stdout
    assert (
        "kubectl patch hyperconverged -n kubevirt kubevirt-hyperconverged --type merge "
        '-p \'{"spec":{"networkBinding":{"passt":' in proc.stdout
    )
    assert "owned by the HyperConverged operator" in proc.stderr
    assert rv(plane, KV, "KubeVirt", "kubevirt", "kubevirt") == before["metadata"]["resourceVersion"]


# --- waiting, failing, converging ----------------------------------------------------------------------------------


def test_nad_that_never_appears_stops_apply_at_the_timeout_and_a_rerun_converges(
    plane: ControlPlane, tmp_path: Path
) -> None:
    reset_kubevirt(plane, "v1.9.0")
    ensure_namespace(plane.client, "apply-g")
    bundle = passt_vm(tmp_path, "passt-g", "apply-g", 206)
    run = virtnet_on(plane)
    proc = failed(run("apply", "-f", str(bundle), "--timeout", "1s"))
    assert (
        "FAILED: NetworkAttachmentDefinition kube-system/macvlan-ens206 did not appear within 1s: SpiderPool's "
        "controller generates it from SpiderMultusConfig kube-system/macvlan-ens206"
    ) in proc.stdout
    assert "not applied: Secret apply-g/passt-g-cloudinit, VirtualMachine apply-g/passt-g" in proc.stdout
    assert "spiderpool-controller" in proc.stderr
    assert get(plane, KV, "VirtualMachine", "passt-g", "apply-g") is None
    report = parse_json(failed(run("apply", "-f", str(bundle), "--timeout", "1s", "-o", "json")))
    assert actions(report) == [
        ("SpiderIPPool", "pool-206", "unchanged"),
        ("SpiderMultusConfig", "macvlan-ens206", "unchanged"),
    ]
    assert report["failed"]["kind"] == "NetworkAttachmentDefinition"
    assert refs(report["notApplied"]) == [("Secret", "passt-g-cloudinit"), ("VirtualMachine", "passt-g")]

    generate_nad(plane.client, get(plane, SP, "SpiderMultusConfig", "macvlan-ens206", "kube-system"))
    report = parse_json(ok(run("apply", "-f", str(bundle), "-o", "json")))
    assert [a for _, _, a in actions(report)] == ["unchanged", "unchanged", "created", "created"]


def test_api_server_gone_between_two_objects_reports_applied_and_not_applied_and_rerun_converges(
    plane: ControlPlane, tmp_path: Path
) -> None:
    reset_kubevirt(plane, "v1.9.0")
    ensure_namespace(plane.client, "apply-h")
    bundle = passt_vm(tmp_path, "passt-h", "apply-h", 207)
    proc = start_virtnet(plane, "apply", "-f", str(bundle), "--timeout", "90s")
    try:
        # apply has written the pool and the SpiderMultusConfig and waits for the NAD: the server goes away
        before = read_until(proc, "SpiderMultusConfig kube-system/macvlan-ens207 created")
        pool_rv = rv(plane, SP, "SpiderIPPool", "pool-207")
        smc_rv = rv(plane, SP, "SpiderMultusConfig", "macvlan-ens207", "kube-system")
        plane.stop_apiserver()
        rest, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(Exception):
            plane.restart_apiserver()
    assert proc.returncode == 1, (before, rest, stderr)
    assert "Traceback" not in stderr
    assert before == ["SpiderIPPool pool-207 created", "SpiderMultusConfig kube-system/macvlan-ens207 created"]
    lines = rest.splitlines()
    assert lines[0].startswith("FAILED: NetworkAttachmentDefinition kube-system/macvlan-ens207: ")
    assert "API server" in lines[0]
    assert "not applied: Secret apply-h/passt-h-cloudinit, VirtualMachine apply-h/passt-h" in lines
    assert lines[-1].startswith("stopped: 2 objects applied (2 created, 0 configured, 0 unchanged), 2 not applied")
    assert stderr.startswith("virtnet: error:")

    # the server is back (same etcd): nothing was lost; the rerun converges without rewriting what was there
    assert rv(plane, SP, "SpiderIPPool", "pool-207") == pool_rv
    generate_nad(plane.client, get(plane, SP, "SpiderMultusConfig", "macvlan-ens207", "kube-system"))
    run = virtnet_on(plane)
    report = parse_json(ok(run("apply", "-f", str(bundle), "-o", "json")))
    assert actions(report) == [
        ("SpiderIPPool", "pool-207", "unchanged"),
        ("SpiderMultusConfig", "macvlan-ens207", "unchanged"),
        ("Secret", "passt-h-cloudinit", "created"),
        ("VirtualMachine", "passt-h", "created"),
    ]
    assert rv(plane, SP, "SpiderIPPool", "pool-207") == pool_rv
    assert rv(plane, SP, "SpiderMultusConfig", "macvlan-ens207", "kube-system") == smc_rv
    report = parse_json(ok(run("apply", "-f", str(bundle), "-o", "json")))
    assert [a for _, _, a in actions(report)] == ["unchanged"] * 4


def test_ctrl_c_while_waiting_reports_what_was_applied_and_a_rerun_converges(
    plane: ControlPlane, tmp_path: Path
) -> None:
    reset_kubevirt(plane, "v1.9.0")
    ensure_namespace(plane.client, "apply-i")
    bundle = passt_vm(tmp_path, "passt-i", "apply-i", 208)
    proc = start_virtnet(plane, "apply", "-f", str(bundle), "--timeout", "90s")
    try:
        before = read_until(proc, "SpiderMultusConfig kube-system/macvlan-ens208 created")
        proc.send_signal(signal.SIGINT)
        rest, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (before, rest, stderr)
    assert "Traceback" not in stderr
    assert before == ["SpiderIPPool pool-208 created", "SpiderMultusConfig kube-system/macvlan-ens208 created"]
    lines = rest.splitlines()
    assert (
        "INTERRUPTED: interrupted (Ctrl-C) while waiting for NetworkAttachmentDefinition kube-system/macvlan-ens208"
        in lines
    )
    assert "not applied: Secret apply-i/passt-i-cloudinit, VirtualMachine apply-i/passt-i" in lines
    generate_nad(plane.client, get(plane, SP, "SpiderMultusConfig", "macvlan-ens208", "kube-system"))
    report = parse_json(ok(virtnet_on(plane)("apply", "-f", str(bundle), "-o", "json")))
    assert [a for _, _, a in actions(report)] == ["unchanged", "unchanged", "created", "created"]


def test_refused_object_in_the_middle_stops_apply_and_the_fixed_input_converges(
    plane: ControlPlane, tmp_path: Path
) -> None:
    good: dict[str, Any] = {
        "apiVersion": SP,
        "kind": "SpiderIPPool",
        "metadata": {"name": "pool-good"},
        "spec": {"subnet": "10.209.0.0/16", "ips": ["10.209.1.10"]},
    }
    bad: dict[str, Any] = {
        "apiVersion": SP,
        "kind": "SpiderIPPool",
        "metadata": {"name": "pool-bad"},
        "spec": {"ipVersion": 5, "subnet": "10.210.0.0/16", "ips": ["10.210.1.10"]},
    }
    cm: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "after-pools", "namespace": "default"},
        "data": {"k": "v"},
    }
    path = tmp_path / "in.yaml"
    path.write_text(yaml.safe_dump_all([cm, good, bad]))
    run = virtnet_on(plane)
    report = parse_json(failed(run("apply", "-f", str(path), "--no-lint", "-o", "json")))
    assert actions(report) == [("SpiderIPPool", "pool-good", "created")]
    assert report["failed"]["name"] == "pool-bad"
    assert "spec.ipVersion: Unsupported value: 5" in report["failed"]["error"]  # 422 from the CRD schema
    assert refs(report["notApplied"]) == [("ConfigMap", "after-pools")]
    assert get(plane, "v1", "ConfigMap", "after-pools", "default") is None
    good_rv = rv(plane, SP, "SpiderIPPool", "pool-good")
    bad["spec"]["ipVersion"] = 4
    path.write_text(yaml.safe_dump_all([cm, good, bad]))
    report = parse_json(ok(run("apply", "-f", str(path), "-o", "json")))
    assert actions(report) == [
        ("SpiderIPPool", "pool-good", "unchanged"),
        ("SpiderIPPool", "pool-bad", "created"),
        ("ConfigMap", "after-pools", "created"),
    ]
    assert rv(plane, SP, "SpiderIPPool", "pool-good") == good_rv


# --- lint first ----------------------------------------------------------------------------------------------------


def test_lint_errors_with_the_clusters_versions_refuse_the_apply_unless_no_lint(
    plane: ControlPlane, tmp_path: Path
) -> None:
    reset_kubevirt(plane, "v1.9.0")
    ensure_namespace(plane.client, "apply-j")
    # rendered for KubeVirt v1.0.1 (core passt: {}), applied to a cluster whose KubeVirt is v1.9.0
    bundle = passt_vm(
        tmp_path, "passt-j", "apply-j", 211, "--kubevirt-version", "v1.0.1", "--spiderpool-version", "v0.8.0"
    )
    run = virtnet_on(plane)
    proc = failed(run("apply", "-f", str(bundle)))
    assert "VN005" in proc.stderr
    assert "core passt was discontinued in KubeVirt v1.3" in proc.stderr
    assert (
        "refusing to apply: lint found 1 error "
        "(versions: KubeVirt from KubeVirt kubevirt/kubevirt status.observedKubeVirtVersion" in proc.stderr
    )
    assert "--no-lint" in proc.stderr
    assert proc.stdout == ""
    assert get(plane, SP, "SpiderIPPool", "pool-211") is None
    report = parse_json(failed(run("apply", "-f", str(bundle), "-o", "json")))
    assert report["objects"] == []
    assert report["refused"] == "lint found 1 error"
    assert [f["code"] for f in report["lint"]["findings"]] == ["VN005"]
    # --no-lint: the server decides (it accepts the objects; no webhook runs here)
    report = parse_json(ok(run("apply", "-f", str(bundle), "--no-lint", "--dry-run=server", "-o", "json")))
    assert {a for _, _, a in actions(report)} == {"created", "configured"}
    # a version flag wins over what the cluster says
    ok(run("apply", "-f", str(bundle), "--kubevirt-version", "v1.0.1", "--dry-run=server"))
    assert get(plane, SP, "SpiderIPPool", "pool-211") is None


# --- --wait --------------------------------------------------------------------------------------------------------


def test_wait_until_the_vmi_runs_and_report_where_each_ip_came_from(plane: ControlPlane, tmp_path: Path) -> None:
    reset_kubevirt(plane, "v1.9.0")
    ensure_namespace(plane.client, "apply-k")
    bundle = passt_vm(tmp_path, "passt-k", "apply-k", 212)
    started: dict[str, Any] = {}

    def kubevirt_and_spiderpool() -> None:
        """virt-controller + SpiderPool IPAM + virt-handler, once the VM exists."""
        client = Client(KubeConfig.from_file(plane.kubeconfig), trust_env=False)
        session = http_session(client)
        try:
            deadline = time.monotonic() + 90
            vm = ref(KV, "VirtualMachine", "passt-k", "apply-k")
            while session.get(resource_path(client, vm)).status_code != 200:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            nic = Nic(
                name="default", pod_interface="eth0", ip="10.212.1.10", pool="pool-212", prefix=16, gateway="10.212.0.1"
            )
            started.update(start_vm(client, vm, [nic]))
        except BaseException as err:
            started["error"] = err
        finally:
            session.close()
            client.close()

    thread = threading.Thread(target=kubevirt_and_spiderpool, daemon=True)
    thread.start()
    with SpiderPoolController(plane, ("kube-system", "macvlan-ens212")) as spiderpool:
        report = parse_json(
            ok(virtnet_on(plane)("apply", "-f", str(bundle), "--wait", "--timeout", "90s", "-o", "json"))
        )
    thread.join(60)
    spiderpool.check()
    assert "error" not in started, started.get("error")
    (vm,) = report["vms"]
    assert (vm["kind"], vm["namespace"], vm["name"], vm["phase"]) == (
        "VirtualMachineInstance",
        "apply-k",
        "passt-k",
        "Running",
    )
    (address,) = vm["addresses"]
    assert address == {
        "ip": "10.212.1.10",
        "interface": "default",
        "podInterface": "eth0",
        "sources": [
            "SpiderEndpoint apply-k/passt-k status.current.ips[interface=eth0]",
            "VMI status.interfaces[default] (domain, guest-agent, multus-status)",
        ],
        "pool": "pool-212",
        "fixed": True,
        "why": "the VM's fixed IP from pool pool-212 (kept across restarts)",
    }
    text = ok(virtnet_on(plane)("apply", "-f", str(bundle), "--wait", "--timeout", "5s")).stdout
    assert "VirtualMachineInstance apply-k/passt-k Running" in text
    assert "  10.212.1.10  interface default (eth0)  fixed: the VM's fixed IP from pool pool-212" in text


def test_wait_for_a_vmi_that_never_runs_ends_at_the_timeout(plane: ControlPlane, tmp_path: Path) -> None:
    reset_kubevirt(plane, "v1.9.0")
    ensure_namespace(plane.client, "apply-l")
    bundle = passt_vm(tmp_path, "passt-l", "apply-l", 213)
    with SpiderPoolController(plane, ("kube-system", "macvlan-ens213")) as spiderpool:
        report = parse_json(
            failed(virtnet_on(plane)("apply", "-f", str(bundle), "--wait", "--timeout", "1s", "-o", "json"))
        )
    spiderpool.check()
    assert [a for _, _, a in actions(report)] == ["created"] * 4  # everything applied; only the VM did not start
    assert report["failed"]["kind"] == "VirtualMachineInstance"
    assert report["failed"]["error"] == "VirtualMachineInstance apply-l/passt-l is not Running after 1s (phase: absent)"
    assert report["notApplied"] == []


# --- bad input -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "content", "needle"),
    [
        (("-f", "{dir}/missing.yaml"), None, "missing.yaml: no such file or directory"),
        (("-f", "{file}"), "kind: [unclosed\n", "in.yaml"),
        (("-f", "{file}"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: x}\n", "field metadata.name"),
        (("-f", "{file}"), "# nothing\n", "no Kubernetes objects"),
        (("-f", "{file}", "--intent", "{file}"), "x: 1\n", "--intent: use -f or --intent, not both"),
        ((), None, "nothing to apply"),
        (("-f", "{file}", "--timeout", "soon"), "x: 1\n", "--timeout: 'soon' is not a duration"),
        (("-f", "{file}", "--kubevirt-version", "v0.1.0"), "x: 1\n", "--kubevirt-version"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    plane: ControlPlane, tmp_path: Path, args: tuple[str, ...], content: str | None, needle: str
) -> None:
    file = tmp_path / "in.yaml"
    if content is not None:
        file.write_text(content)
    argv = [a.format(dir=tmp_path, file=file) for a in args]
    proc = failed(virtnet_on(plane)("apply", *argv), 2)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("virtnet: error: ")
    assert needle in lines[0]
    assert proc.stdout == ""


# --- the guide's old stack -----------------------------------------------------------------------------------------


def test_guide_versions_bundle_on_the_old_stack(old_plane: ControlPlane, tmp_path: Path) -> None:
    """KubeVirt v1.0.1 + SpiderPool v0.8.13, as the guide: core passt with the Passt gate added to the KubeVirt CR;
    versions detected from the cluster (KubeVirt CR status, spiderpool-conf's helm label)."""
    reset_kubevirt(old_plane, "v1.0.1", ["DataVolumes"])
    create(
        old_plane.client,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "spiderpool-conf",
                "namespace": "kube-system",
                "labels": {"app.kubernetes.io/version": "v0.8.13", "helm.sh/chart": "spiderpool-0.8.13"},
            },
            "data": {"conf.yml": "enableIPv4: true\nenableIPv6: false\nenableKubevirtStaticIP: true\n"},
        },
    )
    ensure_namespace(old_plane.client, "guide")
    bundle = passt_vm(
        tmp_path, "passt-old", "guide", 192, "--kubevirt-version", "v1.0.1", "--spiderpool-version", "v0.8.0"
    )
    run = virtnet_on(old_plane)
    with SpiderPoolController(old_plane, ("kube-system", "macvlan-ens192")) as spiderpool:
        report = parse_json(ok(run("apply", "-f", str(bundle), "-o", "json")))
    spiderpool.check()
    assert actions(report) == [
        ("SpiderIPPool", "pool-192", "created"),
        ("SpiderMultusConfig", "macvlan-ens192", "created"),
        ("KubeVirt", "kubevirt", "configured"),
        ("Secret", "passt-old-cloudinit", "created"),
        ("VirtualMachine", "passt-old", "created"),
    ]
    assert kubevirt_spec(old_plane)["configuration"]["developerConfiguration"]["featureGates"] == [
        "DataVolumes",
        "Passt",
    ]
    vm = get(old_plane, KV, "VirtualMachine", "passt-old", "guide")
    assert vm["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]["passt"] == {}
    again = parse_json(ok(run("apply", "-f", str(bundle), "-o", "json")))
    assert [a for _, _, a in actions(again)] == ["unchanged"] * 5

    # --intent without versions renders for what the cluster runs (KubeVirt v1.0.1: core passt + Passt gate)
    proc = run_virtnet(
        "new", "vm", "intent-old", "-n", "guide", "--mode", "passt", "--cni", "macvlan",
        "--nic", "master=ens193,subnet=10.193.0.0/16,gateway=10.193.0.1,ips=10.193.1.10-10.193.1.20,pool=pool-193",
        "--print-intent", "-q",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "versions" not in yaml.safe_load(proc.stdout)["spec"]
    intent = tmp_path / "intent.yaml"
    intent.write_text(proc.stdout)
    with SpiderPoolController(old_plane, ("kube-system", "macvlan-ens193")) as spiderpool:
        report = parse_json(ok(run("apply", "--intent", str(intent), "-o", "json")))
    spiderpool.check()
    assert ("KubeVirt", "kubevirt", "unchanged") in actions(report)  # Passt is there already
    vm = get(old_plane, KV, "VirtualMachine", "intent-old", "guide")
    assert vm["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]["passt"] == {}
    assert get(old_plane, SP, "SpiderIPPool", "pool-193")["spec"]["subnet"] == "10.193.0.0/16"


def test_missing_namespace_refuses_before_the_first_write(plane: ControlPlane, tmp_path: Path) -> None:
    """A bundle for a namespace that does not exist (and is not in the input): nothing is written, and the one
    line says which namespace and how to create it — not a misleading "Secret … does not exist" half-way through."""
    bundle = passt_vm(tmp_path, "ns-missing", "no-such-ns", 47)
    proc = failed(virtnet_on(plane)("apply", "--no-lint", "-f", str(bundle)))
    (line,) = proc.stderr.strip().splitlines()
    assert "namespace no-such-ns does not exist" in line
    assert "nothing was applied" in line
    assert "kubectl create namespace no-such-ns" in line
    assert get(plane, "spiderpool.spidernet.io/v2beta1", "SpiderIPPool", "pool-47") is None
