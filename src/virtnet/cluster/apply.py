"""`virtnet apply`, the decisions: in which order objects go to the cluster, whether each one would be created,
configured or left unchanged, how the KubeVirt CR change is merged, what to tell the HyperConverged operator, and
which IP a started VM got from where.

Everything here is pure (dicts in, values out) so an admission webhook or a controller can reuse it;
:mod:`virtnet.cluster.apply_run` does the requests.

Order (each object waits for what it refers to):

1. Namespaces.
2. SpiderIPPools — a SpiderMultusConfig's ``ippools`` and a VM's ``ipam.spidernet.io/ippools`` name them.
3. SpiderMultusConfigs, then a **wait** until SpiderPool's controller has generated each one's
   NetworkAttachmentDefinition: same namespace, named after annotation ``multus.spidernet.io/cr-name`` else after
   the SpiderMultusConfig (SP@v1.2.2:pkg/multuscniconfig/multusconfig_informer.go ``generateNetAttachDef``).
4. NetworkAttachmentDefinitions of the input (binding-plugin NADs such as ``default/netbindingpasst``, others).
5. The KubeVirt CR change: read, add what is missing, write back with the resourceVersion that was read.
6. Anything else in the input.
7. Secrets (cloud-init), then 8. VirtualMachines, which reference all of the above.
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Literal

from virtnet.errors import ClusterError, InputError, Location
from virtnet.lint.spiderpool import pool_annotations
from virtnet.model import annotations as keys
from virtnet.model.capabilities import pod_interface_name
from virtnet.model.ippool import PoolSpec
from virtnet.model.manifest import ObjectRef
from virtnet.model.manifest import as_list as _list
from virtnet.model.manifest import as_map as _map
from virtnet.model.versions import SPIDERPOOL
from virtnet.render.bundle import PATCH_TYPE_ANNOTATION, REASON_ANNOTATION

Obj = dict[str, Any]
Action = Literal["created", "configured", "unchanged"]
DryRun = Literal["none", "client", "server"]

NAD_API_VERSION = "k8s.cni.cncf.io/v1"
NAD_KIND = "NetworkAttachmentDefinition"
SPIDERPOOL_GROUP = "spiderpool.spidernet.io"
KUBEVIRT_GROUP = "kubevirt.io"
# virtnet's explanations in rendered bundles (the KubeVirt CR change): never written to a live object
EXPLANATIONS = frozenset({PATCH_TYPE_ANNOTATION, REASON_ANNOTATION})
# metadata a client must not send in an apply body (the server owns it; managedFields must be empty in an apply)
SERVER_METADATA = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")

# HyperConverged (kubevirt/hyperconverged-cluster-operator) — how HCO takes KubeVirt changes:
# - arbitrary KubeVirt CR fields, incl. developerConfiguration.featureGates: the annotation
#   ``kubevirt.kubevirt.io/jsonpatch`` on the HyperConverged CR, an RFC 6902 array applied to the KubeVirt CR on
#   every reconcile (HCO:docs/cluster-configuration.md "jsonpatch Annotations", example "Kubevirt Feature Gates");
# - binding-plugin registrations: ``HyperConverged.spec.networkBinding`` (map name → InterfaceBindingPlugin), copied
#   as a whole into ``KubeVirt.spec.configuration.network.binding`` (HCO:api/v1beta1/hyperconverged_types.go
#   ``NetworkBinding``; controllers/operands/kubevirt.go ``getNetworkBindings(hc.Spec.NetworkBinding)``).
HCO_JSONPATCH_ANNOTATION = "kubevirt.kubevirt.io/jsonpatch"
HCO_API_VERSION = "hco.kubevirt.io/v1beta1"
HCO_DEFAULT_NAME = "kubevirt-hyperconverged"

FEATURE_GATES_PATH = ("spec", "configuration", "developerConfiguration", "featureGates")
DISABLED_GATES_PATH = ("spec", "configuration", "developerConfiguration", "disabledFeatureGates")
BINDINGS_PATH = ("spec", "configuration", "network", "binding")


# --- identity ------------------------------------------------------------------------------------------------------


# ``Ref``: which object (apiVersion, kind, namespace or None when cluster-scoped, name): model.manifest.ObjectRef
Ref = ObjectRef


# --- order ---------------------------------------------------------------------------------------------------------


class Phase(IntEnum):
    NAMESPACE = 0
    POOL = 1
    MULTUS_CONFIG = 2
    NAD_WAIT = 3
    NAD = 4
    KUBEVIRT = 5
    OTHER = 6
    SECRET = 7
    VM = 8


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def phase_of(obj: Mapping[str, Any]) -> Phase:
    kind = str(obj.get("kind", ""))
    group = group_of(str(obj.get("apiVersion", "")))
    if kind == "Namespace" and group == "":
        return Phase.NAMESPACE
    if group == SPIDERPOOL_GROUP and kind == "SpiderIPPool":
        return Phase.POOL
    if group == SPIDERPOOL_GROUP and kind == "SpiderMultusConfig":
        return Phase.MULTUS_CONFIG
    if group == group_of(NAD_API_VERSION) and kind == NAD_KIND:
        return Phase.NAD
    if group == KUBEVIRT_GROUP and kind == "KubeVirt":
        return Phase.KUBEVIRT
    if kind == "Secret" and group == "":
        return Phase.SECRET
    if group == KUBEVIRT_GROUP and kind == "VirtualMachine":
        return Phase.VM
    return Phase.OTHER


@dataclass(frozen=True)
class Item:
    """One input object: the manifest, its identity, and where it came from (for error messages)."""

    obj: Obj
    ref: Ref
    location: Location = field(default_factory=Location)


@dataclass(frozen=True)
class Step:
    """What the executor does, in order: apply an object, merge the KubeVirt change, or wait for a NAD."""

    op: Literal["apply", "kubevirt", "wait-nad"]
    ref: Ref
    obj: Obj | None = None  # the desired object (apply, kubevirt)
    owner: Ref | None = None  # wait-nad: the SpiderMultusConfig whose controller makes the NAD


def nad_of_multus_config(smc: Ref, obj: Mapping[str, Any]) -> Ref:
    """The NAD SpiderPool generates for a SpiderMultusConfig: annotation ``multus.spidernet.io/cr-name`` else the
    SpiderMultusConfig's name, in its namespace (SP@v1.2.2:pkg/multuscniconfig/multusconfig_informer.go)."""
    annotations = _map(_map(obj.get("metadata")).get("annotations"))
    name = annotations.get(keys.CR_NAME)
    return Ref(NAD_API_VERSION, NAD_KIND, smc.namespace, name if isinstance(name, str) and name else smc.name)


def require_identity(obj: Mapping[str, Any], location: Location) -> None:
    """apiVersion, kind and metadata.name, which apply needs to converge (exit 2 naming the field otherwise)."""
    for key in ("apiVersion", "kind"):
        value = obj.get(key)
        if not isinstance(value, str) or not value:
            raise InputError(f"an object to apply needs {key}", _at(location, key))
    meta = _map(obj.get("metadata"))
    if not isinstance(meta.get("name"), str) or not meta.get("name"):
        why = (
            "apply needs metadata.name (generateName cannot converge)"
            if meta.get("generateName")
            else ("needs metadata.name")
        )
        raise InputError(f"{obj.get('kind')}: {why}", _at(location, "metadata.name"))


def check_items(items: Sequence[Item]) -> None:
    """Refuse (exit 2) what cannot be applied: no objects, a missing identity, the same object twice."""
    if not items:
        raise InputError("the input holds no Kubernetes objects (documents with apiVersion, kind and metadata.name)")
    seen: dict[Ref, Item] = {}
    for item in items:
        require_identity(item.obj, item.location)
        first = seen.get(item.ref)
        if first is not None:
            where = first.location.render() or "earlier"
            raise InputError(f"{item.ref} appears twice in the input (first at {where})", item.location)
        seen[item.ref] = item


def _at(location: Location, path: str) -> Location:
    base = location.path
    return Location(
        location.file, location.document, f"{base}.{path}" if base else path, location.line, location.column
    )


def plan(items: Sequence[Item]) -> list[Step]:
    """The steps in dependency order; objects of one phase keep their input order."""
    check_items(items)
    ordered = sorted(items, key=lambda it: phase_of(it.obj))  # sorted() is stable
    steps: list[Step] = []
    waits: list[Step] = []
    for item in ordered:
        phase = phase_of(item.obj)
        if phase > Phase.MULTUS_CONFIG and waits:
            steps += waits
            waits = []
        if phase is Phase.KUBEVIRT:
            steps.append(Step("kubevirt", item.ref, item.obj))
            continue
        steps.append(Step("apply", item.ref, item.obj))
        if phase is Phase.MULTUS_CONFIG:
            waits.append(Step("wait-nad", nad_of_multus_config(item.ref, item.obj), owner=item.ref))
    return steps + waits


# --- what goes over the wire ---------------------------------------------------------------------------------------


def apply_body(obj: Mapping[str, Any]) -> Obj:
    """The object as sent in a server-side apply: without server-owned metadata and virtnet's explanations."""
    body = copy.deepcopy(dict(obj))
    meta = dict(_map(body.get("metadata")))
    for key in SERVER_METADATA:
        meta.pop(key, None)
    annotations = {k: v for k, v in _map(meta.get("annotations")).items() if k not in EXPLANATIONS}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    body["metadata"] = meta
    return body


def desired_view(obj: Mapping[str, Any]) -> Obj:
    """The fields of the desired object as the server stores them, to compare with a live object: a Secret's
    write-only ``stringData`` becomes base64 ``data`` (stringData wins, as the API server merges it), ``status`` is
    dropped (the main resource ignores it)."""
    view = apply_body(obj)
    view.pop("status", None)
    if view.get("kind") == "Secret" and group_of(str(view.get("apiVersion", ""))) == "":
        string_data = _map(view.pop("stringData", None))
        if string_data:
            data = dict(_map(view.get("data")))
            for k, v in string_data.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            view["data"] = data
    return view


def contains(desired: Any, live: Any) -> bool:
    """Whether every field of ``desired`` has the same value in ``live`` (maps: a subset; lists: same length and
    element-wise; a null in ``desired`` matches an absent field)."""
    if isinstance(desired, Mapping):
        if not isinstance(live, Mapping):
            return False
        for k, v in desired.items():
            if v is None:
                if live.get(k) is not None:
                    return False
                continue
            if k not in live or not contains(v, live[k]):
                return False
        return True
    if isinstance(desired, list):
        return isinstance(live, list) and len(desired) == len(live) and all(map(contains, desired, live))
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live
    return bool(desired == live)


def _comparable(obj: Mapping[str, Any]) -> Obj:
    view = copy.deepcopy(dict(obj))
    meta = dict(_map(view.get("metadata")))
    meta.pop("resourceVersion", None)
    meta["managedFields"] = [
        {k: v for k, v in _map(entry).items() if k != "time"} for entry in _list(meta.get("managedFields"))
    ]
    view["metadata"] = meta
    return view


def same_object(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two versions of an object hold the same content and field ownership (resourceVersion and the
    managedFields timestamps aside): a server dry-run that returns the live object means "no write needed"."""
    return _comparable(a) == _comparable(b)


def classify_client(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> Action:
    """``--dry-run=client``: from the live object alone. ``unchanged`` when every desired field already has the
    desired value (a server-side apply could still take over ownership or drop fields virtnet applied before and no
    longer does: ``--dry-run=server`` tells those apart)."""
    if live is None:
        return "created"
    return "unchanged" if contains(desired_view(desired), live) else "configured"


def classify_server(live: Mapping[str, Any] | None, answer: Mapping[str, Any]) -> Action:
    """From the live object and what the server answered to a (dry-run or real) apply of the desired one."""
    if live is None:
        return "created"
    return "unchanged" if same_object(live, answer) else "configured"


def might_be_unchanged(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> bool:
    """Whether to ask the server (dry run) before writing: only then can the write be skipped."""
    return live is not None and contains(desired_view(desired), live)


# --- the KubeVirt CR change ----------------------------------------------------------------------------------------


def _fmt(path: Sequence[str]) -> str:
    return ".".join(path)


@dataclass(frozen=True)
class KubevirtMerge:
    """The live KubeVirt CR with what the change adds. Nothing of the live CR is removed or changed."""

    merged: Obj
    added_gates: tuple[str, ...] = ()
    added_bindings: tuple[str, ...] = ()
    added_fields: tuple[str, ...] = ()  # other added field paths (spec.…, metadata.labels.…)
    kept: tuple[str, ...] = ()  # "path: live value kept (the change wanted …)"
    disabled: tuple[str, ...] = ()  # gates the change needs that the live CR lists in disabledFeatureGates
    additions: tuple[tuple[tuple[str, ...], Any], ...] = ()  # (path, value) of every addition, for the HCO patch

    @property
    def changed(self) -> bool:
        return bool(self.additions)

    def describe(self) -> str:
        parts = []
        if self.added_gates:
            parts.append(f"feature gates {', '.join(self.added_gates)}")
        if self.added_bindings:
            parts.append(f"binding plugin {', '.join(self.added_bindings)}")
        if self.added_fields:
            parts.append(", ".join(self.added_fields))
        return "added " + "; ".join(parts) if parts else "nothing to add"


def merge_kubevirt(live: Mapping[str, Any], change: Mapping[str, Any]) -> KubevirtMerge:
    """Add to ``live`` what ``change`` (a partial KubeVirt object, e.g. virtnet's rendered change) has and ``live``
    lacks: missing feature gates are appended to ``developerConfiguration.featureGates``, missing binding-plugin
    registrations (``network.binding.<name>``) and any other missing field are added. A field present in both keeps
    the live value (reported in ``kept``); lists other than featureGates are never rewritten. virtnet's explanation
    annotations are not copied."""
    merged = copy.deepcopy(dict(live))
    additions: list[tuple[tuple[str, ...], Any]] = []
    kept: list[str] = []

    def walk(target: dict[str, Any], source: Mapping[str, Any], path: tuple[str, ...]) -> None:
        for key, value in source.items():
            here = (*path, key)
            if value is None:
                continue
            if key not in target or target[key] is None:
                target[key] = copy.deepcopy(value)
                additions.append((here, copy.deepcopy(value)))
                continue
            current = target[key]
            if here == FEATURE_GATES_PATH and isinstance(current, list) and isinstance(value, list):
                for gate in value:
                    if gate not in current:
                        current.append(gate)
                        additions.append(((*here, "-"), gate))
            elif isinstance(current, dict) and isinstance(value, Mapping):
                walk(current, value, here)
            elif current != value:
                kept.append(f"{_fmt(here)}: kept {json.dumps(current)} (the change has {json.dumps(value)})")

    walk(merged, {"spec": _map(change.get("spec"))}, ())
    change_meta = _map(change.get("metadata"))
    meta = merged.setdefault("metadata", {})
    for section in ("labels", "annotations"):
        wanted = {k: v for k, v in _map(change_meta.get(section)).items() if k not in EXPLANATIONS}
        if wanted:
            walk(meta, {section: wanted}, ("metadata",))
    gates: list[str] = []
    bindings: list[str] = []
    others: list[str] = []
    for path, value in additions:
        if path == (*FEATURE_GATES_PATH, "-"):
            gates.append(str(value))
        elif FEATURE_GATES_PATH[: len(path)] == path:
            gates += [str(g) for g in _list(_get(value, FEATURE_GATES_PATH[len(path) :]))]
            rest = _without(value, FEATURE_GATES_PATH[len(path) :])
            if rest:
                others.append(_fmt(path))
        elif len(path) == len(BINDINGS_PATH) + 1 and path[: len(BINDINGS_PATH)] == BINDINGS_PATH:
            bindings.append(path[-1])
        elif BINDINGS_PATH[: len(path)] == path:
            bindings += list(_map(_get(value, BINDINGS_PATH[len(path) :])))
            if _without(value, BINDINGS_PATH[len(path) :]):
                others.append(_fmt(path))
        else:
            others.append(_fmt(path))
    disabled_live = {str(g) for g in _list(_get(merged, DISABLED_GATES_PATH))}
    wanted_gates = [str(g) for g in _list(_get(change, FEATURE_GATES_PATH))]
    return KubevirtMerge(
        merged=merged,
        added_gates=tuple(gates),
        added_bindings=tuple(bindings),
        added_fields=tuple(others),
        kept=tuple(kept),
        disabled=tuple(g for g in wanted_gates if g in disabled_live),
        additions=tuple(additions),
    )


def _without(value: Any, path: Sequence[str]) -> bool:
    """Whether ``value`` holds anything besides what lies at ``path`` (and the maps leading to it)."""
    if not path:
        return False
    if not isinstance(value, Mapping):
        return True
    return any(k != path[0] for k in value) or _without(value.get(path[0]), path[1:])


def _get(obj: Any, path: Sequence[str]) -> Any:
    for key in path:
        obj = _map(obj).get(key)
    return obj


@dataclass(frozen=True)
class HcoChange:
    """What to change on the HyperConverged CR instead of the KubeVirt CR HCO owns (HCO reverts direct edits)."""

    namespace: str
    name: str
    jsonpatch: tuple[dict[str, Any], ...]  # RFC 6902 operations for annotation kubevirt.kubevirt.io/jsonpatch
    network_binding: dict[str, Any]  # HyperConverged spec.networkBinding entries to add
    # the annotation's operations already on the HyperConverged CR were read and are part of ``jsonpatch`` (the
    # annotation is one array: writing only the new operations would drop them); False: it could not be read
    includes_existing: bool = False
    new_operations: int = 0

    @property
    def empty(self) -> bool:
        return not self.new_operations and not self.network_binding

    def commands(self) -> list[str]:
        out = []
        if self.jsonpatch:
            patch = json.dumps(list(self.jsonpatch), separators=(",", ":"))
            out.append(
                f"kubectl annotate --overwrite -n {self.namespace} hyperconverged {self.name} "
                f"{HCO_JSONPATCH_ANNOTATION}='{patch}'"
            )
        if self.network_binding:
            body = json.dumps({"spec": {"networkBinding": self.network_binding}}, separators=(",", ":"))
            out.append(f"kubectl patch hyperconverged -n {self.namespace} {self.name} --type merge -p '{body}'")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "apiVersion": HCO_API_VERSION,
            "kind": "HyperConverged",
            "namespace": self.namespace,
            "name": self.name,
            "annotations": {HCO_JSONPATCH_ANNOTATION: json.dumps(list(self.jsonpatch))} if self.jsonpatch else {},
            "spec": {"networkBinding": self.network_binding} if self.network_binding else {},
            "commands": self.commands(),
        }


def _pointer(path: Sequence[str]) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path)


def hco_change(
    live: Mapping[str, Any], merge: KubevirtMerge, hyperconverged: Mapping[str, Any] | None = None
) -> HcoChange:
    """The HyperConverged change that makes HCO write ``merge``'s additions into the KubeVirt CR: registrations go
    to ``spec.networkBinding``, everything else (feature gates first) to the jsonpatch annotation — after the
    operations the ``hyperconverged`` CR's annotation already holds, when it could be read."""
    meta = _map(live.get("metadata"))
    owner = next(
        (o for o in _list(meta.get("ownerReferences")) if isinstance(o, Mapping) and o.get("kind") == "HyperConverged"),
        None,
    )
    name = str(owner.get("name")) if owner and owner.get("name") else HCO_DEFAULT_NAME
    namespace = str(meta.get("namespace") or "kubevirt-hyperconverged")
    ops: list[dict[str, Any]] = []
    bindings: dict[str, Any] = {}
    for path, value in merge.additions:
        if path[:1] == ("metadata",):
            continue  # labels/annotations of the KubeVirt CR are HCO's
        if len(path) > len(BINDINGS_PATH) and path[: len(BINDINGS_PATH)] == BINDINGS_PATH:
            bindings.setdefault(path[len(BINDINGS_PATH)], {})
            if len(path) == len(BINDINGS_PATH) + 1:
                bindings[path[len(BINDINGS_PATH)]] = value
            continue  # a sub-field of an existing registration: HCO takes the whole map from spec.networkBinding
        if path == BINDINGS_PATH[: len(path)]:
            inner: Any = value
            for k in BINDINGS_PATH[len(path) :]:
                inner = _map(inner).get(k)
            bindings.update(dict(_map(inner)))
            continue
        ops.append({"op": "add", "path": _pointer(path), "value": value})
    # sub-field additions to a registration that exists: HCO needs the full entry
    live_bindings = _map(_get(merge.merged, BINDINGS_PATH))
    for key in list(bindings):
        if bindings[key] == {}:
            bindings[key] = copy.deepcopy(live_bindings.get(key))
    ops.sort(key=lambda op: 0 if str(op["path"]).startswith(_pointer(FEATURE_GATES_PATH)) else 1)
    existing: list[dict[str, Any]] = []
    if hyperconverged is not None:
        text = _map(_map(hyperconverged.get("metadata")).get("annotations")).get(HCO_JSONPATCH_ANNOTATION)
        try:
            parsed = json.loads(text) if isinstance(text, str) else []
        except ValueError:
            parsed = []
        existing = [op for op in _list(parsed) if isinstance(op, dict)]
        if _map(hyperconverged.get("metadata")).get("name"):
            name = str(hyperconverged["metadata"]["name"])
    new_ops = [op for op in ops if op not in existing]
    return HcoChange(
        namespace=namespace,
        name=name,
        jsonpatch=tuple(existing + new_ops) if new_ops else (),
        network_binding=bindings,
        includes_existing=hyperconverged is not None,
        new_operations=len(new_ops),
    )


# --- the report ----------------------------------------------------------------------------------------------------


def _json(required: dict[str, Any], **optional: Any) -> dict[str, Any]:
    """A report part as JSON: ``required``, then the ``optional`` fields that are set (empty ones are left out)."""
    return {**required, **{key: value for key, value in optional.items() if value}}


@dataclass(frozen=True)
class Outcome:
    """One object that was applied (or would be, in a dry run)."""

    ref: Ref
    action: Action
    warnings: tuple[str, ...] = ()
    detail: str = ""  # e.g. "added feature gates PasstBinding" for the KubeVirt CR

    def to_dict(self) -> dict[str, Any]:
        return _json({**self.ref.to_dict(), "action": self.action}, warnings=list(self.warnings), detail=self.detail)


@dataclass(frozen=True)
class Failure:
    """Where apply stopped and why."""

    ref: Ref
    message: str
    hint: str | None = None
    conflicts: tuple[tuple[str, str], ...] = ()  # (field manager, field) of an apply conflict
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return _json(
            {**self.ref.to_dict(), "error": self.message},
            hint=self.hint,
            conflicts=[{"manager": m, "field": f} for m, f in self.conflicts],
            interrupted=self.interrupted,
        )

    @classmethod
    def of(cls, ref: Ref, err: ClusterError) -> Failure:
        conflicts: tuple[tuple[str, str], ...] = tuple(getattr(err, "fields", ()) or ())
        if not conflicts:
            return cls(ref, err.message, err.hint)
        owners: dict[str, list[str]] = {}
        for manager, path in conflicts:
            owners.setdefault(manager, []).append(path)
        said = "; ".join(f"field manager {m!r} owns {', '.join(paths)}" for m, paths in owners.items())
        return cls(
            ref,
            f"{ref}: conflict: {said}, and virtnet would set {'them' if len(conflicts) > 1 else 'it'} to another value",
            f"change {'them' if len(conflicts) > 1 else 'it'} with {', '.join(owners)} instead, or take "
            f"{'them' if len(conflicts) > 1 else 'it'} over with --force-conflicts",
            conflicts,
        )


@dataclass(frozen=True)
class Wait:
    """A NetworkAttachmentDefinition that SpiderPool makes from a SpiderMultusConfig, and how long it took."""

    nad: Ref
    owner: Ref
    seconds: float
    ready: bool
    skipped: str = ""  # why it was not waited for (dry run)

    def to_dict(self) -> dict[str, Any]:
        return _json(
            {
                "nad": self.nad.to_dict(),
                "multusConfig": self.owner.to_dict(),
                "ready": self.ready,
                "seconds": round(self.seconds, 1),
            },
            skipped=self.skipped,
        )


@dataclass(frozen=True)
class Address:
    """One IP of a started VM: where it was seen, and whether it is the VM's fixed IP from its pool."""

    ip: str
    interface: str | None  # the VM's interface (spec.domain.devices.interfaces[].name)
    pod_interface: str | None  # eth0, pod<hash>
    sources: tuple[str, ...]
    pool: str | None
    fixed: bool
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "ip": self.ip,
            "interface": self.interface,
            "podInterface": self.pod_interface,
            "sources": list(self.sources),
            "pool": self.pool,
            "fixed": self.fixed,
            "why": self.why,
        }


@dataclass(frozen=True)
class VmReport:
    ref: Ref
    phase: str
    addresses: tuple[Address, ...] = ()
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        addresses = [a.to_dict() for a in self.addresses]
        return _json({**self.ref.to_dict(), "phase": self.phase, "addresses": addresses}, note=self.note)


@dataclass
class Report:
    """What apply did (or would do): objects in order, waits, where it stopped, what was not applied."""

    dry_run: DryRun = "none"
    objects: list[Outcome] = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)
    failure: Failure | None = None
    not_applied: list[Ref] = field(default_factory=list)
    hco: HcoChange | None = None  # the change HCO must make (the KubeVirt CR was not edited)
    hco_cr: Ref | None = None
    vms: list[VmReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failure is None and not self.not_applied and (self.hco is None or self.hco.empty)

    def summary(self) -> dict[str, int]:
        counts = {"created": 0, "configured": 0, "unchanged": 0}
        for o in self.objects:
            counts[o.action] += 1
        counts["failed"] = 1 if self.failure is not None and not self.failure.interrupted else 0
        counts["interrupted"] = 1 if self.failure is not None and self.failure.interrupted else 0
        counts["notApplied"] = len(self.not_applied)
        return counts

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "objects": [o.to_dict() for o in self.objects],
            "summary": self.summary(),
            "dryRun": self.dry_run,
            "waits": [w.to_dict() for w in self.waits],
            "failed": self.failure.to_dict() if self.failure else None,
            "notApplied": [r.to_dict() for r in self.not_applied],
        }
        if self.hco is not None:
            out["hyperConverged"] = {
                "kubevirt": self.hco_cr.to_dict() if self.hco_cr else None,
                "change": None if self.hco.empty else self.hco.to_dict(),
            }
        if self.vms:
            out["vms"] = [v.to_dict() for v in self.vms]
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def not_applied(steps: Sequence[Step], done: int) -> list[Ref]:
    """The objects of the steps after the first ``done`` ones (waits are not objects)."""
    return [s.ref for s in steps[done:] if s.op != "wait-nad"]


# --- a started VM's addresses --------------------------------------------------------------------------------------


def pod_interfaces(vm: Mapping[str, Any]) -> dict[str, str]:
    """Pod interface → the VM's interface name (:func:`virtnet.model.capabilities.pod_interface_name`)."""
    spec = _map(_map(_map(vm.get("spec")).get("template")).get("spec"))
    out: dict[str, str] = {}
    for net in _list(spec.get("networks")):
        if not isinstance(net, Mapping) or not isinstance(net.get("name"), str):
            continue
        multus = net.get("multus")
        primary = "pod" in net or (isinstance(multus, Mapping) and multus.get("default") is True)
        out[pod_interface_name(net["name"], primary=primary)] = net["name"]
    return out


def requested_pools(vm: Mapping[str, Any]) -> set[str]:
    """Pools the VM's pod asks for in ``ipam.spidernet.io/ippools`` / ``ipam.spidernet.io/ippool``, read as SpiderPool
    reads them (the one parser: lint/spiderpool.py)."""
    template_meta = _map(_map(_map(vm.get("spec")).get("template")).get("metadata"))
    parsed = pool_annotations(_map(template_meta.get("annotations")), SPIDERPOOL.newest)
    return {name for entry in parsed.entries for name in (*entry.ipv4, *entry.ipv6)}


def _bare_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_interface(text.strip()).ip)
    except ValueError:
        return None


def vm_addresses(
    vm: Mapping[str, Any],
    vmi: Mapping[str, Any],
    endpoint: Mapping[str, Any] | None,
    pools: Mapping[str, Mapping[str, Any] | None],
) -> list[Address]:
    """Each IP of a running VM, merged from SpiderPool's SpiderEndpoint (``status.current.ips[]`` by pod interface;
    SP@v1.2.2:pkg/k8s/apis/spiderpool.spidernet.io/v2beta1/spiderendpoint_types.go) and KubeVirt's VMI
    (``status.interfaces[]`` with ``infoSource``; KV@v1.9.0:staging/src/kubevirt.io/api/core/v1/types.go
    VirtualMachineInstanceNetworkInterface). Fixed means: SpiderPool keeps it for the VM (the SpiderEndpoint is
    named after the VMI and owned by it: ``enableKubevirtStaticIP``, SP@v1.2.2:pkg/ipam/allocate.go), it comes from
    a pool the VM asks for, and the pool hands it out."""
    by_pod = pod_interfaces(vm)
    requested = requested_pools(vm)
    found: dict[str, dict[str, Any]] = {}
    order: list[str] = []

    def entry(ip: str) -> dict[str, Any]:
        if ip not in found:
            found[ip] = {"interface": None, "pod": None, "sources": [], "pool": None}
            order.append(ip)
        return found[ip]

    vm_name = str(_map(vm.get("metadata")).get("name", ""))
    status = _map(_map(endpoint).get("status")) if endpoint is not None else {}
    owner_type = status.get("ownerControllerType")
    ep_meta = _map(_map(endpoint).get("metadata"))
    ep_name = ep_meta.get("name") if endpoint is not None else None
    for item in _list(_map(status.get("current")).get("ips")):
        if not isinstance(item, Mapping):
            continue
        pod_if = item.get("interface")
        for family in ("ipv4", "ipv6"):
            text = item.get(family)
            ip = _bare_ip(text) if isinstance(text, str) else None
            if ip is None:
                continue
            e = entry(ip)
            e["pod"] = pod_if
            e["interface"] = e["interface"] or by_pod.get(str(pod_if))
            e["pool"] = item.get(f"{family}Pool")
            e["sources"].append(
                f"SpiderEndpoint {ep_meta.get('namespace')}/{ep_name} status.current.ips[interface={pod_if}]"
            )
    for iface in _list(_map(vmi.get("status")).get("interfaces")):
        if not isinstance(iface, Mapping):
            continue
        texts = [t for t in _list(iface.get("ipAddresses")) if isinstance(t, str)]
        if not texts and isinstance(iface.get("ipAddress"), str):
            texts = [iface["ipAddress"]]
        for text in texts:
            ip = _bare_ip(text)
            if ip is None or ipaddress.ip_address(ip).is_link_local:
                continue
            e = entry(ip)
            e["interface"] = e["interface"] or iface.get("name")
            e["pod"] = e["pod"] or iface.get("podInterfaceName")
            source = iface.get("infoSource")
            e["sources"].append(
                f"VMI status.interfaces[{iface.get('name') or iface.get('interfaceName') or '?'}]"
                + (f" ({source})" if source else "")
            )
    out: list[Address] = []
    for ip in order:
        e = found[ip]
        fixed, why = _fixed(ip, e["pool"], owner_type, ep_name, vm_name, requested, pools)
        out.append(Address(ip, e["interface"], e["pod"], tuple(e["sources"]), e["pool"], fixed, why))
    return out


def _fixed(
    ip: str,
    pool: str | None,
    owner_type: Any,
    endpoint_name: Any,
    vm_name: str,
    requested: set[str],
    pools: Mapping[str, Mapping[str, Any] | None],
) -> tuple[bool, str]:
    if pool is None:
        return False, "not in a SpiderEndpoint: SpiderPool did not allocate it (pod network or another IPAM)"
    if owner_type != "VirtualMachineInstance" or endpoint_name != vm_name:
        return False, (
            f"the SpiderEndpoint is owned by a {owner_type or 'Pod'}, not the VMI: SpiderPool treats the VM's pod "
            "as stateless (spiderpool-conf enableKubevirtStaticIP is off) and the IP changes when the VM restarts"
        )
    if requested and pool not in requested:
        return False, (
            f"SpiderPool keeps it for the VM, but from pool {pool}, not from {', '.join(sorted(requested))} that the "
            "VM asks for now (SpiderPool does not re-allocate a VM's fixed IP when its pools change)"
        )
    spec_obj = pools.get(pool)
    if spec_obj is not None:
        try:
            spec = PoolSpec.from_manifest(spec_obj)
            inside = spec.contains(ipaddress.ip_address(ip))
        except (InputError, ValueError):
            inside = True  # a pool virtnet cannot parse: do not second-guess SpiderPool
        if not inside:
            return False, f"SpiderPool keeps it for the VM, but it is outside pool {pool}'s spec.ips"
    return True, f"the VM's fixed IP from pool {pool} (kept across restarts)"


# --- helpers for callers -------------------------------------------------------------------------------------------


def halted(vm: Mapping[str, Any]) -> str | None:
    """Why a VM will not get a VMI after apply (runStrategy Halted/Manual, running: false), else None."""
    spec = _map(vm.get("spec"))
    strategy = spec.get("runStrategy")
    if strategy in ("Halted", "Manual"):
        return f"runStrategy {strategy}: KubeVirt does not start it"
    if strategy is None and spec.get("running") is False:
        return "running: false: KubeVirt does not start it"
    return None
