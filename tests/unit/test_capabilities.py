from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from virtnet.model.capabilities import (
    Binding,
    SpiderPoolFeatures,
    Status,
    binding_support,
    multi_nic_leak_fixed_in,
    passt_binding_for,
    passt_plugin_cni_installer,
    pod_interface_name,
    static_ip_off_crashes_agent,
)
from virtnet.model.versions import V


@pytest.mark.parametrize(
    ("kv", "binding"),
    [
        ("v1.0.0", Binding.PASST_CORE),
        ("v1.0.1", Binding.PASST_CORE),
        ("v1.1.1", Binding.PASST_CORE),
        ("v1.2.0", Binding.PASST_PLUGIN),
        ("v1.5.0", Binding.PASST_PLUGIN),
        ("v1.7.3", Binding.PASST_PLUGIN),
        ("v1.8.0", Binding.PASST_BINDING),
        ("v1.9.0", Binding.PASST_BINDING),
    ],
)
def test_passt_flavour_per_version(kv: str, binding: Binding) -> None:
    assert passt_binding_for(V(kv)) is binding


@pytest.mark.parametrize(
    ("kv", "status", "gates"),
    [
        ("v1.0.1", Status.SUPPORTED, ("Passt",)),
        ("v1.2.0", Status.DEPRECATED, ("Passt",)),
        ("v1.3.0", Status.UNAVAILABLE, ()),
        ("v1.9.0", Status.UNAVAILABLE, ()),
    ],
)
def test_core_passt(kv: str, status: Status, gates: tuple[str, ...]) -> None:
    support = binding_support(Binding.PASST_CORE, V(kv))
    assert support.status is status
    assert support.feature_gates == gates
    assert support.single_interface
    assert not support.migratable_on_pod_network


@pytest.mark.parametrize(
    ("kv", "status", "gates", "migratable"),
    [
        ("v1.1.0", Status.UNAVAILABLE, (), False),
        ("v1.1.1", Status.SUPPORTED, ("NetworkBindingPlugins",), False),
        ("v1.2.0", Status.SUPPORTED, ("NetworkBindingPlugins",), True),
        ("v1.4.2", Status.SUPPORTED, ("NetworkBindingPlugins",), True),
        ("v1.5.0", Status.SUPPORTED, (), True),
        ("v1.8.0", Status.DEPRECATED, (), True),
    ],
)
def test_passt_plugin(kv: str, status: Status, gates: tuple[str, ...], migratable: bool) -> None:
    support = binding_support(Binding.PASST_PLUGIN, V(kv))
    assert (support.status, support.feature_gates, support.migratable_on_pod_network) == (status, gates, migratable)
    assert support.needs_registration


@pytest.mark.parametrize(
    ("kv", "usable", "gates"),
    [("v1.7.0", False, ()), ("v1.8.0", True, ("PasstBinding",)), ("v1.9.0", True, ())],
)
def test_passt_binding(kv: str, usable: bool, gates: tuple[str, ...]) -> None:
    support = binding_support(Binding.PASST_BINDING, V(kv))
    assert support.usable is usable
    assert support.feature_gates == gates


@pytest.mark.parametrize("kv", ["v1.0.0", "v1.4.0", "v1.9.0"])
def test_masquerade_and_bridge_always_there(kv: str) -> None:
    masq = binding_support(Binding.MASQUERADE, V(kv))
    bridge = binding_support(Binding.BRIDGE, V(kv))
    assert masq.status is bridge.status is Status.SUPPORTED
    assert masq.migratable_on_pod_network
    assert not bridge.migratable_on_pod_network  # needs the allow-pod-bridge annotation
    assert not masq.multus_network
    assert bridge.multus_network


@pytest.mark.parametrize(("kv", "usable"), [("v1.2.0", True), ("v1.3.0", False)])
def test_slirp_and_macvtap_end_with_v1_2(kv: str, usable: bool) -> None:
    assert binding_support(Binding.SLIRP, V(kv)).usable is usable
    assert binding_support(Binding.MACVTAP, V(kv)).usable is usable


def test_pod_interface_names_match_kubevirt_examples() -> None:
    # KV@v1.9.0:pkg/network/namescheme/networknamescheme_test.go uses network1 -> poda7662f44d65
    assert pod_interface_name("network1", primary=False) == "poda7662f44d65"
    assert pod_interface_name("ovs-bridge2", primary=False) == "pode41f9cde2e2"
    assert pod_interface_name("anything", primary=True) == "eth0"


@given(st.text(min_size=1, max_size=63))
def test_secondary_names_fit_linux_and_never_ordinal(name: str) -> None:
    iface = pod_interface_name(name, primary=False)
    assert iface == "pod" + hashlib.sha256(name.encode()).hexdigest()[:11]
    assert len(iface) <= 15  # Linux IFNAMSIZ - 1
    assert len(iface.removeprefix("pod") + "-nic") == 15  # the in-pod bridge port name KubeVirt derives
    assert not iface.startswith("net")


@pytest.mark.parametrize(
    ("sp", "vlan", "canonical", "unnamed", "cnitype"),
    [
        ("v0.8.0", True, False, False, True),
        ("v0.8.2", True, False, True, True),
        ("v0.9.1", True, False, True, False),
        ("v0.9.2", True, True, True, False),
        ("v1.0.0", False, True, True, False),
        ("v1.2.2", False, True, True, False),
    ],
)
def test_spiderpool_features(sp: str, vlan: bool, canonical: bool, unnamed: bool, cnitype: bool) -> None:
    f = SpiderPoolFeatures.of(V(sp))
    assert (f.ippool_vlan_field, f.canonical_subnet_required, f.unnamed_ippools_entries, f.smc_cnitype_required) == (
        vlan,
        canonical,
        unnamed,
        cnitype,
    )


@pytest.mark.parametrize(
    ("kv", "status"),
    [("v1.1.0", Status.SUPPORTED), ("v1.2.0", Status.DEPRECATED), ("v1.2.5", Status.DEPRECATED)],
)
def test_macvtap_is_deprecated_in_v1_2(kv: str, status: Status) -> None:
    assert binding_support(Binding.MACVTAP, V(kv)).status is status
    assert binding_support(Binding.SLIRP, V(kv)).status is Status.SUPPORTED


@pytest.mark.parametrize(("kv", "installer"), [("v1.5.3", False), ("v1.6.0", True), ("v1.9.0", True)])
def test_passt_plugin_cni_installer_from_v1_6(kv: str, installer: bool) -> None:
    assert passt_plugin_cni_installer(V(kv)) is installer


@pytest.mark.parametrize(
    ("sp", "fixed_in"),
    [
        ("v0.8.8", "v0.8.9"),
        ("v0.8.9", None),
        ("v0.9.7", "v0.9.8"),
        ("v0.9.8", None),
        ("v1.0.0", None),
        ("v1.2.2", None),
    ],
)
def test_multi_nic_leak_fixed_per_minor_line(sp: str, fixed_in: str | None) -> None:
    assert multi_nic_leak_fixed_in(V(sp)) == (V(fixed_in) if fixed_in else None)


@pytest.mark.parametrize(("sp", "crashes"), [("v0.8.0", True), ("v0.8.3", True), ("v0.8.4", False), ("v1.0.0", False)])
def test_static_ip_off_crashes_agent_up_to_v0_8_3(sp: str, crashes: bool) -> None:
    assert static_ip_off_crashes_agent(V(sp)) is crashes
