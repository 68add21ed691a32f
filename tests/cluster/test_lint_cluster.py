"""`virtnet lint --cluster`: the file linter's rules on live objects, through the console script, on a real API
server (a plane private to this module: it creates SpiderIPPools, the KubeVirt CR and kube-system objects).

The module applies one set of manifests with known problems — the guide's manifests (the pool without `spec.vlan`,
which SpiderPool v1.2.2's CRD refuses), two rendered bundles, a KubeVirt CR, `spiderpool-conf` and 600
SpiderMultusConfigs (more than one 500-object page) — and writes the same manifests to files. Where a controller would
act, the test writes what it would: the KubeVirt CR status (virt-operator), a pool's status (SpiderPool's IPAM), the
spiderpool-controller Deployment with the Helm chart's labels. Then `virtnet lint --cluster -A -o json` must find
exactly what `virtnet lint FILES -o json` finds on the files at the same versions, modulo file/line/column.

The API server writes an audit log, so the test also sees HOW virtnet read: one paginated list per kind
(limit=500, then continue), never one request per object.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from .cli import Runner, parse_json, run_virtnet, virtnet_on
from .envtest import (
    ADMIN_USER,
    DEFAULT_CRD_SETS,
    REPO_ROOT,
    ControlPlane,
    EnvtestError,
    create,
    http_session,
    server_side_apply,
    service_account_kubeconfig,
    write_status,
)

pytestmark = pytest.mark.cluster

GUIDE = REPO_ROOT / "tests/fixtures/guide"
BUNDLES = REPO_ROOT / "tests/golden/bundles"
# The cluster "runs" these releases: the KubeVirt CR status and the spiderpool-controller Deployment say so, and the
# passt-macvlan bundle was rendered for them.
KUBEVIRT, SPIDERPOOL = "v1.2.0", "v0.9.2"
MANY = 600  # SpiderMultusConfigs in namespace "many": more than one page of 500
BAD_SMC = f"smc-{MANY - 1:03d}"  # the last one listed, on the second page: names a pool that does not exist
FIELD_MANAGER = "lint-cluster-test"

AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
"""


# --- the manifests ---------------------------------------------------------------------------------------------


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def guide() -> dict[str, list[dict[str, Any]]]:
    files = {}
    for path in sorted(GUIDE.glob("*.yaml")):
        docs = _docs(path)
        for doc in docs:
            if doc["kind"] == "SpiderIPPool":
                doc["spec"].pop("vlan")  # v1.2.2's CRD has no spec.vlan: strict apply would refuse the pool
        files[path.name] = docs
    return files


def bundle(name: str) -> list[dict[str, Any]]:
    return [d for d in _docs(BUNDLES / name) if d["kind"] != "Secret"]  # lint --cluster never reads Secrets


def pool_status(first: str, count: int) -> dict[str, Any]:
    """A SpiderIPPool status as SpiderPool's IPAM writes it: allocatedIPs is a JSON string (PoolIPAllocations) —
    SP@v1.2.2:pkg/k8s/apis/spiderpool.spidernet.io/v2beta1/spiderippool_types.go IPPoolStatus."""
    base, last = first.rsplit(".", 1)
    allocated = {
        f"{base}.{int(last) + i}": {"namespace": "vms", "pod": f"virt-launcher-x{i}", "podUid": f"uid-{i}"}
        for i in range(count)
    }
    return {"allocatedIPs": json.dumps(allocated), "allocatedIPCount": count, "totalIPCount": count}


def kubevirt_status() -> dict[str, Any]:
    """virt-operator's status once deployed — KV@v1.2.0:staging/src/kubevirt.io/api/core/v1/types.go KubeVirtStatus."""
    return {
        "phase": "Deployed",
        "observedKubeVirtVersion": KUBEVIRT,
        "targetKubeVirtVersion": KUBEVIRT,
        "observedKubeVirtRegistry": "quay.io/kubevirt",
        "targetKubeVirtRegistry": "quay.io/kubevirt",
        "observedDeploymentID": "abc",
        "conditions": [{"type": "Available", "status": "True", "reason": "AllComponentsReady", "message": "ready"}],
    }


def cluster_config() -> list[dict[str, Any]]:
    """spiderpool-conf as the chart renders it (SP@v0.9.2:charts/spiderpool/templates/configmap.yaml), but without
    enableKubevirtStaticIP (missing = false: VN021)."""
    conf = "ipamUnixSocketPath: /var/run/spidernet/spiderpool.sock\nenableIPv4: true\nenableIPv6: true\n"
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "spiderpool-conf", "namespace": "kube-system"},
            "data": {"conf.yml": conf},
        }
    ]


def many_smcs() -> list[dict[str, Any]]:
    out = []
    for i in range(MANY):
        name = f"smc-{i:03d}"
        macvlan: dict[str, Any] = {"master": ["ens192"], "vlanID": 100 + i % 3000}
        if name == BAD_SMC:
            macvlan["ippools"] = {"ipv4": ["no-such-pool"]}
        out.append(
            {
                "apiVersion": "spiderpool.spidernet.io/v2beta1",
                "kind": "SpiderMultusConfig",
                "metadata": {"name": name, "namespace": "many"},
                "spec": {"cniType": "macvlan", "enableCoordinator": True, "macvlan": macvlan},
            }
        )
    return out


def spiderpool_controller() -> dict[str, Any]:
    """The Deployment as SpiderPool's chart labels it (SP@v1.2.2:charts/spiderpool/templates/_helpers.tpl
    spiderpool.spiderpoolController.labels, deployment.yaml): chart and app version, image tag v<appVersion>."""
    version = SPIDERPOOL.removeprefix("v")
    selector = {
        "app.kubernetes.io/name": "spiderpool",
        "app.kubernetes.io/instance": "spiderpool",
        "app.kubernetes.io/component": "spiderpool-controller",
    }
    labels = {
        "helm.sh/chart": f"spiderpool-{version}",
        **selector,
        "app.kubernetes.io/version": version,
        "app.kubernetes.io/managed-by": "Helm",
    }
    image = f"ghcr.io/spidernet-io/spiderpool/spiderpool-controller:v{version}"
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "spiderpool-controller", "namespace": "kube-system", "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": selector},
                "spec": {"containers": [{"name": "spiderpool-controller", "image": image}]},
            },
        },
    }


@dataclass
class World:
    plane: ControlPlane
    files: Path  # the same manifests, one file per source
    audit: Path
    run: Runner

    def file_lint(self, *args: str) -> dict[str, Any]:
        proc = run_virtnet("lint", str(self.files), "-o", "json", *args)
        assert proc.returncode in (0, 1), proc.stderr
        data: dict[str, Any] = parse_json(proc)
        return data


@pytest.fixture(scope="module")
def world(envtest_assets: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work = tmp_path_factory.mktemp("lint-cluster")
    policy = work / "audit-policy.yaml"
    policy.write_text(AUDIT_POLICY)
    audit = work / "audit.log"
    plane = ControlPlane(
        envtest_assets,
        DEFAULT_CRD_SETS,
        extra_apiserver_args=[
            f"--audit-policy-file={policy}",
            f"--audit-log-path={audit}",
            "--audit-log-mode=blocking",
        ],
    )
    try:
        plane.start()
    except EnvtestError as err:
        pytest.fail(str(err), pytrace=False)
    try:
        files = work / "manifests"
        files.mkdir()
        sources = {
            **guide(),
            "bridge-ovs.yaml": bundle("bridge-ovs__kv-v1.9.0__sp-v1.2.2.yaml"),
            "passt-macvlan.yaml": bundle("passt-macvlan__kv-v1.2.0__sp-v0.9.2.yaml"),
            "spiderpool-conf.yaml": cluster_config(),
            "many.yaml": many_smcs(),
        }
        for doc in sources["bridge-ovs.yaml"]:  # the pool is used up: SpiderPool's IPAM says so in its status
            if doc["kind"] == "SpiderIPPool" and doc["metadata"]["name"] == "ovs-vlan30-v4":
                doc["status"] = pool_status("10.30.0.100", 101)
        for doc in sources["passt-macvlan.yaml"]:
            if doc["kind"] == "KubeVirt":
                doc.setdefault("apiVersion", "kubevirt.io/v1")
                doc["status"] = kubevirt_status()
        for name, docs in sources.items():
            (files / name).write_text(yaml.safe_dump_all(docs, sort_keys=False))
        for ns in ("vms", "kubevirt", "many"):
            create(plane.client, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        http = http_session(plane.client)
        for docs in sources.values():
            for doc in docs:
                body = {k: v for k, v in copy.deepcopy(doc).items() if k != "status"}
                applied = server_side_apply(plane.client, body, field_manager=FIELD_MANAGER).object
                if "status" in doc:
                    write_status(plane, applied, doc["status"])
        create(plane.client, spiderpool_controller())
        assert http.get("/apis/spiderpool.spidernet.io/v2beta1/namespaces/many/spidermultusconfigs").status_code == 200
        yield World(plane, files, audit, virtnet_on(plane))
    finally:
        plane.stop()


# --- comparing results -------------------------------------------------------------------------------------------

Key = tuple[str, str, str, str, str | None, str, str, str]


def problems(result: dict[str, Any]) -> list[Key]:
    """Each finding without where it was found in a file: rule, severity, object, field path, message.

    A message that lists objects (the VMs that need a fixed IP, …) lists them in input order — file order for files,
    namespace/name order from the API server — so messages are compared as bags of words."""
    out = []
    for f in result["findings"]:
        o = f["object"]
        words = " ".join(sorted(re.findall(r"[^\s(),;]+", f["message"])))
        out.append((f["code"], f["severity"], o["apiVersion"], o["kind"], o["namespace"], o["name"], f["path"], words))
    return sorted(out)


def lint_cluster(world: World, *args: str, code: int | None = None) -> tuple[dict[str, Any], str]:
    proc = world.run("lint", "--cluster", "-o", "json", *args)
    assert "Traceback" not in proc.stderr
    if code is not None:
        assert proc.returncode == code, (proc.returncode, proc.stderr)
    return parse_json(proc), proc.stderr


# --- the proof -----------------------------------------------------------------------------------------------------


def test_cluster_finds_the_same_problems_as_the_files(world: World) -> None:
    live, stderr = lint_cluster(world, "-A", code=1)
    files = world.file_lint("--kubevirt-version", KUBEVIRT, "--spiderpool-version", SPIDERPOOL)
    assert problems(live) == problems(files)
    # the set is what the manifests were written to contain — not an empty list compared with an empty list
    found = {(k[0], k[5], k[6]) for k in problems(live)}
    expected = {
        ("VN012", "10-7-v4", "spec.subnet"),  # non-canonical subnet (error from SpiderPool v0.9.2)
        ("VN008", "passt-macvlan-spiderpool", "spec.template.metadata.annotations.v1.multus-cni.io/default-network"),
        ("VN020", "masquerade-calico", "spec.template.spec.volumes[1].cloudInitNoCloud.userData"),
        ("VN015", "ovs-vlan30-v4", "spec.ips"),  # status.allocatedIPCount read from the live pool
        ("VN021", "spiderpool-conf", "data.conf.yml"),  # enableKubevirtStaticIP missing
        ("VN011", BAD_SMC, "spec.macvlan.ippools.ipv4[0]"),  # on the second page of SpiderMultusConfigs
    }
    assert expected <= found, expected - found
    # bridge-ovs-spiderpool's NADs come from the bundle's SpiderMultusConfigs: no nad-not-found for them
    assert not [k for k in problems(live) if k[0] == "VN008" and k[5] == "bridge-ovs-spiderpool"]
    # core passt is deprecated on KubeVirt v1.2.0 (the detected version): a warning, an error from v1.3 on
    assert [k[1] for k in problems(live) if k[0] == "VN005" and k[5] == "passt-macvlan-spiderpool"] == ["warning"]
    for f in live["findings"]:
        assert f["file"] is None
        assert f["line"] is None
        assert f["column"] is None
    summary = live["summary"]
    assert summary["objects"] == files["summary"]["objects"] == 6 + 5 + 5 + 1 + MANY
    assert summary["files"] == 0
    assert (summary["errors"], summary["warnings"]) == (files["summary"]["errors"], files["summary"]["warnings"])
    assert summary["cluster"] == {"server": world.plane.server, "context": "envtest", "namespace": None}
    assert summary["notChecked"] == []
    assert "warning" not in stderr


def test_versions_come_from_the_kubevirt_cr_and_the_spiderpool_deployment(world: World) -> None:
    live, _ = lint_cluster(world, "-A")
    summary = live["summary"]
    assert (summary["kubevirtVersion"], summary["spiderpoolVersion"]) == (KUBEVIRT, SPIDERPOOL)
    assert "KubeVirt kubevirt/kubevirt status.observedKubeVirtVersion" in summary["versionsFrom"]
    assert "Deployment kube-system/spiderpool-controller label app.kubernetes.io/version" in summary["versionsFrom"]
    # with the newest versions the same objects have other problems: the detection above decided the findings
    newest = world.file_lint("--kubevirt-version", "v1.9.0", "--spiderpool-version", "v1.2.2")
    assert problems(newest) != problems(live)
    # flags win over the cluster, per product
    pinned, _ = lint_cluster(world, "-A", "--kubevirt-version", "v1.9.0", "--spiderpool-version", "v1.2.2")
    assert problems(pinned) == problems(newest)
    assert pinned["summary"]["versionsFrom"] == "KubeVirt from --kubevirt-version; SpiderPool from --spiderpool-version"
    one, _ = lint_cluster(world, "-A", "--kubevirt-version", "v1.9.0")
    assert (one["summary"]["kubevirtVersion"], one["summary"]["spiderpoolVersion"]) == ("v1.9.0", SPIDERPOOL)


def _audit_events(audit: Path, since: int) -> list[dict[str, Any]]:
    with audit.open("rb") as f:
        f.seek(since)
        data = f.read()
    complete = data[: data.rfind(b"\n") + 1]  # a line being written is read next time
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


def test_each_kind_is_listed_page_by_page_never_object_by_object(world: World) -> None:
    start = world.audit.stat().st_size
    lint_cluster(world, "-A", code=1)

    def virtnets() -> list[dict[str, Any]]:  # virtnet's requests (the API server's own are logged too)
        return [
            e
            for e in _audit_events(world.audit, start)
            if e.get("stage") == "ResponseComplete" and e["user"]["username"] == ADMIN_USER
        ]

    events = virtnets()
    deadline = time.monotonic() + 10  # the ResponseComplete event of the last list can trail the response a little
    while not any((e.get("objectRef") or {}).get("resource") == "network-attachment-definitions" for e in events):
        assert time.monotonic() < deadline, "no audit event for the last list"
        time.sleep(0.05)
        events = virtnets()
    by_resource: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        ref = e.get("objectRef") or {}
        by_resource.setdefault(str(ref.get("resource")), []).append(e)
    smc = [e for e in by_resource["spidermultusconfigs"] if e["verb"] == "list"]
    assert len(smc) == 2, [e["requestURI"] for e in smc]  # 600 objects: a page of 500, then the rest
    assert "limit=500" in smc[0]["requestURI"]
    assert "continue=" not in smc[0]["requestURI"]
    assert "limit=500" in smc[1]["requestURI"]
    assert "continue=" in smc[1]["requestURI"]
    for resource in ("virtualmachines", "virtualmachineinstances", "spiderippools", "spidersubnets",
                     "network-attachment-definitions"):  # fmt: skip
        verbs = [e["verb"] for e in by_resource[resource]]
        assert verbs == ["list"], (resource, verbs)
    # no object was fetched by name, except the one ConfigMap spiderpool-conf (read_facts gets it by name) and the
    # CRDs whose schemas the schema rules check against (one get each, a fixed set: not one per object)
    named_gets = [e["requestURI"] for e in events if e["verb"] == "get" and (e.get("objectRef") or {}).get("name")]
    crds = sorted(u for u in named_gets if u.startswith("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"))
    assert [u for u in named_gets if u not in crds] == ["/api/v1/namespaces/kube-system/configmaps/spiderpool-conf"]
    assert [u.rsplit("/", 1)[1] for u in crds] == [
        "kubevirts.kubevirt.io",
        "network-attachment-definitions.k8s.cni.cncf.io",
        "spiderippools.spiderpool.spidernet.io",
        "spidermultusconfigs.spiderpool.spidernet.io",
        "spidersubnets.spiderpool.spidernet.io",
        "virtualmachineinstances.kubevirt.io",
        "virtualmachines.kubevirt.io",
    ]
    assert len(events) < 40, len(events)


def test_one_namespace_is_checked_with_references_to_the_others(world: World) -> None:
    everything, _ = lint_cluster(world, "-A")
    config = {("ConfigMap", "kube-system"), ("KubeVirt", "kubevirt")}  # cluster-wide configuration, always checked
    for namespace, args in (("default", ()), ("vms", ("-n", "vms"))):
        live, _ = lint_cluster(world, *args)
        assert live["summary"]["cluster"]["namespace"] == namespace
        # the namespace's objects have exactly the problems they have with every namespace read: the NADs,
        # SpiderMultusConfigs and pools they use elsewhere were read too (vms' VMs use kube-system's SMCs: were
        # those not read, they would get nad-not-found errors here)
        mine = [k for k in problems(live) if k[4] == namespace]
        assert mine == [k for k in problems(everything) if k[4] == namespace]
        assert live["summary"]["objects"] > 0
        others = {(k[3], k[4]) for k in problems(live) if k[4] not in (namespace, None)}
        assert others <= config, others
        assert ("VN012", "10-7-v4") in {(k[0], k[5]) for k in problems(live)}  # pools are cluster-scoped
    default, _ = lint_cluster(world)
    assert [k for k in problems(default) if k[4] == "default"]
    # a NAD of another namespace was read as context: the VM's wrong namespace gets the right suggestion
    messages = [f["message"] for f in default["findings"] if f["object"]["name"] == "passt-macvlan-spiderpool"]
    assert any("did you mean 'kube-system/macvlan-ens192'" in m for m in messages), messages


def _reader_kubeconfig(world: World, work: Path) -> Path:
    """A ServiceAccount bound to a ClusterRole that reads everything lint reads except VirtualMachineInstances."""
    rules = [
        {"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines", "kubevirts"], "verbs": ["get", "list"]},
        {"apiGroups": ["spiderpool.spidernet.io"],
         "resources": ["spiderippools", "spidersubnets", "spidermultusconfigs", "spiderendpoints"],
         "verbs": ["get", "list"]},
        {"apiGroups": ["k8s.cni.cncf.io"], "resources": ["network-attachment-definitions"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["spiderpool-conf"], "verbs": ["get"]},
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["get"]},
    ]  # fmt: skip
    return service_account_kubeconfig(world.plane, work, "reader", rules)


@pytest.fixture(scope="module")
def reader(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _reader_kubeconfig(world, tmp_path_factory.mktemp("reader"))


def _as(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = run_virtnet("lint", "--cluster", *args, kubeconfig=kubeconfig)
    assert "Traceback" not in proc.stderr
    return proc


def test_a_kind_the_user_may_not_list_is_reported_as_not_checked(world: World, reader: Path) -> None:
    admin, _ = lint_cluster(world, "-A")
    proc = _as(reader, "-A", "-o", "json")
    assert proc.returncode == 1, proc.stderr  # the exit code follows the findings: there are errors
    live = parse_json(proc)
    assert live["summary"]["notChecked"] == [
        {
            "apiVersion": "kubevirt.io/v1",
            "kind": "VirtualMachineInstance",
            "namespace": None,
            "reason": "forbidden (needs list on virtualmachineinstances.kubevirt.io)",
        }
    ]
    assert problems(live) == problems(admin)  # everything else was read
    assert "virtnet: warning: not checked: VirtualMachineInstance: forbidden" in proc.stderr
    # no error finding selected: exit 0 despite the unread kind, unless --strict
    clean = _as(reader, "-A", "-o", "json", "--enable", "VN022")
    assert clean.returncode == 0, clean.stderr
    assert parse_json(clean)["findings"] == []
    strict = _as(reader, "-A", "-o", "json", "--enable", "VN022", "--strict")
    assert strict.returncode == 1, strict.stderr
    # text: the summary says it too
    text = _as(reader, "-A", "--no-color")
    assert "not checked: VirtualMachineInstance: forbidden (needs list on virtualmachineinstances.kubevirt.io)" in (
        text.stdout
    )


def test_text_output_groups_findings_by_object(world: World) -> None:
    proc = world.run("lint", "--cluster", "-A", "--no-color")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert "VirtualMachine default/passt-macvlan-spiderpool" in lines
    assert f"SpiderMultusConfig many/{BAD_SMC}" in lines
    at = lines.index("SpiderIPPool 10-7-v4")
    assert lines[at + 1].split()[:3] == ["error", "VN012", "ippool-subnet-invalid"]
    assert lines[at + 2].strip() == "field: spec.subnet"
    assert f"in {6 + 5 + 5 + 1 + MANY} objects from the cluster at {world.plane.server} (all namespaces)" in (
        proc.stdout
    )
    assert f"versions: KubeVirt {KUBEVIRT}, SpiderPool {SPIDERPOOL} (KubeVirt from " in proc.stdout
    sarif = parse_json(world.run("lint", "--cluster", "-A", "-o", "sarif"))
    results = sarif["runs"][0]["results"]
    assert results
    assert all("physicalLocation" not in r["locations"][0] for r in results)
    assert "SpiderIPPool/10-7-v4:spec.subnet" in {
        r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] for r in results
    }


def test_a_vmi_is_checked_only_when_no_vm_owns_it(world: World) -> None:
    client = world.plane.client
    create(client, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vmis"}})
    spec = {  # a TCP probe without the pod network: KubeVirt's webhook would refuse it (VN022)
        "domain": {"devices": {"interfaces": [{"name": "net1", "bridge": {}}]}, "memory": {"guest": "1Gi"}},
        "networks": [{"name": "net1", "multus": {"networkName": "kube-system/ovs-vlan30"}}],
        "readinessProbe": {"tcpSocket": {"port": 22}},
    }
    for name, owned in (("standalone", False), ("owned", True)):
        meta: dict[str, Any] = {"name": name, "namespace": "vmis"}
        if owned:
            meta["ownerReferences"] = [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "name": name,
                                        "uid": "0c0c0c0c-0000-4000-8000-000000000000", "controller": True}]  # fmt: skip
        create(client, {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": meta,
                        "spec": copy.deepcopy(spec)})  # fmt: skip
    live, _ = lint_cluster(world, "-n", "vmis", "--enable", "VN022", code=1)
    assert [(f["object"]["kind"], f["object"]["name"], f["path"]) for f in live["findings"]] == [
        ("VirtualMachineInstance", "standalone", "spec.readinessProbe.tcpSocket")
    ]


def test_usage_errors(world: World) -> None:
    both = world.run("lint", "--cluster", str(world.files))
    assert both.returncode == 2
    assert "--cluster" in both.stderr
    assert "Traceback" not in both.stderr
    neither = world.run("lint")
    assert neither.returncode == 2
    assert "--cluster" in neither.stderr
    files_with_a = world.run("lint", str(world.files), "-A")
    assert files_with_a.returncode == 2
    assert "-A is for --cluster" in files_with_a.stderr
    unknown = world.run("lint", "--cluster", "--enable", "VN999")
    assert unknown.returncode == 2
    assert "--enable" in unknown.stderr


def test_kinds_that_are_not_installed_are_reported_not_fatal(control_planes: Any) -> None:
    """A cluster without SpiderPool: its kinds are "not installed", the VMs are still checked (another plane, shared
    with tests/cluster/test_connection.py; this test works in its own namespace)."""
    plane = control_planes.get(("kubevirt-v1.9.0", "nad-v1.7.7"))
    namespace = f"lint-no-spiderpool-{secrets.token_hex(3)}"
    create(plane.client, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    (vm,) = guide()["05-bridge-ovs-vm.yaml"]
    vm["metadata"]["namespace"] = namespace
    create(plane.client, vm)
    proc = run_virtnet("lint", "--cluster", "-n", namespace, "-o", "json", kubeconfig=plane.kubeconfig)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1, proc.stderr  # the VM's errors (root password login), not the missing kinds
    result = parse_json(proc)
    missing = {(n["kind"], n["reason"]) for n in result["summary"]["notChecked"]}
    assert missing == {(kind, "not installed") for kind in ("SpiderIPPool", "SpiderSubnet", "SpiderMultusConfig")}
    assert {f["object"]["name"] for f in result["findings"]} == {"bridge-ovs-spiderpool"}
    assert ("plaintext-credentials", "error") in {(f["slug"], f["severity"]) for f in result["findings"]}
    assert "defaults for KubeVirt: the newest supported (no KubeVirt CR)" in result["summary"]["versionsFrom"]
    assert "virtnet: warning: not checked: SpiderIPPool: not installed" in proc.stderr
    strict = run_virtnet(
        "lint", "--cluster", "-n", namespace, "--enable", "VN022", "--strict", kubeconfig=plane.kubeconfig
    )
    assert strict.returncode == 0, strict.stderr  # not installed is not forbidden: --strict does not fail on it
