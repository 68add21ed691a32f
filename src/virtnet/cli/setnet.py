"""`virtnet set network` (docs/set-network.md): flags, input, one call to the edit, the cluster write, the report."""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, cast

import click

from virtnet.cli.app import CONTEXT, EXIT_FINDINGS, EXIT_OK, cli, read_text, version_options, versions_from_flags
from virtnet.cli.apply import DEFAULT_TIMEOUT, dry_run_option, event_line
from virtnet.cli.intentflags import TargetFlags, collect, flag_error, mode_options, parse_nics, rendering_options
from virtnet.cli.kube import Target, connection_options
from virtnet.cluster.apply import DryRun
from virtnet.errors import ConflictError, InputError, Location
from virtnet.formats.intent import NicDocument
from virtnet.formats.intentdoc import IntentValues
from virtnet.formats.yamlio import as_list, dump_json, dump_yaml
from virtnet.model.intent import Intent
from virtnet.model.modes import DEFAULT_SPIDERPOOL_NAMESPACE
from virtnet.render.setnetwork import Edit

if TYPE_CHECKING:  # the cluster layer pulls in the Kubernetes client: imported when the command runs
    from virtnet.cluster.apply_run import Event, Options
    from virtnet.cluster.setnetwork_local import FileEdit
    from virtnet.cluster.setnetwork_run import SetResult
    from virtnet.lint.model import Finding

SET_NETWORK_HELP = """Move an existing VirtualMachine to a network mode: the guide's VM edit (default-network
    annotation, networks, interfaces, pools annotation, cloud-init networkData) in one command, plus the pools,
    SpiderMultusConfigs, binding NAD and KubeVirt CR change the mode needs — existing matching ones are reused.

    Only what networking owns changes: the template annotations v1.multus-cni.io/default-network and
    ipam.spidernet.io/ippool(s)/default-route-nic, spec.template.spec.networks, domain.devices.interfaces (a NIC that
    stays keeps its MAC, model, ports, bootOrder, pciAddress) and the cloud-init networkData (inline, base64, or in a
    Secret: rewritten only with --update-secret). Disks, volumes, CPU, memory, labels: untouched. NIC i keeps the
    name of the VM's NIC i unless --nic name= says otherwise.

    \b
    On a cluster: reads the VM, the pools, SpiderMultusConfigs and NADs, the VMI and SpiderEndpoint, and applies
    through the path of `virtnet apply` (server-side apply, field manager virtnet, in dependency order, unchanged
    objects not written). virtnet takes only the fields the edit needs; when another field manager (kubectl,
    a GitOps tool) owns them, it stops before writing and says who owns what — --force-conflicts takes over
    exactly those fields.
    Offline: -f FILE --local prints the edited file (comments kept) followed by the objects the mode needs.

    \b
    It says when the change takes effect (now, at the next start, or after a restart — with KubeVirt's reason and
    source) and what happens to each NIC's IP (SpiderPool keeps a VM's recorded IP until its SpiderEndpoint goes).
    It refuses, with the reason, what would break the VM: a running VM with evictionStrategy LiveMigrate moved to a
    mode KubeVirt does not migrate, bridge binding on a macvlan/ipvlan network, removing a NIC that networkData
    routes, bonds or VLANs depend on, pools or SpiderMultusConfigs that exist with another spec, and more.
    On a cluster it then lints the edited VM against the cluster's pools, SpiderMultusConfigs, NADs and KubeVirt CR
    and refuses when the edit would bring a lint error the VM did not have (e.g. a pool whose namespaceAffinity
    excludes the VM: no IP at the next start); errors the VM already had are not held against the edit
    (`virtnet lint --cluster` lists them). --no-lint writes anyway.

    \b
    Exit codes: 0 done (or nothing to do), 1 refused or failed on the cluster side, 2 bad input.

    \b
    Examples:
      virtnet set network masquerade-calico --mode passt --cni macvlan \\
        --nic master=ens192,subnet=10.7.0.0/16,gateway=10.7.0.1,ips=10.7.120.100-10.7.120.200,pool=10-7-v4
      virtnet set network vm1 -n vms --mode bridge --cni ovs --nic bridge=br1,vlan=30,pool=vlan30-v4 \\
        --nic bridge=br1,vlan=40,pool=vlan40-v4 --dry-run=server
      virtnet set network vm1 --mode masquerade --dry-run=client -o yaml
      virtnet set network -f vm.yaml --local --mode passt --nic master=ens192,pool=10-7-v4 > vm.new.yaml
      virtnet set network -f vm.yaml --local --mode masquerade --diff
"""


@cli.group("set", context_settings=CONTEXT)
def set_group() -> None:
    """Change part of an existing object (like kubectl set)."""


@set_group.command("network", context_settings=CONTEXT, help=SET_NETWORK_HELP)
@click.argument("vm_name", metavar="[VM]", required=False)
@mode_options(nic_help="One NIC, in order (keys of `new vm`).")
@click.option("-f", "--filename", metavar="FILE|-", help="A manifest file with the VM(s) (with --local).")
@click.option("--local", is_flag=True, help="Edit the file of -f offline and print it; no cluster is contacted.")
@dry_run_option(
    "client: only read and say what would change; server: the API server checks every write and stores nothing."
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "yaml", "json", "report-json"]),
    default=None,
    help="yaml/json: the edited objects (report on stderr); report-json: the report as JSON; text (default on a "
    "cluster): the report. --local prints YAML unless -o json.",
)
@click.option("--diff", is_flag=True, help="Show a unified diff of each VM instead; writes nothing.")
@click.option("--update-secret", is_flag=True, help="Rewrite networkData kept in a Secret (networkDataSecretRef).")
@click.option("--force-conflicts", is_flag=True, help="Take over the fields the edit needs from other field managers.")
@click.option("--no-lint", is_flag=True, help="Write even when lint finds errors the edit would bring (on a cluster).")
@rendering_options
@click.option(
    "--spiderpool-namespace",
    help=f"Namespace where SpiderPool runs (default: found in the cluster, else {DEFAULT_SPIDERPOOL_NAMESPACE}).",
)
@click.option(
    "--kubevirt-namespace",
    help=f"Namespace of the KubeVirt CR (default: found in the cluster, else {Intent.kubevirt_namespace}).",
)
@click.option(
    "--timeout", default=DEFAULT_TIMEOUT, show_default=True, metavar="DURATION", help="Wait for each new NAD this long."
)
@version_options
@connection_options(all_namespaces=False)
@collect(TargetFlags, "network")
def set_network(
    target: Target,
    vm_name: str | None,
    network: TargetFlags,
    filename: str | None,
    local: bool,
    dry_run: str,
    output: str | None,
    diff: bool,
    update_secret: bool,
    force_conflicts: bool,
    no_lint: bool,
    timeout: str,
    kubevirt_version: str | None,
    spiderpool_version: str | None,
) -> None:
    from virtnet.cli.apply import parse_duration

    seconds = parse_duration(timeout)
    versions_from_flags(kubevirt_version, spiderpool_version, announce=False)
    parsed = parse_nics(network.nics)
    # the VM's own name (a DNS subdomain, which intents do not accept) is set by the edit; this one is a placeholder
    wanted = network.values("vm", None, parsed)
    versions = (kubevirt_version, spiderpool_version)
    if local or filename:
        cluster_flag = "--force-conflicts" if force_conflicts else "--no-lint" if no_lint else None
        filename = _local_file(local, filename, dry_run, cluster_flag)
        edited = _edit_file(filename, wanted, parsed, vm_name, target.connection.namespace, versions, update_secret)
        _print_file(edited, diff=diff, output=output)
        return
    if not vm_name:
        raise InputError("name the VirtualMachine (VM), or edit a file with -f FILE --local", Location(path="VM"))
    from virtnet.cluster.apply_run import Options

    options = Options(dry_run=cast(DryRun, dry_run), force_conflicts=force_conflicts, timeout=seconds)
    _live(
        target,
        vm_name,
        wanted,
        parsed,
        versions,
        update_secret,
        options,
        diff=diff,
        output=output or "text",
        lint=not no_lint,
    )


# --- offline -------------------------------------------------------------------------------------------------------


def _local_file(local: bool, filename: str | None, dry_run: str, cluster_flag: str | None) -> str:
    """The file -f --local edits; -f without --local, --local without -f and cluster flags (``cluster_flag``: the
    one given, of --force-conflicts and --no-lint) are usage errors."""
    if not local:
        raise InputError("-f edits a file: add --local (a VM on the cluster is named by VM)", Location(path="-f"))
    if not filename:
        raise InputError("--local needs the file to edit: -f FILE", Location(path="--local"))
    if dry_run != "none" or cluster_flag:
        flag = "--dry-run" if dry_run != "none" else str(cluster_flag)
        raise InputError("--local never contacts a cluster", Location(path=flag))
    return filename


def _edit_file(
    path: str,
    wanted: IntentValues,
    nics: Sequence[NicDocument],
    vm_name: str | None,
    namespace: str | None,
    versions: tuple[str | None, str | None],
    update_secret: bool,
) -> FileEdit:
    from virtnet.cluster.setnetwork_local import edit_file

    text = sys.stdin.read() if path == "-" else read_text(path, "manifest", "-f")
    source = "<stdin>" if path == "-" else path
    kubevirt, spiderpool = versions
    try:
        return edit_file(
            text,
            source,
            wanted,
            vm_name=vm_name,
            namespace=namespace,
            kubevirt=kubevirt,
            spiderpool=spiderpool,
            update_secret=update_secret,
        )
    except InputError as err:
        raise flag_error(err, nics) from None


def _print_file(edited: FileEdit, *, diff: bool, output: str | None) -> None:
    """The report on stderr; then the diffs, or the edited file followed by the objects the mode needs."""
    from virtnet.render.bundle import is_kubevirt_change

    for edit in edited.edits:
        for line in _edit_lines(edit, edited.versions_from):
            click.echo(line, err=True)
    if edited.refused:
        first = next(e for e in edited.edits if e.refusals)
        click.echo(f"virtnet: error: refusing to edit {first.ref}: {first.refusals[0].reason}", err=True)
        raise SystemExit(EXIT_FINDINGS)
    if diff:
        click.echo("".join(edited.diffs), nl=False)
        return
    shown = [o for o in edited.extra if not is_kubevirt_change(o)]
    for change in (o for o in edited.extra if is_kubevirt_change(o)):
        meta = change.get("metadata") or {}
        patch = json.dumps({"spec": change.get("spec")}, separators=(",", ":"))
        click.echo(
            f"note: the KubeVirt CR change is a merge patch, not printed with the manifests: `virtnet apply` merges "
            f"it, or: kubectl patch kubevirt {meta.get('name')} -n {meta.get('namespace')} --type merge -p '{patch}' "
            "(after adding the feature gates the CR already lists)",
            err=True,
        )
    if output == "json":
        click.echo(dump_json(as_list([*edited.plain(), *shown])), nl=False)
    else:
        click.echo(edited.yaml() + "".join(f"---\n{dump_yaml(obj)}" for obj in shown), nl=False)


# --- the report ------------------------------------------------------------------------------------------------


def _edit_lines(edit: Edit, versions_from: str) -> list[str]:
    lines = []
    bundle = edit.bundle
    if bundle is not None:
        p = bundle.plan
        lines.append(
            f"{edit.ref}: mode {p.intent.mode.value} on {p.intent.cni.value} ({p.intent.versions}; versions: "
            f"{versions_from})"
        )
    if not edit.changes:
        lines.append("  no change: the VM already has this network")
    for c in edit.changes:
        lines.append(f"  {c.path}: {c.summary}")
    effect = edit.effect
    if effect.when != "none":
        head = {
            "now": "takes effect now",
            "next-start": "takes effect at the next start",
            "restart": "needs a restart to take effect",
        }[effect.when]
        lines.append(f"effect: {head} — the VM is {effect.running}")
        for r in effect.reasons:
            lines.append(f"  - {r.text} ({r.source})")
        if effect.condition:
            lines.append(f"  KubeVirt: {effect.condition}")
        if effect.how:
            lines.append(f"  then: {effect.how}")
    if edit.ips and edit.changed:
        lines.append("IPs:")
        for ip in edit.ips:
            lines.append(f"  {ip.nic} ({ip.pod_interface}): {ip.text}" + (f" ({ip.source})" if ip.source else ""))
            if ip.release:
                lines.append(f"    to release it: {ip.release}")
    for w in edit.warnings:
        lines.append(f"warning: {w}")
    for n in edit.notes:
        lines.append(f"note: {n}")
    for refusal in edit.refusals:
        lines.append(f"refused: {refusal.reason}" + (f" ({refusal.source})" if refusal.source else ""))
        if refusal.hint:
            lines.append(f"  hint: {refusal.hint}")
    return lines


# --- on a cluster --------------------------------------------------------------------------------------------------


def _live(
    target: Target,
    vm_name: str,
    wanted: IntentValues,
    nics: Sequence[NicDocument],
    versions: tuple[str | None, str | None],
    update_secret: bool,
    options: Options,
    *,
    diff: bool,
    output: str,
    lint: bool = True,
) -> None:
    from virtnet.cluster.setnetwork_lint import refusing
    from virtnet.cluster.setnetwork_run import execute, prepare

    with target.connect() as cluster:
        namespace = target.connection.namespace or cluster.namespace
        kubevirt, spiderpool = versions
        try:
            prepared = prepare(
                cluster,
                vm_name,
                namespace,
                wanted,
                kubevirt=kubevirt,
                spiderpool=spiderpool,
                update_secret=update_secret,
            )
        except InputError as err:
            raise flag_error(err, nics) from None
        edit = prepared.edit
        lines = _edit_lines(edit, prepared.versions_from) + [f"note: not read: {u}" for u in prepared.gathered.unread]
        if edit.refusals:
            _refuse(edit, lines, output, edit.refusals[0].reason)
        errors, unenforced = refusing(prepared.findings, prepared.lint_blind)
        lines += [_lint_line(f) for f in prepared.findings] + ([f"note: {unenforced}"] if unenforced else [])
        if errors and lint and not diff:
            _refuse_lint(edit, errors, lines, prepared.versions_from, output)
        if diff:
            click.echo(_diff(prepared.gathered.vm, edit), nl=False)
            for line in lines:
                click.echo(line, err=True)
            return
        for line in lines:
            click.echo(line, err=output != "text")

        def on_event(event: Event) -> None:
            line = event_line(event, options.dry_run, timing=False)
            if line:
                click.echo(line, err=output != "text")

        try:
            result = execute(cluster, prepared.gathered, edit, options, on_event=on_event)
        except ConflictError as err:
            _conflict(edit, err, output)
    _finish(edit, result, options.dry_run, output)


def _refuse(
    edit: Edit, lines: Sequence[str], output: str, reason: str, report: Mapping[str, Any] | None = None
) -> NoReturn:
    """Print the report lines, the JSON report (``report`` added to it) with -o report-json, the refusal; exit 1."""
    for line in lines:
        click.echo(line, err=output != "text")
    if output == "report-json":
        click.echo(dump_json({"edit": edit.to_dict(), "refused": True, **(report or {})}), nl=False)
    click.echo(f"virtnet: error: refusing to edit {edit.ref}: {reason}", err=True)
    raise SystemExit(EXIT_FINDINGS)


def _lint_line(f: Finding) -> str:
    return f"{f.severity.value}: lint {f.rule.code} {f.rule.slug}: {f.message}"


def _refuse_lint(edit: Edit, errors: Sequence[Finding], lines: Sequence[str], versions: str, output: str) -> NoReturn:
    count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
    reason = f"lint finds {count} the edit would bring (versions: {versions}); fix them, or write anyway with --no-lint"
    _refuse(edit, lines, output, reason, {"refused": f"lint found {count}", "lint": [f.to_dict() for f in errors]})


def _diff(vm: Mapping[str, Any], edit: Edit) -> str:
    from virtnet.cluster.setnetwork import without_server_fields

    before, after = dump_yaml(without_server_fields(vm)), dump_yaml(without_server_fields(edit.vm))
    label = edit.ref
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{label}", f"b/{label}"))


def _conflict(edit: Edit, err: ConflictError, output: str) -> NoReturn:
    if output == "report-json":
        click.echo(
            dump_json(
                {
                    "edit": edit.to_dict(),
                    "conflicts": [{"manager": m, "field": f} for m, f in err.fields],
                    "error": err.message,
                    "hint": err.hint,
                }
            ),
            nl=False,
        )
    click.echo(f"virtnet: error: {err.message}", err=True)
    if err.hint:
        click.echo(f"  hint: {err.hint}", err=True)
    raise SystemExit(EXIT_FINDINGS) from None


def _finish(edit: Edit, result: SetResult, dry_run: str, output: str) -> NoReturn:
    """The edited objects (-o yaml/json), what was written and the summary (or the report as JSON); the exit code."""
    from virtnet.cluster.setnetwork import without_server_fields

    report = result.report
    if output in ("yaml", "json"):
        shown = [without_server_fields(edit.vm), *[o for o in edit.objects if o.get("kind") != "KubeVirt"]]
        click.echo(
            dump_json(as_list(shown)) if output == "json" else "".join(f"---\n{dump_yaml(o)}" for o in shown), nl=False
        )
    failure = report.failure
    if output == "report-json":
        click.echo(
            dump_json({"edit": edit.to_dict(), "apply": report.to_dict(), "removedAnnotations": result.removed}),
            nl=False,
        )
    else:
        for line in _summary(result, dry_run):
            click.echo(line, err=output != "text")
    if failure is not None:
        hint = f"; {failure.hint}" if failure.hint else ""
        click.echo(f"virtnet: error: {failure.message}{hint}", err=True)
    raise SystemExit(EXIT_OK if report.ok else EXIT_FINDINGS)


def _summary(result: SetResult, dry_run: str) -> list[str]:
    report = result.report
    lines: list[str] = []
    if result.removed:
        lines.append(
            f"removed annotations {', '.join(result.removed)} (JSON patch"
            + (", dry run" if dry_run != "none" else "")
            + ")"
        )
    if report.hco is not None and not report.hco.empty:
        lines.append(f"{report.hco_cr} is owned by the HyperConverged operator: make this change there:")
        lines += [f"  {c}" for c in report.hco.commands()]
    if report.failure is not None:
        lines.append(f"FAILED: {report.failure.message}")
        if report.failure.hint:
            lines.append(f"  hint: {report.failure.hint}")
    s = report.summary()
    counts = f"{s['created']} created, {s['configured']} configured, {s['unchanged']} unchanged"
    lines.append(f"dry run ({dry_run}): {counts}; nothing was written" if dry_run != "none" else counts)
    return lines
