"""`virtnet lint` and `virtnet rules`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import click

from virtnet.cli.app import CONTEXT, EXIT_FINDINGS, cli, read_text, version_options, versions_from_flags
from virtnet.cli.kube import Target, connection_options
from virtnet.errors import InputError, Location
from virtnet.formats.yamlio import Document, dump_json, load_documents

# --- lint ------------------------------------------------------------------------------------------------------

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def read_inputs(paths: Sequence[str]) -> tuple[list[Document], int]:
    """Documents of every file (directories recursively, ``-`` = stdin); exit-2 errors name file and position."""
    docs: list[Document] = []
    files = 0
    for raw in paths:
        if raw == "-":
            docs += load_documents(sys.stdin.read(), "<stdin>")
            files += 1
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in MANIFEST_SUFFIXES and p.is_file())
        elif path.exists():
            found = [path]
        else:
            raise InputError("no such file or directory", Location(file=raw))
        for file in found:
            docs += load_documents(read_text(str(file), "manifest", "FILE"), str(file))
            files += 1
    return docs, files


def _split(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


@cli.command("lint", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, metavar="[FILE|DIR|-]...")
@click.option(
    "--cluster",
    "live",
    is_flag=True,
    help="Check the live objects of the cluster (kubeconfig/context like kubectl) instead of files; versions come "
    "from the cluster unless the version flags are given.",
)
@version_options
@click.option("-o", "--output", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True)
@click.option(
    "--enable", multiple=True, metavar="RULE", help="Run only these rules (code or slug; repeat or comma-separate)."
)
@click.option("--disable", multiple=True, metavar="RULE", help="Skip these rules (code or slug).")
@click.option(
    "--severity",
    type=click.Choice(["error", "warning", "info"]),
    default="info",
    show_default=True,
    help="Report findings at or above this severity.",
)
@click.option(
    "--strict", is_flag=True, help="Exit 1 on warnings too (and, with --cluster, when reading a kind was forbidden)."
)
@connection_options(
    namespace_help="Files: the namespace of objects that name none (default: default). With --cluster: the "
    "namespace to check (default: the context's namespace); -A checks every namespace."
)
@click.option("--color/--no-color", default=None, help="Colour text output (default: when stdout is a terminal).")
def lint_command(
    paths: Sequence[str],
    live: bool,
    kubevirt_version: str | None,
    spiderpool_version: str | None,
    output: str,
    enable: Sequence[str],
    disable: Sequence[str],
    severity: str,
    strict: bool,
    target: Target,
    color: bool | None,
) -> None:
    """Check VMs, Multus networks, SpiderMultusConfigs, SpiderIPPools, the KubeVirt CR and spiderpool-conf against
    each other and against the target versions — in files before they reach a cluster, or live in a cluster.

    Files: target versions come from the flags, else from a KubeVirt CR status / spiderpool-conf label in the input,
    else the newest supported; every finding points at file:line:column of the offending field.

    --cluster: the same rules on the cluster's VirtualMachines (and VMIs no VM owns), SpiderIPPools, SpiderSubnets,
    SpiderMultusConfigs, NetworkAttachmentDefinitions, KubeVirt CR and spiderpool-conf, each kind read with
    paginated lists; versions from the KubeVirt CR status and SpiderPool's controller Deployment; findings name the
    object and field (JSON: file null). Kinds that are forbidden or not installed are reported as not checked (they
    do not change the exit code unless --strict). FILE arguments and --cluster do not mix.

    \b
    Exit codes: 0 no errors, 1 errors found (warnings too with --strict) or the cluster failed, 2 usage or
    unreadable input.
    Suppress one rule on one object: metadata.annotations["ignore-check.virtnet.io/<slug>"] = "<reason>".

    \b
    Examples:
      virtnet lint manifests/
      virtnet lint vm.yaml --kubevirt-version v1.0.1 --spiderpool-version v0.8.0
      virtnet render vm.yaml | virtnet lint -
      virtnet lint -o sarif manifests/ > virtnet.sarif     # GitHub code scanning
      virtnet lint --cluster -A                            # every namespace of the current context
      virtnet lint --cluster -n vms -o json --context prod
    """
    from virtnet.lint import LintOptions, Severity, all_rules, lint
    from virtnet.lint.report import sarif, text, to_json

    versions_from_flags(kubevirt_version, spiderpool_version)  # flag errors name the flag
    connection = target.connection
    if live and paths:
        raise InputError(
            "--cluster checks the cluster's live objects and takes no FILE arguments; lint files and the cluster "
            "in two runs",
            Location(path="--cluster"),
        )
    if not live:
        if not paths:
            raise InputError("give FILE|DIR|- to check files, or --cluster to check the live objects of a cluster")
        for flag, given in (
            ("-A", target.all_namespaces),
            ("--kubeconfig", connection.kubeconfig),
            ("--context", connection.context),
        ):
            if given:
                raise InputError(f"{flag} is for --cluster; files are linted without a cluster", Location(path=flag))
    options = LintOptions(
        kubevirt_version=kubevirt_version,
        spiderpool_version=spiderpool_version,
        enable=_split(enable),
        disable=_split(disable),
        severity=Severity(severity),
        default_namespace=connection.namespace or "default",
    )
    if live:
        from virtnet.cluster.lint import lint_cluster
        from virtnet.lint.engine import enabled_rules

        enabled_rules(options)  # an unknown rule name fails before any request
        with target.connect() as cluster:
            result = lint_cluster(cluster, options, all_namespaces=target.all_namespaces)
        for note in result.not_checked:
            click.echo(f"virtnet: warning: not checked: {note}", err=True)
    else:
        documents, files = read_inputs(paths)
        result = lint(documents, replace(options, files=files))
    if output == "json":
        click.echo(to_json(result), nl=False)
    elif output == "sarif":
        click.echo(sarif(result, all_rules()), nl=False)
    else:
        use_colour = color if color is not None else sys.stdout.isatty()
        click.echo(text(result, colour=use_colour), nl=False)
    failing = result.count(Severity.ERROR) + (result.count(Severity.WARNING) if strict else 0)
    if strict:
        failing += sum(1 for n in result.not_checked if n.forbidden)
    if failing:
        raise SystemExit(EXIT_FINDINGS)


@cli.command("rules", context_settings=CONTEXT)
@click.option("-o", "--output", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
def rules_command(output: str) -> None:
    """List the lint rules: code, slug, severity and what each catches (docs/rules.md has the details)."""
    from virtnet.lint import all_rules
    from virtnet.lint.report import rules_markdown, rules_text

    rules = all_rules()
    if output == "json":
        click.echo(dump_json([r.to_dict() for r in rules]), nl=False)
    elif output == "markdown":
        click.echo(rules_markdown(rules), nl=False)
    else:
        click.echo(rules_text(rules), nl=False)
