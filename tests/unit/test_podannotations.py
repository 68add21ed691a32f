"""The readers of the pod annotations Multus and SpiderPool act on (virtnet.model.podannotations)."""

from __future__ import annotations

import pytest

from virtnet.model.manifest import ObjectRef
from virtnet.model.podannotations import (
    NadRef,
    default_network,
    default_network_problem,
    default_network_ref,
    network_selection,
    parse_nad_ref,
)

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
    ("text", "expected"),
    [
        ("kube-system/macvlan", [NadRef("kube-system", "macvlan")]),
        ("macvlan", [NadRef("vms", "macvlan")]),
        ("  kube-system/macvlan@eth0 ", [NadRef("kube-system", "macvlan")]),
        ("a/x, b/y", [NadRef("a", "x"), NadRef("b", "y")]),
        (" a / x @ net1 ", [NadRef("a", "x")]),  # Multus trims every part
        ("/x", [NadRef("vms", "x")]),  # an empty namespace is the default one
        ('[{"name": "m", "namespace": "kube-system"}]', [NadRef("kube-system", "m")]),
        (
            '[{"name": "m", "interface": "net1"}, {"name": "n", "namespace": ""}]',
            [NadRef("vms", "m"), NadRef("vms", "n")],
        ),
        # refused by Multus (parsePodNetworkAnnotation / parsePodNetworkObjectName) or naming no NAD
        ('{"name": "m"}', None),  # JSON, but an object, not a list
        ('"m"', None),  # a quote makes it JSON
        ("[not json", None),
        ("a/b/c", None),
        ("a/b@c@d", None),
        ('[{"name": 5}]', None),
        ('[{"name": "m", "namespace": 5}]', None),
        ('[{"namespace": "x"}]', None),
        ("[null]", None),
        ("a/", None),
        ("", None),
        ("   ", None),
    ],
)
def test_network_selection_reads_like_multus(text: str, expected: list[NadRef] | None) -> None:
    assert network_selection(text, "vms") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("kube-system/calico", NadRef("kube-system", "calico")),
        # Multus resolves a bare default-network name in its own namespace (kube-system), not the pod's
        ("calico", NadRef("kube-system", "calico")),
        ("vms/calico", NadRef("vms", "calico")),
        ('[{"name":"calico","namespace":"kube-system"}]', NadRef("kube-system", "calico")),
        ('[{"name":"calico"}]', NadRef("kube-system", "calico")),
        ('[{"name":"a"},{"name":"b"}]', NadRef("kube-system", "a")),
        ('{"name":"calico"}', None),  # Multus wants a list
        ('[{"name":5}]', None),
        ('[{"namespace":"x"}]', None),
        ("[oops", None),
        ("   ", None),
        (7, None),
    ],
)
def test_the_default_network_annotation_in_text_and_json_form(value: object, expected: NadRef | None) -> None:
    assert default_network_ref({DEFAULT: value}) == expected
    assert default_network(value) == expected  # a `multus: {default: true}` networkName reads the same


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


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("kube-system/macvlan", None),
        ("macvlan@eth0", None),
        ('[{"name": "macvlan"}]', None),
        ('{"name": "macvlan"}', "not a list"),
        ("[oops", "not valid JSON"),
        ('"macvlan"', "not a list"),  # a double quote makes it JSON
        ("a/b/c", "more than one '/'"),
        ("a/b@c@d", "more than one '@'"),
        ("a/", "names no network"),
        ('[{"name": "m", "namespace": 5}]', "namespace of 'm' is not a string"),
        ("", "empty"),
        ("a, b", "exactly one default network, and this names 2"),
        ("[]", "exactly one default network, and this names none"),
    ],
)
def test_why_multus_cannot_use_a_default_network_value(text: str, problem: str | None) -> None:
    found = default_network_problem(text)
    assert (found is None) if problem is None else (found is not None and problem in found)
