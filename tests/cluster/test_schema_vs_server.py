"""virtnet's schema verdict agrees with the real API server's: for every object of the schema rules' fixtures
(tests/lint/fixtures/unknown-field, schema-invalid) and for probes of each schema construct (nulls, defaults,
int-or-string, preserve-unknown-fields, status subresource, list types, date-time, CEL, enums, bounds, served
versions), the object is refused by kube-apiserver exactly when virtnet reports a schema finding.

The server is asked twice: server-side apply (dryRun=All, fieldValidation=Strict, as `virtnet apply`,
`kubectl apply --server-side`, Argo CD and Flux send it) and create (POST, dryRun=All, fieldValidation=Strict, as
`kubectl apply` / `kubectl create` send a new object). The two paths of the API server disagree in two places —
a null for a non-nullable field without a default (create drops it, server-side apply refuses it) and a wrongly
typed field in the status of a kind with a status subresource (create drops status, server-side apply's typed
conversion refuses it) — and virtnet reports what either path refuses; each probe records both answers.
"""

from __future__ import annotations

import copy
import gzip
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lightkube import ApiError

from tests.lint.helpers import options_from_header
from virtnet.formats.yamlio import load_documents
from virtnet.lint import lint
from virtnet.lint.schema import compiled, shipped_catalog
from virtnet.model.versions import TargetVersions

from .cli import parse_json, run_virtnet, virtnet_on
from .conftest import ControlPlanes
from .envtest import (
    REPO_ROOT,
    ControlPlane,
    create,
    dry_run_apply,
    server_side_apply,
    service_account_kubeconfig,
    write_status,
)

pytestmark = pytest.mark.cluster

FIXTURES = REPO_ROOT / "tests/lint/fixtures"
SCHEMA_SLUGS = ("unknown-field", "schema-invalid")
FIXTURE_FILES = sorted(p for slug in SCHEMA_SLUGS for p in (FIXTURES / slug).glob("*.yaml"))


def plane_for(planes: ControlPlanes, versions: TargetVersions) -> ControlPlane:
    kubevirt = "v1.0.1" if versions.kubevirt.minor_line == "v1.0" else f"{versions.kubevirt.minor_line}.0"
    spiderpool = "v0.8.13" if versions.spiderpool.major == 0 else "v1.2.2"
    return planes.get((f"kubevirt-{kubevirt}", f"spiderpool-{spiderpool}", "nad-v1.7.7"))


def server_refuses(plane: ControlPlane, obj: dict[str, Any], *, apply: bool = True) -> str | None:
    """The API server's refusal of ``obj`` (None: accepted) — server-side apply, or create when ``apply`` is false."""
    try:
        if apply:
            dry_run_apply(plane.client, obj)
        else:
            create(plane.client, obj, dry_run=True)
    except ApiError as err:
        return f"{err.status.code}: {err.status.message}"
    except (LookupError, ValueError) as err:  # discovery: the apiVersion is not served at all (404, not JSON)
        return f"not served: {err}"
    return None


def virtnet_refuses(obj: dict[str, Any], versions: TargetVersions) -> list[str]:
    kind, problem = shipped_catalog(versions).lookup(obj["apiVersion"], obj["kind"])
    if problem is not None:
        return [problem]
    assert kind is not None, f"no schema for {obj['apiVersion']} {obj['kind']}"
    errors = compiled(kind).errors(obj)
    assert [e.message for e in errors] == [e.message for e in compiled(kind).precise(obj)], "fast path disagrees"
    return [e.message for e in errors]


# --- the fixtures -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[f"{p.parent.name}/{p.name}" for p in FIXTURE_FILES])
def test_fixture_verdicts_match_the_api_server(control_planes: ControlPlanes, path: Path) -> None:
    text = path.read_text()
    options = options_from_header(text)
    documents = load_documents(text, path.name)
    result = lint(documents, options)
    versions = TargetVersions.parse(options.kubevirt_version, options.spiderpool_version)
    plane = plane_for(control_planes, versions)
    refused_by_virtnet = {(f.object.kind, f.object.name) for f in result.findings if f.rule.slug in SCHEMA_SLUGS}
    for doc in documents:
        obj = doc.data
        key = (obj["kind"], obj["metadata"]["name"])
        for apply in (True, False):  # the fixtures hold no case where the two paths differ: both must agree
            refusal = server_refuses(plane, obj, apply=apply)
            how = "server-side apply" if apply else "create"
            assert (refusal is not None) == (key in refused_by_virtnet), (
                f"{path.name} {key}: API server ({how}) says {refusal or 'accepted'}; virtnet says "
                f"{[f.message for f in result.findings if f.rule.slug in SCHEMA_SLUGS] or 'accepted'}"
            )
    if path.name.startswith("bad-"):
        assert refused_by_virtnet, "a bad fixture must be refused"


# --- probes of each schema construct ---------------------------------------------------------------------------------

VM: dict[str, Any] = {
    "apiVersion": "kubevirt.io/v1",
    "kind": "VirtualMachine",
    "metadata": {"name": "probe", "namespace": "default"},
    "spec": {
        "runStrategy": "Always",
        "template": {
            "metadata": {"labels": {"app": "probe"}},
            "spec": {
                "domain": {
                    "cpu": {"sockets": 1, "cores": 2},
                    "devices": {"interfaces": [{"name": "default", "masquerade": {}}]},
                    "resources": {"requests": {"memory": "1Gi"}},
                },
                "networks": [{"name": "default", "pod": {}}],
            },
        },
    },
}
VMI: dict[str, Any] = {
    "apiVersion": "kubevirt.io/v1",
    "kind": "VirtualMachineInstance",
    "metadata": {"name": "probe", "namespace": "default"},
    "spec": copy.deepcopy(VM["spec"]["template"]["spec"]),
}
SMC: dict[str, Any] = {
    "apiVersion": "spiderpool.spidernet.io/v2beta1",
    "kind": "SpiderMultusConfig",
    "metadata": {"name": "probe", "namespace": "kube-system"},
    "spec": {"cniType": "macvlan", "macvlan": {"master": ["ens192"], "vlanID": 30}},
}
POOL: dict[str, Any] = {
    "apiVersion": "spiderpool.spidernet.io/v2beta1",
    "kind": "SpiderIPPool",
    "metadata": {"name": "probe"},
    "spec": {"ipVersion": 4, "subnet": "10.30.0.0/24", "ips": ["10.30.0.10-10.30.0.20"]},
}
NAD: dict[str, Any] = {
    "apiVersion": "k8s.cni.cncf.io/v1",
    "kind": "NetworkAttachmentDefinition",
    "metadata": {"name": "probe", "namespace": "default"},
    "spec": {"config": "{}"},
}
KUBEVIRT: dict[str, Any] = {
    "apiVersion": "kubevirt.io/v1",
    "kind": "KubeVirt",
    "metadata": {"name": "kubevirt", "namespace": "default"},
    "spec": {"configuration": {}},
}


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change: set the dotted ``path`` (``[i]`` for list items) to ``value``."""

    def change(obj: dict[str, Any]) -> None:
        parts: list[str | int] = []
        for part in path.split("."):
            name, _, index = part.partition("[")
            parts.append(name)
            if index:
                parts.append(int(index.rstrip("]")))
        target: Any = obj
        for part in parts[:-1]:
            if isinstance(part, str) and part not in target:
                target[part] = {}
            target = target[part]
        target[parts[-1]] = value

    return change


@dataclass(frozen=True)
class Probe:
    name: str
    base: dict[str, Any]
    change: Callable[[dict[str, Any]], None]
    refused: bool  # create (POST) refuses it (asserted)
    kubevirt: str = "v1.9.0"
    spiderpool: str = "v1.2.2"
    applied_refused: bool | None = None  # server-side apply refuses it (asserted); None: as create

    @property
    def apply_refuses(self) -> bool:
        return self.refused if self.applied_refused is None else self.applied_refused

    def object(self) -> dict[str, Any]:
        obj = copy.deepcopy(self.base)
        self.change(obj)
        return obj


T = "spec.template.spec"
PROBES = [
    Probe("baseline-vm", VM, lambda o: None, refused=False),
    Probe("baseline-vm-v1.0", VM, lambda o: None, refused=False, kubevirt="v1.0.1", spiderpool="v0.8.0"),
    Probe("null-optional-field", VM, _set(f"{T}.domain.cpu", None), refused=False, applied_refused=True),
    Probe("null-optional-string", VM, _set("spec.runStrategy", None), refused=False, applied_refused=True),
    Probe(
        "null-in-additional-properties",
        VM,
        _set(f"{T}.domain.resources.requests.memory", None),
        refused=False,
        applied_refused=True,
    ),
    Probe("null-with-default", POOL, _set("spec.default", None), refused=False),
    Probe("null-with-default-enum", SMC, _set("spec.cniType", None), refused=False),
    Probe("null-list-item", VM, _set(f"{T}.networks", [None]), refused=True),
    Probe("null-required-object", VM, _set("spec", None), refused=True),
    Probe("null-required-field", VM, _set(f"{T}.domain.devices", None), refused=True),
    Probe("null-nullable-template-metadata", VM, _set("spec.template.metadata", None), refused=False),
    Probe("float-integer", VM, _set(f"{T}.domain.cpu.sockets", 2.0), refused=False),
    Probe("float-fraction", VM, _set(f"{T}.domain.cpu.sockets", 2.5), refused=True),
    Probe("boolean-for-integer", VM, _set(f"{T}.domain.cpu.sockets", True), refused=True),
    Probe("int-or-string-integer", VM, _set(f"{T}.domain.resources.requests.memory", 1073741824), refused=False),
    Probe("int-or-string-boolean", VM, _set(f"{T}.domain.resources.requests.memory", True), refused=True),
    Probe("quantity-pattern", VM, _set(f"{T}.domain.resources.requests.memory", "2 Gi"), refused=True),
    Probe("preserve-unknown-fields", VM, _set("spec.template.metadata.somethingElse", {"a": 1}), refused=False),
    Probe("unknown-root-field", VM, _set("extra", 1), refused=True),
    Probe("unknown-metadata-field", VM, _set("metadata.label", {"a": "b"}), refused=True),
    Probe(
        "unknown-owner-reference-field",
        VM,
        _set("metadata.ownerReferences", [{"apiVersion": "v1", "kind": "X", "name": "x", "uid": "u", "extra": 1}]),
        refused=True,
    ),
    Probe("unknown-status-field", VM, _set("status.extra", 1), refused=True),
    Probe("status-type-error", VM, _set("status.printableStatus", 5), refused=False, applied_refused=True),
    Probe("status-list-for-map", VM, _set("status.conditions", {"type": "Ready"}), refused=True),
    Probe("status-null", VM, _set("status.ready", None), refused=False),
    Probe("metadata-label-number", VM, _set("metadata.labels", {"a": 1}), refused=True),
    Probe("metadata-annotation-boolean", VM, _set("metadata.annotations", {"a": True}), refused=True),
    Probe("metadata-null", VM, _set("metadata.generateName", None), refused=False),
    Probe("template-metadata-label-number", VM, _set("spec.template.metadata.labels", {"a": 1}), refused=False),
    Probe("object-for-string", VM, _set("spec.runStrategy", {"always": True}), refused=True),
    Probe("string-for-object", VM, _set(f"{T}.domain.cpu", "2"), refused=True),
    Probe("list-for-object", VM, _set(f"{T}.domain.cpu", [{"cores": 1}]), refused=True),
    Probe("enum", VM, _set(f"{T}.domain.rebootPolicy", "Sometimes"), refused=True),
    Probe("enum-ok", VM, _set(f"{T}.domain.rebootPolicy", "Terminate"), refused=False),
    Probe(
        "list-map-unique",
        VM,
        _set(
            f"{T}.topologySpreadConstraints",
            [
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"},
                {"maxSkew": 1, "topologyKey": "host", "whenUnsatisfiable": "DoNotSchedule"},
            ],
        ),
        refused=False,
    ),
    Probe(
        "list-map-duplicate",
        VM,
        _set(
            f"{T}.topologySpreadConstraints",
            [
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"},
                {"maxSkew": 2, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"},
            ],
        ),
        refused=True,
    ),
    Probe("max-items", VM, _set(f"{T}.networks", [{"name": f"n{i}", "pod": {}} for i in range(257)]), refused=True),
    Probe(
        "cel-absolute-path",
        VM,
        _set(f"{T}.volumes", [{"name": "v", "containerPath": {"path": "/data"}}]),
        refused=False,
    ),
    Probe(
        "cel-relative-path", VM, _set(f"{T}.volumes", [{"name": "v", "containerPath": {"path": "data"}}]), refused=True
    ),
    Probe("cel-dotdot", VM, _set(f"{T}.volumes", [{"name": "v", "containerPath": {"path": "/a/../b"}}]), refused=True),
    Probe(
        "cel-read-only-false",
        VM,
        _set(f"{T}.volumes", [{"name": "v", "containerPath": {"path": "/a", "readOnly": False}}]),
        refused=True,
    ),
    Probe(
        "max-length",
        VM,
        _set(f"{T}.volumes", [{"name": "v", "containerPath": {"path": "/" + "a" * 4096}}]),
        refused=True,
    ),
    Probe("served-old-version", VM, _set("apiVersion", "kubevirt.io/v1alpha3"), refused=False),
    Probe("unserved-version", VM, _set("apiVersion", "kubevirt.io/v2"), refused=True),
    Probe(
        "vmi-date-time",
        VMI,
        _set(
            "status.phaseTransitionTimestamps",
            [{"phase": "Pending", "phaseTransitionTimestamp": "2024-02-29T10:00:00Z"}],
        ),
        refused=False,
    ),
    Probe(
        "vmi-date-time-invalid-day",
        VMI,
        _set(
            "status.phaseTransitionTimestamps",
            [{"phase": "Pending", "phaseTransitionTimestamp": "2023-02-29T10:00:00Z"}],
        ),
        refused=True,
    ),
    Probe(
        "vmi-date-time-not-a-time",
        VMI,
        _set("status.phaseTransitionTimestamps", [{"phase": "Pending", "phaseTransitionTimestamp": "yesterday"}]),
        refused=True,
    ),
    Probe(
        "kubevirt-cr-list-set-duplicate",
        KUBEVIRT,
        _set("spec.configuration.tlsConfiguration", {"ciphers": ["A", "A"]}),
        refused=True,
    ),
    Probe("smc-vlan-maximum", SMC, _set("spec.macvlan.vlanID", 5000), refused=True),
    Probe("smc-vlan-minimum", SMC, _set("spec.macvlan.vlanID", -1), refused=True),
    Probe("smc-vlan-maximum-v0.8", SMC, _set("spec.macvlan.vlanID", 4095), refused=True, spiderpool="v0.8.0"),
    Probe(
        "smc-enum-boolean-string",
        SMC,
        _set("spec.macvlan.ippools", {"ipv4": ["p"], "matchMasterSubnet": "true"}),
        refused=True,
    ),
    Probe("smc-cnitype-vlan-v0.8", SMC, _set("spec.cniType", "vlan"), refused=True, spiderpool="v0.8.0"),
    Probe("pool-ipversion-float", POOL, _set("spec.ipVersion", 4.0), refused=False),
    Probe("pool-ipversion-string", POOL, _set("spec.ipVersion", "4"), refused=True),
    Probe("pool-vlan-v0.8", POOL, _set("spec.vlan", 30), refused=False, spiderpool="v0.8.0"),
    Probe("pool-vlan-v1.2", POOL, _set("spec.vlan", 30), refused=True),
    Probe("pool-status-type-error", POOL, _set("status.allocatedIPCount", "x"), refused=False, applied_refused=True),
    Probe("pool-status-float-for-integer", POOL, _set("status.allocatedIPCount", 2.5), refused=False),
    Probe("pool-status-below-minimum", POOL, _set("status.allocatedIPCount", -1), refused=False),
    Probe("nad-config-object", NAD, _set("spec.config", {"cniVersion": "1.0.0"}), refused=True),
    Probe("nad-unknown", NAD, _set("spec.plugins", []), refused=True),
]


@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_probe_verdicts_match_the_api_server(control_planes: ControlPlanes, probe: Probe) -> None:
    versions = TargetVersions.parse(probe.kubevirt, probe.spiderpool)
    plane = plane_for(control_planes, versions)
    obj = probe.object()
    mine = virtnet_refuses(obj, versions)
    created = server_refuses(plane, obj, apply=False)
    applied = server_refuses(plane, obj, apply=True)
    assert (created is not None) == probe.refused, f"create: {created or 'accepted'}"
    assert (applied is not None) == probe.apply_refuses, f"server-side apply: {applied or 'accepted'}"
    assert bool(mine) == (probe.refused or probe.apply_refuses), (
        f"virtnet: {mine or 'accepted'}; API server: create {created or 'accepted'}, apply {applied or 'accepted'}"
    )


def test_int32_overflow_is_left_to_the_webhook_by_the_api_server(control_planes: ControlPlanes) -> None:
    """format: int32 is not validated by kube-apiserver (it strips the format); virtnet reports it anyway, naming
    the webhook that refuses it, and the test records that the API server alone lets it through."""
    versions = TargetVersions.parse("v1.9.0", "v1.2.2")
    obj = Probe("int32", VM, _set(f"{T}.domain.cpu.sockets", 2**31), refused=False).object()
    assert server_refuses(plane_for(control_planes, versions), obj, apply=False) is None
    (message,) = virtnet_refuses(obj, versions)
    assert "does not fit format int32" in message
    assert "KubeVirt's admission webhook" in message


# --- lint --cluster: the cluster's own CRD schemas -------------------------------------------------------------------

PASST_VM: dict[str, Any] = {
    "apiVersion": "kubevirt.io/v1",
    "kind": "VirtualMachine",
    "metadata": {"name": "passt-binding", "namespace": "default"},
    "spec": {
        "runStrategy": "Always",
        "template": {
            "spec": {
                "domain": {
                    "devices": {"interfaces": [{"name": "default", "passtBinding": {}}]},
                    "resources": {"requests": {"memory": "1Gi"}},
                },
                "networks": [{"name": "default", "pod": {}}],
            }
        },
    },
}


@pytest.fixture(scope="module")
def v17_cluster(own_cluster: ControlPlane) -> ControlPlane:
    """KubeVirt v1.9.0's CRDs, a KubeVirt CR whose status says v1.7.0, and a VM with passtBinding (the v1.9 schema
    has it, the v1.7 schema does not): only the schema source decides whether passtBinding is an unknown field."""
    create(own_cluster.client, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubevirt"}})
    kv = {"apiVersion": "kubevirt.io/v1", "kind": "KubeVirt", "metadata": {"name": "kubevirt", "namespace": "kubevirt"},
          "spec": {"configuration": {"developerConfiguration": {"featureGates": []}}}}  # fmt: skip
    server_side_apply(own_cluster.client, kv, field_manager="schema-test")
    # virt-operator's status (KV@v1.7.0:staging/src/kubevirt.io/api/core/v1/types.go KubeVirtStatus)
    write_status(own_cluster, kv, {"phase": "Deployed", "observedKubeVirtVersion": "v1.7.0",
                                   "targetKubeVirtVersion": "v1.7.0"})  # fmt: skip
    server_side_apply(own_cluster.client, PASST_VM, field_manager="schema-test")
    return own_cluster


def _lint_cluster(plane: ControlPlane, kubeconfig: Path | None = None) -> dict[str, Any]:
    args = ("lint", "--cluster", "-n", "default", "-o", "json")
    proc = run_virtnet(*args, kubeconfig=kubeconfig) if kubeconfig else virtnet_on(plane)(*args)
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 1), proc.stderr
    result: dict[str, Any] = parse_json(proc)
    return result


def test_lint_cluster_checks_live_objects_against_the_clusters_crds(v17_cluster: ControlPlane) -> None:
    result = _lint_cluster(v17_cluster)
    summary = result["summary"]
    assert summary["kubevirtVersion"] == "v1.7.0"  # from the KubeVirt CR
    assert summary["schema"]["from"].startswith("the cluster's CRD schemas (")
    assert "virtualmachines.kubevirt.io" in summary["schema"]["from"]
    assert summary["schema"]["validated"] >= 1
    slugs = {(f["slug"], f["object"]["name"]) for f in result["findings"]}
    assert ("unknown-field", "passt-binding") not in slugs  # the cluster's v1.9 CRD declares passtBinding
    assert ("binding-unsupported-version", "passt-binding") in slugs  # the target version's rule still applies


def _crd_blind_kubeconfig(plane: ControlPlane, work: Path) -> Path:
    """A ServiceAccount that may read what lint reads, but not CustomResourceDefinitions."""
    rules = [
        {"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines", "virtualmachineinstances", "kubevirts"],
         "verbs": ["get", "list"]},
        {"apiGroups": ["spiderpool.spidernet.io"],
         "resources": ["spiderippools", "spidersubnets", "spidermultusconfigs"], "verbs": ["get", "list"]},
        {"apiGroups": ["k8s.cni.cncf.io"], "resources": ["network-attachment-definitions"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
    ]  # fmt: skip
    return service_account_kubeconfig(plane, work, "crd-blind", rules)


def test_lint_cluster_falls_back_to_the_shipped_schemas_when_crds_are_forbidden(
    v17_cluster: ControlPlane, tmp_path: Path
) -> None:
    result = _lint_cluster(v17_cluster, _crd_blind_kubeconfig(v17_cluster, tmp_path))
    schema = result["summary"]["schema"]
    assert schema["from"] == (
        "virtnet's shipped schemas: KubeVirt v1.7.0, SpiderPool v1.2.2, Multus NAD v1.7.7 "
        "(the cluster's CRDs could not be read)"
    )
    assert any(
        "CRD virtualmachines.kubevirt.io: forbidden (needs get on customresourcedefinitions.apiextensions.k8s.io)" in n
        and "KubeVirt v1.7.0 (shipped)" in n
        for n in schema["notes"]
    ), schema["notes"]
    unknown = [f for f in result["findings"] if f["slug"] == "unknown-field"]
    assert [(f["object"]["name"], f["path"]) for f in unknown] == [
        ("passt-binding", "spec.template.spec.domain.devices.interfaces[0].passtBinding")
    ]


# --- the drift check of the shipped data ----------------------------------------------------------------------------

GENERATOR = REPO_ROOT / "hack/schemas/generate.py"


def test_the_drift_check_passes_on_the_shipped_data_and_fails_on_a_change(envtest_assets: Path, tmp_path: Path) -> None:
    """`make schemas-check` (generate.py --check) on the envtest CRD sets: the shipped data is what the generator
    makes; a changed schema, a missing file or an extra one fail it with one sentence naming them."""
    crds = envtest_assets / "crds"

    def check(data: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(GENERATOR), "--check", "--crds", str(crds), "--out", str(data)],
            capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip

    shipped_data = REPO_ROOT / "src/virtnet/schemas/data"
    ok = check(shipped_data)
    assert ok.returncode == 0, ok.stderr
    data = tmp_path / "data"
    shutil.copytree(shipped_data, data)
    doc = json.loads(gzip.decompress((data / "nad-v1.7.7.json.gz").read_bytes()))
    doc["nodes"][0]["type"] = "integer"  # a schema that drifted from its source
    (data / "nad-v1.7.7.json.gz").write_bytes(gzip.compress(json.dumps(doc).encode()))
    (data / "kubevirt-v1.0.1.json.gz").unlink()
    (data / "kubevirt-v0.9.0.json.gz").write_bytes(b"")
    drift = check(data)
    assert drift.returncode == 1
    assert "missing: kubevirt-v1.0.1.json.gz" in drift.stderr
    assert "not generated: kubevirt-v0.9.0.json.gz" in drift.stderr
    assert "differs: nad-v1.7.7.json.gz" in drift.stderr
    assert "run `make schemas`" in drift.stderr
