from __future__ import annotations

import pytest

from virtnet.errors import InputError
from virtnet.model.capabilities import Binding
from virtnet.model.modes import Cni, Mode, RequirementKind, capabilities, mode_matrix, parse_cni
from virtnet.model.versions import TargetVersions


def caps(mode: Mode, cni: Cni, kv: str, sp: str = "v1.2.2"):  # type: ignore[no-untyped-def]
    return capabilities(mode, cni, TargetVersions.parse(kv, sp))


def test_matrix_has_the_guides_six_rows() -> None:
    rows = [(m.mode, m.cni) for m in mode_matrix(TargetVersions())]
    assert rows == [
        (Mode.MASQUERADE, Cni.CALICO),
        (Mode.MASQUERADE, Cni.CILIUM),
        (Mode.MASQUERADE, Cni.FLANNEL),
        (Mode.PASST, Cni.MACVLAN),
        (Mode.PASST, Cni.IPVLAN),
        (Mode.BRIDGE, Cni.OVS),
    ]


def test_fixed_ip_and_multi_nic_follow_the_mode() -> None:
    masq = caps(Mode.MASQUERADE, Cni.CALICO, "v1.9.0")
    passt = caps(Mode.PASST, Cni.MACVLAN, "v1.9.0")
    bridge = caps(Mode.BRIDGE, Cni.OVS, "v1.9.0")
    assert (masq.fixed_ip, passt.fixed_ip, bridge.fixed_ip) == (False, True, True)
    assert (masq.multi_nic, passt.multi_nic, bridge.multi_nic) == (False, False, True)
    assert masq.spiderpool == "optional"
    assert passt.spiderpool == bridge.spiderpool == "required"


@pytest.mark.parametrize(
    ("kv", "binding", "kubevirt_allows"),
    [
        ("v1.0.1", Binding.PASST_CORE, False),
        ("v1.5.0", Binding.PASST_PLUGIN, True),
        ("v1.9.0", Binding.PASST_BINDING, True),
    ],
)
def test_passt_migration_kubevirt_vs_spiderpool(kv: str, binding: Binding, kubevirt_allows: bool) -> None:
    m = caps(Mode.PASST, Cni.MACVLAN, kv)
    assert m.binding.binding is binding
    assert m.live_migration.kubevirt_allows is kubevirt_allows
    # SpiderPool's KubeVirt guide says "not available" whatever KubeVirt decides
    assert "not available" in m.live_migration.spiderpool


def test_bridge_on_multus_default_is_not_blocked_by_kubevirt_but_spiderpool_says_no() -> None:
    m = caps(Mode.BRIDGE, Cni.OVS, "v1.0.1", "v0.8.0")
    assert m.live_migration.kubevirt_allows
    assert "no pod network" in m.live_migration.kubevirt
    assert "not available" in m.live_migration.spiderpool
    assert m.live_migration.spiderpool_verdict == "not available"
    masq = caps(Mode.MASQUERADE, Cni.CALICO, "v1.0.1", "v0.8.0")
    assert masq.live_migration.spiderpool_verdict == "not covered"


def test_requirements_per_version() -> None:
    def gates(kv: str) -> set[str]:
        m = caps(Mode.PASST, Cni.MACVLAN, kv)
        return {r.name for r in m.requirements if r.kind is RequirementKind.FEATURE_GATE}

    assert gates("v1.0.1") == {"Passt"}
    assert gates("v1.3.0") == {"NetworkBindingPlugins"}
    assert gates("v1.5.0") == set()
    assert gates("v1.8.0") == {"PasstBinding"}
    m = caps(Mode.PASST, Cni.MACVLAN, "v1.5.0")
    names = {(r.kind, r.name) for r in m.requirements}
    assert (RequirementKind.BINDING_PLUGIN, "passt") in names
    assert (RequirementKind.CNI_BINARY, "kubevirt-passt-binding") in names
    assert (RequirementKind.SPIDERPOOL_CONFIG, "enableKubevirtStaticIP") in names


def test_bridge_needs_open_vswitch() -> None:
    m = caps(Mode.BRIDGE, Cni.OVS, "v1.9.0")
    assert any(r.name == "openvswitch" for r in m.requirements)


@pytest.mark.parametrize(("mode", "cni"), [(Mode.BRIDGE, "macvlan"), (Mode.BRIDGE, "ipvlan"), (Mode.PASST, "ovs")])
def test_invalid_pairs_are_refused_with_a_reason(mode: Mode, cni: str) -> None:
    with pytest.raises(InputError) as err:
        parse_cni(cni, mode)
    assert f"does not run on CNI {cni}" in str(err.value)
    if cni in ("macvlan", "ipvlan"):
        assert "MAC" in str(err.value)


def test_to_dict_is_json_ready() -> None:
    import json

    data = json.loads(json.dumps(caps(Mode.PASST, Cni.MACVLAN, "v1.0.1", "v0.8.0").to_dict()))
    assert data["binding"] == "passt"
    assert data["liveMigration"]["kubevirtAllows"] is False
