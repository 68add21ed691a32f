"""The intent file format (``apiVersion: virtnet.io/v1alpha1``, ``kind: VMNetwork``) and its JSON Schema.

``virtnet new vm`` flags are turned into the same document shape and go through the same validation, so a
flag and a field can never disagree. The schema is published as ``docs/intent.schema.json`` (generated from
:data:`INTENT_SCHEMA`, drift-checked in CI) and printed by ``virtnet schema``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypedDict

import jsonschema

from virtnet.errors import InputError, Location
from virtnet.formats.yamlio import Document, format_path, load_documents
from virtnet.model.capabilities import Binding
from virtnet.model.identity import label_key_problem, label_value_problem
from virtnet.model.intent import (
    DEFAULT_IMAGE,
    DEFAULT_NAMESPACE,
    CloudInitIntent,
    Cpu,
    Disk,
    DiskKind,
    Intent,
    NicIntent,
    PoolIntent,
    PoolNaming,
    VmIntent,
)
from virtnet.model.modes import Cni, Mode, default_cni, parse_cni, parse_mode
from virtnet.model.versions import KUBEVIRT, SPIDERPOOL, Product, TargetVersions, parse_target_versions

API_VERSION = "virtnet.io/v1alpha1"
KIND = "VMNetwork"

_NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63}
_SUBDOMAIN = {
    "type": "string",
    "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
}
_QUANTITY = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"}
_IP_ENTRY = {"type": "string", "pattern": r"^[0-9A-Fa-f:.]+(-[0-9A-Fa-f:.]+)?$"}

_PATTERN_HINTS = {
    _NAME["pattern"]: "is not a DNS label: use lower-case letters, digits and '-', starting and ending alphanumeric",
    _SUBDOMAIN["pattern"]: "is not a DNS name: use lower-case letters, digits, '-' and '.'",
    _QUANTITY["pattern"]: "is not a Kubernetes quantity such as 10Gi or 512Mi",
    _IP_ENTRY["pattern"]: "is not an address or an a-b range",
    r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$": "is not a MAC address like 02:00:00:12:34:56 (lower-case hex)",
    r"^[A-Za-z0-9_-]+$": "is not a valid interface name (letters, digits, '-' and '_' only)",
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$": "is not namespace/name",
    r"^[a-z_][a-z0-9_-]*$": "is not a valid Linux user name",
}

_PASST_FLAVOURS = {
    "auto": None,  # the flavour virtnet picks for the KubeVirt version
    "core": Binding.PASST_CORE,
    "plugin": Binding.PASST_PLUGIN,
    "passtBinding": Binding.PASST_BINDING,
}

POOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A SpiderIPPool: with 'subnet' one is created, with only 'name' an existing pool is used.",
    "additionalProperties": False,
    "properties": {
        "name": {**_SUBDOMAIN, "description": "Pool name (derived from the NIC's network when omitted)."},
        "subnet": {"type": "string", "description": "CIDR; written in canonical form, e.g. 10.7.0.0/16."},
        "gateway": {"type": "string", "description": "Default gateway for the NIC."},
        "ips": {
            "type": "array",
            "items": _IP_ENTRY,
            "description": "Addresses 'a' or ranges 'a-b' to hand out.",
        },
        "excludeIPs": {"type": "array", "items": _IP_ENTRY},
        "ipVersion": {"enum": [4, 6], "description": f"Family of an existing pool (default {PoolIntent.ip_version})."},
    },
}

NIC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {
            "type": "string",
            "pattern": r"^[A-Za-z0-9_-]+$",
            "description": "KubeVirt interface and network name (default: 'default' for the pod network, "
            "'nic1', 'nic2'… for Multus networks).",
        },
        "master": {
            "type": "string",
            "description": "macvlan/ipvlan: the node's parent interface, e.g. ens192.",
        },
        "bridge": {"type": "string", "description": "ovs: the Open vSwitch bridge on the nodes, e.g. br1."},
        "vlan": {"type": "integer", "minimum": 0, "maximum": 4094, "description": "VLAN ID, 0 = untagged."},
        "network": {
            "type": "string",
            "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
            "description": "Use this existing NetworkAttachmentDefinition ('namespace/name') instead of "
            "rendering a SpiderMultusConfig.",
        },
        "multusConfig": {**_SUBDOMAIN, "description": "Name of the SpiderMultusConfig to render."},
        "mac": {"type": "string", "pattern": r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$"},
        "pools": {"type": "array", "items": POOL_SCHEMA, "maxItems": 2},
    },
}

INTENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://virtnet.io/schemas/vmnetwork-v1alpha1.json",
    "title": "virtnet VMNetwork intent",
    "description": "A VM and the network it should get on KubeVirt + SpiderPool + Multus.",
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": API_VERSION},
        "kind": {"const": KIND},
        "metadata": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {"name": _NAME, "namespace": _NAME},
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["mode"],
            "properties": {
                "mode": {"enum": [m.value for m in Mode]},
                "cni": {"enum": [c.value for c in Cni]},
                "versions": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "kubevirt": {"type": "string", "description": f"{KUBEVIRT.known}, any patch release."},
                        "spiderpool": {"type": "string", "description": f"{SPIDERPOOL.known}, any patch release."},
                    },
                },
                "nics": {"type": "array", "items": NIC_SCHEMA},
                "vm": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "image": {
                            "type": "string",
                            "description": "Disk image: a container image (registry/repo:tag). containerDisk runs "
                            "it as is; dataVolume has CDI import it ('docker://' is added when no scheme is given).",
                        },
                        "disk": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "type": {
                                    "enum": [k.value for k in DiskKind],
                                    "description": "containerDisk: the image itself, ephemeral, no CDI needed; "
                                    "dataVolume (default): CDI imports the image into a persistent PVC.",
                                },
                                "size": _QUANTITY,
                                "storageClass": _SUBDOMAIN,
                                "accessMode": {"enum": ["ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod"]},
                            },
                        },
                        "cpu": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "cores": {"type": "integer", "minimum": 1},
                                "sockets": {"type": "integer", "minimum": 1},
                                "threads": {"type": "integer", "minimum": 1},
                                "model": {"type": "string"},
                            },
                        },
                        "memory": _QUANTITY,
                        "runStrategy": {"enum": ["Always", "RerunOnFailure", "Manual", "Halted", "Once"]},
                        "evictionStrategy": {"enum": ["None", "LiveMigrate", "LiveMigrateIfPossible", "External"]},
                        "machineType": {"type": "string"},
                        "architecture": {"enum": ["amd64", "arm64", "s390x"]},
                        "nodeSelector": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                            "description": "Node labels the VM must run on, e.g. nodes that carry the NIC or OVS "
                            "bridge.",
                        },
                    },
                },
                "cloudInit": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "sshAuthorizedKeys": {"type": "array", "items": {"type": "string", "minLength": 1}},
                        "user": {"type": "string", "pattern": r"^[a-z_][a-z0-9_-]*$"},
                    },
                },
                "kubevirt": {
                    "type": "object",
                    "additionalProperties": False,
                    "description": "Where the KubeVirt CR lives.",
                    "properties": {"namespace": _NAME, "name": _NAME},
                },
                "spiderpool": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "namespace": {
                            **_NAME,
                            "description": "Where SpiderPool runs (its SpiderMultusConfigs).",
                        },
                        "installed": {
                            "type": "boolean",
                            "description": "masquerade only: is SpiderPool there?",
                        },
                    },
                },
                "options": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "passt": {
                            "enum": list(_PASST_FLAVOURS),
                            "description": "Which passt binding to render; auto picks by KubeVirt version.",
                        },
                        "ippoolInterfaces": {"enum": [p.value for p in PoolNaming]},
                        "coordinator": {"type": "boolean"},
                    },
                },
            },
        },
    },
}

_VALIDATOR = jsonschema.Draft202012Validator(INTENT_SCHEMA)


def _describe(error: jsonschema.ValidationError) -> str:
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "additionalProperties":
        properties = schema.get("properties", {})
        instance: Any = error.instance
        extra = sorted(set(instance) - set(properties))
        allowed = ", ".join(sorted(properties))
        return f"unknown field {', '.join(repr(e) for e in extra)}; allowed here: {allowed}"
    if error.validator == "required":
        return str(error.message).replace("is a required property", "is required")
    if error.validator == "enum":
        choices = ", ".join(str(c) for c in schema.get("enum", []))
        return f"{error.instance!r} is not one of {choices}"
    if error.validator == "const":
        return f"must be {error.validator_value!r}, not {error.instance!r}"
    if error.validator == "pattern":
        hint = _PATTERN_HINTS.get(str(schema.get("pattern")), "does not have the expected form")
        return f"{error.instance!r} {hint}"
    return str(error.message)


def validate_document(doc: Document) -> None:
    """Raise one InputError for the first schema violation (the one deepest in the document)."""
    errors = sorted(_VALIDATOR.iter_errors(doc.data), key=lambda e: (-len(e.absolute_path), list(map(str, e.path))))
    if errors:
        err = errors[0]
        path = list(err.absolute_path)
        if err.validator == "required":
            path = [*path, err.message.split("'")[1]]
        elif err.validator == "additionalProperties" and isinstance(err.instance, dict):
            known = err.schema.get("properties", {}) if isinstance(err.schema, dict) else {}
            path = [*path, *sorted(set(err.instance) - set(known))[:1]]
        raise InputError(_describe(err), doc.location(path))


# --- the validated document ------------------------------------------------------------------------------------
# The conversion reads a document that passed INTENT_SCHEMA, the one description of its shape. A NIC entry is also
# built from ``virtnet new vm --nic`` flags, so its shape is a type too (total=False: a field may be left out).


class PoolDocument(TypedDict, total=False):
    """One entry of ``spec.nics[].pools``: a new SpiderIPPool (``subnet``) or an existing one (``name`` only)."""

    name: str
    subnet: str
    gateway: str
    ips: list[str]
    excludeIPs: list[str]
    ipVersion: int


class NicDocument(TypedDict, total=False):
    """One entry of ``spec.nics``."""

    name: str
    master: str
    bridge: str
    vlan: int
    network: str
    multusConfig: str
    mac: str
    pools: list[PoolDocument]


_At = Callable[..., Location]  # a path in the document → its location, for errors


def intent_from_document(doc: Document, password: str | None = None) -> Intent:
    """Validate and convert one intent document. Semantic errors name the field and its line."""
    if not isinstance(doc.data, dict):
        raise InputError("an intent must be a mapping with apiVersion, kind, metadata and spec", doc.location())
    validate_document(doc)
    data: Mapping[str, Any] = doc.data
    spec: Mapping[str, Any] = data["spec"]

    def at(*path: str | int) -> Location:
        return doc.location(path)

    mode = parse_mode(spec["mode"], at("spec", "mode"))
    kubevirt = spec.get("kubevirt", {})
    spiderpool = spec.get("spiderpool", {})
    options = spec.get("options", {})
    # the checks run in the order of the arguments: mode, CNI, versions, then the VM
    return Intent(
        name=data["metadata"]["name"],
        namespace=data["metadata"].get("namespace", DEFAULT_NAMESPACE),
        mode=mode,
        cni=parse_cni(spec["cni"], mode, at("spec", "cni")) if "cni" in spec else default_cni(mode),
        versions=_versions(spec.get("versions", {}), at),
        nics=tuple(_nic(n) for n in spec.get("nics", [])),
        vm=_vm(spec.get("vm", {}), at),
        cloud_init=_cloud_init(spec.get("cloudInit", {}), password),
        kubevirt_namespace=kubevirt.get("namespace", Intent.kubevirt_namespace),
        kubevirt_name=kubevirt.get("name", Intent.kubevirt_name),
        spiderpool_namespace=spiderpool.get("namespace", Intent.spiderpool_namespace),
        spiderpool_installed=spiderpool.get("installed", Intent.spiderpool_installed),
        passt=_PASST_FLAVOURS[options.get("passt", "auto")],
        pool_naming=PoolNaming(options.get("ippoolInterfaces", Intent.pool_naming.value)),
        coordinator=options.get("coordinator", Intent.coordinator),
    )


_VERSION_FIELDS = {Product.KUBEVIRT: "kubevirt", Product.SPIDERPOOL: "spiderpool"}


def _versions(versions: Mapping[str, str], at: _At) -> TargetVersions:
    return parse_target_versions(
        versions.get("kubevirt"),
        versions.get("spiderpool"),
        lambda product: at("spec", "versions", _VERSION_FIELDS[product]),
    )


def _vm(vm: Mapping[str, Any], at: _At) -> VmIntent:
    disk = vm.get("disk", {})
    cpu = vm.get("cpu", {})
    disk_kind = _disk_kind(disk, at)
    image = _image(vm.get("image", VmIntent.image), disk_kind, at("spec", "vm", "image"))
    node_selector = vm.get("nodeSelector", {})
    for key, value in node_selector.items():
        problem = label_key_problem(key) or label_value_problem(value)
        if problem:
            raise InputError(problem, at("spec", "vm", "nodeSelector", key))
    return VmIntent(
        image=image,
        disk=Disk(
            size=disk.get("size", Disk.size),
            storage_class=disk.get("storageClass"),
            access_mode=disk.get("accessMode", Disk.access_mode),
            kind=disk_kind,
        ),
        cpu=Cpu(
            cores=cpu.get("cores", Cpu.cores),
            sockets=cpu.get("sockets", Cpu.sockets),
            threads=cpu.get("threads", Cpu.threads),
            model=cpu.get("model"),
        ),
        memory=vm.get("memory", VmIntent.memory),
        run_strategy=vm.get("runStrategy", VmIntent.run_strategy),
        eviction_strategy=vm.get("evictionStrategy"),
        machine_type=vm.get("machineType", VmIntent.machine_type),
        architecture=vm.get("architecture"),
        node_selector=tuple(node_selector.items()),
    )


def _cloud_init(cloud_init: Mapping[str, Any], password: str | None) -> CloudInitIntent:
    return CloudInitIntent(
        ssh_authorized_keys=tuple(k.strip() for k in cloud_init.get("sshAuthorizedKeys", [])),
        user=cloud_init.get("user"),
        password=password,
    )


_DATA_VOLUME_FIELDS = ("size", "storageClass", "accessMode")


def _disk_kind(disk: Mapping[str, Any], at: _At) -> DiskKind:
    """``type``, else dataVolume (what intent files without a type have always rendered: a persistent disk).
    ``virtnet new vm`` writes the type it chose, containerDisk unless a DataVolume flag is given."""
    given = [f for f in _DATA_VOLUME_FIELDS if f in disk]
    kind = DiskKind(disk.get("type", DiskKind.DATA_VOLUME.value))
    if kind is DiskKind.CONTAINER_DISK and given:
        raise InputError(
            "this is a DataVolume setting, but type: containerDisk has none (the disk is the image itself); remove "
            "it or set type: dataVolume",
            at("spec", "vm", "disk", given[0]),
        )
    return kind


def _image(image: str, kind: DiskKind, location: Location) -> str:
    """A DataVolume's registry URL (``docker://`` added) or a containerDisk's image reference (no scheme)."""
    scheme, sep, rest = image.partition("://")
    if kind is DiskKind.DATA_VOLUME:
        return image if sep else f"docker://{image}"
    if not sep:
        return image
    if scheme != "docker" or not rest:
        raise InputError(
            f"'{image}' is not a container image; a containerDisk runs an image such as "
            f"{DEFAULT_IMAGE} (use type: dataVolume for other sources)",
            location,
        )
    return rest


def _nic(nic: NicDocument) -> NicIntent:
    return NicIntent(
        name=nic.get("name"),
        master=nic.get("master"),
        bridge=nic.get("bridge"),
        vlan=nic.get("vlan"),
        network=nic.get("network"),
        multus_config=nic.get("multusConfig"),
        mac=nic.get("mac"),
        pools=tuple(_pool(p) for p in nic.get("pools", [])),
    )


def _pool(pool: PoolDocument) -> PoolIntent:
    return PoolIntent(
        name=pool.get("name"),
        subnet=pool.get("subnet"),
        gateway=pool.get("gateway"),
        ips=tuple(pool.get("ips", [])),
        exclude_ips=tuple(pool.get("excludeIPs", [])),
        ip_version=pool.get("ipVersion", PoolIntent.ip_version),
    )


def load_intent(text: str, source: str, password: str | None = None) -> tuple[Intent, Document]:
    """The single intent in ``text``; more or fewer documents is an error naming the file."""
    docs = load_documents(text, source)
    if len(docs) != 1:
        raise InputError(f"expected exactly one intent document, found {len(docs)}", Location(file=source))
    return intent_from_document(docs[0], password), docs[0]


def intent_document(
    *,
    name: str,
    namespace: str | None,
    mode: str,
    cni: str | None,
    nics: Sequence[Mapping[str, Any]],
    vm: Mapping[str, Any],
    cloud_init: Mapping[str, Any],
    versions: Mapping[str, str],
    options: Mapping[str, Any],
    spiderpool: Mapping[str, Any],
    kubevirt: Mapping[str, Any],
) -> dict[str, Any]:
    """The intent document that ``virtnet new vm`` flags describe (empty parts left out)."""
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    spec: dict[str, Any] = {"mode": mode}
    for key, value in (
        ("cni", cni),
        ("versions", dict(versions)),
        ("nics", [dict(n) for n in nics]),
        ("vm", dict(vm)),
        ("cloudInit", dict(cloud_init)),
        ("kubevirt", dict(kubevirt)),
        ("spiderpool", dict(spiderpool)),
        ("options", dict(options)),
    ):
        if value:
            spec[key] = value
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}


__all__ = ["API_VERSION", "INTENT_SCHEMA", "KIND", "format_path", "intent_from_document", "load_intent"]
