"""Rules about the addresses SpiderIPPools hand out: pools that overlap (VN013) and pools with fewer addresses than
the VMs of the input take from them (VN015).

Facts: the SpiderIPPool webhook (``SP@v1.2.2:pkg/ippoolmanager/ippool_validate.go`` validateIPPoolCIDR,
validateIPPoolAvailableIPs) and SpiderPool's IPAM (``SP@v1.2.2:pkg/ipam/allocate.go``). Both rules compare every pool
with every other, so what needs the whole input (the overlap index, the VMs naming each pool) is built once per
:class:`~virtnet.lint.context.LintContext` (:func:`~virtnet.lint.context.per_context`); no range is ever expanded.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from virtnet.lint.context import LintContext, Workload, per_context
from virtnet.lint.model import LintObject, Path, Severity, Violation
from virtnet.lint.registry import rule
from virtnet.lint.rules.ippool_fields import entry_path
from virtnet.lint.spiderpool import requested_pools
from virtnet.model.ippool import PoolSpec, overlap
from virtnet.model.ipset import Family, IPNetwork
from virtnet.model.manifest import as_int, as_map
from virtnet.model.text import MAX_LISTED, listed, plural


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
                path = entry_path(spec_data, "ips", spec.family, spec.effective & other_spec.effective)
            yield Violation(f"{why} (SpiderPool rejects whichever pool is created second)", path)
        if len(others) > MAX_LISTED:
            what = "overlapping subnets" if field == "subnet" else "shared addresses"
            yield Violation(
                f"SpiderIPPool {name} has {what} with more pools than the {MAX_LISTED} listed", ("spec", field)
            )


@per_context
def _pool_users(ctx: LintContext) -> dict[str, list[Workload]]:
    """Which workloads name which pool in their pool annotations (as SpiderPool reads them)."""
    users: dict[str, list[Workload]] = defaultdict(list)
    for w in ctx.workloads:
        for pool in {p for e in requested_pools(w, ctx).entries for p in (*e.ipv4, *e.ipv6)}:
            users[pool].append(w)
    return users


def _demand(w: Workload, pool: str, family: Family, ctx: LintContext) -> int:
    """Addresses ``w`` takes from ``pool``: one per entry that names it first (later names are fallbacks)."""
    return sum(1 for e in requested_pools(w, ctx).entries if e.pools(family)[:1] == (pool,))


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
    users = _pool_users(ctx).get(name)
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
    used = max(as_int(as_map(obj.data.get("status")).get("allocatedIPCount")) or 0, 0)
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
