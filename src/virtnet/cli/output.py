"""Writing results: bundles to stdout or a directory, tables for humans."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from virtnet.errors import InputError, Location
from virtnet.formats.yamlio import as_list, dump_json, dump_yaml, dump_yaml_stream, load_documents
from virtnet.render.bundle import MANAGED_BY, is_kubevirt_change

PATCHES = "patches"
# How virtnet names the files of a bundle in --out-dir: apply order, kind, name.
_BUNDLE_FILE = re.compile(r"^\d{2,}-[a-z0-9]+-[a-z0-9.-]+\.(yaml|json)$")
_LISTED = 5


def emit_objects(
    objects: Sequence[dict[str, Any]],
    output: str,
    out_dir: str | None,
    *,
    include_patches: bool = True,
    patch_comment: str | None = None,
) -> None:
    """Print the objects as one stream, or write one file per object into ``out_dir`` (apply order in names).

    A KubeVirt CR change (a partial object, a merge patch) is printed only with ``include_patches`` and written to
    ``out_dir/patches/``, which `kubectl apply -f DIR` (not recursive) does not read; ``patch_comment`` heads that
    file (YAML only) and says how to apply it.
    """
    if out_dir is None:
        shown = [o for o in objects if include_patches or not is_kubevirt_change(o)]
        click.echo(dump_json(as_list(shown)) if output == "json" else dump_yaml_stream(shown), nl=False)
        return
    directory = Path(out_dir)
    earlier = _earlier_bundle(directory, out_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the output directory: {err.strerror}", Location(file=out_dir)) from None
    ext = "json" if output == "json" else "yaml"
    written: list[str] = []
    for i, obj in enumerate(objects, start=1):
        kind = obj["kind"].lower()
        name = re.sub(r"[^a-z0-9.-]+", "-", obj["metadata"]["name"].lower())
        relative = f"{i:02d}-{kind}-{name}.{ext}"
        text = dump_json(obj) if output == "json" else dump_yaml(obj)
        if is_kubevirt_change(obj):
            # applying a partial KubeVirt object would replace its featureGates list: keep it where
            # `kubectl apply -f DIR` does not look
            relative = f"{PATCHES}/{relative}"
            if patch_comment and output != "json":
                text = "".join(f"# {line}".rstrip() + "\n" for line in patch_comment.splitlines()) + text
        path = directory / relative
        try:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as err:
            raise InputError(f"cannot write: {err.strerror}", Location(file=str(path))) from None
        written.append(relative)
    stale = [r for r in earlier if r not in written]
    for relative in stale:
        (directory / relative).unlink(missing_ok=True)
    patches = directory / PATCHES
    if patches.is_dir() and not any(patches.iterdir()):
        patches.rmdir()
    for relative in written:
        click.echo(str(directory / relative))
    if stale:
        click.echo(
            f"virtnet: replaced the bundle virtnet wrote to {out_dir} before; removed what this bundle does not "
            f"have: {', '.join(stale)}",
            err=True,
        )


def check_out_dir(out_dir: str | None) -> None:
    """Refuse (exit 2) an --out-dir that holds files virtnet did not write, before anything else is said or done."""
    if out_dir is not None:
        _earlier_bundle(Path(out_dir), out_dir)


def _earlier_bundle(directory: Path, out_dir: str) -> list[str]:
    """The files of a bundle virtnet wrote into ``directory`` before (relative paths); refuses (exit 2) a directory
    that holds anything else, so an earlier render is never silently mixed with this one.

    virtnet's own file: named ``NN-kind-name.yaml|json``, one object, labelled app.kubernetes.io/managed-by: virtnet
    (the KubeVirt CR change, which has no labels: in ``patches/``, a KubeVirt object).
    """
    if not directory.exists():
        return []
    if not directory.is_dir():
        raise InputError("exists and is not a directory", Location(file=out_dir, path="--out-dir"))
    ours: list[str] = []
    foreign: list[str] = []
    for entry in sorted(directory.iterdir()):
        if entry.name == PATCHES and entry.is_dir():
            for sub in sorted(entry.iterdir()):
                relative = f"{PATCHES}/{sub.name}"
                (ours if _written_by_virtnet(sub, patch=True) else foreign).append(relative)
        else:
            relative = entry.name + ("/" if entry.is_dir() else "")
            (ours if _written_by_virtnet(entry, patch=False) else foreign).append(relative)
    if foreign:
        more = len(foreign) - _LISTED
        listed = ", ".join(foreign[:_LISTED]) + (f" and {more} more" if more > 0 else "")
        raise InputError(
            f"holds files virtnet did not write ({listed}); write the bundle into an empty or new directory "
            "(virtnet replaces only a bundle it wrote there itself)",
            Location(file=out_dir, path="--out-dir"),
        )
    return ours


def _written_by_virtnet(path: Path, *, patch: bool) -> bool:
    if not _BUNDLE_FILE.match(path.name) or not path.is_file():
        return False
    try:
        documents = load_documents(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, InputError):
        return False
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        return False
    obj = documents[0].data
    if patch:
        return is_kubevirt_change(obj)
    metadata = obj.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    return isinstance(labels, dict) and all(labels.get(k) == v for k, v in MANAGED_BY.items())


def warn(message: str) -> None:
    click.secho(f"warning: {message}", fg="yellow", err=True)


def note(message: str) -> None:
    click.echo(f"note: {message}", err=True)
