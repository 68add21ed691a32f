"""`virtnet set network` on a live cluster, the decisions: which fields of the VM virtnet applies (and so owns),
which of them another field manager owns, and how the few fields virtnet must remove are removed.

Pure (dicts in, values out): :mod:`virtnet.cluster.setnetwork_run` does the requests.

Server-side apply makes the applier the owner of every field in its body. virtnet's body for the VM therefore holds
only what the edit needs to own (and what virtnet owns already, so a rerun never drops it):

- ``spec.template.spec.networks`` and ``spec.template.spec.domain.devices.interfaces`` — KubeVirt's CRD declares no
  ``x-kubernetes-list-type`` for them (checked in the v1.0.1 … v1.9.0 VirtualMachine schemas), so each list is
  *atomic*: one field, owned whole; changing one NIC means owning the list;
- ``spec.template.spec.volumes`` — atomic too — only when networkData changes inline;
- the network annotations of the template that the result sets (a map: each key is its own field).

Another manager owning one of those fields with a different value is a conflict: the server refuses the apply
(409) unless it is forced. virtnet finds the conflicts before writing anything (from ``metadata.managedFields``) and
says which manager owns what; ``--force-conflicts`` takes over exactly those fields and nothing else.

An annotation the result drops (e.g. ``v1.multus-cni.io/default-network`` when moving to bridge) disappears with
an apply only if virtnet alone owns it; otherwise it is removed by a JSON patch guarded by a ``test`` of its value —
only with ``--force-conflicts`` when another manager owns it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from virtnet.cluster.apply import SERVER_METADATA
from virtnet.cluster.facts import Facts
from virtnet.cluster.versions import ChosenVersions
from virtnet.formats.intentdoc import IntentValues
from virtnet.model.manifest import as_map as _map
from virtnet.model.manifest import metadata_of
from virtnet.render.setnetwork import NETWORK_ANNOTATIONS, Edit

MANAGER = "virtnet"
Path = tuple[str, ...]
ANNOTATIONS: Path = ("spec", "template", "metadata", "annotations")
NETWORKS: Path = ("spec", "template", "spec", "networks")
INTERFACES: Path = ("spec", "template", "spec", "domain", "devices", "interfaces")
VOLUMES: Path = ("spec", "template", "spec", "volumes")
ATOMIC_NOTE = (
    "networks, interfaces and volumes are atomic lists in KubeVirt's VirtualMachine schema (no "
    "x-kubernetes-list-type): whoever changes one entry owns the whole list"
)


def get_path(obj: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(obj, Mapping) or key not in obj:
            return None
        obj = obj[key]
    return obj


def set_path(obj: dict[str, Any], path: Sequence[str], value: Any) -> None:
    for key in path[:-1]:
        obj = obj.setdefault(key, {})
    obj[path[-1]] = value


def format_path(path: Sequence[str]) -> str:
    return "".join(f".{p}" for p in path)


# --- the target ----------------------------------------------------------------------------------------------------


def on_cluster(target: IntentValues, namespace: str, versions: ChosenVersions, facts: Facts) -> IntentValues:
    """The target (what the flags say) on this cluster: in the VM's namespace, for the versions chosen, with
    SpiderPool's namespace and the KubeVirt CR found there unless the flags name them, and without SpiderPool when
    the cluster has none."""
    spiderpool_namespace = target.spiderpool_namespace or metadata_of(facts.spiderpool_deployment).get("namespace")
    kubevirt_namespace, kubevirt_name = target.kubevirt_namespace, None
    cr = metadata_of(facts.kubevirt_cr)
    if not kubevirt_namespace and cr.get("name"):
        kubevirt_namespace, kubevirt_name = str(cr["namespace"]), str(cr["name"])
    return replace(
        target,
        namespace=namespace,
        kubevirt_version=versions.kubevirt.version,
        spiderpool_version=versions.spiderpool.version,
        spiderpool_namespace=spiderpool_namespace,
        spiderpool_installed=target.spiderpool_installed and facts.spiderpool_installed,
        kubevirt_namespace=kubevirt_namespace,
        kubevirt_name=kubevirt_name,
    )


def without_server_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``obj`` as a user would write it: no status, no server-owned metadata (for diffs and printed objects)."""
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = dict(out.get("metadata") or {})
    for key in SERVER_METADATA:
        meta.pop(key, None)
    out["metadata"] = meta
    return out


# --- managedFields -------------------------------------------------------------------------------------------------


def owners(managed_fields: Any, path: Sequence[str]) -> list[str]:
    """The field managers that own ``path`` (a map path) or an atomic ancestor of it."""
    found: list[str] = []
    for entry in managed_fields if isinstance(managed_fields, list) else []:
        entry = _map(entry)
        node: Any = _map(entry.get("fieldsV1"))
        owned = False
        for key in path:
            child = _map(node).get(f"f:{key}")
            if child is None:
                break
            if not _children(child):  # a leaf: the whole value at this path is owned
                owned = True
                break
            node = child
        else:
            owned = True
        manager = str(entry.get("manager") or "")
        if owned and manager and manager not in found:
            found.append(manager)
    return found


def _children(node: Any) -> dict[str, Any]:
    return {k: v for k, v in _map(node).items() if k != "."}


def owned_by(managed_fields: Any, manager: str = MANAGER) -> dict[str, Any]:
    """The union of the field sets ``manager`` owns through server-side apply."""
    trie: dict[str, Any] = {}
    for entry in managed_fields if isinstance(managed_fields, list) else []:
        entry = _map(entry)
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            _merge_trie(trie, _map(entry.get("fieldsV1")))
    return trie


def _merge_trie(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    for key, value in other.items():
        _merge_trie(into.setdefault(key, {}), _map(value))


def extract(value: Any, trie: Mapping[str, Any]) -> Any:
    """The part of ``value`` the field set ``trie`` describes (client-go's ExtractInto, for plain values)."""
    children = _children(trie)
    if not children:
        if "." in trie and isinstance(value, dict):
            return {}
        return copy.deepcopy(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, sub in children.items():
            if key.startswith("f:") and key[2:] in value:
                out[key[2:]] = extract(value[key[2:]], _map(sub))
        return out
    if isinstance(value, list):
        items: list[Any] = []
        for key, sub in children.items():
            if key.startswith("k:"):
                keys = json.loads(key[2:])
                for item in value:
                    if isinstance(item, Mapping) and all(item.get(k) == v for k, v in keys.items()):
                        part = extract(item, _map(sub))
                        items.append({**keys, **part} if isinstance(part, dict) else part)
            elif key.startswith("v:"):
                wanted = json.loads(key[2:])
                if wanted in value:
                    items.append(wanted)
            elif key.startswith("i:"):
                index = int(key[2:])
                if index < len(value):
                    items.append(extract(value[index], _map(sub)))
        return items
    return copy.deepcopy(value)


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if key in base and isinstance(base[key], dict) and isinstance(value, Mapping):
            _deep_merge(base[key], value)
        elif key not in base:
            base[key] = copy.deepcopy(value)


# --- the VM's apply body -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    manager: str
    path: str
    action: str  # "change" | "remove"

    def to_dict(self) -> dict[str, str]:
        return {"manager": self.manager, "field": self.path, "action": self.action}


@dataclass(frozen=True)
class Removal:
    """An annotation to remove with a JSON patch (test + remove)."""

    key: str
    value: Any
    owners: tuple[str, ...]

    def operations(self) -> list[dict[str, Any]]:
        pointer = "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in (*ANNOTATIONS, self.key))
        return [{"op": "test", "path": pointer, "value": self.value}, {"op": "remove", "path": pointer}]


@dataclass(frozen=True)
class VmWrite:
    """What virtnet writes to the VM: the apply body, the removals, and the conflicts with other managers."""

    body: dict[str, Any]
    fields: tuple[str, ...]  # the fields virtnet takes (co-)ownership of
    removals: tuple[Removal, ...]
    conflicts: tuple[Conflict, ...]


def required_paths(edit: Edit) -> list[Path]:
    """The fields the edit needs virtnet to own: the network annotations the result sets, networks, interfaces, and
    volumes when networkData changes inline."""
    paths: list[Path] = [NETWORKS, INTERFACES]
    annotations = _map(get_path(edit.vm, ANNOTATIONS))
    paths += [(*ANNOTATIONS, key) for key in NETWORK_ANNOTATIONS if key in annotations]
    if any(nd.secret is None and nd.new is not None for nd in edit.network_data):
        paths.append(VOLUMES)
    return paths


def vm_write(live: Mapping[str, Any], edit: Edit, manager: str = MANAGER) -> VmWrite:
    """The apply body for ``edit`` of the ``live`` VM, and the conflicts it would meet."""
    meta = _map(live.get("metadata"))
    managed = meta.get("managedFields")
    body: dict[str, Any] = {
        "apiVersion": live.get("apiVersion"),
        "kind": live.get("kind"),
        "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")},
    }
    paths = required_paths(edit)
    for path in paths:
        value = get_path(edit.vm, path)
        if value is not None:
            set_path(body, path, copy.deepcopy(value))
    trie = owned_by(managed, manager)
    already = extract(edit.vm, trie) if trie else {}  # keep owning what virtnet owns (a rerun drops nothing)
    if isinstance(already, Mapping):
        already = dict(already)
        already.pop("status", None)
        already_meta = dict(_map(already.pop("metadata", {})))
        for key in ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"):
            already_meta.pop(key, None)
        _deep_merge(body["metadata"], already_meta)
        _deep_merge(body, already)
    conflicts: list[Conflict] = []
    for path in paths:
        if get_path(live, path) == get_path(edit.vm, path):
            continue
        for owner in owners(managed, path):
            if owner != manager:
                conflicts.append(Conflict(owner, format_path(path), "change"))
    removals: list[Removal] = []
    live_annotations = _map(get_path(live, ANNOTATIONS))
    new_annotations = _map(get_path(edit.vm, ANNOTATIONS))
    for key in NETWORK_ANNOTATIONS:
        if key in live_annotations and key not in new_annotations:
            who = owners(managed, (*ANNOTATIONS, key))
            others = tuple(o for o in who if o != manager)
            if who == [manager]:
                continue  # omitted from virtnet's apply: the server removes it
            removals.append(Removal(key, live_annotations[key], others))
            conflicts.extend(Conflict(o, format_path((*ANNOTATIONS, key)), "remove") for o in others)
    fields = tuple(format_path(p) for p in paths if get_path(edit.vm, p) is not None)
    return VmWrite(body, fields, tuple(removals), tuple(conflicts))


def secret_write(live: Mapping[str, Any] | None, edited: Mapping[str, Any], manager: str = MANAGER) -> VmWrite:
    """The apply body for a cloud-init Secret whose networkData key changes (``data`` is a map: one key owned)."""
    meta = _map(edited.get("metadata"))
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")},
    }
    paths: list[Path] = []
    for section in ("data", "stringData"):
        for key in ("networkdata", "networkData"):
            value = _map(edited.get(section)).get(key)
            if isinstance(value, str) and value != _map(_map(live).get(section)).get(key):
                set_path(body, (section, key), value)
                paths.append(("data", key))
    managed = _map(_map(live).get("metadata")).get("managedFields")
    trie = owned_by(managed, manager)
    already = extract(edited, trie) if trie else {}
    if isinstance(already, Mapping):
        for section in ("data", "stringData"):
            for key, value in _map(already.get(section)).items():
                body.setdefault(section, {}).setdefault(key, value)
    conflicts = [
        Conflict(owner, format_path(path), "change")
        for path in paths
        for owner in owners(managed, path)
        if owner != manager
    ]
    return VmWrite(body, tuple(format_path(p) for p in paths), (), tuple(conflicts))


def explain(conflicts: Sequence[Conflict], ref: str) -> tuple[str, str]:
    """One sentence on who owns what, and the hint."""
    by_manager: dict[str, list[str]] = {}
    for c in conflicts:
        by_manager.setdefault(c.manager, []).append(f"{c.path}{' (to remove)' if c.action == 'remove' else ''}")
    said = "; ".join(f"field manager {m!r} owns {', '.join(paths)}" for m, paths in by_manager.items())
    managers = ", ".join(repr(m) for m in by_manager)
    message = (
        f"{ref}: conflict: {said}, and the edit changes {'them' if len(conflicts) > 1 else 'it'} ({ATOMIC_NOTE}); "
        "nothing was written"
    )
    hint = (
        f"make the change where {managers} keeps this VM (e.g. the file kubectl applies or the GitOps repository: "
        "`virtnet set network -f FILE --local …` edits it), or take over exactly these fields with --force-conflicts "
        f"({managers} keeps every other field, and may put these back the next time it applies)"
    )
    return message, hint
