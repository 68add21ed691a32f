"""Render a plan into the bundle of Kubernetes objects, in the order they must be applied.

Order: SpiderIPPool(s) → SpiderMultusConfig(s) → NetworkAttachmentDefinition (passt plugin) → KubeVirt CR
change → Secret (cloud-init) → VirtualMachine.

The KubeVirt CR change is a JSON merge patch body that is also a partial KubeVirt object (apiVersion, kind, name,
namespace and only the fields to add). It carries no explanation of its own — whatever it holds would be written to
the live CR — so the reason is :attr:`Bundle.kubevirt_reason` (and a note); :func:`is_kubevirt_change` tells it
from the whole objects, which the CLI keeps out of stdout unless asked and writes to ``patches/`` in a directory.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from virtnet.errors import InputError
from virtnet.formats.intent import intent_from_document
from virtnet.formats.yamlio import Document
from virtnet.model import annotations as keys
from virtnet.model.capabilities import (
    PLUGIN_MIGRATION_FIRST,
    PLUGIN_OVERHEAD_FIRST,
    Binding,
    binding_support,
)
from virtnet.model.intent import DiskKind, Intent, PoolNaming
from virtnet.model.ippool import API_VERSION as SPIDERPOOL_API_VERSION
from virtnet.model.modes import DEFAULT_CNI_NETWORKS, Cni, Mode
from virtnet.render.cloudinit import INLINE_NETWORK_DATA_LIMIT, network_data, user_data
from virtnet.render.objects import (
    BindingPlugin,
    CloudInitNoCloud,
    Cpu,
    KubevirtChange,
    KubevirtConfiguration,
    Metadata,
    MultusConfigBlock,
    Network,
    NetworkAttachmentDefinition,
    PersistentVolumeClaimSpec,
    Secret,
    SpiderMultusConfig,
    TemplateMetadata,
    TemplateSpec,
    VirtualMachine,
    VmSpec,
    Volume,
    plain,
)
from virtnet.render.objects import (
    Interface as InterfaceObject,
)
from virtnet.render.plan import NicPlan, Plan, plan

MANAGED_BY = {"app.kubernetes.io/managed-by": "virtnet"}
# Annotations bundles of earlier virtnet releases put on the KubeVirt CR change; never rendered any more (they would
# be written to the live CR). `virtnet apply` still drops them from its input.
REASON_ANNOTATION = "virtnet.io/reason"
PATCH_TYPE_ANNOTATION = "virtnet.io/patch-type"
KUBEVIRT_API_VERSION = "kubevirt.io/v1"

# passt binding plugin: NAD and sidecar as documented in UG:docs/network/net_binding_plugins/passt.md
PASST_PLUGIN_NAD = ("default", "netbindingpasst")
PASST_PLUGIN_NAD_CONFIG = {
    "cniVersion": "1.0.0",
    "name": "netbindingpasst",
    "plugins": [{"type": "kubevirt-passt-binding"}],
}
PASST_SIDECAR_IMAGE = "quay.io/kubevirt/network-passt-binding"
# Memory requested for virt-launcher's compute container of a VM using the plugin (computeResourceOverhead, which
# KubeVirt takes from v1.3.0: PLUGIN_OVERHEAD_FIRST): the value of KubeVirt's registration example, "additional
# memory overhead of 250Mi" (UG:docs/network/net_binding_plugins/passt.md "Passt Registration"; the same page: with
# no ports listed passt forwards every port, "leading to memory overhead of up to 250 Mi").
PASST_PLUGIN_MEMORY_OVERHEAD = "250Mi"


@dataclass(frozen=True)
class Bundle:
    """The rendered objects in apply order, plus what the user should know about them."""

    objects: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    plan: Plan
    kubevirt_reason: str | None = None  # why the KubeVirt CR change is needed (None: no change in the bundle)

    def kinds(self) -> list[str]:
        return [o["kind"] for o in self.objects]


def is_kubevirt_change(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` is a KubeVirt CR change: a partial object to merge, never to apply or create whole."""
    return obj.get("kind") == "KubeVirt" and str(obj.get("apiVersion", "")).startswith("kubevirt.io/")


def render_document(doc: Document, password: str | None = None) -> Bundle:
    """The bundle of an intent document: validated and converted like every intent (errors at the document's
    fields), then planned and rendered; a plan error, which names an intent field, is placed in the document (file,
    line and column)."""
    intent = intent_from_document(doc, password)
    try:
        return render_bundle(intent)
    except InputError as err:
        if err.location.file is not None:
            raise
        raise doc.locate(err) from None


def render_bundle(intent: Intent) -> Bundle:
    p = plan(intent)
    objects: list[dict[str, Any]] = []
    notes: list[str] = list(intent.versions.notes())
    for nic in p.nics:
        for pool in nic.pools:
            if pool.spec is not None:
                objects.append(_ippool(pool.spec.to_manifest()))
    for nic in p.nics:
        if nic.render_multus_config:
            objects.append(plain(_multus_config(p, nic)))
    kubevirt_change, reason = _kubevirt_change(p)
    if p.binding is Binding.PASST_PLUGIN:
        objects.append(plain(_passt_plugin_nad()))
    if kubevirt_change is not None:
        objects.append(plain(kubevirt_change))
        ref = f"{intent.kubevirt_namespace}/{intent.kubevirt_name}"
        notes.append(f"KubeVirt CR {ref}: {reason}")
        if "developerConfiguration" in kubevirt_change["spec"]["configuration"]:
            notes.append(
                "featureGates is a list, and a JSON merge patch replaces a list whole: add the gates your cluster "
                f"already has (kubectl get kubevirt -n {intent.kubevirt_namespace} {intent.kubevirt_name} "
                "-o jsonpath='{.spec.configuration.developerConfiguration.featureGates}') before "
                "`kubectl patch --type merge`"
            )
    elif p.binding is Binding.PASST_BINDING:
        notes.append(
            f"KubeVirt {intent.versions.kubevirt} enables the beta PasstBinding gate by default: no KubeVirt CR "
            "change is rendered; make sure PasstBinding is not listed in developerConfiguration.disabledFeatureGates"
        )
    objects.append(plain(_secret(intent)))
    objects.append(plain(_virtual_machine(p)))
    for nic in p.nics:
        for pool in nic.pools:
            if pool.spec is None:
                notes.append(f"NIC {nic.name} uses the existing SpiderIPPool '{pool.name}' (not rendered)")
        if nic.on_pod_network and not nic.nad_name and len(p.nics) > 1 and intent.mode is Mode.MASQUERADE:
            notes.append(
                f"the pod network of NIC {nic.name} is Multus's cluster default network ({intent.cni.value}); no "
                "v1.multus-cni.io/default-network annotation names SpiderPool's default NAD, which is not in the bundle"
            )
        if nic.nad_name and not nic.render_multus_config:
            if nic.default_cni_nad:
                notes.append(DEFAULT_CNI_NETWORKS[intent.cni].note(intent.cni, intent.spiderpool_namespace))
            else:
                notes.append(f"NIC {nic.name} uses the existing network {nic.nad_ref} (not rendered)")
    return Bundle(
        objects=tuple(objects),
        warnings=p.warnings,
        notes=tuple(notes),
        plan=p,
        kubevirt_reason=reason if kubevirt_change is not None else None,
    )


def _meta(name: str, namespace: str | None = None) -> Metadata:
    meta: Metadata = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = dict(MANAGED_BY)
    return meta


def _ippool(manifest: dict[str, Any]) -> dict[str, Any]:
    """SpiderIPPool is cluster-scoped; ``spec.vlan`` is never written (no effect in v0.8, removed in v1.0)."""
    manifest["metadata"] = _meta(manifest["metadata"]["name"])
    return manifest


def _multus_config(p: Plan, nic: NicPlan) -> SpiderMultusConfig:
    intent = p.intent
    ippools: dict[str, list[str]] = {}
    for pool in nic.pools:
        ippools.setdefault(f"ipv{pool.family}", []).append(pool.name)
    block: MultusConfigBlock
    if nic.cni in (Cni.MACVLAN, Cni.IPVLAN):
        assert nic.master is not None
        block = {"master": [nic.master], "vlanID": nic.vlan}
    else:
        assert nic.bridge is not None
        block = {"bridge": nic.bridge}
        if nic.vlan:
            block["vlan"] = nic.vlan
    if ippools:
        block["ippools"] = ippools
    assert nic.nad_name is not None
    assert nic.nad_namespace is not None
    return {
        "apiVersion": SPIDERPOOL_API_VERSION,
        "kind": "SpiderMultusConfig",
        "metadata": _meta(nic.nad_name, nic.nad_namespace),
        "spec": {"cniType": nic.cni.value, "enableCoordinator": intent.coordinator, nic.cni.value: block},
    }


def _passt_plugin_nad() -> NetworkAttachmentDefinition:
    namespace, name = PASST_PLUGIN_NAD
    return {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": _meta(name, namespace),
        "spec": {"config": json.dumps(PASST_PLUGIN_NAD_CONFIG, separators=(",", ":"))},
    }


def _kubevirt_change(p: Plan) -> tuple[KubevirtChange | None, str]:
    """The KubeVirt CR change the mode needs, as a JSON merge patch body that is also a partial KubeVirt object,
    and why it is needed."""
    intent = p.intent
    kv = intent.versions.kubevirt
    support = binding_support(p.binding, kv)
    configuration: KubevirtConfiguration = {}
    reasons: list[str] = []
    if support.feature_gates:
        configuration["developerConfiguration"] = {"featureGates": list(support.feature_gates)}
        reasons.append(
            f"{support.binding.title} on KubeVirt {kv} needs feature gate {', '.join(support.feature_gates)}"
        )
    if support.needs_registration:
        registration: BindingPlugin = {
            "sidecarImage": f"{PASST_SIDECAR_IMAGE}:{kv}",
            "networkAttachmentDefinition": "/".join(PASST_PLUGIN_NAD),
        }
        if kv >= PLUGIN_MIGRATION_FIRST:
            registration["migration"] = {}
        if kv >= PLUGIN_OVERHEAD_FIRST:
            registration["computeResourceOverhead"] = {"requests": {"memory": PASST_PLUGIN_MEMORY_OVERHEAD}}
        configuration["network"] = {"binding": {"passt": registration}}
        reasons.append(
            "the passt binding plugin must be registered in the KubeVirt CR"
            + (" ('migration' makes it live-migratable)" if kv >= PLUGIN_MIGRATION_FIRST else "")
        )
    if not configuration:
        return None, ""
    change: KubevirtChange = {
        "apiVersion": KUBEVIRT_API_VERSION,
        "kind": "KubeVirt",
        "metadata": {"name": intent.kubevirt_name, "namespace": intent.kubevirt_namespace},
        "spec": {"configuration": configuration},
    }
    return change, "; ".join(reasons)


def _secret_name(intent: Intent) -> str:
    return f"{intent.name}-cloudinit"


def _secret(intent: Intent) -> Secret:
    data = user_data(intent.cloud_init)
    secret: Secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(_secret_name(intent), intent.namespace),
        "type": "Opaque",
    }
    if intent.cloud_init.has_password:
        # keep the password out of plain sight in printed bundles; Kubernetes stores it the same way
        secret["data"] = {"userdata": base64.b64encode(data.encode()).decode()}
    else:
        secret["stringData"] = {"userdata": data}
    return secret


def _interface(nic: NicPlan) -> InterfaceObject:
    iface: InterfaceObject = {"name": nic.name}
    binding = nic.binding
    if binding is Binding.PASST_PLUGIN:
        iface["binding"] = {"name": "passt"}
    else:
        iface[binding.value] = {}
    iface["macAddress"] = nic.mac
    return iface


def _network(nic: NicPlan) -> Network:
    if nic.on_pod_network:
        return {"name": nic.name, "pod": {}}
    if nic.primary:  # bridge mode: the first OVS network is the pod's Multus default network
        return {"name": nic.name, "multus": {"default": True, "networkName": nic.nad_ref}}
    return {"name": nic.name, "multus": {"networkName": nic.nad_ref}}


def ippools_annotation(p: Plan) -> str | None:
    entries: list[dict[str, str | list[str]]] = []
    named = p.intent.pool_naming is PoolNaming.NAMED
    if not any(n.pools for n in p.nics):
        return None
    for nic in p.nics:
        if named and not nic.pools:
            continue  # a masquerade primary: its IP comes from the cluster CNI's IPAM
        entry: dict[str, str | list[str]] = {"interface": nic.pod_interface} if named else {}
        families: dict[str, list[str]] = {}
        for pool in nic.pools:
            families.setdefault(f"ipv{pool.family}", []).append(pool.name)
        entries.append({**entry, **families})
    return json.dumps(entries, separators=(",", ":"))


def _template_annotations(p: Plan) -> dict[str, str]:
    annotations: dict[str, str] = {}
    primary = p.nics[0]
    if primary.on_pod_network and primary.nad_ref:
        # the pod network's delegate: the SpiderPool underlay (passt) or the CNI's default NAD (masquerade)
        annotations[keys.DEFAULT_NETWORK] = primary.nad_ref
    pools = ippools_annotation(p)
    if pools:
        annotations[keys.IPPOOLS] = pools
    if len(p.nics) > 1:
        # pin the pod's default route to the first NIC (SpiderPool coordinator; SP e2e kubevirt F00003)
        annotations[keys.DEFAULT_ROUTE_NIC] = primary.pod_interface
    return annotations


def _virtual_machine(p: Plan) -> VirtualMachine:
    intent = p.intent
    vm = intent.vm
    disk_name = f"systemdisk-{intent.name}"
    cpu: Cpu = {"cores": vm.cpu.cores, "sockets": vm.cpu.sockets, "threads": vm.cpu.threads}
    if vm.cpu.model:
        cpu["model"] = vm.cpu.model
    net_data = network_data(p.nics)
    cloud_init: CloudInitNoCloud = {"secretRef": {"name": _secret_name(intent)}}
    if len(net_data.encode()) <= INLINE_NETWORK_DATA_LIMIT:
        cloud_init["networkData"] = net_data
    else:  # pragma: no cover - needs dozens of NICs
        cloud_init["networkDataSecretRef"] = {"name": _secret_name(intent)}
    template_spec: TemplateSpec = {}
    if vm.architecture:
        template_spec["architecture"] = vm.architecture
    template_spec["domain"] = {
        "cpu": cpu,
        "devices": {
            "disks": [
                {"name": disk_name, "disk": {"bus": "virtio"}},
                {"name": "cloudinitdisk", "disk": {"bus": "virtio"}},
            ],
            "interfaces": [_interface(nic) for nic in p.nics],
        },
        "machine": {"type": vm.machine_type},
        "resources": {"requests": {"memory": vm.memory}},
    }
    if vm.eviction_strategy:
        template_spec["evictionStrategy"] = vm.eviction_strategy
    if vm.node_selector:
        template_spec["nodeSelector"] = dict(vm.node_selector)
    template_spec["networks"] = [_network(nic) for nic in p.nics]
    if vm.disk.kind is DiskKind.DATA_VOLUME:
        root: Volume = {"name": disk_name, "dataVolume": {"name": disk_name}}
    else:
        root = {"name": disk_name, "containerDisk": {"image": vm.image}}
    template_spec["volumes"] = [root, {"name": "cloudinitdisk", "cloudInitNoCloud": cloud_init}]
    template_meta: TemplateMetadata = {"labels": {"kubevirt.io/vm": intent.name}}
    annotations = _template_annotations(p)
    if annotations:
        template_meta["annotations"] = annotations
    spec: VmSpec = {"runStrategy": vm.run_strategy}
    if vm.disk.kind is DiskKind.DATA_VOLUME:
        pvc: PersistentVolumeClaimSpec = {
            "accessModes": [vm.disk.access_mode],
            "resources": {"requests": {"storage": vm.disk.size}},
        }
        if vm.disk.storage_class:
            pvc["storageClassName"] = vm.disk.storage_class
        spec["dataVolumeTemplates"] = [
            {"metadata": {"name": disk_name}, "spec": {"pvc": pvc, "source": {"registry": {"url": vm.image}}}}
        ]
    spec["template"] = {"metadata": template_meta, "spec": template_spec}
    return {
        "apiVersion": KUBEVIRT_API_VERSION,
        "kind": "VirtualMachine",
        "metadata": _meta(intent.name, intent.namespace),
        "spec": spec,
    }
