"""`virtnet apply`, the input: the objects of the manifests (each with where it came from), an intent rendered for
the versions chosen, and lint's verdict on what is about to be applied.

Pure (documents in, objects and findings out): :func:`virtnet.cluster.apply_run.prepare` reads the cluster's versions
when a flag or the intent leaves one open, and calls these.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

from virtnet.cluster.apply import Obj, require_identity
from virtnet.cluster.versions import APPLY_WORDING, ChosenVersions
from virtnet.errors import InputError, Location
from virtnet.formats.intentdoc import with_versions
from virtnet.formats.yamlio import Document, format_path
from virtnet.lint import LintOptions, LintResult, lint
from virtnet.lint.engine import objects_of
from virtnet.render import render_document

Located = tuple[Obj, Location]


@dataclass(frozen=True)
class Input:
    """What apply applies: the documents lint reads, their objects, and what rendering an intent warned about."""

    documents: tuple[Document, ...]
    objects: tuple[Located, ...]
    warnings: tuple[str, ...] = field(default=())


def input_objects(documents: Sequence[Document], namespace: str) -> list[Located]:
    """The Kubernetes objects of the documents (any ``…List`` unpacked), each with its file, document, field path
    and position; an object without apiVersion, kind or metadata.name is an error naming it (exit 2)."""
    found = objects_of(documents, namespace)
    if not found:
        raise InputError("the input holds no Kubernetes objects (documents with apiVersion, kind and metadata)")
    out: list[Located] = []
    for obj in found:
        assert obj.document is not None
        pos = obj.position(())
        location = Location(
            file=obj.document.source,
            document=obj.document.index,
            path=format_path(obj.base) or None,
            line=pos[0] if pos else None,
            column=pos[1] if pos else None,
        )
        require_identity(obj.data, location)
        out.append((copy.deepcopy(dict(obj.data)), location))
    return out


def intent_versions(doc: Document | None) -> tuple[str | None, str | None]:
    """The intent's ``spec.versions`` (KubeVirt, SpiderPool), each None when not given."""
    spec = doc.data.get("spec") if doc is not None and isinstance(doc.data, dict) else None
    versions = spec.get("versions") if isinstance(spec, dict) else None
    if not isinstance(versions, dict):
        return None, None
    kv, sp = versions.get("kubevirt"), versions.get("spiderpool")
    return (kv if isinstance(kv, str) else None, sp if isinstance(sp, str) else None)


def render_intent(doc: Document, label: str, password: str | None, versions: ChosenVersions, namespace: str) -> Input:
    """The intent rendered exactly as `virtnet render` renders it, for ``versions`` (a version not chosen: the
    intent's own); the bundle's objects are the documents of ``<label> (rendered)``. Plan errors are placed in the
    intent's file."""
    bundle = render_document(with_versions(doc, versions.kubevirt.version, versions.spiderpool.version), password)
    name = f"{label} (rendered)"
    documents = tuple(Document(data=obj, source=name, index=i) for i, obj in enumerate(bundle.objects))
    return Input(documents, tuple(input_objects(documents, namespace)), bundle.warnings)


def lint_input(documents: Sequence[Document], versions: ChosenVersions, namespace: str) -> LintResult:
    """Lint what is about to be applied, for the versions chosen (a version not chosen: lint's own detection)."""
    options = LintOptions(
        kubevirt_version=versions.kubevirt.version,
        spiderpool_version=versions.spiderpool.version,
        default_namespace=namespace,
        versions_from=versions.sentence(APPLY_WORDING),
    )
    return lint(documents, options)
