"""`virtnet set network -f FILE --local`, the edit of a file: every VirtualMachine of the file (or the one named)
moved to the target, with what the file holds (SpiderIPPools, SpiderMultusConfigs, NADs, the KubeVirt CR, Secrets)
as all that is known of the cluster. The file keeps its comments and layout: only the edited fields change.

Pure (text in; the edited text, diffs and edits out); no cluster is contacted. Versions: the flags, else what the
file's objects say (the lint context's detection), else the newest supported.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from virtnet.errors import InputError, Location
from virtnet.formats import roundtrip
from virtnet.formats.intentdoc import IntentValues
from virtnet.formats.yamlio import Document, dump_yaml, load_documents
from virtnet.lint.context import LintContext
from virtnet.lint.engine import objects_of
from virtnet.model.manifest import metadata_of
from virtnet.render.setnetwork import Context, Edit, edit_vm

Obj = dict[str, Any]

# The kinds the edit reuses or checks against, by the Context field that holds them.
_CONTEXT_KINDS = {
    "SpiderIPPool": "pools",
    "SpiderMultusConfig": "multus_configs",
    "NetworkAttachmentDefinition": "nads",
}


@dataclass
class FileEdit:
    """The edits of the file's VMs, the file's documents with them, and what the target needs besides."""

    text: str  # the file as read
    documents: list[Any]  # round-trip nodes when ``aligned`` (comments kept), else plain values
    aligned: bool
    versions_from: str
    edits: list[Edit] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)  # unified diffs, one per changed document
    extra: list[Obj] = field(default_factory=list)  # pools, SpiderMultusConfigs, NADs, KubeVirt CR change

    @property
    def refused(self) -> bool:
        return any(edit.refusals for edit in self.edits)

    def yaml(self) -> str:
        """The edited file: its YAML stream, formatted and commented as it was."""
        if self.aligned:
            return roundtrip.dump_all(self.documents, self.text)
        return "".join(f"---\n{dump_yaml(d)}" for d in self.documents)

    def plain(self) -> list[Any]:
        """The edited file's documents as plain values."""
        return [roundtrip.plain(d) if self.aligned else d for d in self.documents]


@dataclass(frozen=True)
class _Known:
    """What the file holds besides its VMs."""

    found: dict[str, list[Obj]]  # by Context field
    kubevirt: Obj | None
    secrets: dict[tuple[str, str], tuple[int, Obj]]  # (namespace, name) → (document index, Secret)

    def context(self, namespace: str, update_secret: bool) -> Context:
        return Context(
            pools=tuple(self.found["pools"]),
            multus_configs=tuple(self.found["multus_configs"]),
            nads=tuple(self.found["nads"]),
            kubevirt=self.kubevirt,
            secrets={name: data for (ns, name), (_, data) in self.secrets.items() if ns == namespace},
            update_secret=update_secret,
        )


def _known(documents: Sequence[Document], default_namespace: str) -> _Known:
    found: dict[str, list[Obj]] = {name: [] for name in _CONTEXT_KINDS.values()}
    kubevirt: Obj | None = None
    secrets: dict[tuple[str, str], tuple[int, Obj]] = {}
    for i, d in enumerate(documents):
        data = d.data if isinstance(d.data, dict) else {}
        kind = data.get("kind")
        if kind in _CONTEXT_KINDS:
            obj = copy.deepcopy(data)
            obj.setdefault("metadata", {})
            if kind != "SpiderIPPool":
                obj["metadata"].setdefault("namespace", default_namespace)
            found[_CONTEXT_KINDS[str(kind)]].append(obj)
        elif kind == "KubeVirt" and kubevirt is None:
            kubevirt = data
        elif kind == "Secret":
            meta = data.get("metadata") or {}
            secrets[(str(meta.get("namespace") or default_namespace), str(meta.get("name")))] = (i, data)
    return _Known(found, kubevirt, secrets)


def edit_file(
    text: str,
    source: str,
    target: IntentValues,
    *,
    vm_name: str | None = None,
    namespace: str | None = None,
    kubevirt: str | None = None,
    spiderpool: str | None = None,
    update_secret: bool = False,
) -> FileEdit:
    """Edit every VirtualMachine of ``text`` (or the one named ``vm_name``) for ``target``. ``namespace``: of
    objects that name none (default: default). An error in the target (the flags' fault) is an
    :class:`~virtnet.errors.InputError` about a field of its intent; a file without the VM, one naming the file."""
    documents = load_documents(text, source)
    nodes = roundtrip.load_all(text, source)
    aligned = len(nodes) == len(documents)
    default_namespace = namespace or "default"
    objects = objects_of(documents, default_namespace)
    vms = [
        (i, d)
        for i, d in enumerate(documents)
        if isinstance(d.data, dict)
        and d.data.get("kind") == "VirtualMachine"
        and (vm_name is None or (d.data.get("metadata") or {}).get("name") == vm_name)
    ]
    if not vms:
        what = f"VirtualMachine {vm_name}" if vm_name else "VirtualMachine"
        raise InputError(f"the file holds no {what}", Location(file=source))
    lint_context = LintContext.build(objects, kubevirt, spiderpool)
    versions = lint_context.versions
    known = _known(documents, default_namespace)
    result = FileEdit(
        text,
        list(nodes) if aligned else [d.data for d in documents],
        aligned,
        lint_context.versions_from,
    )
    for index, doc in vms:
        vm = doc.data
        vm_namespace = str((vm.get("metadata") or {}).get("namespace") or default_namespace)
        values = replace(
            target,
            namespace=vm_namespace,
            kubevirt_version=str(versions.kubevirt),
            spiderpool_version=str(versions.spiderpool),
        )
        edit = edit_vm(vm, values.intent(), known.context(vm_namespace, update_secret))
        result.edits.append(edit)
        for secret in edit.secrets:
            meta = metadata_of(secret)
            secret_index = known.secrets[(str(meta.get("namespace") or vm_namespace), str(meta.get("name")))][0]
            result.diffs.append(_sync(result, secret_index, secret, f"{source} (Secret {meta.get('name')})"))
        result.diffs.append(_sync(result, index, edit.vm, f"{source} ({edit.ref})"))
        for obj in edit.objects:
            if obj not in result.extra:
                result.extra.append(obj)
    return result


def _sync(result: FileEdit, index: int, new: Mapping[str, Any], label: str) -> str:
    """Put ``new`` in place of document ``index`` (changing only what differs); the unified diff."""
    documents = result.documents
    if result.aligned:
        before = roundtrip.dump_one(documents[index], result.text)
        documents[index] = roundtrip.sync(documents[index], new)
        after = roundtrip.dump_one(documents[index], result.text)
    else:
        before, after = dump_yaml(documents[index]), dump_yaml(dict(new))
        documents[index] = dict(new)
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{label}", f"b/{label}"))
