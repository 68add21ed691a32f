"""What each KubeVirt / SpiderPool version allows, as data derived from upstream source.

Every version boundary below cites where it comes from. Citation format: ``KV@<tag>:<path>`` is
kubevirt/kubevirt at that tag, ``UG:<path>`` kubevirt/user-guide, ``SP@<tag>:<path>`` spidernet-io/spiderpool.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from virtnet.model.versions import V, Version


class Binding(Enum):
    """Interface binding methods of a KubeVirt VMI interface (the value is the key in the interface object)."""

    MASQUERADE = "masquerade"
    BRIDGE = "bridge"
    PASST_CORE = "passt"  # core `passt: {}`, KubeVirt v1.0-v1.2 only
    PASST_PLUGIN = "binding:passt"  # network binding plugin `binding: {name: passt}`
    PASST_BINDING = "passtBinding"  # core `passtBinding: {}`, KubeVirt v1.8+
    SLIRP = "slirp"
    MACVTAP = "macvtap"
    SRIOV = "sriov"

    @property
    def title(self) -> str:
        return _TITLES[self]

    @property
    def interface_field(self) -> str:
        """How the binding is written in a VMI interface, e.g. ``passtBinding: {}``."""
        return "binding: {name: passt}" if self is Binding.PASST_PLUGIN else f"{self.value}: {{}}"


_TITLES = {
    Binding.MASQUERADE: "masquerade",
    Binding.BRIDGE: "bridge",
    Binding.PASST_CORE: "passt (core binding)",
    Binding.PASST_PLUGIN: "passt (network binding plugin)",
    Binding.PASST_BINDING: "passtBinding (core binding)",
    Binding.SLIRP: "slirp",
    Binding.MACVTAP: "macvtap",
    Binding.SRIOV: "sriov",
}


class Status(Enum):
    SUPPORTED = "supported"
    DEPRECATED = "deprecated"  # accepted, with an admission warning
    UNAVAILABLE = "unavailable"  # rejected or not implemented by this version


@dataclass(frozen=True)
class BindingSupport:
    """How one binding behaves on one KubeVirt version."""

    binding: Binding
    kubevirt: Version
    status: Status
    reason: str  # one sentence: why this status, for humans
    source: str  # upstream citation
    pod_network: bool  # may bind the pod network
    multus_network: bool  # may bind a Multus network
    single_interface: bool  # must be the VMI's only interface
    feature_gates: tuple[str, ...]  # gates that must be listed in developerConfiguration.featureGates
    needs_registration: bool  # a KubeVirt CR network.binding registration is required
    migratable_on_pod_network: bool  # KubeVirt's own network migratability check on the pod interface
    migration_source: str

    @property
    def usable(self) -> bool:
        return self.status is not Status.UNAVAILABLE


# Feature-gate facts:
# - Passt: KV@v1.0.1:pkg/virt-config/feature-gates.go (alpha); deprecated in KV@v1.2.0:pkg/virt-config/
#   deprecation/feature-gates.go with the admission warning of KV@v1.2.0:pkg/virt-config/deprecation/passt.go
#   (PR #10866); discontinued in KV@v1.3.0 (PR #11915); rejected regardless of gates in KV@v1.8.0:
#   pkg/network/admitter/discontinued.go (PR #16428).
# - NetworkBindingPlugins: alpha v1.1.0, beta v1.4.0 (KV@v1.4.0:pkg/virt-config/feature-gates.go), GA in v1.5.0
#   (KV@v1.5.0:pkg/virt-config/featuregate/inactive.go, PR #13314): no gate from v1.5 on.
# - PasstBinding: beta gate added in v1.8.0 (PR #16475). In v1.8 beta gates must be listed
#   (KV@v1.8.0:pkg/virt-config/feature-gates.go); in v1.9 beta gates are on unless listed in
#   developerConfiguration.disabledFeatureGates (KV@v1.9.0:pkg/virt-config/featuregate/feature-gates.go, PR #17405).
# A ``…_LAST = vX.Y.99`` constant stands for every patch release of the minor line vX.Y.
PASST_CORE_DEPRECATED = V("v1.2.0")  # admission warning: KV@v1.2.0:pkg/virt-config/deprecation/passt.go (PR #10866)
PASST_CORE_LAST = V("v1.2.99")  # discontinued in v1.3.0: KV@v1.3.0:pkg/virt-config/deprecation/passt.go (PR #11915)
BINDING_PLUGINS_FIRST = V("v1.1.0")  # NetworkBindingPlugins alpha: KV@v1.1.0:pkg/virt-config/feature-gates.go
PASST_PLUGIN_FIRST = V("v1.1.1")  # cmd/cniplugins/passt-binding first appears at v1.1.1 (absent in v1.1.0)
# The plugin is superseded by passtBinding in v1.8; its code is to be removed in v1.11
# (kubevirt/enhancements veps/sig-network/21-passt/vep.md). Note: shared/domain says the user guide marks the
# plugin "[v1.1.0-v1.8.0]"; the user-guide copies read upstream say only "[v1.1.0]", so upstream wins and the
# plugin stays usable (deprecated) through v1.9 here.
PASST_PLUGIN_LAST = V("v1.10.99")
PLUGIN_GATE_LAST = V("v1.4.99")  # NetworkBindingPlugins is GA in v1.5.0 (PR #13314)
PLUGIN_MIGRATION_FIRST = V("v1.2.0")  # InterfaceBindingPlugin.migration + VerifyVMIMigratable (PR #11064)
PLUGIN_OVERHEAD_FIRST = V("v1.3.0")  # InterfaceBindingPlugin.computeResourceOverhead (PR #12235, #12296 in 1.3)
# The network-passt-binding-cni image and its DaemonSet install the plugin's CNI binary:
# KV@v1.6.0:cmd/cniplugins/passt-binding/passt-binding-ds.yaml (PR #14887).
PASST_PLUGIN_CNI_IMAGE_FIRST = V("v1.6.0")
PASST_BINDING_FIRST = V("v1.8.0")
PASST_BINDING_DEFAULT_ON = V("v1.9.0")
MACVTAP_DEPRECATED = V("v1.2.0")  # admission warning: KV@v1.2.0:pkg/virt-config/deprecation (PR #10924)
SLIRP_MACVTAP_LAST = V("v1.2.99")  # discontinued in v1.3.0 (PR #11701, macvtap PR #11901)

_MIGRATION_SOURCE_OLD = "KV@v1.0.1:pkg/virt-handler/vm.go checkNetworkInterfacesForMigration"
_MIGRATION_SOURCE_1_2 = "KV@v1.2.0:pkg/network/vmispec/interface.go VerifyVMIMigratable"
_MIGRATION_SOURCE_NEW = "KV@v1.9.0:pkg/network/vmispec/interface.go VerifyVMIMigratable"


def _migration_source(kv: Version) -> str:
    if kv < PLUGIN_MIGRATION_FIRST:
        return _MIGRATION_SOURCE_OLD
    return _MIGRATION_SOURCE_1_2 if kv < PASST_BINDING_FIRST else _MIGRATION_SOURCE_NEW


def binding_support(binding: Binding, kv: Version) -> BindingSupport:
    """The behaviour of ``binding`` on KubeVirt ``kv``: three bindings behave alike in every release (a table), the
    others depend on the version (one function each, below)."""
    same = _EVERY_RELEASE.get(binding)
    if same is None:
        return _BY_VERSION[binding](kv)
    return _row(binding, kv, Status.SUPPORTED, same.reason, same.source, pod=same.pod, multus=same.multus,
                migratable=same.migratable)  # fmt: skip


def _row(
    binding: Binding,
    kv: Version,
    status: Status,
    reason: str,
    source: str,
    *,
    pod: bool,
    multus: bool,
    single: bool = False,
    gates: tuple[str, ...] = (),
    registration: bool = False,
    migratable: bool = False,
) -> BindingSupport:
    """One row of the table; an unavailable binding needs no gates and migrates nowhere."""
    usable = status is not Status.UNAVAILABLE
    return BindingSupport(
        binding=binding,
        kubevirt=kv,
        status=status,
        reason=reason,
        source=source,
        pod_network=pod,
        multus_network=multus,
        single_interface=single,
        feature_gates=gates if usable else (),
        needs_registration=registration,
        migratable_on_pod_network=migratable and usable,
        migration_source=_migration_source(kv),
    )


@dataclass(frozen=True)
class _EveryRelease:
    """A binding that every supported KubeVirt release accepts, with the same traits."""

    reason: str
    source: str
    pod: bool
    multus: bool
    migratable: bool = False


_EVERY_RELEASE = {
    Binding.MASQUERADE: _EveryRelease(
        "masquerade is available in every KubeVirt release",
        "KV@v1.0.1|v1.9.0:staging/src/kubevirt.io/api/core/v1/schema.go InterfaceBindingMethod",
        pod=True,
        multus=False,
        migratable=True,
    ),
    # On the pod network bridge migrates only with the kubevirt.io/allow-pod-bridge-network-live-migration
    # annotation; with no pod network KubeVirt's network check does not block migration at all.
    Binding.BRIDGE: _EveryRelease(
        "bridge is available in every KubeVirt release (on the pod network only while "
        "permitBridgeInterfaceOnPodNetwork is true, the default)",
        "KV@v1.0.1|v1.9.0:pkg/virt-config/virt-config.go DefaultPermitBridgeInterfaceOnPodNetwork",
        pod=True,
        multus=True,
    ),
    Binding.SRIOV: _EveryRelease(
        "SR-IOV binds Multus networks; migration works through hot-unplug and plug",
        "UG:docs/network/interfaces_and_networks.md#sriov",
        pod=False,
        multus=True,
    ),
}


def _passt_core(kv: Version) -> BindingSupport:
    if kv > PASST_CORE_LAST:
        status, reason = (
            Status.UNAVAILABLE,
            "core passt was discontinued in KubeVirt v1.3: the admission webhook rejects it "
            "('Passt network binding is discontinued since v1.3')",
        )
    elif kv >= PASST_CORE_DEPRECATED:
        status, reason = (
            Status.DEPRECATED,
            "core passt is deprecated in KubeVirt v1.2 (admission warning) and rejected from v1.3",
        )
    else:
        status, reason = Status.SUPPORTED, "core passt is an alpha feature behind the Passt feature gate"
    source = (
        "KV@v1.0.1:pkg/virt-api/webhooks/validating-webhook/admitters/vmi-create-admitter.go; "
        "KV@v1.3.0:pkg/virt-config/deprecation/passt.go (PR #11915)"
    )
    return _row(Binding.PASST_CORE, kv, status, reason, source, pod=True, multus=False, single=True, gates=("Passt",))


def _passt_plugin(kv: Version) -> BindingSupport:
    if kv < PASST_PLUGIN_FIRST:
        status, reason = Status.UNAVAILABLE, "the passt binding plugin first ships in KubeVirt v1.1.1"
    elif kv > PASST_PLUGIN_LAST:
        status, reason = Status.UNAVAILABLE, "the passt binding plugin is removed in KubeVirt v1.11"
    elif kv >= PASST_BINDING_FIRST:
        status, reason = (
            Status.DEPRECATED,
            "KubeVirt v1.8 supersedes the passt binding plugin with the core passtBinding (plugin removal "
            "planned for v1.11; seamless plugin migration is discontinued in v1.8)",
        )
    else:
        status, reason = Status.SUPPORTED, "passt as a network binding plugin registered in the KubeVirt CR"
    return _row(
        Binding.PASST_PLUGIN,
        kv,
        status,
        reason,
        "UG:docs/network/net_binding_plugins/passt.md; KV@v1.1.1:cmd/cniplugins/passt-binding",
        pod=True,
        multus=False,
        gates=("NetworkBindingPlugins",) if kv <= PLUGIN_GATE_LAST else (),
        registration=True,
        migratable=kv >= PLUGIN_MIGRATION_FIRST,
    )


def _passt_binding(kv: Version) -> BindingSupport:
    available = kv >= PASST_BINDING_FIRST
    return _row(
        Binding.PASST_BINDING,
        kv,
        Status.SUPPORTED if available else Status.UNAVAILABLE,
        "core passtBinding (beta feature gate PasstBinding)"
        if available
        else "passtBinding was added in KubeVirt v1.8",
        "UG:docs/network/interfaces_and_networks.md#passtbinding (PR #16475); KV@v1.9.0:pkg/network/admitter/passt.go",
        pod=True,
        multus=False,
        gates=("PasstBinding",) if kv < PASST_BINDING_DEFAULT_ON else (),
        migratable=True,
    )


def _slirp(kv: Version) -> BindingSupport:
    return _discontinued_in_v1_3(Binding.SLIRP, kv, pod=True, multus=False, gates=())


def _macvtap(kv: Version) -> BindingSupport:
    return _discontinued_in_v1_3(Binding.MACVTAP, kv, pod=False, multus=True, gates=("Macvtap",))


def _discontinued_in_v1_3(
    binding: Binding, kv: Version, *, pod: bool, multus: bool, gates: tuple[str, ...]
) -> BindingSupport:
    """slirp and macvtap: core bindings up to v1.2 (macvtap deprecated in v1.2), discontinued in v1.3."""
    if kv > SLIRP_MACVTAP_LAST:
        status, reason = Status.UNAVAILABLE, f"{binding.value} was discontinued in KubeVirt v1.3"
    elif binding is Binding.MACVTAP and kv >= MACVTAP_DEPRECATED:
        status, reason = Status.DEPRECATED, "macvtap is deprecated in KubeVirt v1.2 and discontinued in v1.3"
    else:
        status, reason = Status.SUPPORTED, f"{binding.value} is available up to KubeVirt v1.2"
    source = "KV@v1.3.0:pkg/virt-config/deprecation (PR #11701); KV@v1.8.0:pkg/network/admitter/discontinued.go"
    return _row(binding, kv, status, reason, source, pod=pod, multus=multus, gates=gates)


_BY_VERSION: dict[Binding, Callable[[Version], BindingSupport]] = {
    Binding.PASST_CORE: _passt_core,
    Binding.PASST_PLUGIN: _passt_plugin,
    Binding.PASST_BINDING: _passt_binding,
    Binding.SLIRP: _slirp,
    Binding.MACVTAP: _macvtap,
}


def passt_binding_for(kv: Version) -> Binding:
    """The passt flavour virtnet renders for KubeVirt ``kv`` when the intent does not pin one.

    - v1.0.x and v1.1.x: core ``passt`` + ``Passt`` gate (the plugin exists from v1.1.1, but before v1.6 its CNI
      binary ``kubevirt-passt-binding`` has no installer, and on v1.1 the plugin cannot declare migration).
    - v1.2 to v1.7: the passt network binding plugin (core passt is deprecated in v1.2 and rejected from v1.3).
    - v1.8 and later: core ``passtBinding`` (the plugin is replaced in v1.8).
    """
    if kv >= PASST_BINDING_FIRST:
        return Binding.PASST_BINDING
    if kv >= PASST_CORE_DEPRECATED:
        return Binding.PASST_PLUGIN
    return Binding.PASST_CORE


def passt_plugin_cni_installer(kv: Version) -> bool:
    """From v1.6 KubeVirt publishes the network-passt-binding-cni image that installs the CNI binary."""
    return kv >= PASST_PLUGIN_CNI_IMAGE_FIRST


# Other KubeVirt version facts, used by the lint rules and by ``set network``:
NIC_HOTPLUG_FIRST = V("v1.1.0")  # alpha, HotplugNICs gate: UG:docs/network/hotplug_interfaces.md (bridge/SR-IOV)
NIC_HOTPLUG_GA = V("v1.4.0")  # no gate from v1.4: UG:docs/network/hotplug_interfaces.md
VM_ROLLOUT_STRATEGY_FIRST = V("v1.2.0")  # vmRolloutStrategy and the RestartRequired condition (kubevirt#11054)
# interface model igb: accepted by the admitter from v1.4.0 (kubevirt PR #11754; KV@v1.4.0:pkg/network/admitter/
# netiface.go validInterfaceModels has "igb", KV@v1.3.0's has not)
IGB_MODEL_FIRST = V("v1.4.0")

# --- pod interface naming ------------------------------------------------------------------------------------

PRIMARY_POD_INTERFACE = "eth0"


def pod_interface_name(network_name: str, *, primary: bool) -> str:
    """Name of the virt-launcher pod interface that KubeVirt >= v1.0 creates for a VMI network.

    The primary network (``pod: {}`` or Multus ``default: true``) is ``eth0``. Each secondary Multus network is
    ``pod`` + the first 11 hex characters of sha256(network name) — the logical ``spec.networks[].name``, not the
    NAD name (KV@v1.0.1:pkg/network/namescheme/networknamescheme.go, PR #9268). The ordinal ``net1``… names are
    kept only for VMs whose pods already used them before v1.0.
    """
    if primary:
        return PRIMARY_POD_INTERFACE
    return "pod" + hashlib.sha256(network_name.encode()).hexdigest()[:11]


# --- SpiderPool ------------------------------------------------------------------------------------------------

IPPOOL_VLAN_REMOVED = V("v1.0.0")  # SP@v0.8.13 vs SP@v1.0.0 spiderippool_types.go (PR #4549)
CANONICAL_SUBNET_REQUIRED = V("v0.9.2")  # SP@v1.2.2:pkg/ippoolmanager/ippool_validate.go (PR #3068)
UNNAMED_IPPOOLS_ENTRIES = V("v0.8.2")  # SP@v0.8.2:pkg/ipam (PR #2618)
SMC_CNITYPE_OPTIONAL = V("v0.9.0")  # cniType required in the v0.8.x CRD, defaults to custom from v0.9.0


@dataclass(frozen=True)
class SpiderPoolFeatures:
    version: Version
    ippool_vlan_field: bool  # SpiderIPPool.spec.vlan exists in the CRD (deprecated, no effect)
    canonical_subnet_required: bool
    unnamed_ippools_entries: bool
    smc_cnitype_required: bool

    @classmethod
    def of(cls, sp: Version) -> SpiderPoolFeatures:
        return cls(
            version=sp,
            ippool_vlan_field=sp < IPPOOL_VLAN_REMOVED,
            canonical_subnet_required=sp >= CANONICAL_SUBNET_REQUIRED,
            unnamed_ippools_entries=sp >= UNNAMED_IPPOOLS_ENTRIES,
            smc_cnitype_required=sp < SMC_CNITYPE_OPTIONAL,
        )


# SpiderMultusConfig facts, used by the lint rules:
SMC_CNITYPE_IB_FIRST = V("v0.9.0")  # ib-sriov, ipoib join the cniType enum
SMC_CNITYPE_VLAN_FIRST = V("v1.2.0")  # cniType vlan (PR #5511)
SMC_VLAN_MODE_FIRST = V("v1.2.1")  # vlan.vlanMode manual/auto (PR #5693)
SMC_ALL_BLOCKS_CHECKED = V("v1.0.0")  # v0.8 rejects only some foreign CNI blocks; v1.x rejects all of them
WILDCARD_POOL_NAMES = V("v1.0.0")  # SP@v1.0.0:pkg/ipam ParseWildcardPoolNameList; docs/usage/spider-ippool.md

# enableKubevirtStaticIP off crashed spiderpool-agent at start from v0.8.0 (the first release with the KubeVirt
# static IP, SP@v0.8.0:docs/usage/kubevirt.md) to v0.8.3 (issue #2966, fixed in v0.8.4).
STATIC_IP_CRASH_FIRST = V("v0.8.0")
STATIC_IP_CRASH_LAST = V("v0.8.3")


def static_ip_off_crashes_agent(sp: Version) -> bool:
    """Does spiderpool-agent ``sp`` crash at start while enableKubevirtStaticIP is off (issue #2966)?"""
    return STATIC_IP_CRASH_FIRST <= sp <= STATIC_IP_CRASH_LAST


# Multi-NIC IP leak: when one NIC's pool is exhausted, the rollback skipped SpiderPool and every retry took a new
# address from the other NICs' pools (spiderpool#4295). Fixed by PR #4379 (main; its cherry-pick #4382 to
# release-v1.0 shipped in v1.0.0-rc4), #4384 (release-v0.8: v0.8.9) and #4383 (release-v0.9: v0.9.8):
# SP changelogs/changelog_from_v0.8.8_to_v0.8.9.md,
# changelogs/changelog_from_v0.9.7_to_v0.9.8.md, changelogs/changelog_artifact_v1.0.0-rc4/….
MULTI_NIC_LEAK_FIXED = {(0, 8): V("v0.8.9"), (0, 9): V("v0.9.8"), (1, 0): V("v1.0.0")}


def multi_nic_leak_fixed_in(sp: Version) -> Version | None:
    """The release of ``sp``'s minor line that fixed spiderpool#4295 (v1.0.0 for later lines), or None when ``sp``
    already has the fix."""
    fixed = MULTI_NIC_LEAK_FIXED.get((sp.major, sp.minor), MULTI_NIC_LEAK_FIXED[(1, 0)])
    return fixed if sp < fixed else None
