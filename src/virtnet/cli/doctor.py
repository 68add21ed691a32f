"""`virtnet doctor`: preflight checks of a live cluster for a network mode (see docs/doctor.md)."""

from __future__ import annotations

import shutil
import sys
import textwrap
from typing import TYPE_CHECKING

import click

from virtnet.cli.app import CONTEXT, EXIT_FINDINGS, cli
from virtnet.cli.kube import Target, connection_options
from virtnet.errors import InputError, Location, VirtnetError
from virtnet.formats.yamlio import dump_json
from virtnet.model.modes import MODE_CNIS, Cni, Mode, parse_cni, parse_mode
from virtnet.model.versions import KUBEVIRT, SPIDERPOOL, SupportedRange, Version

if TYPE_CHECKING:  # imported when the command runs: the cluster layer pulls in the Kubernetes client
    from virtnet.cluster.doctor import Report

_COLOURS = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "cyan"}
_WIDTH = 120  # text width when stdout is not a terminal (docs, logs, CI)

HELP = """Check that the cluster is ready for VMs of a network mode: API server, KubeVirt (installed, Deployed,
version, HCO ownership, the binding, its feature gates and binding-plugin registration), SpiderPool (installed,
version, spiderpool-conf enableKubevirtStaticIP and IP families, known bugs), Multus NADs, SpiderMultusConfigs
whose NAD never appeared, and the mode's SpiderIPPools (free addresses, canonical subnet, spec.vlan, overlap).

\b
Each check says pass, warn, fail or skip with one line and a fix; `skip` names what could not be read
(e.g. "forbidden (needs list on spiderippools.spiderpool.spidernet.io)"). Without --mode only the
mode-independent checks run. Versions are detected (KubeVirt CR status, SpiderPool's Deployment labels);
--kubevirt-version / --spiderpool-version judge as another version. SpiderMultusConfigs and NADs are read in
the namespace (-n, default: the context's) and in SpiderPool's namespace, or everywhere with -A.

\b
Exit codes: 0 nothing failed (warnings and skips allowed), 1 a check failed, or the API server could not
be used at all (unreachable, 401, 5xx: one line on stderr, no table), 2 bad flags or kubeconfig.

\b
Examples:
  virtnet doctor --mode passt
  virtnet doctor --mode bridge --cni ovs -A
  virtnet doctor --mode masquerade --cni calico --context prod
  virtnet doctor --mode passt --kubevirt-version v1.0.1 -o json | jq '.checks[] | select(.status != "pass")'
"""


def _version(product: SupportedRange, text: str | None, flag: str) -> Version | None:
    if text is None:
        return None
    try:
        return product.parse(text)
    except VirtnetError as err:
        raise InputError(str(err), Location(path=flag)) from None


def _mode_and_cni(mode_text: str | None, cni_text: str | None) -> tuple[Mode | None, Cni | None]:
    if mode_text is None:
        if cni_text is not None:
            raise InputError("--cni needs --mode (which mode runs on that CNI?)", Location(path="--cni"))
        return None, None
    mode = parse_mode(mode_text, Location(path="--mode"))
    cni = parse_cni(cni_text, mode, Location(path="--cni")) if cni_text else MODE_CNIS[mode][0]
    return mode, cni


def render_text(report: Report, colour: bool, width: int) -> str:
    """The checks as a table: status, id, message, and the fix on the lines below the message."""
    from virtnet.cluster.doctor import Status

    b = report.basis
    what = f"mode {b.mode.value} on {b.cni.value}" if b.mode and b.cni else "no --mode (mode-independent checks)"
    kv, sp = b.kubevirt, b.spiderpool
    lines = [
        f"virtnet doctor: {what}; Kubernetes {report.server_version or 'unknown'}, "
        f"KubeVirt {kv.detected or kv.text or 'unknown'}, SpiderPool {sp.detected or sp.text or 'unknown'}",
        "",
    ]
    id_width = max(len(c.id) for c in report.checks)
    indent = 6 + 2 + id_width + 2
    text_width = max(40, width - indent)
    lines.append(f"{'STATUS':<6}  {'CHECK':<{id_width}}  MESSAGE / FIX")
    for c in report.checks:
        status = f"{c.status.value:<6}"
        shown = click.style(status, fg=_COLOURS[c.status.value], bold=c.status is Status.FAIL) if colour else status
        body = textwrap.wrap(c.message, text_width) or [""]
        if c.fix:
            body += textwrap.wrap(f"fix: {c.fix}", text_width, subsequent_indent="     ")
        lines.append(f"{shown}  {c.id:<{id_width}}  {body[0]}")
        lines += [" " * indent + more for more in body[1:]]
    counts = report.summary()
    lines += ["", ", ".join(f"{counts[s.value]} {s.value}" for s in Status)]
    return "\n".join(lines) + "\n"


@cli.command("doctor", context_settings=CONTEXT, help=HELP)
@click.option("--mode", type=click.Choice([m.value for m in Mode]), help="Network mode the VMs will use.")
@click.option(
    "--cni",
    type=click.Choice([c.value for c in Cni]),
    help="CNI behind the mode (default: calico for masquerade, macvlan for passt, ovs for bridge).",
)
@click.option(
    "--kubevirt-version",
    metavar="V",
    help=f"Judge as this KubeVirt version ({KUBEVIRT.oldest.minor_line}…{KUBEVIRT.newest.minor_line}) instead "
    "of the detected one.",
)
@click.option(
    "--spiderpool-version",
    metavar="V",
    help=f"Judge as this SpiderPool version ({SPIDERPOOL.oldest.minor_line}…{SPIDERPOOL.newest.minor_line}) "
    "instead of the detected one.",
)
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--color/--no-color", default=None, help="Colour the status column (default: when stdout is a terminal).")
@connection_options()
def doctor_command(
    mode: str | None,
    cni: str | None,
    kubevirt_version: str | None,
    spiderpool_version: str | None,
    output: str,
    color: bool | None,
    target: Target,
) -> None:
    from virtnet.cluster.doctor import Options, gather, run

    chosen_mode, chosen_cni = _mode_and_cni(mode, cni)
    options = Options(
        mode=chosen_mode,
        cni=chosen_cni,
        kubevirt_version=_version(KUBEVIRT, kubevirt_version, "--kubevirt-version"),
        spiderpool_version=_version(SPIDERPOOL, spiderpool_version, "--spiderpool-version"),
    )
    with target.connect() as cluster:
        snapshot = gather(cluster, target.connection.namespace, all_namespaces=target.all_namespaces)
    report = run(snapshot, options)
    if output == "json":
        click.echo(dump_json(report.to_dict()), nl=False)
    else:
        tty = sys.stdout.isatty()
        width = shutil.get_terminal_size((_WIDTH, 24)).columns if tty else _WIDTH
        click.echo(render_text(report, color if color is not None else tty, width), nl=False)
    if report.failed:
        raise SystemExit(EXIT_FINDINGS)
