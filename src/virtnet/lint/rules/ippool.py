"""Rules about SpiderPool IP pools: the pool annotations of VMs, SpiderIPPool manifests, overlap and capacity.

Facts: SpiderPool's IPAM (``SP@v1.2.2:pkg/ipam/pool_selections.go``, ``pkg/ipam/utils.go``, ``pkg/ipam/allocate.go``),
its SpiderIPPool webhook (``SP@v1.2.2:pkg/ippoolmanager/ippool_validate.go``), the annotation types
(``SP@v1.2.2:pkg/types``: ``AnnoPodIPPoolValue``, ``AnnoIPPoolItem``) and KubeVirt's pod interface naming
(``KV@v1.0.1:pkg/network/namescheme/networknamescheme.go``). Address arithmetic goes through
:mod:`virtnet.model.ippool` / :class:`~virtnet.model.ipset.IPSet`; no range is ever expanded.

Cross-object checks read :class:`LintContext` indexes; what needs a whole-input pass (the overlap index, which NADs
use SpiderPool IPAM) is computed once per context by :func:`per_context`.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import heapq
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from virtnet.errors import InputError
from virtnet.formats.yamlio import parse_path
from virtnet.lint.context import (
    DEFAULT_NETWORK_ANNOTATION,
    IPPOOL_ANNOTATION,
    IPPOOLS_ANNOTATION,
    SMC_BLOCKS,
    LintContext,
    Nad,
    Workload,
    workload_of,
)
from virtnet.lint.model import LintObject, Path, Severity, Violation
from virtnet.lint.registry import rule
from virtnet.model.capabilities import (
    CANONICAL_SUBNET_REQUIRED,
    IPPOOL_VLAN_REMOVED,
    UNNAMED_IPPOOLS_ENTRIES,
    pod_interface_name,
)
from virtnet.model.ippool import API_VERSION, PoolSpec, overlap
from virtnet.model.ipset import Family, IPNetwork, IPSet
from virtnet.model.manifest import as_list, as_map
from virtnet.model.versions import V, Version

_T = TypeVar("_T")

WILDCARD_POOL_NAMES = V("v1.0.0")  # SP@v1.0.0:pkg/ipam ParseWildcardPoolNameList; docs/usage/spider-ippool.md
SPIDERPOOL_NAMESPACE_GUESS = "kube-system"  # where a default network named without namespace usually lives
MAX_LISTED = 5  # pools named per finding; the rest are summarised
FAMILIES: tuple[tuple[Family, str], ...] = ((4, "ipv4"), (6, "ipv6"))
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_ORDINAL_IFACE = re.compile(r"^net(\d+)$")
_WILDCARD_CHARS = frozenset("*?[")
UG_SP_ANNOTATIONS = "SP:docs/reference/annotation.md"
SP_KUBEVIRT_DOC = "SP:docs/usage/kubevirt.md"


# --- per-context memo ------------------------------------------------------------------------------------------


def per_context(build: Callable[[LintContext], _T]) -> Callable[[LintContext], _T]:
    """``build(ctx)`` computed once per :class:`LintContext` (kept in the context's memo, dropped with it)."""

    def get(ctx: LintContext) -> _T:
        return ctx.memo(build, lambda: build(ctx))

    return functools.update_wrapper(get, build)


def is_dns1123_subdomain(name: str) -> bool:
    return 0 < len(name) <= 253 and _DNS1123_SUBDOMAIN.match(name) is not None


def plural(count: int, word: str) -> str:
    """``1 entry``, ``2 entries``, ``3 interfaces``."""
    if count == 1:
        return f"1 {word}"
    if word.endswith("y"):
        return f"{count} {word[:-1]}ies"
    return f"{count} {word}es" if word.endswith("s") else f"{count} {word}s"


def listed(names: Sequence[str], limit: int = MAX_LISTED) -> str:
    """``a, b, c`` or ``a, b, c and 4 more``."""
    shown = ", ".join(names[:limit])
    return f"{shown} and {len(names) - limit} more" if len(names) > limit else shown


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


_ENTRY_FIELDS = {
    "interface": "a string",
    "ipv4": "a list of pool names",
    "ipv6": "a list of pool names",
    "cleangateway": "true or false",
}


def _json_type(value: Any) -> str:
    return json.dumps(value)[:60]


def _parse_item(item: Any, key: str, index: int | None, issues: list[AnnotationIssue]) -> PoolEntry | None:
    """One JSON object of the annotation; None (with an issue) when Go's json.Unmarshal would fail on it."""
    where = f"{key} entry {index}" if index is not None else key
    if not isinstance(item, dict):
        issues.append(
            AnnotationIssue(
                key, Severity.ERROR, f'{where} is {_json_type(item)}, not an object such as {{"ipv4":["pool-v4"]}}'
            )
        )
        return None
    allowed = ("interface", "ipv4", "ipv6", "cleangateway") if index is not None else ("ipv4", "ipv6")
    fields: dict[str, Any] = {}
    broken = False
    for raw_key, value in item.items():
        name = str(raw_key).lower()  # Go's encoding/json matches field names case-insensitively
        if name not in allowed:
            if name in ("ipv4pools", "ipv6pools"):
                hint = f"SpiderPool v0.8+ reads '{name[:4]}'"
            elif name in ("interface", "cleangateway"):
                hint = f"use {IPPOOLS_ANNOTATION} to choose pools per interface"
            else:
                hint = f"SpiderPool reads only {', '.join(allowed)}"
            issues.append(AnnotationIssue(key, Severity.WARNING, f"{where} has '{raw_key}', which is ignored; {hint}"))
            continue
        if value is None:
            continue  # JSON null leaves the Go field at its zero value
        expected = _ENTRY_FIELDS[name]
        if name == "interface":
            good = isinstance(value, str)
        elif name == "cleangateway":
            good = isinstance(value, bool)
        else:
            good = isinstance(value, list) and all(isinstance(p, str) for p in value)
        if not good:
            issues.append(
                AnnotationIssue(
                    key, Severity.ERROR, f"{where} has '{raw_key}': {_json_type(value)}, which must be {expected}"
                )
            )
            broken = True
            continue
        fields[name] = value
    if broken:
        return None
    pools: dict[str, tuple[str, ...]] = {}
    for family in ("ipv4", "ipv6"):
        names = [str(p) for p in fields.get(family, [])]
        for pool, count in Counter(names).items():
            if count > 1:
                issues.append(
                    AnnotationIssue(
                        key,
                        Severity.ERROR,
                        f"{where} names pool '{pool}' twice in {family}; "
                        f"SpiderPool rejects it ('duplicate IPPool {pool} specified')",
                    )
                )
        if "" in names:
            issues.append(AnnotationIssue(key, Severity.ERROR, f"{where} has an empty pool name in {family}"))
        pools[family] = tuple(dict.fromkeys(n for n in names if n))
    if not pools["ipv4"] and not pools["ipv6"]:
        issues.append(
            AnnotationIssue(
                key,
                Severity.WARNING,
                f"{where} names no pool in ipv4 or ipv6, so its interface gets no address from it",
            )
        )
    interface = fields.get("interface") or None
    return PoolEntry(index, interface, pools["ipv4"], pools["ipv6"])


def _parse_json(text: Any, key: str, example: str, issues: list[AnnotationIssue]) -> tuple[bool, Any]:
    if not isinstance(text, str):
        issues.append(
            AnnotationIssue(
                key,
                Severity.ERROR,
                f"{key} must be a string holding JSON such as '{example}', "
                f"got a YAML {type(text).__name__}; quote the value",
            )
        )
        return False, None
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError) as err:
        detail = f"{err.msg} at line {err.lineno} column {err.colno}" if isinstance(err, json.JSONDecodeError) else err
        issues.append(
            AnnotationIssue(key, Severity.ERROR, f"{key} is not valid JSON ({detail}); expected e.g. '{example}'")
        )
        return False, None


def _parse_ippools(text: Any, sp: Version, issues: list[AnnotationIssue]) -> list[PoolEntry]:
    key = IPPOOLS_ANNOTATION
    parsed, value = _parse_json(text, key, '[{"interface":"eth0","ipv4":["pool-v4"]}]', issues)
    if not parsed:
        return []
    if isinstance(value, dict):
        issues.append(
            AnnotationIssue(
                key,
                Severity.ERROR,
                f"{key} is a JSON object but must be a list of objects; "
                f"wrap it in [...] or use {IPPOOL_ANNOTATION} for one set of pools",
            )
        )
        return []
    if not isinstance(value, list):
        issues.append(AnnotationIssue(key, Severity.ERROR, f"{key} is {_json_type(value)}, not a list of objects"))
        return []
    if not value:
        issues.append(
            AnnotationIssue(
                key,
                Severity.ERROR,
                f"{key} is an empty list; SpiderPool needs at least one entry ('value requires at least one item')",
            )
        )
        return []
    entries = [e for i, item in enumerate(value) if (e := _parse_item(item, key, i, issues)) is not None]
    if len(entries) != len(value):
        return entries
    named = [e.interface is not None for e in entries]
    if any(named) and not all(named):
        without = [str(e.index) for e in entries if e.interface is None]
        which = f"entry {without[0]} has" if len(without) == 1 else f"entries {', '.join(without)} have"
        issues.append(
            AnnotationIssue(
                key,
                Severity.ERROR,
                f"{key} {which} no interface while the others name one; SpiderPool rejects the mix "
                "('NIC should be either all specified or all unspecified')",
            )
        )
    for iface, count in Counter(e.interface for e in entries if e.interface).items():
        if count > 1:
            issues.append(
                AnnotationIssue(
                    key,
                    Severity.ERROR,
                    f"{key} lists interface '{iface}' {count} times; "
                    f"SpiderPool rejects it ('duplicate interface {iface}')",
                )
            )
    if not any(named) and sp < UNNAMED_IPPOOLS_ENTRIES:
        issues.append(
            AnnotationIssue(
                key,
                Severity.ERROR,
                f"{key} entries have no interface, which SpiderPool {sp} "
                "rejects ('interface must be specified'; entries without names need v0.8.2+); "
                "name each entry: eth0 for the primary network, pod<hash> for the others",
            )
        )
    return entries


def _parse_ippool(text: Any, issues: list[AnnotationIssue]) -> list[PoolEntry]:
    key = IPPOOL_ANNOTATION
    parsed, value = _parse_json(text, key, '{"ipv4":["pool-v4"],"ipv6":["pool-v6"]}', issues)
    if not parsed:
        return []
    if isinstance(value, list):
        issues.append(
            AnnotationIssue(
                key,
                Severity.ERROR,
                f"{key} is a JSON list but must be one object such as "
                f'{{"ipv4":["pool-v4"]}}; use {IPPOOLS_ANNOTATION} for a list of per-interface entries',
            )
        )
        return []
    entry = _parse_item(value, key, None, issues)
    return [entry] if entry is not None else []


@functools.lru_cache(maxsize=4096)
def _parse_texts(ippools: str | None, ippool: str | None, sp: Version) -> PoolAnnotations:
    return _parse_values(ippools, ippool, sp)


def _parse_values(ippools: Any, ippool: Any, sp: Version) -> PoolAnnotations:
    issues: list[AnnotationIssue] = []
    many = _parse_ippools(ippools, sp, issues) if ippools is not None else []
    one = _parse_ippool(ippool, issues) if ippool is not None else []
    if ippools is not None and ippool is not None:
        issues.append(
            AnnotationIssue(
                IPPOOL_ANNOTATION,
                Severity.WARNING,
                f"{IPPOOL_ANNOTATION} is ignored because "
                f"{IPPOOLS_ANNOTATION} is also set (SpiderPool reads ippools first)",
            )
        )
    if ippools is not None:
        return PoolAnnotations(IPPOOLS_ANNOTATION, tuple(many), tuple(issues))
    if ippool is not None:
        return PoolAnnotations(IPPOOL_ANNOTATION, tuple(one), tuple(issues))
    return PoolAnnotations(None, (), ())


def pool_annotations(annotations: Mapping[str, Any], sp: Version) -> PoolAnnotations:
    """The ``ipam.spidernet.io/ippool(s)`` annotations as SpiderPool ``sp`` reads them (memoised on the text)."""
    many, one = annotations.get(IPPOOLS_ANNOTATION), annotations.get(IPPOOL_ANNOTATION)
    if isinstance(many, str | None) and isinstance(one, str | None):
        return _parse_texts(many, one, sp)
    return _parse_values(many, one, sp)


# --- the pod interfaces of a VM and the NADs behind them ----------------------------------------------------------


@dataclass(frozen=True)
class NadRef:
    namespace: str | None  # None: not given and not knowable here (a default network named without namespace)
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


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


def _parse_ref(text: str, default_namespace: str | None) -> NadRef:
    text = text.split("@", 1)[0].strip()
    if "/" in text:
        ns, _, name = text.partition("/")
        return NadRef(ns, name)
    return NadRef(default_namespace, text)


def _default_network_ref(annotations: Mapping[str, Any]) -> NadRef | None:
    value = annotations.get(DEFAULT_NETWORK_ANNOTATION)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.startswith(("[", "{")):
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            return None
        first = as_map(parsed[0] if isinstance(parsed, list) and parsed else parsed)
        name, ns = first.get("name"), first.get("namespace")
        return NadRef(str(ns) if ns else None, str(name)) if name else None
    return _parse_ref(text, None)


def _config_uses_spiderpool(text: Any) -> bool | None:
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
            elif nad.cni_type in (None, "custom"):
                out[key] = _config_uses_spiderpool(spec.get("customCNI"))
            else:
                out[key] = True  # SpiderPool generates the NAD with "ipam": {"type": "spiderpool"}
        else:
            out[key] = _config_uses_spiderpool(spec.get("config"))
    return out


def find_nad(ctx: LintContext, ref: NadRef, namespace: str) -> Nad | None:
    if ref.namespace is not None:
        return ctx.nads.get((ref.namespace, ref.name))
    return ctx.nads.get((namespace, ref.name)) or ctx.nads.get((SPIDERPOOL_NAMESPACE_GUESS, ref.name))


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
                ref = _default_network_ref(w.annotations)
                nad = find_nad(ctx, ref, w.namespace) if ref else None
                primary = PodNic(name, "eth0", True, ref, nad, uses_spiderpool(ctx, nad))
            continue
        if not isinstance(multus, Mapping):
            continue
        network_name = multus.get("networkName")
        if not isinstance(network_name, str) or not network_name:
            continue
        if multus.get("default") is True:
            if primary is None:
                ref = _parse_ref(network_name, None)
                nad = find_nad(ctx, ref, w.namespace)
                primary = PodNic(name, "eth0", True, ref, nad, uses_spiderpool(ctx, nad))
            continue
        ref = _parse_ref(network_name, w.namespace)
        nad = find_nad(ctx, ref, w.namespace)
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


@per_context
def _wildcard_cache(ctx: LintContext) -> dict[str, tuple[str, ...]]:
    return {}


def wildcard_matches(ctx: LintContext, pattern: str) -> tuple[str, ...]:
    cache = _wildcard_cache(ctx)
    found = cache.get(pattern)
    if found is None:
        found = tuple(fnmatch.filter(ctx.pools, pattern))
        cache[pattern] = found
    return found


@per_context
def _suggestions(ctx: LintContext) -> dict[str, str]:
    return {}


def _did_you_mean(ctx: LintContext, name: str) -> str:
    """``; did you mean 'x'?`` for a missing pool name (once per name and context; skipped on huge inputs)."""
    cache = _suggestions(ctx)
    if name not in cache:
        close = difflib.get_close_matches(name, list(ctx.pools), n=1, cutoff=0.7) if len(ctx.pools) <= 2000 else []
        cache[name] = f"; did you mean '{close[0]}'?" if close else ""
    return cache[name]


def _multus_matches(multus_names: Sequence[str], ref: NadRef) -> bool:
    for m in multus_names:
        if "/" in m:
            ns, _, name = m.partition("/")
            if name == ref.name and (ref.namespace is None or ns == ref.namespace):
                return True
        elif m == ref.name:  # a bare name means SpiderPool's own namespace, unknown here: compare names only
            return True
    return False


# --- rules --------------------------------------------------------------------------------------------------------


@rule(
    code="VN009",
    slug="ippool-annotation-invalid",
    severity=Severity.ERROR,
    summary="ipam.spidernet.io/ippool(s) annotations that are not valid JSON of the documented shape, mix named and "
    "unnamed entries, repeat an interface, or sit on the VM instead of its template",
    why="SpiderPool parses the annotation at CNI ADD; a bad value fails the pod's network setup ('invalid format of "
    "Pod annotation', 'NIC should be either all specified or all unspecified', 'duplicate interface', 'interface "
    "must be specified' on v0.8.0/v0.8.1) and the VM never starts. On a VirtualMachine's own metadata the annotation "
    "never reaches the virt-launcher pod, so the VM silently gets no fixed pool.",
    fix="Put the annotation under spec.template.metadata.annotations as a JSON string: ippool = "
    '{"ipv4":["pool-v4"]}, ippools = [{"interface":"eth0","ipv4":["pool-v4"]}, …] (all entries named or none).',
    references=("SP@v1.2.2:pkg/ipam/utils.go validateAndMutateMultipleNICAnnotations",
                "SP@v1.2.2:pkg/types (AnnoPodIPPoolValue, AnnoIPPoolItem)", "SP@v0.8.0:pkg/ipam/pool_selections.go",
                "PR #2618 (unnamed entries, v0.8.2)", UG_SP_ANNOTATIONS, SP_KUBEVIRT_DOC),
    versions="all; entries without interface are an error before SpiderPool v0.8.2",
)  # fmt: skip
def ippool_annotation_invalid(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    sp = ctx.versions.spiderpool
    w = ctx.workload(obj)
    if w is None:
        return
    if obj.kind == "VirtualMachine":
        for key in (IPPOOLS_ANNOTATION, IPPOOL_ANNOTATION):
            if key in obj.annotations:
                if key in w.annotations:
                    yield Violation(
                        f"{key} on the VirtualMachine's own metadata has no effect (the copy in "
                        "spec.template.metadata.annotations is the one SpiderPool reads); remove it",
                        ("metadata", "annotations", key),
                        Severity.WARNING,
                    )
                else:
                    yield Violation(
                        f"{key} is on the VirtualMachine's own metadata, which never reaches the "
                        "virt-launcher pod; move it to spec.template.metadata.annotations",
                        ("metadata", "annotations", key),
                    )
    parsed = pool_annotations(w.annotations, sp)
    for issue in parsed.issues:
        yield Violation(issue.message, w.annotation_path(issue.key), issue.severity)


def _pool_checks(nic: PodNic, entry: PoolEntry, ctx: LintContext, path: Path) -> Iterator[Violation]:
    """A NIC's pools against the pools' spec.multusName and the pools its NAD lists."""
    for family, _ in FAMILIES:
        names = entry.pools(family)
        if not names:
            continue
        mismatched: list[tuple[str, list[str]]] = []
        matching = 0
        for name in names:
            obj = ctx.pools.get(name)
            multus = [str(m) for m in as_list(as_map(obj.data.get("spec")).get("multusName"))] if obj else []
            if not multus or nic.nad_ref is None or _multus_matches(multus, nic.nad_ref):
                matching += 1
            else:
                mismatched.append((name, multus))
        for name, multus in mismatched:
            yield Violation(
                f"pool '{name}' ({entry.label}) has spec.multusName {', '.join(multus)}, which does not include "
                f"{nic.nad_ref}, the NAD of {nic.where}; SpiderPool filters the pool out for that interface "
                "('… unmatched multusCR')",
                path,
                Severity.ERROR if matching == 0 else Severity.WARNING,
                f"Add {nic.nad_ref} to the pool's spec.multusName, or give {nic.pod_interface} a pool made for it.",
            )
        if nic.nad is None:
            continue
        nad_pools = nic.nad.ipv4_pools if family == 4 else nic.nad.ipv6_pools
        if not nad_pools:
            continue
        nad_subnets = {spec.subnet for p in nad_pools if (spec := ctx.pool_specs.get(p)) is not None}
        for name in names:
            if name in nad_pools or (ctx.pools and name not in ctx.pools):
                continue  # listed, or missing from the input's pools (ippool-not-found reports that)
            spec = ctx.pool_specs.get(name)
            if spec is not None and spec.subnet in nad_subnets:
                continue  # another pool of the same subnet: same network, fine
            kind = "SpiderMultusConfig" if nic.nad.source.kind == "SpiderMultusConfig" else "NAD"
            yield Violation(
                f"pool '{name}' ({entry.label}) is not among the IPv{family} pools {', '.join(nad_pools)} that "
                f"{kind} {nic.nad.ref} lists for {nic.title}; the annotation wins, so check the pool is on that "
                "network's subnet/VLAN",
                path,
                Severity.WARNING,
            )


@rule(
    code="VN010",
    slug="ippool-interface-mismatch",
    severity=Severity.ERROR,
    summary="ipam.spidernet.io/ippools entries whose interface names, order or pools do not match the pod interfaces "
    "KubeVirt creates (eth0, pod<sha256(network)[:11]>; never net1 on v1.0+)",
    why="KubeVirt >= v1.0 names secondary pod interfaces pod + sha256(network name)[:11], so an entry for 'net1' "
    "never matches and SpiderPool fails CNI ADD for the real interface ('interface pod… must be specified'). A pool "
    "whose spec.multusName does not include the NIC's NAD is filtered out ('… unmatched multusCR').",
    fix="Name entries eth0 for the primary network and pod + sha256(spec.networks[].name)[:11] for each secondary "
    "Multus network (each finding gives the name), or drop the names and list one entry per pod interface in order "
    "(eth0 first; needs SpiderPool v0.8.2+).",
    references=("KV@v1.0.1:pkg/network/namescheme/networknamescheme.go (PR #9268)",
                "SP@v1.2.2:pkg/ipam/utils.go validateAndMutateMultipleNICAnnotations",
                "SP@v1.2.2:pkg/ipam/allocate.go selectByPod (multusName)", "PR #2902", SP_KUBEVIRT_DOC),
    versions="KubeVirt v1.0+ interface names; SpiderPool v0.8+",
)  # fmt: skip
def ippool_interface_mismatch(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    kv = ctx.versions.kubevirt
    for w in workload_of(obj, ctx):
        parsed = pool_annotations(w.annotations, ctx.versions.spiderpool)
        if parsed.key is None or not parsed.ok or not parsed.entries:
            continue  # ippool-annotation-invalid reports it
        path = w.annotation_path(parsed.key)
        nics = pod_nics(w, ctx)
        if parsed.key == IPPOOL_ANNOTATION:
            entry = parsed.entries[0]
            sp_nics = [n for n in nics if n.uses_spiderpool]
            if len(sp_nics) > 1:
                yield Violation(
                    f"{IPPOOL_ANNOTATION} gives every SpiderPool interface "
                    f"({', '.join(n.pod_interface for n in sp_nics)}) the same pools; use {IPPOOLS_ANNOTATION} "
                    "with one entry per interface",
                    path,
                    Severity.WARNING,
                )
            for nic in sp_nics:
                yield from _pool_checks(nic, entry, ctx, path)
            continue
        if parsed.named:
            yield from _named_entries(parsed.entries, nics, ctx, path, kv)
        else:
            yield from _ordered_entries(parsed.entries, nics, ctx, path)


def _named_entries(
    entries: Sequence[PoolEntry], nics: list[PodNic], ctx: LintContext, path: Path, kv: Version
) -> Iterator[Violation]:
    by_iface = {n.pod_interface: n for n in nics}
    secondaries = [n for n in nics if not n.primary]
    covered = {e.interface for e in entries}
    for entry in entries:
        iface = entry.interface or ""
        nic = by_iface.get(iface)
        if nic is not None:
            yield from _pool_checks(nic, entry, ctx, path)
            continue
        ordinal = _ORDINAL_IFACE.match(iface)
        if ordinal and 1 <= int(ordinal.group(1)) <= len(secondaries):
            right = secondaries[int(ordinal.group(1)) - 1]
            covered.add(right.pod_interface)  # reported here, not again as a missing entry
            yield Violation(
                f"entry {entry.index} names interface '{iface}', the pre-v1.0 ordinal name; KubeVirt {kv} names the "
                f"pod interface of network '{right.network}' {right.pod_interface}: use that",
                path,
                fix=f'Write "interface":"{right.pod_interface}" (pod + sha256("{right.network}")[:11]).',
            )
            yield from _pool_checks(right, entry, ctx, path)
            continue
        names = ", ".join(
            f"{n.pod_interface} ({'cluster default network' if n.network is None else repr(n.network)})" for n in nics
        )
        note = " (ordinal netN names are only kept for VMs created before KubeVirt v1.0)" if ordinal else ""
        yield Violation(
            f"entry {entry.index} names interface '{iface}', which the VM's pod does not have{note}; "
            f"its interfaces are {names}",
            path,
        )
    for nic in nics:
        if nic.pod_interface in covered or nic.network is None:
            continue
        if nic.uses_spiderpool is True:
            yield Violation(
                f"{nic.title} uses SpiderPool IPAM but has no ippools entry; SpiderPool fails its CNI ADD "
                f"('interface {nic.pod_interface} must be specified')",
                path,
                fix=f'Add {{"interface":"{nic.pod_interface}","ipv4":[…]}} to {IPPOOLS_ANNOTATION}.',
            )
        elif nic.uses_spiderpool is None and nic.nad_ref is not None and nic.nad is None:
            yield Violation(
                f"{nic.title} has no ippools entry; if NAD {nic.nad_ref} (not in the input) uses SpiderPool IPAM, "
                f"SpiderPool fails its CNI ADD ('interface {nic.pod_interface} must be specified')",
                path,
                Severity.WARNING,
            )


def _ordered_entries(
    entries: Sequence[PoolEntry], nics: list[PodNic], ctx: LintContext, path: Path
) -> Iterator[Violation]:
    for position, nic in enumerate(nics):
        if position < len(entries):
            yield from _pool_checks(nic, entries[position], ctx, path)
        elif nic.uses_spiderpool is True:
            yield Violation(
                f"{nic.title} is pod interface #{position} and uses SpiderPool IPAM, but the ippools annotation has "
                f"only {plural(len(entries), 'entry')}; entries without interface map to pod interfaces in order "
                "(entry 0 → eth0, entry 1 → the first secondary network, …)",
                path,
                fix="Add one entry per pod interface, in order, or name each entry's interface.",
            )
    if len(entries) > len(nics):
        extra = [str(i) for i in range(len(nics), len(entries))]
        which = f"entry {extra[0]} matches" if len(extra) == 1 else f"entries {', '.join(extra)} match"
        yield Violation(
            f"the ippools annotation has {len(entries)} entries but the VM's pod has "
            f"{plural(len(nics), 'interface')} ({', '.join(n.pod_interface for n in nics)}); {which} no interface",
            path,
            Severity.WARNING,
        )


def _check_pool_name(name: str, family: Family, ctx: LintContext, where: str) -> tuple[Severity, str] | None:
    sp = ctx.versions.spiderpool
    if _WILDCARD_CHARS & set(name):
        if sp < WILDCARD_POOL_NAMES:
            return Severity.ERROR, (
                f"{where} names pool '{name}'; wildcard pool names need SpiderPool v1.0+, and on "
                f"{sp} it is a literal name no SpiderIPPool can have"
            )
        if not ctx.pools:
            return None
        matches = wildcard_matches(ctx, name)
        if not matches:
            return Severity.WARNING, f"{where} names pool pattern '{name}', which matches no SpiderIPPool in the input"
        families = {pool_family(ctx, m) for m in matches}
        if None not in families and family not in families:
            return Severity.ERROR, (
                f"{where} lists pattern '{name}' under ipv{family}, but every pool it matches "
                f"({listed(list(matches))}) is IPv{6 if family == 4 else 4}"
            )
        return None
    if not is_dns1123_subdomain(name):
        return Severity.ERROR, (
            f"{where} names pool '{name}', which is not a valid object name (lowercase "
            "letters, digits, '-' and '.'), so no such SpiderIPPool can exist"
        )
    if name in ctx.pools:
        actual = pool_family(ctx, name)
        if actual is not None and actual != family:
            return Severity.ERROR, (
                f"{where} lists pool '{name}' under ipv{family}, but it is an IPv{actual} pool; "
                f"SpiderPool fails ('expect an IPv{family} IPPool, but the version of the IPPool "
                f"{name} is IPv{actual}')"
            )
        return None
    if ctx.pools:
        return Severity.WARNING, (
            f"{where} names pool '{name}', which is not among the input's SpiderIPPools{_did_you_mean(ctx, name)}"
        )
    return None


@rule(
    code="VN011",
    slug="ippool-not-found",
    severity=Severity.WARNING,
    summary="a pool named by ippool(s) annotations or a SpiderMultusConfig that is not among the input's "
    "SpiderIPPools, or listed under the wrong IP family",
    why="SpiderPool looks the pools up at CNI ADD: a missing pool fails the VM's network setup ('failed to get "
    "original IPPool'), and an IPv6 pool under ipv4 is rejected ('expect an IPv4 IPPool, but the version of the "
    "IPPool … is IPv6'). The webhook never checks these references.",
    fix="Fix the pool name (or add the SpiderIPPool), and list IPv4 pools under ipv4 and IPv6 pools under ipv6.",
    references=("SP@v1.2.2:pkg/ipam/pool_selections.go getPoolCandidates",
                "SP@v1.2.2:pkg/ipam/allocate.go selectByPod", "SP:docs/usage/spider-ippool.md (wildcards, v1.0+)",
                UG_SP_ANNOTATIONS),
    versions="all; reported only when the input contains SpiderIPPools (pools may otherwise live in the cluster)",
    kinds=("VirtualMachine", "VirtualMachineInstance", "SpiderMultusConfig"),
)  # fmt: skip
def ippool_not_found(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    if obj.kind == "SpiderMultusConfig":
        spec = as_map(obj.data.get("spec"))
        cni = spec.get("cniType")
        block = SMC_BLOCKS.get(cni) if isinstance(cni, str) and cni != "custom" else None
        if block is None:
            return
        pools = as_map(as_map(spec.get(block)).get("ippools"))
        for family, key in FAMILIES:
            for i, name in enumerate(as_list(pools.get(key))):
                if not isinstance(name, str) or name in ctx.pools:
                    continue  # wrong family is multusconfig-invalid's; malformed values too
                found = _check_pool_name(name, family, ctx, f"spec.{block}.ippools.{key}")
                if found is not None:
                    yield Violation(found[1], ("spec", block, "ippools", key, i), found[0])
        return
    for w in workload_of(obj, ctx):
        parsed = pool_annotations(w.annotations, ctx.versions.spiderpool)
        seen: set[tuple[str, int]] = set()
        for entry in parsed.entries:
            for family, _ in FAMILIES:
                for name in entry.pools(family):
                    if (name, family) in seen:
                        continue
                    seen.add((name, family))
                    where = str(parsed.key) if entry.index is None else f"{parsed.key} entry {entry.index}"
                    found = _check_pool_name(name, family, ctx, where)
                    if found is not None:
                        yield Violation(found[1], w.annotation_path(str(parsed.key)), found[0])


def _sentence(field: str, message: str) -> str:
    """``field`` and a model message as one sentence (model messages name the value, not always the field)."""
    if message.startswith(field) or f"needs {field}" in message:
        return message
    if message.startswith(("is ", "contains ", "has ")):
        return f"{field} {message}"
    if field in ("spec.ips", "spec.excludeIPs") and "outside" in message:
        return f"{field} has {message}"
    return f"{field}: {message}"


def _subnet_fix(field: str, message: str, spec: PoolSpec) -> str:
    """VN012's fix for this pool and this problem (not the generic one)."""
    if "default route" in message or ("route" in message and "0.0.0.0/0" in message):
        return "Remove the default route from spec.routes and set spec.gateway instead."
    if "spec.gateway" in message and field in ("spec.ips", "spec.excludeIPs") and spec.gateway is not None:
        return f"Take the gateway {spec.gateway} out of spec.ips (or add it to spec.excludeIPs)."
    return f"Correct {field} so that every value is well-formed and inside spec.subnet {spec.subnet}."


def _entry_path(spec_data: Mapping[str, Any], field: str, family: Family, target: IPSet) -> Path:
    """The first ``spec.<field>[i]`` entry that overlaps ``target`` (or the list itself)."""
    for i, text in enumerate(as_list(spec_data.get(field))):
        try:
            entry = IPSet.parse(text, family, allow_cidr=False)
        except InputError:
            continue
        if entry.overlaps(target):
            return ("spec", field, i)
    return ("spec", field)


@rule(
    code="VN012",
    slug="ippool-subnet-invalid",
    severity=Severity.ERROR,
    summary="SpiderIPPool fields the webhook rejects: non-canonical subnet, ips/excludeIPs/gateway/routes outside the "
    "subnet, reversed ranges, gateway among the handed-out ips, a default route, unparseable values",
    why="The SpiderIPPool webhook refuses the pool ('unformatted subnet %s, please change it to %s' on v0.9.2+, 'not "
    "pertains to the spec.subnet', 'conflicts with spec.gateway', 'please specify spec.gateway to configure the "
    "default route'), so every VM that names it cannot get an address.",
    fix="Write spec.subnet as its network address (e.g. 10.7.0.0/16, not 10.7.1.0/16), keep ips/excludeIPs/"
    "gateway/routes inside it, exclude the gateway from ips, and set the default route with spec.gateway.",
    references=("SP@v1.2.2:pkg/ippoolmanager/ippool_validate.go", "PR #3068 (canonical subnet, v0.9.2)",
                "SP@v1.2.2:pkg/ip/subnet.go (PR #3804)", "SP@v0.8.13:pkg/ip/iprange.go"),
    versions="all; a non-canonical subnet is an error from SpiderPool v0.9.2, a warning before",
    kinds=("SpiderIPPool",),
)  # fmt: skip
def ippool_subnet_invalid(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    sp = ctx.versions.spiderpool
    data: Mapping[str, Any] = obj.data
    api = data.get("apiVersion")
    if api is not None and api != API_VERSION:
        yield Violation(
            f"apiVersion {api!r} is not {API_VERSION}, the only version SpiderPool v0.8-v1.2 serves", ("apiVersion",)
        )
        data = {k: v for k, v in data.items() if k != "apiVersion"}
    cached = ctx.pool_specs.get(obj.ref.name) if ctx.pools.get(obj.ref.name) is obj and data is obj.data else None
    try:
        spec = cached or PoolSpec.from_manifest(data)  # parsed once per input pool by the context
    except InputError as err:
        field = err.location.path or "spec"
        yield Violation(_sentence(field, err.message), parse_path(field))
        return
    spec_data = as_map(data.get("spec"))
    for field, message in spec.problems():
        if field == "spec.subnet":
            continue  # canonical form: reported below with the version-specific severity
        path: Path = parse_path(field)
        if field in ("spec.ips", "spec.excludeIPs"):
            if "spec.gateway" in message and spec.gateway is not None:
                target = IPSet.from_address(spec.gateway)
            else:
                target = (spec.ips if field == "spec.ips" else spec.exclude) - spec.subnet_set
            path = _entry_path(spec_data, field.split(".")[1], spec.family, target)
        yield Violation(_sentence(field, message), path, fix=_subnet_fix(field, message, spec))
    if not spec.is_canonical:
        right = str(spec.subnet)
        fix = f"Write spec.subnet as its network address: {right} (not {spec.subnet_text})."
        if sp >= CANONICAL_SUBNET_REQUIRED:
            yield Violation(
                f"spec.subnet {spec.subnet_text} is not canonical; write {right} (SpiderPool {sp} rejects "
                f"it: 'unformatted subnet {spec.subnet_text}, please change it to {right}')",
                ("spec", "subnet"),
                fix=fix,
            )
        else:
            yield Violation(
                f"spec.subnet {spec.subnet_text} is not canonical; write {right} (SpiderPool {sp} "
                "accepts it, v0.9.2 and later reject it)",
                ("spec", "subnet"),
                Severity.WARNING,
                fix=fix,
            )


@dataclass(frozen=True)
class _OverlapIndex:
    subnets: dict[str, list[str]]  # pool → pools with a different but overlapping subnet (at most MAX_LISTED + 1)
    addresses: dict[str, list[str]]  # pool → same-subnet pools handing out shared addresses (at most MAX_LISTED + 1)


def _nested_subnets(by_subnet: Mapping[IPNetwork, list[str]], out: dict[str, list[str]]) -> None:
    """CIDRs either nest or are disjoint: one sweep with a stack of enclosing subnets finds every conflict."""
    cap = MAX_LISTED + 1
    for version in (4, 6):
        nets = sorted(
            (n for n in by_subnet if n.version == version), key=lambda n: (int(n.network_address), n.prefixlen)
        )
        stack: list[IPNetwork] = []
        below: dict[IPNetwork, list[str]] = defaultdict(list)  # pools of subnets nested inside (capped)
        above: dict[IPNetwork, list[str]] = {}
        for net in nets:
            while stack and int(stack[-1].broadcast_address) < int(net.network_address):
                stack.pop()
            found: list[str] = []
            for outer in reversed(stack):  # at most 32 / 128 enclosing subnets
                if len(found) < cap:
                    found.extend(by_subnet[outer][: cap - len(found)])
                if len(below[outer]) < cap:
                    below[outer].extend(by_subnet[net][: cap - len(below[outer])])
            above[net] = found
            stack.append(net)
        for net in nets:
            others = (above[net] + below[net])[:cap]
            if others:
                for name in by_subnet[net]:
                    out[name] = others


def _shared_addresses(group: list[str], specs: Mapping[str, PoolSpec], out: dict[str, list[str]]) -> None:
    """Same-subnet pools whose effective addresses intersect: a sweep over their intervals, O(n log n + n·k).

    A pool's intervals are disjoint, so the active intervals belong to distinct pools and all contain the current
    start point: each new interval overlaps every active one. Each pool collects at most ``cap`` partners; pools
    still collecting ("hungry") are all active together and know each other, so there are never more than ``cap``.
    """
    cap = MAX_LISTED + 1
    events = sorted((lo, hi, name) for name in group for lo, hi in specs[name].effective.intervals)
    found: dict[str, list[str]] = {name: [] for name in group}
    heap: list[tuple[int, int, str]] = []  # (hi, sequence, pool) of active intervals
    hungry: dict[str, int] = {}  # active pools with fewer than cap partners → sequence of their active interval
    for seq, (lo, hi, name) in enumerate(events):
        while heap and heap[0][0] < lo:
            _, old_seq, old = heapq.heappop(heap)
            if hungry.get(old) == old_seq:
                del hungry[old]
        mine = found[name]
        for _, _, other in heap:
            if len(mine) >= cap:
                break
            if other != name and other not in mine:
                mine.append(other)
        for other in list(hungry):
            theirs = found[other]
            if other != name and name not in theirs:
                theirs.append(name)
                if len(theirs) >= cap:
                    del hungry[other]
        heapq.heappush(heap, (hi, seq, name))
        if len(mine) < cap:
            hungry[name] = seq
    for name, partners in found.items():
        if partners:
            out[name] = partners


@per_context
def _overlap_index(ctx: LintContext) -> _OverlapIndex:
    specs = {name: spec for name, spec in ctx.pool_specs.items() if spec is not None}
    by_subnet: dict[IPNetwork, list[str]] = defaultdict(list)
    for name, spec in specs.items():
        by_subnet[spec.subnet].append(name)
    subnets: dict[str, list[str]] = {}
    _nested_subnets(by_subnet, subnets)
    addresses: dict[str, list[str]] = {}
    for group in by_subnet.values():
        if len(group) > 1:
            _shared_addresses(group, specs, addresses)
    return _OverlapIndex(subnets, addresses)


@per_context
def _pool_order(ctx: LintContext) -> dict[str, int]:
    """Input position of each pool: an overlapping pair is reported once, on the later pool."""
    return {name: i for i, name in enumerate(ctx.pools)}


@rule(
    code="VN013",
    slug="ippool-overlap",
    severity=Severity.ERROR,
    summary="SpiderIPPools with different but overlapping subnets, or with the same subnet and shared addresses",
    why="The SpiderIPPool webhook rejects whichever pool comes second ('overlap with IPPool %s which spec.subnet is "
    "%s', 'overlap with IPPool %s in IP ranges %v'); if it got in anyway, two VMs could get the same address.",
    fix="Pools sharing a network must use the identical spec.subnet and disjoint ips (or excludeIPs); otherwise use "
    "non-overlapping subnets.",
    references=("SP@v1.2.2:pkg/ippoolmanager/ippool_validate.go validateIPPoolCIDR, validateIPPoolAvailableIPs",),
    versions="all supported SpiderPool versions",
    kinds=("SpiderIPPool",),
)  # fmt: skip
def ippool_overlap(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    name = obj.ref.name
    if ctx.pools.get(name) is not obj:
        return
    spec = ctx.pool_specs.get(name)
    if spec is None:
        return
    index = _overlap_index(ctx)
    order = _pool_order(ctx)
    spec_data = as_map(obj.data.get("spec"))
    for others, field in ((index.subnets.get(name, []), "subnet"), (index.addresses.get(name, []), "ips")):
        for other in others[:MAX_LISTED]:
            other_spec = ctx.pool_specs.get(other)
            if other_spec is None or order.get(other, -1) > order[name]:
                continue  # each pair once: on the pool that comes second (the one SpiderPool rejects)
            why = overlap(spec, other_spec)
            if why is None:
                continue
            if field == "subnet":
                path: Path = ("spec", "subnet")
            else:
                path = _entry_path(spec_data, "ips", spec.family, spec.effective & other_spec.effective)
            yield Violation(f"{why} (SpiderPool rejects whichever pool is created second)", path)
        if len(others) > MAX_LISTED:
            what = "overlapping subnets" if field == "subnet" else "shared addresses"
            yield Violation(
                f"SpiderIPPool {name} has {what} with more pools than the {MAX_LISTED} listed", ("spec", field)
            )


@rule(
    code="VN014",
    slug="ippool-removed-field",
    severity=Severity.ERROR,
    summary="spec.vlan on a SpiderIPPool or SpiderSubnet: removed in SpiderPool v1.0, deprecated without effect before",
    why="SpiderPool v1.0 dropped the field from the CRD (PR #4549): `kubectl apply` (strict field validation) "
    "rejects the manifest ('unknown field \"spec.vlan\"') and other clients prune it. On v0.8/v0.9 it is marked "
    "DEPRECATED and has no effect on allocation, so the VM is not on that VLAN.",
    fix="Remove spec.vlan; put the VLAN in the SpiderMultusConfig: spec.macvlan.vlanID, spec.ipvlan.vlanID or "
    "spec.ovs.vlan.",
    references=("SP@v0.8.13 vs SP@v1.0.0:pkg/k8s/apis/spiderpool.spidernet.io/v2beta1/spiderippool_types.go",
                "PR #2493 (deprecated)", "PR #4549 (removed)",
                "kubernetes/enhancements#2885 (strict field validation)"),
    versions="error on SpiderPool v1.0+, warning on v0.8/v0.9",
    kinds=("SpiderIPPool", "SpiderSubnet"),
)  # fmt: skip
def ippool_removed_field(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    spec = as_map(obj.data.get("spec"))
    if "vlan" not in spec:
        return
    sp = ctx.versions.spiderpool
    value = spec.get("vlan")
    fix = (
        f"Remove spec.vlan and set the VLAN ({value}) in the SpiderMultusConfig: macvlan.vlanID / ipvlan.vlanID / "
        "ovs.vlan."
    )
    if sp >= IPPOOL_VLAN_REMOVED:
        yield Violation(
            f"{obj.kind} spec.vlan ({value}) does not exist in SpiderPool {sp} (removed in v1.0); strict "
            "apply rejects the manifest",
            ("spec", "vlan"),
            fix=fix,
        )
    else:
        yield Violation(
            f"{obj.kind} spec.vlan ({value}) is deprecated and has no effect on SpiderPool {sp} (and is "
            "rejected from v1.0)",
            ("spec", "vlan"),
            Severity.WARNING,
            fix,
        )


def _demand(w: Workload, pool: str, family: Family, ctx: LintContext) -> int:
    """Addresses ``w`` takes from ``pool``: one per entry that names it first (later names are fallbacks)."""
    parsed = pool_annotations(w.annotations, ctx.versions.spiderpool)
    return sum(1 for e in parsed.entries if e.pools(family)[:1] == (pool,))


@rule(
    code="VN015",
    slug="ippool-exhausted",
    severity=Severity.ERROR,
    summary="a SpiderIPPool with fewer free addresses than the VMs of the input that take a fixed IP from it",
    why="Each VM keeps its address while it exists; once the pool is used up the next VM's pod fails CNI ADD "
    "('all IP addresses used out') and the VM never starts.",
    fix="Add addresses to spec.ips (or remove them from excludeIPs), or move some VMs to another pool.",
    references=("SP@v1.2.2:pkg/constant/errors.go (ErrIPUsedOut)", "SP@v1.2.2:pkg/ipam/allocate.go",
                "SP@v1.2.2:pkg/workloadendpointmanager/workloadendpoint_manager.go"),
    versions="all supported SpiderPool versions",
    kinds=("SpiderIPPool",),
)  # fmt: skip
def ippool_exhausted(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    name = obj.ref.name
    users = ctx.pool_users.get(name)
    if not users or ctx.pools.get(name) is not obj:
        return
    spec = ctx.pool_specs.get(name)
    if spec is None:
        return
    demand: dict[tuple[str, str], int] = {}
    for w in users:  # a VM and the VMI it created are one endpoint: count each namespace/name once
        key = (w.namespace, w.obj.ref.name)
        demand[key] = max(demand.get(key, 0), _demand(w, name, spec.family, ctx))
    needed = sum(demand.values())
    takers = [f"{ns}/{vm}" for (ns, vm), n in demand.items() if n]
    if not needed:
        return
    capacity = spec.capacity
    allocated = as_map(obj.data.get("status")).get("allocatedIPCount")
    used = allocated if isinstance(allocated, int) and not isinstance(allocated, bool) and allocated > 0 else 0
    if needed > capacity:
        yield Violation(
            f"SpiderIPPool {name} hands out {plural(capacity, 'address')} but {needed} fixed IPs are taken from it "
            f"by {plural(len(takers), 'VM')} of the input ({listed(takers)})",
            ("spec", "ips"),
        )
    elif needed > capacity - used:
        yield Violation(
            f"SpiderIPPool {name} has {plural(capacity - used, 'free address')} ({capacity} minus "
            f"status.allocatedIPCount {used}) but {needed} fixed IPs are taken from it by VMs of the input "
            f"({listed(takers)}), unless some of them already hold an allocated address",
            ("spec", "ips"),
            Severity.WARNING,
        )


# --- helpers for other rule modules -------------------------------------------------------------------------------


@per_context
def fixed_ip_workloads(ctx: LintContext) -> list[str]:
    """``namespace/name`` of the input's VMs that take fixed IPs from SpiderPool (annotations or a SpiderPool NAD)."""
    out: dict[str, None] = {}
    sp = ctx.versions.spiderpool
    for w in ctx.workloads:
        if not w.spec:
            continue
        label = f"{w.namespace}/{w.obj.ref.name}"
        parsed = pool_annotations(w.annotations, sp)
        if any(e.ipv4 or e.ipv6 for e in parsed.entries) or any(n.uses_spiderpool for n in pod_nics(w, ctx)):
            out[label] = None
    return list(out)
