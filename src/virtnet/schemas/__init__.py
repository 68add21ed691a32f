"""The upstream CRD schemas virtnet ships: KubeVirt (every supported minor), SpiderPool (v0.8, v1.2), Multus NAD.

``data/`` holds one gzip-compressed JSON document per ``<project>-<version>`` and ``index.json``, written by
``hack/schemas/generate.py`` (``make schemas``) from the CRD sets of ``hack/envtest`` and checked for drift by
``make test``. Each document records its provenance (module@version, file, SHA-256 of the upstream source). The data
is read through :mod:`importlib.resources`, so an installed wheel works offline.

:func:`schema_set` picks the set for a target version (the same minor, else the nearest shipped release of the
same major, with a note saying so) and :func:`load` decodes it once per process.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from virtnet.model.versions import Version
from virtnet.schemas.structural import FORMAT, UnsupportedSchemaError, decode, strip

PROJECTS = {"kubevirt": "KubeVirt", "spiderpool": "SpiderPool", "nad": "Multus NAD"}


@dataclass(frozen=True)
class KindSchema:
    """The structural schema of one custom resource kind, and where it came from."""

    kind: str
    group: str
    versions: tuple[str, ...]  # served versions, e.g. ("v1", "v1alpha3")
    namespaced: bool
    status_subresource: bool  # the main endpoint drops ``status`` on create: only its unknown fields count
    schema: dict[str, Any] = field(repr=False, compare=False)
    source: str = ""  # module@version/file, or "the cluster's CRD <name>"
    crd: str = ""  # the CustomResourceDefinition's name, e.g. virtualmachines.kubevirt.io
    release: str = ""  # for messages: "KubeVirt v1.9.0", "the cluster's CRD virtualmachines.kubevirt.io"

    @property
    def api_versions(self) -> tuple[str, ...]:
        return tuple(f"{self.group}/{v}" for v in self.versions)


@dataclass(frozen=True)
class SchemaSet:
    project: str  # kubevirt | spiderpool | nad
    version: str
    kinds: dict[str, KindSchema] = field(compare=False)
    provenance: tuple[dict[str, str], ...] = field(default=(), compare=False)

    @property
    def title(self) -> str:
        return f"{PROJECTS.get(self.project, self.project)} {self.version}"


def _data() -> Any:
    return resources.files(__name__).joinpath("data")


@cache
def index() -> dict[str, Any]:
    """``index.json``: the shipped sets per project, with their kinds and provenance."""
    doc: dict[str, Any] = json.loads(_data().joinpath("index.json").read_text(encoding="utf-8"))
    if doc.get("format") != FORMAT:
        raise RuntimeError(f"virtnet.schemas: index.json has format {doc.get('format')}, expected {FORMAT}")
    return doc


def shipped(project: str) -> list[str]:
    """Versions shipped for ``project``, oldest first."""
    return [entry["version"] for entry in index()["sets"].get(project, [])]


@cache
def load(project: str, version: str) -> SchemaSet:
    """The decoded schema set ``project``-``version`` (one of :func:`shipped`)."""
    entry = next((e for e in index()["sets"].get(project, []) if e["version"] == version), None)
    if entry is None:
        raise KeyError(f"no shipped schema {project}-{version}")
    doc = json.loads(gzip.decompress(_data().joinpath(entry["file"]).read_bytes()))
    nodes = decode(doc["nodes"])
    kinds = {
        kind: KindSchema(
            kind=kind,
            group=k["group"],
            versions=tuple(k["versions"]),
            namespaced=k["namespaced"],
            status_subresource=k["statusSubresource"],
            schema=nodes[k["schema"]],
            source=k["source"],
            crd=k["crd"],
            release=f"{PROJECTS.get(project, project)} {version}",
        )
        for kind, k in doc["kinds"].items()
    }
    return SchemaSet(project, version, kinds, tuple(doc["provenance"]))


def choose(project: str, target: Version) -> tuple[str, str | None]:
    """The shipped version to validate ``target`` with, and a note when it is not of the target's minor.

    Same minor: that release (patch releases do not change these APIs). Otherwise the nearest shipped minor of the
    same major (ties: the newer): SpiderPool v0.9 → v0.8.13, v1.0/v1.1 → v1.2.2 — the SpiderIPPool/SpiderSubnet
    ``spec.vlan`` removal of v1.0.0 (SP@v1.0.0:charts/spiderpool/crds) is the schema change that follows the major.
    """
    versions = [Version.parse(v) for v in shipped(project)]
    if not versions:
        raise KeyError(f"no shipped schemas for {project}")
    for v in versions:
        if (v.major, v.minor) == (target.major, target.minor):
            return str(v), None
    same_major = [v for v in versions if v.major == target.major] or versions
    best = min(same_major, key=lambda v: (abs(v.minor - target.minor) + 100 * abs(v.major - target.major), -v.minor))
    name = PROJECTS.get(project, project)
    note = (
        f"virtnet ships no {name} {target.minor_line} schema: {name} {target} is validated against the schema of "
        f"{best}, the nearest shipped release"
    )
    return str(best), note


def all_kinds() -> list[str]:
    """Every kind some shipped set has a schema for."""
    return sorted({kind for sets in index()["sets"].values() for entry in sets for kind in entry["kinds"]})


def from_crd(crd: dict[str, Any]) -> tuple[list[KindSchema], list[str]]:
    """The schemas of a CustomResourceDefinition read from a cluster (one per served version), and a sentence for each
    construct virtnet does not check (left out, never guessed)."""
    notes: list[str] = []
    spec = crd.get("spec") or {}
    name = str((crd.get("metadata") or {}).get("name", ""))
    kind = str((spec.get("names") or {}).get("kind", ""))
    out: list[KindSchema] = []
    for version in spec.get("versions") or ():
        if not version.get("served"):
            continue
        raw = ((version.get("schema") or {}).get("openAPIV3Schema")) or {}
        dropped: list[str] = []
        try:
            schema = strip(raw, "", strict=False, dropped=dropped)
        except UnsupportedSchemaError as err:
            notes.append(f"{name} {version.get('name')}: {err}; not checked")
            continue
        notes.extend(f"{name} {version.get('name')}: {d}" for d in dropped)
        out.append(
            KindSchema(
                kind=kind,
                group=str(spec.get("group", "")),
                versions=(str(version.get("name")),),
                namespaced=spec.get("scope") == "Namespaced",
                status_subresource="status" in (version.get("subresources") or {}),
                schema=schema,
                source=f"the cluster's CRD {name}",
                crd=name,
                release=f"the cluster's CRD {name}",
            )
        )
    return out, notes
