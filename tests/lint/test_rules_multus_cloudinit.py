"""Multus, cloud-init and interface-field rules: messages, severities, paths and suggestions."""

from __future__ import annotations

import base64
import textwrap

import pytest

from virtnet.formats.yamlio import format_path, load_documents
from virtnet.lint import LintOptions, lint
from virtnet.lint.model import Finding, Severity
from virtnet.lint.registry import lookup
from virtnet.lint.rules.interfaces import parse_mac

MY_RULES = ("VN007", "VN008", "VN017", "VN019", "VN020", "VN023", "VN024")


def run(text: str, code: str, kubevirt: str | None = None) -> list[Finding]:
    docs = load_documents(textwrap.dedent(text), "test.yaml")
    result = lint(docs, LintOptions(kubevirt_version=kubevirt, enable=(code,)))
    return [f for f in result.findings if f.rule.code == code]


def vm(
    interfaces: str,
    networks: str,
    *,
    annotations: str = "",
    volumes: str = "",
    namespace: str = "vms",
) -> str:
    """A VirtualMachine; the arguments are YAML lists already indented for their place."""
    meta = f"    metadata:\n      annotations:\n{annotations}" if annotations else ""
    vols = f"      volumes:\n{volumes}" if volumes else ""
    return (
        "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: vm1\n"
        f"  namespace: {namespace}\nspec:\n  runStrategy: Always\n  template:\n{meta}    spec:\n      domain:\n"
        f"        devices:\n          interfaces:\n{interfaces}        resources:\n          requests:\n"
        f"            memory: 1Gi\n      networks:\n{networks}{vols}"
    )


SMC_MACVLAN = """\
apiVersion: spiderpool.spidernet.io/v2beta1
kind: SpiderMultusConfig
metadata:
  name: macvlan-ens192
  namespace: kube-system
spec:
  cniType: macvlan
  macvlan: {master: [ens192]}
---
"""
SMC_CALICO = """\
apiVersion: spiderpool.spidernet.io/v2beta1
kind: SpiderMultusConfig
metadata:
  name: calico
  namespace: kube-system
  annotations: {multus.spidernet.io/cr-name: k8s-pod-network}
spec:
  cniType: custom
  enableCoordinator: false
---
"""
POD_IFACE = "          - {name: default, masquerade: {}}\n"
POD_NET = "      - {name: default, pod: {}}\n"


# --- helpers ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("02:6e:7e:00:00:01", 6),
        ("02-6E-7E-00-00-01", 6),
        ("026e.7e00.0001", 6),
        ("02:00:5e:10:00:00:00:01", 8),
        ("00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01", 20),
        ("02:6e:7e:00:01", None),
        ("02:6e:7e-00:00:01", None),
        ("02:6e:7e:00:00:0g", None),
        ("026e7e000001", None),
        ("02:6e:7e:00:00:01:02", None),
        ("+2:6e:7e:00:00:01", None),
    ],
)
def test_parse_mac_is_go_parsemac(text: str, length: int | None) -> None:
    mac = parse_mac(text)
    assert (len(mac) if mac is not None else None) == length


def test_rule_metadata() -> None:
    for code in MY_RULES:
        r = lookup(code)
        assert r is not None, code
        assert r.kinds == ("VirtualMachine", "VirtualMachineInstance")
        assert r.references
        assert r.summary
        assert r.why
        assert r.fix
        assert r.versions
        assert "\n" not in r.summary


# --- VN007 bridge-on-macvlan -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kubevirt", "suggestion"),
    [("v1.0.1", "`passt: {}`"), ("v1.5.0", "`binding: {name: passt}`"), ("v1.9.0", "`passtBinding: {}`")],
)
def test_bridge_on_macvlan_suggests_the_versions_passt(kubevirt: str, suggestion: str) -> None:
    text = SMC_MACVLAN + vm(
        POD_IFACE + "          - {name: under, bridge: {}}\n",
        POD_NET + "      - {name: under, multus: {networkName: kube-system/macvlan-ens192}}\n",
    )
    [f] = run(text, "VN007", kubevirt)
    assert f.severity is Severity.ERROR
    assert format_path(f.path) == "spec.template.spec.domain.devices.interfaces[1].bridge"
    assert "kube-system/macvlan-ens192" in f.message
    assert "macvlan" in f.message
    assert suggestion in f.message


def test_bridge_on_pod_network_with_macvlan_default_network() -> None:
    text = SMC_MACVLAN + vm(
        "          - {name: default, bridge: {}}\n",
        POD_NET,
        annotations="        v1.multus-cni.io/default-network: kube-system/macvlan-ens192\n",
    )
    [f] = run(text, "VN007")
    assert format_path(f.path) == "spec.template.spec.domain.devices.interfaces[0].bridge"
    assert "pod network" in f.message


def test_bridge_on_macvlan_is_silent_without_the_nad_or_for_passt() -> None:
    unknown = vm(
        POD_IFACE + "          - {name: under, bridge: {}}\n",
        POD_NET + "      - {name: under, multus: {networkName: kube-system/macvlan-ens192}}\n",
    )
    assert run(unknown, "VN007") == []
    passt = SMC_MACVLAN + vm(
        "          - {name: default, passtBinding: {}}\n",
        POD_NET,
        annotations="        v1.multus-cni.io/default-network: kube-system/macvlan-ens192\n",
    )
    assert run(passt, "VN007") == []


# --- VN008 nad-not-found ---------------------------------------------------------------------------------------


def test_nad_not_found_suggests_the_smc_namespace() -> None:
    text = SMC_MACVLAN + vm(
        "          - {name: default, passtBinding: {}}\n",
        POD_NET,
        annotations="        v1.multus-cni.io/default-network: default/macvlan-ens192\n",
    )
    [f] = run(text, "VN008")
    assert f.severity is Severity.ERROR
    assert format_path(f.path) == "spec.template.metadata.annotations.v1.multus-cni.io/default-network"
    assert "'default/macvlan-ens192'" in f.message
    assert "did you mean 'kube-system/macvlan-ens192'" in f.message
    assert f.fix.startswith("Use 'kube-system/macvlan-ens192'")


def test_nad_not_found_suggests_the_cr_name() -> None:
    text = SMC_CALICO + vm(
        POD_IFACE, POD_NET, annotations="        v1.multus-cni.io/default-network: kube-system/calico\n"
    )
    [f] = run(text, "VN008")
    assert "did you mean 'kube-system/k8s-pod-network'" in f.message
    assert "multus.spidernet.io/cr-name" in f.fix


def test_nad_not_found_bare_name_is_the_vm_namespace() -> None:
    text = SMC_MACVLAN + vm(
        POD_IFACE + "          - {name: under, bridge: {}}\n",
        POD_NET + "      - {name: under, multus: {networkName: macvlan-ens192}}\n",
    )
    [f] = run(text, "VN008")
    assert format_path(f.path) == "spec.template.spec.networks[1].multus.networkName"
    assert "vms/macvlan-ens192" in f.message
    assert "'kube-system/macvlan-ens192'" in f.message


def test_nad_not_found_closest_name_and_no_guess() -> None:
    close = SMC_MACVLAN + vm(
        POD_IFACE + "          - {name: under, bridge: {}}\n",
        POD_NET + "      - {name: under, multus: {networkName: kube-system/macvlan-ens193}}\n",
    )
    [f] = run(close, "VN008")
    assert "did you mean 'kube-system/macvlan-ens192'" in f.message
    far = SMC_MACVLAN + vm(
        POD_IFACE + "          - {name: under, bridge: {}}\n",
        POD_NET + "      - {name: under, multus: {networkName: tenant/sriov-a}}\n",
    )
    [g] = run(far, "VN008")
    assert "did you mean" not in g.message
    assert "tenant/sriov-a" in g.fix


def test_nad_not_found_silent_without_nads_and_for_cr_name() -> None:
    bare = vm(POD_IFACE, POD_NET, annotations="        v1.multus-cni.io/default-network: kube-system/anything\n")
    assert run(bare, "VN008") == []
    ok = SMC_CALICO + vm(
        POD_IFACE, POD_NET, annotations="        v1.multus-cni.io/default-network: kube-system/k8s-pod-network\n"
    )
    assert run(ok, "VN008") == []


def test_nad_not_found_ignores_annotation_overridden_by_multus_default() -> None:
    text = SMC_MACVLAN + vm(
        "          - {name: under, passtBinding: {}}\n",
        "      - {name: under, multus: {networkName: kube-system/macvlan-ens192, default: true}}\n",
        annotations="        v1.multus-cni.io/default-network: kube-system/ghost\n",
    )
    assert run(text, "VN008") == []


# --- VN017 multi-nic-without-coordinator -----------------------------------------------------------------------


def _ovs_smc(name: str, coordinator: str = "") -> str:
    extra = f"  enableCoordinator: {coordinator}\n" if coordinator else ""
    return (
        f"apiVersion: spiderpool.spidernet.io/v2beta1\nkind: SpiderMultusConfig\nmetadata:\n  name: {name}\n"
        f"  namespace: kube-system\nspec:\n  cniType: ovs\n{extra}  ovs: {{bridge: br1}}\n---\n"
    )


TWO_OVS = vm(
    "          - {name: a, bridge: {}}\n          - {name: b, bridge: {}}\n",
    "      - {name: a, multus: {networkName: kube-system/ovs-a, default: true}}\n"
    "      - {name: b, multus: {networkName: kube-system/ovs-b}}\n",
)


def test_multi_nic_without_coordinator_warns_per_nad() -> None:
    findings = run(_ovs_smc("ovs-a", "false") + _ovs_smc("ovs-b", "false") + TWO_OVS, "VN017")
    assert [f.severity for f in findings] == [Severity.WARNING, Severity.WARNING]
    assert [format_path(f.path) for f in findings] == [
        "spec.template.spec.networks[0].multus.networkName",
        "spec.template.spec.networks[1].multus.networkName",
    ]
    assert "enableCoordinator: false" in findings[0].message
    assert "enableCoordinator: true" in findings[0].fix


def test_multi_nic_without_coordinator_quiet_cases() -> None:
    assert run(_ovs_smc("ovs-a") + _ovs_smc("ovs-b") + TWO_OVS, "VN017") == []  # default true
    assert run(_ovs_smc("ovs-a", "false") + TWO_OVS, "VN017") == []  # ovs-b unknown: one known NIC only
    no_ipam = _ovs_smc("ovs-a", "false").replace("cniType: ovs\n", "cniType: ovs\n  disableIPAM: true\n")
    assert run(no_ipam + _ovs_smc("ovs-b") + TWO_OVS, "VN017") == []


# --- VN019 cloudinit-network-mismatch --------------------------------------------------------------------------


def _nocloud(network_data: str, key: str = "networkData", source: str = "cloudInitNoCloud") -> str:
    body = textwrap.indent(network_data, "              ")
    return f"      - name: ci\n        {source}:\n          userData: '#cloud-config'\n          {key}: |\n{body}"


TWO_IFACES = POD_IFACE + "          - {name: ovs, bridge: {}}\n"
TWO_NETS = POD_NET + "      - {name: ovs, multus: {networkName: kube-system/ovs}}\n"


def test_cloudinit_names_without_mac_warn() -> None:
    data = "version: 2\nethernets:\n  enp1s0: {dhcp4: true}\n  enp2s0: {dhcp4: true}\n"
    findings = run(vm(TWO_IFACES, TWO_NETS, volumes=_nocloud(data)), "VN019")
    assert [f.severity for f in findings] == [Severity.WARNING, Severity.WARNING]
    assert format_path(findings[0].path) == "spec.template.spec.volumes[0].cloudInitNoCloud.networkData"
    assert "'enp1s0'" in findings[0].message
    assert "macAddress" in findings[0].fix


def test_cloudinit_count_mismatch_tolerates_sriov_entries() -> None:
    ifaces = POD_IFACE + "          - {name: fast, sriov: {}}\n"
    nets = POD_NET + "      - {name: fast, multus: {networkName: kube-system/sriov}}\n"
    two = "version: 2\nethernets:\n  a: {match: {macaddress: '02:00:00:00:00:01'}}\n  b: {match: {name: 'en*'}}\n"
    assert [f for f in run(vm(ifaces, nets, volumes=_nocloud(two)), "VN019") if "configures" in f.message] == []
    three = "version: 2\nethernets:\n  eth0: {}\n  eth1: {}\n  eth2: {}\n"
    [f] = [f for f in run(vm(ifaces, nets, volumes=_nocloud(three)), "VN019") if "configures" in f.message]
    assert f.severity is Severity.WARNING
    assert "3 ethernet entries" in f.message
    assert "expected 1 to 2" in f.message


def test_cloudinit_mac_mismatch_error_only_when_all_macs_are_fixed() -> None:
    fixed = (
        "          - {name: default, masquerade: {}, macAddress: '02:6e:7e:00:00:01'}\n"
        "          - {name: ovs, bridge: {}, macAddress: '02:6e:7e:00:00:02'}\n"
    )
    data = (
        "version: 2\nethernets:\n  a: {match: {macaddress: '02:6E:7E:00:00:01'}}\n"
        "  b: {match: {macaddress: '02:6e:7e:00:00:09'}}\n"
    )
    [f] = run(vm(fixed, TWO_NETS, volumes=_nocloud(data)), "VN019")
    assert f.severity is Severity.ERROR
    assert "02:6e:7e:00:00:09" in f.message
    random = [g for g in run(vm(TWO_IFACES, TWO_NETS, volumes=_nocloud(data)), "VN019") if "matches MAC" in g.message]
    assert [g.severity for g in random] == [Severity.WARNING, Severity.WARNING]  # no MAC is fixed: cannot be sure


def test_cloudinit_v1_is_parsed() -> None:
    fixed = (
        "          - {name: default, masquerade: {}, macAddress: '02:6e:7e:00:00:01'}\n"
        "          - {name: ovs, bridge: {}, macAddress: '02:6e:7e:00:00:02'}\n"
    )
    good = (
        "version: 1\nconfig:\n- {type: physical, name: eth0, mac_address: '02:6e:7e:00:00:01'}\n"
        "- {type: physical, name: eth1, mac_address: '02:6e:7e:00:00:02'}\n- {type: nameserver, address: [1.1.1.1]}\n"
    )
    assert run(vm(fixed, TWO_NETS, volumes=_nocloud(good)), "VN019") == []
    bad = good.replace("00:00:02'}", "00:00:07'}")
    [f] = run(vm(fixed, TWO_NETS, volumes=_nocloud(bad)), "VN019")
    assert f.severity is Severity.ERROR


def test_cloudinit_sources_size_base64_and_json() -> None:
    two = (
        "      - name: ci\n        cloudInitNoCloud:\n          networkData: 'version: 2'\n"
        "          networkDataBase64: dmVyc2lvbjogMgo=\n"
    )
    [f] = [f for f in run(vm(POD_IFACE, POD_NET, volumes=two), "VN019") if "only one" in f.message]
    assert f.severity is Severity.ERROR
    assert "must have only one networkdata source set" in f.message
    big = "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n" + "".join(
        f"# padding line {i:04d}\n" for i in range(120)
    )
    [g] = run(vm(POD_IFACE, POD_NET, volumes=_nocloud(big)), "VN019")
    assert "2048" in g.message
    assert "networkDataSecretRef" in g.message
    bad64 = "      - name: ci\n        cloudInitNoCloud:\n          networkDataBase64: 'not base64!'\n"
    [h] = run(vm(POD_IFACE, POD_NET, volumes=bad64), "VN019")
    assert "not a valid base64 value" in h.message
    assert format_path(h.path).endswith("cloudInitNoCloud.networkDataBase64")
    json_ok = _nocloud('{"links": [], "networks": []}\n', source="cloudInitConfigDrive")
    assert run(vm(POD_IFACE, POD_NET, volumes=json_ok), "VN019") == []


def test_cloudinit_base64_network_data_is_checked() -> None:
    data = base64.b64encode(b"version: 2\nethernets:\n  eth0: {}\n  eth1: {}\n").decode()
    volumes = f"      - name: ci\n        cloudInitNoCloud:\n          networkDataBase64: {data}\n"
    findings = run(vm(TWO_IFACES, TWO_NETS, volumes=volumes), "VN019")
    assert {format_path(f.path) for f in findings} == {
        "spec.template.spec.volumes[0].cloudInitNoCloud.networkDataBase64"
    }
    assert len(findings) == 2  # eth0 and eth1 keyed by name


# --- VN020 plaintext-credentials -------------------------------------------------------------------------------


def _userdata(text: str, key: str = "userData") -> str:
    return f"      - name: ci\n        cloudInitNoCloud:\n          {key}: |\n{textwrap.indent(text, '            ')}"


def test_plaintext_root_ssh_is_an_error_and_never_echoes_the_password() -> None:
    data = '#cloud-config\nssh_pwauth: true\ndisable_root: false\nchpasswd: {"list": "root:dangerous", expire: False}\n'
    [f] = run(vm(POD_IFACE, POD_NET, volumes=_userdata(data)), "VN020")
    assert f.severity is Severity.ERROR
    assert format_path(f.path) == "spec.template.spec.volumes[0].cloudInitNoCloud.userData"
    assert "root" in f.message
    assert "dangerous" not in f.message
    assert "dangerous" not in f.fix


def test_plaintext_password_warns_hash_is_info_random_is_silent() -> None:
    plain = "#cloud-config\npassword: fedora\nchpasswd: { expire: False }\n"
    [f] = run(vm(POD_IFACE, POD_NET, volumes=_userdata(plain)), "VN020")
    assert f.severity is Severity.WARNING
    assert "fedora" not in f.message
    hashed = "#cloud-config\nusers:\n- name: ops\n  passwd: $6$rounds=4096$salt$hash\n"
    [g] = run(vm(POD_IFACE, POD_NET, volumes=_userdata(hashed)), "VN020")
    assert g.severity is Severity.INFO
    assert "$6$" not in g.message
    random = "#cloud-config\nchpasswd:\n  list: |\n    root:RANDOM\n  users:\n  - {name: a, type: RANDOM}\n"
    assert run(vm(POD_IFACE, POD_NET, volumes=_userdata(random)), "VN020") == []


def test_plaintext_in_base64_user_data() -> None:
    data = base64.b64encode(b"#cloud-config\nchpasswd:\n  list:\n  - admin:letmein\n").decode()
    volumes = f"      - name: ci\n        cloudInitConfigDrive:\n          userDataBase64: {data}\n"
    [f] = run(vm(POD_IFACE, POD_NET, volumes=volumes), "VN020")
    assert f.severity is Severity.WARNING
    assert "admin" in f.message
    assert "letmein" not in f.message


def test_secret_ref_and_scripts_are_not_read() -> None:
    ref = "      - name: ci\n        cloudInitNoCloud:\n          secretRef: {name: ud}\n"
    assert run(vm(POD_IFACE, POD_NET, volumes=ref), "VN020") == []
    script = "#!/bin/sh\necho root:pw | chpasswd\n"
    assert run(vm(POD_IFACE, POD_NET, volumes=_userdata(script)), "VN020") == []


# --- VN023 interface-fields-invalid ----------------------------------------------------------------------------


def test_igb_model_depends_on_version() -> None:
    text = vm("          - {name: default, masquerade: {}, model: igb}\n", POD_NET)
    # KV@v1.4.0:pkg/network/admitter/netiface.go validInterfaceModels has "igb"; KV@v1.3.0's has not
    assert run(text, "VN023", "v1.9.0") == []
    assert run(text, "VN023", "v1.4.0") == []
    [f] = run(text, "VN023", "v1.3.0")
    assert format_path(f.path) == "spec.template.spec.domain.devices.interfaces[0].model"


def test_reserved_mac_only_matters_for_masquerade() -> None:
    masq = vm("          - {name: default, masquerade: {}, macAddress: '02-00-00-00-00-00'}\n", POD_NET)
    [f] = run(masq, "VN023")
    assert "reserved for the in-pod bridge" in f.message
    bridge = vm(
        POD_IFACE + "          - {name: ovs, bridge: {}, macAddress: '02:00:00:00:00:00'}\n",
        TWO_NETS,
    )
    assert run(bridge, "VN023") == []


def test_negative_acpi_index_is_a_warning() -> None:
    [f] = run(vm("          - {name: default, masquerade: {}, acpiIndex: -1}\n", POD_NET), "VN023")
    assert f.severity is Severity.WARNING


# --- VN024 default-network-conflict ----------------------------------------------------------------------------


def test_default_network_conflict_equal_values_are_fine() -> None:
    # Multus reads both values with a bare name in its own namespace (kube-system): the same NAD
    same = vm(
        "          - {name: ovs, bridge: {}}\n",
        "      - {name: ovs, multus: {networkName: ovs-a, default: true}}\n",
        annotations="        v1.multus-cni.io/default-network: kube-system/ovs-a\n",
    )
    assert run(same, "VN024") == []
    # vms/ovs-a is another NAD than the bare ovs-a KubeVirt writes over it, although the VM lives in vms
    other = same.replace("kube-system/ovs-a", "vms/ovs-a")
    [f] = run(other, "VN024")
    assert f.severity is Severity.WARNING
    assert format_path(f.path) == "spec.template.metadata.annotations.v1.multus-cni.io/default-network"


BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
)


def test_alias_bombs_in_embedded_yaml_are_not_expanded() -> None:
    network = "version: &v [*h]\n" + BOMB + "ethernets: {eth0: {match: {name: *h}}}\n"
    assert len(run(vm(POD_IFACE, POD_NET, volumes=_nocloud(network)), "VN019")) == 1  # the version warning
    user = "#cloud-config\n" + BOMB + "runcmd: [*h, *h]\nusers: [{name: *h, passwd: *h}]\nchpasswd: {list: *h}\n"
    assert run(vm(POD_IFACE, POD_NET, volumes=_userdata(user)), "VN020") == []


def test_cloudinit_network_key_and_disabled() -> None:
    wrapped = "network:\n  version: 2\n  ethernets:\n    eth0: {}\n    eth1: {}\n"
    assert len(run(vm(TWO_IFACES, TWO_NETS, volumes=_nocloud(wrapped)), "VN019")) == 2
    disabled = "network:\n  config: disabled\n"
    assert run(vm(TWO_IFACES, TWO_NETS, volumes=_nocloud(disabled)), "VN019") == []
