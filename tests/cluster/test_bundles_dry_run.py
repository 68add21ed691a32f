"""Every bundle virtnet renders is accepted by a real API server with the upstream CRDs of its target KubeVirt
release (server-side apply, dryRun=All, fieldValidation=Strict) without a single warning; the guide's own manifests,
verbatim, get the answers recorded here.

SpiderPool CRDs: a bundle for a SpiderPool v0.8 target is checked against v0.8.13 (pinned chart files, see
hack/envtest/versions.env), every other one against v1.2.2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import ApiError

from tests.golden.test_golden import golden_cases, golden_name
from virtnet.formats.yamlio import load_documents

from .conftest import ControlPlanes
from .envtest import REPO_ROOT, ControlPlane, create, dry_run_apply

pytestmark = pytest.mark.cluster

BUNDLES = REPO_ROOT / "tests/golden/bundles"
GUIDE = REPO_ROOT / "tests/fixtures/guide"
KUBEVIRT_SETS = ("v1.0.0", "v1.0.1", "v1.1.0", "v1.2.0", "v1.5.0", "v1.8.0", "v1.9.0")


def plane_for(planes: ControlPlanes, kubevirt: str, spiderpool: str = "v1.2.2") -> ControlPlane:
    assert kubevirt in KUBEVIRT_SETS, f"no KubeVirt CRD set for {kubevirt}: add it to hack/envtest/versions.env"
    sp = "v0.8.13" if spiderpool.startswith("v0.8.") else "v1.2.2"
    return planes.get((f"kubevirt-{kubevirt}", f"spiderpool-{sp}", "nad-v1.7.7"))


def ensure_namespaces(plane: ControlPlane, objects: list[dict[str, Any]]) -> None:
    for ns in {o["metadata"].get("namespace") for o in objects} - {None, "default", "kube-system"}:
        try:
            create(plane.client, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        except ApiError as err:
            if err.status.code != 409:  # already there from an earlier bundle
                raise


def bundle_versions(path: Path, versions: tuple[str, str] | None) -> tuple[str, str]:
    if versions is not None:
        return versions
    pinned = load_documents(path.read_text(), path.name)[0].data["spec"]["versions"]
    return str(pinned["kubevirt"]), str(pinned["spiderpool"])


CASES = golden_cases()


@pytest.mark.parametrize(("path", "versions"), CASES, ids=[golden_name(p, v)[:-5] for p, v in CASES])
def test_rendered_bundle_is_accepted_without_warnings(
    control_planes: ControlPlanes, path: Path, versions: tuple[str, str] | None
) -> None:
    kubevirt, spiderpool = bundle_versions(path, versions)
    plane = plane_for(control_planes, kubevirt, spiderpool)
    assert ("spiderpool-v0.8.13" in plane.crd_sets) == spiderpool.startswith("v0.8.")
    objects = [o for o in yaml.safe_load_all((BUNDLES / golden_name(path, versions)).read_text()) if o]
    ensure_namespaces(plane, objects)
    for obj in objects:
        assert dry_run_apply(plane.client, obj) == [], f"{obj['kind']} {obj['metadata']['name']}"


def guide(name: str) -> dict[str, Any]:
    (doc,) = [d for d in yaml.safe_load_all((GUIDE / name).read_text()) if d]
    return dict(doc)


@pytest.mark.parametrize("kubevirt", ["v1.0.1", "v1.9.0"])
@pytest.mark.parametrize("name", ["01-masquerade-calico-vm.yaml", "04-passt-macvlan-vm.yaml", "05-bridge-ovs-vm.yaml"])
def test_guide_vms_pass_the_schema(control_planes: ControlPlanes, kubevirt: str, name: str) -> None:
    """The guide's VMs are schema-valid on both releases: their mistakes (core passt on v1.3+, a NAD in the wrong
    namespace, pools on the wrong NIC) are caught only by KubeVirt's webhook or at pod start — which is what
    `virtnet lint` is for."""
    plane = plane_for(control_planes, kubevirt)
    assert dry_run_apply(plane.client, guide(name)) == []


@pytest.mark.parametrize("name", ["00-calico-multusconfig.yaml", "03-passt-multusconfig.yaml"])
def test_guide_multus_configs_are_accepted(cluster: ControlPlane, name: str) -> None:
    assert dry_run_apply(cluster.client, guide(name)) == []


def test_guide_ippool_verbatim_is_rejected_for_spec_vlan(cluster: ControlPlane) -> None:
    with pytest.raises(ApiError) as err:
        create(cluster.client, guide("02-passt-ippool.yaml"), dry_run=True)
    assert err.value.status.code == 400
    assert 'unknown field "spec.vlan"' in (err.value.status.message or "")


def test_guide_ippool_verbatim_is_accepted_by_spiderpool_v0_8_13(cluster_old: ControlPlane) -> None:
    """SpiderPool v0.8 still had SpiderIPPool spec.vlan (removed in v1.0.0): the guide's pool is valid there."""
    assert "spiderpool-v0.8.13" in cluster_old.crd_sets
    stored = create(cluster_old.client, guide("02-passt-ippool.yaml"), dry_run=True).object
    assert stored["spec"]["vlan"] == 0
