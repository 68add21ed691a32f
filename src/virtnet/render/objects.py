"""The Kubernetes objects virtnet renders, as the fields it writes (keys in the order they are written: the YAML
output keeps it). A field named after a value (an interface's binding, a SpiderMultusConfig's CNI block) is typed
by what it holds. :func:`plain` hands a rendered object to readers that take objects of any kind."""

from __future__ import annotations

from typing import Any, TypedDict, cast


class Metadata(TypedDict, total=False):
    name: str
    namespace: str
    labels: dict[str, str]
    annotations: dict[str, str]


class NameRef(TypedDict):
    name: str


class ResourceRequests(TypedDict):
    requests: dict[str, str]  # {"memory": quantity} or {"storage": quantity}


# --- NetworkAttachmentDefinition (k8s.cni.cncf.io/v1) and SpiderMultusConfig (spiderpool.spidernet.io/v2beta1) ---


class NadSpec(TypedDict):
    config: str  # the CNI configuration, JSON


class NetworkAttachmentDefinition(TypedDict):
    apiVersion: str
    kind: str
    metadata: Metadata
    spec: NadSpec


class MultusConfigBlock(TypedDict, total=False):
    """``spec.macvlan`` / ``spec.ipvlan`` (master, vlanID) or ``spec.ovs`` (bridge, vlan), with the pools."""

    master: list[str]
    vlanID: int
    bridge: str
    vlan: int
    ippools: dict[str, list[str]]  # ipv4 / ipv6 → pool names


class SpiderMultusConfig(TypedDict):
    apiVersion: str
    kind: str
    metadata: Metadata
    spec: dict[str, str | bool | MultusConfigBlock]  # cniType, enableCoordinator, and the block named cniType


# --- the KubeVirt CR change (kubevirt.io/v1 KubeVirt, partial) ----------------------------------------------------


class BindingPlugin(TypedDict, total=False):
    """A network binding plugin registration (KubeVirt ``InterfaceBindingPlugin``)."""

    sidecarImage: str
    networkAttachmentDefinition: str  # namespace/name
    migration: dict[str, str]  # {}: the plugin is migratable
    computeResourceOverhead: ResourceRequests


class DeveloperConfiguration(TypedDict):
    featureGates: list[str]


class NetworkConfiguration(TypedDict):
    binding: dict[str, BindingPlugin]


class KubevirtConfiguration(TypedDict, total=False):
    developerConfiguration: DeveloperConfiguration
    network: NetworkConfiguration


class KubevirtSpec(TypedDict):
    configuration: KubevirtConfiguration


class KubevirtChange(TypedDict):
    apiVersion: str
    kind: str
    metadata: Metadata
    spec: KubevirtSpec


# --- Secret (v1) ---------------------------------------------------------------------------------------------------


class Secret(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: Metadata
    type: str
    data: dict[str, str]  # base64
    stringData: dict[str, str]


# --- VirtualMachine (kubevirt.io/v1) -------------------------------------------------------------------------------

# One interface: name, the binding (a key named after it: ``masquerade: {}``, ``binding: {name: passt}``, …),
# macAddress.
Interface = dict[str, str | dict[str, str]]


class Multus(TypedDict, total=False):
    default: bool  # the pod's Multus default network (bridge mode's first NIC)
    networkName: str | None  # namespace/name of the NAD


class Network(TypedDict, total=False):
    name: str
    pod: dict[str, str]  # {}: the pod network
    multus: Multus


class DiskDevice(TypedDict):
    name: str
    disk: dict[str, str]  # {"bus": "virtio"}


class Devices(TypedDict):
    disks: list[DiskDevice]
    interfaces: list[Interface]


class Cpu(TypedDict, total=False):
    cores: int
    sockets: int
    threads: int
    model: str


class Domain(TypedDict):
    cpu: Cpu
    devices: Devices
    machine: dict[str, str]  # {"type": machine type}
    resources: ResourceRequests


class CloudInitNoCloud(TypedDict, total=False):
    secretRef: NameRef  # user data
    networkData: str
    networkDataSecretRef: NameRef


class Volume(TypedDict, total=False):
    name: str
    dataVolume: NameRef
    containerDisk: dict[str, str]  # {"image": reference}
    cloudInitNoCloud: CloudInitNoCloud


class TemplateSpec(TypedDict, total=False):
    architecture: str
    domain: Domain
    evictionStrategy: str
    nodeSelector: dict[str, str]
    networks: list[Network]
    volumes: list[Volume]


class TemplateMetadata(TypedDict, total=False):
    labels: dict[str, str]
    annotations: dict[str, str]


class Template(TypedDict):
    metadata: TemplateMetadata
    spec: TemplateSpec


class PersistentVolumeClaimSpec(TypedDict, total=False):
    accessModes: list[str]
    resources: ResourceRequests  # {"requests": {"storage": size}}
    storageClassName: str


class DataVolumeSpec(TypedDict):
    pvc: PersistentVolumeClaimSpec
    source: dict[str, dict[str, str]]  # {"registry": {"url": image}}


class DataVolumeTemplate(TypedDict):
    metadata: NameRef
    spec: DataVolumeSpec


class VmSpec(TypedDict, total=False):
    runStrategy: str
    dataVolumeTemplates: list[DataVolumeTemplate]
    template: Template


class VirtualMachine(TypedDict):
    apiVersion: str
    kind: str
    metadata: Metadata
    spec: VmSpec


Rendered = NetworkAttachmentDefinition | SpiderMultusConfig | KubevirtChange | Secret | VirtualMachine


def plain(obj: Rendered) -> dict[str, Any]:
    """A rendered object as the bundle hands it out: a plain dict, like every object its readers take."""
    return cast(dict[str, Any], obj)
