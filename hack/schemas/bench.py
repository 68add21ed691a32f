#!/usr/bin/env python3
"""Schema validation alone: how long virtnet's schema check takes for every object of a corpus.

    .venv/bin/python bench/corpus.py 10000 /tmp/corpus10k      # the issue-8 corpus (10,211 objects)
    .venv/bin/python hack/schemas/bench.py /tmp/corpus10k [--kubevirt-version v1.9.0 --spiderpool-version v1.2.2]

Parsing is not timed (PyYAML's C loader, once). Timed, per run: schema lookup, the compiled fast path
(jsonschema-rs) on every object, and the precise walk on the objects it rejects — what the rules unknown-field and
schema-invalid cost inside `virtnet lint`. The first run includes compiling the schemas; the median of the rest
is reported, with the precise walk alone on the same objects for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from virtnet.lint.schema import _COMPILED, compiled, shipped_catalog
from virtnet.model.versions import TargetVersions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--kubevirt-version", default="v1.9.0")
    parser.add_argument("--spiderpool-version", default="v1.2.2")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    objects = [
        d for path in sorted(args.corpus.glob("*.yaml")) for d in yaml.load_all(path.read_text(), Loader=loader) if d
    ]
    catalog = shipped_catalog(TargetVersions.parse(args.kubevirt_version, args.spiderpool_version))

    def check(fast: bool) -> tuple[int, int, int]:
        validated = refused = findings = 0
        for obj in objects:
            kind, _ = catalog.lookup(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
            if kind is None:
                continue
            validated += 1
            errors = compiled(kind).errors(obj) if fast else compiled(kind).precise(obj)
            refused += bool(errors)
            findings += len(errors)
        return validated, refused, findings

    _COMPILED.clear()
    start = time.perf_counter()
    first = check(fast=True)
    cold = time.perf_counter() - start
    warm = []
    for _ in range(args.runs):
        start = time.perf_counter()
        assert check(fast=True) == first
        warm.append(time.perf_counter() - start)
    start = time.perf_counter()
    assert check(fast=False) == first
    precise = time.perf_counter() - start
    validated, refused, findings = first
    print(f"{len(objects):,} objects, {validated:,} with a schema, {refused} refused ({findings} findings)")
    print(f"first run (compiling the schemas included): {cold:.3f} s")
    print(f"median of {args.runs} runs: {statistics.median(warm):.3f} s (min {min(warm):.3f}, max {max(warm):.3f})")
    print(f"precise walk alone on every object: {precise:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
