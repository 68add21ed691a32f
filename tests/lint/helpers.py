"""Run the lint engine on fixture files the way the CLI does (minus printing)."""

from __future__ import annotations

import re
from pathlib import Path

from virtnet.formats.yamlio import load_documents
from virtnet.lint import LintOptions, LintResult, lint

HEADER = re.compile(r"^#\s*lint:\s*(.*)$", re.MULTILINE)
EXPECT = re.compile(r"^#\s*expect:\s*(VN\d{3})\s+line\s+(\d+)\s*$", re.MULTILINE)


def options_from_header(text: str) -> LintOptions:
    """``# lint: --kubevirt-version v1.0.1 --spiderpool-version v0.8.0`` in a fixture selects the target versions."""
    kv = sp = None
    match = HEADER.search(text)
    if match:
        args = match.group(1).split()
        for flag, value in zip(args[::2], args[1::2], strict=False):
            if flag == "--kubevirt-version":
                kv = value
            elif flag == "--spiderpool-version":
                sp = value
    return LintOptions(kubevirt_version=kv, spiderpool_version=sp)


def lint_file(path: Path) -> LintResult:
    text = path.read_text()
    return lint(load_documents(text, path.name), options_from_header(text))


def expected_lines(path: Path) -> list[tuple[str, int]]:
    """``# expect: VN008 line 14`` lines: the finding of that rule must point at that line."""
    return [(code, int(line)) for code, line in EXPECT.findall(path.read_text())]
