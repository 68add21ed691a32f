"""`virtnet set network` (docs/set-network.md): flags, input, one call to the edit, the cluster write, the report."""

from __future__ import annotations

import copy
import difflib
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any, cast

import click

from virtnet.cli.app import CONTEXT, EXIT_FINDINGS, EXIT_OK, cli, read_text, version_options, versions_from_flags
from virtnet.cli.kube import Target, connection_options
from virtnet.errors import ConflictError, InputError, Location
from virtnet.formats.yamlio import Document, as_list, dump_json, dump_yaml, load_documents
from virtnet.render.setnetwork import Context, Edit

SERVER_FIELDS = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")

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
@click.option("--mode", required=True, type=click.Choice(["masquerade", "passt", "bridge"]), help="Network mode.")
@click.option(
    "--cni",
    type=click.Choice(["calico", "cilium", "flannel", "macvlan", "ipvlan", "ovs"]),
    help="CNI behind the mode (default: calico for masquerade, macvlan for passt, ovs for bridge).",
)
@click.option("--nic", "nics", multiple=True, metavar="KEY=VALUE,…", help="One NIC, in order (keys of `new vm`).")
@click.option("-f", "--filename", metavar="FILE|-", help="A manifest file with the VM(s) (with --local).")
@click.option("--local", is_flag=True, help="Edit the file of -f offline and print it; no cluster is contacted.")
@click.option(
    "--dry-run",
    type=click.Choice(["none", "client", "server"]),
    default="none",
    show_default=True,
    help="client: only read and say what would change; server: the API server checks every write and stores nothing.",
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
@click.option("--passt", type=click.Choice(["auto", "core", "plugin", "passtBinding"]), help="passt flavour.")
@click.option("--ippool-interfaces", type=click.Choice(["named", "ordered"]), help="ippools entry style.")
@click.option("--no-coordinator", is_flag=True, help="Render SpiderMultusConfigs with enableCoordinator: false.")
@click.option("--without-spiderpool", is_flag=True, help="masquerade: the cluster has no SpiderPool.")
@click.option(
    "--spiderpool-namespace", help="Namespace where SpiderPool runs (default: found in the cluster, else kube-system)."
)
@click.option(
    "--kubevirt-namespace", help="Namespace of the KubeVirt CR (default: found in the cluster, else kubevirt)."
)
@click.option("--timeout", default="5m", show_default=True, metavar="DURATION", help="Wait for each new NAD this long.")
@version_options
@connection_options(all_namespaces=False)
def set_network(target: Target, **opts: Any) -> None:
    from virtnet.cli.apply import parse_duration

    seconds = parse_duration(opts["timeout"])
    versions_from_flags(opts["kubevirt_version"], opts["spiderpool_version"], announce=False)
    nics = _parse_nics(opts["nics"])
    if opts["local"] or opts["filename"]:
        if not opts["local"]:
            raise InputError("-f edits a file: add --local (a VM on the cluster is named by VM)", Location(path="-f"))
        if not opts["filename"]:
            raise InputError("--local needs the file to edit: -f FILE", Location(path="--local"))
        if opts["dry_run"] != "none" or opts["force_conflicts"]:
            flag = "--dry-run" if opts["dry_run"] != "none" else "--force-conflicts"
            raise InputError("--local never contacts a cluster", Location(path=flag))
        _local(opts, nics, target.connection.namespace)
        return
    if not opts["vm_name"]:
        raise InputError("name the VirtualMachine (VM), or edit a file with -f FILE --local", Location(path="VM"))
    _live(opts, nics, target, seconds)


# --- the target --------------------------------------------------------------------------------------------------


def _parse_nics(texts: Sequence[str]) -> list[dict[str, Any]]:
    from virtnet.cli.vm import parse_nic

    return [parse_nic(text, i) for i, text in enumerate(texts)]


def _flag_error(err: InputError) -> InputError:
    """Errors about the flag-built target name the flag (``--nic #2 bridge``), not the intent field."""
    import re

    path = err.location.path or ""
    match = re.match(r"^spec\.nics\[(\d+)\](?:\.pools\[\d+\])?\.?(\w+)?", path)
    if match:
        key = {"multusConfig": "multus-config", "excludeIPs": "exclude", "name": "name"}.get(match.group(2) or "", "")
        key = key or (match.group(2) or "")
        flag = f"--nic #{int(match.group(1)) + 1}" + (f" {key}" if key else "")
        return InputError(err.message, Location(path=flag))
    for prefix, flag in (
        ("spec.nics", "--nic"),
        ("spec.versions.kubevirt", "--kubevirt-version"),
        ("spec.versions.spiderpool", "--spiderpool-version"),
        ("spec.options.passt", "--passt"),
        ("spec.options.ippoolInterfaces", "--ippool-interfaces"),
        ("spec.mode", "--mode"),
        ("spec.cni", "--cni"),
    ):
        if path.startswith(prefix):
            return InputError(err.message, Location(path=flag))
    return InputError(err.message, Location(path=path or None) if path and not path.startswith("spec.") else None)


def _intent(
    opts: Mapping[str, Any],
    nics: list[dict[str, Any]],
    namespace: str,
    kv: str | None,
    sp: str | None,
    spiderpool_ns: str | None,
    kubevirt_ref: tuple[str, str] | None,
    spiderpool_installed: bool,
) -> Any:
    from virtnet.formats.intent import intent_document, intent_from_document

    options: dict[str, Any] = {}
    if opts["passt"]:
        options["passt"] = opts["passt"]
    if opts["ippool_interfaces"]:
        options["ippoolInterfaces"] = opts["ippool_interfaces"]
    if opts["no_coordinator"]:
        options["coordinator"] = False
    spiderpool: dict[str, Any] = {}
    if opts["spiderpool_namespace"] or spiderpool_ns:
        spiderpool["namespace"] = opts["spiderpool_namespace"] or spiderpool_ns
    if opts["without_spiderpool"] or not spiderpool_installed:
        spiderpool["installed"] = False
    kubevirt: dict[str, Any] = {}
    if opts["kubevirt_namespace"]:
        kubevirt["namespace"] = opts["kubevirt_namespace"]
    elif kubevirt_ref is not None:
        kubevirt = {"namespace": kubevirt_ref[0], "name": kubevirt_ref[1]}
    versions = {k: v for k, v in (("kubevirt", kv), ("spiderpool", sp)) if v}
    # the VM's own name (a DNS subdomain, which intents do not accept) is set by the edit; this one is a placeholder
    data = intent_document(
        name="vm",
        namespace=namespace,
        mode=opts["mode"],
        cni=opts["cni"],
        nics=nics,
        vm={},
        cloud_init={},
        versions=versions,
        options=options,
        spiderpool=spiderpool,
        kubevirt=kubevirt,
    )
    try:
        return intent_from_document(Document(data=data, source="<flags>", index=0))
    except InputError as err:
        raise _flag_error(err) from None


def _edit(vm: Mapping[str, Any], intent: Any, ctx: Context) -> Edit:
    from virtnet.render.setnetwork import edit_vm

    try:
        return edit_vm(vm, intent, ctx)
    except InputError as err:
        if err.location.file is not None:
            raise
        raise _flag_error(err) from None


# --- offline -------------------------------------------------------------------------------------------------------


def _local(opts: Mapping[str, Any], nics: list[dict[str, Any]], namespace: str | None) -> None:
    from virtnet.formats import roundtrip
    from virtnet.lint.context import LintContext
    from virtnet.lint.engine import objects_of

    path = opts["filename"]
    text = sys.stdin.read() if path == "-" else read_text(path, "manifest", "-f")
    source = "<stdin>" if path == "-" else path
    documents = load_documents(text, source)
    nodes = roundtrip.load_all(text, source)
    aligned = len(nodes) == len(documents)
    default_ns = namespace or "default"
    objects = objects_of(documents, default_ns)
    vms = [
        (i, d)
        for i, d in enumerate(documents)
        if isinstance(d.data, dict)
        and d.data.get("kind") == "VirtualMachine"
        and (opts["vm_name"] is None or (d.data.get("metadata") or {}).get("name") == opts["vm_name"])
    ]
    if not vms:
        what = f"VirtualMachine {opts['vm_name']}" if opts["vm_name"] else "VirtualMachine"
        raise InputError(f"the file holds no {what}", Location(file=source))
    lint_ctx = LintContext.build(objects, opts["kubevirt_version"], opts["spiderpool_version"])
    versions = lint_ctx.versions
    kind_of = {
        "SpiderIPPool": "pools",
        "SpiderMultusConfig": "multus_configs",
        "NetworkAttachmentDefinition": "nads",
    }
    found: dict[str, list[dict[str, Any]]] = {"pools": [], "multus_configs": [], "nads": []}
    kubevirt_cr: dict[str, Any] | None = None
    secrets: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for i, d in enumerate(documents):
        data = d.data if isinstance(d.data, dict) else {}
        kind = data.get("kind")
        if kind in kind_of:
            obj = copy.deepcopy(data)
            obj.setdefault("metadata", {})
            if kind != "SpiderIPPool":
                obj["metadata"].setdefault("namespace", default_ns)
            found[kind_of[str(kind)]].append(obj)
        elif kind == "KubeVirt" and kubevirt_cr is None:
            kubevirt_cr = data
        elif kind == "Secret":
            meta = data.get("metadata") or {}
            secrets[(str(meta.get("namespace") or default_ns), str(meta.get("name")))] = (i, data)
    out_docs: list[Any] = list(nodes) if aligned else [d.data for d in documents]
    edits: list[Edit] = []
    diffs: list[str] = []
    extra: list[dict[str, Any]] = []
    for index, doc in vms:
        vm = doc.data
        ns = str((vm.get("metadata") or {}).get("namespace") or default_ns)
        vm_secrets = {name: data for (sns, name), (_, data) in secrets.items() if sns == ns}
        ctx = Context(
            pools=tuple(found["pools"]),
            multus_configs=tuple(found["multus_configs"]),
            nads=tuple(found["nads"]),
            kubevirt=kubevirt_cr,
            secrets=vm_secrets,
            update_secret=opts["update_secret"],
        )
        intent = _intent(opts, nics, ns, str(versions.kubevirt), str(versions.spiderpool), None, None, True)
        edit = _edit(vm, intent, ctx)
        edits.append(edit)
        for s in edit.secrets:
            meta = s.get("metadata") or {}
            sindex = secrets[(str(meta.get("namespace") or ns), str(meta.get("name")))][0]
            diffs.append(_sync(out_docs, sindex, s, aligned, text, f"{source} (Secret {meta.get('name')})"))
        diffs.append(_sync(out_docs, index, edit.vm, aligned, text, f"{source} ({edit.ref})"))
        for obj in edit.objects:
            if obj not in extra:
                extra.append(obj)
    refused = _report_local(edits, versions_from=lint_ctx.versions_from)
    if refused:
        raise SystemExit(EXIT_FINDINGS)
    if opts["diff"]:
        click.echo("".join(diffs), nl=False)
        return
    from virtnet.render.bundle import is_kubevirt_change

    shown = [o for o in extra if not is_kubevirt_change(o)]
    for change in (o for o in extra if is_kubevirt_change(o)):
        meta = change.get("metadata") or {}
        patch = json.dumps({"spec": change.get("spec")}, separators=(",", ":"))
        click.echo(
            f"note: the KubeVirt CR change is a merge patch, not printed with the manifests: `virtnet apply` merges "
            f"it, or: kubectl patch kubevirt {meta.get('name')} -n {meta.get('namespace')} --type merge -p '{patch}' "
            "(after adding the feature gates the CR already lists)",
            err=True,
        )
    if opts["output"] == "json":
        plain = [roundtrip.plain(d) if aligned else d for d in out_docs]
        click.echo(dump_json(as_list([*plain, *shown])), nl=False)
    else:
        body = roundtrip.dump_all(out_docs, text) if aligned else "".join(f"---\n{dump_yaml(d)}" for d in out_docs)
        for obj in shown:
            body += f"---\n{dump_yaml(obj)}"
        click.echo(body, nl=False)


def _sync(out_docs: list[Any], index: int, new: Mapping[str, Any], aligned: bool, text: str, label: str) -> str:
    from virtnet.formats import roundtrip

    if aligned:
        before = roundtrip.dump_one(out_docs[index], text)
        out_docs[index] = roundtrip.sync(out_docs[index], new)
        after = roundtrip.dump_one(out_docs[index], text)
    else:
        before, after = dump_yaml(out_docs[index]), dump_yaml(dict(new))
        out_docs[index] = dict(new)
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{label}", f"b/{label}"))


def _report_local(edits: Sequence[Edit], versions_from: str) -> bool:
    refused = False
    for edit in edits:
        for line in _edit_lines(edit, versions_from):
            click.echo(line, err=True)
        if edit.refusals:
            refused = True
    if refused:
        first = next(e for e in edits if e.refusals)
        click.echo(f"virtnet: error: refusing to edit {first.ref}: {first.refusals[0].reason}", err=True)
    return refused


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


def _clean(obj: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = dict(out.get("metadata") or {})
    for key in SERVER_FIELDS:
        meta.pop(key, None)
    out["metadata"] = meta
    return out


def _live(opts: Mapping[str, Any], nics: list[dict[str, Any]], target: Target, seconds: float) -> None:
    from virtnet.cluster.apply import DryRun
    from virtnet.cluster.apply_run import Options
    from virtnet.cluster.setnetwork_run import execute, gather

    output = opts["output"] or "text"
    to_stderr = output in ("yaml", "json") or opts["diff"]
    with target.connect() as cluster:
        namespace = target.connection.namespace or cluster.namespace
        gathered = gather(cluster, opts["vm_name"], namespace, update_secret=opts["update_secret"])
        facts = gathered.facts
        kv, sp = opts["kubevirt_version"], opts["spiderpool_version"]
        sources = ["KubeVirt from --kubevirt-version" if kv else ""]
        if not kv:
            kv = str(facts.kubevirt.version) if facts.kubevirt.version else None
            sources[0] = f"KubeVirt from {facts.kubevirt.source}" if kv else "KubeVirt: the newest supported"
        if sp:
            sources.append("SpiderPool from --spiderpool-version")
        else:
            sp = str(facts.spiderpool.version) if facts.spiderpool.version else None
            sources.append(f"SpiderPool from {facts.spiderpool.source}" if sp else "SpiderPool: the newest supported")
        sp_ns = ((facts.spiderpool_deployment or {}).get("metadata") or {}).get("namespace")
        cr_meta = (facts.kubevirt_cr or {}).get("metadata") or {}
        kubevirt_ref = (str(cr_meta["namespace"]), str(cr_meta["name"])) if cr_meta.get("name") else None
        intent = _intent(opts, nics, namespace, kv, sp, sp_ns, kubevirt_ref, facts.spiderpool_installed)
        edit = _edit(gathered.vm, intent, gathered.context)
        lines = _edit_lines(edit, "; ".join(sources))
        lines += [f"note: not read: {u}" for u in gathered.unread]
        if edit.refusals:
            for line in lines:
                click.echo(line, err=output != "text")
            if output == "report-json":
                click.echo(dump_json({"edit": edit.to_dict(), "refused": True}), nl=False)
            click.echo(f"virtnet: error: refusing to edit {edit.ref}: {edit.refusals[0].reason}", err=True)
            raise SystemExit(EXIT_FINDINGS)
        if opts["diff"]:
            before, after = dump_yaml(_clean(gathered.vm)), dump_yaml(_clean(edit.vm))
            click.echo(
                "".join(
                    difflib.unified_diff(
                        before.splitlines(True), after.splitlines(True), f"a/{edit.ref}", f"b/{edit.ref}"
                    )
                ),
                nl=False,
            )
            for line in lines:
                click.echo(line, err=True)
            return
        for line in lines:
            click.echo(line, err=to_stderr or output == "report-json")
        events: list[str] = []

        def on_event(event: Any) -> None:
            line = _event_line(event, opts["dry_run"])
            if line:
                events.append(line)
                if output == "text":
                    click.echo(line)
                else:
                    click.echo(line, err=True)

        options = Options(
            dry_run=cast(DryRun, opts["dry_run"]), force_conflicts=opts["force_conflicts"], timeout=seconds
        )
        try:
            result = execute(cluster, gathered, edit, options, on_event=on_event)
        except ConflictError as err:
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
    report = result.report
    if output in ("yaml", "json"):
        shown = [_clean(edit.vm), *[o for o in edit.objects if o.get("kind") != "KubeVirt"]]
        click.echo(
            dump_json(as_list(shown)) if output == "json" else "".join(f"---\n{dump_yaml(o)}" for o in shown), nl=False
        )
    failure = report.failure
    tail: list[str] = []
    if result.removed:
        tail.append(
            f"removed annotations {', '.join(result.removed)} (JSON patch"
            + (", dry run" if opts["dry_run"] != "none" else "")
            + ")"
        )
    if report.hco is not None and not report.hco.empty:
        tail.append(f"{report.hco_cr} is owned by the HyperConverged operator: make this change there:")
        tail += [f"  {c}" for c in report.hco.commands()]
    if failure is not None:
        tail.append(f"FAILED: {failure.message}")
        if failure.hint:
            tail.append(f"  hint: {failure.hint}")
    s = report.summary()
    counts = f"{s['created']} created, {s['configured']} configured, {s['unchanged']} unchanged"
    if opts["dry_run"] != "none":
        tail.append(f"dry run ({opts['dry_run']}): {counts}; nothing was written")
    else:
        tail.append(counts)
    if output == "report-json":
        click.echo(
            dump_json({"edit": edit.to_dict(), "apply": report.to_dict(), "removedAnnotations": result.removed}),
            nl=False,
        )
    else:
        for line in tail:
            click.echo(line, err=output != "text")
    if failure is not None:
        hint = f"; {failure.hint}" if failure.hint else ""
        click.echo(f"virtnet: error: {failure.message}{hint}", err=True)
    raise SystemExit(EXIT_OK if report.ok else EXIT_FINDINGS)


def _event_line(event: Any, dry_run: str) -> str:
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
            return f"{event.nad} present (SpiderPool generates it from {event.owner})"
    return ""
