"""`virtnet set network`'s pure parts: the VM edit, the networkData rewrite, field ownership, the YAML round trip."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from virtnet.cli.intentflags import parse_nic
from virtnet.cluster.setnetwork import extract, owned_by, owners, vm_write
from virtnet.formats import roundtrip
from virtnet.formats.intent import intent_document, intent_from_document
from virtnet.formats.yamlio import Document
from virtnet.model.intent import Intent
from virtnet.render import netdata
from virtnet.render.setnetwork import NETWORK_ANNOTATIONS, Context, Edit, edit_vm

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "tests" / "fixtures" / "guide"
MACVLAN = "master=ens192,subnet=10.7.0.0/16,gateway=10.7.0.1,ips=10.7.120.100-10.7.120.200,pool=10-7-v4"
OVS = (
    "bridge=br1,vlan=30,subnet=10.30.0.0/24,gateway=10.30.0.1,ips=10.30.0.100-10.30.0.200",
    "bridge=br1,vlan=40,subnet=10.40.0.0/24,gateway=10.40.0.1,ips=10.40.0.100-10.40.0.200",
)


def intent(mode: str, cni: str | None, *nics: str, kv: str = "v1.9.0", sp: str = "v1.2.2") -> Intent:
    doc = intent_document(
        name="vm",
        namespace="default",
        mode=mode,
        cni=cni,
        nics=[parse_nic(n, i) for i, n in enumerate(nics)],
        vm={},
        cloud_init={},
        versions={"kubevirt": kv, "spiderpool": sp},
        options={},
        spiderpool={},
        kubevirt={},
    )
    return intent_from_document(Document(doc, "<flags>", 0))


def guide_vm(name: str = "01-masquerade-calico-vm.yaml") -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((GUIDE / name).read_text())
    return data


def template(vm: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = vm["spec"]["template"]
    return result


def cloud_init(vm: dict[str, Any]) -> dict[str, Any]:
    for vol in template(vm)["spec"]["volumes"]:
        for src in ("cloudInitNoCloud", "cloudInitConfigDrive"):
            if src in vol:
                result: dict[str, Any] = vol[src]
                return result
    raise AssertionError("no cloud-init volume")


def reasons(edit: Edit) -> str:
    return " | ".join(r.reason for r in edit.refusals)


# --- the edit ----------------------------------------------------------------------------------------------------


def test_masquerade_to_passt_changes_only_networking_and_keeps_the_nic_name() -> None:
    vm = guide_vm()
    edit = edit_vm(vm, intent("passt", "macvlan", MACVLAN))
    assert not edit.refusals
    t = template(edit.vm)
    assert t["spec"]["domain"]["devices"]["interfaces"] == [{"passtBinding": {}, "name": "default"}]
    assert t["spec"]["networks"] == [{"name": "default", "pod": {}}]
    assert t["metadata"]["annotations"] == {
        "v1.multus-cni.io/default-network": "kube-system/macvlan-ens192",
        "ipam.spidernet.io/ippools": '[{"interface":"eth0","ipv4":["10-7-v4"]}]',
    }
    assert [o["kind"] for o in edit.objects] == ["SpiderIPPool", "SpiderMultusConfig"]
    assert edit.effect.when == "restart"
    assert vm == guide_vm(), "the input is not modified"


def test_the_edit_is_idempotent() -> None:
    first = edit_vm(guide_vm(), intent("bridge", "ovs", *OVS))
    second = edit_vm(first.vm, intent("bridge", "ovs", *OVS))
    assert not second.changed
    assert second.vm == first.vm
    assert second.effect.when == "none"


def test_kept_nic_keeps_mac_model_ports_boot_order_and_pci_address() -> None:
    vm = guide_vm()
    iface = template(vm)["spec"]["domain"]["devices"]["interfaces"][0]
    iface.update(
        macAddress="02:11:22:33:44:55",
        model="e1000e",
        bootOrder=2,
        pciAddress="0000:81:00.1",
        ports=[{"port": 22}],
    )
    passt = edit_vm(vm, intent("passt", "macvlan", MACVLAN))
    got = template(passt.vm)["spec"]["domain"]["devices"]["interfaces"][0]
    assert got == {
        "passtBinding": {},
        "name": "default",
        "macAddress": "02:11:22:33:44:55",
        "model": "e1000e",
        "bootOrder": 2,
        "pciAddress": "0000:81:00.1",
        "ports": [{"port": 22}],
    }
    bridge = edit_vm(vm, intent("bridge", "ovs", *OVS))
    got = template(bridge.vm)["spec"]["domain"]["devices"]["interfaces"][0]
    assert got["macAddress"] == "02:11:22:33:44:55"
    assert got["model"] == "e1000e"
    assert "ports" not in got


def test_explicit_nic_name_makes_a_new_nic() -> None:
    edit = edit_vm(guide_vm(), intent("passt", "macvlan", "name=uplink," + MACVLAN))
    names = [i["name"] for i in template(edit.vm)["spec"]["domain"]["devices"]["interfaces"]]
    assert names == ["uplink"]
    assert any("macAddress" in i for i in template(edit.vm)["spec"]["domain"]["devices"]["interfaces"])


def test_other_annotations_stay_and_the_singular_pool_annotation_goes() -> None:
    vm = guide_vm()
    template(vm)["metadata"]["annotations"].update({"ipam.spidernet.io/ippool": '{"ipv4":["old"]}', "team": "a"})
    edit = edit_vm(vm, intent("bridge", "ovs", *OVS))
    annotations = template(edit.vm)["metadata"]["annotations"]
    assert annotations["team"] == "a"
    assert "ipam.spidernet.io/ippool" not in annotations
    assert "v1.multus-cni.io/default-network" not in annotations
    assert annotations["ipam.spidernet.io/default-route-nic"] == "eth0"


# --- reuse -------------------------------------------------------------------------------------------------------


def pool(name: str, subnet: str, ips: list[str], gateway: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"subnet": subnet, "ips": ips}
    if gateway:
        spec["gateway"] = gateway
    return {
        "apiVersion": "spiderpool.spidernet.io/v2beta1",
        "kind": "SpiderIPPool",
        "metadata": {"name": name},
        "spec": spec,
    }


def smc(name: str, master: str, vlan: int = 0, ns: str = "kube-system") -> dict[str, Any]:
    return {
        "apiVersion": "spiderpool.spidernet.io/v2beta1",
        "kind": "SpiderMultusConfig",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"cniType": "macvlan", "macvlan": {"master": [master], "vlanID": vlan}},
    }


def test_existing_identical_pool_and_matching_multus_config_are_reused() -> None:
    ctx = Context(
        pools=(pool("lan", "10.7.0.0/16", ["10.7.120.100-10.7.120.200"], "10.7.0.1"),),
        multus_configs=(smc("uplink", "ens192"),),
    )
    edit = edit_vm(guide_vm(), intent("passt", "macvlan", MACVLAN.replace(",pool=10-7-v4", "")), ctx)
    assert edit.objects == []
    annotations = template(edit.vm)["metadata"]["annotations"]
    assert annotations["v1.multus-cni.io/default-network"] == "kube-system/uplink"
    assert json.loads(annotations["ipam.spidernet.io/ippools"]) == [{"interface": "eth0", "ipv4": ["lan"]}]


def test_a_pool_of_that_name_with_another_spec_is_refused() -> None:
    ctx = Context(pools=(pool("10-7-v4", "10.8.0.0/16", ["10.8.0.10"]),))
    edit = edit_vm(guide_vm(), intent("passt", "macvlan", MACVLAN), ctx)
    assert "SpiderIPPool 10-7-v4 already exists with another spec" in reasons(edit)


def test_an_overlapping_pool_is_refused() -> None:
    ctx = Context(pools=(pool("other", "10.7.0.0/16", ["10.7.120.150-10.7.120.250"]),))
    edit = edit_vm(guide_vm(), intent("passt", "macvlan", MACVLAN), ctx)
    assert "overlaps the existing SpiderIPPool other" in reasons(edit)


def test_a_multus_config_of_that_name_for_another_network_is_refused() -> None:
    ctx = Context(multus_configs=(smc("macvlan-ens192", "ens224"),))
    edit = edit_vm(guide_vm(), intent("passt", "macvlan", MACVLAN), ctx)
    assert "SpiderMultusConfig kube-system/macvlan-ens192 already exists for another network" in reasons(edit)


# --- refusals ----------------------------------------------------------------------------------------------------


def test_running_vm_with_live_migrate_to_a_mode_kubevirt_does_not_migrate_is_refused() -> None:
    vm = guide_vm()
    template(vm)["spec"]["evictionStrategy"] = "LiveMigrate"
    old = intent("passt", "macvlan", MACVLAN, kv="v1.0.1", sp="v0.8.0")
    edit = edit_vm(vm, old)
    assert "evictionStrategy is LiveMigrate" in reasons(edit)
    vm["spec"]["runStrategy"] = "Halted"
    stopped = edit_vm(vm, old)
    assert not stopped.refusals
    assert any("drains would hang" in w for w in stopped.warnings)
    assert not edit_vm(vm, intent("passt", "macvlan", MACVLAN)).refusals  # passtBinding migrates


def test_the_cluster_default_eviction_strategy_counts() -> None:
    kubevirt = {"spec": {"configuration": {"evictionStrategy": "LiveMigrate"}}}
    edit = edit_vm(
        guide_vm(), intent("passt", "macvlan", MACVLAN, kv="v1.0.1", sp="v0.8.0"), Context(kubevirt=kubevirt)
    )
    assert "the cluster's default evictionStrategy" in reasons(edit)


def test_bridge_on_a_macvlan_network_is_refused() -> None:
    nad = {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": {"name": "lan", "namespace": "kube-system"},
        "spec": {
            "config": json.dumps({"cniVersion": "0.3.1", "plugins": [{"type": "macvlan"}, {"type": "coordinator"}]})
        },
    }
    edit = edit_vm(guide_vm(), intent("bridge", "ovs", "network=kube-system/lan,pool=p1"), Context(nads=(nad,)))
    assert "bridge binding on kube-system/lan, a macvlan network" in reasons(edit)


def test_removing_the_nic_a_network_data_route_depends_on_is_refused() -> None:
    vm = guide_vm("05-bridge-ovs-vm.yaml")
    cloud_init(vm)["networkData"] = (
        "version: 2\nethernets:\n  enp1s0:\n    dhcp4: true\n  enp2s0:\n    dhcp4: true\n"
        "    routes:\n    - to: 10.99.0.0/16\n      via: 10.40.0.1\n"
    )
    edit = edit_vm(vm, intent("masquerade", "calico"))
    assert "NIC ovs-bridge2, which the edit removes) carries routes (10.99.0.0/16 via 10.40.0.1)" in reasons(edit)


def test_a_bond_on_a_removed_nic_is_refused() -> None:
    vm = guide_vm("05-bridge-ovs-vm.yaml")
    cloud_init(vm)["networkData"] = (
        "version: 2\nethernets:\n  enp1s0: {dhcp4: true}\n  enp2s0: {dhcp4: true}\n"
        "bonds:\n  bond0:\n    interfaces: [enp2s0]\n"
    )
    edit = edit_vm(vm, intent("masquerade", "calico"))
    assert "bond 'bond0' is built on enp2s0" in reasons(edit)


def test_tcp_probes_without_a_pod_network_are_refused() -> None:
    vm = guide_vm()
    template(vm)["spec"]["readinessProbe"] = {"tcpSocket": {"port": 22}}
    assert "readinessProbe with tcpSocket" in reasons(edit_vm(vm, intent("bridge", "ovs", *OVS)))
    assert not edit_vm(vm, intent("passt", "macvlan", MACVLAN)).refusals


def test_a_vm_controlled_by_a_pool_is_refused() -> None:
    vm = guide_vm()
    vm["metadata"]["ownerReferences"] = [{"kind": "VirtualMachinePool", "name": "p", "controller": True}]
    assert "controlled by VirtualMachinePool p" in reasons(edit_vm(vm, intent("passt", "macvlan", MACVLAN)))


def test_unknown_pools_and_nads_are_refused_when_the_cluster_was_read() -> None:
    ctx = Context(known=frozenset({"SpiderIPPool", "NetworkAttachmentDefinition"}))
    edit = edit_vm(guide_vm(), intent("passt", "macvlan", "network=kube-system/nope,pool=missing"), ctx)
    assert "NetworkAttachmentDefinition kube-system/nope does not exist" in reasons(edit)
    assert "SpiderIPPool missing does not exist" in reasons(edit)


# --- networkData -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["inline", "base64"])
def test_nocloud_network_data_is_rewritten_in_its_encoding(encoding: str) -> None:
    vm = guide_vm("05-bridge-ovs-vm.yaml")
    ci = cloud_init(vm)
    text = ci.pop("networkData") + "    mtu: 9000\n"
    if encoding == "base64":
        ci["networkDataBase64"] = base64.b64encode(text.encode()).decode()
    else:
        ci["networkData"] = text
    edit = edit_vm(vm, intent("masquerade", "calico"))
    assert not edit.refusals
    new = cloud_init(edit.vm)
    raw = new["networkData"] if encoding == "inline" else base64.b64decode(new["networkDataBase64"]).decode()
    mac = template(edit.vm)["spec"]["domain"]["devices"]["interfaces"][0]["macAddress"]
    assert yaml.safe_load(raw) == {"version": 2, "ethernets": {"enp1s0": {"match": {"macaddress": mac}, "dhcp4": True}}}


def test_static_addresses_become_dhcp_with_a_warning_and_settings_stay() -> None:
    vm = guide_vm()
    cloud_init(vm)["networkData"] = (
        "version: 2\nethernets:\n  eth0:\n    addresses: [10.0.2.2/24]\n    gateway4: 10.0.2.1\n    mtu: 1400\n"
        "    nameservers: {addresses: [1.1.1.1]}\n"
    )
    edit = edit_vm(vm, intent("passt", "macvlan", MACVLAN))
    entry = yaml.safe_load(cloud_init(edit.vm)["networkData"])["ethernets"]["eth0"]
    assert entry["dhcp4"] is True
    assert "addresses" not in entry
    assert "gateway4" not in entry
    assert entry["mtu"] == 1400
    assert entry["nameservers"] == {"addresses": ["1.1.1.1"]}
    assert any("replaced by DHCP" in w for w in edit.warnings)


def test_v1_network_config_is_rewritten_as_v1() -> None:
    vm = guide_vm()
    cloud_init(vm)["networkData"] = (
        "network:\n  version: 1\n  config:\n  - type: physical\n    name: eth0\n    subnets:\n    - type: dhcp\n"
    )
    edit = edit_vm(vm, intent("bridge", "ovs", *OVS))
    data = yaml.safe_load(cloud_init(edit.vm)["networkData"])
    macs = [i["macAddress"] for i in template(edit.vm)["spec"]["domain"]["devices"]["interfaces"]]
    assert data == {
        "network": {
            "version": 1,
            "config": [
                {"type": "physical", "name": "eth0", "subnets": [{"type": "dhcp"}], "mac_address": macs[0]},
                {"type": "physical", "name": "eth1", "mac_address": macs[1], "subnets": [{"type": "dhcp"}]},
            ],
        }
    }


def test_config_drive_gets_openstack_json() -> None:
    vm = guide_vm()
    vol = template(vm)["spec"]["volumes"][1]
    vol["cloudInitConfigDrive"] = vol.pop("cloudInitNoCloud")
    edit = edit_vm(vm, intent("bridge", "ovs", *OVS))
    data = json.loads(cloud_init(edit.vm)["networkData"])
    macs = [i["macAddress"] for i in template(edit.vm)["spec"]["domain"]["devices"]["interfaces"]]
    assert data["links"] == [
        {"id": "default", "type": "phy", "ethernet_mac_address": macs[0]},
        {"id": "nic2", "type": "phy", "ethernet_mac_address": macs[1]},
    ]
    assert [n["type"] for n in data["networks"]] == ["ipv4_dhcp", "ipv4_dhcp"]


def secret(name: str, text: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "default"},
        "data": {"networkdata": base64.b64encode(text.encode()).decode(), "userdata": "I2Nsb3VkLWNvbmZpZwo="},
    }


def test_a_secret_is_rewritten_only_with_update_secret() -> None:
    vm = guide_vm("05-bridge-ovs-vm.yaml")
    ci = cloud_init(vm)
    text = ci.pop("networkData")
    ci["networkDataSecretRef"] = {"name": "nd"}
    without = edit_vm(vm, intent("masquerade", "calico"), Context(secrets={"nd": secret("nd", text)}))
    assert without.secrets == []
    assert any("--update-secret" in w for w in without.warnings)
    unread = edit_vm(vm, intent("masquerade", "calico"))
    assert any("Secret nd (networkDataSecretRef), not changed" in w for w in unread.warnings)
    withit = edit_vm(
        vm, intent("masquerade", "calico"), Context(secrets={"nd": secret("nd", text)}, update_secret=True)
    )
    (updated,) = withit.secrets
    new = yaml.safe_load(base64.b64decode(updated["data"]["networkdata"]))
    assert list(new["ethernets"]) == ["enp1s0"]
    assert updated["data"]["userdata"] == "I2Nsb3VkLWNvbmZpZwo="
    assert cloud_init(withit.vm) == {**ci}, "the VM keeps its reference"


def test_unparseable_network_data_is_refused() -> None:
    vm = guide_vm()
    cloud_init(vm)["networkData"] = "version: [2\n"
    assert "cannot be rewritten for the new NICs" in reasons(edit_vm(vm, intent("bridge", "ovs", *OVS)))


def test_netdata_wildcard_entries_stay() -> None:
    old = [netdata.OldNic("a", None, 0)]
    new = [netdata.NewNic("a", "02:00:00:00:00:0a", True, True, True, False, False)]
    cfg = {"version": 2, "ethernets": {"all": {"match": {"name": "en*"}, "dhcp4": True}}}
    result = netdata.rewrite(cfg, False, old, new, {"a": {"match": {"macaddress": "02:00:00:00:00:0a"}, "dhcp4": True}})
    assert result.data["ethernets"]["all"] == {"match": {"name": "en*"}, "dhcp4": True}
    assert result.data["ethernets"]["a"]["match"] == {"macaddress": "02:00:00:00:00:0a"}


# --- effect and IPs ----------------------------------------------------------------------------------------------


def test_effect_on_a_live_stopped_vm_is_the_next_start() -> None:
    edit = edit_vm(guide_vm(), intent("passt", "macvlan", MACVLAN), Context(live=True))
    assert edit.effect.when == "next-start"


def test_effect_names_the_rollout_strategy_from_v1_2() -> None:
    kubevirt = {"spec": {"configuration": {"vmRolloutStrategy": "LiveUpdate"}}}
    vmi = {"status": {"phase": "Running"}}
    edit = edit_vm(guide_vm(), intent("passt", "macvlan", MACVLAN), Context(live=True, vmi=vmi, kubevirt=kubevirt))
    assert edit.effect.when == "restart"
    assert "vmRolloutStrategy LiveUpdate" in edit.effect.condition
    assert any("pkg/network/vmliveupdate/restart.go" in r.source for r in edit.effect.reasons)


def test_a_recorded_ip_from_another_pool_is_kept_and_the_release_is_explained() -> None:
    endpoint = {"status": {"current": {"ips": [{"interface": "eth0", "ipv4": "10.6.0.5/16", "ipv4Pool": "old"}]}}}
    edit = edit_vm(guide_vm(), intent("passt", "macvlan", MACVLAN), Context(live=True, endpoint=endpoint))
    (ip,) = edit.ips
    assert "SpiderPool keeps giving eth0 10.6.0.5 (pool old)" in ip.text
    assert "kubectl -n default delete spiderendpoint masquerade-calico" in ip.release


# --- field ownership ---------------------------------------------------------------------------------------------


MANAGED = [
    {
        "manager": "kubectl-client-side-apply",
        "operation": "Update",
        "fieldsV1": {
            "f:spec": {
                "f:runStrategy": {},
                "f:template": {
                    "f:metadata": {"f:annotations": {".": {}, "f:v1.multus-cni.io/default-network": {}}},
                    "f:spec": {"f:networks": {}, "f:domain": {"f:devices": {"f:interfaces": {}, "f:disks": {}}}},
                },
            }
        },
    },
    {
        "manager": "virtnet",
        "operation": "Apply",
        "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:template": {"f:spec": {"f:volumes": {}}}},
        },
    },
]


def test_owners_and_extract_read_managed_fields() -> None:
    assert owners(MANAGED, ("spec", "template", "spec", "networks")) == ["kubectl-client-side-apply"]
    assert owners(MANAGED, ("spec", "template", "spec", "volumes")) == ["virtnet"]
    assert owners(MANAGED, ("spec", "template", "spec", "domain", "cpu")) == []
    vm = {"metadata": {"labels": {"app": "x", "other": "y"}}, "spec": {"template": {"spec": {"volumes": [1], "a": 2}}}}
    assert extract(vm, owned_by(MANAGED)) == {
        "metadata": {"labels": {"app": "x"}},
        "spec": {"template": {"spec": {"volumes": [1]}}},
    }


def test_a_vm_virtnet_never_applied_gets_only_the_networking_fields() -> None:
    live = guide_vm()
    live["metadata"].update(namespace="default", managedFields=MANAGED[:1])
    write = vm_write(live, edit_vm(live, intent("passt", "macvlan", MACVLAN)))
    assert set(write.body) == {"apiVersion", "kind", "metadata", "spec"}
    assert write.body["metadata"] == {"name": "masquerade-calico", "namespace": "default"}
    assert set(write.body["spec"]["template"]["spec"]) == {"networks", "domain"}
    assert write.body["spec"]["template"]["spec"]["domain"] == {
        "devices": {"interfaces": [{"passtBinding": {}, "name": "default"}]}
    }


def test_vm_write_owns_only_what_the_edit_needs_and_names_the_conflicts() -> None:
    live = guide_vm()
    live["metadata"].update(namespace="default", managedFields=MANAGED, labels={"app": "x"})
    edit = edit_vm(live, intent("bridge", "ovs", *OVS))
    write = vm_write(live, edit)
    tspec = write.body["spec"]["template"]["spec"]
    assert set(tspec) == {"networks", "domain", "volumes"}, "networkData changed: volumes; virtnet owned them anyway"
    assert set(tspec["domain"]) == {"devices"}
    assert set(tspec["domain"]["devices"]) == {"interfaces"}
    assert write.body["metadata"]["labels"] == {"app": "x"}, "what virtnet owns stays in its body"
    assert set(write.body["spec"]) == {"template"}
    assert {(c.manager, c.path, c.action) for c in write.conflicts} == {
        ("kubectl-client-side-apply", ".spec.template.spec.networks", "change"),
        ("kubectl-client-side-apply", ".spec.template.spec.domain.devices.interfaces", "change"),
        ("kubectl-client-side-apply", ".spec.template.metadata.annotations.v1.multus-cni.io/default-network", "remove"),
    }
    (removal,) = write.removals
    assert removal.operations()[1] == {
        "op": "remove",
        "path": "/spec/template/metadata/annotations/v1.multus-cni.io~1default-network",
    }


# --- round trip --------------------------------------------------------------------------------------------------


def test_round_trip_keeps_comments_and_changes_only_what_differs() -> None:
    text = (
        "# head\napiVersion: v1\nkind: X\nspec:\n  a: 1  # keep me\n  list:\n  - name: x\n    v: 1 # item\n"
        "  - name: y\n"
    )
    (doc,) = roundtrip.load_all(text, "t")
    assert roundtrip.dump_all([doc], text) == text
    new = copy.deepcopy(roundtrip.plain(doc))
    new["spec"]["list"][1]["v"] = 2
    roundtrip.sync(doc, new)
    out = roundtrip.dump_all([doc], text)
    assert "# head" in out
    assert "# keep me" in out
    assert "# item" in out
    assert "v: 2" in out


def test_network_annotations_are_the_four_keys() -> None:
    assert NETWORK_ANNOTATIONS == (
        "v1.multus-cni.io/default-network",
        "ipam.spidernet.io/ippools",
        "ipam.spidernet.io/ippool",
        "ipam.spidernet.io/default-route-nic",
    )
