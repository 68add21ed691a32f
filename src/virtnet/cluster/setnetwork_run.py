"""`virtnet set network` on a live cluster, the requests: read the VM and what the edit must know, then write through
the ordered, idempotent path of `virtnet apply` (:func:`virtnet.cluster.apply_run.run`).

Reads: the VirtualMachine; the cluster facts (versions, the KubeVirt CR — cluster default evictionStrategy,
vmRolloutStrategy, feature gates); every SpiderIPPool, SpiderMultusConfig and NetworkAttachmentDefinition (a
refused list only makes the reuse and existence checks less complete); the VMI (is the VM running?) and the VM's
SpiderEndpoint (which IPs SpiderPool keeps for it); with ``--update-secret``, the Secrets the VM's
``networkDataSecretRef`` names. Nothing else, and no Secret without ``--update-secret``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from virtnet.cluster.apply import Outcome, Ref, Report
from virtnet.cluster.apply_run import Event, Options, resolve, run
from virtnet.cluster.client import Cluster
from virtnet.cluster.facts import KUBEVIRT_GV, NAD_GV, SPIDERPOOL_GV, Facts
from virtnet.cluster.read import read_facts
from virtnet.cluster.setnetwork import Conflict, VmWrite, explain, on_cluster, secret_write, vm_write
from virtnet.cluster.setnetwork_lint import edit_findings
from virtnet.cluster.versions import SET_NETWORK_WORDING, choose_versions
from virtnet.errors import ConflictError, ForbiddenError, Location, NotFoundError, NotInstalledError
from virtnet.formats.intentdoc import IntentValues
from virtnet.lint.model import Finding
from virtnet.render.setnetwork import CLOUD_INIT_SOURCES, Context, Edit, edit_vm


@dataclass
class Gathered:
    vm: dict[str, Any]
    context: Context
    facts: Facts
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)  # as read (for the Secret apply bodies)
    unread: list[str] = field(default_factory=list)  # what could not be read, and why


def _optional(cluster: Cluster, api_version: str, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
    try:
        return cluster.get(api_version, kind, name, namespace)
    except (NotInstalledError, NotFoundError):
        return None


def secret_refs(vm: Mapping[str, Any]) -> list[str]:
    """The Secrets the VM's cloud-init volumes take networkData from."""
    spec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
    names: list[str] = []
    for vol in spec.get("volumes") or []:
        for src in CLOUD_INIT_SOURCES:
            ref = ((vol or {}).get(src) or {}).get("networkDataSecretRef") or {}
            if isinstance(ref, Mapping) and ref.get("name") and ref["name"] not in names:
                names.append(str(ref["name"]))
    return names


def gather(cluster: Cluster, name: str, namespace: str, *, update_secret: bool) -> Gathered:
    vm = cluster.get(KUBEVIRT_GV, "VirtualMachine", name, namespace)
    if vm is None:
        raise NotFoundError(
            f"VirtualMachine {namespace}/{name} does not exist",
            f"kubectl get virtualmachines -n {namespace} lists the VMs there",
        )
    facts = read_facts(cluster)
    known: set[str] = set()
    unread: list[str] = []
    found: dict[str, tuple[dict[str, Any], ...]] = {}
    for api_version, kind in (
        (SPIDERPOOL_GV, "SpiderIPPool"),
        (SPIDERPOOL_GV, "SpiderMultusConfig"),
        (NAD_GV, "NetworkAttachmentDefinition"),
    ):
        listing = cluster.listing(api_version, kind, all_namespaces=True)
        if listing.ok:
            known.add(kind)
            found[kind] = tuple(listing.items)
        else:
            found[kind] = ()
            unread.append(f"{kind}: {listing.error}")
    live = True
    try:
        vmi = _optional(cluster, KUBEVIRT_GV, "VirtualMachineInstance", name, namespace)
    except ForbiddenError as err:
        vmi, live = None, False
        unread.append(f"VirtualMachineInstance: {err.message}")
    try:
        endpoint = _optional(cluster, SPIDERPOOL_GV, "SpiderEndpoint", name, namespace)
    except ForbiddenError as err:
        endpoint = None
        unread.append(f"SpiderEndpoint: {err.message}")
    secrets: dict[str, dict[str, Any]] = {}
    if update_secret:
        for secret in secret_refs(vm):
            obj = cluster.get("v1", "Secret", secret, namespace)
            if obj is not None:
                secrets[secret] = obj
    ctx = Context(
        pools=found["SpiderIPPool"],
        multus_configs=found["SpiderMultusConfig"],
        nads=found["NetworkAttachmentDefinition"],
        known=frozenset(known),
        kubevirt=facts.kubevirt_cr,
        vmi=vmi,
        endpoint=endpoint,
        secrets=secrets,
        live=live,
        update_secret=update_secret,
    )
    return Gathered(vm, ctx, facts, secrets, unread)


@dataclass(frozen=True)
class Prepared:
    """What was read, the edit, where its versions came from, and the lint findings the edit would bring."""

    gathered: Gathered
    edit: Edit
    versions_from: str
    findings: tuple[Finding, ...] = ()
    # kinds lint needs whose listing the cluster refused: lint then sees only part of them, so its errors are
    # reported but do not refuse the edit (a pool it cannot see would look missing)
    lint_blind: tuple[str, ...] = ()


def prepare(
    cluster: Cluster,
    name: str,
    namespace: str,
    target: IntentValues,
    *,
    kubevirt: str | None = None,
    spiderpool: str | None = None,
    update_secret: bool = False,
) -> Prepared:
    """Read the VM and what the edit must know, choose the versions (the flags ``kubevirt``/``spiderpool``, else
    the cluster's, else the newest supported) and edit the VM for ``target`` on this cluster; lint what the edit would
    bring (:func:`virtnet.cluster.setnetwork_lint.edit_findings`). An error in the target (the flags' fault) is an
    :class:`~virtnet.errors.InputError` about a field of its intent."""
    gathered = gather(cluster, name, namespace, update_secret=update_secret)
    versions = choose_versions(kubevirt, spiderpool, lambda: gathered.facts)
    intent = on_cluster(target, namespace, versions, gathered.facts).intent()
    edit = edit_vm(gathered.vm, intent, gathered.context)
    findings = (
        edit_findings(
            gathered.vm,
            edit.vm,
            edit.objects,
            gathered.context,
            versions.kubevirt.version,
            versions.spiderpool.version,
        )
        if edit.changed and not edit.refusals
        else ()
    )
    blind = tuple(k for k in LINT_NEEDS if k not in gathered.context.known)
    return Prepared(gathered, edit, versions.sentence(SET_NETWORK_WORDING), findings, blind)


LINT_NEEDS = ("SpiderIPPool", "SpiderMultusConfig", "NetworkAttachmentDefinition")


@dataclass
class SetResult:
    """What set network did on the cluster: the apply report, the VM write and the annotations it removed."""

    report: Report
    write: VmWrite | None = None
    removed: list[str] = field(default_factory=list)


def plan_writes(gathered: Gathered, edit: Edit) -> tuple[VmWrite | None, list[VmWrite]]:
    vm_changed = any(not c.path.startswith("Secret ") for c in edit.changes)
    write = vm_write(gathered.vm, edit) if vm_changed else None
    secrets = [secret_write(gathered.secrets.get(str((s.get("metadata") or {}).get("name"))), s) for s in edit.secrets]
    return write, secrets


def conflicts_of(write: VmWrite | None, secrets: list[VmWrite]) -> list[Conflict]:
    out = list(write.conflicts) if write is not None else []
    for s in secrets:
        out.extend(s.conflicts)
    return out


def execute(
    cluster: Cluster,
    gathered: Gathered,
    edit: Edit,
    options: Options,
    *,
    on_event: Callable[[Event], None] = lambda _: None,
    progress: Callable[[str], None] = lambda _: None,
) -> SetResult:
    """Write the edit: pools, SpiderMultusConfigs (and wait for their NADs), NADs, the KubeVirt CR change, Secrets,
    the VM — in that order, each only when it changes. Conflicts with other field managers stop it before the first
    write unless ``options.force_conflicts``."""
    write, secrets = plan_writes(gathered, edit)
    meta = gathered.vm.get("metadata") or {}
    vm_ref = Ref(str(gathered.vm.get("apiVersion")), "VirtualMachine", meta.get("namespace"), str(meta.get("name")))
    conflicts = conflicts_of(write, secrets)
    if conflicts and not options.force_conflicts:
        message, hint = explain(conflicts, str(vm_ref))
        raise ConflictError(
            message,
            hint,
            managers=tuple(sorted({c.manager for c in conflicts})),
            fields=tuple((c.manager, c.path) for c in conflicts),
        )
    objects: list[tuple[dict[str, Any], Location]] = [(dict(o), Location()) for o in edit.objects]
    objects += [(s.body, Location()) for s in secrets]
    if write is not None:
        objects.append((write.body, Location()))
    if objects:
        report = run(cluster, resolve(cluster, objects), options, on_event=on_event, progress=progress)
    else:
        report = Report(dry_run=options.dry_run)
    result = SetResult(report, write)
    if write is None:
        unchanged = Outcome(vm_ref, "unchanged")
        report.objects.append(unchanged)
        on_event(unchanged)
    elif report.failure is None and write.removals and options.dry_run != "client":
        for removal in write.removals:
            cluster.json_patch(gathered.vm, removal.operations(), dry_run=options.dry_run == "server")
            result.removed.append(removal.key)
        for outcome in report.objects:
            if outcome.ref == vm_ref and outcome.action == "unchanged":
                report.objects[report.objects.index(outcome)] = Outcome(vm_ref, "configured", outcome.warnings)
    return result
