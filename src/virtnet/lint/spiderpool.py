"""How SpiderPool reads a workload: the pools its ``ipam.spidernet.io/ippool(s)`` annotations ask for, the pod
interfaces they apply to and the NADs behind those interfaces.

The one reader of these annotations, shared by the rules (:mod:`virtnet.lint.rules.ippool`, ``ippool_overlap``,
``noip``, ``multusconfig``) and ``virtnet status`` (:mod:`virtnet.cluster.status`). Facts: SpiderPool's IPAM
(``SP@v1.2.2:pkg/ipam/pool_selections.go``, ``pkg/ipam/utils.go``), the annotation types (``SP@v1.2.2:pkg/types``:
``AnnoPodIPPoolValue``, ``AnnoIPPoolItem``) and KubeVirt's pod interface naming
(``KV@v1.0.1:pkg/network/namescheme/networknamescheme.go``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from virtnet.lint.context import (
    IPPOOL_ANNOTATION,
    IPPOOLS_ANNOTATION,
    LintContext,
    Nad,
    Workload,
    is_custom,
    per_context,
)
from virtnet.lint.model import Severity
from virtnet.model.capabilities import UNNAMED_IPPOOLS_ENTRIES, pod_interface_name
from virtnet.model.ipset import Family
from virtnet.model.manifest import as_list, as_map
from virtnet.model.podannotations import NadRef, default_network, default_network_ref, parse_nad_ref
from virtnet.model.versions import Version

FAMILIES: tuple[tuple[Family, str], ...] = ((4, "ipv4"), (6, "ipv6"))
WILDCARD_CHARS = frozenset("*?[")  # a pool name with one of these is a pattern (SpiderPool v1.0+, fnmatch-style)
IPPOOLS_EXAMPLE = '[{"interface":"eth0","ipv4":["pool-v4"]}]'
IPPOOL_EXAMPLE = '{"ipv4":["pool-v4"],"ipv6":["pool-v6"]}'


# --- the ipam.spidernet.io/ippool(s) annotations --------------------------------------------------------------


@dataclass(frozen=True)
class PoolEntry:
    """What one annotation entry asks for: an ``ippools`` item (``index`` set) or the ``ippool`` object."""

    index: int | None
    interface: str | None  # None: no interface name (ordering mode, or the single ``ippool`` object)
    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()

    def pools(self, family: Family) -> tuple[str, ...]:
        return self.ipv4 if family == 4 else self.ipv6

    @property
    def label(self) -> str:
        return "the ippool annotation" if self.index is None else f"entry {self.index}"


@dataclass(frozen=True)
class AnnotationIssue:
    key: str
    severity: Severity
    message: str


@dataclass(frozen=True)
class PoolAnnotations:
    """The pool annotations of one workload, parsed the way SpiderPool's IPAM reads them.

    ``key`` is the annotation in effect (``ippools`` wins over ``ippool``); ``entries`` are its well-formed
    entries; ``ok`` is false when SpiderPool would reject the annotation in effect.
    """

    key: str | None
    entries: tuple[PoolEntry, ...]
    issues: tuple[AnnotationIssue, ...]

    @property
    def ok(self) -> bool:
        return self.key is not None and not any(i.key == self.key and i.severity is Severity.ERROR for i in self.issues)

    @property
    def named(self) -> bool:
        return bool(self.entries) and self.entries[0].interface is not None


class _Issues:
    """The issues found in one annotation (``key``), added to the list of the whole parse."""

    def __init__(self, key: str, found: list[AnnotationIssue]) -> None:
        self.key = key
        self.found = found

    def error(self, message: str) -> None:
        self.found.append(AnnotationIssue(self.key, Severity.ERROR, message))

    def warning(self, message: str) -> None:
        self.found.append(AnnotationIssue(self.key, Severity.WARNING, message))


# an entry's fields (Go's encoding/json matches their names case-insensitively) and what each must hold
_ENTRY_FIELDS = {
    "interface": "a string",
    "ipv4": "a list of pool names",
    "ipv6": "a list of pool names",
    "cleangateway": "true or false",
}
_IPPOOL_FIELDS = ("ipv4", "ipv6")  # the single ``ippool`` object has no interface


def _json_type(value: object) -> str:
    return json.dumps(value)[:60]


def _well_typed(name: str, value: object) -> bool:
    if name == "interface":
        return isinstance(value, str)
    if name == "cleangateway":
        return isinstance(value, bool)
    return isinstance(value, list) and all(isinstance(p, str) for p in value)


def _unread_field_hint(name: str, allowed: tuple[str, ...]) -> str:
    if name in ("ipv4pools", "ipv6pools"):
        return f"SpiderPool v0.8+ reads '{name[:4]}'"
    if name in ("interface", "cleangateway"):
        return f"use {IPPOOLS_ANNOTATION} to choose pools per interface"
    return f"SpiderPool reads only {', '.join(allowed)}"


def _pool_names(names: list[str], family: str, where: str, issues: _Issues) -> tuple[str, ...]:
    """The pools of one family, each once; a repeated or empty name is an issue."""
    for pool, count in Counter(names).items():
        if count > 1:
            issues.error(
                f"{where} names pool '{pool}' twice in {family}; SpiderPool rejects it ('duplicate IPPool {pool} "
                "specified')"
            )
    if "" in names:
        issues.error(f"{where} has an empty pool name in {family}")
    return tuple(dict.fromkeys(n for n in names if n))


def _parse_item(item: object, index: int | None, issues: _Issues) -> PoolEntry | None:
    """One JSON object of the annotation; None (with an issue) when Go's json.Unmarshal would fail on it."""
    where = f"{issues.key} entry {index}" if index is not None else issues.key
    if not isinstance(item, dict):
        issues.error(f'{where} is {_json_type(item)}, not an object such as {{"ipv4":["pool-v4"]}}')
        return None
    allowed = tuple(_ENTRY_FIELDS) if index is not None else _IPPOOL_FIELDS
    fields: dict[str, Any] = {}  # checked by _well_typed
    broken = False
    for raw_key, value in item.items():
        name = str(raw_key).lower()  # Go's encoding/json matches field names case-insensitively
        if name not in allowed:
            issues.warning(f"{where} has '{raw_key}', which is ignored; {_unread_field_hint(name, allowed)}")
        elif value is None:
            continue  # JSON null leaves the Go field at its zero value
        elif not _well_typed(name, value):
            issues.error(f"{where} has '{raw_key}': {_json_type(value)}, which must be {_ENTRY_FIELDS[name]}")
            broken = True
        else:
            fields[name] = value
    if broken:
        return None
    ipv4 = _pool_names([str(p) for p in fields.get("ipv4", [])], "ipv4", where, issues)
    ipv6 = _pool_names([str(p) for p in fields.get("ipv6", [])], "ipv6", where, issues)
    if not ipv4 and not ipv6:
        issues.warning(f"{where} names no pool in ipv4 or ipv6, so its interface gets no address from it")
    return PoolEntry(index, fields.get("interface") or None, ipv4, ipv6)


def _parse_json(text: object, example: str, issues: _Issues) -> tuple[bool, object]:
    key = issues.key
    if not isinstance(text, str):
        issues.error(
            f"{key} must be a string holding JSON such as '{example}', got a YAML {type(text).__name__}; "
            "quote the value"
        )
        return False, None
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError) as err:
        detail = f"{err.msg} at line {err.lineno} column {err.colno}" if isinstance(err, json.JSONDecodeError) else err
        issues.error(f"{key} is not valid JSON ({detail}); expected e.g. '{example}'")
        return False, None


def _parse_ippools(text: object, sp: Version, issues: _Issues) -> list[PoolEntry]:
    key = issues.key
    parsed, value = _parse_json(text, IPPOOLS_EXAMPLE, issues)
    if not parsed:
        return []
    if isinstance(value, dict):
        issues.error(
            f"{key} is a JSON object but must be a list of objects; wrap it in [...] or use {IPPOOL_ANNOTATION} for "
            "one set of pools"
        )
        return []
    if not isinstance(value, list):
        issues.error(f"{key} is {_json_type(value)}, not a list of objects")
        return []
    if not value:
        issues.error(
            f"{key} is an empty list; SpiderPool needs at least one entry ('value requires at least one item')"
        )
        return []
    entries = [e for i, item in enumerate(value) if (e := _parse_item(item, i, issues)) is not None]
    if len(entries) == len(value):
        _check_interfaces(entries, sp, issues)
    return entries


def _check_interfaces(entries: list[PoolEntry], sp: Version, issues: _Issues) -> None:
    """The entries' interface names: all or none, each once; none only from SpiderPool v0.8.2."""
    key = issues.key
    named = [e.interface is not None for e in entries]
    if any(named) and not all(named):
        without = [str(e.index) for e in entries if e.interface is None]
        which = f"entry {without[0]} has" if len(without) == 1 else f"entries {', '.join(without)} have"
        issues.error(
            f"{key} {which} no interface while the others name one; SpiderPool rejects the mix "
            "('NIC should be either all specified or all unspecified')"
        )
    for iface, count in Counter(e.interface for e in entries if e.interface).items():
        if count > 1:
            issues.error(
                f"{key} lists interface '{iface}' {count} times; SpiderPool rejects it ('duplicate interface {iface}')"
            )
    if not any(named) and sp < UNNAMED_IPPOOLS_ENTRIES:
        issues.error(
            f"{key} entries have no interface, which SpiderPool {sp} rejects ('interface must be specified'; entries "
            "without names need v0.8.2+); name each entry: eth0 for the primary network, pod<hash> for the others"
        )


def _parse_ippool(text: object, issues: _Issues) -> list[PoolEntry]:
    parsed, value = _parse_json(text, IPPOOL_EXAMPLE, issues)
    if not parsed:
        return []
    if isinstance(value, list):
        issues.error(
            f"{issues.key} is a JSON list but must be one object such as "
            f'{{"ipv4":["pool-v4"]}}; use {IPPOOLS_ANNOTATION} for a list of per-interface entries'
        )
        return []
    entry = _parse_item(value, None, issues)
    return [entry] if entry is not None else []


_NO_ANNOTATIONS = PoolAnnotations(None, (), ())


def pool_annotations(annotations: Mapping[str, object], sp: Version) -> PoolAnnotations:
    """The ``ipam.spidernet.io/ippool(s)`` annotations as SpiderPool ``sp`` reads them."""
    many, one = annotations.get(IPPOOLS_ANNOTATION), annotations.get(IPPOOL_ANNOTATION)
    found: list[AnnotationIssue] = []
    entries = _parse_ippools(many, sp, _Issues(IPPOOLS_ANNOTATION, found)) if many is not None else []
    single = _parse_ippool(one, _Issues(IPPOOL_ANNOTATION, found)) if one is not None else []
    if many is not None and one is not None:
        _Issues(IPPOOL_ANNOTATION, found).warning(
            f"{IPPOOL_ANNOTATION} is ignored because {IPPOOLS_ANNOTATION} is also set (SpiderPool reads ippools first)"
        )
    if many is not None:
        return PoolAnnotations(IPPOOLS_ANNOTATION, tuple(entries), tuple(found))
    if one is not None:
        return PoolAnnotations(IPPOOL_ANNOTATION, tuple(single), tuple(found))
    return _NO_ANNOTATIONS


def requested_pools(w: Workload, ctx: LintContext) -> PoolAnnotations:
    """:func:`pool_annotations` of ``w`` for the context's SpiderPool version, parsed once per annotation text and
    context (VMs on the same networks carry the same text; several rules ask)."""
    many, one = w.annotations.get(IPPOOLS_ANNOTATION), w.annotations.get(IPPOOL_ANNOTATION)
    if many is None and one is None:
        return _NO_ANNOTATIONS
    if isinstance(many, str | None) and isinstance(one, str | None):
        return ctx.memo((pool_annotations, many, one), lambda: pool_annotations(w.annotations, ctx.versions.spiderpool))
    return pool_annotations(w.annotations, ctx.versions.spiderpool)


# --- the pod interfaces of a VM and the NADs behind them ----------------------------------------------------------


@dataclass(frozen=True)
class PodNic:
    """One interface of the virt-launcher pod, in the order SpiderPool numbers them (eth0 first)."""

    network: str | None  # spec.networks[].name; None: the cluster default network the VM does not use
    pod_interface: str
    primary: bool
    nad_ref: NadRef | None  # None: the cluster default network (the CNI of the cluster, not a NAD of the input)
    nad: Nad | None  # the NAD (or SpiderMultusConfig) of the input, if it is there
    uses_spiderpool: bool | None  # None: unknown

    @property
    def where(self) -> str:
        if self.network is None:
            return f"{self.pod_interface} (the cluster default network)"
        return f"network '{self.network}' (pod interface {self.pod_interface})"

    @property
    def title(self) -> str:
        if self.network is None:
            return f"{self.pod_interface} (the cluster default network)"
        via = f", NAD {self.nad_ref}" if self.nad_ref else ""
        return f"network '{self.network}' (pod interface {self.pod_interface}{via})"


def config_uses_spiderpool(text: object) -> bool | None:
    """Whether a CNI config (JSON text) delegates IPAM to SpiderPool; None when it cannot be read."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        config = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(config, Mapping):
        return None
    plugins = [config] if "type" in config else as_list(config.get("plugins"))
    if not plugins:
        return None
    return any(as_map(as_map(p).get("ipam")).get("type") == "spiderpool" for p in plugins)


@per_context
def _nad_ipam(ctx: LintContext) -> dict[tuple[str, str], bool | None]:
    """For every NAD of the input: does its CNI chain call SpiderPool IPAM (None: unknown)."""
    out: dict[tuple[str, str], bool | None] = {}
    for key, nad in ctx.nads.items():
        spec = as_map(nad.source.data.get("spec"))
        if nad.source.kind == "SpiderMultusConfig":
            if spec.get("disableIPAM") is True:
                out[key] = False
            elif is_custom(spec):
                out[key] = config_uses_spiderpool(spec.get("customCNI"))
            else:
                out[key] = True  # SpiderPool generates the NAD with "ipam": {"type": "spiderpool"}
        else:
            out[key] = config_uses_spiderpool(spec.get("config"))
    return out


def find_nad(ctx: LintContext, ref: NadRef) -> Nad | None:
    """The NAD of the input ``ref`` names (its namespace resolved by the reader that made it)."""
    return ctx.nads.get((ref.namespace or "", ref.name))


def uses_spiderpool(ctx: LintContext, nad: Nad | None) -> bool | None:
    if nad is None:
        return None
    return _nad_ipam(ctx).get((nad.namespace, nad.name))


def pod_nics(w: Workload, ctx: LintContext) -> list[PodNic]:
    """The pod interfaces KubeVirt (>= v1.0) creates for the VM: eth0, then one per secondary Multus network
    (computed once per object: several rules ask)."""
    return ctx.object_memo(w.obj, pod_nics, lambda: _pod_nics(w, ctx))


def _secondary_name(ctx: LintContext, network: str) -> str:
    """pod + sha256(network)[:11], once per network name and context (VMs reuse the same network names)."""
    return ctx.memo((pod_interface_name, network), lambda: pod_interface_name(network, primary=False))


def _pod_nics(w: Workload, ctx: LintContext) -> list[PodNic]:
    primary: PodNic | None = None
    secondaries: list[PodNic] = []
    for _, net in w.networks:
        name = str(net.get("name", ""))
        multus = net.get("multus")
        if "pod" in net:
            if primary is None:
                ref = default_network_ref(w.annotations)
                nad = find_nad(ctx, ref) if ref else None
                primary = PodNic(name, "eth0", True, ref, nad, uses_spiderpool(ctx, nad))
            continue
        if not isinstance(multus, Mapping):
            continue
        network_name = multus.get("networkName")
        if not isinstance(network_name, str) or not network_name:
            continue
        if multus.get("default") is True:
            default = default_network(network_name)
            if primary is None and default is not None:
                nad = find_nad(ctx, default)
                primary = PodNic(name, "eth0", True, default, nad, uses_spiderpool(ctx, nad))
            continue
        ref = parse_nad_ref(network_name, w.namespace)
        nad = find_nad(ctx, ref)
        secondaries.append(PodNic(name, _secondary_name(ctx, name), False, ref, nad, uses_spiderpool(ctx, nad)))
    if primary is None:  # the pod still gets the cluster default network as eth0
        primary = PodNic(None, "eth0", True, None, None, None)
    return [primary, *secondaries]


# --- pools of the input -----------------------------------------------------------------------------------------


def pool_family(ctx: LintContext, name: str) -> Family | None:
    spec = ctx.pool_specs.get(name)
    if spec is not None:
        return spec.family
    obj = ctx.pools.get(name)
    raw = as_map(obj.data.get("spec")).get("ipVersion") if obj is not None else None
    if raw == 4 or raw == 6:
        return 4 if raw == 4 else 6
    return None


# --- workloads with fixed IPs --------------------------------------------------------------------------------------


@per_context
def fixed_ip_workloads(ctx: LintContext) -> list[str]:
    """``namespace/name`` of the input's VMs that take fixed IPs from SpiderPool (annotations or a SpiderPool NAD)."""
    out: dict[str, None] = {}
    for w in ctx.workloads:
        if not w.spec:
            continue
        label = f"{w.namespace}/{w.obj.ref.name}"
        parsed = requested_pools(w, ctx)
        if any(e.ipv4 or e.ipv6 for e in parsed.entries) or any(n.uses_spiderpool for n in pod_nics(w, ctx)):
            out[label] = None
    return list(out)
