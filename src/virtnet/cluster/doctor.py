"""``virtnet doctor``: is this cluster ready for a network mode? Preflight checks as pure functions.

Two steps, so that the same decisions can serve a webhook or a controller that already holds the objects:

- :func:`gather` does every read (about ten requests: the facts of :func:`virtnet.cluster.read.read_facts`, then
  SpiderMultusConfigs, NADs and SpiderIPPools). A read that is refused or whose kind is not installed is recorded
  as :class:`Unread` in the :class:`Snapshot` instead of raised.
- :func:`run` is pure: ``Snapshot`` (dicts) + :class:`Options` → :class:`Report`. Each check is a small function
  ``(Snapshot, Basis) -> CheckResult`` with a stable kebab-case id. A check that cannot read what it needs says
  ``skip`` with the reason (``forbidden (needs list on spiderippools.spiderpool.spidernet.io)``); a check that does
  not apply to the chosen mode is not listed at all (see :data:`CHECKS`).

An unreachable server, credentials it refuses, or a server that fails (5xx, not Kubernetes) is not a check result:
no check could run, so :func:`gather` raises the :class:`~virtnet.errors.ClusterError` and the CLI prints one line
naming the server and the next step, exit 1, as every cluster verb does. ``api-reachable`` therefore reports the
server and its version whenever there is a report.

Upstream facts behind the version-dependent checks are cited next to each check (``KV@tag:path`` =
kubevirt/kubevirt, ``SP@tag:path`` = spidernet-io/spiderpool, ``HCO:path`` =
kubevirt/hyperconverged-cluster-operator).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from virtnet.cluster.facts import (
    HCO_KIND,
    HCO_LABEL,
    HCO_MANAGER,
    NAD_GV,
    SPIDERPOOL_CONF,
    SPIDERPOOL_CONTROLLER_SELECTOR,
    SPIDERPOOL_GV,
    Facts,
    SpiderpoolConf,
    hco_owned,
    spiderpool_version,
)
from virtnet.cluster.read import SPIDERPOOL_NAMESPACES, read_facts
from virtnet.errors import ClusterError, ForbiddenError, NotInstalledError, UnsupportedVersionError
from virtnet.formats.yamlio import Document
from virtnet.lint import LintOptions, Severity, lint
from virtnet.lint.context import CR_NAME_ANNOTATION, LintContext
from virtnet.lint.engine import objects_of
from virtnet.model.capabilities import Status as BindingStatus
from virtnet.model.capabilities import multi_nic_leak_fixed_in, static_ip_off_crashes_agent
from virtnet.model.ippool import PoolSpec
from virtnet.model.manifest import as_list as _list_of
from virtnet.model.manifest import as_map as _map
from virtnet.model.modes import Cni, Mode, ModeCapabilities, RequirementKind, capabilities, default_cni
from virtnet.model.versions import KUBEVIRT, SPIDERPOOL, SupportedRange, TargetVersions, Version
from virtnet.render.plan import DEFAULT_CNI_NADS

if TYPE_CHECKING:
    from virtnet.cluster.client import Cluster

Obj = dict[str, Any]

MAX_NAMED = 5  # objects named in one message; the rest are counted
LOW_FREE_SHARE = 0.10  # a pool with at most this share of its addresses free is a warning


class Status(Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class CheckResult:
    id: str
    status: Status
    message: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "status": self.status.value, "message": self.message, "fix": self.fix}


def passed(check: str, message: str) -> CheckResult:
    return CheckResult(check, Status.PASS, message)


def warned(check: str, message: str, fix: str) -> CheckResult:
    return CheckResult(check, Status.WARN, message, fix)


def failed(check: str, message: str, fix: str) -> CheckResult:
    return CheckResult(check, Status.FAIL, message, fix)


def skipped(check: str, reason: str) -> CheckResult:
    return CheckResult(check, Status.SKIP, reason)


# --- what was read ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unread:
    """Something :func:`gather` could not read, and why: ``forbidden (needs list on X)``, ``not installed``."""

    reason: str


@dataclass
class Snapshot:
    """Everything the checks look at, as plain objects. Fields typed ``… | Unread`` may have been refused."""

    server: str
    server_version: str | None = None
    kubevirt_crd: bool = False
    kubevirt_cr: Obj | Unread | None = None  # None: the CRD is served but no KubeVirt CR exists
    spiderpool_crd: bool = False
    controller: Obj | Unread | None = None  # the spiderpool-controller Deployment
    conf: Obj | Unread | None = None  # the spiderpool-conf ConfigMap
    spiderpool_namespace: str = SPIDERPOOL_NAMESPACES[0]
    nad_crd: bool = False
    multus_configs: list[Obj] | Unread = field(default_factory=list)
    nads: list[Obj] | Unread = field(default_factory=list)
    pools: list[Obj] | Unread = field(default_factory=list)
    namespaces: tuple[str, ...] | None = None  # where SpiderMultusConfigs and NADs were listed; None: everywhere


@dataclass(frozen=True)
class Options:
    """The user's question: which mode on which CNI, and versions to judge by instead of the detected ones."""

    mode: Mode | None = None
    cni: Cni | None = None  # default: the mode's first CNI
    kubevirt_version: Version | None = None
    spiderpool_version: Version | None = None


# --- reading ------------------------------------------------------------------------------------------------------


def _refusal(err: ClusterError, namespace: str | None = None, kind: str = "it") -> Unread:
    if isinstance(err, ForbiddenError):
        where = f" in namespace {namespace}" if namespace else ""
        return Unread(f"forbidden (needs {err.needs}{where})")
    if isinstance(err, NotInstalledError):
        return Unread(f"{kind} is not installed")
    return Unread(err.message)


def gather(cluster: Cluster, namespace: str | None = None, *, all_namespaces: bool = False) -> Snapshot:
    """Read what the checks need. SpiderMultusConfigs and NADs are listed in ``namespace`` (default: the client's)
    and in SpiderPool's namespace, or everywhere with ``all_namespaces``. A refused read or a kind that is not
    installed is recorded as :class:`Unread`; an unreachable server, 401 or 5xx raises (nothing could be checked)."""
    snap = snapshot_from_facts(read_facts(cluster))
    if all_namespaces:
        snap.namespaces = None
    else:
        snap.namespaces = tuple(dict.fromkeys([namespace or cluster.namespace, snap.spiderpool_namespace]))
    snap.multus_configs = _list(cluster, SPIDERPOOL_GV, "SpiderMultusConfig", snap.namespaces)
    snap.nads = _list(cluster, NAD_GV, "NetworkAttachmentDefinition", snap.namespaces)
    snap.pools = _list(cluster, SPIDERPOOL_GV, "SpiderIPPool", None)
    return snap


def _list(cluster: Cluster, api_version: str, kind: str, namespaces: tuple[str, ...] | None) -> list[Obj] | Unread:
    items: list[Obj] = []
    for ns in namespaces if namespaces is not None else (None,):
        found = cluster.listing(api_version, kind, ns, all_namespaces=ns is None)
        if found.error is not None:
            return _refusal(found.error, ns, kind)
        items += found.items
    return items


def snapshot_from_facts(facts: Facts) -> Snapshot:
    """The parts of :class:`Facts` the checks use, with refusals turned into :class:`Unread`."""
    snap = Snapshot(server=facts.server, server_version=facts.server_version)
    snap.kubevirt_crd = facts.kubevirt_installed
    problem = facts.problems.get("kubevirt")
    snap.kubevirt_cr = _refusal(problem) if problem is not None and facts.kubevirt_installed else facts.kubevirt_cr
    snap.spiderpool_crd = facts.spiderpool_installed
    problem = facts.problems.get("spiderpool-controller")
    snap.controller = _refusal(problem) if problem is not None else facts.spiderpool_deployment
    if isinstance(snap.controller, dict):
        snap.spiderpool_namespace = str(_map(snap.controller.get("metadata")).get("namespace") or "kube-system")
    problem = facts.problems.get("spiderpool-conf")
    # read_facts looks in the controller's namespace, else in each usual one
    where = snap.spiderpool_namespace if isinstance(snap.controller, dict) else " or ".join(SPIDERPOOL_NAMESPACES)
    snap.conf = _refusal(problem, where) if problem is not None else facts.spiderpool_conf
    snap.nad_crd = facts.nad_installed
    return snap


# --- what the checks are judged against --------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionInfo:
    """One product's version: as detected (and where), as overridden, and the one the checks use."""

    detected: Version | None
    text: str | None  # as the cluster wrote it (also when unsupported)
    source: str
    override: Version | None
    used: Version  # override, else detected, else the newest supported

    @property
    def known(self) -> bool:
        return self.override is not None or self.detected is not None

    @property
    def unsupported(self) -> bool:
        return self.detected is None and self.text is not None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "detected": str(self.detected) if self.detected else self.text,
            "source": self.source,
            "used": str(self.used),
        }


@dataclass(frozen=True)
class PoolView:
    """The SpiderIPPools a mode uses and what the SpiderIPPool lint rules found on them (computed once)."""

    relevant: tuple[str, ...]  # pool names, in listing order
    scope: str  # how ``relevant`` was chosen, for messages
    specs: dict[str, PoolSpec | None]  # every pool, parsed (None: malformed)
    objects: dict[str, Obj]
    missing: tuple[tuple[str, str], ...]  # (network, pool) pairs naming pools that do not exist
    networks: tuple[str, ...]  # the mode's networks (SMCs/NADs of its CNI) that name pools
    findings: dict[str, list[tuple[str, Severity, str, str]]]  # rule slug → (pool, severity, message, fix)


@dataclass(frozen=True)
class Basis:
    """What every check judges against: options, versions, the mode's capabilities, the pools in play."""

    options: Options
    cni: Cni | None
    kubevirt: VersionInfo
    spiderpool: VersionInfo
    caps: ModeCapabilities | None
    pools: PoolView | Unread | None  # None: SpiderPool is not installed, or the mode (masquerade) uses no pool

    @property
    def mode(self) -> Mode | None:
        return self.options.mode

    @property
    def versions(self) -> TargetVersions:
        return TargetVersions(self.kubevirt.used, self.spiderpool.used)


def _name(obj: Mapping[str, Any]) -> str:
    meta = _map(obj.get("metadata"))
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _named(names: Sequence[str]) -> str:
    shown = ", ".join(names[:MAX_NAMED])
    return f"{shown} and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else shown


def _parse_in(product: SupportedRange, text: str | None) -> tuple[Version | None, str | None]:
    if not text:
        return None, None
    try:
        return product.parse(text), text
    except UnsupportedVersionError:
        return None, text


def kubevirt_info(cr: Obj | Unread | None, override: Version | None) -> VersionInfo:
    """KubeVirt's version from ``status.observedKubeVirtVersion`` (else ``targetKubeVirtVersion``), which
    virt-operator writes (KV@v1.9.0:staging/src/kubevirt.io/api/core/v1/types.go KubeVirtStatus)."""
    detected: Version | None = None
    text: str | None = None
    if isinstance(cr, Unread):
        source = cr.reason
    elif cr is None:
        source = "no KubeVirt CR"
    else:
        status = _map(cr.get("status"))
        source = f"KubeVirt {_name(cr)} reports no version yet"
        for key in ("observedKubeVirtVersion", "targetKubeVirtVersion"):
            raw = status.get(key)
            if isinstance(raw, str) and raw:
                detected, text = _parse_in(KUBEVIRT, raw)
                source = f"KubeVirt {_name(cr)} status.{key}"
                break
    used = override or detected or KUBEVIRT.newest
    return VersionInfo(detected, text, source, override, used)


def spiderpool_info(snap: Snapshot, override: Version | None) -> VersionInfo:
    """SpiderPool's version from the chart labels of its controller Deployment / spiderpool-conf, else the image
    tag (SP@v1.2.2:charts/spiderpool/templates/_helpers.tpl; see :mod:`virtnet.cluster.facts`)."""
    deployment = snap.controller if isinstance(snap.controller, dict) else None
    conf = snap.conf if isinstance(snap.conf, dict) else None
    found = spiderpool_version(deployment, conf)
    source = found.source
    if deployment is None and conf is None:
        refused = [u.reason for u in (snap.controller, snap.conf) if isinstance(u, Unread)]
        if refused:
            source = "; ".join(refused)
    used = override or found.version or SPIDERPOOL.newest
    return VersionInfo(found.version, found.text, source, override, used)


def basis(snap: Snapshot, options: Options) -> Basis:
    kv = kubevirt_info(snap.kubevirt_cr, options.kubevirt_version)
    sp = spiderpool_info(snap, options.spiderpool_version)
    cni = options.cni or (default_cni(options.mode) if options.mode else None)
    caps = capabilities(options.mode, cni, TargetVersions(kv.used, sp.used)) if options.mode and cni else None
    pools: PoolView | Unread | None = None
    if snap.spiderpool_crd and options.mode is not Mode.MASQUERADE:
        pools = pool_view(snap, cni if options.mode is not None else None, sp.used, kv.used)
    return Basis(options, cni, kv, sp, caps, pools)


# --- the pools of a mode: reuse the linter's SpiderIPPool rules on the live objects --------------------------------

POOL_RULES = ("ippool-subnet-invalid", "ippool-removed-field", "ippool-overlap")


def pool_view(snap: Snapshot, cni: Cni | None, sp: Version, kv: Version) -> PoolView | Unread:
    """Which pools the mode uses — those named by the SpiderMultusConfigs/NADs of its CNI (``cni``), or every pool
    when none names any — and the findings of the linter's SpiderIPPool rules on them (overlap is judged against
    every pool, as SpiderPool's webhook does: SP@v1.2.2:pkg/ippoolmanager/ippool_validate.go)."""
    if isinstance(snap.pools, Unread):
        return snap.pools
    network_objects: list[Obj] = []
    for listing in (snap.multus_configs, snap.nads):
        if not isinstance(listing, Unread):
            network_objects += listing
    items = [*snap.pools, *network_objects]
    document = Document({"apiVersion": "v1", "kind": "List", "items": items}, "cluster", 0)
    ctx = LintContext.build(objects_of([document]), str(kv), str(sp))
    objects = {str(_map(p.get("metadata")).get("name")): p for p in snap.pools}
    specs = dict(ctx.pool_specs)
    named: dict[str, None] = {}
    missing: list[tuple[str, str]] = []
    networks: list[str] = []
    if cni is not None:
        for nad in ctx.nads.values():
            if nad.cni_type != cni.value:
                continue
            if nad.ipv4_pools or nad.ipv6_pools:
                networks.append(nad.ref)
            for pool in (*nad.ipv4_pools, *nad.ipv6_pools):
                if pool in objects:
                    named[pool] = None
                elif "*" not in pool and "?" not in pool and "[" not in pool:  # wildcards (SP v1.0+) match later
                    missing.append((nad.ref, pool))
    if named and cni is not None:
        relevant = tuple(named)
        scope = f"named by {cni.value} networks"
    else:
        relevant = tuple(objects)
        scope = f"all pools: no {cni.value} network names one" if cni else "all pools"
    result = lint(
        [document],
        LintOptions(kubevirt_version=str(kv), spiderpool_version=str(sp), enable=POOL_RULES),
    )
    findings: dict[str, list[tuple[str, Severity, str, str]]] = {slug: [] for slug in POOL_RULES}
    wanted = set(relevant)
    for f in result.findings:
        if f.object.kind == "SpiderIPPool" and f.object.name in wanted:
            findings[f.rule.slug].append((f.object.name, f.severity, f.message, f.fix))
    return PoolView(relevant, scope, specs, objects, tuple(dict.fromkeys(missing)), tuple(networks), findings)


def allocated_count(pool: Mapping[str, Any]) -> int:
    """Addresses in use: ``status.allocatedIPCount``, else the entries of ``status.allocatedIPs`` (a JSON string
    map ip → {pod, podUid}; SP@v1.2.2:pkg/k8s/apis/spiderpool.spidernet.io/v2beta1/spiderippool_types.go)."""
    status = _map(pool.get("status"))
    count = status.get("allocatedIPCount")
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        return count
    raw = status.get("allocatedIPs")
    if isinstance(raw, str) and raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            return 0
        return len(parsed) if isinstance(parsed, dict) else 0
    return 0


# --- checks: the API server ---------------------------------------------------------------------------------------


def check_api_reachable(snap: Snapshot, b: Basis) -> CheckResult:
    return passed("api-reachable", f"{snap.server} answers (Kubernetes {snap.server_version or 'version unknown'})")


# --- checks: KubeVirt ---------------------------------------------------------------------------------------------

KUBEVIRT_INSTALL = (
    "install KubeVirt: apply kubevirt-operator.yaml and kubevirt-cr.yaml of a release "
    f"({KUBEVIRT.oldest.minor_line}…{KUBEVIRT.newest.minor_line})"
)

T = TypeVar("T")


def _needed(value: T | Unread | None, check: str, missing: str) -> T | CheckResult:
    """What a check needs, or its skip result: the read was refused (the reason) or found nothing (``missing``)."""
    if isinstance(value, Unread):
        return skipped(check, value.reason)
    if value is None:
        return skipped(check, missing)
    return value


def _kubevirt_cr(snap: Snapshot, check: str) -> Obj | CheckResult:
    """The KubeVirt CR, or the skip result of a check that needs it."""
    if not snap.kubevirt_crd:
        return skipped(check, "KubeVirt is not installed (see kubevirt-installed)")
    return _needed(snap.kubevirt_cr, check, "no KubeVirt CR (see kubevirt-installed)")


def check_kubevirt_installed(snap: Snapshot, b: Basis) -> CheckResult:
    if not snap.kubevirt_crd:
        return failed(
            "kubevirt-installed", "the KubeVirt CRD (kubevirts.kubevirt.io) is not installed", KUBEVIRT_INSTALL
        )
    if isinstance(snap.kubevirt_cr, Unread):
        return skipped("kubevirt-installed", snap.kubevirt_cr.reason)
    if snap.kubevirt_cr is None:
        return failed(
            "kubevirt-installed",
            "the KubeVirt CRD is installed but there is no KubeVirt CR, so virt-operator deploys nothing",
            "create the KubeVirt CR (kubevirt-cr.yaml of the release, usually kubevirt/kubevirt)",
        )
    return passed("kubevirt-installed", f"KubeVirt CR {_name(snap.kubevirt_cr)}")


def check_kubevirt_phase(snap: Snapshot, b: Basis) -> CheckResult:
    # KubeVirtPhase: Deploying | Deployed | Deleting | Deleted (KV@v1.9.0:staging/src/kubevirt.io/api/core/v1/types.go)
    cr = _kubevirt_cr(snap, "kubevirt-phase")
    if isinstance(cr, CheckResult):
        return cr
    phase = _map(cr.get("status")).get("phase") or ""
    meta = _map(cr.get("metadata"))
    look = f"kubectl -n {meta.get('namespace')} get kubevirt {meta.get('name')} -o yaml"
    if phase == "Deployed":
        return passed("kubevirt-phase", f"KubeVirt {_name(cr)} is Deployed")
    if phase == "Deploying":
        return warned(
            "kubevirt-phase",
            f"KubeVirt {_name(cr)} is still Deploying: VMs cannot start until it is Deployed",
            f"wait, then run virtnet doctor again; if it stays Deploying read status.conditions ({look}) and the "
            "virt-operator logs",
        )
    return failed(
        "kubevirt-phase",
        f"KubeVirt {_name(cr)} phase is {phase or 'empty (virt-operator has not acted on it)'}, not Deployed",
        f"read status.conditions ({look}) and the virt-operator logs",
    )


def _judge_version(
    check: str, info: VersionInfo, product: SupportedRange, title: str, unsupported: str
) -> CheckResult | None:
    """The verdicts kubevirt-version and spiderpool-version share: detected and supported, detected but outside
    the supported range (``unsupported`` names it), or overridden by ``--<product>-version``. None: the version is
    neither detected nor overridden (each check says why in its own words)."""
    flag = f"--{title.lower()}-version"
    supported = f"{product.oldest.minor_line}…{product.newest.minor_line}"
    judged = f"; checks judge by {flag} {info.override}" if info.override else ""
    if info.detected is not None:
        return passed(check, f"{title} {info.detected} ({info.source}), supported {supported}{judged}")
    if info.unsupported:
        message = f"{unsupported} is outside virtnet's supported range {supported}{judged}"
        fix = f"run a {title} release in {supported}, or pass {flag} to judge as one"
        return warned(check, message, fix) if info.override else failed(check, message, fix)
    if info.override:
        return passed(check, f"{title} version not detected ({info.source}){judged}")
    return None


def check_kubevirt_version(snap: Snapshot, b: Basis) -> CheckResult:
    cr = _kubevirt_cr(snap, "kubevirt-version")
    kv = b.kubevirt
    if isinstance(cr, CheckResult) and kv.override is None:
        return cr
    verdict = _judge_version("kubevirt-version", kv, KUBEVIRT, "KubeVirt", f"KubeVirt {kv.text} ({kv.source})")
    if verdict is not None:
        return verdict
    return warned(
        "kubevirt-version",
        f"{kv.source}: the version-dependent checks are skipped",
        "wait until virt-operator has deployed KubeVirt, or pass --kubevirt-version",
    )


def check_kubevirt_hco(snap: Snapshot, b: Basis) -> CheckResult:
    # HCO labels what it manages app.kubernetes.io/managed-by: hco-operator (HCO:pkg/util/consts.go) and re-applies
    # the KubeVirt CR it renders from the HyperConverged CR (HCO:controllers/operands/kubevirt.go NewKubeVirt), so
    # direct edits are reverted; unexposed settings go through the kubevirt.kubevirt.io/jsonpatch annotation
    # (HCO:controllers/common/consts.go JSONPatchKVAnnotationName).
    cr = _kubevirt_cr(snap, "kubevirt-hco")
    if isinstance(cr, CheckResult):
        return cr
    if not hco_owned(cr):
        return passed("kubevirt-hco", f"KubeVirt {_name(cr)} is not managed by the HyperConverged operator")
    meta = _map(cr.get("metadata"))
    owner = next((o for o in _list_of(meta.get("ownerReferences")) if _map(o).get("kind") == HCO_KIND), None)
    by = f"ownerReference {HCO_KIND} {_map(owner).get('name')}" if owner else f"label {HCO_LABEL}={HCO_MANAGER}"
    return warned(
        "kubevirt-hco",
        f"KubeVirt {_name(cr)} is managed by the HyperConverged operator ({by}): edits made to it directly are "
        "reverted",
        "change the HyperConverged CR instead (its spec, or its kubevirt.kubevirt.io/jsonpatch annotation for "
        "settings HCO does not expose)",
    )


def _needs_version(b: Basis, check: str) -> CheckResult | None:
    if not b.kubevirt.known:
        return skipped(check, f"KubeVirt version unknown ({b.kubevirt.source}); pass --kubevirt-version")
    if b.kubevirt.unsupported and b.kubevirt.override is None:
        return skipped(check, f"KubeVirt {b.kubevirt.text} is not supported (see kubevirt-version)")
    return None


def check_kubevirt_binding(snap: Snapshot, b: Basis) -> CheckResult:
    # The binding a mode uses per version: virtnet.model.capabilities.binding_support (cites KV sources per row).
    assert b.caps is not None
    unknown = _needs_version(b, "kubevirt-binding")
    if unknown is not None:
        return unknown
    support = b.caps.binding
    text = f"mode {b.caps.mode.value} uses {support.binding.title} on KubeVirt {support.kubevirt}: {support.reason}"
    if support.status is BindingStatus.UNAVAILABLE:
        return failed("kubevirt-binding", text, "pick a mode this KubeVirt version supports (virtnet modes)")
    if support.status is BindingStatus.DEPRECATED:
        return warned("kubevirt-binding", text, "plan the move to the binding virtnet modes lists for newer KubeVirt")
    return passed("kubevirt-binding", text)


def _configuration(cr: Mapping[str, Any]) -> Mapping[str, Any]:
    return _map(_map(cr.get("spec")).get("configuration"))


def _hco_fix(cr: Mapping[str, Any], what: str) -> str:
    return (
        f"{what} through the HyperConverged CR (the KubeVirt CR is HCO-managed: kubectl annotate hyperconverged "
        "… kubevirt.kubevirt.io/jsonpatch='[…]'), not in the KubeVirt CR"
        if hco_owned(cr)
        else f"{what} in KubeVirt {_name(cr)} (kubectl -n {_map(cr.get('metadata')).get('namespace')} edit kubevirt "
        f"{_map(cr.get('metadata')).get('name')}; `virtnet apply` of a rendered bundle merges it)"
    )


def check_kubevirt_feature_gates(snap: Snapshot, b: Basis) -> CheckResult:
    # Gates per binding and version: virtnet.model.modes.capabilities → RequirementKind.FEATURE_GATE (Passt:
    # KV@v1.0.1:pkg/virt-config/feature-gates.go; NetworkBindingPlugins until v1.4; PasstBinding listed on v1.8,
    # beta and on unless in disabledFeatureGates from v1.9: KV@v1.9.0:pkg/virt-config/featuregate/feature-gates.go).
    assert b.caps is not None
    unknown = _needs_version(b, "kubevirt-feature-gates")
    if unknown is not None:
        return unknown
    cr = _kubevirt_cr(snap, "kubevirt-feature-gates")
    if isinstance(cr, CheckResult):
        return cr
    dev = _map(_configuration(cr).get("developerConfiguration"))
    enabled = {str(g) for g in _list_of(dev.get("featureGates"))}
    disabled = {str(g) for g in _list_of(dev.get("disabledFeatureGates"))}
    listed_needed = set(b.caps.binding.feature_gates)  # must be listed in featureGates
    needed = [r.name for r in b.caps.requirements if r.kind is RequirementKind.FEATURE_GATE]
    where = f"{b.caps.mode.value} on KubeVirt {b.kubevirt.used}"
    if not needed:
        return passed("kubevirt-feature-gates", f"{where} needs no feature gate")
    missing = [g for g in needed if g in listed_needed and g not in enabled]
    off = [g for g in needed if g in disabled]
    problems: list[str] = []
    fixes: list[str] = []
    if missing:
        problems.append(
            f"{', '.join(missing)} not in spec.configuration.developerConfiguration.featureGates of KubeVirt "
            f"{_name(cr)}"
        )
        fixes.append(_hco_fix(cr, f"add {', '.join(missing)} to developerConfiguration.featureGates"))
    if off:
        problems.append(f"{', '.join(off)} listed in developerConfiguration.disabledFeatureGates of {_name(cr)}")
        fixes.append(_hco_fix(cr, f"remove {', '.join(off)} from developerConfiguration.disabledFeatureGates"))
    if problems:
        return failed(
            "kubevirt-feature-gates",
            f"{where} needs feature gate {', '.join(needed)}: {'; '.join(problems)}, so KubeVirt's admission "
            "rejects the VM",
            "; ".join(fixes),
        )
    how = ", ".join(f"{g} {'enabled' if g in listed_needed else 'not disabled (on by default)'}" for g in needed)
    return passed("kubevirt-feature-gates", f"{where}: {how}")


def check_kubevirt_binding_plugins(snap: Snapshot, b: Basis) -> CheckResult:
    # Plugins are registered under spec.configuration.network.binding.<name> (UG:docs/network/
    # network_binding_plugins.md; KV@v1.9.0:pkg/network/netbinding/netbinding.go): no admission check, the pod
    # fails to render ("couldn't find configuration for network binding").
    assert b.caps is not None
    unknown = _needs_version(b, "kubevirt-binding-plugins")
    if unknown is not None:
        return unknown
    needed = [r.name for r in b.caps.requirements if r.kind is RequirementKind.BINDING_PLUGIN]
    where = f"{b.caps.mode.value} on KubeVirt {b.kubevirt.used}"
    if not needed:
        return passed("kubevirt-binding-plugins", f"{where} needs no binding-plugin registration")
    cr = _kubevirt_cr(snap, "kubevirt-binding-plugins")
    if isinstance(cr, CheckResult):
        return cr
    registered = _map(_map(_configuration(cr).get("network")).get("binding"))
    missing = [name for name in needed if name not in registered]
    if missing:
        return failed(
            "kubevirt-binding-plugins",
            f"{where} uses binding plugin {', '.join(missing)}, which is not registered under "
            f"spec.configuration.network.binding of KubeVirt {_name(cr)}: the VM's pod cannot be rendered",
            _hco_fix(
                cr,
                f"register {missing[0]} under spec.configuration.network.binding (sidecarImage, "
                "networkAttachmentDefinition, migration; `virtnet new vm --mode passt` renders it)",
            ),
        )
    return passed("kubevirt-binding-plugins", f"{where}: binding plugin {', '.join(needed)} registered")


# --- checks: SpiderPool ---------------------------------------------------------------------------------------------

SPIDERPOOL_INSTALL = (
    "install SpiderPool with its Helm chart (helm install spiderpool spiderpool/spiderpool -n kube-system)"
)


def _spiderpool_needed(b: Basis) -> bool:
    return b.caps is not None and b.caps.spiderpool == "required"


def check_spiderpool_installed(snap: Snapshot, b: Basis) -> CheckResult:
    if not snap.spiderpool_crd:
        message = "SpiderPool is not installed (the API server serves no spiderippools.spiderpool.spidernet.io)"
        if _spiderpool_needed(b):
            assert b.mode is not None
            return failed("spiderpool-installed", f"{message}; mode {b.mode.value} needs it", SPIDERPOOL_INSTALL)
        if b.mode is Mode.MASQUERADE:
            return passed(
                "spiderpool-installed",
                f"{message}; masquerade takes the pod IP from {b.cni.value if b.cni else 'the CNI'}",
            )
        return warned("spiderpool-installed", message, SPIDERPOOL_INSTALL + " (modes passt and bridge need it)")
    if isinstance(snap.controller, Unread):
        return skipped("spiderpool-installed", f"{snap.controller.reason}; the SpiderPool CRDs are served")
    if snap.controller is None:
        message = (
            "the SpiderPool CRDs are served but no spiderpool-controller Deployment exists (label "
            f"{SPIDERPOOL_CONTROLLER_SELECTOR}): no NAD is generated, no pool is validated"
        )
        fix = (
            "install or repair the SpiderPool Helm release (kubectl get deploy -A -l app.kubernetes.io/name=spiderpool)"
        )
        if _spiderpool_needed(b) or b.mode is None:
            return failed("spiderpool-installed", message, fix)
        return warned("spiderpool-installed", message, fix)
    return passed("spiderpool-installed", f"SpiderPool controller Deployment {_name(snap.controller)}")


def check_spiderpool_version(snap: Snapshot, b: Basis) -> CheckResult:
    sp = b.spiderpool
    if not snap.spiderpool_crd and sp.override is None:
        return skipped("spiderpool-version", "SpiderPool is not installed (see spiderpool-installed)")
    # an unsupported SpiderPool's source already says the version and why (virtnet.cluster.facts.spiderpool_version)
    verdict = _judge_version("spiderpool-version", sp, SPIDERPOOL, "SpiderPool", f"SpiderPool {sp.text}")
    if verdict is not None:
        return verdict
    if isinstance(snap.controller, Unread) and not isinstance(snap.conf, dict):
        return skipped("spiderpool-version", snap.controller.reason)
    return warned(
        "spiderpool-version",
        f"SpiderPool version unknown ({sp.source}); version-dependent checks judge it as {sp.used}",
        "pass --spiderpool-version, or keep the chart's labels app.kubernetes.io/version / helm.sh/chart",
    )


def _conf(snap: Snapshot, check: str) -> tuple[Obj, SpiderpoolConf] | CheckResult:
    if isinstance(snap.conf, Unread):
        return skipped(check, snap.conf.reason)
    if snap.conf is None:
        return failed(
            check,
            f"ConfigMap {SPIDERPOOL_CONF} not found in {snap.spiderpool_namespace}: SpiderPool's agent and "
            "controller read their settings from it",
            "reinstall or repair the SpiderPool Helm release (it renders the ConfigMap)",
        )
    parsed = SpiderpoolConf.parse(snap.conf)
    if parsed.problem is not None:
        return failed(
            check,
            f"ConfigMap {_name(snap.conf)}: {parsed.problem}, so spiderpool-agent cannot start with it",
            "restore data.conf.yml from the Helm release (helm get manifest)",
        )
    return snap.conf, parsed


def check_spiderpool_static_ip(snap: Snapshot, b: Basis) -> CheckResult:
    # conf.yml is read with yaml.Unmarshal into Go bools: a missing key is false (SP@v1.2.2:pkg/types/k8s.go,
    # cmd/spiderpool-agent/cmd/config.go). With it off, a VM's pods are stateless: the SpiderEndpoint is named after
    # the pod, not the VMI (SP@v1.2.2:pkg/ipam/allocate.go), and the IP-conflict-detection skip for live-migration
    # target pods needs it too: isVMPod requires EnableKubevirtStaticIP (SP:cmd/spiderpool-agent/cmd/ipam.go
    # GetIpamIPDetectionConfigs on v1.x; the same gate in the v0.8 coordinator handler, which read
    # SpiderCoordinator.spec.detectIPConflict). Turning it off crashed spiderpool-agent on v0.8.0-v0.8.3 (issue
    # #2966, fixed in v0.8.4).
    found = _conf(snap, "spiderpool-static-ip")
    if isinstance(found, CheckResult):
        return found
    obj, conf = found
    if conf.enable_kubevirt_static_ip:
        return passed("spiderpool-static-ip", f"enableKubevirtStaticIP: true in {_name(obj)} conf.yml")
    raw = _conf_value(obj, "enableKubevirtStaticIP")
    state = "missing (a missing key means false)" if raw is None else f"{raw!r}, not true"
    sp = b.spiderpool.used
    crash = (
        f"; SpiderPool {sp} also crashes spiderpool-agent at start with it off (issue #2966)"
        if b.spiderpool.known and static_ip_off_crashes_agent(sp)
        else ""
    )
    message = (
        f"enableKubevirtStaticIP in {_name(obj)} conf.yml is {state}: VM pods are treated as stateless, so a VM gets "
        "a new address on every restart (no fixed IP), and the live-migration target pod loses the IP-conflict-"
        f"detection skip{crash}"
    )
    fix = (
        f"set enableKubevirtStaticIP: true in data.conf.yml of {_name(obj)} (Helm: --set "
        "ipam.enableKubevirtStaticIP=true), then restart spiderpool-agent and spiderpool-controller"
    )
    if b.mode is None:
        return warned("spiderpool-static-ip", message, fix)
    return failed("spiderpool-static-ip", message, fix)


def _conf_value(obj: Mapping[str, Any], key: str) -> object:
    """The raw value of one conf.yml key, for the message (SpiderpoolConf did the real parse)."""
    try:
        conf = yaml.safe_load(str(_map(obj.get("data")).get("conf.yml") or ""))
    except yaml.YAMLError:
        return None
    return _map(conf).get(key)


def check_spiderpool_ip_families(snap: Snapshot, b: Basis) -> CheckResult:
    # The SpiderIPPool webhook refuses pools of a family the ConfigMap disables ("IPv4 is disabled"), and IPAM
    # does not allocate from it (SP@v1.2.2:pkg/ippoolmanager/ippool_validate.go, pkg/ipam/config.go).
    found = _conf(snap, "spiderpool-ip-families")
    if isinstance(found, CheckResult):
        return found
    obj, conf = found
    switches = f"enableIPv4 {str(conf.enable_ipv4).lower()}, enableIPv6 {str(conf.enable_ipv6).lower()}"
    if not conf.enable_ipv4 and not conf.enable_ipv6:
        return failed(
            "spiderpool-ip-families",
            f"{_name(obj)} conf.yml enables neither IPv4 nor IPv6 (missing keys mean false): SpiderPool hands out "
            "no address",
            f"set enableIPv4: true (and enableIPv6 for IPv6 pools) in {_name(obj)} conf.yml",
        )
    view = b.pools
    if not isinstance(view, PoolView):
        return passed("spiderpool-ip-families", f"{_name(obj)} conf.yml: {switches}")
    off = {4: not conf.enable_ipv4, 6: not conf.enable_ipv6}
    wrong = [
        f"{name} (IPv{spec.family})"
        for name in view.relevant
        if (spec := view.specs.get(name)) is not None and off[spec.family]
    ]
    if wrong:
        return failed(
            "spiderpool-ip-families",
            f"{_name(obj)} conf.yml has {switches}, but {_named(wrong)} are of a disabled family: SpiderPool "
            "allocates nothing from them",
            f"enable that family in {_name(obj)} conf.yml, or use pools of an enabled family",
        )
    return passed(
        "spiderpool-ip-families", f"{_name(obj)} conf.yml: {switches}; every pool checked is of an enabled family"
    )


def check_multus_nad_crd(snap: Snapshot, b: Basis) -> CheckResult:
    if snap.nad_crd:
        return passed("multus-nad-crd", "NetworkAttachmentDefinition (k8s.cni.cncf.io/v1) is served")
    return failed(
        "multus-nad-crd",
        "Multus is not installed: the API server serves no network-attachment-definitions.k8s.cni.cncf.io, so "
        "SpiderMultusConfigs produce no NAD and VMs cannot select a network",
        "install Multus (SpiderPool's chart does it with multus.multusCNI.install=true)",
    )


def _nad_name(smc: Mapping[str, Any]) -> str:
    """The NAD a SpiderMultusConfig generates: annotation multus.spidernet.io/cr-name, else its own name, in its own
    namespace (SP@v1.2.2:pkg/multuscniconfig/multusconfig_informer.go syncHandler)."""
    meta = _map(smc.get("metadata"))
    custom = _map(meta.get("annotations")).get(CR_NAME_ANNOTATION)
    return str(custom) if isinstance(custom, str) and custom else str(meta.get("name"))


def _nad_keys(nads: list[Obj]) -> set[tuple[str, str]]:
    return {(str(_map(n.get("metadata")).get("namespace")), str(_map(n.get("metadata")).get("name"))) for n in nads}


def check_default_multus_config(snap: Snapshot, b: Basis) -> CheckResult:
    # spiderpool-init creates the default SpiderMultusConfig of the cluster CNI in SpiderPool's namespace: 'calico'
    # with cr-name k8s-pod-network, 'cilium' (SP@v1.2.2:cmd/spiderpool-init/cmd/config.go getMultusCniConfig);
    # virtnet's masquerade VMs select that NAD (virtnet.render.plan.DEFAULT_CNI_NADS).
    assert b.cni is not None
    ns = snap.spiderpool_namespace
    smc_name, nad_name = b.cni.value, DEFAULT_CNI_NADS[b.cni]
    if isinstance(snap.multus_configs, Unread):
        return skipped("default-multus-config", snap.multus_configs.reason)
    if isinstance(snap.nads, Unread):
        return skipped("default-multus-config", snap.nads.reason)
    smc = next(
        (
            s
            for s in snap.multus_configs
            if _map(s.get("metadata")).get("namespace") == ns and _map(s.get("metadata")).get("name") == smc_name
        ),
        None,
    )
    has_nad = (ns, nad_name) in _nad_keys(snap.nads)
    uses = f"masquerade VMs select NAD {ns}/{nad_name} (annotation v1.multus-cni.io/default-network)"
    if smc is None:
        return failed(
            "default-multus-config",
            f"SpiderPool's default SpiderMultusConfig {ns}/{smc_name} is missing"
            + ("" if has_nad else f" and so is NAD {ns}/{nad_name}")
            + f"; {uses}",
            "SpiderPool's spiderpool-init creates it at install time: reinstall or upgrade the release, or create "
            f"SpiderMultusConfig {ns}/{smc_name} (cniType custom"
            + (f", annotation {CR_NAME_ANNOTATION}: {nad_name}" if nad_name != smc_name else "")
            + ") yourself",
        )
    if not has_nad:
        return failed(
            "default-multus-config",
            f"SpiderMultusConfig {ns}/{smc_name} exists but its NAD {ns}/{nad_name} does not; {uses}",
            "check that spiderpool-controller runs and read its logs for this SpiderMultusConfig",
        )
    return passed("default-multus-config", f"SpiderMultusConfig {ns}/{smc_name} and its NAD {ns}/{nad_name} exist")


def check_multus_config_nads(snap: Snapshot, b: Basis) -> CheckResult:
    # SpiderPool's controller creates each SpiderMultusConfig's NAD (name: annotation multus.spidernet.io/cr-name,
    # else the SMC's; same namespace) — SP@v1.2.2:pkg/multuscniconfig/multusconfig_informer.go.
    if isinstance(snap.multus_configs, Unread):
        return skipped("multus-config-nads", snap.multus_configs.reason)
    if isinstance(snap.nads, Unread):
        return skipped("multus-config-nads", snap.nads.reason)
    where = "in every namespace" if snap.namespaces is None else f"in {', '.join(snap.namespaces)}"
    if not snap.multus_configs:
        return passed("multus-config-nads", f"no SpiderMultusConfig {where}")
    have = _nad_keys(snap.nads)
    lacking: list[tuple[str, str, bool]] = []  # (SMC, NAD, used by the mode)
    for smc in snap.multus_configs:
        meta = _map(smc.get("metadata"))
        ns = str(meta.get("namespace"))
        nad = _nad_name(smc)
        if (ns, nad) in have:
            continue
        cni_type = _map(smc.get("spec")).get("cniType")
        mine = b.mode is None or (b.cni is not None and (cni_type == b.cni.value or meta.get("name") == b.cni.value))
        lacking.append((f"{ns}/{meta.get('name')}", f"{ns}/{nad}", mine))
    if not lacking:
        return passed(
            "multus-config-nads", f"{_count(len(snap.multus_configs), 'SpiderMultusConfig')} {where}, each with its NAD"
        )
    names = [f"{smc} (NAD {nad})" for smc, nad, _ in lacking]
    message = (
        f"{_count(len(lacking), 'SpiderMultusConfig')} {where} never got a NAD: {_named(names)}; VMs that select "
        "those networks cannot start"
    )
    fix = (
        "check that spiderpool-controller runs (its webhook may have refused the object: virtnet lint the SMC) "
        "and read its logs for these SpiderMultusConfigs"
    )
    if any(mine for _, _, mine in lacking):
        return failed("multus-config-nads", message, fix)
    return warned("multus-config-nads", message + f" (none of them is a {b.cni.value if b.cni else ''} network)", fix)


# --- checks: the pools ----------------------------------------------------------------------------------------------


def _view(b: Basis, check: str) -> PoolView | CheckResult:
    return _needed(b.pools, check, "SpiderPool is not installed (see spiderpool-installed)")


def check_ippool_references(snap: Snapshot, b: Basis) -> CheckResult:
    view = _view(b, "ippool-references")
    if isinstance(view, CheckResult):
        return view
    if isinstance(snap.multus_configs, Unread):
        return skipped("ippool-references", snap.multus_configs.reason)
    cni = b.cni.value if b.cni else ""
    if view.missing:
        listed = [f"{net} names {pool}" for net, pool in view.missing]
        return failed(
            "ippool-references",
            f"{cni} networks name SpiderIPPools that do not exist: {_named(listed)}; "
            "VMs on them get no address ('no IPPool available')",
            "create those pools (virtnet pool suggest finds a free range) or fix the names in the "
            "SpiderMultusConfig ippools",
        )
    if not view.networks:
        return passed(
            "ippool-references",
            f"no {cni} SpiderMultusConfig or NAD names a pool yet (virtnet new vm renders one with its pool)",
        )
    return passed(
        "ippool-references",
        f"the pools named by {_count(len(view.networks), f'{cni} network')} ({_named(list(view.networks))}) exist",
    )


def check_ippool_capacity(snap: Snapshot, b: Basis) -> CheckResult:
    # SpiderPool fails CNI ADD with "all IP addresses used out" (SP@v1.2.2:pkg/constant/errors.go ErrIPUsedOut);
    # addresses handed out = spec.ips minus spec.excludeIPs (virtnet.model.ippool.PoolSpec, never expanded).
    view = _view(b, "ippool-capacity")
    if isinstance(view, CheckResult):
        return view
    if not view.relevant:
        return failed(
            "ippool-capacity",
            "no SpiderIPPool exists: VMs that take their address from SpiderPool cannot start",
            "create a pool (virtnet pool suggest --nic … proposes a free range; virtnet new vm renders one)",
        )
    full: list[str] = []
    low: list[str] = []
    off: list[str] = []
    rows: list[str] = []
    for name in view.relevant:
        spec = view.specs.get(name)
        pool = view.objects[name]
        if spec is None:
            continue  # malformed: ippool-subnet reports it
        used = allocated_count(pool)
        free = spec.free_count(used)
        rows.append(f"{name} {free}/{spec.capacity} free")
        if _map(pool.get("spec")).get("disable") is True:
            off.append(name)
        elif free == 0:
            full.append(f"{name} ({used} of {spec.capacity} allocated)")
        elif free <= spec.capacity * LOW_FREE_SHARE:
            low.append(f"{name} ({free} of {spec.capacity} free)")
    scope = f"{_count(len(view.relevant), 'pool')}, {view.scope}"
    if full:
        return failed(
            "ippool-capacity",
            f"exhausted: {_named(full)}; the next VM on them fails with 'all IP addresses used out' ({scope})",
            "add addresses to spec.ips (or remove some from spec.excludeIPs), delete VMs that no longer need "
            "theirs, or point new VMs at another pool",
        )
    if off or low:
        parts = []
        if low:
            parts.append(f"nearly exhausted: {_named(low)}")
        if off:
            parts.append(f"disabled (spec.disable: true, nothing is handed out): {_named(off)}")
        return warned(
            "ippool-capacity",
            f"{'; '.join(parts)} ({scope})",
            "add addresses to spec.ips before the pool runs out; re-enable or stop naming disabled pools",
        )
    return passed("ippool-capacity", f"{_named(rows)} ({scope})")


def _findings(b: Basis, check: str, slug: str, ok: str) -> CheckResult:
    view = _view(b, check)
    if isinstance(view, CheckResult):
        return view
    found = view.findings.get(slug, [])
    if not found:
        return passed(check, f"{ok} ({_count(len(view.relevant), 'pool')}, {view.scope})")
    errors = [f for f in found if f[1] is Severity.ERROR]
    worst = errors or found
    message = "; ".join(f"{pool}: {msg}" for pool, _, msg, _ in worst[:MAX_NAMED])
    if len(worst) > MAX_NAMED:
        message += f"; and {len(worst) - MAX_NAMED} more"
    fix = worst[0][3]
    return failed(check, message, fix) if errors else warned(check, message, fix)


def check_ippool_subnet(snap: Snapshot, b: Basis) -> CheckResult:
    # Canonical subnet required from SP v0.9.2 (PR #3068), ips/gateway/routes inside it
    # (SP@v1.2.2:pkg/ippoolmanager/ippool_validate.go): lint rule ippool-subnet-invalid.
    return _findings(b, "ippool-subnet", "ippool-subnet-invalid", "subnets canonical, addresses inside them")


def check_ippool_vlan(snap: Snapshot, b: Basis) -> CheckResult:
    # spec.vlan: deprecated without effect on v0.8/v0.9, removed from the CRD in v1.0.0 (PR #4549; SP@v0.8.13 vs
    # SP@v1.0.0:pkg/k8s/apis/spiderpool.spidernet.io/v2beta1/spiderippool_types.go): lint rule ippool-removed-field.
    # A live pool keeps it on v1.x only when the CRDs were not upgraded with the chart (Helm never upgrades crds/).
    result = _findings(b, "ippool-vlan", "ippool-removed-field", "no pool sets spec.vlan")
    if result.status is Status.FAIL:
        return failed(
            "ippool-vlan",
            result.message + " — the pool still has it, so the SpiderIPPool CRD predates the running SpiderPool "
            "(Helm does not upgrade CRDs)",
            "apply the CRDs of the running SpiderPool release (charts/spiderpool/crds), remove spec.vlan from the "
            "pools and set the VLAN in the SpiderMultusConfig (macvlan.vlanID / ipvlan.vlanID / ovs.vlan)",
        )
    return result


def check_ippool_overlap(snap: Snapshot, b: Basis) -> CheckResult:
    # SP@v1.2.2:pkg/ippoolmanager/ippool_validate.go validateIPPoolCIDR / validateIPPoolAvailableIPs: lint rule
    # ippool-overlap, judged against every pool of the cluster.
    return _findings(b, "ippool-overlap", "ippool-overlap", "no overlap with any other pool")


def multi_nic_leak(sp: Version) -> bool:
    """Is SpiderPool ``sp`` affected by spiderpool#4295 (model.capabilities.MULTI_NIC_LEAK_FIXED)?"""
    return multi_nic_leak_fixed_in(sp) is not None


def check_spiderpool_known_bugs(snap: Snapshot, b: Basis) -> CheckResult:
    assert b.caps is not None
    sp = b.spiderpool
    if not sp.known:
        return skipped("spiderpool-known-bugs", f"SpiderPool version unknown ({sp.source}); pass --spiderpool-version")
    if sp.unsupported and sp.override is None:
        return skipped("spiderpool-known-bugs", f"SpiderPool {sp.text} is not supported (see spiderpool-version)")
    if not multi_nic_leak(sp.used):
        return passed("spiderpool-known-bugs", f"no known SpiderPool {sp.used} bug affects mode {b.caps.mode.value}")
    if not b.caps.multi_nic:
        return passed(
            "spiderpool-known-bugs",
            f"SpiderPool {sp.used} has the multi-NIC IP leak (spiderpool#4295), but mode {b.caps.mode.value} gives "
            "a VM one NIC",
        )
    return warned(
        "spiderpool-known-bugs",
        f"SpiderPool {sp.used} leaks addresses with multi-NIC VMs (spiderpool#4295): when one NIC's pool is "
        "exhausted, every retry of the VM's pod takes another address from the other NICs' pools until they "
        f"run out too (mode {b.caps.mode.value} is multi-NIC)",
        "upgrade SpiderPool to v0.8.9, v0.9.8, v1.0.0 or later; until then keep spare addresses in every pool a "
        "multi-NIC VM uses",
    )


# --- the catalogue --------------------------------------------------------------------------------------------------

Check = Callable[[Snapshot, Basis], CheckResult]
Applies = Callable[[Snapshot, Basis], bool]


def _always(snap: Snapshot, b: Basis) -> bool:
    return True


def _with_mode(snap: Snapshot, b: Basis) -> bool:
    return b.caps is not None


def _spiderpool_in_play(snap: Snapshot, b: Basis) -> bool:
    """SpiderPool's checks run for passt/bridge, for no mode, and for masquerade when SpiderPool is installed (its
    VMs then select the default SpiderMultusConfig's NAD)."""
    if b.mode is Mode.MASQUERADE:
        return snap.spiderpool_crd
    return True


def _fixed_ip(snap: Snapshot, b: Basis) -> bool:
    return b.mode is None or (b.caps is not None and b.caps.fixed_ip)


def _default_config(snap: Snapshot, b: Basis) -> bool:
    return b.mode is Mode.MASQUERADE and b.cni in DEFAULT_CNI_NADS and _spiderpool_in_play(snap, b)


def _mode_spiderpool(snap: Snapshot, b: Basis) -> bool:
    return b.caps is not None and _spiderpool_in_play(snap, b)


def _pools(snap: Snapshot, b: Basis) -> bool:
    return b.mode in (None, Mode.PASST, Mode.BRIDGE)


def _pool_references(snap: Snapshot, b: Basis) -> bool:
    return b.mode in (Mode.PASST, Mode.BRIDGE)


#: (id, applies to this mode/snapshot, check), in the order they are reported.
CHECKS: tuple[tuple[str, Applies, Check], ...] = (
    ("api-reachable", _always, check_api_reachable),
    ("kubevirt-installed", _always, check_kubevirt_installed),
    ("kubevirt-phase", _always, check_kubevirt_phase),
    ("kubevirt-version", _always, check_kubevirt_version),
    ("kubevirt-hco", _always, check_kubevirt_hco),
    ("kubevirt-binding", _with_mode, check_kubevirt_binding),
    ("kubevirt-feature-gates", _with_mode, check_kubevirt_feature_gates),
    ("kubevirt-binding-plugins", _with_mode, check_kubevirt_binding_plugins),
    ("spiderpool-installed", _always, check_spiderpool_installed),
    ("spiderpool-version", _spiderpool_in_play, check_spiderpool_version),
    ("spiderpool-static-ip", _fixed_ip, check_spiderpool_static_ip),
    ("spiderpool-ip-families", _fixed_ip, check_spiderpool_ip_families),
    ("spiderpool-known-bugs", _mode_spiderpool, check_spiderpool_known_bugs),
    ("multus-nad-crd", _spiderpool_in_play, check_multus_nad_crd),
    ("default-multus-config", _default_config, check_default_multus_config),
    ("multus-config-nads", _spiderpool_in_play, check_multus_config_nads),
    ("ippool-references", _pool_references, check_ippool_references),
    ("ippool-capacity", _pools, check_ippool_capacity),
    ("ippool-subnet", _pools, check_ippool_subnet),
    ("ippool-vlan", _pools, check_ippool_vlan),
    ("ippool-overlap", _pools, check_ippool_overlap),
)

CHECK_IDS = tuple(check_id for check_id, _, _ in CHECKS)


# --- the report -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    checks: tuple[CheckResult, ...]
    basis: Basis
    server_version: str | None

    def count(self, status: Status) -> int:
        return sum(1 for c in self.checks if c.status is status)

    @property
    def failed(self) -> bool:
        return self.count(Status.FAIL) > 0

    def summary(self) -> dict[str, int]:
        return {s.value: self.count(s) for s in Status}

    def versions(self) -> dict[str, Any]:
        return {
            "kubernetes": self.server_version,
            "kubevirt": self.basis.kubevirt.to_dict(),
            "spiderpool": self.basis.spiderpool.to_dict(),
        }

    def to_dict(self) -> dict[str, Any]:
        b = self.basis
        return {
            "mode": b.mode.value if b.mode else None,
            "cni": b.cni.value if b.cni else None,
            "checks": [c.to_dict() for c in self.checks],
            "summary": self.summary(),
            "versions": self.versions(),
        }


def run(snap: Snapshot, options: Options) -> Report:
    """Every check that applies to ``options.mode``, in catalogue order (pure: no I/O)."""
    b = basis(snap, options)
    results: list[CheckResult] = []
    for _, applies, check in CHECKS:
        if applies(snap, b):
            results.append(check(snap, b))
    return Report(tuple(results), b, snap.server_version)
