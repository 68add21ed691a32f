"""`virtnet apply`, the requests: resolve each input object's scope, then walk the plan of
:mod:`virtnet.cluster.apply` against a :class:`~virtnet.cluster.client.Cluster`.

Per object, at most one write, and none when nothing would change:

- live object absent → server-side apply → ``created``;
- every desired field already has its value → server-side apply with ``dryRun=All``; when the server's answer is
  the live object (same content and field ownership) → ``unchanged``, nothing written; else apply → ``configured``;
- otherwise → apply, and the answer compared with the live object tells ``configured`` from ``unchanged`` (the API
  server does not write an apply that changes nothing: the resourceVersion stays).

The KubeVirt CR is never applied: it is read, merged (:func:`~virtnet.cluster.apply.merge_kubevirt`) and written back
with the resourceVersion that was read (PUT; on 409 read again and retry). A failure stops the walk; the report
says what was applied and what was not, and rerunning converges.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from virtnet.cluster.apply import (
    HCO_API_VERSION,
    HCO_DEFAULT_NAME,
    NAD_API_VERSION,
    NAD_KIND,
    DryRun,
    Failure,
    Item,
    KubevirtMerge,
    Outcome,
    Ref,
    Report,
    Step,
    VmReport,
    Wait,
    apply_body,
    classify_client,
    classify_server,
    halted,
    hco_change,
    merge_kubevirt,
    might_be_unchanged,
    not_applied,
    plan,
    requested_pools,
    require_identity,
    same_object,
    vm_addresses,
)
from virtnet.cluster.apply_input import Input, input_objects, intent_versions, lint_input, render_intent
from virtnet.cluster.client import Cluster
from virtnet.cluster.facts import SPIDERPOOL_GV, hco_owned
from virtnet.cluster.read import read_facts
from virtnet.cluster.versions import APPLY_WORDING, choose_versions
from virtnet.errors import (
    ClusterError,
    ConflictError,
    ForbiddenError,
    Location,
    NotFoundError,
    NotInstalledError,
)
from virtnet.formats.yamlio import Document
from virtnet.lint import LintResult

KUBEVIRT_RETRIES = 5  # read-modify-write attempts on the KubeVirt CR when someone else writes it meanwhile
POLL_SECONDS = 0.5

Event = Outcome | Wait | VmReport
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    dry_run: DryRun = "none"
    force_conflicts: bool = False
    timeout: float = 300.0  # seconds, per wait (a NAD; a VMI to be Running)
    wait: bool = False  # wait until each started VM's VMI is Running and report its IPs
    poll: float = POLL_SECONDS


def _noop(_: Any) -> None:
    return None


# --- the input -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """The input ready to apply: its objects, what rendering warned about, lint's result (None: not linted) and
    where the versions came from ('' when no version was needed)."""

    input: Input
    lint: LintResult | None
    versions_from: str


def prepare(
    cluster: Cluster,
    documents: Sequence[Document],
    intent: Document | None,
    *,
    label: str = "",
    password: str | None = None,
    kubevirt: str | None = None,
    spiderpool: str | None = None,
    lint: bool = True,
) -> Prepared:
    """The manifests' objects (bad input stops here, before any request), or the ``intent`` (named ``label``)
    rendered; versions: the flags ``kubevirt``/``spiderpool``, else the intent's spec.versions, else the cluster's
    (read only then), else the newest supported; then lint's verdict unless ``lint`` is off."""
    namespace = cluster.namespace
    if intent is None:
        found = Input(tuple(documents), tuple(input_objects(documents, namespace)))
        if not lint:
            return Prepared(found, None, "")
    versions = choose_versions(kubevirt, spiderpool, lambda: read_facts(cluster), intent_versions(intent))
    if intent is not None:
        found = render_intent(intent, label, password, versions, namespace)
    result = lint_input(found.documents, versions, namespace) if lint else None
    return Prepared(found, result, versions.sentence(APPLY_WORDING))


def resolve(cluster: Cluster, objects: Sequence[tuple[Mapping[str, Any], Location]]) -> list[Item]:
    """Input objects with their identity: discovery says which kinds are namespaced (a kind the server does not
    serve stops everything before the first write)."""
    items: list[Item] = []
    for obj, location in objects:
        require_identity(obj, location)
    for obj, location in objects:
        res = cluster.resource(str(obj["apiVersion"]), str(obj["kind"]))
        ref = Ref.of(obj, res.namespaced, cluster.namespace)
        items.append(Item(dict(obj), ref, location))
    _check_namespaces(cluster, items)
    return items


def _check_namespaces(cluster: Cluster, items: Sequence[Item]) -> None:
    """Every namespace the input writes into exists or is created by the input — checked before the first write,
    so a missing namespace does not leave half a bundle behind. A refused read skips the check (the write would
    then say)."""
    created = {item.ref.name for item in items if item.ref.kind == "Namespace"}
    needed = sorted({item.ref.namespace for item in items if item.ref.namespace} - created)
    for namespace in needed:
        try:
            found = cluster.get("v1", "Namespace", namespace)
        except ForbiddenError:
            continue
        if found is None:
            users = [str(item.ref) for item in items if item.ref.namespace == namespace]
            raise NotFoundError(
                f"namespace {namespace} does not exist (needed by {', '.join(users[:3])}"
                + (f" and {len(users) - 3} more" if len(users) > 3 else "")
                + "); nothing was applied",
                f"create it first (kubectl create namespace {namespace}) or add a Namespace object to the input",
            )


@dataclass
class _Cursor:
    """What the walk is doing, so a failure or Ctrl-C names it."""

    index: int = 0
    vmi: Ref | None = None  # set while waiting for a VMI (after every object was applied)


def run(
    cluster: Cluster,
    items: Sequence[Item],
    options: Options,
    *,
    on_event: Callable[[Event], None] = _noop,
    progress: Progress = _noop,
) -> Report:
    """Apply ``items`` in dependency order; never raises for a cluster failure or Ctrl-C (the report says)."""
    steps = plan(items)
    report = Report(dry_run=options.dry_run)
    cursor = _Cursor()
    try:
        for index, step in enumerate(steps):
            cursor.index = index
            event: Event | None
            if step.op == "apply":
                assert step.obj is not None
                event = _apply(cluster, step.ref, step.obj, options)
                report.objects.append(event)
            elif step.op == "kubevirt":
                event = _kubevirt(cluster, step, options, report)
                if event is not None:
                    report.objects.append(event)
            else:
                event = _wait_nad(cluster, step, options, progress)
                report.waits.append(event)
                if not event.ready and not event.skipped:
                    assert step.owner is not None
                    on_event(event)
                    report.failure = Failure(
                        step.ref,
                        f"{step.ref} did not appear within {_seconds(options.timeout)}: SpiderPool's controller "
                        f"generates it from SpiderMultusConfig {step.owner.namespace}/{step.owner.name}",
                        "check that spiderpool-controller runs (kubectl get deploy -A -l "
                        "app.kubernetes.io/component=spiderpool-controller) and read the SpiderMultusConfig's events "
                        f"(kubectl -n {step.owner.namespace} describe spidermultusconfig {step.owner.name}); "
                        "raise --timeout if it is only slow",
                    )
                    report.not_applied = not_applied(steps, index + 1)
                    return report
            cursor.index = index + 1  # done: an interruption from here on is about the next step
            if event is not None:
                on_event(event)
        if options.wait and options.dry_run == "none":
            _wait_vms(cluster, items, options, report, cursor, on_event, progress)
    except ClusterError as err:
        if cursor.vmi is not None or cursor.index >= len(steps):
            report.failure = Failure.of(cursor.vmi or steps[-1].ref, err)
        else:
            report.failure = Failure.of(steps[cursor.index].ref, err)
            report.not_applied = not_applied(steps, cursor.index + 1)
    except KeyboardInterrupt:
        hint = "run the same command again: apply converges"
        if cursor.vmi is not None or cursor.index >= len(steps):
            what = f"waiting for {cursor.vmi}" if cursor.vmi else "reporting"
            report.failure = Failure(cursor.vmi or steps[-1].ref, f"interrupted (Ctrl-C) while {what}", hint, (), True)
        else:
            step = steps[cursor.index]
            doing = (
                f"waiting for {step.ref}"
                if step.op == "wait-nad"
                else f"writing {step.ref}: it may or may not have been written"
            )
            report.failure = Failure(step.ref, f"interrupted (Ctrl-C) while {doing}", hint, (), True)
            report.not_applied = not_applied(steps, cursor.index + 1)
    finally:
        progress("")
    return report


def _seconds(value: float) -> str:
    return f"{value:g}s"


# --- objects -------------------------------------------------------------------------------------------------------


def _apply(cluster: Cluster, ref: Ref, obj: Mapping[str, Any], options: Options) -> Outcome:
    desired = apply_body(obj)
    if ref.namespace is not None:
        desired["metadata"]["namespace"] = ref.namespace
    live = cluster.get(ref.api_version, ref.kind, ref.name, ref.namespace)
    if options.dry_run == "client":
        return Outcome(ref, classify_client(desired, live))
    force = options.force_conflicts
    if options.dry_run == "server":
        answer = cluster.apply(desired, force=force, dry_run=True)
        return Outcome(ref, classify_server(live, answer.object), answer.warnings)
    if might_be_unchanged(desired, live):
        trial = cluster.apply(desired, force=force, dry_run=True)
        if live is not None and same_object(live, trial.object):
            return Outcome(ref, "unchanged", trial.warnings)
    answer = cluster.apply(desired, force=force)
    return Outcome(ref, classify_server(live, answer.object), answer.warnings)


def _kubevirt(cluster: Cluster, step: Step, options: Options, report: Report) -> Outcome | None:
    """Merge the change into the live KubeVirt CR (never removing anything); on HCO, print the HCO change."""
    assert step.obj is not None
    ref = step.ref
    live = cluster.get(ref.api_version, ref.kind, ref.name, ref.namespace)
    if live is None:
        found = cluster.list(ref.api_version, ref.kind, all_namespaces=True)
        if not found:
            raise NotFoundError(
                f"{ref} does not exist and the cluster has no other KubeVirt CR to add the change to",
                "install KubeVirt first (its operator's KubeVirt CR); virtnet adds to it but never creates it",
            )
        live = found[0]
        meta = live.get("metadata") or {}
        actual = Ref(ref.api_version, ref.kind, meta.get("namespace"), str(meta.get("name")))
        report.notes.append(f"the input names {ref}; the cluster's KubeVirt CR is {actual}: the change goes there")
        ref = actual
    if hco_owned(live):
        merge = merge_kubevirt(live, step.obj)
        report.hco = hco_change(live, merge, _hyperconverged(cluster, live))
        report.hco_cr = ref
        if not merge.changed:
            return Outcome(ref, "unchanged", _kv_warnings(merge), "owned by HCO; it already has everything")
        if report.hco.empty:
            report.notes.append(
                f"{ref} lacks {merge.describe().removeprefix('added ')}, which the HyperConverged CR already asks "
                "for: HCO has not written it yet"
            )
        return None
    for _ in range(KUBEVIRT_RETRIES):
        merge = merge_kubevirt(live, step.obj)
        warnings = _kv_warnings(merge)
        if not merge.changed:
            return Outcome(ref, "unchanged", warnings, merge.describe())
        if options.dry_run == "client":
            return Outcome(ref, "configured", warnings, merge.describe())
        try:
            cluster.replace(merge.merged, dry_run=options.dry_run == "server")
        except ConflictError as err:
            if err.managers:
                raise
            live = cluster.get(ref.api_version, ref.kind, ref.name, ref.namespace)
            if live is None:
                raise NotFoundError(f"{ref} was deleted while virtnet was adding to it", None) from None
            continue
        return Outcome(ref, "configured", warnings, merge.describe())
    raise ConflictError(
        f"{ref} changed every time virtnet wrote it ({KUBEVIRT_RETRIES} attempts)",
        "something rewrites it continuously (an operator?); run the command again later",
    )


def _hyperconverged(cluster: Cluster, kubevirt: Mapping[str, Any]) -> dict[str, Any] | None:
    """The HyperConverged CR that owns the KubeVirt CR, when it can be read (its jsonpatch annotation is one array
    that the printed change must keep)."""
    meta = kubevirt.get("metadata") or {}
    owner = next((o for o in meta.get("ownerReferences") or [] if o.get("kind") == "HyperConverged"), None)
    name = str((owner or {}).get("name") or HCO_DEFAULT_NAME)
    try:
        return cluster.get(HCO_API_VERSION, "HyperConverged", name, meta.get("namespace"))
    except (NotInstalledError, ForbiddenError):
        return None


def _kv_warnings(merge: KubevirtMerge) -> tuple[str, ...]:
    out = [
        f"feature gate {g} is listed in developerConfiguration.disabledFeatureGates and stays disabled "
        "(virtnet never removes anything: take it out there yourself)"
        for g in merge.disabled
    ]
    out += [f"{k} (virtnet adds what is missing and never changes what is there)" for k in merge.kept]
    return tuple(out)


def _wait_nad(cluster: Cluster, step: Step, options: Options, progress: Progress) -> Wait:
    assert step.owner is not None
    if options.dry_run != "none":
        if cluster.get(NAD_API_VERSION, NAD_KIND, step.ref.name, step.ref.namespace) is not None:
            return Wait(step.ref, step.owner, 0.0, True)
        return Wait(step.ref, step.owner, 0.0, False, skipped="absent: apply would wait for it")
    began = time.monotonic()
    deadline = began + options.timeout
    while True:
        if cluster.get(NAD_API_VERSION, NAD_KIND, step.ref.name, step.ref.namespace) is not None:
            return Wait(step.ref, step.owner, time.monotonic() - began, True)
        now = time.monotonic()
        if now >= deadline:
            return Wait(step.ref, step.owner, now - began, False)
        progress(
            f"waiting for {step.ref} (SpiderPool makes it from SpiderMultusConfig "
            f"{step.owner.namespace}/{step.owner.name}) {now - began:.0f}s / {_seconds(options.timeout)}"
        )
        time.sleep(min(options.poll, max(deadline - now, 0.0)))


# --- VMs -----------------------------------------------------------------------------------------------------------


def _wait_vms(
    cluster: Cluster,
    items: Sequence[Item],
    options: Options,
    report: Report,
    cursor: _Cursor,
    on_event: Callable[[Event], None],
    progress: Progress,
) -> None:
    for item in items:
        if item.ref.kind != "VirtualMachine" or not item.ref.api_version.startswith("kubevirt.io/"):
            continue
        vmi_ref = Ref(item.ref.api_version, "VirtualMachineInstance", item.ref.namespace, item.ref.name)
        why = halted(item.obj)
        if why is not None:
            vm_report = VmReport(vmi_ref, "NotStarted", note=why)
            report.vms.append(vm_report)
            on_event(vm_report)
            continue
        cursor.vmi = vmi_ref
        began = time.monotonic()
        vmi = _wait_running(cluster, vmi_ref, options, progress)
        phase = str(((vmi or {}).get("status") or {}).get("phase") or "absent")
        if vmi is None or phase != "Running":
            how = "failed" if phase in ("Failed", "Succeeded") else f"is not Running after {_seconds(options.timeout)}"
            report.failure = Failure(
                vmi_ref,
                f"{vmi_ref} {how} (phase: {phase})",
                f"kubectl -n {vmi_ref.namespace} describe vmi {vmi_ref.name}; virtnet status {vmi_ref.name} "
                f"-n {vmi_ref.namespace}",
            )
            return
        requested = requested_pools(item.obj)
        # SpiderPool writes the SpiderEndpoint at CNI ADD, before KubeVirt reports Running; still, read it until it
        # is there when the VM asks SpiderPool for IPs (bounded by what is left of --timeout)
        endpoint = _optional_get(cluster, SPIDERPOOL_GV, "SpiderEndpoint", vmi_ref.name, vmi_ref.namespace)
        while endpoint is None and requested and time.monotonic() - began < options.timeout:
            progress(f"{vmi_ref} is Running; waiting for its SpiderEndpoint")
            time.sleep(options.poll)
            endpoint = _optional_get(cluster, SPIDERPOOL_GV, "SpiderEndpoint", vmi_ref.name, vmi_ref.namespace)
        vmi = cluster.get(vmi_ref.api_version, vmi_ref.kind, vmi_ref.name, vmi_ref.namespace) or vmi  # latest IPs
        pool_names = set(requested)
        status = (endpoint or {}).get("status") or {}
        for ip in (status.get("current") or {}).get("ips") or []:
            if isinstance(ip, Mapping):
                pool_names.update(str(ip[k]) for k in ("ipv4Pool", "ipv6Pool") if ip.get(k))
        pools = {name: _optional_get(cluster, SPIDERPOOL_GV, "SpiderIPPool", name, None) for name in sorted(pool_names)}
        addresses = vm_addresses(item.obj, vmi, endpoint, pools)
        note = "" if endpoint is not None else "no SpiderEndpoint for this VMI: SpiderPool did not allocate its IPs"
        vm_report = VmReport(vmi_ref, phase, tuple(addresses), note)
        report.vms.append(vm_report)
        cursor.vmi = None
        on_event(vm_report)


def _wait_running(cluster: Cluster, ref: Ref, options: Options, progress: Progress) -> dict[str, Any] | None:
    began = time.monotonic()
    deadline = began + options.timeout
    while True:
        vmi = cluster.get(ref.api_version, ref.kind, ref.name, ref.namespace)
        phase = ((vmi or {}).get("status") or {}).get("phase")
        if phase in ("Running", "Failed", "Succeeded"):
            return vmi
        now = time.monotonic()
        if now >= deadline:
            return vmi
        progress(f"waiting for {ref} to be Running (phase: {phase or 'no VMI yet'}) {now - began:.0f}s")
        time.sleep(min(options.poll, max(deadline - now, 0.0)))


def _optional_get(cluster: Cluster, api_version: str, kind: str, name: str, namespace: str | None) -> Any:
    try:
        return cluster.get(api_version, kind, name, namespace)
    except (NotInstalledError, NotFoundError):
        return None
