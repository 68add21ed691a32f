"""Network modes: a binding on a CNI, with what it gives the VM computed from the version tables.

Nothing here is a typed-in capability string per version: each answer is derived from
:func:`virtnet.model.capabilities.binding_support` and :class:`SpiderPoolFeatures` for the target versions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from virtnet.errors import InputError, Location
from virtnet.model.capabilities import (
    Binding,
    BindingSupport,
    Status,
    binding_support,
    passt_binding_for,
    passt_plugin_cni_installer,
)
from virtnet.model.versions import TargetVersions, Version


class Mode(Enum):
    MASQUERADE = "masquerade"
    PASST = "passt"
    BRIDGE = "bridge"


class Cni(Enum):
    CALICO = "calico"
    CILIUM = "cilium"
    FLANNEL = "flannel"
    MACVLAN = "macvlan"
    IPVLAN = "ipvlan"
    OVS = "ovs"

    @property
    def underlay(self) -> bool:
        return self in (Cni.MACVLAN, Cni.IPVLAN, Cni.OVS)


MODE_CNIS: dict[Mode, tuple[Cni, ...]] = {
    Mode.MASQUERADE: (Cni.CALICO, Cni.CILIUM, Cni.FLANNEL),
    Mode.PASST: (Cni.MACVLAN, Cni.IPVLAN),
    Mode.BRIDGE: (Cni.OVS,),
}

# Why these pairs only: bridge binding over macvlan/ipvlan is "known not to work" (UG:docs/network/
# interfaces_and_networks.md "Invalid CNIs for secondary networks", kubevirt#5483, #7001; SpiderPool
# docs/usage/kubevirt.md: bridge moves the pod MAC into the VM, macvlan/ipvlan need the original MAC).
_INVALID_PAIR_REASON = {
    (
        Mode.BRIDGE,
        Cni.MACVLAN,
    ): "bridge binding does not work over macvlan: it moves the pod's MAC into the VM",
    (Mode.BRIDGE, Cni.IPVLAN): "bridge binding does not work over ipvlan: it moves the pod's MAC into the VM",
}


def parse_mode(text: str, location: Location | None = None) -> Mode:
    try:
        return Mode(text)
    except ValueError:
        choices = ", ".join(m.value for m in Mode)
        raise InputError(f"unknown mode '{text}'; choose one of {choices}", location) from None


def parse_cni(text: str, mode: Mode, location: Location | None = None) -> Cni:
    try:
        cni = Cni(text)
    except ValueError:
        choices = ", ".join(c.value for c in Cni)
        raise InputError(f"unknown CNI '{text}'; choose one of {choices}", location) from None
    if cni not in MODE_CNIS[mode]:
        allowed = ", ".join(c.value for c in MODE_CNIS[mode])
        why = _INVALID_PAIR_REASON.get((mode, cni))
        extra = f" ({why})" if why else ""
        raise InputError(f"mode {mode.value} does not run on CNI {cni.value}{extra}; use {allowed}", location)
    return cni


def default_cni(mode: Mode) -> Cni:
    return MODE_CNIS[mode][0]


class RequirementKind(Enum):
    FEATURE_GATE = "feature-gate"
    BINDING_PLUGIN = "binding-plugin"
    CNI_BINARY = "cni-binary"
    SPIDERPOOL_CONFIG = "spiderpool-config"
    NODE = "node"


@dataclass(frozen=True)
class Requirement:
    kind: RequirementKind
    name: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "name": self.name, "detail": self.detail}


@dataclass(frozen=True)
class LiveMigration:
    """Live migration, as KubeVirt decides it and as SpiderPool documents it. The two differ."""

    kubevirt_allows: bool
    kubevirt: str
    spiderpool_verdict: str  # short: "not available" (its docs say so) | "not covered" (its docs are silent)
    spiderpool: str
    storage: str = "needs ReadWriteMany volumes (KubeVirt refuses to migrate a VMI with RWO PVCs)"

    def to_dict(self) -> dict[str, object]:
        return {
            "kubevirtAllows": self.kubevirt_allows,
            "kubevirt": self.kubevirt,
            "spiderpoolVerdict": self.spiderpool_verdict,
            "spiderpool": self.spiderpool,
            "storage": self.storage,
        }


def spiderpool_doc(version: Version) -> str:
    """SpiderPool's KubeVirt guide at the target release: added in v0.8.0 (PR #2554), its text unchanged through
    v1.2.2 (SP@v0.8.0…v1.2.2:docs/usage/kubevirt.md)."""
    return f"SP@{version}:docs/usage/kubevirt.md"


# The default SpiderMultusConfigs that spiderpool-init creates in SpiderPool's namespace for the cluster CNI
# (SP@v0.8.0|v1.2.2:cmd/spiderpool-init/cmd/config.go getMultusCniConfig): Calico's is named "calico" with annotation
# multus.spidernet.io/cr-name: k8s-pod-network (legacyCalicoCniName), so its NAD is k8s-pod-network; Cilium's is
# named "cilium" after its conflist, with no cr-name. virtnet never re-renders these.
@dataclass(frozen=True)
class DefaultNetwork:
    multus_config: str  # the SpiderMultusConfig spiderpool-init creates
    nad: str  # the NetworkAttachmentDefinition SpiderPool generates from it

    def note(self, cni: Cni, namespace: str) -> str:
        """One sentence for ``modes`` and ``new vm`` alike."""
        how = f" (annotation multus.spidernet.io/cr-name: {self.nad})" if self.nad != self.multus_config else ""
        return (
            f"with SpiderPool installed, the VM's pod network is {namespace}/{self.nad}: the NAD of SpiderPool's "
            f"default {cni.value} SpiderMultusConfig '{self.multus_config}'{how}, created by spiderpool-init, "
            "not rendered"
        )


DEFAULT_CNI_NETWORKS: dict[Cni, DefaultNetwork] = {
    Cni.CALICO: DefaultNetwork("calico", "k8s-pod-network"),
    Cni.CILIUM: DefaultNetwork("cilium", "cilium"),
}
DEFAULT_SPIDERPOOL_NAMESPACE = "kube-system"


@dataclass(frozen=True)
class ModeCapabilities:
    mode: Mode
    cni: Cni
    versions: TargetVersions
    binding: BindingSupport
    spiderpool: str  # "required" | "optional" | "not used"
    vm_ip: str
    fixed_ip: bool
    fixed_ip_reason: str
    multi_nic: bool
    multi_nic_reason: str
    secondary_ovs: bool  # OVS NICs bound with bridge may follow the primary NIC (several NICs per VM)
    secondary_ovs_reason: str
    live_migration: LiveMigration
    requirements: tuple[Requirement, ...]
    notes: tuple[str, ...]

    @property
    def usable(self) -> bool:
        return self.binding.usable

    def to_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode.value,
            "cni": self.cni.value,
            "kubevirtVersion": str(self.versions.kubevirt),
            "spiderpoolVersion": str(self.versions.spiderpool),
            "binding": self.binding.binding.value,
            "bindingStatus": self.binding.status.value,
            "bindingReason": self.binding.reason,
            "spiderpool": self.spiderpool,
            "vmIP": self.vm_ip,
            "fixedIP": self.fixed_ip,
            "fixedIPReason": self.fixed_ip_reason,
            "multiNIC": self.multi_nic,
            "multiNICReason": self.multi_nic_reason,
            "secondaryOVSNICs": self.secondary_ovs,
            "secondaryOVSNICsReason": self.secondary_ovs_reason,
            "liveMigration": self.live_migration.to_dict(),
            "requirements": [r.to_dict() for r in self.requirements],
            "notes": list(self.notes),
            "sources": [self.binding.source, self.binding.migration_source],
        }


def binding_for(mode: Mode, versions: TargetVersions, passt: Binding | None = None) -> BindingSupport:
    """The binding a mode uses on these versions; ``passt`` pins a passt flavour for the passt mode."""
    if mode is Mode.MASQUERADE:
        return binding_support(Binding.MASQUERADE, versions.kubevirt)
    if mode is Mode.BRIDGE:
        return binding_support(Binding.BRIDGE, versions.kubevirt)
    chosen = passt or passt_binding_for(versions.kubevirt)
    return binding_support(chosen, versions.kubevirt)


def _binding_requirements(support: BindingSupport) -> list[Requirement]:
    reqs = [
        Requirement(
            RequirementKind.FEATURE_GATE,
            gate,
            "list it in KubeVirt spec.configuration.developerConfiguration.featureGates",
        )
        for gate in support.feature_gates
    ]
    if support.binding is Binding.PASST_BINDING and not support.feature_gates and support.usable:
        reqs.append(
            Requirement(
                RequirementKind.FEATURE_GATE,
                "PasstBinding",
                "beta, enabled by default from KubeVirt v1.9: it must not be listed in "
                "developerConfiguration.disabledFeatureGates",
            )
        )
    if support.needs_registration:
        reqs.append(
            Requirement(
                RequirementKind.BINDING_PLUGIN,
                "passt",
                "register it under KubeVirt spec.configuration.network.binding.passt (sidecar image, NAD, migration)",
            )
        )
        installer = (
            "installed by the network-passt-binding-cni DaemonSet image"
            if passt_plugin_cni_installer(support.kubevirt)
            else "copy it to /opt/cni/bin on every node (KubeVirt publishes no installer before v1.6)"
        )
        reqs.append(Requirement(RequirementKind.CNI_BINARY, "kubevirt-passt-binding", installer))
    return reqs


def _spiderpool_requirements(cni: Cni) -> list[Requirement]:
    return [
        Requirement(
            RequirementKind.SPIDERPOOL_CONFIG,
            "enableKubevirtStaticIP",
            "spiderpool-conf conf.yml must say enableKubevirtStaticIP: true (Helm value "
            "ipam.enableKubevirtStaticIP, default true; a missing key means false)",
        ),
        Requirement(RequirementKind.CNI_BINARY, "multus", "Multus meta-plugin (installed with SpiderPool)"),
        Requirement(RequirementKind.CNI_BINARY, "spiderpool", "SpiderPool IPAM plugin"),
        Requirement(RequirementKind.CNI_BINARY, "coordinator", "SpiderPool coordinator (routes for underlay NICs)"),
        Requirement(RequirementKind.CNI_BINARY, cni.value, f"the {cni.value} CNI plugin in /opt/cni/bin"),
    ]


def capabilities(mode: Mode, cni: Cni, versions: TargetVersions, passt: Binding | None = None) -> ModeCapabilities:
    """Everything virtnet knows about running ``mode`` on ``cni`` with these versions: what the binding needs and
    says about itself, then what the mode gives the VM (one function per mode, below)."""
    support = binding_for(mode, versions, passt)
    gives = _MODE_GIVES[mode](cni, support, spiderpool_doc(versions.spiderpool))
    return ModeCapabilities(
        mode=mode,
        cni=cni,
        versions=versions,
        binding=support,
        spiderpool=gives.spiderpool,
        vm_ip=gives.vm_ip,
        fixed_ip=gives.fixed_ip.yes,
        fixed_ip_reason=gives.fixed_ip.why,
        multi_nic=gives.multi_nic.yes,
        multi_nic_reason=gives.multi_nic.why,
        secondary_ovs=gives.secondary_ovs.yes,
        secondary_ovs_reason=gives.secondary_ovs.why,
        live_migration=gives.live_migration,
        requirements=(*_binding_requirements(support), *gives.requirements),
        notes=(*_binding_notes(support), *gives.notes),
    )


def _binding_notes(support: BindingSupport) -> list[str]:
    if support.status is Status.DEPRECATED:
        return [support.reason]
    if support.status is Status.UNAVAILABLE:
        return [f"not available: {support.reason}"]
    return []


class _Answer(NamedTuple):
    yes: bool
    why: str


@dataclass(frozen=True)
class _ModeGives:
    """What a mode gives the VM on one CNI and binding: the mode-specific part of :class:`ModeCapabilities`."""

    spiderpool: str  # "required" | "optional" | "not used"
    vm_ip: str
    fixed_ip: _Answer
    multi_nic: _Answer
    secondary_ovs: _Answer
    live_migration: LiveMigration
    requirements: tuple[Requirement, ...]
    notes: tuple[str, ...] = ()


def _masquerade(cni: Cni, support: BindingSupport, guide: str) -> _ModeGives:
    default_network = DEFAULT_CNI_NETWORKS.get(cni)
    return _ModeGives(
        spiderpool="optional",
        vm_ip="private NAT address (10.0.2.2/24) behind the pod IP",
        fixed_ip=_Answer(False, f"the pod IP comes from {cni.value} IPAM and the guest only sees 10.0.2.2"),
        multi_nic=_Answer(False, "one pod-network NIC; masquerade binds only the pod network"),
        secondary_ovs=_Answer(
            True,
            "OVS networks bound with bridge may follow the pod-network NIC (needs SpiderPool for their pools and "
            "Open vSwitch on the nodes)",
        ),
        live_migration=LiveMigration(
            kubevirt_allows=True,
            kubevirt="allowed: masquerade on the pod network passes KubeVirt's network check",
            spiderpool_verdict="not covered",
            spiderpool="not covered: SpiderPool's masquerade migration e2e (F00002) is pending",
        ),
        requirements=(Requirement(RequirementKind.CNI_BINARY, cni.value, f"the cluster's {cni.value} CNI"),),
        notes=(default_network.note(cni, DEFAULT_SPIDERPOOL_NAMESPACE),) if default_network else (),
    )


def _passt(cni: Cni, support: BindingSupport, guide: str) -> _ModeGives:
    return _ModeGives(
        spiderpool="required",
        vm_ip="the pod's underlay IP from SpiderPool, handed to the guest by passt's DHCP",
        fixed_ip=_Answer(True, "SpiderPool keeps the VM's IP while the VM exists (enableKubevirtStaticIP)"),
        multi_nic=_Answer(
            False,
            "core passt must be the VMI's only interface"
            if support.single_interface
            else "passt binds only the pod network (primary NIC)",
        ),
        secondary_ovs=_passt_secondary_ovs(support),
        live_migration=LiveMigration(
            kubevirt_allows=support.migratable_on_pod_network,
            kubevirt=_passt_kubevirt_migration(support),
            spiderpool_verdict="not available",
            spiderpool=f"not available according to SpiderPool's KubeVirt guide ({guide})",
        ),
        requirements=tuple(_spiderpool_requirements(cni)),
    )


def _passt_secondary_ovs(support: BindingSupport) -> _Answer:
    """May OVS NICs follow the passt NIC?"""
    title = support.binding.title
    if not support.usable:
        return _Answer(False, f"not available: {support.reason}")
    if support.single_interface:
        return _Answer(
            False,
            f"{title} must be the VMI's only interface; the passt binding plugin (KubeVirt v1.1.1+, the default from "
            "v1.2) and passtBinding (v1.8+) allow OVS NICs after it",
        )
    return _Answer(
        True,
        f"OVS networks bound with bridge may follow the {title} NIC (SpiderPool's KubeVirt guide shows passt with one "
        "NIC only; needs Open vSwitch on the nodes)",
    )


def _passt_kubevirt_migration(support: BindingSupport) -> str:
    """KubeVirt's verdict on migrating a VM whose pod network is bound with passt."""
    title = support.binding.title
    if not support.migratable_on_pod_network:
        return f"refused: KubeVirt does not migrate {title} on the pod network"
    because = " because the registration sets 'migration'" if support.binding is Binding.PASST_PLUGIN else ""
    return (
        f"allowed: {title} on the pod network is migratable{because}; the guest keeps its IP only until its next "
        "DHCP renewal"
    )


def _bridge(cni: Cni, support: BindingSupport, guide: str) -> _ModeGives:
    return _ModeGives(
        spiderpool="required",
        vm_ip="each NIC's pod IP from SpiderPool, handed to the guest by KubeVirt's DHCP (IPv4 only)",
        fixed_ip=_Answer(True, "SpiderPool keeps each NIC's IP while the VM exists (enableKubevirtStaticIP)"),
        multi_nic=_Answer(True, "one Multus OVS network per NIC; the first is the Multus default network"),
        secondary_ovs=_Answer(True, "every NIC is an OVS network bound with bridge"),
        live_migration=LiveMigration(
            kubevirt_allows=True,
            kubevirt="not blocked: with no pod network KubeVirt's network migratability check passes",
            spiderpool_verdict="not available",
            spiderpool=f"not available according to SpiderPool's KubeVirt guide ({guide}); SpiderPool "
            "does hand the VM's IP to the migration target pod",
        ),
        requirements=(
            *_spiderpool_requirements(cni),
            Requirement(
                RequirementKind.NODE,
                "openvswitch",
                "Open vSwitch with the OVS bridge on every node that may run the VM",
            ),
        ),
        notes=(
            "KubeVirt's DHCP gives bridge NICs IPv4 only; IPv6 pools need in-guest configuration",
            "HTTP/TCP probes are rejected: the VM has no pod network",
        ),
    )


_MODE_GIVES: dict[Mode, Callable[[Cni, BindingSupport, str], _ModeGives]] = {
    Mode.MASQUERADE: _masquerade,
    Mode.PASST: _passt,
    Mode.BRIDGE: _bridge,
}


def mode_matrix(versions: TargetVersions, mode: Mode | None = None, cni: Cni | None = None) -> list[ModeCapabilities]:
    """The matrix of modes and CNIs for these versions, in the guide's order; ``mode`` / ``cni`` keep only the rows
    of that mode / CNI (a pair that cannot run is an :class:`InputError` from :func:`parse_cni`)."""
    return [capabilities(m, c, versions) for m in Mode if mode in (None, m) for c in MODE_CNIS[m] if cni in (None, c)]
