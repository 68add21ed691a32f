"""`virtnet lint` and `virtnet rules`."""

from __future__ import annotations

import gc
import os
import pickle
import re
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from virtnet.cli.app import CONTEXT, EXIT_FINDINGS, cli, read_text, version_options, versions_from_flags
from virtnet.cli.kube import Target, connection_options
from virtnet.errors import InputError, Location
from virtnet.formats.yamlio import Chunk, Document, dump_json, load_chunk, load_documents, split_documents

if TYPE_CHECKING:
    from virtnet.lint import LintOptions, LintResult
    from virtnet.lint.engine import Shard
    from virtnet.lint.model import LintObject
    from virtnet.lint.model import Path as Path_

# --- lint ------------------------------------------------------------------------------------------------------

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
# Inputs with at least this much VM/VMI YAML are linted streaming, one VM document at a time (memory stays flat),
# and — where fork() exists and there are two cores — on two processes, each parsing and checking half the VMs.
STREAM_BYTES = 1_000_000
_WORKLOAD_DOC = re.compile(
    r"^kind:[ \t]*([\"']?)(?:VirtualMachine|VirtualMachineInstance)\1[ \t]*(?:#[^\n]*)?\r?$", re.MULTILINE
)


def read_sources(paths: Sequence[str]) -> list[tuple[str, str]]:
    """(name, text) of every input file (directories recursively, ``-`` = stdin); exit-2 errors name the file."""
    sources: list[tuple[str, str]] = []
    for raw in paths:
        if raw == "-":
            sources.append(("<stdin>", sys.stdin.read()))
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in MANIFEST_SUFFIXES and p.is_file())
        elif path.exists():
            found = [path]
        else:
            raise InputError("no such file or directory", Location(file=raw))
        sources += [(str(file), read_text(str(file), "manifest", "FILE")) for file in found]
    return sources


def read_inputs(paths: Sequence[str]) -> tuple[list[Document], int]:
    """Documents of every file (directories recursively, ``-`` = stdin); exit-2 errors name file and position."""
    sources = read_sources(paths)
    return [doc for name, text in sources for doc in load_documents(text, name)], len(sources)


def lint_files(paths: Sequence[str], options: LintOptions) -> LintResult:
    """``virtnet lint FILE…``: small inputs in one pass; large ones streaming, on two processes where possible.
    Either way the result is the one :func:`virtnet.lint.lint` gives for all documents at once."""
    from virtnet.lint import lint
    from virtnet.lint.engine import NotAWorkload

    sources = read_sources(paths)
    options = replace(options, files=len(sources))
    work: list[tuple[str, str, Chunk]] = []  # VM/VMI documents: streamed
    other: list[tuple[str, str, Chunk | None]] = []  # everything else (None: a whole stream that cannot be split)
    for name, raw in sources:
        text = raw[1:] if raw.startswith("\ufeff") else raw
        chunks = split_documents(text)
        if chunks is None:
            other.append((name, text, None))
            continue
        for chunk in chunks:
            is_vm = _WORKLOAD_DOC.search(text, chunk.start, chunk.end) is not None
            (work if is_vm else other).append((name, text, chunk))
    work_bytes = sum(c.end - c.start for _, _, c in work)
    if work_bytes < STREAM_BYTES:
        return lint([doc for name, text in sources for doc in load_documents(text, name)], options)
    # The objects built here are acyclic and live until the result is printed: the cyclic garbage collector would
    # only walk them again and again (it costs ~10% of a 10,000-VM run). Reference counting still frees memory.
    gc.disable()
    try:
        return _lint_streaming(work, other, options, jobs=_jobs(work_bytes, sum(len(t) for _, t in sources)))
    except NotAWorkload:  # a document looked like a VM but is not: lint everything at once
        return lint([doc for name, text in sources for doc in load_documents(text, name)], options)
    finally:
        gc.enable()


def _jobs(work_bytes: int, total_bytes: int) -> int:
    """2 when a second process pays: fork() exists, two cores, and VMs are most of the input (the other documents
    are read by both processes)."""
    wanted = os.environ.get("VIRTNET_LINT_JOBS")
    if wanted == "1" or not hasattr(os, "fork") or sys.platform != "linux" or (os.cpu_count() or 1) < 2:
        return 1
    return 2 if work_bytes * 2 >= total_bytes else 1


def _documents(items: Sequence[tuple[str, str, Chunk | None]]) -> Iterator[Document]:
    for name, text, chunk in items:
        if chunk is None:
            yield from load_documents(text, name)
        else:
            doc = load_chunk(text, name, chunk)
            if doc is not None:
                yield doc


def _shard(
    work: Sequence[tuple[str, str, Chunk]], other: Sequence[tuple[str, str, Chunk | None]], options: LintOptions
) -> tuple[list[LintObject], Shard]:
    from virtnet.lint.engine import lint_stream, objects_of

    context = objects_of(list(_documents(other)), options.default_namespace)
    return context, lint_stream(_documents(work), context, options)


def _lint_streaming(
    work: Sequence[tuple[str, str, Chunk]],
    other: Sequence[tuple[str, str, Chunk | None]],
    options: LintOptions,
    jobs: int,
) -> LintResult:
    from virtnet.lint.engine import lint_rest

    locate = _locator(work)
    if jobs == 1:
        context, shard = _shard(work, other, options)
        return lint_rest(context, [shard], options, options.files, locate)
    # two parts by size, in input order; the child checks the second and sends its Shard back pickled. The child
    # gets a little less (48%): its first writes copy the pages it shares with the parent, and the parent waits.
    total = sum(c.end - c.start for _, _, c in work)
    cut, acc = 0, 0
    while cut < len(work) and acc < total * 52 // 100:
        acc += work[cut][2].end - work[cut][2].start
        cut += 1
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        try:
            payload: tuple[str, Any] = ("ok", _shard(work[cut:], other, options)[1])
        except BaseException as err:
            payload = ("error", err)
        try:
            data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as err:
            data = pickle.dumps(("error", RuntimeError(f"lint worker: {err!r}")))
        with os.fdopen(write_end, "wb") as out:
            out.write(data)
        os._exit(0)
    os.close(write_end)
    try:
        context, mine = _shard(work[:cut], other, options)
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    os.waitpid(pid, 0)
    if not data:  # the worker died (killed, out of memory): check its half here
        theirs = _shard(work[cut:], other, options)[1]
    else:
        status, value = pickle.loads(data)
        if status == "error":
            raise value
        theirs = value
    return lint_rest(context, [mine, theirs], options, options.files, locate)


def _locator(work: Sequence[tuple[str, str, Chunk]]) -> Callable[[str, int, Path_], tuple[int, int] | None]:
    """Finds a position in a streamed document again (for the rare object that needs one after its document was
    dropped: a copy of a repeated object) by reading that one document again."""
    by_doc = {(name, chunk.index): (text, chunk) for name, text, chunk in work}

    def locate(file: str, index: int, path: Path_) -> tuple[int, int] | None:
        found = by_doc.get((file, index))
        doc = load_chunk(found[0], file, found[1]) if found is not None else None
        return doc.position(path) if doc is not None else None

    return locate


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
    unreadable input, or nothing to check (an empty directory, no manifest files, no objects).
    Suppress one rule on one object: metadata.annotations["ignore-check.virtnet.io/<slug>"] = "<reason>"
    (a slug that names no rule is warned about, with the likeliest slug: VN041).
    The same object twice in the input is an error (VN040). The summary lists cross-object checks that could not
    run for lack of input (no NAD/SpiderMultusConfig, no KubeVirt CR; JSON summary.notRun): --cluster runs them.

    \b
    Examples:
      virtnet lint manifests/
      virtnet lint vm.yaml --kubevirt-version v1.0.1 --spiderpool-version v0.8.0
      virtnet render vm.yaml | virtnet lint -
      virtnet lint -o sarif manifests/ > virtnet.sarif     # GitHub code scanning
      virtnet lint --cluster -A                            # every namespace of the current context
      virtnet lint --cluster -n vms -o json --context prod
    """
    from virtnet.lint import LintOptions, Severity, all_rules
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
        result = lint_files(paths, options)
        if result.objects == 0:  # nothing was checked: an empty directory, a file of comments, a wrong path
            what = "no .yaml/.yml/.json files" if result.files == 0 else "no Kubernetes objects"
            raise InputError(
                f"{what} in {', '.join(paths)}; nothing to check (give the manifests' files or directories)",
                Location(path="FILE"),
            )
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
@click.argument("rule_name", metavar="[RULE]", required=False)
@click.option("-o", "--output", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
def rules_command(rule_name: str | None, output: str) -> None:
    """List the lint rules: code, slug, severity and what each catches; RULE (a code such as VN008 or a slug such
    as nad-not-found) shows that rule in full: why it matters, how to fix it, its upstream references and how to
    suppress it (docs/rules.md has them all).

    \b
    Examples:
      virtnet rules
      virtnet rules VN008
      virtnet rules nad-not-found -o json
    """
    from virtnet.cli.tables import rule_text
    from virtnet.lint import all_rules
    from virtnet.lint.registry import lookup
    from virtnet.lint.report import rules_markdown, rules_text

    rules = all_rules()
    if rule_name is not None:
        found = lookup(rule_name.strip())
        if found is None:
            raise InputError(f"no rule '{rule_name}'; `virtnet rules` lists codes and slugs", Location(path="RULE"))
        if output == "json":
            click.echo(dump_json(found.to_dict()), nl=False)
        elif output == "markdown":
            click.echo(rules_markdown([found]), nl=False)
        else:
            click.echo(rule_text(found), nl=False)
        return
    if output == "json":
        click.echo(dump_json([r.to_dict() for r in rules]), nl=False)
    elif output == "markdown":
        click.echo(rules_markdown(rules), nl=False)
    else:
        click.echo(rules_text(rules), nl=False)
