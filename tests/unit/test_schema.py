"""The shipped CRD schemas and the schema validator: versions, provenance, the API server's messages, and the fast
path never accepting what the precise walk refuses. (Agreement with the real API server: tests/cluster/
test_schema_vs_server.py.)"""

from __future__ import annotations

import copy
import random
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.cli.conftest import ROOT

import virtnet.lint.schema as schema_module
from virtnet.cluster.lint import schema_catalog
from virtnet.errors import ForbiddenError
from virtnet.formats.yamlio import load_documents
from virtnet.lint import LintOptions, lint
from virtnet.lint.report import text
from virtnet.lint.rules.schema import SCHEMA_KINDS
from virtnet.lint.schema import (
    CompiledKind,
    ascii_classes,
    compiled,
    go_value,
    is_date_time,
    json_schema,
    shipped_catalog,
    suggest,
)
from virtnet.model.versions import KUBEVIRT, TargetVersions, Version
from virtnet.schemas import all_kinds, choose, index, load, shipped

NEW = TargetVersions.parse("v1.9.0", "v1.2.2")
OLD = TargetVersions.parse("v1.0.1", "v0.8.0")
CORPUS = ROOT.parent / "shared/reference/corpus"


def kind(versions: TargetVersions, api_version: str, name: str) -> CompiledKind:
    found, problem = shipped_catalog(versions).lookup(api_version, name)
    assert found is not None, problem
    return compiled(found)


def messages(versions: TargetVersions, obj: dict[str, Any]) -> list[str]:
    return [e.message for e in kind(versions, obj["apiVersion"], obj["kind"]).errors(obj)]


VM: dict[str, Any] = {
    "apiVersion": "kubevirt.io/v1",
    "kind": "VirtualMachine",
    "metadata": {"name": "vm", "namespace": "default"},
    "spec": {
        "runStrategy": "Always",
        "template": {
            "spec": {
                "domain": {
                    "cpu": {"sockets": 2},
                    "devices": {"interfaces": [{"name": "default", "masquerade": {}}]},
                    "resources": {"requests": {"memory": "1Gi"}},
                },
                "networks": [{"name": "default", "pod": {}}],
            }
        },
    },
}
SMC: dict[str, Any] = {
    "apiVersion": "spiderpool.spidernet.io/v2beta1",
    "kind": "SpiderMultusConfig",
    "metadata": {"name": "m", "namespace": "kube-system"},
    "spec": {"cniType": "macvlan", "macvlan": {"master": ["ens192"], "vlanID": 30}},
}
POOL: dict[str, Any] = {
    "apiVersion": "spiderpool.spidernet.io/v2beta1",
    "kind": "SpiderIPPool",
    "metadata": {"name": "p"},
    "spec": {"ipVersion": 4, "subnet": "10.0.0.0/24"},
}


def changed(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    obj = copy.deepcopy(base)
    *parents, last = path.split(".")
    target: Any = obj
    for part in parents:
        name, _, index = part.partition("[")
        target = target[name]
        if index:
            target = target[int(index[:-1])]
    target[last] = value
    return obj


# --- the shipped data ------------------------------------------------------------------------------------------------


def test_every_supported_kubevirt_minor_has_its_own_schema() -> None:
    for minor in range(KUBEVIRT.oldest.minor, KUBEVIRT.newest.minor + 1):
        version, note = choose("kubevirt", Version(1, minor, 0))
        assert Version.parse(version).minor == minor
        assert note is None
        assert set(load("kubevirt", version).kinds) == {"VirtualMachine", "VirtualMachineInstance", "KubeVirt"}


def test_spiderpool_minors_without_a_schema_take_the_nearest_and_say_so() -> None:
    assert shipped("spiderpool") == ["v0.8.13", "v1.2.2"]
    assert choose("spiderpool", Version.parse("v0.8.0")) == ("v0.8.13", None)
    assert choose("spiderpool", Version.parse("v1.2.0")) == ("v1.2.2", None)
    version, note = choose("spiderpool", Version.parse("v0.9.2"))
    assert version == "v0.8.13"
    assert note is not None
    assert "SpiderPool v0.9.2" in note
    for v in ("v1.0.0", "v1.1.3"):
        version, note = choose("spiderpool", Version.parse(v))
        assert version == "v1.2.2"
        assert note is not None
    catalog = shipped_catalog(TargetVersions.parse("v1.2.0", "v0.9.2"))
    assert catalog.notes
    assert "v0.8.13" in catalog.notes[0]


def test_provenance_names_module_file_and_sha256() -> None:
    pinned = dict(
        reversed(line.split()) for line in (ROOT / "hack/envtest/crd-fallback.sha256").read_text().splitlines()
        if line and not line.startswith("#")
    )  # fmt: skip
    for project, sets in index()["sets"].items():
        for entry in sets:
            assert entry["provenance"], entry
            for source in entry["provenance"]:
                assert re.fullmatch(r"[0-9a-f]{64}", source["sha256"])
                assert source["version"] == entry["version"]
                assert source["module"] in (
                    "kubevirt.io/kubevirt",
                    "github.com/spidernet-io/spiderpool",
                    "github.com/k8snetworkplumbingwg/network-attachment-definition-client",
                )
                if project == "spiderpool" and entry["version"] == "v0.8.13":
                    key = f"spiderpool/v0.8.13/{Path(source['file']).name}"
                    assert pinned[key] == source["sha256"], key
                    assert "crd-fallback.sha256" in source["note"]


def test_the_rules_check_every_kind_a_schema_is_shipped_for() -> None:
    assert set(SCHEMA_KINDS) == set(all_kinds())
    assert {"SpiderIPPool", "SpiderMultusConfig", "SpiderEndpoint", "SpiderSubnet", "SpiderReservedIP",
            "NetworkAttachmentDefinition"} <= set(all_kinds())  # fmt: skip


def test_passt_binding_is_unknown_before_kubevirt_v1_8() -> None:
    vm = changed(VM, "spec.template.spec.domain.devices.interfaces", [{"name": "default", "passtBinding": {}}])
    for minor in range(10):
        found = messages(TargetVersions.parse(f"v1.{minor}.0", "v1.2.2"), vm)
        unknown = 'unknown field "spec.template.spec.domain.devices.interfaces[0].passtBinding"'
        assert (unknown in found) == (minor < 8), (minor, found)


def test_schemas_are_stripped_to_what_validation_needs() -> None:
    vm = load("kubevirt", "v1.9.0").kinds["VirtualMachine"].schema
    text = repr(vm)
    assert "description" not in text
    assert "x-kubernetes-map-type" not in text
    sockets = vm["properties"]["spec"]["properties"]["template"]["properties"]["spec"]["properties"]["domain"][
        "properties"
    ]["cpu"]["properties"]["sockets"]
    assert sockets == {"format": "int32", "type": "integer"}


# --- what the API server says ----------------------------------------------------------------------------------------

IFACE = "spec.template.spec.domain.devices.interfaces[0]"


@pytest.mark.parametrize("versions", [OLD, NEW], ids=["old", "new"])
def test_messages_are_the_api_servers(versions: TargetVersions) -> None:
    iface = {"name": "default", "masquerade": {}, "macaddress": "02:00:00:00:00:01"}
    vm = changed(VM, "spec.template.spec.domain.devices.interfaces", [iface])
    errors = kind(versions, "kubevirt.io/v1", "VirtualMachine").errors(vm)
    assert [(e.message, e.fix) for e in errors] == [
        (f'unknown field "{IFACE}.macaddress"', "did you mean 'macAddress'?")
    ]
    sockets = "spec.template.spec.domain.cpu.sockets"
    assert messages(versions, changed(VM, "spec.template.spec.domain.cpu.sockets", "2")) == [
        f'{sockets}: Invalid value: "string": {sockets} in body must be of type integer: "string"'
    ]
    vm = changed(VM, "spec.template.spec.networks", [{"name": "default", "multus": {"networkName": "n",
                                                                                   "default": "true"}}])  # fmt: skip
    default = "spec.template.spec.networks[0].multus.default"
    assert messages(versions, vm) == [
        f'{default}: Invalid value: "string": {default} in body must be of type boolean: "string"'
    ]
    assert messages(versions, changed(SMC, "spec.macvlan.vlanID", "30")) == [
        'spec.macvlan.vlanID: Invalid value: "string": spec.macvlan.vlanID in body must be of type integer: "string"'
    ]
    assert messages(versions, changed(SMC, "spec.macvlan.vlanID", 5000)) == [
        "spec.macvlan.vlanID: Invalid value: 5000: spec.macvlan.vlanID in body should be less than or equal to 4094"
    ]
    assert messages(versions, changed(POOL, "spec.ipVersion", 5)) == [
        'spec.ipVersion: Unsupported value: 5: supported values: "4", "6"'
    ]
    assert messages(versions, changed(POOL, "spec", {"ipVersion": 4})) == ["spec.subnet: Required value"]
    memory = "spec.template.spec.domain.resources.requests.memory"
    (pattern,) = messages(versions, changed(VM, "spec.template.spec.domain.resources.requests.memory", "1GB"))
    assert pattern.startswith(f'{memory}: Invalid value: "1GB": {memory} in body should match \'^(\\+|-)?')


def test_more_messages() -> None:
    networks = [{"name": f"n{i}", "pod": {}} for i in range(257)]
    assert messages(NEW, changed(VM, "spec.template.spec.networks", networks)) == [
        "spec.template.spec.networks: Too many: 257: must have at most 256 items"
    ]
    volume = "spec.template.spec.volumes[0].containerPath"
    vm = changed(VM, "spec.template.spec.volumes", [{"name": "v", "containerPath": {"path": "data",
                                                                                    "readOnly": False}}])  # fmt: skip
    assert messages(NEW, vm) == [
        f"{volume}.path: Invalid value: \"string\": path must be absolute (start with '/')",
        f'{volume}.readOnly: Invalid value: "boolean": readOnly must be true, write access is not supported',
    ]
    kv = {"apiVersion": "kubevirt.io/v1", "kind": "KubeVirt", "metadata": {"name": "kv", "namespace": "kubevirt"},
          "spec": {"configuration": {"tlsConfiguration": {"ciphers": ["a", "b", "a"]}}}}  # fmt: skip
    assert messages(NEW, kv) == ['spec.configuration.tlsConfiguration.ciphers[2]: Duplicate value: "a"']
    spread = [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}] * 2
    assert messages(NEW, changed(VM, "spec.template.spec.topologySpreadConstraints", spread)) == [
        'spec.template.spec.topologySpreadConstraints[1]: Duplicate value: {"topologyKey":"zone",'
        '"whenUnsatisfiable":"DoNotSchedule"}'
    ]
    assert messages(NEW, changed(VM, "spec.runStrategy", None)) == [
        'spec.runStrategy: Invalid value: "null": spec.runStrategy in body must be of type string: "null"'
    ]
    assert messages(NEW, changed(VM, "metadata", {"name": "vm", "labels": {"a": 1}})) == [
        "metadata.labels.a: json: cannot unmarshal number into Go struct field ObjectMeta.labels of type string"
    ]
    assert messages(NEW, changed(VM, "status", {"printableStatus": 5})) == [
        "status.printableStatus: expected string, got integer 5: server-side apply refuses it (a create drops status)"
    ]
    _, problem = shipped_catalog(NEW).lookup("kubevirt.io/v2", "VirtualMachine")
    assert problem == (
        'no matches for kind "VirtualMachine" in version "kubevirt.io/v2" '
        "(served: kubevirt.io/v1, kubevirt.io/v1alpha3)"
    )
    _, unset = shipped_catalog(NEW).lookup("", "SpiderIPPool")
    assert unset == (
        "apiVersion not set (kubectl refuses the object before sending it; "
        "SpiderIPPool: spiderpool.spidernet.io/v2beta1)"
    )
    (int32,) = messages(NEW, changed(VM, "spec.template.spec.domain.cpu.sockets", 2**31))
    assert "does not fit format int32 (-2147483648 to 2147483647)" in int32
    assert "virt-api" in int32


def test_accepted_as_the_api_server_accepts() -> None:
    assert messages(NEW, changed(VM, "spec.template.spec.domain.cpu.sockets", 2.0)) == []  # a JSON integer
    assert messages(NEW, changed(VM, "spec.template.spec.domain.resources.requests.memory", 1073741824)) == []
    assert messages(NEW, changed(VM, "spec.template", {**VM["spec"]["template"], "metadata": {"x": {"y": 1}}})) == []
    assert messages(NEW, changed(POOL, "spec.default", None)) == []  # null: set to the default
    assert messages(NEW, changed(VM, "status", {"ready": None, "printableStatus": "Running"})) == []
    assert messages(NEW, changed(POOL, "status", {"allocatedIPCount": -1})) == []  # status: dropped on create
    assert messages(NEW, changed(VM, "apiVersion", "kubevirt.io/v1alpha3")) == []
    assert messages(OLD, changed(POOL, "spec.vlan", 30)) == []  # v0.8 still has spec.vlan
    assert messages(NEW, changed(POOL, "spec.vlan", 30)) == ['unknown field "spec.vlan"']


def test_did_you_mean() -> None:
    assert suggest("macaddress", ["macAddress", "model", "name"]) == "macAddress"
    assert suggest("mac_address", ["macAddress", "model", "name"]) == "macAddress"
    assert suggest("netwrokName", ["networkName", "default"]) == "networkName"
    assert suggest("vlanId", ["vlanID", "master", "ippools"]) == "vlanID"
    assert suggest("completelydifferent", ["networkName", "default"]) is None


def test_value_formats_and_patterns() -> None:
    assert is_date_time("2024-02-29T10:00:00Z")
    assert is_date_time("2024-01-01t10:00:00.5+02:00")
    assert not is_date_time("2023-02-29T10:00:00Z")
    assert not is_date_time("yesterday")
    assert not is_date_time("2024-01-01T24:00:00Z")
    assert ascii_classes(r"^\d+[\d.]\s\w$") == r"^[0-9]+[0-9.][\t\n\f\r ][0-9A-Za-z_]$"
    assert [go_value(v) for v in (5, 2.5, 3.0, True, None, "a", {"b": 1})] == ["5", "2.5", "3", "true", "null",
                                                                               '"a"', '{"b":1}']  # fmt: skip


# --- fast path == precise walk ---------------------------------------------------------------------------------------


def _bases() -> list[tuple[TargetVersions, dict[str, Any]]]:
    out: list[tuple[TargetVersions, dict[str, Any]]] = []
    sources = [
        *sorted((ROOT / "tests/golden/bundles").glob("*.yaml")),
        *sorted((ROOT / "tests/lint/fixtures").glob("*/*.yaml")),
        *sorted((CORPUS / "kubevirt-v1.9.0-examples").glob("*.yaml")),
    ]
    for path in sources:
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") in all_kinds():
                for versions in (OLD, NEW):
                    out.append((versions, doc))
    return out


def _mutations(obj: Any, rng: random.Random) -> Any:
    """One random change somewhere in ``obj``: a type swap, a null, an unknown key, a deletion, a bound."""
    obj = copy.deepcopy(obj)
    containers: list[Any] = []
    stack = [obj]
    while stack:
        x = stack.pop()
        if isinstance(x, (dict, list)):
            containers.append(x)
            stack.extend(x.values() if isinstance(x, dict) else x)
    target = rng.choice(containers)
    keys = list(target) if isinstance(target, dict) else list(range(len(target)))
    if not keys:
        if isinstance(target, dict):
            target["unknownField"] = 1
        return obj
    if target is obj:  # apiVersion/kind/metadata decide which schema applies; the rest is what is mutated
        keys = [k for k in keys if k not in ("apiVersion", "kind", "metadata")] or keys
    key = rng.choice(keys)
    choice = rng.randrange(10)
    value = target[key]
    if choice == 0:
        target[key] = None
    elif choice == 1:
        target[key] = str(value) if not isinstance(value, str) else 7
    elif choice == 2 and isinstance(target, dict):
        del target[key]
    elif choice == 3 and isinstance(target, dict):
        target[str(key).lower() if str(key).lower() != key else str(key).upper()] = value
    elif choice == 4:
        target[key] = [value]
    elif choice == 5:
        target[key] = {"x": value}
    elif choice == 6:
        target[key] = rng.choice([True, -1, 2.5, 5000, 2**40, "", "x" * 300, 2**31])
    elif choice == 7 and isinstance(target, list):
        target.append(copy.deepcopy(value))
    elif choice == 8:
        target[key] = rng.choice(["2024-02-30T00:00:00Z", "1GB", "/../x", "Terminate", 4, 6, "macvlan"])
    return obj


def test_fast_path_never_accepts_what_the_precise_walk_refuses() -> None:
    rng = random.Random(20260801)
    bases = _bases()
    assert len(bases) > 100
    checked = disagreements = 0
    for versions, doc in bases:
        compiled_kind = kind(versions, str(doc["apiVersion"]), str(doc["kind"]))
        for obj in (doc, *(_mutations(doc, rng) for _ in range(12))):
            precise = compiled_kind.precise(obj)
            fast = compiled_kind.fast.is_valid(obj)
            checked += 1
            if fast:
                assert precise == [], (doc["kind"], precise)
            elif not precise:
                disagreements += 1  # the fast path may refuse more (list-map sizes, days 29-31, ints > 2^53)
    assert checked > 1000
    assert disagreements < checked // 100, disagreements


def test_without_the_compiled_validator_the_precise_walk_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema_module, "_jsonschema_rs", None)
    found, _ = shipped_catalog(NEW).lookup("kubevirt.io/v1", "VirtualMachine")
    assert found is not None
    slow = CompiledKind.build(found)
    assert slow.fast is None
    bad = changed(VM, "spec.template.spec.domain.cpu.sockets", "2")
    assert [e.message for e in slow.errors(bad)] == messages(NEW, bad)
    assert slow.errors(VM) == []


def test_fast_path_schema_forbids_unknown_fields_where_the_api_server_does() -> None:
    found, _ = shipped_catalog(NEW).lookup("k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition")
    assert found is not None
    doc = json_schema(found)
    assert doc["additionalProperties"] is False
    assert doc["properties"]["spec"]["additionalProperties"] is False


# --- the lint result -------------------------------------------------------------------------------------------------


def test_summary_counts_validated_and_skipped_kinds() -> None:
    text_in = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
        "---\napiVersion: v1\nkind: Secret\nmetadata: {name: t}\n---\n" + yaml.safe_dump(POOL)
    )
    result = lint(load_documents(text_in, "in.yaml"), LintOptions(spiderpool_version="v1.2.2"))
    summary = result.to_dict()["summary"]["schema"]
    assert summary["validated"] == 1
    assert summary["skipped"] == {"ConfigMap": 1, "Secret": 2}
    assert summary["from"] == "virtnet's shipped schemas: KubeVirt v1.9.0, SpiderPool v1.2.2, Multus NAD v1.7.7"
    assert "schema: 1 object validated against virtnet's shipped schemas" in text(result)
    assert "no schema (skipped): ConfigMap 1, Secret 2" in text(result)
    off = lint(load_documents(text_in, "in.yaml"), LintOptions(disable=("unknown-field", "schema-invalid")))
    assert "schema" not in off.to_dict()["summary"]


def test_kubevirt_examples_and_spiderpool_docs_have_no_schema_findings() -> None:
    for corpus, versions, expected in (
        ("kubevirt-v1.9.0-examples", NEW, []),
        # a docs snippet meant for `kubectl patch`, not a whole SpiderIPPool
        ("spiderpool-v1.2.2-docs", NEW, [("spider-ippool-03.yaml", "spec.subnet: Required value")]),
    ):
        paths = sorted((CORPUS / corpus).glob("*.yaml"))
        assert paths, corpus
        docs = [d for p in paths for d in load_documents(p.read_text(), p.name)]
        options = LintOptions(
            kubevirt_version=str(versions.kubevirt),
            spiderpool_version=str(versions.spiderpool),
            enable=("unknown-field", "schema-invalid"),
        )
        result = lint(docs, options)
        assert [(f.file, f.message) for f in result.findings] == expected
        assert result.schema is not None
        assert result.schema["validated"] >= len(paths) // 2


def test_everything_virtnet_renders_and_the_guide_have_no_schema_findings() -> None:
    for path in sorted((ROOT / "tests/golden/bundles").glob("*.yaml")):
        found = re.search(r"kv-(v\d+\.\d+\.\d+)__sp-(v\d+\.\d+\.\d+)", path.name)
        kv, sp = found.groups() if found else (None, None)
        options = LintOptions(kubevirt_version=kv, spiderpool_version=sp, enable=("unknown-field", "schema-invalid"))
        result = lint(load_documents(path.read_text(), path.name), options)
        assert result.findings == (), (path.name, [f.message for f in result.findings])
    guide = sorted((ROOT / "tests/fixtures/guide").glob("*.yaml"))
    docs = [d for p in guide for d in load_documents(p.read_text(), p.name)]
    for kv, sp, expected in (
        ("v1.0.1", "v0.8.0", []),  # the guide's own versions: spec.vlan is still in the schema
        ("v1.9.0", "v1.2.2", [("02-passt-ippool.yaml", 'unknown field "spec.vlan"')]),  # its real mistake there
    ):
        options = LintOptions(kubevirt_version=kv, spiderpool_version=sp, enable=("unknown-field", "schema-invalid"))
        assert [(f.file, f.message) for f in lint(docs, options).findings] == expected


# --- lint --cluster: the cluster's CRDs -------------------------------------------------------------------------------


def _nad_crd(config_type: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "network-attachment-definitions.k8s.cni.cncf.io"},
        "spec": {
            "group": "k8s.cni.cncf.io",
            "scope": "Namespaced",
            "names": {"kind": "NetworkAttachmentDefinition", "plural": "network-attachment-definitions"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {"type": "object", "properties": {"config": {"type": config_type,
                                                                                     "format": "password"}}}
                            },
                        }
                    },
                }
            ],
        },
    }  # fmt: skip


def test_cluster_crds_replace_the_shipped_schemas() -> None:
    nad = {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
           "metadata": {"name": "n", "namespace": "default"}, "spec": {"config": 5}}  # fmt: skip
    shipped_cat = shipped_catalog(NEW)
    catalog = schema_catalog({"network-attachment-definitions.k8s.cni.cncf.io": _nad_crd("integer")}, shipped_cat)
    found, _ = catalog.lookup("k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition")
    assert found is not None
    assert found.source == "the cluster's CRD network-attachment-definitions.k8s.cni.cncf.io"
    assert compiled(found).errors(nad) == []
    assert catalog.source == "the cluster's CRD schemas (network-attachment-definitions.k8s.cni.cncf.io)"
    # a construct virtnet does not check is named, not guessed
    assert any("format 'password'" in note for note in catalog.notes), catalog.notes
    # the other kinds keep the shipped schemas
    assert catalog.lookup("kubevirt.io/v1", "VirtualMachine")[0] == shipped_cat.lookup("kubevirt.io/v1",
                                                                                       "VirtualMachine")[0]  # fmt: skip


def test_a_forbidden_crd_falls_back_to_the_shipped_schema_and_says_so() -> None:
    refused = ForbiddenError("forbidden", verb="get", resource="customresourcedefinitions.apiextensions.k8s.io")
    catalog = schema_catalog({"virtualmachines.kubevirt.io": refused}, shipped_catalog(NEW))
    assert catalog.source.endswith("(the cluster's CRDs could not be read)")
    assert catalog.notes == (
        "CRD virtualmachines.kubevirt.io: forbidden (needs get on customresourcedefinitions.apiextensions.k8s.io); "
        "its objects are validated against KubeVirt v1.9.0 (shipped)",
    )


def test_embedded_resources_and_preserved_arrays_behave_alike_in_both_paths() -> None:
    """Constructs the shipped schemas do not use (yet), checked on a made-up CRD: an embedded resource allows
    apiVersion/kind/metadata (metadata decoded as ObjectMeta); below x-kubernetes-preserve-unknown-fields unknown
    fields are kept, but a declared property is pruned as usual (its array's items too), while the items of a
    preserving array keep theirs (pruning's skip mode: pruning/algorithm.go skipPrune)."""
    from virtnet.schemas import KindSchema

    item = {"type": "object", "properties": {"n": {"type": "string"}}}
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                                 "properties": {"spec": {"type": "object", "properties": {"a": {"type": "integer"}}}}},
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                             "properties": {"list": {"type": "array", "items": item}}},
                    "freelist": {"type": "array", "x-kubernetes-preserve-unknown-fields": True, "items": item},
                },
            }
        },
    }  # fmt: skip
    made_up = KindSchema("Thing", "example.com", ("v1",), True, False, schema, "test", "things.example.com", "test")
    check = compiled(made_up)
    base = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"},
            "spec": {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}},
                                  "spec": {"a": 1}},
                     "free": {"anything": 1, "list": [{"n": "x"}]},
                     "freelist": [{"n": "x", "extra": 2}]}}  # fmt: skip
    assert check.errors(base) == []
    assert check.fast.is_valid(base)
    cases = {
        "spec.template.metadata": ({"name": "p", "nam": "q"}, 'unknown field "spec.template.metadata.nam"'),
        "spec.template.spec": ({"a": 1, "b": 2}, 'unknown field "spec.template.spec.b"'),
        "spec.free": ({"list": [{"n": "x", "extra": 2}]}, 'unknown field "spec.free.list[0].extra"'),
        "spec.freelist": ([{"n": 5}], 'spec.freelist[0].n: Invalid value: "integer": spec.freelist[0].n in body '
                                      'must be of type string: "integer"'),
    }  # fmt: skip
    for path, (value, message) in cases.items():
        obj = changed(base, path, value)
        assert [e.message for e in check.errors(obj)] == [message]
        assert not check.fast.is_valid(obj)
