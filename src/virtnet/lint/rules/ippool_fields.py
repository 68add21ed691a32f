"""Rules about the fields of a SpiderIPPool: what its webhook refuses (VN012) and the removed ``spec.vlan`` (VN014).

Facts: the SpiderIPPool webhook (``SP@v1.2.2:pkg/ippoolmanager/ippool_validate.go``) and its CRD per version
(``spiderippool_types.go``). Address arithmetic goes through :mod:`virtnet.model.ippool` /
:class:`~virtnet.model.ipset.IPSet`; no range is ever expanded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from virtnet.errors import InputError
from virtnet.formats.yamlio import parse_path
from virtnet.lint.context import LintContext
from virtnet.lint.model import LintObject, Path, Severity, Violation
from virtnet.lint.registry import rule
from virtnet.model.capabilities import CANONICAL_SUBNET_REQUIRED, IPPOOL_VLAN_REMOVED
from virtnet.model.ippool import API_VERSION, PoolSpec
from virtnet.model.ipset import Family, IPSet
from virtnet.model.manifest import as_list, as_map


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


def entry_path(spec_data: Mapping[str, Any], field: str, family: Family, target: IPSet) -> Path:
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
            path = entry_path(spec_data, field.split(".")[1], spec.family, target)
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
