"""The test control plane is a real kube-apiserver with the upstream CRDs installed."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from lightkube import ApiError
from lightkube.generic_resource import create_global_resource, create_namespaced_resource

from .envtest import REPO_ROOT, ControlPlane, create, dry_run_apply, http_session, server_side_apply

pytestmark = pytest.mark.cluster

SPIDER_IPPOOL = create_global_resource("spiderpool.spidernet.io", "v2beta1", "SpiderIPPool", "spiderippools")

# The SpiderIPPool of the guide (written for SpiderPool v0.8).
GUIDE_IPPOOL: dict[str, Any] = {
    "apiVersion": "spiderpool.spidernet.io/v2beta1",
    "kind": "SpiderIPPool",
    "metadata": {"name": "10-7-v4"},
    "spec": {
        "default": False,
        "disable": False,
        "gateway": "10.7.0.1",
        "ipVersion": 4,
        "ips": ["10.7.120.100-10.7.120.200"],
        "subnet": "10.7.120.11/16",
        "vlan": 0,
    },
}


def message(err: pytest.ExceptionInfo[ApiError]) -> str:
    """The message of the API server's Status."""
    return err.value.status.message or ""


def ippool(name: str, **spec: Any) -> dict[str, Any]:
    obj = copy.deepcopy(GUIDE_IPPOOL)
    obj["metadata"]["name"] = name
    del obj["spec"]["vlan"]
    obj["spec"].update(spec)
    return obj


def test_server_reports_pinned_version(cluster: ControlPlane) -> None:
    go_mod = (REPO_ROOT / "hack" / "envtest" / "apiserver" / "go.mod").read_text()
    pinned = re.search(r"^\s*k8s\.io/kubernetes (v\S+)", go_mod, re.MULTILINE)
    assert pinned is not None
    version = http_session(cluster.client).get("/version").json()
    assert version["gitVersion"] == pinned.group(1)


def test_default_crds_are_established(cluster: ControlPlane) -> None:
    crd = create_global_resource("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions")
    names = {c.metadata.name for c in cluster.client.list(crd)}  # type: ignore[union-attr]
    assert {
        "virtualmachines.kubevirt.io",
        "virtualmachineinstances.kubevirt.io",
        "kubevirts.kubevirt.io",
        "spiderippools.spiderpool.spidernet.io",
        "spidermultusconfigs.spiderpool.spidernet.io",
        "spidersubnets.spiderpool.spidernet.io",
        "spiderreservedips.spiderpool.spidernet.io",
        "spiderendpoints.spiderpool.spidernet.io",
        "spidercoordinators.spiderpool.spidernet.io",
        "network-attachment-definitions.k8s.cni.cncf.io",
    } <= names


def test_unknown_field_rejected_with_strict_field_validation(cluster: ControlPlane) -> None:
    obj = ippool("strict-unknown-field", bogusField="x")
    with pytest.raises(ApiError) as err:
        create(cluster.client, obj, field_validation="Strict")
    assert err.value.status.code == 400
    assert 'unknown field "spec.bogusField"' in message(err)
    # Nothing was stored.
    with pytest.raises(ApiError) as missing:
        cluster.client.get(SPIDER_IPPOOL, "strict-unknown-field")
    assert missing.value.status.code == 404


def test_unknown_field_is_a_warning_with_warn_field_validation(cluster: ControlPlane) -> None:
    result = create(cluster.client, ippool("warn-unknown-field", bogusField="x"), field_validation="Warn", dry_run=True)
    assert result.warnings == ['unknown field "spec.bogusField"']


def test_schema_violation_rejected(cluster: ControlPlane) -> None:
    with pytest.raises(ApiError) as err:
        dry_run_apply(cluster.client, ippool("bad-ipversion", ipVersion=5))
    assert err.value.status.code == 422
    assert "spec.ipVersion" in message(err)


def test_second_apply_of_a_field_by_another_manager_conflicts(cluster: ControlPlane) -> None:
    server_side_apply(cluster.client, ippool("ssa-conflict"), field_manager="virtnet-first")
    changed = ippool("ssa-conflict", gateway="10.7.0.254")
    with pytest.raises(ApiError) as err:
        server_side_apply(cluster.client, changed, field_manager="virtnet-second")
    assert err.value.status.code == 409
    assert 'conflict with "virtnet-first"' in message(err)
    assert ".spec.gateway" in message(err)
    # Forcing takes the field over; the first manager's value is replaced.
    taken = server_side_apply(cluster.client, changed, field_manager="virtnet-second", force=True)
    assert taken.object["spec"]["gateway"] == "10.7.0.254"


def test_guide_ippool_rejected_by_spiderpool_v1(cluster: ControlPlane) -> None:
    """SpiderPool v1.x removed spec.vlan: the guide's pool does not pass strict validation.

    Server-side apply reports the unknown field while building the typed patch, which the
    API server (v1.35) answers with 500 InternalError, not 400; a create (POST) says 400.
    """
    assert "spiderpool-v1.2.2" in cluster.crd_sets
    with pytest.raises(ApiError) as err:
        dry_run_apply(cluster.client, GUIDE_IPPOOL)
    assert err.value.status.code == 500
    assert ".spec.vlan: field not declared in schema" in message(err)
    with pytest.raises(ApiError) as post:
        create(cluster.client, GUIDE_IPPOOL, dry_run=True)
    assert post.value.status.code == 400
    assert 'unknown field "spec.vlan"' in message(post)


def test_dry_run_apply_stores_nothing_and_returns_warnings(cluster: ControlPlane, namespace: str) -> None:
    vm = {
        "apiVersion": "kubevirt.io/v1alpha3",
        "kind": "VirtualMachine",
        "metadata": {"name": "vm-dry-run", "namespace": namespace},
        "spec": {"template": {"spec": {"domain": {"devices": {}}}}},
    }
    warnings = dry_run_apply(cluster.client, vm)
    assert warnings == ["kubevirt.io/v1alpha3 is now deprecated and will be removed in a future release."]
    vm["apiVersion"] = "kubevirt.io/v1"
    assert dry_run_apply(cluster.client, vm) == []
    vms = create_namespaced_resource("kubevirt.io", "v1", "VirtualMachine", "virtualmachines")
    with pytest.raises(ApiError) as err:
        cluster.client.get(vms, "vm-dry-run", namespace=namespace)
    assert err.value.status.code == 404


def test_namespace_fixture_gives_a_fresh_namespace(cluster: ControlPlane, namespace: str) -> None:
    nad = {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": {"name": "macvlan", "namespace": namespace},
        "spec": {"config": '{"cniVersion": "0.3.1", "type": "macvlan", "master": "eth0"}'},
    }
    applied = server_side_apply(cluster.client, nad, field_manager="virtnet-test")
    assert applied.object["metadata"]["namespace"] == namespace
    assert applied.object["metadata"]["uid"]


def test_kubevirt_v1_0_1_schema_differs_from_v1_9_0(cluster: ControlPlane, cluster_old: ControlPlane) -> None:
    """The same VirtualMachine field is known to one release and unknown to the other (passt binding)."""
    vm = {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": "vm-passt-binding", "namespace": "default"},
        "spec": {
            "runStrategy": "Halted",
            "template": {
                "spec": {
                    "domain": {"devices": {"interfaces": [{"name": "default", "binding": {"name": "passt"}}]}},
                    "networks": [{"name": "default", "pod": {}}],
                }
            },
        },
    }
    assert dry_run_apply(cluster.client, vm) == []
    with pytest.raises(ApiError) as err:
        dry_run_apply(cluster_old.client, vm)
    assert "binding" in message(err)
