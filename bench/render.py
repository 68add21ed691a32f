"""Benchmark: how long `virtnet new vm` (whole process) and the renderer (in process) take.

    .venv/bin/python bench/render.py            # prints a Markdown table for docs/benchmarks.md

Wall-clock, on the machine it runs on; results go into docs, never into test assertions.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from virtnet.formats.intent import load_intent
from virtnet.model.ippool import PoolSpec
from virtnet.model.suggest import suggest_pool
from virtnet.render import render_bundle

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GUIDE = [
    "new", "vm", "passt-macvlan-spiderpool", "--mode", "passt", "--cni", "macvlan",
    "--nic", "master=ens192,subnet=10.7.0.0/16,gateway=10.7.0.1,ips=10.7.120.100-10.7.120.200,pool=10-7-v4",
    "--kubevirt-version", "v1.0.1", "--spiderpool-version", "v0.8.0", "-q",
]  # fmt: skip


def timed(fn: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - start)
    return out


def row(name: str, samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return f"| {name} | {len(ms)} | {statistics.median(ms):.1f} | {min(ms):.1f} | {max(ms):.1f} |"


KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFdrc13d8dLllgF33no/g0Y7M+vlt5yyjM+ljpm+m1xX bench@virtnet\n"


def main() -> None:
    rows = []
    # self-contained: its own key and an empty home, never the developer's ~/.ssh (the default --ssh-key)
    home = Path(tempfile.mkdtemp(prefix="virtnet-bench-"))
    key = home / "id.pub"
    key.write_text(KEY)
    env = {**os.environ, "HOME": str(home)}
    argv = [str(BIN / "virtnet"), *GUIDE, "--ssh-key", str(key)]
    cli = timed(lambda: subprocess.run(argv, capture_output=True, check=True, env=env), 10)
    rows.append(row("`virtnet new vm` with the guide's values (process start to exit)", cli))
    intent, _ = load_intent((ROOT / "examples/bridge-ovs-spiderpool.yaml").read_text(), "bridge")
    rows.append(row("render_bundle, 2-NIC bridge example (in process)", timed(lambda: render_bundle(intent), 200)))
    addrs = [("eth0", __import__("ipaddress").ip_interface("10.0.0.5/8"))]
    pools = [
        PoolSpec.build(f"p{i}", "10.0.0.0/8", ips=[f"10.{i}.0.0-10.{i}.255.255"], ip_version=4) for i in range(1, 200)
    ]
    rows.append(
        row(
            "suggest 1,000,000 addresses in a /8 next to 199 pools (in process)",
            timed(lambda: suggest_pool("eth0", addrs, [], 1_000_000, pools), 20),
        )
    )
    v6 = [("eth0", __import__("ipaddress").ip_interface("fd00::5/64"))]
    rows.append(
        row(
            "suggest 2**40 addresses in an IPv6 /64 (in process)",
            timed(lambda: suggest_pool("eth0", v6, [], 2**40), 20),
        )
    )
    print("| what | runs | median ms | min ms | max ms |\n|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
