"""CRD ``openAPIV3Schema`` → the JSON Schema files kubeconform reads, written for ``kubeconform -strict``.

    .venv/bin/python bench/kubeconform_schemas.py OUT_DIR CRD_FILE...

One file per served version: ``OUT_DIR/<group>/<kind lower-case>_<version>.json``, found by kubeconform with
``-schema-location 'OUT_DIR/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'``.

What the conversion does (the same translation kubeconform's openapi2jsonschema.py makes, written here from the
OpenAPI / JSON Schema rules, not copied):

- every object schema that declares ``properties`` and says nothing about other fields gets
  ``additionalProperties: false`` — that is what makes ``-strict`` refuse unknown fields (kubeconform's ``-strict``
  only rejects what the schema rejects);
- ``x-kubernetes-preserve-unknown-fields: true`` keeps unknown fields allowed there (and below, for fields the
  schema does not declare), as the API server does;
- ``x-kubernetes-int-or-string: true`` becomes ``anyOf: [{type: integer}, {type: string}]``;
- ``nullable: true`` adds ``"null"`` to the type;
- ``format: int32``/``int64``/… are dropped (JSON Schema validators do not know them; the API server ignores them);
- the root gets ``apiVersion``/``kind`` as strings and ``metadata`` as an object when the CRD omits them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

_DROP_FORMATS = {"int32", "int64", "float", "double", "byte", "binary", "int-or-string"}


def convert(schema: Any, preserve: bool = False) -> Any:
    """One OpenAPI v3 (structural) schema node as JSON Schema draft 7 (kubeconform's validator accepts it)."""
    if isinstance(schema, list):
        return [convert(s, preserve) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    keep_unknown = preserve or schema.get("x-kubernetes-preserve-unknown-fields") is True
    for key, value in schema.items():
        if key in (
            "description",
            "x-kubernetes-preserve-unknown-fields",
            "x-kubernetes-int-or-string",
            "x-kubernetes-embedded-resource",
            "x-kubernetes-list-type",
            "x-kubernetes-list-map-keys",
            "x-kubernetes-map-type",
            "x-kubernetes-validations",
            "nullable",
            "example",
            "externalDocs",
        ):
            continue  # fmt: skip
        if key == "format" and value in _DROP_FORMATS:
            continue
        if key == "properties":
            out[key] = {name: convert(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = convert(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [convert(s) for s in value]
        else:
            out[key] = value
    if schema.get("x-kubernetes-int-or-string") is True:
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}, *out.get("anyOf", [])]
    if schema.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if "properties" in out and "additionalProperties" not in out and not keep_unknown:
        out["additionalProperties"] = False
    return out


def crd_schemas(crd: dict[str, Any]) -> Iterable[tuple[str, str, str, dict[str, Any]]]:
    """(group, kind, version, JSON Schema) of every version of a CustomResourceDefinition."""
    spec = crd["spec"]
    group, kind = spec["group"], spec["names"]["kind"]
    for version in spec.get("versions", []):
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if not schema:
            continue
        converted = convert(schema)
        props = converted.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
        converted.setdefault("additionalProperties", False)
        converted["$schema"] = "http://json-schema.org/draft-07/schema#"
        yield group, kind, version["name"], converted


def write_schemas(out_dir: Path, crd_files: Iterable[Path]) -> list[Path]:
    written: list[Path] = []
    for file in crd_files:
        for doc in yaml.safe_load_all(file.read_text()):
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            for group, kind, version, schema in crd_schemas(doc):
                path = out_dir / group / f"{kind.lower()}_{version}.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(schema, indent=1, sort_keys=True))
                written.append(path)
    return written


def location(out_dir: Path) -> str:
    """The ``-schema-location`` template for ``out_dir``."""
    return f"{out_dir}/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json"


if __name__ == "__main__":
    for written in write_schemas(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]):
        print(written)
