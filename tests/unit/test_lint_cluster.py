"""The pure part of `virtnet lint --cluster`: what was read → lint objects, "not checked" notes and versions
(no server; tests/cluster/test_lint_cluster.py runs the whole verb against a real one)."""

from __future__ import annotations

from typing import Any

from virtnet.cluster.facts import Facts
from virtnet.cluster.lint import KINDS, Gathered, Kind, Read, lint_gathered, live_objects, versions_of
from virtnet.errors import ForbiddenError, NotInstalledError
from virtnet.lint import LintOptions
from virtnet.lint.report import text

VM_KIND, VMI_KIND, POOL_KIND, _, SMC_KIND, NAD_KIND = KINDS


def vm(name: str, namespace: str, network: str) -> dict[str, Any]:
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": namespace, "managedFields": [{"manager": "kubectl"}]},
        "spec": {
            "template": {
                "spec": {
                    "domain": {"devices": {"interfaces": [{"name": "net1", "bridge": {}}]}},
                    "networks": [{"name": "net1", "multus": {"networkName": network}}],
                }
            }
        },
    }


def nad(name: str, namespace: str) -> dict[str, Any]:
    config = '{"cniVersion":"0.3.1","type":"ovs","bridge":"br1"}'
    return {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"config": config},
    }


def test_objects_of_other_namespaces_are_context_and_vmis_of_a_vm_are_skipped() -> None:
    owned = {"kind": "VirtualMachine", "name": "a", "uid": "u", "controller": True}
    reads = [
        Read(VM_KIND, [vm("a", "team", "kube-system/ovs")]),
        Read(
            VMI_KIND,
            [
                {
                    "apiVersion": "kubevirt.io/v1",
                    "kind": "VirtualMachineInstance",
                    "metadata": {"name": "a", "namespace": "team", "ownerReferences": [owned]},
                    "spec": {},
                },
                {
                    "apiVersion": "kubevirt.io/v1",
                    "kind": "VirtualMachineInstance",
                    "metadata": {"name": "b", "namespace": "team"},
                    "spec": {},
                },
            ],
        ),
        Read(NAD_KIND, [nad("ovs", "kube-system"), nad("local", "team")]),
        Read(
            POOL_KIND,
            [
                {
                    "apiVersion": "spiderpool.spidernet.io/v2beta1",
                    "kind": "SpiderIPPool",
                    "metadata": {"name": "p"},
                    "spec": {"subnet": "10.0.0.0/24"},
                }
            ],
        ),
    ]
    live = live_objects(reads, "team")
    assert [(o.kind, o.ref.namespace, o.ref.name) for o in live.objects] == [
        ("VirtualMachine", "team", "a"),
        ("VirtualMachineInstance", "team", "b"),
        ("NetworkAttachmentDefinition", "team", "local"),
        ("SpiderIPPool", None, "p"),
    ]
    assert [(o.kind, o.ref.namespace, o.ref.name) for o in live.context] == [
        ("NetworkAttachmentDefinition", "kube-system", "ovs")
    ]
    assert all(o.document is None for o in live.objects)
    assert "managedFields" not in live.objects[0].data["metadata"]
    assert live.not_checked == ()
    everything = live_objects(reads, None)
    assert len(everything.objects) == 5
    assert everything.context == []


def test_refused_and_missing_kinds_become_not_checked_notes() -> None:
    forbidden = ForbiddenError("no", verb="list", resource="virtualmachineinstances.kubevirt.io")
    everywhere = ForbiddenError("no", verb="list", resource="network-attachment-definitions.k8s.cni.cncf.io")
    reads = [
        Read(VMI_KIND, error=forbidden, namespace="team"),
        Read(Kind("spiderpool.spidernet.io/v2beta1", "SpiderSubnet", False), error=NotInstalledError("gone")),
        Read(NAD_KIND, [nad("local", "team")], namespace="team", fallback_from=everywhere),
    ]
    problems = {"kubevirt": ForbiddenError("no", verb="list", resource="kubevirts.kubevirt.io")}
    notes = live_objects(reads, "team", problems=problems).not_checked
    assert [(n.kind, n.namespace, n.forbidden) for n in notes] == [
        ("VirtualMachineInstance", "team", True),
        ("SpiderSubnet", None, False),
        ("NetworkAttachmentDefinition", None, True),
        ("KubeVirt", None, True),
    ]
    assert notes[0].reason == "forbidden (needs list on virtualmachineinstances.kubevirt.io)"
    assert notes[1].reason == "not installed"
    assert "only namespace team was read" in notes[2].reason
    assert str(notes[0]) == (
        "VirtualMachineInstance in namespace team: forbidden (needs list on virtualmachineinstances.kubevirt.io)"
    )


def _facts(kubevirt_version: str | None, deployment_version: str | None) -> Facts:
    facts = Facts(server="https://k")
    if kubevirt_version is not None:
        facts.kubevirt_cr = {
            "apiVersion": "kubevirt.io/v1",
            "kind": "KubeVirt",
            "metadata": {"name": "kubevirt", "namespace": "kubevirt"},
            "status": {"observedKubeVirtVersion": kubevirt_version},
        }
    if deployment_version is not None:
        facts.spiderpool_deployment = {
            "metadata": {
                "name": "spiderpool-controller",
                "namespace": "kube-system",
                "labels": {"app.kubernetes.io/version": deployment_version},
            }
        }
    return facts


def test_versions_flags_win_then_the_cluster_then_the_newest() -> None:
    kv, sp, source = versions_of(_facts("v1.2.0", "0.9.2"), None, None)
    assert (kv, sp) == ("v1.2.0", "v0.9.2")
    assert "KubeVirt kubevirt/kubevirt status.observedKubeVirtVersion" in source
    assert "Deployment kube-system/spiderpool-controller label app.kubernetes.io/version" in source
    kv, sp, source = versions_of(_facts("v1.2.0", "0.9.2"), "v1.9.0", None)
    assert (kv, sp) == ("v1.9.0", "v0.9.2")
    assert source.startswith("KubeVirt from --kubevirt-version; SpiderPool from the cluster's Deployment")
    # unknown or unsupported: the newest supported, and why — never an error
    kv, sp, source = versions_of(_facts("v0.59.0", None), None, None)
    assert (kv, sp) == ("v1.9.0", "v1.2.2")
    assert "v0.59.0" in source
    assert "no spiderpool-controller Deployment" in source


def test_findings_on_live_objects_have_no_file_and_text_groups_by_object() -> None:
    reads = [Read(VM_KIND, [vm("a", "team", "kube-system/missing")]), Read(NAD_KIND, [nad("ovs", "kube-system")])]
    gathered = Gathered(_facts("v1.9.0", "1.2.2"), reads, None)
    result = lint_gathered(gathered, LintOptions(enable=("nad-not-found",)), server="https://k", context="ctx")
    (finding,) = result.findings
    assert (finding.file, finding.line, finding.column) == (None, None, None)
    assert finding.to_dict()["path"] == "spec.template.spec.networks[0].multus.networkName"
    summary = result.summary()
    assert summary["cluster"] == {"server": "https://k", "context": "ctx", "namespace": None}
    assert summary["notChecked"] == []
    assert summary["objects"] == 3  # with the KubeVirt CR of the facts
    assert summary["files"] == 0
    shown = text(result).splitlines()
    assert shown[0] == "VirtualMachine team/a"
    assert shown[1].split()[:3] == ["error", "VN008", "nad-not-found"]
    assert "in 3 objects from the cluster at https://k (all namespaces)" in text(result)
