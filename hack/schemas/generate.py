#!/usr/bin/env python3
"""Generate the schemas virtnet ships (src/virtnet/schemas/data/) from the envtest CRD sets.

The CRD sets come from ``hack/envtest/build.sh`` (docs/envtest.md): the KubeVirt CRDs that
``hack/envtest/crds`` builds from ``validations_generated.go`` of each ``kubevirt.io/kubevirt`` release,
the SpiderPool chart CRDs (v1.2.2 from the Go module proxy, v0.8.13 from the SHA-256-pinned fallback files) and
the Multus NetworkAttachmentDefinition CRD. This script does not download anything itself: it reuses that
build's cache (``build.sh`` prints the directory, building it first if it is missing).

For every set it keeps the structural schema of each custom resource, stripped to what validation needs
(descriptions, printer columns, ``x-kubernetes-map-type``, atomic list types, the ``anyOf`` of int-or-string, and
the formats kube-apiserver ignores except int32/int64 are dropped), with its provenance (module@version, file,
SHA-256 of the upstream source), and writes one gzip-compressed JSON document per ``<project>-<version>``
plus ``index.json``. Identical sub-schemas are stored once per document.

Usage (the project's venv: it needs PyYAML):

    .venv/bin/python hack/schemas/generate.py            # regenerate src/virtnet/schemas/data/
    .venv/bin/python hack/schemas/generate.py --check    # exit 1 when the shipped data differs from a regeneration
    .venv/bin/python hack/schemas/generate.py --crds DIR # use a CRD directory (<set>/*.yaml) instead of the cache
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from virtnet.schemas.structural import FORMAT, Nodes, UnsupportedSchemaError, strip

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
ENVTEST = REPO / "hack" / "envtest"
DATA = REPO / "src" / "virtnet" / "schemas" / "data"
KUBEVIRT_KINDS = ("VirtualMachine", "VirtualMachineInstance", "KubeVirt")


class GenerateError(Exception):
    pass


# --- inputs -------------------------------------------------------------------------------------------------------


def envtest_versions() -> dict[str, list[str]]:
    """KUBEVIRT_VERSIONS, SPIDERPOOL_VERSIONS and NAD_VERSIONS of hack/envtest/versions.env."""
    out: dict[str, list[str]] = {}
    for line in (ENVTEST / "versions.env").read_text().splitlines():
        match = re.match(r"^(KUBEVIRT|SPIDERPOOL|NAD)_VERSIONS=(.*)$", line.strip())
        if match:
            out[match.group(1).lower()] = shlex.split(match.group(2))[0].split()
    return out


def crd_dir() -> Path:
    """The CRD directory of the envtest build (built by hack/envtest/build.sh when missing)."""
    proc = subprocess.run(["bash", str(ENVTEST / "build.sh")], stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise GenerateError(f"hack/envtest/build.sh failed (exit {proc.returncode}); see its output above")
    return Path(proc.stdout.strip().splitlines()[-1]) / "crds"


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.lstrip("v").split(".")[:2]
    return int(major), int(minor)


def _patch(version: str) -> tuple[int, int, int]:
    major, minor, patch = version.lstrip("v").split(".")
    return int(major), int(minor), int(patch)


def shipped_sets(versions: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(project, version) of every shipped schema: the newest patch of each KubeVirt minor in versions.env,
    every SpiderPool and NAD release there."""
    newest: dict[tuple[int, int], str] = {}
    for v in versions["kubevirt"]:
        m = _minor(v)
        if m not in newest or _patch(v) > _patch(newest[m]):
            newest[m] = v
    sets = [("kubevirt", newest[m]) for m in sorted(newest)]
    sets += [("spiderpool", v) for v in sorted(versions["spiderpool"], key=_patch)]
    sets += [("nad", v) for v in sorted(versions["nad"], key=_patch)]
    return sets


def read_source(set_dir: Path) -> dict[str, dict[str, str]]:
    """file name -> {module, version, file, sha256} from the SOURCE file hack/envtest/crds writes per set."""
    out: dict[str, dict[str, str]] = {}
    for line in (set_dir / "SOURCE").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition(" <- ")
        origin = rest.split(" ", 1)[0]
        sha = re.search(r"\(sha256 ([0-9a-f]{64})\)\s*$", line)
        module_version, _, path = _split_module(origin)
        module, _, version = module_version.partition("@")
        if not sha or not version or not path:
            raise GenerateError(f"{set_dir / 'SOURCE'}: cannot read the origin of {name!r}: {line!r}")
        entry = {"module": module, "version": version, "file": path, "sha256": sha.group(1)}
        if "not served" in rest:
            entry["note"] = (
                "not served by the Go module proxy: taken from the verbatim upstream file pinned by SHA-256 in "
                "hack/envtest/crd-fallback.sha256"
            )
        out[name] = entry
    return out


def _split_module(origin: str) -> tuple[str, str, str]:
    """``github.com/org/repo@v1.2.3/path/file`` -> (``github.com/org/repo@v1.2.3``, "/", ``path/file``)."""
    at = origin.index("@")
    slash = origin.index("/", at)
    return origin[:slash], "/", origin[slash + 1 :]


def crds_of(set_dir: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(set_dir.glob("*.yaml")):
        with path.open() as f:
            for doc in yaml.load_all(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    yield path.name, doc


def build_set(project: str, version: str, set_dir: Path) -> dict[str, Any]:
    sources = read_source(set_dir)
    nodes = Nodes()
    kinds: dict[str, Any] = {}
    provenance: dict[str, dict[str, str]] = {}
    for file_name, crd in crds_of(set_dir):
        spec = crd["spec"]
        kind = spec["names"]["kind"]
        if project == "kubevirt" and kind not in KUBEVIRT_KINDS:
            continue
        served = [v for v in spec["versions"] if v.get("served")]
        storage = next(v for v in spec["versions"] if v.get("storage"))
        schema = storage["schema"]["openAPIV3Schema"]
        for v in served:
            if v["schema"]["openAPIV3Schema"] != schema:
                raise GenerateError(f"{set_dir.name}/{file_name}: versions {v['name']} and {storage['name']} differ")
        src = sources[file_name]
        key = f"{src['module']}@{src['version']}/{src['file']}"
        provenance[key] = src
        kinds[kind] = {
            "crd": crd["metadata"]["name"],
            "group": spec["group"],
            "versions": [v["name"] for v in served],
            "namespaced": spec["scope"] == "Namespaced",
            "statusSubresource": "status" in (storage.get("subresources") or {}),
            "source": key,
            "schema": nodes.add(_strip_root(schema, f"{set_dir.name}/{kind}")),
        }
    if not kinds:
        raise GenerateError(f"{set_dir}: no custom resources found")
    return {
        "format": FORMAT,
        "project": project,
        "version": version,
        "generator": "hack/schemas/generate.py (from the hack/envtest CRD sets)",
        "provenance": [provenance[k] for k in sorted(provenance)],
        "kinds": dict(sorted(kinds.items())),
        "nodes": nodes.nodes,
    }


def _strip_root(schema: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        out = strip(schema, "")
    except UnsupportedSchemaError as err:
        raise GenerateError(f"{where}: {err}") from None
    # The validator checks metadata as ObjectMeta (what the API server decodes it into); a CRD that constrains
    # metadata further would need more.
    meta = out.get("properties", {}).get("metadata")
    if meta not in (None, {"type": "object"}):
        raise GenerateError(f"{where}: metadata has a schema beyond type: object: {meta}")
    return out


def dumps(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n"


def generate(crds: Path, out: Path) -> list[str]:
    versions = envtest_versions()
    out.mkdir(parents=True, exist_ok=True)
    index: dict[str, Any] = {"format": FORMAT, "sets": {}}
    written = []
    for project, version in shipped_sets(versions):
        set_dir = crds / f"{project}-{version}"
        if not (set_dir / "SOURCE").is_file():
            raise GenerateError(f"CRD set {set_dir} is missing (listed in hack/envtest/versions.env)")
        doc = build_set(project, version, set_dir)
        name = f"{project}-{version}.json.gz"
        # mtime 0 and no file name: the bytes depend only on the content (and zlib)
        with (out / name).open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            gz.write(dumps(doc).encode())
        index["sets"].setdefault(project, []).append(
            {"version": version, "file": name, "kinds": sorted(doc["kinds"]), "provenance": doc["provenance"]}
        )
        written.append(name)
    (out / "index.json").write_text(json.dumps(index, sort_keys=True, indent=1) + "\n")
    (out / "README.md").write_text(readme(index))
    return [*written, "index.json", "README.md"]


def readme(index: dict[str, Any]) -> str:
    """The data directory's README (no byte sizes: gzip output may differ between zlib builds, the README may not)."""
    rows = []
    for sets in index["sets"].values():
        for e in sets:
            first = e["provenance"][0]
            more = f" (+{len(e['provenance']) - 1} more files)" if len(e["provenance"]) > 1 else ""
            rows.append(
                f"| `{e['file']}` | {', '.join(e['kinds'])} | "
                f"`{first['module']}@{first['version']}` `{first['file']}` sha256 `{first['sha256'][:12]}…`{more} |"
            )
    return README.format(rows="\n".join(rows))


README = """# Shipped CRD schemas

Generated by `hack/schemas/generate.py` (`make schemas`) from the CRD sets of `hack/envtest` — do not edit by hand;
`make test` fails when these files differ from a regeneration (`make schemas-check`). Each `.json.gz` holds one
upstream release: its kinds, their structural schemas reduced to what validation needs (identical sub-schemas stored
once, referenced by index) and the provenance of every source file (module@version, path, SHA-256 of the file as
upstream publishes it). `index.json` lists the sets. Loaded by `virtnet.schemas` through `importlib.resources`; used
by the lint rules `unknown-field` and `schema-invalid` (docs/lint.md "Schema validation", docs/architecture.md).

| file | kinds | source |
|---|---|---|
{rows}

SpiderPool v0.8.13 is not served by the Go module proxy: its six chart CRDs are the verbatim upstream files pinned by
SHA-256 in `hack/envtest/crd-fallback.sha256` (tag v0.8.13, commit 6b59f23f); the generator reads them, the installed
package does not need them. KubeVirt publishes no CRD files: the schemas are the `CRDsValidation` strings of
`pkg/virt-operator/resource/generate/components/validations_generated.go` of each release (the SHA-256 is that file's).
"""


def content(path: Path) -> str:
    if path.name.endswith(".gz"):
        return gzip.decompress(path.read_bytes()).decode()
    return path.read_text()


def check(crds: Path, data: Path = DATA) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(crds, fresh)
        want = {p.name for p in fresh.iterdir()}
        have = (
            {p.name for p in data.iterdir() if p.name.endswith((".json", ".json.gz", ".md"))}
            if data.is_dir()
            else set()
        )
        problems = [f"missing: {n}" for n in sorted(want - have)] + [f"not generated: {n}" for n in sorted(have - want)]
        for name in sorted(want & have):
            if content(fresh / name) != content(data / name):
                problems.append(f"differs: {name}")
    if problems:
        print(
            f"schemas: {data} differs from what hack/schemas/generate.py produces "
            f"({'; '.join(problems)}): run `make schemas` and commit the result",
            file=sys.stderr,
        )
        return 1
    print(f"schemas: {data} is up to date ({len(want)} files)", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare the shipped data with a regeneration")
    parser.add_argument("--crds", type=Path, help="CRD directory (<set>/*.yaml + SOURCE); default: the envtest cache")
    parser.add_argument("--out", type=Path, default=DATA, help="output directory; with --check: the data to compare")
    args = parser.parse_args(argv)
    try:
        crds = args.crds or crd_dir()
        if args.check:
            return check(crds, args.out)
        written = generate(crds, args.out)
    except (GenerateError, UnsupportedSchemaError) as err:
        print(f"schemas: {err}", file=sys.stderr)
        return 1
    total = sum((args.out / n).stat().st_size for n in written)
    print(f"schemas: wrote {len(written)} files, {total:,} bytes, into {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
