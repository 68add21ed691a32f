"""What each KubeVirt / SpiderPool version allows, as data derived from upstream source.

Every version boundary below cites where it comes from. Citation format: ``KV@<tag>:<path>`` is
kubevirt/kubevirt at that tag, ``UG:<path>`` kubevirt/user-guide, ``SP@<tag>:<path>`` spidernet-io/spiderpool.
"""

from __future__ import annotations

import hashlib
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
PASST_CORE_LAST = V("v1.2.99")
PASST_PLUGIN_FIRST = V("v1.1.1")  # cmd/cniplugins/passt-binding first appears at v1.1.1 (absent in v1.1.0)
# The plugin is superseded by passtBinding in v1.8; its code is to be removed in v1.11
# (kubevirt/enhancements veps/sig-network/21-passt/vep.md). Note: shared/domain says the user guide marks the
# plugin "[v1.1.0-v1.8.0]"; the user-guide copies read upstream say only "[v1.1.0]", so upstream wins and the
# plugin stays usable (deprecated) through v1.9 here.
PASST_PLUGIN_LAST = V("v1.10.99")
PLUGIN_GATE_LAST = V("v1.4.99")
PLUGIN_MIGRATION_FIRST = V("v1.2.0")  # InterfaceBindingPlugin.migration + VerifyVMIMigratable (PR #11064)
PLUGIN_OVERHEAD_FIRST = V("v1.3.0")  # InterfaceBindingPlugin.computeResourceOverhead (PR #12235, #12296 in 1.3)
PASST_BINDING_FIRST = V("v1.8.0")
PASST_BINDING_DEFAULT_ON = V("v1.9.0")
SLIRP_MACVTAP_LAST = V("v1.2.99")

_MIGRATION_SOURCE_OLD = "KV@v1.0.1:pkg/virt-handler/vm.go checkNetworkInterfacesForMigration"
_MIGRATION_SOURCE_1_2 = "KV@v1.2.0:pkg/network/vmispec/interface.go VerifyVMIMigratable"
_MIGRATION_SOURCE_NEW = "KV@v1.9.0:pkg/network/vmispec/interface.go VerifyVMIMigratable"


def _migration_source(kv: Version) -> str:
    if kv < PLUGIN_MIGRATION_FIRST:
        return _MIGRATION_SOURCE_OLD
    return _MIGRATION_SOURCE_1_2 if kv < PASST_BINDING_FIRST else _MIGRATION_SOURCE_NEW


def binding_support(binding: Binding, kv: Version) -> BindingSupport:
    """The behaviour of ``binding`` on KubeVirt ``kv``."""

    def make(
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
        return BindingSupport(
            binding=binding,
            kubevirt=kv,
            status=status,
            reason=reason,
            source=source,
            pod_network=pod,
            multus_network=multus,
            single_interface=single,
            feature_gates=gates if status is not Status.UNAVAILABLE else (),
            needs_registration=registration,
            migratable_on_pod_network=migratable and status is not Status.UNAVAILABLE,
            migration_source=_migration_source(kv),
        )

    if binding is Binding.MASQUERADE:
        return make(
            Status.SUPPORTED,
            "masquerade is available in every KubeVirt release",
            "KV@v1.0.1|v1.9.0:staging/src/kubevirt.io/api/core/v1/schema.go InterfaceBindingMethod",
            pod=True,
            multus=False,
            migratable=True,
        )
    if binding is Binding.BRIDGE:
        # On the pod network bridge migrates only with the kubevirt.io/allow-pod-bridge-network-live-migration
        # annotation; with no pod network KubeVirt's network check does not block migration at all.
        return make(
            Status.SUPPORTED,
            "bridge is available in every KubeVirt release (on the pod network only while "
            "permitBridgeInterfaceOnPodNetwork is true, the default)",
            "KV@v1.0.1|v1.9.0:pkg/virt-config/virt-config.go DefaultPermitBridgeInterfaceOnPodNetwork",
            pod=True,
            multus=True,
        )
    if binding is Binding.PASST_CORE:
        source = (
            "KV@v1.0.1:pkg/virt-api/webhooks/validating-webhook/admitters/vmi-create-admitter.go; "
            "KV@v1.3.0:pkg/virt-config/deprecation/passt.go (PR #11915)"
        )
        if kv > PASST_CORE_LAST:
            status, reason = (
                Status.UNAVAILABLE,
                "core passt was discontinued in KubeVirt v1.3: the admission webhook rejects it "
                "('Passt network binding is discontinued since v1.3')",
            )
        elif kv >= V("v1.2.0"):
            status, reason = (
                Status.DEPRECATED,
                "core passt is deprecated in KubeVirt v1.2 (admission warning) and rejected from v1.3",
            )
        else:
            status, reason = Status.SUPPORTED, "core passt is an alpha feature behind the Passt feature gate"
        return make(status, reason, source, pod=True, multus=False, single=True, gates=("Passt",))
    if binding is Binding.PASST_PLUGIN:
        source = "UG:docs/network/net_binding_plugins/passt.md; KV@v1.1.1:cmd/cniplugins/passt-binding"
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
            status, reason = (
                Status.SUPPORTED,
                "passt as a network binding plugin registered in the KubeVirt CR",
            )
        return make(
            status,
            reason,
            source,
            pod=True,
            multus=False,
            gates=("NetworkBindingPlugins",) if kv <= PLUGIN_GATE_LAST else (),
            registration=True,
            migratable=kv >= PLUGIN_MIGRATION_FIRST,
        )
    if binding is Binding.PASST_BINDING:
        available = kv >= PASST_BINDING_FIRST
        return make(
            Status.SUPPORTED if available else Status.UNAVAILABLE,
            "core passtBinding (beta feature gate PasstBinding)"
            if available
            else "passtBinding was added in KubeVirt v1.8",
            "UG:docs/network/interfaces_and_networks.md#passtbinding (PR #16475); "
            "KV@v1.9.0:pkg/network/admitter/passt.go",
            pod=True,
            multus=False,
            gates=("PasstBinding",) if kv < PASST_BINDING_DEFAULT_ON else (),
            migratable=True,
        )
    if binding in (Binding.SLIRP, Binding.MACVTAP):
        if kv > SLIRP_MACVTAP_LAST:
            status, reason = Status.UNAVAILABLE, f"{binding.value} was discontinued in KubeVirt v1.3"
        elif kv >= V("v1.2.0") and binding is Binding.MACVTAP:
            status, reason = (
                Status.DEPRECATED,
                "macvtap is deprecated in KubeVirt v1.2 and discontinued in v1.3",
            )
        else:
            status, reason = Status.SUPPORTED, f"{binding.value} is available up to KubeVirt v1.2"
        return make(
            status,
            reason,
            "KV@v1.3.0:pkg/virt-config/deprecation (PR #11701); KV@v1.8.0:pkg/network/admitter/discontinued.go",
            pod=binding is Binding.SLIRP,
            multus=binding is Binding.MACVTAP,
            gates=("Macvtap",) if binding is Binding.MACVTAP else (),
        )
    return make(
        Status.SUPPORTED,
        "SR-IOV binds Multus networks; migration works through hot-unplug and plug",
        "UG:docs/network/interfaces_and_networks.md#sriov",
        pod=False,
        multus=True,
    )


def passt_binding_for(kv: Version) -> Binding:
    """The passt flavour virtnet renders for KubeVirt ``kv`` when the intent does not pin one.

    - v1.0.x and v1.1.x: core ``passt`` + ``Passt`` gate (the plugin exists from v1.1.1, but before v1.6 its CNI
      binary ``kubevirt-passt-binding`` has no installer, and on v1.1 the plugin cannot declare migration).
    - v1.2 to v1.7: the passt network binding plugin (core passt is deprecated in v1.2 and rejected from v1.3).
    - v1.8 and later: core ``passtBinding`` (the plugin is replaced in v1.8).
    """
    if kv >= PASST_BINDING_FIRST:
        return Binding.PASST_BINDING
    if kv >= V("v1.2.0"):
        return Binding.PASST_PLUGIN
    return Binding.PASST_CORE


def passt_plugin_cni_installer(kv: Version) -> bool:
    """From v1.6 KubeVirt publishes the network-passt-binding-cni image that installs the CNI binary."""
    return kv >= V("v1.6.0")


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
