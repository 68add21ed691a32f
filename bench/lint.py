"""Benchmark: `virtnet lint` on a generated corpus of N VMs (each with its SpiderIPPool and SpiderMultusConfig).

    .venv/bin/python bench/lint.py [N ...]      # default 1000 10000; prints a Markdown table for docs/benchmarks.md

The corpus is rendered by virtnet itself (bridge mode, two NICs per VM, one pool per NIC), so it is realistic and
lints clean; the point is throughput. Wall-clock on the machine it runs on, never asserted in tests.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from virtnet.formats.intent import intent_from_document
from virtnet.formats.yamlio import Document, dump_yaml_stream
from virtnet.render import render_bundle

BIN = Path(sys.executable).parent


def corpus(n: int) -> str:
    chunks = []
    for i in range(n):
        a, b = divmod(i, 250)
        nics = [
            {"bridge": "br1", "vlan": 30, "multusConfig": f"ovs-a-{i}", "pools": [
                {"name": f"a-{i}", "subnet": f"10.{a % 250}.{b}.0/24", "gateway": f"10.{a % 250}.{b}.1",
                 "ips": [f"10.{a % 250}.{b}.10-10.{a % 250}.{b}.20"]}]},
            {"bridge": "br1", "vlan": 40, "multusConfig": f"ovs-b-{i}", "pools": [
                {"name": f"b-{i}", "subnet": f"fd00:{a:x}:{b:x}::/64",
                 "ips": [f"fd00:{a:x}:{b:x}::10-fd00:{a:x}:{b:x}::ff"]}]},
        ]  # fmt: skip
        data = {
            "apiVersion": "virtnet.io/v1alpha1",
            "kind": "VMNetwork",
            "metadata": {"name": f"vm-{i}", "namespace": "bench"},
            "spec": {"mode": "bridge", "nics": nics, "cloudInit": {"sshAuthorizedKeys": ["ssh-ed25519 AAAA bench"]}},
        }
        bundle = render_bundle(intent_from_document(Document(data=data, source="bench", index=0)))
        chunks.append(dump_yaml_stream([o for o in bundle.objects if o["kind"] != "Secret"]))
    return "".join(chunks)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000]
    print("| VMs | objects | YAML MB | `virtnet lint` wall s | objects/s |\n|---|---|---|---|---|")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "corpus.yaml"
            text = corpus(n)
            path.write_text(text)
            objects = text.count("\n---\n") + 1
            start = time.perf_counter()
            result = subprocess.run([str(BIN / "virtnet"), "lint", str(path), "-o", "json"], capture_output=True)
            wall = time.perf_counter() - start
            assert result.returncode in (0, 1), result.stderr
            print(f"| {n:,} | {objects:,} | {len(text) / 1e6:.1f} | {wall:.2f} | {objects / wall:,.0f} |")


if __name__ == "__main__":
    main()
