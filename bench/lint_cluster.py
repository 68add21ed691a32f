"""Benchmark: `virtnet lint --cluster -A` against `kubectl get` of the same kinds, on a real API server with 5,000 VMs.

    .venv/bin/python bench/lint_cluster.py [--vms 5000] [--runs 5] [--kubectl PATH] [--profile]

Starts an envtest control plane (tests/cluster/envtest.py: kube-apiserver + etcd with the newest CRDs), loads a
realistic cluster through the API — N VirtualMachines rendered by virtnet in 10 namespaces, half passt on a macvlan
VLAN (one NIC), half bridge on two OVS VLANs (two NICs), sharing 40 SpiderIPPools and 40 SpiderMultusConfigs in
kube-system, each with the NetworkAttachmentDefinition SpiderPool would generate from it — then runs, alternately,

    kubectl get vm,spiderippool,spidermultusconfig,net-attach-def -A -o json
    virtnet lint --cluster -A -o json

(stdout to /dev/null, after one warm-up run of each) and prints the medians and their ratio. `--profile` also runs
the lint in process under cProfile and prints the top functions.

kubectl: `--kubectl PATH`, else built once from the k8s.io/kubernetes release pinned in
hack/envtest/apiserver/go.mod (the kube-apiserver's own release) into ~/.cache/virtnet-bench/. Needs Go, like
hack/envtest/build.sh. Wall-clock on the machine it runs on; never asserted in tests.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.cluster.envtest import (  # noqa: E402  (bench may import the test helpers)
    DEFAULT_CRD_SETS,
    ControlPlane,
    create,
    ensure_assets,
    http_session,
    resource_path,
)

from virtnet.formats.intent import intent_from_document  # noqa: E402
from virtnet.formats.yamlio import Document  # noqa: E402
from virtnet.render import render_bundle  # noqa: E402

BIN = Path(sys.executable).parent
APISERVER_MODULE = ROOT / "hack/envtest/apiserver"
NAMESPACES = 10
VLANS = 20  # macvlan VLANs 100..119 and OVS VLANs 200..219: one pool, one SMC, one NAD each
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFdrc13d8dLllgF33no/g0Y7M+vlt5yyjM+ljpm+m1xX bench@virtnet"
KUBECTL_KINDS = "vm,spiderippool,spidermultusconfig,net-attach-def"


# --- kubectl -----------------------------------------------------------------------------------------------------


def build_kubectl() -> Path:
    """kubectl of the pinned k8s.io/kubernetes release, built once (go.sum gains kubectl's extra modules in a copy)."""
    pins = (APISERVER_MODULE / "go.mod").read_bytes() + (APISERVER_MODULE / "go.sum").read_bytes()
    key = hashlib.sha256(pins).hexdigest()[:16]
    cache = Path(os.environ.get("VIRTNET_BENCH_CACHE", Path.home() / ".cache/virtnet-bench"))
    exe = cache / f"kubectl-{key}" / "kubectl"
    if exe.is_file():
        return exe
    if shutil.which("go") is None:
        sys.exit("bench: Go is needed to build kubectl (or pass --kubectl PATH)")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("go.mod", "go.sum"):
            shutil.copy(APISERVER_MODULE / name, Path(tmp) / name)
        env = {**os.environ, "GOWORK": "off", "GOFLAGS": ""}
        version = subprocess.run(
            ["go", "list", "-mod=readonly", "-m", "-f", "{{.Version}}", "k8s.io/kubernetes"],
            cwd=tmp, env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        minor = version.split(".")[1]
        ldflags = (
            f"-s -w -X k8s.io/component-base/version.gitVersion={version} "
            f"-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor={minor}"
        )
        print(f"bench: building kubectl {version} (k8s.io/kubernetes/cmd/kubectl) into {exe.parent}", file=sys.stderr)
        exe.parent.mkdir(parents=True, exist_ok=True)
        build = ["go", "build", "-mod=mod", "-trimpath", "-ldflags", ldflags, "-o", str(exe)]
        subprocess.run([*build, "k8s.io/kubernetes/cmd/kubectl"], cwd=tmp, env=env, check=True)
    return exe


# --- the cluster's objects ---------------------------------------------------------------------------------------


def _render(name: str, namespace: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    data = {"apiVersion": "virtnet.io/v1alpha1", "kind": "VMNetwork", "metadata": {"name": name,
            "namespace": namespace}, "spec": spec}  # fmt: skip
    bundle = render_bundle(intent_from_document(Document(data=data, source="bench", index=0)))
    return [o for o in bundle.objects if o["kind"] != "Secret"]


def _pool(kind: str, vlan: int) -> dict[str, Any]:
    octet = vlan - 100 if kind == "macvlan" else vlan - 200 + 100
    return {"name": f"{kind}-vlan{vlan}-v4", "subnet": f"10.{octet}.0.0/22", "gateway": f"10.{octet}.0.1",
            "ips": [f"10.{octet}.0.10-10.{octet}.3.250"]}  # fmt: skip


def _nic(kind: str, vlan: int, first: bool) -> dict[str, Any]:
    if kind == "macvlan":
        nic = {"master": "ens192", "vlan": vlan, "multusConfig": f"macvlan-vlan{vlan}"}
    else:
        nic = {"bridge": "br-data", "vlan": vlan, "multusConfig": f"ovs-vlan{vlan}"}
    pool = _pool(kind, vlan)
    return {**nic, "pools": [pool if first else {"name": pool["name"]}]}


def generated_nad(smc: dict[str, Any]) -> dict[str, Any]:
    """The NAD SpiderPool's controller makes from a SpiderMultusConfig (SP@v1.2.2:pkg/multuscniconfig/
    multusconfig_informer.go generateNetAttachDef): same name and namespace, owned by the SMC, cniVersion 0.3.1,
    ifacer first when a VLAN is set, coordinator last when enabled."""
    spec, meta = smc["spec"], smc["metadata"]
    cni = spec["cniType"]
    block = spec[cni]
    pools = block.get("ippools", {})
    ipam = {"type": "spiderpool", "default_ipv4_ippool": pools.get("ipv4", [])}
    plugins: list[dict[str, Any]] = []
    if cni == "macvlan":
        vlan = block.get("vlanID", 0)
        master = block["master"][0]
        if vlan:
            plugins.append({"type": "ifacer", "interfaces": [master], "vlanID": vlan})
        plugins.append({"type": "macvlan", "master": f"{master}.{vlan}" if vlan else master, "mode": "bridge",
                        "ipam": ipam})  # fmt: skip
    else:
        plugins.append({"type": "ovs", "bridge": block["bridge"], "vlan": block.get("vlan", 0), "ipam": ipam})
    if spec.get("enableCoordinator", True):
        plugins.append({"type": "coordinator"})
    config = {"cniVersion": "0.3.1", "name": meta["name"], "plugins": plugins}
    return {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
        "spec": {"config": json.dumps(config)},
    }


def corpus(n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(shared objects: namespaces, pools, SMCs, NADs; the N VMs), all rendered by virtnet."""
    shared: dict[tuple[str, str], dict[str, Any]] = {}
    vms: list[dict[str, Any]] = []
    for i in range(n):
        namespace = f"tenant-{i % NAMESPACES}"
        vlan = i // 2 % VLANS
        if i % 2 == 0:
            spec = {"mode": "passt", "cni": "macvlan", "nics": [_nic("macvlan", 100 + vlan, True)]}
        else:
            nics = [_nic("ovs", 200 + vlan, True), _nic("ovs", 200 + (vlan + 1) % VLANS, False)]
            spec = {"mode": "bridge", "cni": "ovs", "nics": nics}
        spec["cloudInit"] = {"sshAuthorizedKeys": [KEY]}
        for obj in _render(f"vm-{i:05d}", namespace, spec):
            if obj["kind"] == "VirtualMachine":
                vms.append(obj)
            else:
                shared.setdefault((obj["kind"], obj["metadata"]["name"]), obj)
    nads = [generated_nad(o) for o in shared.values() if o["kind"] == "SpiderMultusConfig"]
    namespaces = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"tenant-{k}"}}
                  for k in range(NAMESPACES)]  # fmt: skip
    return [*namespaces, *shared.values(), *nads], vms


def load(plane: ControlPlane, shared: list[dict[str, Any]], vms: list[dict[str, Any]]) -> float:
    """POST everything (VMs from 8 threads); seconds taken."""
    start = time.perf_counter()
    for obj in shared:
        create(plane.client, obj)
    http = http_session(plane.client)
    path = resource_path(plane.client, vms[0], named=False).replace("/namespaces/tenant-0/", "/namespaces/{ns}/")

    def post(vm: dict[str, Any]) -> None:
        resp = http.post(path.format(ns=vm["metadata"]["namespace"]), json=vm)
        if resp.status_code != 201:
            raise RuntimeError(f"{vm['metadata']['name']}: {resp.status_code} {resp.text[:300]}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(post, vms))
    return time.perf_counter() - start


# --- timing ------------------------------------------------------------------------------------------------------


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"bench: {' '.join(argv)} failed ({proc.returncode}): {proc.stderr.decode()[:500]}")
    return elapsed


def profile(kubeconfig: Path) -> str:
    from virtnet.cli.main import main

    os.environ["KUBECONFIG"] = str(kubeconfig)
    out = io.StringIO()
    profiler = cProfile.Profile()
    real_stdout = sys.stdout
    sys.stdout = io.StringIO()
    try:
        profiler.runcall(main, ["lint", "--cluster", "-A", "-o", "json"])
    finally:
        sys.stdout = real_stdout
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vms", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command (alternating)")
    parser.add_argument("--kubectl", type=Path, help="kubectl to compare with (default: build the pinned release)")
    parser.add_argument("--profile", action="store_true", help="also profile the lint in process (cProfile)")
    parser.add_argument("--serve", action="store_true", help="load, print the kubeconfig, keep serving until Ctrl-C")
    args = parser.parse_args()
    kubectl = args.kubectl or build_kubectl()
    kubectl_version = subprocess.run([str(kubectl), "version", "--client"], capture_output=True, text=True).stdout
    shared, vms = corpus(args.vms)
    with ControlPlane(ensure_assets(), DEFAULT_CRD_SETS) as plane, tempfile.TemporaryDirectory() as tmp:
        loaded = load(plane, shared, vms)
        print(f"loaded {len(vms):,} VMs and {len(shared):,} other objects in {loaded:.1f}s", file=sys.stderr)
        if args.serve:  # until Ctrl-C or SIGTERM (a background job ignores SIGINT), then stop the plane
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            print(f"KUBECONFIG={plane.kubeconfig}", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                return
        env = {**os.environ, "KUBECONFIG": str(plane.kubeconfig), "HOME": tmp}
        commands: dict[str, list[str]] = {
            "kubectl": [str(kubectl), "get", KUBECTL_KINDS, "-A", "-o", "json", "--cache-dir", f"{tmp}/kube-cache"],
            "virtnet": [str(BIN / "virtnet"), "lint", "--cluster", "-A", "-o", "json"],
        }
        listed = subprocess.run(commands["kubectl"], capture_output=True, env=env, check=True).stdout
        objects = len(json.loads(listed)["items"])
        linted = json.loads(subprocess.run(commands["virtnet"], capture_output=True, env=env).stdout)["summary"]
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                samples[name].append(timed(argv, env))
        report(args, kubectl_version, objects, len(listed), linted, samples)
        if args.profile:
            print(profile(plane.kubeconfig))


def report(
    args: argparse.Namespace,
    kubectl_version: str,
    objects: int,
    size: int,
    linted: dict[str, Any],
    samples: dict[str, list[float]],
) -> None:
    kv, vn = statistics.median(samples["kubectl"]), statistics.median(samples["virtnet"])
    print(f"date: {time.strftime('%Y-%m-%d')}; cores: {os.cpu_count()}; python {sys.version.split()[0]}")
    print(f"kubectl: {kubectl_version.splitlines()[0] if kubectl_version else '?'}")
    print(f"kubectl lists {objects:,} objects ({size / 1e6:.1f} MB of JSON); virtnet lints {linted['objects']:,} "
          f"({linted['errors']} errors, {linted['warnings']} warnings, {linted['infos']} infos)")  # fmt: skip
    print()
    print("| command | runs | median s | min s | max s |\n|---|---|---|---|---|")
    for name, label in (("kubectl", f"`kubectl get {KUBECTL_KINDS} -A -o json`"),
                        ("virtnet", "`virtnet lint --cluster -A -o json`")):  # fmt: skip
        s = samples[name]
        print(f"| {label} | {len(s)} | {statistics.median(s):.2f} | {min(s):.2f} | {max(s):.2f} |")
    print(f"\nratio virtnet / kubectl (medians): {vn / kv:.2f}")


if __name__ == "__main__":
    main()
