"""The readers of the pod annotations Multus and SpiderPool act on (virtnet.model.podannotations)."""

from __future__ import annotations

import pytest

from virtnet.model.manifest import ObjectRef
from virtnet.model.podannotations import NadRef, default_network_ref, parse_nad_ref

DEFAULT = "v1.multus-cni.io/default-network"


@pytest.mark.parametrize(
    ("text", "default_namespace", "expected"),
    [
        ("kube-system/macvlan", None, NadRef("kube-system", "macvlan")),
        ("macvlan", None, NadRef(None, "macvlan")),
        ("macvlan", "vms", NadRef("vms", "macvlan")),
        (" net/macvlan@eth1 ", "vms", NadRef("net", "macvlan")),
        ("/macvlan", "vms", NadRef("", "macvlan")),  # an empty namespace is kept as written
    ],
)
def test_a_network_name_is_split_as_kubevirt_and_multus_split_it(
    text: str, default_namespace: str | None, expected: NadRef
) -> None:
    assert parse_nad_ref(text, default_namespace) == expected


def test_a_nad_ref_prints_as_namespace_slash_name() -> None:
    assert str(NadRef("kube-system", "macvlan")) == "kube-system/macvlan"
    assert str(NadRef(None, "macvlan")) == "macvlan"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("kube-system/calico", NadRef("kube-system", "calico")),
        ("calico", NadRef(None, "calico")),
        ('[{"name":"calico","namespace":"kube-system"}]', NadRef("kube-system", "calico")),
        ('{"name":"calico"}', NadRef(None, "calico")),
        ('[{"name":"a"},{"name":"b"}]', NadRef(None, "a")),
        ('[{"name":5}]', None),
        ('[{"namespace":"x"}]', None),
        ("[oops", None),
        ("   ", None),
        (7, None),
    ],
)
def test_the_default_network_annotation_in_text_and_json_form(value: object, expected: NadRef | None) -> None:
    assert default_network_ref({DEFAULT: value}) == expected


def test_no_default_network_annotation_names_no_nad() -> None:
    assert default_network_ref({}) is None


def test_an_object_ref_of_a_manifest() -> None:
    vm = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "vm1"}}
    ref = ObjectRef.of(vm, namespaced=True, default_namespace="vms")
    assert ref == ObjectRef("kubevirt.io/v1", "VirtualMachine", "vms", "vm1")
    assert str(ref) == "VirtualMachine vms/vm1"
    assert ref.to_dict() == {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "namespace": "vms",
        "name": "vm1",
    }
    pool = {"apiVersion": "spiderpool.spidernet.io/v2beta1", "kind": "SpiderIPPool", "metadata": {"name": "p"}}
    assert str(ObjectRef.of(pool, namespaced=False, default_namespace="vms")) == "SpiderIPPool p"
