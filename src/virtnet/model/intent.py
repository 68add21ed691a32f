"""The intent: what the user wants, before any version-specific rendering.

An intent comes from an intent file or from ``virtnet new vm`` flags; both are validated against the same JSON
Schema (``virtnet.formats.intent``) and arrive here as these immutable values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from virtnet.model.capabilities import Binding
from virtnet.model.modes import DEFAULT_SPIDERPOOL_NAMESPACE, Cni, Mode
from virtnet.model.versions import TargetVersions

# Defaults of what an intent leaves out. The value types below hold the others as field defaults (``Disk.size``,
# ``VmIntent.memory``, ``Intent.kubevirt_namespace``…); the intent conversion and the CLI help read them there.
DEFAULT_NAMESPACE = "default"  # the VM's namespace
DEFAULT_IMAGE = "quay.io/containerdisks/fedora:latest"  # the root disk's container image


class PoolNaming(Enum):
    """How ``ipam.spidernet.io/ippools`` entries are tied to NICs."""

    NAMED = "named"  # give `interface`: eth0, pod<sha256(network)[:11]> — works on every SpiderPool version
    ORDERED = "ordered"  # no `interface`; entry i is NIC i (SpiderPool >= v0.8.2, as in its KubeVirt guide)


@dataclass(frozen=True)
class PoolIntent:
    """A SpiderIPPool to create (``subnet`` set) or an existing one to use (only ``name``)."""

    name: str | None = None
    subnet: str | None = None
    gateway: str | None = None
    ips: tuple[str, ...] = ()
    exclude_ips: tuple[str, ...] = ()
    ip_version: int = 4  # only read for existing pools; a new pool's family is its subnet's

    @property
    def existing(self) -> bool:
        return self.subnet is None


@dataclass(frozen=True)
class NicIntent:
    """One VM NIC. ``network`` names an existing NAD (``ns/name``); otherwise a SpiderMultusConfig is rendered."""

    name: str | None = None  # KubeVirt interface/network name
    master: str | None = None  # macvlan/ipvlan parent interface on the node
    bridge: str | None = None  # OVS bridge on the node
    vlan: int | None = None
    network: str | None = None  # existing NAD to use, "ns/name"
    multus_config: str | None = None  # name of the SpiderMultusConfig to render
    pools: tuple[PoolIntent, ...] = ()
    mac: str | None = None


class DiskKind(Enum):
    """Where the root disk comes from."""

    CONTAINER_DISK = "containerDisk"  # the image itself, ephemeral: no CDI, no PVC (a quick start)
    DATA_VOLUME = "dataVolume"  # CDI imports the image into a PVC (persistent; needs CDI and a StorageClass)


@dataclass(frozen=True)
class Disk:
    size: str = "10Gi"  # DataVolume only
    storage_class: str | None = None  # DataVolume only
    access_mode: str = "ReadWriteOnce"  # DataVolume only
    kind: DiskKind = DiskKind.DATA_VOLUME


@dataclass(frozen=True)
class Cpu:
    cores: int = 1
    sockets: int = 1
    threads: int = 1
    model: str | None = None


@dataclass(frozen=True)
class VmIntent:
    image: str = f"docker://{DEFAULT_IMAGE}"  # as a DataVolume imports it
    disk: Disk = field(default_factory=Disk)
    cpu: Cpu = field(default_factory=Cpu)
    memory: str = "1Gi"
    run_strategy: str = "Always"
    eviction_strategy: str | None = None
    machine_type: str = "q35"
    architecture: str | None = None
    node_selector: tuple[tuple[str, str], ...] = ()  # nodes that carry the NIC / OVS bridge


@dataclass(frozen=True)
class CloudInitIntent:
    ssh_authorized_keys: tuple[str, ...] = ()
    user: str | None = None  # create this user; None = the image's default user
    password: str | None = field(default=None, repr=False)  # only from an explicit password file

    @property
    def has_password(self) -> bool:
        return self.password is not None


@dataclass(frozen=True)
class Intent:
    name: str
    namespace: str
    mode: Mode
    cni: Cni
    versions: TargetVersions = field(default_factory=TargetVersions)
    nics: tuple[NicIntent, ...] = ()
    vm: VmIntent = field(default_factory=VmIntent)
    cloud_init: CloudInitIntent = field(default_factory=CloudInitIntent)
    kubevirt_namespace: str = "kubevirt"
    kubevirt_name: str = "kubevirt"
    spiderpool_namespace: str = DEFAULT_SPIDERPOOL_NAMESPACE
    spiderpool_installed: bool = True
    passt: Binding | None = None  # pin a passt flavour; None = the one virtnet picks for the version
    pool_naming: PoolNaming = PoolNaming.NAMED
    coordinator: bool = True
