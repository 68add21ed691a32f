"""The command table: every verb is found by name, and a verb loads only what it needs."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

from virtnet.cli.app import COMMAND_MODULES, cli


def test_the_table_names_exactly_the_commands_the_modules_register() -> None:
    for module in set(COMMAND_MODULES.values()):
        importlib.import_module(module)
    assert set(cli.commands) == set(COMMAND_MODULES)


def _modules_after(*argv: str) -> set[str]:
    code = (
        "import json, sys\n"
        "from virtnet.cli.main import main\n"
        f"code = main({list(argv)!r})\n"
        "sys.stderr.write(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(proc.stderr.splitlines()[-1]))


def test_linting_files_does_not_load_the_http_client() -> None:
    loaded = _modules_after("lint", "--help")
    assert "virtnet.cli.lint" in loaded
    assert not {"lightkube", "httpx2", "virtnet.cluster.client", "virtnet.render.bundle"} & loaded


def test_a_verb_is_loaded_when_it_runs() -> None:
    loaded = _modules_after("doctor", "--help")
    assert "virtnet.cli.doctor" in loaded
    assert "virtnet.cli.apply" not in loaded


def test_top_level_help_lists_every_command() -> None:
    code = "from virtnet.cli.main import main; main(['--help'])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    listed = {line.split()[0] for line in proc.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == set(COMMAND_MODULES)
