"""Writing results: bundles to stdout or a directory, tables for humans."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from virtnet.errors import InputError, Location
from virtnet.formats.yamlio import as_list, dump_json, dump_yaml, dump_yaml_stream
from virtnet.render.bundle import PATCH_TYPE_ANNOTATION


def emit_objects(objects: Sequence[dict[str, Any]], output: str, out_dir: str | None) -> None:
    """Print the objects as one stream, or write one file per object into ``out_dir`` (apply order in names)."""
    if out_dir is None:
        click.echo(dump_json(as_list(objects)) if output == "json" else dump_yaml_stream(objects), nl=False)
        return
    directory = Path(out_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the output directory: {err.strerror}", Location(file=out_dir)) from None
    ext = "json" if output == "json" else "yaml"
    written: list[str] = []
    for i, obj in enumerate(objects, start=1):
        kind = obj["kind"].lower()
        name = re.sub(r"[^a-z0-9.-]+", "-", obj["metadata"]["name"].lower())
        folder = directory
        if PATCH_TYPE_ANNOTATION in obj["metadata"].get("annotations", {}):
            # patches (the KubeVirt CR change) go to patches/, which `kubectl apply -f DIR` does not read:
            # applying a partial KubeVirt object would replace its featureGates list
            folder = directory / "patches"
            folder.mkdir(exist_ok=True)
        path = folder / f"{i:02d}-{kind}-{name}.{ext}"
        text = dump_json(obj) if output == "json" else dump_yaml(obj)
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as err:
            raise InputError(f"cannot write: {err.strerror}", Location(file=str(path))) from None
        written.append(str(path))
    for path_text in written:
        click.echo(path_text)


def warn(message: str) -> None:
    click.secho(f"warning: {message}", fg="yellow", err=True)


def note(message: str) -> None:
    click.echo(f"note: {message}", err=True)
