"""`virtnet apply` (see docs/apply.md): flags, input, lint, one call to the executor, the report."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

import click

from virtnet.cli.app import (
    CONTEXT,
    EXIT_FINDINGS,
    EXIT_OK,
    F,
    cli,
    read_text,
    version_options,
    versions_from_flags,
)
from virtnet.cli.kube import Target, connection_options
from virtnet.cli.output import warn
from virtnet.cluster.apply import DryRun, HcoChange, Report, VmReport
from virtnet.errors import InputError, Location
from virtnet.formats.yamlio import Document, dump_json, load_documents

if TYPE_CHECKING:  # the executor pulls in the Kubernetes client: imported when the command runs
    from virtnet.cluster.apply_run import Event
    from virtnet.lint import LintResult

EXIT_INTERRUPTED = 130
DEFAULT_TIMEOUT = "5m"

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """``300``, ``90s``, ``5m``, ``1m30s``, ``1h`` → seconds (kubectl's Go-style durations, or plain seconds)."""
    value = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    elif value and _DURATION.sub("", value) == "":
        seconds = sum(float(n) * _UNIT[u] for n, u in _DURATION.findall(value))
    else:
        raise InputError(f"'{text}' is not a duration such as 90s, 5m or 1m30s", Location(path="--timeout"))
    if seconds <= 0:
        raise InputError("must be more than 0", Location(path="--timeout"))
    return seconds


def dry_run_option(help_text: str) -> Callable[[F], F]:
    """``--dry-run`` none|client|server, as kubectl has it."""
    return click.option(
        "--dry-run", type=click.Choice(["none", "client", "server"]), default="none", show_default=True, help=help_text
    )


APPLY_HELP = """Apply manifests (or an intent, rendered first) to the cluster, in dependency order, by server-side
    apply (field manager virtnet): Namespaces, SpiderIPPools, SpiderMultusConfigs — then wait until SpiderPool has
    generated each one's NetworkAttachmentDefinition — other NADs, the KubeVirt CR change, anything else, Secrets,
    VirtualMachines.

    A KubeVirt object in the input is a change, never a whole object: virtnet reads the live KubeVirt CR, adds the
    missing feature gates and binding-plugin registrations, never removes anything, and writes it back with the
    resourceVersion it read. When the HyperConverged operator owns that CR (it would revert the edit), virtnet
    prints the HyperConverged change to make instead.

    An object whose desired fields already hold is reported unchanged and not written. Nothing is ever deleted.
    The input is linted first (refused on errors unless --no-lint). Versions, for lint and for rendering --intent:
    --kubevirt-version/--spiderpool-version, else the intent's spec.versions, else what the cluster runs (KubeVirt
    CR status, SpiderPool's helm labels), else the newest supported.

    \b
    Exit codes: 0 done, 1 refused or failed on the cluster side (lint errors, conflicts, a NAD or VMI that did not
    come in time, an HCO-owned KubeVirt CR that lacks the change), 2 bad input, 130 interrupted. After a failure the
    report says what was applied and what was not; rerun the same command: apply converges.

    \b
    Examples:
      virtnet new vm vm1 --mode passt --nic master=ens192,subnet=10.7.0.0/16,gateway=10.7.0.1,ips=10.7.1.10-10.7.1.99 \\
        --include-kubevirt-patch | virtnet apply -f - --wait     # the KubeVirt CR change is merged, never replaced
      virtnet apply -f bundle/ --dry-run=server
      virtnet apply --intent vm.yaml --wait
      virtnet apply -f vm.yaml -o json | jq '.objects[] | select(.action != "unchanged")'
      virtnet apply -f vm.yaml --force-conflicts      # take over fields another field manager owns
"""


@cli.command("apply", context_settings=CONTEXT, help=APPLY_HELP)
@click.option(
    "-f", "--filename", "files", multiple=True, metavar="FILE|DIR|-", help="Manifests (repeatable; - = stdin)."
)
@click.option("--intent", metavar="FILE", help="An intent file (kind VMNetwork): render it, then apply.")
@version_options
@click.option("--password-file", metavar="FILE", help="--intent: set a login password from FILE (discouraged).")
@dry_run_option(
    "client: only read, say what would be created/configured/unchanged; server: the API server checks everything "
    "(dryRun=All, fieldValidation=Strict) and stores nothing."
)
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--force-conflicts", is_flag=True, help="Take over fields that another field manager owns.")
@click.option("--no-lint", is_flag=True, help="Apply even when lint finds errors.")
@click.option("--wait", is_flag=True, help="Wait until each started VM's VMI is Running; report its IPs.")
@click.option(
    "--timeout",
    default=DEFAULT_TIMEOUT,
    show_default=True,
    metavar="DURATION",
    help="How long to wait for each SpiderMultusConfig's NAD and, with --wait, each VMI (90s, 5m, …).",
)
@connection_options(all_namespaces=False)
def apply_command(
    files: Sequence[str],
    intent: str | None,
    kubevirt_version: str | None,
    spiderpool_version: str | None,
    password_file: str | None,
    dry_run: str,
    output: str,
    force_conflicts: bool,
    no_lint: bool,
    wait: bool,
    timeout: str,
    target: Target,
) -> None:
    from virtnet.cluster.apply_run import Options, prepare, resolve, run

    seconds = parse_duration(timeout)
    versions_from_flags(kubevirt_version, spiderpool_version)  # flag errors name the flag, before any request
    if files and intent:
        raise InputError("use -f or --intent, not both", Location(path="--intent"))
    if not files and not intent:
        raise InputError("nothing to apply: pass -f FILE|DIR|- or --intent FILE", Location(path="-f"))
    intent_doc, password = _load_intent(intent, password_file) if intent else (None, None)
    documents = _read_manifests(files) if files else []

    with target.connect() as cluster:  # reads the kubeconfig; the first request comes later
        prepared = prepare(
            cluster,
            documents,
            intent_doc,
            label=intent or "",
            password=password,
            kubevirt=kubevirt_version,
            spiderpool=spiderpool_version,
            lint=not no_lint,
        )
        for message in prepared.input.warnings:
            warn(message)
        if prepared.lint is not None:
            _lint_or_refuse(prepared.lint, prepared.versions_from, output)
        items = resolve(cluster, prepared.input.objects)
        show = _Printer(output, dry_run)
        report = run(
            cluster,
            items,
            Options(dry_run=cast(DryRun, dry_run), force_conflicts=force_conflicts, timeout=seconds, wait=wait),
            on_event=show.event,
            progress=show.progress,
        )
    show.finish(report)
    if report.failure is not None and report.failure.interrupted:
        raise SystemExit(EXIT_INTERRUPTED)
    raise SystemExit(EXIT_OK if report.ok else EXIT_FINDINGS)


# --- input ---------------------------------------------------------------------------------------------------------


def _read_manifests(files: Sequence[str]) -> list[Document]:
    from virtnet.cli.lint import read_inputs

    documents, _ = read_inputs(files)
    return documents


def _load_intent(path: str, password_file: str | None) -> tuple[Document, str | None]:
    """Read and validate the intent now (exit 2 before any request); it is rendered once versions are known."""
    from virtnet.cli.vm import read_password
    from virtnet.formats.intent import intent_from_document
    from virtnet.formats.intentdoc import single_document

    text = sys.stdin.read() if path == "-" else read_text(path, "intent", "--intent")
    source = "<stdin>" if path == "-" else path
    doc = single_document(load_documents(text, source), source)
    password = read_password(password_file) if password_file else None
    intent_from_document(doc, password)
    return doc, password


def _lint_or_refuse(result: LintResult, versions_from: str, output: str) -> None:
    from virtnet.lint import Severity
    from virtnet.lint.report import text, to_json

    errors = result.count(Severity.ERROR)
    if not errors:
        warnings = result.count(Severity.WARNING)
        if warnings and output == "text":
            click.echo(
                f"note: lint found {warnings} warning{'s' if warnings != 1 else ''} (`virtnet lint` shows them)",
                err=True,
            )
        return
    if output == "json":
        click.echo(
            dump_json(
                {
                    "objects": [],
                    "summary": Report().summary(),
                    "refused": f"lint found {errors} error{'s' if errors != 1 else ''}",
                    "versions": versions_from,
                    "lint": json.loads(to_json(result)),
                }
            ),
            nl=False,
        )
    else:
        click.echo(text(result), nl=False, err=True)
    click.echo(
        f"virtnet: error: refusing to apply: lint found {errors} error{'s' if errors != 1 else ''} "
        f"(versions: {versions_from}); fix them, or apply anyway with --no-lint",
        err=True,
    )
    raise SystemExit(EXIT_FINDINGS)


# --- output --------------------------------------------------------------------------------------------------------


class _Printer:
    """Text: one line per object as it is applied, then the end of the story. JSON: the report at the end."""

    def __init__(self, output: str, dry_run: str) -> None:
        self.output = output
        self.dry_run = dry_run
        self.tty = sys.stderr.isatty()
        self._progress_shown = False

    def progress(self, message: str) -> None:
        if not self.tty:
            return
        if message:
            click.echo(f"\r\033[K{message}", nl=False, err=True)
            self._progress_shown = True
        elif self._progress_shown:
            click.echo("\r\033[K", nl=False, err=True)
            self._progress_shown = False

    def event(self, event: Event) -> None:
        if self.output != "text":
            return
        from virtnet.cluster.apply import Outcome

        self.progress("")
        line = event_line(event, self.dry_run, timing=True)
        if line:
            click.echo(line)
        if isinstance(event, Outcome):
            for warning in event.warnings:
                click.echo(f"  warning: {warning}")
        elif isinstance(event, VmReport):
            _vm_text(event)

    def finish(self, report: Report) -> None:
        if self.output == "json":
            click.echo(dump_json(report.to_dict()), nl=False)
            self._error_line(report)
            return
        for note in report.notes:
            click.echo(f"note: {note}")
        if report.hco is not None and not report.hco.empty:
            _hco_text(report, report.hco)
        failure = report.failure
        if failure is not None:
            label = "INTERRUPTED" if failure.interrupted else "FAILED"
            where = "" if str(failure.ref) in failure.message else f"{failure.ref}: "
            click.echo(f"{label}: {where}{failure.message}")
            if failure.hint:
                click.echo(f"  hint: {failure.hint}")
        if report.not_applied:
            click.echo("not applied: " + ", ".join(str(r) for r in report.not_applied))
        s = report.summary()
        total = s["created"] + s["configured"] + s["unchanged"]
        counts = f"{s['created']} created, {s['configured']} configured, {s['unchanged']} unchanged"
        if self.dry_run != "none":
            click.echo(f"dry run ({self.dry_run}): {_objects_word(total)} would be: {counts}; nothing was written")
        elif failure is not None or report.not_applied:
            click.echo(
                f"stopped: {_objects_word(total)} applied ({counts}), {len(report.not_applied)} not applied; "
                "fix the cause and run the same command again: apply converges"
            )
        else:
            click.echo(f"{_objects_word(total)}: {counts}")
        self._error_line(report)

    def _error_line(self, report: Report) -> None:
        failure = report.failure
        if failure is not None:
            hint = f"; {failure.hint}" if failure.hint else ""
            click.echo(f"virtnet: error: {failure.message}{hint}", err=True)
        elif report.hco is not None and not report.hco.empty:
            click.echo(
                f"virtnet: error: {report.hco_cr} is owned by the HyperConverged operator and lacks what the VMs "
                "need: make the HyperConverged change shown above",
                err=True,
            )


def event_line(event: Event, dry_run: str, *, timing: bool) -> str:
    """One line on an applied object or a NAD waited for ('' for other events); ``timing``: how long the wait took."""
    from virtnet.cluster.apply import Outcome, Wait

    suffix = f" (dry run: {dry_run})" if dry_run != "none" else ""
    if isinstance(event, Outcome):
        line = f"{event.ref} {event.action}{suffix}"
        if event.detail and event.action != "unchanged":
            line += f": {event.detail}"
        return line
    if isinstance(event, Wait):
        if event.skipped:
            return f"{event.nad} {event.skipped} (SpiderPool generates it from {event.owner})"
        if event.ready:
            waited = f" after {event.seconds:.1f}s" if timing and event.seconds >= 0.05 else ""
            return f"{event.nad} present{waited} (SpiderPool generates it from {event.owner})"
    return ""


def _objects_word(n: int) -> str:
    return f"{n} object" if n == 1 else f"{n} objects"


def _vm_text(vm: VmReport) -> None:
    if vm.note and not vm.addresses:
        click.echo(f"{vm.ref} {vm.phase}: {vm.note}")
        return
    click.echo(f"{vm.ref} {vm.phase}")
    for a in vm.addresses:
        where = a.interface or "?"
        if a.pod_interface:
            where += f" ({a.pod_interface})"
        click.echo(f"  {a.ip}  interface {where}  {'fixed' if a.fixed else 'not fixed'}: {a.why}")
        click.echo(f"    seen in: {'; '.join(a.sources)}")
    if vm.note:
        click.echo(f"  note: {vm.note}")


def _hco_text(report: Report, hco: HcoChange) -> None:
    click.echo(
        f"{report.hco_cr} is owned by the HyperConverged operator (HCO): not edited, HCO reverts direct edits. "
        f"Make the change on HyperConverged {hco.namespace}/{hco.name} instead:"
    )
    for command in hco.commands():
        click.echo(f"  {command}")
    if hco.jsonpatch and hco.includes_existing and len(hco.jsonpatch) > hco.new_operations:
        click.echo("  (the annotation keeps the operations it already holds: it is one JSON array)")
    elif hco.jsonpatch and not hco.includes_existing:
        click.echo(
            "  (the annotation holds one JSON array and the HyperConverged CR could not be read: if it already "
            "carries kubevirt.kubevirt.io/jsonpatch, add these operations to it instead of overwriting it)"
        )
