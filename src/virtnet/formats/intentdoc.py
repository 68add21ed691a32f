"""Intent documents made from values rather than read from a file: the document ``virtnet new vm`` and ``virtnet set
network`` flags describe (:class:`IntentValues`), a file's one document (:func:`single_document`) with its versions
replaced (:func:`with_versions`), and the SSH public keys of ``cloudInit.sshAuthorizedKeys``
(:func:`parse_public_keys`).

Each document then goes through the same JSON Schema and conversion as an intent file
(:func:`virtnet.formats.intent.intent_from_document`): a flag and a field cannot behave differently.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from virtnet.errors import InputError, Location
from virtnet.formats.intent import NicDocument, intent_document, intent_from_document
from virtnet.formats.yamlio import Document
from virtnet.model.intent import Intent

# The source of an intent document built from values: errors about it name no file (the CLI names the flags).
FLAGS_SOURCE = "<flags>"


@dataclass(frozen=True)
class VmValues:
    """``spec.vm``: what is None (or 0, or empty) is left out and takes the intent's default."""

    disk_kind: str | None = None  # containerdisk | datavolume; None: datavolume when a DataVolume setting is given
    image: str | None = None
    disk_size: str | None = None
    storage_class: str | None = None
    access_mode: str | None = None
    node_selector: tuple[str, ...] = ()  # KEY=VALUE labels
    cpu_cores: int | None = None
    sockets: int | None = None
    threads: int | None = None
    cpu_model: str | None = None
    memory: str | None = None
    run_strategy: str | None = None
    eviction_strategy: str | None = None

    def document(self) -> dict[str, Any]:
        vm: dict[str, Any] = _present(
            image=self.image,
            memory=self.memory,
            runStrategy=self.run_strategy,
            evictionStrategy=self.eviction_strategy,
        )
        data_volume = _present(size=self.disk_size, storageClass=self.storage_class, accessMode=self.access_mode)
        # a quick start needs no CDI: containerDisk unless a DataVolume is asked for (intent files without a type
        # keep their DataVolume)
        kind = self.disk_kind or ("datavolume" if data_volume else "containerdisk")
        vm["disk"] = {"type": "dataVolume" if kind == "datavolume" else "containerDisk", **data_volume}
        if self.node_selector:
            vm["nodeSelector"] = _labels(self.node_selector)
        cpu = _present(cores=self.cpu_cores, sockets=self.sockets, threads=self.threads, model=self.cpu_model)
        if cpu:
            vm["cpu"] = cpu
        return vm


def _labels(texts: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` texts → the labels; a key given twice is an error."""
    where = Location(path="spec.vm.nodeSelector")
    labels: dict[str, str] = {}
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep:
            raise InputError(f"'{text}' is not KEY=VALUE", where)
        if key.strip() in labels:
            raise InputError(f"label '{key.strip()}' is given twice", where)
        labels[key.strip()] = value.strip()
    return labels


@dataclass(frozen=True)
class IntentValues:
    """An intent document's values; :meth:`document` leaves out what is not set (the intent's defaults apply)."""

    name: str
    namespace: str | None
    mode: str
    cni: str | None = None
    nics: tuple[NicDocument, ...] = ()
    vm: VmValues | None = None
    ssh_authorized_keys: tuple[str, ...] = ()
    user: str | None = None
    kubevirt_version: str | None = None  # '' is kept: an error naming the version, not "the default"
    spiderpool_version: str | None = None
    passt: str | None = None
    ippool_interfaces: str | None = None
    coordinator: bool = True
    spiderpool_namespace: str | None = None
    spiderpool_installed: bool = True
    kubevirt_namespace: str | None = None
    kubevirt_name: str | None = None

    def document(self) -> dict[str, Any]:
        options: dict[str, Any] = _present(passt=self.passt, ippoolInterfaces=self.ippool_interfaces)
        if not self.coordinator:
            options["coordinator"] = False
        spiderpool: dict[str, Any] = _present(namespace=self.spiderpool_namespace)
        if not self.spiderpool_installed:
            spiderpool["installed"] = False
        versions = {
            key: value
            for key, value in (("kubevirt", self.kubevirt_version), ("spiderpool", self.spiderpool_version))
            if value is not None
        }
        return intent_document(
            name=self.name,
            namespace=self.namespace,
            mode=self.mode,
            cni=self.cni,
            nics=[dict(nic) for nic in self.nics],
            vm=self.vm.document() if self.vm is not None else {},
            cloud_init=_present(sshAuthorizedKeys=list(self.ssh_authorized_keys), user=self.user),
            versions=versions,
            options=options,
            spiderpool=spiderpool,
            kubevirt=_present(namespace=self.kubevirt_namespace, name=self.kubevirt_name),
        )

    def intent(self, password: str | None = None) -> Intent:
        """Validated and converted exactly as an intent file's document."""
        return intent_from_document(Document(data=self.document(), source=FLAGS_SOURCE, index=0), password)


def _present(**values: Any) -> dict[str, Any]:
    """The values that are set (not None, 0, '' or empty), in the given order."""
    return {key: value for key, value in values.items() if value}


def with_versions(doc: Document, kubevirt: str | None, spiderpool: str | None) -> Document:
    """``doc`` (an intent document) with ``spec.versions`` set to the versions given (None keeps the document's);
    the document's positions still locate its fields."""
    if not isinstance(doc.data, dict) or (kubevirt is None and spiderpool is None):
        return doc
    data = copy.deepcopy(doc.data)
    spec = data.setdefault("spec", {})
    if isinstance(spec, dict):
        versions = spec.setdefault("versions", {})
        if isinstance(versions, dict):
            if kubevirt is not None:
                versions["kubevirt"] = kubevirt
            if spiderpool is not None:
                versions["spiderpool"] = spiderpool
    return Document(data, doc.source, doc.index, recompose=lambda: doc.positions)


def single_document(documents: Sequence[Document], source: str) -> Document:
    """The one document of an intent file; more or fewer is an error naming the file."""
    if len(documents) != 1:
        raise InputError(f"expected exactly one intent document, found {len(documents)}", Location(file=source))
    return documents[0]


# An OpenSSH public key line: key type, then the base64 key (then an optional comment).
_PUBLIC_KEY = re.compile(r"^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-\S+|sk-\S+@openssh\.com)\s+\S+")


def parse_public_keys(text: str, where: Location) -> list[str]:
    """The OpenSSH public keys of ``text`` (one a line; blank lines and ``#`` comments skipped). A private key, a
    line that is no public key, or no key at all is an error at ``where`` (a bad key: with its number among the
    keys as the line)."""
    if "PRIVATE KEY" in text:
        raise InputError("this is a private key; pass the public key (the .pub file) instead", where)
    keys = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    for number, key in enumerate(keys, start=1):
        if not _PUBLIC_KEY.match(key):
            raise InputError(
                "not an OpenSSH public key (expected 'ssh-ed25519 AAAA…' or similar)", replace(where, line=number)
            )
    if not keys:
        raise InputError("the file holds no SSH public key", where)
    return keys
