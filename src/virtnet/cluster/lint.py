"""``virtnet lint --cluster``: the file linter's rules on live objects.

:func:`gather` reads (one paginated list per kind, ``limit``/``continue``; never one request per object) and
:func:`lint_live` turns what was read into lint objects without files and runs the same engine as ``virtnet lint
FILES``. Everything between the reads and the engine is pure (dicts in, lint objects and "not checked" notes out),
so an admission webhook or a controller holding the objects already can reuse it. No rule logic lives here.

What is read, and why:

- VirtualMachines; VirtualMachineInstances that no VirtualMachine owns (a VM's own VMI repeats its template, and
  its findings would repeat the VM's) — in the selected namespace, or every namespace with ``-A``.
- SpiderMultusConfigs and NetworkAttachmentDefinitions of every namespace: VMs reference NADs across namespaces
  (SpiderPool's live in kube-system), so with ``-n NS`` those of other namespaces are read as context only — the
  rules see them, findings are reported only for objects of NS and for cluster-wide objects.
- SpiderEndpoints of the namespace(s) read, as context only (SpiderPool writes them): the address it keeps for
  each VM (rule endpoint-pool-changed).
- SpiderIPPools and SpiderSubnets (cluster-scoped), the KubeVirt CR and ``spiderpool-conf`` (from
  :func:`virtnet.cluster.read.read_facts`, which also gives the versions: KubeVirt CR status, the
  spiderpool-controller Deployment's Helm labels).

A kind that is forbidden or not installed is listed in the result's ``not_checked``; it never stops the run.

Schemas: the schema rules (unknown-field, schema-invalid) check live objects against the cluster's own CRDs — one
``get`` per CustomResourceDefinition of the kinds read (KubeVirt's CRDs carry the schemas virt-operator installs, so
they match the release running there). A CRD that cannot be read (forbidden, not installed) falls back to virtnet's
shipped schema of the target version, and the summary says so.
``metadata.managedFields`` is dropped (server bookkeeping no rule reads); ``status`` is kept, rules read it
deliberately (the KubeVirt CR's versions, a pool's ``status.allocatedIPCount``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from virtnet.cluster.facts import KUBEVIRT_GV, NAD_GV, SPIDERPOOL_CONF, SPIDERPOOL_GV, Facts, why_unreadable
from virtnet.cluster.versions import LINT_WORDING, choose_versions
from virtnet.errors import ClusterError, ForbiddenError, NotInstalledError
from virtnet.lint.engine import LintOptions, lint_objects, live_object
from virtnet.lint.model import LintObject, LintResult, NotChecked
from virtnet.lint.schema import Catalog, shipped_catalog
from virtnet.model.versions import KUBEVIRT, SPIDERPOOL, TargetVersions
from virtnet.schemas import KindSchema, from_crd

if TYPE_CHECKING:
    from virtnet.cluster.client import Cluster


@dataclass(frozen=True)
class Kind:
    """One kind lint reads, and how its namespaces are chosen."""

    api_version: str
    kind: str
    namespaced: bool
    cluster_wide: bool = False  # read in every namespace even with -n (references cross namespaces)
    context_only: bool = False  # seen by the rules, never checked itself (written by a controller, not the user)


WORKLOADS = (Kind(KUBEVIRT_GV, "VirtualMachine", True), Kind(KUBEVIRT_GV, "VirtualMachineInstance", True))
NETWORKS = (
    Kind(SPIDERPOOL_GV, "SpiderMultusConfig", True, cluster_wide=True),
    Kind(NAD_GV, "NetworkAttachmentDefinition", True, cluster_wide=True),
)
POOLS = (Kind(SPIDERPOOL_GV, "SpiderIPPool", False), Kind(SPIDERPOOL_GV, "SpiderSubnet", False))
# SpiderEndpoints (named after the VMI): the address SpiderPool keeps for a VM, for endpoint-pool-changed (VN031)
ENDPOINTS = (Kind(SPIDERPOOL_GV, "SpiderEndpoint", True, context_only=True),)
KINDS: tuple[Kind, ...] = (*WORKLOADS, *POOLS, *NETWORKS)


@dataclass
class Read:
    """What one list of one kind gave: its items, or the error that stopped it (and where it was asked)."""

    kind: Kind
    items: list[dict[str, Any]] = field(default_factory=list)
    error: ClusterError | None = None
    namespace: str | None = None  # the namespace listed; None: every namespace / cluster-scoped
    fallback_from: ClusterError | None = None  # a cluster-wide refusal that made this a one-namespace read


@dataclass
class Gathered:
    """Everything :func:`gather` read."""

    facts: Facts
    reads: list[Read]
    namespace: str | None  # None: every namespace (-A)
    # CustomResourceDefinitions by name: the object, None (not there), or why it could not be read
    crds: dict[str, dict[str, Any] | ClusterError | None] = field(default_factory=dict)


CRD_GV = "apiextensions.k8s.io/v1"
# The CRDs whose schemas check what lint reads (the kinds of KINDS and the KubeVirt CR).
SCHEMA_KINDS = (*(k.kind for k in KINDS), "KubeVirt")


@dataclass(frozen=True)
class LiveObjects:
    objects: list[LintObject]  # checked
    context: list[LintObject]  # seen by the rules, not checked (other namespaces' NADs and SpiderMultusConfigs)
    not_checked: tuple[NotChecked, ...]


# --- reads -------------------------------------------------------------------------------------------------------


def gather(cluster: Cluster, namespace: str | None) -> Gathered:
    """Facts (versions, KubeVirt CR, spiderpool-conf) and one paginated list per kind; ``namespace`` None = -A.

    Refusals and missing CRDs are recorded, not raised; an unreachable server or rejected credentials raise.
    """
    from virtnet.cluster.read import read_facts  # the client is needed only here, not by the pure part

    facts = read_facts(cluster)
    reads: list[Read] = []
    for kind in (*KINDS, *ENDPOINTS):  # SpiderEndpoints: context only, not schema-checked
        if not kind.namespaced or namespace is None:
            listing = cluster.listing(kind.api_version, kind.kind, all_namespaces=True)
            reads.append(Read(kind, listing.items, listing.error))
            continue
        if kind.cluster_wide:
            listing = cluster.listing(kind.api_version, kind.kind, all_namespaces=True)
            if not isinstance(listing.error, ForbiddenError):
                reads.append(Read(kind, listing.items, listing.error))
                continue
            refused: ClusterError | None = listing.error
        else:
            refused = None
        listing = cluster.listing(kind.api_version, kind.kind, namespace)
        reads.append(Read(kind, listing.items, listing.error, namespace=namespace, fallback_from=refused))
    crds: dict[str, dict[str, Any] | ClusterError | None] = {}
    for name in crd_names():
        try:
            crds[name] = cluster.get(CRD_GV, "CustomResourceDefinition", name)
        except (ForbiddenError, NotInstalledError) as err:
            crds[name] = err
    return Gathered(facts, reads, namespace, crds)


def crd_names() -> list[str]:
    """The CRDs whose schemas lint --cluster reads (named as the shipped schemas name them)."""
    shipped = shipped_catalog(TargetVersions())
    return sorted({k.crd for kind in SCHEMA_KINDS for k in shipped.kinds.get(kind, ())})


# --- pure: what was read → lint objects ---------------------------------------------------------------------------


def _owned_by_vm(obj: Mapping[str, Any]) -> bool:
    owners = (obj.get("metadata") or {}).get("ownerReferences") or ()
    return any(isinstance(o, Mapping) and o.get("kind") == "VirtualMachine" for o in owners)


def _clean(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return obj


def live_objects(
    reads: Iterable[Read],
    namespace: str | None,
    *,
    kubevirt_cr: dict[str, Any] | None = None,
    spiderpool_conf: dict[str, Any] | None = None,
    problems: Mapping[str, ClusterError] | None = None,
    conf_namespace: str | None = None,
) -> LiveObjects:
    """Lint objects (checked, and context-only) from the lists; ``namespace`` None = every namespace."""
    objects: list[LintObject] = []
    context: list[LintObject] = []
    not_checked: list[NotChecked] = []
    for read in reads:
        kind = read.kind
        if kind.context_only and isinstance(read.error, NotInstalledError):
            pass  # SpiderPool itself is missing: its pools' "not installed" says so already
        elif read.error is not None:
            not_checked.append(
                NotChecked(
                    kind.api_version,
                    kind.kind,
                    why_unreadable(read.error),
                    read.namespace,
                    forbidden=isinstance(read.error, ForbiddenError),
                )
            )
        elif read.fallback_from is not None:
            not_checked.append(
                NotChecked(
                    kind.api_version,
                    kind.kind,
                    f"{why_unreadable(read.fallback_from)} in other namespaces; only namespace {read.namespace} was "
                    "read, so references to other namespaces are reported as not found",
                    None,
                    forbidden=True,
                )
            )
        for item in read.items:
            if kind.kind == "VirtualMachineInstance" and _owned_by_vm(item):
                continue  # its VirtualMachine is checked
            obj = live_object(_clean(item), kind.namespaced)
            if kind.context_only or (kind.namespaced and namespace is not None and obj.ref.namespace != namespace):
                context.append(obj)
            else:
                objects.append(obj)
    for data in (kubevirt_cr, spiderpool_conf):
        if data is not None:
            objects.append(live_object(_clean(dict(data)), namespaced=True))
    for key, err in (problems or {}).items():
        if key == "kubevirt":
            not_checked.append(
                NotChecked(KUBEVIRT_GV, "KubeVirt", why_unreadable(err), forbidden=isinstance(err, ForbiddenError))
            )
        elif key == "spiderpool-conf":
            forbidden = isinstance(err, ForbiddenError)
            reason = f"{SPIDERPOOL_CONF}: {why_unreadable(err)}"
            not_checked.append(NotChecked("v1", "ConfigMap", reason, conf_namespace, forbidden=forbidden))
    return LiveObjects(objects, context, tuple(not_checked))


def versions_of(facts: Facts, kubevirt: str | None, spiderpool: str | None) -> tuple[str, str, str]:
    """The versions to lint for: a flag wins, else what the cluster says; and a sentence saying where each came from.

    A version the cluster does not reveal (no KubeVirt CR, no labelled spiderpool-controller Deployment, refused
    reads, an unsupported release) falls back to the newest supported, and the sentence says why. The result is
    always explicit, so the engine never falls back to its own detection from the objects.
    """
    chosen = choose_versions(kubevirt, spiderpool, lambda: facts)
    kv = chosen.kubevirt.version or str(KUBEVIRT.newest)
    sp = chosen.spiderpool.version or str(SPIDERPOOL.newest)
    return kv, sp, chosen.sentence(LINT_WORDING)


def schema_catalog(crds: Mapping[str, dict[str, Any] | ClusterError | None], shipped: Catalog) -> Catalog:
    """Pure: the schemas to check live objects with — each kind's from the cluster's CRD, or, where the CRD could not
    be read, the shipped one of the target version (the notes say which and why)."""
    kinds: dict[str, tuple[KindSchema, ...]] = {}
    notes: list[str] = []
    read: list[str] = []
    for name, crd in sorted(crds.items()):
        if isinstance(crd, dict):
            schemas, dropped = from_crd(crd)
            notes.extend(dropped)
            if schemas:
                kinds[schemas[0].kind] = tuple(schemas)
                read.append(name)
                continue
        why = why_unreadable(crd) if isinstance(crd, ClusterError) else "not found"
        fallback = [k for ks in shipped.kinds.values() for k in ks if k.crd == name]
        if fallback:
            kinds.setdefault(fallback[0].kind, tuple(fallback))
            notes.append(f"CRD {name}: {why}; its objects are validated against {fallback[0].release} (shipped)")
    for kind, shipped_kinds in shipped.kinds.items():
        kinds.setdefault(kind, shipped_kinds)
    source = (
        "the cluster's CRD schemas (" + ", ".join(read) + ")"
        if read
        else f"{shipped.source} (the cluster's CRDs could not be read)"
    )
    return Catalog(kinds, source, (*shipped.notes, *notes))


def _namespace_of(obj: Mapping[str, Any] | None) -> str | None:
    namespace = (obj or {}).get("metadata", {}).get("namespace")
    return str(namespace) if namespace else None


# --- the verb -----------------------------------------------------------------------------------------------------


def lint_gathered(gathered: Gathered, options: LintOptions, *, server: str, context: str | None) -> LintResult:
    """Pure: the engine on what :func:`gather` read, with the cluster's versions unless the options pin them."""
    facts = gathered.facts
    live = live_objects(
        gathered.reads,
        gathered.namespace,
        kubevirt_cr=facts.kubevirt_cr,
        spiderpool_conf=facts.spiderpool_conf,
        problems=facts.problems,
        conf_namespace=_namespace_of(facts.spiderpool_deployment),
    )
    kv, sp, versions_from = versions_of(facts, options.kubevirt_version, options.spiderpool_version)
    shipped = shipped_catalog(TargetVersions.parse(kv, sp))
    options = replace(
        options,
        kubevirt_version=kv,
        spiderpool_version=sp,
        versions_from=versions_from,
        schemas=options.schemas or schema_catalog(gathered.crds, shipped),
    )
    result = lint_objects(live.objects, options, context=live.context)
    cluster = {"server": server, "context": context, "namespace": gathered.namespace}
    return replace(result, cluster=cluster, not_checked=live.not_checked)


def lint_cluster(cluster: Cluster, options: LintOptions, *, all_namespaces: bool) -> LintResult:
    """Read the cluster (the context's namespace, or every namespace) and lint what is there."""
    namespace = None if all_namespaces else cluster.namespace
    gathered = gather(cluster, namespace)
    return lint_gathered(gathered, options, server=cluster.server, context=cluster.context)
