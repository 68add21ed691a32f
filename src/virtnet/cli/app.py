"""The ``virtnet`` command group and what every command shares: options, version flags, file reading."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from virtnet import __version__
from virtnet.errors import InputError, Location
from virtnet.model.versions import KUBEVIRT, SPIDERPOOL, Product, TargetVersions, parse_target_versions

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 70

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 120}


VERSION_FLAGS = {Product.KUBEVIRT: "--kubevirt-version", Product.SPIDERPOOL: "--spiderpool-version"}


def version_options(func: F) -> F:
    """``--kubevirt-version`` and ``--spiderpool-version``, their help built from the supported ranges."""
    for supported in (SPIDERPOOL, KUBEVIRT):  # the option applied last is listed first
        func = click.option(
            VERSION_FLAGS[supported.product],
            metavar="V",
            help=f"Target {supported.product.value} version ({supported.oldest.minor_line}…"
            f"{supported.newest.minor_line}, any patch release; default {supported.newest}).",
        )(func)
    return func


def versions_from_flags(kubevirt: str | None, spiderpool: str | None, *, announce: bool = True) -> TargetVersions:
    """The versions the flags name (None = the newest supported; '' is an error naming the flag). ``announce``: say
    on stderr when a version is newer than the newest release virtnet was checked against."""
    versions = parse_target_versions(kubevirt, spiderpool, lambda product: Location(path=VERSION_FLAGS[product]))
    if announce:
        for message in versions.notes():
            click.echo(f"note: {message}", err=True)
    return versions


# Each command's module, imported only when that command runs (or when help lists the commands): `virtnet lint`
# does not pay for the HTTP client, the renderer or the intent schema. A module registers its commands on `cli`
# when imported; tests/cli/test_commands.py checks this table against what the modules register.
COMMAND_MODULES = {
    "apply": "virtnet.cli.apply",
    "doctor": "virtnet.cli.doctor",
    "lint": "virtnet.cli.lint",
    "modes": "virtnet.cli.vm",
    "new": "virtnet.cli.vm",
    "pool": "virtnet.cli.pool",
    "render": "virtnet.cli.vm",
    "rules": "virtnet.cli.lint",
    "schema": "virtnet.cli.vm",
    "set": "virtnet.cli.setnet",
    "status": "virtnet.cli.status",
}


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use (see COMMAND_MODULES)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMAND_MODULES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(COMMAND_MODULES[cmd_name])
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="virtnet")
def cli() -> None:
    """Plan, render and check VM networking for KubeVirt + SpiderPool + Multus.

    \b
    Start here:
      virtnet modes                          what each network mode gives a VM, per version
      virtnet new vm NAME --mode passt …     a complete, consistent manifest bundle from flags
      virtnet render vm.yaml                 the same from an intent file (see `virtnet schema`)
      virtnet pool suggest --nic ens192 …    a free address range for a SpiderIPPool from `ip a`
      virtnet lint manifests/                check manifests before they reach a cluster

    \b
    On a cluster (kubectl's --kubeconfig, --context, -n, -A):
      virtnet doctor --mode passt            is the cluster ready for this mode?
      virtnet apply -f bundle/ --wait        server-side apply in dependency order, never deletes
      virtnet status VM                      the VM's network chain, with drift flagged
      virtnet pool usage                     per pool: allocated, free ranges, which VM holds each IP
      virtnet set network VM --mode passt …  move an existing VM to a network mode
      virtnet lint --cluster -A              the lint rules on live objects

    Exit codes: 0 success, 1 findings or refused/failed on the cluster side, 2 usage or input error (one line on
    stderr naming the flag, file and field).
    """


def read_text(path: str, what: str, flag: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} file does not exist", Location(file=path, path=flag)) from None
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise InputError(f"cannot read {what} file: {reason}", Location(file=path, path=flag)) from None
