"""Benchmark: `virtnet lint` against `kubeconform -strict` on the same files, the same CRD schemas, the same machine.

    .venv/bin/python bench/lint_vs_kubeconform.py [--sizes 100 1000 10000] [--runs 3] [--kubeconform PATH]
    .venv/bin/python bench/lint_vs_kubeconform.py --smoke      # 100 VMs, one run each, parity only (CI)
    .venv/bin/python bench/lint_vs_kubeconform.py --sizes 10000 --breakdown   # + virtnet with fewer rules

1. kubeconform: ``--kubeconform PATH``, else built once with ``go install github.com/yannh/kubeconform/cmd/
   kubeconform@v0.8.0`` into ``${VIRTNET_BENCH_CACHE:-~/.cache/virtnet-bench}/kubeconform-v0.8.0/``.
2. Schemas: the CRD sets hack/envtest/build.sh keeps in its cache (KubeVirt v1.9.0, SpiderPool v1.2.2, Multus NAD
   v1.7.7 — the newest, which `virtnet lint` targets by default), converted by bench/kubeconform_schemas.py.
3. Corpus: bench/corpus.py — N VMs across the guide's modes with their pools, SpiderMultusConfigs and cloud-init
   Secrets in ~100 files, with planted schema and semantic mistakes.
4. Runs, alternately, after one untimed run of each (stdout to /dev/null):
       kubeconform -strict -ignore-missing-schemas -output json -schema-location TEMPLATE DIR
       virtnet lint DIR -o json
   and prints per size the medians, min/max, the ratio virtnet/kubeconform and the peak RSS of each (the largest
   process: wait4's ru_maxrss).
5. Parity: every planted schema mistake kubeconform reports, virtnet reports on the same object with a line and
   the field path; every planted semantic mistake is found; no finding on an object without a plant.

Wall-clock on the machine it runs on; never asserted in tests (the smoke run checks parity only).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import corpus  # noqa: E402  (bench/corpus.py)
import kubeconform_schemas  # noqa: E402

BIN = Path(sys.executable).parent
KUBECONFORM = "github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0"
CRD_SETS = ("kubevirt-v1.9.0", "spiderpool-v1.2.2", "nad-v1.7.7")


def cache_dir() -> Path:
    return Path(os.environ.get("VIRTNET_BENCH_CACHE", Path.home() / ".cache/virtnet-bench"))


def build_kubeconform() -> Path:
    exe = cache_dir() / "kubeconform-v0.8.0" / "kubeconform"
    if exe.is_file():
        return exe
    if shutil.which("go") is None:
        sys.exit("bench: Go is needed to build kubeconform (or pass --kubeconform PATH)")
    print(f"bench: go install {KUBECONFORM} into {exe.parent}", file=sys.stderr)
    env = {**os.environ, "GOBIN": str(exe.parent), "GOWORK": "off", "GOFLAGS": ""}
    subprocess.run(["go", "install", KUBECONFORM], env=env, check=True, cwd=tempfile.gettempdir())
    return exe


def crd_files() -> list[Path]:
    out = subprocess.run(["bash", str(ROOT / "hack/envtest/build.sh")], capture_output=True, text=True, check=True)
    crds = Path(out.stdout.strip().splitlines()[-1]) / "crds"
    return sorted(p for s in CRD_SETS for p in (crds / s).glob("*.yaml"))


# --- running -----------------------------------------------------------------------------------------------------


def run(argv: list[str]) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds (user + system, with the process's own children), peak RSS in KiB of the largest
    process, exit code); stdout discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 1):
        sys.exit(f"bench: {' '.join(argv)} failed ({proc.returncode}): {stderr[:500]}")
    return wall, cpu, usage.ru_maxrss, proc.returncode


# --breakdown: virtnet doing only kubeconform's job (the two schema rules), and with one rule that reads only an
# object's annotations (what reading, splitting and the engine cost without the rules)
BREAKDOWN = {
    "virtnet, schema rules only": ("--enable", "unknown-field,schema-invalid"),
    "virtnet, reading only": ("--enable", "suppression-unknown"),
}


def commands(kubeconform: Path, schemas: Path, corpus_dir: Path, breakdown: bool = False) -> dict[str, list[str]]:
    cmds = {
        "kubeconform": [str(kubeconform), "-strict", "-ignore-missing-schemas", "-output", "json",
                        "-schema-location", kubeconform_schemas.location(schemas), str(corpus_dir)],
        "virtnet": [str(BIN / "virtnet"), "lint", str(corpus_dir), "-o", "json"],
    }  # fmt: skip
    if breakdown:
        cmds.update({name: [*cmds["virtnet"], *extra] for name, extra in BREAKDOWN.items()})
    return cmds


# --- parity ------------------------------------------------------------------------------------------------------


def parity(cmds: dict[str, list[str]], planted: list[corpus.Plant], corpus_dir: Path) -> list[str]:
    """Problems (empty: parity holds) and a printed account of what each tool found."""
    kc = json.loads(subprocess.run(cmds["kubeconform"], capture_output=True, text=True).stdout or "{}")
    vn = json.loads(subprocess.run(cmds["virtnet"], capture_output=True, text=True).stdout)
    kc_bad = {(Path(r["filename"]).name, r.get("name")): r for r in kc.get("resources", [])
              if r.get("status") in ("statusInvalid", "statusError")}  # fmt: skip
    findings = vn["findings"]
    problems: list[str] = []
    plants = {(p.file, p.name): p for p in planted}
    for f in findings:
        key = (Path(f["file"]).name, f["object"]["name"])
        if key not in plants:
            problems.append(f"virtnet finding on a clean object: {f['code']} {key} {f['path']}: {f['message']}")
    for key in kc_bad:
        if key not in plants:
            problems.append(f"kubeconform error on a clean object: {key} {kc_bad[key].get('msg', '')[:200]}")
    for p in planted:
        key = (p.file, p.name)
        hits = [f for f in findings if (Path(f["file"]).name, f["object"]["name"]) == key and f["path"] == p.path]
        located = [f for f in hits if f["line"]]
        kc_hit = key in kc_bad
        where = f"{p.file} {p.kind} {p.name} {p.path}"
        if p.schema and not kc_hit:
            problems.append(f"kubeconform did not report the planted schema mistake {p.what} at {where}")
        if not located:
            problems.append(f"virtnet did not report the planted mistake {p.what} at {where} with a line")
        codes = ",".join(sorted({f["code"] for f in hits}))
        line = located[0]["line"] if located else None
        print(f"  {p.what:15} {'kubeconform ' + ('yes' if kc_hit else 'no ') if p.schema else 'kubeconform -  '}"
              f"  virtnet {codes or 'NO'} line {line} {p.file}: {p.path}", file=sys.stderr)  # fmt: skip
    return problems


# --- main --------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each command per size (alternating)")
    parser.add_argument("--kubeconform", type=Path, help="kubeconform to compare with (default: build v0.8.0)")
    parser.add_argument("--smoke", action="store_true", help="100 VMs, parity only, no timing (CI)")
    parser.add_argument("--breakdown", action="store_true", help="also time virtnet with the schema rules only, and "
                        "with one annotation rule only (reading and engine)")  # fmt: skip
    args = parser.parse_args()
    sizes, runs = ([100], 0) if args.smoke else (args.sizes, args.runs)
    kubeconform = args.kubeconform or build_kubeconform()
    problems: list[str] = []
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="virtnet-bench-") as tmp:
        schemas = Path(tmp) / "schemas"
        kubeconform_schemas.write_schemas(schemas, crd_files())
        for n in sizes:
            corpus_dir = Path(tmp) / f"corpus-{n}"
            planted = corpus.write(n, corpus_dir)
            files = sorted(corpus_dir.glob("*.yaml"))
            size = sum(f.stat().st_size for f in files)
            objects = sum(f.read_text().count("\nkind: ") + f.read_text().startswith("kind: ") for f in files)
            cmds = commands(kubeconform, schemas, corpus_dir, args.breakdown and not args.smoke)
            print(f"bench: {n:,} VMs, {objects:,} objects, {size / 1e6:.1f} MB in {len(files)} files", file=sys.stderr)
            problems += [f"{n} VMs: {p}" for p in parity(cmds, planted, corpus_dir)]
            if not runs:
                continue
            for argv in cmds.values():  # warm-up: page cache, Python bytecode
                run(argv)
            samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in cmds}
            for _ in range(runs):
                for name, argv in cmds.items():
                    wall, cpu, rss, _code = run(argv)
                    samples[name].append((wall, cpu, rss))
            med = {name: statistics.median(w for w, _, _ in s) for name, s in samples.items()}
            cpu_med = {name: statistics.median(c for _, c, _ in s) for name, s in samples.items()}
            for name, s in samples.items():
                walls = [w for w, _, _ in s]
                rows.append(f"| {n:,} | {objects:,} | {size / 1e6:.1f} | `{name}` | {runs} | {med[name]:.2f} | "
                            f"{min(walls):.2f} | {max(walls):.2f} | {cpu_med[name]:.2f} | "
                            f"{max(r for _, _, r in s) / 1024:.0f} |")  # fmt: skip
            for name in (k for k in cmds if k.startswith("virtnet")):
                ratio, cpu_ratio = med[name] / med["kubeconform"], cpu_med[name] / cpu_med["kubeconform"]
                label = f"**{name} / kubeconform**"
                rows.append(f"| {n:,} | | | {label} | | **{ratio:.2f}** | | | **{cpu_ratio:.2f}** | |")
    if rows:
        load = os.getloadavg()
        print(f"\n{time.strftime('%Y-%m-%d')}, {platform.node()}, {os.cpu_count()} cores, Python "
              f"{platform.python_version()}, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, "
              f"{kubeconform.parent.name}\n")  # fmt: skip
        header = "| VMs | objects | YAML MB | command | runs | median wall s | min s | max s | median CPU s |"
        print(header + " peak RSS MiB |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        print("\n".join(rows))
    print(f"\nchildren CPU: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime:.1f}s user", file=sys.stderr)
    if problems:
        print("\nPARITY PROBLEMS:\n" + "\n".join(problems), file=sys.stderr)
        if args.smoke:
            print(f"bench-smoke: 0 passed, {len(problems)} failed")
        sys.exit(1)
    if args.smoke:  # a plain closing line for CI: one check per kind of planted mistake
        print(f"bench-smoke: {len(corpus.VM_MISTAKES) + 2} passed, 0 failed")
    print("\nparity: every planted schema mistake kubeconform reports, virtnet reports with line and field path; "
          "every planted semantic mistake is found; no finding on a clean object", file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    main()
