"""The ``virtnet`` command (also ``kubectl virtnet``).

Exit codes: 0 ok, 1 findings or refused/failed on the cluster side, 2 usage or input error, 70 internal error.

Each verb lives in its own module and registers itself on the group in :mod:`virtnet.cli.app`, which imports a
verb's module only when that verb runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from virtnet.cli.app import EXIT_FINDINGS, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, cli
from virtnet.errors import ClusterError, VirtnetError

__all__ = ["cli", "main", "run"]


# --- entry point -----------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point. Never lets a traceback reach the user unless VIRTNET_DEBUG is set."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name=_prog_name(), standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except SystemExit as exc:
        return int(exc.code or 0)
    except click.exceptions.Abort:
        click.echo("virtnet: aborted", err=True)
        return EXIT_USAGE
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except ClusterError as err:  # the cluster refused, failed or was unreachable: exit 1
        click.echo(f"virtnet: error: {err}", err=True)
        return EXIT_FINDINGS
    except KeyboardInterrupt:
        click.echo("virtnet: interrupted", err=True)
        return 130
    except VirtnetError as err:
        click.echo(f"virtnet: error: {err}", err=True)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug in virtnet, not bad input
        if os.environ.get("VIRTNET_DEBUG"):
            raise
        click.echo(
            f"virtnet: internal error: {type(exc).__name__}: {exc} (set VIRTNET_DEBUG=1 for the traceback, "
            "and please report it)",
            err=True,
        )
        return EXIT_INTERNAL
    return EXIT_OK


def _prog_name() -> str:
    return "kubectl virtnet" if Path(sys.argv[0]).name.startswith("kubectl-") else "virtnet"


def run() -> None:  # pragma: no cover - console script shim
    sys.exit(main())
