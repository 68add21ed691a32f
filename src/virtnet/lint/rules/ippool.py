"""Rules about the pool annotations of workloads: the ``ipam.spidernet.io/ippool(s)`` annotations SpiderPool reads
(VN009), whether their entries fit the pod interfaces KubeVirt creates (VN010) and whether the pools they name exist
with the right IP family (VN011).

Facts: SpiderPool's IPAM (``SP@v1.2.2:pkg/ipam/pool_selections.go``, ``pkg/ipam/utils.go``, ``pkg/ipam/allocate.go``),
the annotation types (``SP@v1.2.2:pkg/types``: ``AnnoPodIPPoolValue``, ``AnnoIPPoolItem``) and KubeVirt's pod interface
naming (``KV@v1.0.1:pkg/network/namescheme/networknamescheme.go``). :mod:`virtnet.lint.spiderpool` reads the
annotations and the pod interfaces; :mod:`~virtnet.lint.rules.ippool_fields` and
:mod:`~virtnet.lint.rules.ippool_overlap` check the SpiderIPPools themselves.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterator, Sequence

from virtnet.lint.context import IPPOOL_ANNOTATION, IPPOOLS_ANNOTATION, SMC_BLOCKS, LintContext, workload_of
from virtnet.lint.model import LintObject, Path, Severity, Violation
from virtnet.lint.registry import rule
from virtnet.lint.spiderpool import (
    FAMILIES,
    WILDCARD_CHARS,
    PodNic,
    PoolEntry,
    pod_nics,
    pool_family,
    requested_pools,
)
from virtnet.model.capabilities import WILDCARD_POOL_NAMES
from virtnet.model.identity import is_dns1123_subdomain
from virtnet.model.ipset import Family
from virtnet.model.manifest import as_list, as_map
from virtnet.model.podannotations import NadRef
from virtnet.model.text import listed, plural
from virtnet.model.versions import Version

_ORDINAL_IFACE = re.compile(r"^net(\d+)$")
UG_SP_ANNOTATIONS = "SP:docs/reference/annotation.md"
SP_KUBEVIRT_DOC = "SP:docs/usage/kubevirt.md"
# "did you mean" for a pool name the input lacks (virtnet's choices, not upstream facts): difflib's similarity ratio
# at least CLOSE_POOL_NAME (its default 0.6 would offer 'dev-v4' for 'prod-v4', 0.615; a v4/v6 swap scores 0.86),
# and no suggestion beyond MAX_FUZZY_POOLS pools: difflib compares the name with every pool, ~6 µs each, so one
# missing name costs ~12 ms at 2,000 pools and the search would outweigh the lint of a large input.
CLOSE_POOL_NAME = 0.7
MAX_FUZZY_POOLS = 2000


# --- pools of the input -----------------------------------------------------------------------------------------


def wildcard_matches(ctx: LintContext, pattern: str) -> tuple[str, ...]:
    """The input's pools a wildcard pool name matches (once per pattern and context)."""
    return ctx.memo((wildcard_matches, pattern), lambda: tuple(fnmatch.filter(ctx.pools, pattern)))


def _did_you_mean(ctx: LintContext, name: str) -> str:
    """``; did you mean 'x'?`` for a missing pool name (once per name and context; skipped on huge inputs)."""
    return ctx.memo((_did_you_mean, name), lambda: _closest_pool(ctx, name))


def _closest_pool(ctx: LintContext, name: str) -> str:
    if len(ctx.pools) > MAX_FUZZY_POOLS:
        return ""
    close = difflib.get_close_matches(name, list(ctx.pools), n=1, cutoff=CLOSE_POOL_NAME)
    return f"; did you mean '{close[0]}'?" if close else ""


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
    parsed = requested_pools(w, ctx)
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
        parsed = requested_pools(w, ctx)
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
    if WILDCARD_CHARS & set(name):
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
        parsed = requested_pools(w, ctx)
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
