"""Structural CRD schemas reduced to what validation needs, and their compact encoding.

Used twice: by ``hack/schemas/generate.py`` to write the shipped data (strictly: an unsupported construct stops the
generator) and by ``virtnet lint --cluster`` for the CRDs read from a cluster (leniently: an unsupported construct
is left out and reported, never raised).

What is kept is what kube-apiserver's custom-resource handler uses to accept or refuse an object
(k8s.io/apiextensions-apiserver@v0.35.4: pkg/apiserver/schema/pruning for unknown fields,
pkg/apiserver/schema/defaulting for nulls and defaults, pkg/apiserver/validation for the OpenAPI checks,
pkg/apiserver/schema/listtype for list-type set/map, pkg/apiserver/schema/cel for x-kubernetes-validations):
types, nullable, properties/additionalProperties/items, required, enum, pattern, the formats the API server
validates, numeric and length bounds, defaults, and the x-kubernetes-* extensions that change acceptance.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

FORMAT = 1

SCALAR_KEYWORDS = frozenset(
    {
        "type",
        "nullable",
        "enum",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "uniqueItems",
        "multipleOf",
        "required",
        "default",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-int-or-string",
        "x-kubernetes-embedded-resource",
        "x-kubernetes-list-map-keys",
    }
)
# Documentation, and keywords that do not change whether an object is accepted.
DROPPED = frozenset({"description", "title", "example", "externalDocs", "x-kubernetes-map-type"})
# Formats kube-apiserver validates (k8s.io/apiextensions-apiserver@v0.35.4 pkg/apiserver/validation/formats.go
# supportedVersionedFormats; compared without "-", as go-openapi normalizes names). Every other format is stripped by
# the API server before validation.
SUPPORTED_FORMATS = frozenset(
    {
        "bsonobjectid",
        "uri",
        "email",
        "hostname",
        "ipv4",
        "ipv6",
        "cidr",
        "mac",
        "uuid",
        "uuid3",
        "uuid4",
        "uuid5",
        "isbn",
        "isbn10",
        "isbn13",
        "creditcard",
        "ssn",
        "hexcolor",
        "rgbcolor",
        "byte",
        "password",
        "date",
        "duration",
        "datetime",
        "k8sshortname",
        "k8slongname",
    }
)
# Formats virtnet's validator implements. int32/int64 are ignored by the API server, but kept: KubeVirt's and
# SpiderPool's admission webhooks decode objects into Go int32/int64 fields and refuse values out of range.
IMPLEMENTED_FORMATS = frozenset({"date-time", "int32", "int64"})
# x-kubernetes-validations (CEL) rules virtnet implements (the only ones in the shipped schemas: KubeVirt v1.8+).
IMPLEMENTED_CEL = frozenset({"self.startsWith('/')", "!self.contains('..')", "self == true"})


class UnsupportedSchemaError(Exception):
    """A construct the validator does not implement (the generator stops on it)."""


def strip(node: Any, where: str, *, strict: bool = True, dropped: list[str] | None = None) -> dict[str, Any]:
    """The structural schema ``node`` with only what validation needs.

    ``strict``: raise :class:`UnsupportedSchemaError` on a construct virtnet does not implement; otherwise leave it out
    and append a sentence to ``dropped`` (for schemas read from a cluster).
    """

    def unsupported(message: str) -> None:
        if strict:
            raise UnsupportedSchemaError(f"{where}: {message}")
        if dropped is not None:
            dropped.append(f"{where or '<root>'}: {message} (not checked)")

    if not isinstance(node, Mapping):
        raise UnsupportedSchemaError(f"{where}: a schema must be an object")
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROPPED:
            continue
        if key == "properties":
            out[key] = {
                name: strip(sub, f"{where}.{name}" if where else name, strict=strict, dropped=dropped)
                for name, sub in sorted(value.items())
            }
        elif key == "items":
            if isinstance(value, Mapping):
                out[key] = strip(value, f"{where}[]", strict=strict, dropped=dropped)
            else:
                unsupported("tuple items are not structural")
        elif key == "additionalProperties":
            if isinstance(value, Mapping):
                out[key] = strip(value, f"{where}.*", strict=strict, dropped=dropped)
            elif value is False:
                out[key] = False
            else:
                unsupported("additionalProperties: true is not structural")
        elif key == "anyOf":
            types = sorted(str(x.get("type")) for x in value if isinstance(x, Mapping))
            if not node.get("x-kubernetes-int-or-string") or types != ["integer", "string"]:
                unsupported(f"anyOf other than the one of x-kubernetes-int-or-string: {value}")
        elif key == "format":
            name = str(value)
            if name.replace("-", "") in SUPPORTED_FORMATS or name in ("int32", "int64"):
                if name in IMPLEMENTED_FORMATS:
                    out[key] = name
                else:
                    unsupported(f"format {name!r} is validated by kube-apiserver but not by virtnet")
        elif key == "x-kubernetes-list-type":
            if value in ("set", "map"):
                out[key] = value
        elif key == "x-kubernetes-validations":
            rules = []
            for rule in value:
                if not isinstance(rule, Mapping) or rule.get("rule") not in IMPLEMENTED_CEL:
                    unsupported(f"x-kubernetes-validations rule not implemented by virtnet: {rule}")
                    continue
                rules.append({"rule": rule["rule"], "message": str(rule.get("message") or "")})
            if rules:
                out[key] = rules
        elif key in SCALAR_KEYWORDS:
            out[key] = sorted(value) if key == "required" else value
        else:
            unsupported(f"schema keyword {key!r} is not supported")
    return out


class Nodes:
    """Identical sub-schemas stored once: schema-valued keywords refer to a node by its index (children first)."""

    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self._index: dict[str, int] = {}

    def add(self, schema: Mapping[str, Any]) -> int:
        encoded: dict[str, Any] = {}
        for key, value in schema.items():
            if key == "properties":
                encoded[key] = {name: self.add(sub) for name, sub in value.items()}
            elif key == "items" or (key == "additionalProperties" and isinstance(value, Mapping)):
                encoded[key] = self.add(value)
            else:
                encoded[key] = value
        text = json.dumps(encoded, sort_keys=True, separators=(",", ":"))
        found = self._index.get(text)
        if found is None:
            found = self._index[text] = len(self.nodes)
            self.nodes.append(encoded)
        return found


def decode(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The schemas of an encoded node table (identical sub-schemas are the same dict objects)."""
    built: list[dict[str, Any]] = []
    for node in nodes:
        out = dict(node)
        props = node.get("properties")
        if props is not None:
            out["properties"] = {name: built[i] for name, i in props.items()}
        items = node.get("items")
        if items is not None:
            out["items"] = built[items]
        extra = node.get("additionalProperties")
        if isinstance(extra, int) and not isinstance(extra, bool):
            out["additionalProperties"] = built[extra]
        built.append(out)
    return built
