"""`virtnet lint` and `virtnet rules`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from virtnet.cli.app import CONTEXT, EXIT_FINDINGS, cli, read_text, version_options, versions_from_flags
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
@click.argument("paths", nargs=-1, required=True, metavar="FILE|DIR|-...")
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
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("-n", "--namespace", default="default", show_default=True, help="Namespace of objects that name none.")
@click.option("--color/--no-color", default=None, help="Colour text output (default: when stdout is a terminal).")
def lint_command(
    paths: Sequence[str],
    kubevirt_version: str | None,
    spiderpool_version: str | None,
    output: str,
    enable: Sequence[str],
    disable: Sequence[str],
    severity: str,
    strict: bool,
    namespace: str,
    color: bool | None,
) -> None:
    """Check VMs, Multus networks, SpiderMultusConfigs, SpiderIPPools, the KubeVirt CR and spiderpool-conf against
    each other and against the target versions, before they reach a cluster.

    Target versions come from the flags, else from a KubeVirt CR status / spiderpool-conf label in the input, else
    the newest supported. Every finding points at file:line:column of the offending field.

    \b
    Exit codes: 0 no errors, 1 errors found (warnings too with --strict), 2 usage or unreadable input.
    Suppress one rule on one object: metadata.annotations["ignore-check.virtnet.io/<slug>"] = "<reason>".

    \b
    Examples:
      virtnet lint manifests/
      virtnet lint vm.yaml --kubevirt-version v1.0.1 --spiderpool-version v0.8.0
      virtnet render vm.yaml | virtnet lint -
      virtnet lint -o sarif manifests/ > virtnet.sarif     # GitHub code scanning
    """
    from virtnet.lint import LintOptions, Severity, all_rules, lint
    from virtnet.lint.report import sarif, text, to_json

    versions_from_flags(kubevirt_version, spiderpool_version)  # flag errors name the flag
    documents, files = read_inputs(paths)
    options = LintOptions(
        kubevirt_version=kubevirt_version,
        spiderpool_version=spiderpool_version,
        enable=_split(enable),
        disable=_split(disable),
        severity=Severity(severity),
        default_namespace=namespace,
        files=files,
    )
    result = lint(documents, options)
    if output == "json":
        click.echo(to_json(result), nl=False)
    elif output == "sarif":
        click.echo(sarif(result, all_rules()), nl=False)
    else:
        use_colour = color if color is not None else sys.stdout.isatty()
        click.echo(text(result, colour=use_colour), nl=False)
    failing = result.count(Severity.ERROR) + (result.count(Severity.WARNING) if strict else 0)
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
