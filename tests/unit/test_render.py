"""The renderer's promises, asserted on the objects (golden files show the whole output)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from virtnet.errors import InputError
from virtnet.formats.intent import intent_from_document
from virtnet.formats.yamlio import Document
from virtnet.model.capabilities import pod_interface_name
from virtnet.render import render_bundle
from virtnet.render.bundle import Bundle

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFdrc13d8dLllgF33no/g0Y7M+vlt5yyjM+ljpm+m1xX t@t"
GUIDE_NIC = {
    "master": "ens192",
    "pools": [
        {"name": "10-7-v4", "subnet": "10.7.0.0/16", "gateway": "10.7.0.1", "ips": ["10.7.120.100-10.7.120.200"]}
    ],
}
TWO_OVS_NICS = [
    {"bridge": "br1", "vlan": 30, "pools": [{"subnet": "10.30.0.0/24", "gateway": "10.30.0.1", "ips": ["10.30.0.9"]}]},
    {"bridge": "br1", "vlan": 40, "pools": [{"subnet": "10.40.0.0/24", "gateway": "10.40.0.1", "ips": ["10.40.0.9"]}]},
]


def intent_doc(
    mode: str, nics: list[dict[str, Any]] | None = None, kv: str = "v1.9.0", sp: str = "v1.2.2", **spec: Any
) -> Document:
    data: dict[str, Any] = {
        "apiVersion": "virtnet.io/v1alpha1",
        "kind": "VMNetwork",
        "metadata": {"name": "vm1", "namespace": "ns1"},
        "spec": {
            "mode": mode,
            "versions": {"kubevirt": kv, "spiderpool": sp},
            "cloudInit": {"sshAuthorizedKeys": [KEY]},
            **spec,
        },
    }
    if nics is not None:
        data["spec"]["nics"] = nics
    return Document(data=data, source="t.yaml", index=0)


def render(mode: str, nics: list[dict[str, Any]] | None = None, **kw: Any) -> Bundle:
    return render_bundle(intent_from_document(intent_doc(mode, nics, **kw)))


def kind(bundle: Bundle, k: str) -> list[dict[str, Any]]:
    return [o for o in bundle.objects if o["kind"] == k]


def vm_of(bundle: Bundle) -> dict[str, Any]:
    (vm,) = kind(bundle, "VirtualMachine")
    return vm


def test_apply_order() -> None:
    order = [
        "SpiderIPPool",
        "SpiderMultusConfig",
        "NetworkAttachmentDefinition",
        "KubeVirt",
        "Secret",
        "VirtualMachine",
    ]
    kinds = render("passt", [GUIDE_NIC], kv="v1.5.0").kinds()
    assert kinds == order


@pytest.mark.parametrize(
    ("kv", "iface_key", "gate", "registration"),
    [("v1.0.1", "passt", "Passt", False), ("v1.5.0", "binding", None, True), ("v1.9.0", "passtBinding", None, False)],
)
def test_passt_binding_by_version(kv: str, iface_key: str, gate: str | None, registration: bool) -> None:
    bundle = render("passt", [GUIDE_NIC], kv=kv)
    (iface,) = vm_of(bundle)["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"]
    assert iface_key in iface
    if iface_key == "binding":
        assert iface["binding"] == {"name": "passt"}
    kubevirt = kind(bundle, "KubeVirt")
    if gate:
        assert kubevirt[0]["spec"]["configuration"]["developerConfiguration"]["featureGates"] == [gate]
        # a merge patch: no explanation annotations, which `kubectl patch` would write onto the live CR (issue 9)
        assert "annotations" not in kubevirt[0]["metadata"]
    if registration:
        reg = kubevirt[0]["spec"]["configuration"]["network"]["binding"]["passt"]
        assert reg["sidecarImage"].endswith(":v1.5.0")
        assert reg["networkAttachmentDefinition"] == "default/netbindingpasst"
        assert "migration" in reg
        (nad,) = kind(bundle, "NetworkAttachmentDefinition")
        assert json.loads(nad["spec"]["config"])["plugins"] == [{"type": "kubevirt-passt-binding"}]
    if not gate and not registration:
        assert kubevirt == []


def test_passt_vm_points_at_the_multus_config_namespace_not_default() -> None:
    bundle = render("passt", [GUIDE_NIC], kv="v1.0.1", sp="v0.8.0")
    (smc,) = kind(bundle, "SpiderMultusConfig")
    annotations = vm_of(bundle)["spec"]["template"]["metadata"]["annotations"]
    assert (
        annotations["v1.multus-cni.io/default-network"] == f"{smc['metadata']['namespace']}/{smc['metadata']['name']}"
    )
    assert annotations["v1.multus-cni.io/default-network"] == "kube-system/macvlan-ens192"
    assert json.loads(annotations["ipam.spidernet.io/ippools"]) == [{"interface": "eth0", "ipv4": ["10-7-v4"]}]


def test_pool_is_canonical_and_has_no_vlan_field() -> None:
    nic = {**GUIDE_NIC, "pools": [{**GUIDE_NIC["pools"][0], "subnet": "10.7.120.11/16"}]}
    bundle = render("passt", [nic], kv="v1.0.1", sp="v0.8.0")
    (pool,) = kind(bundle, "SpiderIPPool")
    assert pool["spec"]["subnet"] == "10.7.0.0/16"
    assert "vlan" not in pool["spec"]
    assert any("10.7.120.11/16" in w and "10.7.0.0/16" in w for w in bundle.warnings)


@pytest.mark.parametrize("kv", ["v1.0.0", "v1.9.0"])
def test_two_nic_bridge_never_names_a_secondary_net1(kv: str) -> None:
    bundle = render("bridge", TWO_OVS_NICS, kv=kv, sp="v0.8.0")
    annotations = vm_of(bundle)["spec"]["template"]["metadata"]["annotations"]
    entries = json.loads(annotations["ipam.spidernet.io/ippools"])
    assert [e["interface"] for e in entries] == ["eth0", pod_interface_name("nic2", primary=False)]
    assert "net1" not in annotations["ipam.spidernet.io/ippools"]
    # each NIC gets its own pool, in NIC order (the guide gave eth0 the second NIC's pool)
    assert [e["ipv4"] for e in entries] == [["ovs-vlan30-v4"], ["ovs-vlan40-v4"]]
    networks = vm_of(bundle)["spec"]["template"]["spec"]["networks"]
    assert networks[0]["multus"] == {"default": True, "networkName": "kube-system/ovs-vlan30"}
    assert networks[1]["multus"] == {"networkName": "kube-system/ovs-vlan40"}


def test_ordered_ippools_entries_where_spiderpool_allows() -> None:
    bundle = render("bridge", TWO_OVS_NICS, sp="v0.8.2", options={"ippoolInterfaces": "ordered"})
    entries = json.loads(vm_of(bundle)["spec"]["template"]["metadata"]["annotations"]["ipam.spidernet.io/ippools"])
    assert all("interface" not in e for e in entries)
    with pytest.raises(InputError, match=r"v0\.8\.2"):
        render("bridge", TWO_OVS_NICS, sp="v0.8.1", options={"ippoolInterfaces": "ordered"})


def test_network_data_matches_every_nic_by_mac() -> None:
    bundle = render("bridge", TWO_OVS_NICS)
    spec = vm_of(bundle)["spec"]["template"]["spec"]
    macs = [i["macAddress"] for i in spec["domain"]["devices"]["interfaces"]]
    (ci,) = [v["cloudInitNoCloud"] for v in spec["volumes"] if "cloudInitNoCloud" in v]
    data = yaml.safe_load(ci["networkData"])
    assert data["version"] == 2
    assert [e["match"]["macaddress"] for e in data["ethernets"].values()] == macs
    assert len(set(macs)) == 2
    assert ci["secretRef"] == {"name": "vm1-cloudinit"}


def test_user_data_has_keys_and_no_root_password() -> None:
    (secret,) = kind(render("masquerade"), "Secret")
    text = secret["stringData"]["userdata"]
    assert text.startswith("#cloud-config\n")
    data = yaml.safe_load(text)
    assert data["ssh_authorized_keys"] == [KEY]
    assert data["disable_root"] is True
    assert data["ssh_pwauth"] is False
    assert "chpasswd" not in data


def test_password_only_when_given_and_never_in_plain_sight() -> None:
    doc = intent_doc("masquerade")
    bundle = render_bundle(intent_from_document(doc, password="s3cret-pw"))
    (secret,) = kind(bundle, "Secret")
    assert "stringData" not in secret
    assert "s3cret-pw" not in json.dumps(bundle.objects)
    assert any("password" in w for w in bundle.warnings)


def test_masquerade_with_spiderpool_uses_the_calico_cr_name() -> None:
    annotations = vm_of(render("masquerade", cni="calico"))["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"v1.multus-cni.io/default-network": "kube-system/k8s-pod-network"}
    bundle = render("masquerade", cni="calico", spiderpool={"installed": False})
    assert "annotations" not in vm_of(bundle)["spec"]["template"]["metadata"]
    assert kind(bundle, "SpiderMultusConfig") == []  # the default calico one is never re-rendered


def test_existing_network_and_pool_are_referenced_not_rendered() -> None:
    bundle = render("passt", [{"network": "net/underlay", "pools": [{"name": "pool-a"}]}])
    assert kind(bundle, "SpiderIPPool") == []
    assert kind(bundle, "SpiderMultusConfig") == []
    annotations = vm_of(bundle)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["v1.multus-cni.io/default-network"] == "net/underlay"


@pytest.mark.parametrize(
    ("mode", "nics", "extra", "message", "path"),
    [
        ("passt", [], {}, "needs at least one NIC", "spec.nics"),
        ("passt", [GUIDE_NIC, GUIDE_NIC], {}, "exactly one NIC", "spec.nics"),
        ("passt", [{"pools": GUIDE_NIC["pools"]}], {}, "master=", "spec.nics[0].master"),
        ("passt", [{"master": "ens192"}], {}, "needs a pool", "spec.nics[0].pools"),
        ("bridge", [{"master": "ens192"}], {}, "bridge=", "spec.nics[0].bridge"),
        ("masquerade", [{"master": "ens192"}], {}, "has no effect", "spec.nics[0].master"),
        (
            "passt",
            [{"master": "e", "pools": [{"subnet": "10.0.0.0/24", "ips": ["10.1.0.5"]}]}],
            {},
            "10.1.0.5",
            "spec.nics[0].pools[0]",
        ),
        ("passt", [GUIDE_NIC], {"kv": "v1.3.0", "options": {"passt": "core"}}, "discontinued", "spec.options.passt"),
        (
            "passt",
            [GUIDE_NIC],
            {"vm": {"evictionStrategy": "LiveMigrate"}, "kv": "v1.0.1"},
            "drains",
            "spec.vm.evictionStrategy",
        ),
        (
            "bridge",
            [TWO_OVS_NICS[0], {**TWO_OVS_NICS[1], "pools": TWO_OVS_NICS[0]["pools"]}],
            {},
            "both hand out",
            "spec.nics[1].pools",
        ),
    ],
)
def test_bad_intents_name_the_field(
    mode: str, nics: list[dict[str, Any]], extra: dict[str, Any], message: str, path: str
) -> None:
    with pytest.raises(InputError) as err:
        render(mode, nics, **extra)
    assert message in err.value.message
    assert (err.value.location.path or "").startswith(path)


def test_live_migrate_needs_rwx() -> None:
    with pytest.raises(InputError, match="ReadWriteMany"):
        render("masquerade", vm={"evictionStrategy": "LiveMigrate"})
    bundle = render("masquerade", vm={"evictionStrategy": "LiveMigrate", "disk": {"accessMode": "ReadWriteMany"}})
    assert vm_of(bundle)["spec"]["template"]["spec"]["evictionStrategy"] == "LiveMigrate"


def test_ipv6_pool_on_bridge_warns_about_dhcp() -> None:
    nic = {"bridge": "br1", "pools": [{"subnet": "fd00:30::/64", "ips": ["fd00:30::10-fd00:30::ff"]}]}
    bundle = render("bridge", [nic])
    assert any("IPv4 only" in w for w in bundle.warnings)
