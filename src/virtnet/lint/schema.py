"""Structural-schema validation of custom resources, as kube-apiserver applies it with ``fieldValidation=Strict``.

Pure: objects (plain dicts) and schemas (:class:`virtnet.schemas.KindSchema`) in, :class:`SchemaError` values out.

What the API server does with a custom resource, and what this module mirrors (k8s.io/apiextensions-apiserver@v0.35.4,
k8s.io/kube-openapi@v0.0.0-20250910181357, k8s.io/apimachinery@v0.35.4):

1. **Unknown fields** (``pkg/apiserver/schema/pruning/algorithm.go``): every field the schema does not declare is
   pruned — and refused with ``strict decoding error: unknown field "spec.x"`` under ``fieldValidation=Strict`` (the
   kubectl default). ``x-kubernetes-preserve-unknown-fields`` keeps unknown fields below it (its declared
   properties are still pruned, and so are the items of arrays below it); ``x-kubernetes-embedded-resource`` and the
   object root allow ``apiVersion``/``kind``/``metadata``; ``metadata`` is decoded strictly into ObjectMeta
   (``pkg/apiserver/schema/objectmeta/coerce.go``), so ``metadata.foo`` is unknown too.
2. **Nulls and defaults** (``pkg/apiserver/schema/defaulting``): a null field that is not ``nullable`` is dropped
   (or defaulted when it has a ``default``); a missing field with a ``default`` is set before validation.
3. **OpenAPI validation** (``pkg/apiserver/validation/validation.go`` over kube-openapi ``validate``): type
   (integer / number / string / boolean / object / array; ``x-kubernetes-int-or-string``; ``nullable``), enum,
   required, pattern, maxLength / minLength, minimum / maximum, maxItems / minItems, the ``date-time`` format (the
   only format the API server validates that the shipped schemas use; int32/int64 are stripped by the API server).
   Messages are rendered as the API server renders its ``field.Error`` values.
4. **List types** (``pkg/apiserver/schema/listtype/validation.go``): ``x-kubernetes-list-type: set`` / ``map``
   items must be unique (by value / by their map keys).
5. **CEL rules** (``x-kubernetes-validations``): the three rules the shipped schemas use (KubeVirt v1.8+).

Beyond the API server: ``format: int32`` / ``int64`` ranges. The API server ignores these formats, but KubeVirt's and
SpiderPool's admission webhooks decode objects into Go int32/int64 fields and refuse values that do not fit.

Kinds with a ``status`` subresource drop ``status`` on create (``pkg/registry/customresource/strategy.go``
PrepareForCreate) after decoding: only unknown fields count there.

Speed: each schema is compiled once per process into a JSON Schema (draft 2020-12) that accepts exactly what the
API server accepts, or less — never more — and checked with ``jsonschema_rs`` (a compiled Rust validator); only
objects it rejects go through the precise walk below, which produces the API-server-style messages. Where the
JSON Schema cannot express a check exactly (list-map key uniqueness, a date-time's calendar), it is stricter and
leaves the verdict to the precise walk. Without ``jsonschema_rs`` every object takes the precise walk.
"""

from __future__ import annotations

import difflib
import importlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any, Protocol

from virtnet.formats.yamlio import format_path
from virtnet.lint.objects import LintObject, Path
from virtnet.model.versions import TargetVersions
from virtnet.schemas import KindSchema, SchemaSet, choose, load, shipped

_jsonschema_rs: Any
try:  # a compiled validator for the fast path; the precise walk alone is correct, only slower
    _jsonschema_rs = importlib.import_module("jsonschema_rs")
except ImportError:  # pragma: no cover - exercised only where no wheel exists
    _jsonschema_rs = None

Schema = Mapping[str, Any]

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
MAX_JSON_INTEGER = 2**53  # go-openapi swag.IsFloat64AJSONInteger: larger floats are not integers
META_FIELDS = ("apiVersion", "kind", "metadata")

# What kube-apiserver decodes ``metadata`` into (k8s.io/apimachinery@v0.35.4 pkg/apis/meta/v1/types.go ObjectMeta,
# OwnerReference, ManagedFieldsEntry; sigs.k8s.io/json strict decoding is case-sensitive): field -> Go type, a
# 1-tuple for a list of a nested struct. Both request paths refuse a value of another JSON type ("json: cannot
# unmarshal number into Go struct field ObjectMeta.labels of type string"); null is always accepted.
GoStruct = Mapping[str, "GoField"]
GoField = str | tuple[GoStruct]  # "string", "int64", "Time", "map[string]string", …, or (struct,): a list of structs
_OWNER_REFERENCE: GoStruct = {
    "apiVersion": "string",
    "kind": "string",
    "name": "string",
    "uid": "string",
    "controller": "bool",
    "blockOwnerDeletion": "bool",
}
_MANAGED_FIELDS: GoStruct = {
    "manager": "string",
    "operation": "string",
    "apiVersion": "string",
    "time": "Time",
    "fieldsType": "string",
    "fieldsV1": "raw",
    "subresource": "string",
}
OBJECT_META: GoStruct = {
    "name": "string",
    "generateName": "string",
    "namespace": "string",
    "selfLink": "string",
    "uid": "string",
    "resourceVersion": "string",
    "generation": "int64",
    "creationTimestamp": "Time",
    "deletionTimestamp": "Time",
    "deletionGracePeriodSeconds": "int64",
    "labels": "map[string]string",
    "annotations": "map[string]string",
    "ownerReferences": (_OWNER_REFERENCE,),
    "finalizers": "[]string",
    "managedFields": (_MANAGED_FIELDS,),
}
_GO_JSON_KIND = {
    "string": "string",
    "integer": "number",
    "number": "number",
    "boolean": "bool",
    "array": "array",
    "object": "object",
}


# x-kubernetes-validations rules implemented (virtnet.schemas.structural.IMPLEMENTED_CEL): rule -> (CEL type of
# ``self``, check on a value of that type).
CEL_RULES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "self.startsWith('/')": ("string", lambda v: v.startswith("/")),
    "!self.contains('..')": ("string", lambda v: ".." not in v),
    "self == true": ("boolean", lambda v: v is True),
}


@dataclass(frozen=True)
class SchemaError:
    """One refusal: the field, the API server's message, whether it is an unknown field, and a fix."""

    path: Path
    message: str
    unknown: bool = False  # an unknown field (refused with fieldValidation=Strict, silently dropped without)
    fix: str | None = None


# --- helpers: paths, values and messages as the API server prints them ----------------------------------------------

# ``("spec", "nics", 0, "name")`` → ``spec.nics[0].name``: k8s.io/apimachinery field.Path.String spells a path as
# virtnet's own messages do
field_path = format_path


def _go_float(v: float) -> str:
    """Go's %v of a float64 (strconv 'g' with the shortest representation, exponent at >= 1e21 / < 1e-4)."""
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if math.isnan(v):
        return "NaN"
    if v == int(v) and abs(v) < 1e21:
        return str(int(v))
    text = repr(v)
    if "e" in text:
        mantissa, exp = text.split("e")
        sign = "-" if exp.startswith("-") else "+"
        digits = exp.lstrip("+-").rjust(2, "0")
        return f"{mantissa}e{sign}{digits}"
    return text


def _go_json(v: object) -> str:
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def go_value(v: object) -> str:
    """A bad value as ``field.Error`` prints it: numbers and booleans plain, strings quoted, the rest as JSON."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _go_float(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return _go_json(v)


def json_type(v: object) -> str:
    """The JSON type name kube-openapi infers from a decoded value (integers beyond int64 decode as float64)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer" if INT64[0] <= v <= INT64[1] else "number"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, Mapping):
        return "object"
    return type(v).__name__


def _types(s: Schema) -> tuple[str, ...]:
    if s.get("x-kubernetes-int-or-string"):
        return ("integer", "string")
    t = s.get("type")
    return (t,) if isinstance(t, str) and t else ()


def _type_ok(v: object, actual: str, types: tuple[str, ...]) -> bool:
    if actual in types:
        return True
    if actual == "integer" and "number" in types:
        return True
    # go-openapi: a float that is a JSON integer (integral, |f| <= 2^53) satisfies "integer"; an int beyond int64
    # (also a "number") is beyond 2^53 and never does
    return (
        actual == "number"
        and "integer" in types
        and isinstance(v, float)
        and v.is_integer()
        and abs(v) <= MAX_JSON_INTEGER
    )


def _enum_match(v: object, e: object) -> bool:
    """kube-openapi's enum check: the value converted to the enum value's Go type, then DeepEqual."""
    if isinstance(e, bool) or isinstance(v, bool):
        return isinstance(e, bool) and isinstance(v, bool) and e is v
    if isinstance(e, int) and isinstance(v, (int, float)):
        return int(v) == e if not (isinstance(v, float) and not math.isfinite(v)) else False
    if isinstance(e, float) and isinstance(v, (int, float)):
        return float(v) == e
    if isinstance(e, str):
        return isinstance(v, str) and v == e  # Go converts an int to a one-rune string: never equal to "4"
    return bool(v == e)


def ascii_classes(pattern: str) -> str:
    """``\\d``, ``\\w`` and ``\\s`` with RE2's ASCII meaning, spelled out (Go's regexp is RE2; other engines read
    these as Unicode classes)."""
    spell = {"d": "0-9", "w": "0-9A-Za-z_", "s": "\\t\\n\\f\\r "}
    negated = {"D": "d", "W": "w", "S": "s"}
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            n = pattern[i + 1]
            if n in spell:
                out.append(spell[n] if in_class else f"[{spell[n]}]")
            elif n in negated and not in_class:
                out.append(f"[^{spell[negated[n]]}]")
            else:
                out.append(c + n)
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
        elif c == "]" and in_class:
            in_class = False
        out.append(c)
        i += 1
    return "".join(out)


_DATE_TIME = re.compile(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$")
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_date_time(text: str) -> bool:
    """kube-openapi strfmt.IsDateTime: a valid full-date, ``t`` (any case), then hh:mm:ss[.frac](z|±hh:mm)."""
    if len(text) < 4:
        return False
    parts = text.lower().split("t")
    if len(parts) < 2 or not _is_date(parts[0]):
        return False
    m = _DATE_TIME.match(parts[1])
    return m is not None and m.group(1) <= "23" and m.group(2) <= "59" and m.group(3) <= "59"


def _is_date(text: str) -> bool:
    """Go time.Parse("2006-01-02", text)."""
    m = re.fullmatch(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", text)
    if m is None:
        return False
    year, month, day = (int(x) for x in m.groups())
    if not 1 <= month <= 12 or day < 1:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return day <= (29 if month == 2 and leap else 28 if month == 2 else _DAYS[month - 1])


# A subset of what is_date_time accepts (days 29-31 go to the precise check): the fast path may refuse more, never less.
_DATE_TIME_FAST = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


def suggest(key: str, known: Sequence[str]) -> str | None:
    """The known sibling field a typo most likely meant: same letters in another case first, then difflib."""
    lower = key.lower()
    for k in known:
        if k.lower() == lower:
            return k
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
    if close:
        return close[0]
    # case-insensitive similarity catches "mac_address", "vlanid"
    folded = {k.lower().replace("_", "").replace("-", ""): k for k in known}
    close = difflib.get_close_matches(lower.replace("_", "").replace("-", ""), list(folded), n=1, cutoff=0.75)
    return folded[close[0]] if close else None


# --- the precise walk ------------------------------------------------------------------------------------------------


class _Walk:
    def __init__(self, status_subresource: bool, webhook: str, release: str = "the schema") -> None:
        self.errors: list[SchemaError] = []
        self.status_subresource = status_subresource
        self.webhook = webhook
        self.release = release
        self._patterns: dict[str, re.Pattern[str] | None] = {}

    # 1. unknown fields, as pruning finds them ---------------------------------------------------------------------

    def unknown(self, x: object, s: Schema | None, path: Path, *, skip: bool = False, embedded: bool = False) -> None:
        if s is not None and s.get("x-kubernetes-preserve-unknown-fields"):
            skip = True
        embedded = embedded or bool(s is not None and s.get("x-kubernetes-embedded-resource"))
        if isinstance(x, Mapping):
            if s is None:
                if not skip:
                    for k in x:
                        self._unknown(path, str(k), ())
                return
            props: Mapping[str, Schema] = s.get("properties") or {}
            extra = s.get("additionalProperties")
            for k, v in x.items():
                if embedded and k in META_FIELDS:
                    if k == "metadata":
                        self.object_meta(v, (*path, "metadata"))
                    continue
                sub = props.get(k)
                if sub is not None:
                    self.unknown(v, sub, (*path, k))
                elif isinstance(extra, Mapping):
                    self.unknown(v, extra, (*path, k))
                elif not skip:
                    self._unknown(path, str(k), tuple(props))
        elif isinstance(x, list):
            items = s.get("items") if s is not None else None
            if skip and items is None:
                return
            for i, v in enumerate(x):
                self.unknown(v, items, (*path, i), skip=skip)

    def object_meta(self, meta: object, path: Path, struct: GoStruct = OBJECT_META, go: str = "ObjectMeta") -> None:
        """Unknown fields and JSON types of ``metadata`` as Go's strict decoding into ObjectMeta finds them."""
        if not isinstance(meta, Mapping):
            return
        for k, v in meta.items():
            if k not in struct:
                self._unknown(path, str(k), tuple(struct))
                continue
            go_type = struct[k]
            if isinstance(go_type, tuple):
                if isinstance(v, list):
                    for i, item in enumerate(v):
                        if item is not None and not isinstance(item, Mapping):
                            self._go_type((*path, k, i), item, f"{go}.{k}", "object")
                        else:
                            inner = "OwnerReference" if k == "ownerReferences" else "ManagedFieldsEntry"
                            self.object_meta(item, (*path, k, i), go_type[0], inner)
                elif v is not None:
                    self._go_type((*path, k), v, f"{go}.{k}", "array")
            elif go_type in ("map[string]string", "[]string"):
                container, element = (Mapping, "string") if go_type.startswith("map") else (list, "string")
                if v is None:
                    continue
                if not isinstance(v, container):
                    self._go_type((*path, k), v, f"{go}.{k}", go_type)
                    continue
                pairs = v.items() if isinstance(v, Mapping) else enumerate(v)
                for key, item in pairs:
                    if item is not None and not isinstance(item, str):
                        self._go_type((*path, k, key), item, f"{go}.{k}", element)
            elif v is not None and not _go_fits(v, go_type):
                self._go_type((*path, k), v, f"{go}.{k}", go_type)

    def _go_type(self, path: Path, v: object, go_field: str, go_type: str) -> None:
        kind = _GO_JSON_KIND.get(json_type(v), json_type(v))
        self.errors.append(
            SchemaError(
                path,
                f"{field_path(path)}: json: cannot unmarshal {kind} into Go struct field {go_field} of type {go_type}",
                fix=f"write a {'string' if go_type in ('string', 'map[string]string', '[]string') else go_type}"
                + (
                    " (quote it)" if go_type in ("string", "map[string]string", "[]string") and kind != "object" else ""
                ),
            )
        )

    def _unknown(self, parent: Path, key: str, known: Sequence[str]) -> None:
        path = (*parent, key)
        hint = suggest(key, known) if known else None
        where = field_path(parent) or "the object's top level"
        if hint is not None:
            fix = f"did you mean '{hint}'?"
        elif known:
            listed = ", ".join(sorted(known)[:12]) + (", …" if len(known) > 12 else "")
            fix = f"Remove it: {self.release} has no field '{key}' in {where} (known there: {listed})."
        else:
            fix = f"Remove it: {self.release} declares no fields in {where}."
        self.errors.append(SchemaError(path, f'unknown field "{field_path(path)}"', unknown=True, fix=fix))

    # 2-5. values, on the object as pruned and defaulted ------------------------------------------------------------

    def _add(self, path: Path, body: str, fix: str | None = None) -> None:
        self.errors.append(SchemaError(path, f"{field_path(path)}: {body}", fix=fix))

    def value(self, v: object, s: Schema, path: Path) -> None:
        name = field_path(path)
        types = _types(s)
        fmt = s.get("format")
        if v is None:
            if types and "null" not in types and not s.get("nullable"):
                self._add(
                    path,
                    f'Invalid value: "null": {name} in body must be of type {",".join(types)}: "null"',
                    fix="remove the null (or the whole field): server-side apply refuses it (a client-side "
                    "`kubectl apply` drops it)",
                )
            self._enum(v, s, path)
            return
        actual = json_type(v)
        type_ok = not types or _type_ok(v, actual, types)
        if not type_ok:
            if fmt == "date-time" and actual not in ("string", "array"):
                detail = f"{name} in body must be of type date-time: {json.dumps(_go_format_name(v))}"
            else:
                detail = f'{name} in body must be of type {",".join(types)}: "{actual}"'
            self._add(path, f'Invalid value: "{actual}": {detail}', fix=_type_fix(v, types))
        self._enum(v, s, path)
        if isinstance(v, str):
            self._string(v, s, path, name)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            self._number(v, s, path, name, type_ok)
        elif isinstance(v, list):
            self._array(v, s, path, name)
        elif isinstance(v, Mapping):
            self._object(v, s, path, name)
        self._cel(v, s, path)

    def _enum(self, v: object, s: Schema, path: Path) -> None:
        enum = s.get("enum")
        if enum and not any(_enum_match(v, e) for e in enum):
            values = ", ".join(json.dumps(e if isinstance(e, str) else _go_json(e)) for e in enum)
            shown = ", ".join(e if isinstance(e, str) else _go_json(e) for e in enum)
            self._add(path, f"Unsupported value: {go_value(v)}: supported values: {values}", fix=f"use one of: {shown}")

    def _string(self, v: str, s: Schema, path: Path, name: str) -> None:
        max_length = s.get("maxLength")
        if max_length is not None and len(v) > max_length:
            unit = "byte" if max_length == 1 else "bytes"
            self._add(path, f"Too long: may not be more than {max_length} {unit}")
            return
        min_length = s.get("minLength")
        if min_length is not None and len(v) < min_length:
            self._add(path, f"Invalid value: {go_value(v)}: {name} in body should be at least {min_length} chars long")
            return
        pattern = s.get("pattern")
        if pattern is not None:
            compiled = self._pattern(pattern)
            if compiled is not None and compiled.search(v) is None:
                self._add(path, f"Invalid value: {go_value(v)}: {name} in body should match '{pattern}'")
                return
        if s.get("format") == "date-time" and not is_date_time(v):
            self._add(
                path,
                f"Invalid value: {go_value(v)}: {name} in body must be of type date-time: {json.dumps(v)}",
                fix="write an RFC 3339 date-time, e.g. 2024-05-01T12:00:00Z",
            )

    def _pattern(self, pattern: str) -> re.Pattern[str] | None:
        if pattern not in self._patterns:
            try:
                self._patterns[pattern] = re.compile(ascii_classes(pattern), re.ASCII)
            except re.error:
                self._patterns[pattern] = None  # RE2 syntax Python does not read: not checked
        return self._patterns[pattern]

    def _number(self, v: float, s: Schema, path: Path, name: str, type_ok: bool) -> None:
        shown = go_value(v)
        maximum = s.get("maximum")
        if maximum is not None:
            if s.get("exclusiveMaximum") is True and v >= maximum:
                self._add(path, f"Invalid value: {shown}: {name} in body should be less than {go_value(maximum)}")
            elif v > maximum:
                bound = go_value(maximum)
                self._add(path, f"Invalid value: {shown}: {name} in body should be less than or equal to {bound}")
        minimum = s.get("minimum")
        if minimum is not None:
            if s.get("exclusiveMinimum") is True and v <= minimum:
                self._add(path, f"Invalid value: {shown}: {name} in body should be greater than {go_value(minimum)}")
            elif v < minimum:
                bound = go_value(minimum)
                self._add(path, f"Invalid value: {shown}: {name} in body should be greater than or equal to {bound}")
        fmt = s.get("format")
        if type_ok and fmt in ("int32", "int64") and isinstance(v, int):
            lo, hi = INT32 if fmt == "int32" else INT64
            if not lo <= v <= hi:
                self._add(
                    path,
                    f"Invalid value: {shown}: {name} does not fit format {fmt} ({lo} to {hi}): the API server stores "
                    f"it, but {self.webhook} cannot decode it into its Go {fmt} field and refuses the object",
                )

    def _array(self, v: list[Any], s: Schema, path: Path, name: str) -> None:
        items = s.get("items")
        if isinstance(items, Mapping):
            for i, item in enumerate(v):
                self.value(item, items, (*path, i))
        min_items = s.get("minItems")
        if min_items is not None and len(v) < min_items:
            self._add(path, f"Invalid value: {len(v)}: {name} in body should have at least {min_items} items")
        max_items = s.get("maxItems")
        if max_items is not None and len(v) > max_items:
            self._add(
                path, f"Too many: {len(v)}: must have at most {max_items} {'item' if max_items == 1 else 'items'}"
            )
        list_type = s.get("x-kubernetes-list-type")
        if list_type == "set":
            self._duplicates(path, v, v)
        elif list_type == "map":
            for i, item in enumerate(v):
                if item is not None and not isinstance(item, Mapping):
                    self._add(
                        (*path, i), f"Invalid value: {go_value(item)}: must be an object for an array of list-type map"
                    )
                    return
            keys = s.get("x-kubernetes-list-map-keys") or []
            key_values = [{k: item[k] for k in keys if k in item} if isinstance(item, Mapping) else {} for item in v]
            self._duplicates(path, key_values, key_values)

    def _duplicates(self, path: Path, values: list[Any], shown: list[Any]) -> None:
        seen: dict[str, int] = {}
        for i, x in enumerate(values):
            key = json.dumps([json_type(x), x], sort_keys=True) if not isinstance(x, (dict, list)) else _go_json(x)
            seen[key] = seen.get(key, 0) + 1
            if seen[key] == 2:
                self._add((*path, i), f"Duplicate value: {go_value(shown[i])}", fix="remove the duplicate")

    def _object(self, v: Mapping[str, Any], s: Schema, path: Path, name: str) -> None:
        props: Mapping[str, Schema] = s.get("properties") or {}
        extra = s.get("additionalProperties")
        root = not path
        for k, item in v.items():
            if root and k in META_FIELDS:
                sub = props.get(k)
                if k != "metadata" and sub is not None and item is not None:
                    self.value(item, sub, (k,))
                continue  # metadata: decoded into ObjectMeta (object_meta)
            sub = props.get(k)
            if sub is None:
                sub = extra if isinstance(extra, Mapping) else None
            if sub is None:
                continue  # pruned (reported as unknown)
            if root and k == "status" and self.status_subresource:
                self.typed(item, sub, ("status",))
                continue
            if item is None and not sub.get("nullable"):
                if "default" in sub:
                    continue  # both request paths set the default
                if _types(sub):
                    # server-side apply keeps the null and refuses it; create/update drops it (then: required?)
                    self.value(None, sub, (*path, k))
                continue
            self.value(item, sub, (*path, k))
        for k in s.get("required") or ():
            sub = props.get(k) or {}
            if "default" in sub:
                continue  # defaulted before validation
            if k not in v or (v[k] is None and not sub.get("nullable") and not _types(sub)):
                self._add((*path, k), "Required value", fix=f"add {k}: {name or 'the object'} requires it")
        min_props, max_props = s.get("minProperties"), s.get("maxProperties")
        if max_props is not None and len(v) > max_props:
            self._add(path, f"Too many: {len(v)}: must have at most {max_props} items")
        if min_props is not None and len(v) < min_props:
            self._add(path, f"Invalid value: {len(v)}: {name} in body should have at least {min_props} properties")

    def typed(self, x: object, s: Schema | None, path: Path) -> None:
        """``status`` of a kind with a status subresource: create drops it, server-side apply first converts it to a
        typed value (sigs.k8s.io/structured-merge-diff: string / boolean / numeric / map / list; int-or-string and
        untyped nodes take anything; null always) and refuses what does not fit."""
        if x is None or s is None or s.get("x-kubernetes-int-or-string"):
            return
        want = _SMD_KIND.get(str(s.get("type")))
        got = _smd_kind(x)
        if want is not None and got != want:
            self.errors.append(
                SchemaError(
                    path,
                    f"{field_path(path)}: expected {want}, got {json_type(x)} {go_value(x)}: server-side apply "
                    "refuses it (a create drops status)",
                    fix=f"write a {want} value, or leave status out: the controller writes it",
                )
            )
            return
        if isinstance(x, Mapping):
            props: Mapping[str, Schema] = s.get("properties") or {}
            extra = s.get("additionalProperties")
            for k, item in x.items():
                sub = props.get(k) or (extra if isinstance(extra, Mapping) else None)
                self.typed(item, sub, (*path, k))
        elif isinstance(x, list):
            items = s.get("items")
            for i, item in enumerate(x):
                self.typed(item, items if isinstance(items, Mapping) else None, (*path, i))

    def _cel(self, v: object, s: Schema, path: Path) -> None:
        for rule in s.get("x-kubernetes-validations") or ():
            implemented = CEL_RULES.get(rule["rule"])
            if implemented is None:
                continue
            cel_type, check = implemented
            if json_type(v) != cel_type:
                continue  # a type error is reported; the API server then skips CEL rules
            if not check(v):
                self._add(path, f'Invalid value: "{cel_type}": {rule.get("message") or "failed rule: " + rule["rule"]}')


_SMD_KIND = {
    "string": "string",
    "boolean": "boolean",
    "integer": "numeric",
    "number": "numeric",
    "object": "map",
    "array": "list",
}


def _smd_kind(v: object) -> str:
    """The structured-merge-diff kind of a decoded value (its JSON type, with both number types ``numeric``)."""
    if isinstance(v, bool | int | float | str | list | Mapping):
        return _SMD_KIND[json_type(v)]
    return type(v).__name__


def _go_fits(v: object, go_type: str) -> bool:
    if go_type in ("string", "Time"):
        return isinstance(v, str)
    if go_type == "bool":
        return isinstance(v, bool)
    if go_type == "int64":
        return json_type(v) == "integer" or (isinstance(v, float) and v.is_integer() and abs(v) < 2**63)
    return True  # raw JSON


def _go_format_name(v: object) -> str:
    """The go-openapi format name of a decoded non-string value (type validator's error for a format mismatch)."""
    if isinstance(v, bool):
        return ""
    return "int64" if isinstance(v, int) else "float64" if isinstance(v, float) else ""


def _type_fix(v: object, types: tuple[str, ...]) -> str | None:
    if isinstance(v, str) and "integer" in types and re.fullmatch(r"-?[0-9]+", v):
        return f"write {v} without quotes: the schema wants an integer, not the string {json.dumps(v)}"
    if isinstance(v, str) and "boolean" in types and v.lower() in ("true", "false"):
        return f"write {v.lower()} without quotes: the schema wants a boolean, not the string {json.dumps(v)}"
    if isinstance(v, str) and "number" in types and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", v):
        return f"write {v} without quotes: the schema wants a number"
    if isinstance(v, (int, float)) and not isinstance(v, bool) and types == ("string",):
        return f'quote it: "{go_value(v)}" — the schema wants a string'
    if isinstance(v, bool) and types == ("string",):
        return f'quote it: "{go_value(v)}" — the schema wants a string'
    if types:
        return f"write a value of type {' or '.join(types)}"
    return None


# --- the fast path: the same acceptance as JSON Schema ---------------------------------------------------------------


class _JsonSchema:
    """Converts a structural schema to a JSON Schema that accepts exactly what the API server accepts, or less."""

    def __init__(self, status_subresource: bool) -> None:
        self.status_subresource = status_subresource
        self.defs: dict[str, Any] = {}
        self._names: dict[tuple[int, bool, bool, bool], str] = {}
        self._uses: dict[int, int] = {}

    def document(self, root: Schema) -> dict[str, Any]:
        self._count(root, set())
        body = self.node(root, null_ok=False, skip=False, typed=False, root=True)
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", **body, "$defs": self.defs}

    def _count(self, s: Schema, active: set[int]) -> None:
        """How often each sub-schema object is reached (shared ones become $defs)."""
        key = id(s)
        self._uses[key] = self._uses.get(key, 0) + 1
        if self._uses[key] > 1 or key in active:
            return
        active.add(key)
        for sub in (s.get("properties") or {}).values():
            self._count(sub, active)
        for k in ("items", "additionalProperties"):
            if isinstance(s.get(k), Mapping):
                self._count(s[k], active)
        active.discard(key)

    def ref(self, s: Schema, *, null_ok: bool, skip: bool, typed: bool) -> dict[str, Any]:
        if self._uses.get(id(s), 0) <= 1 or (len(s) <= 2 and "properties" not in s):
            return self.node(s, null_ok=null_ok, skip=skip, typed=typed)
        key = (id(s), null_ok, skip, typed)
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = f"n{len(self._names)}"
            self.defs[name] = {}  # placeholder (structural schemas have no cycles)
            self.defs[name] = self.node(s, null_ok=null_ok, skip=skip, typed=typed)
        return {"$ref": f"#/$defs/{name}"}

    def node(self, s: Schema, *, null_ok: bool, skip: bool, typed: bool, root: bool = False) -> dict[str, Any]:
        """``null_ok``: a null here is set to the default; ``typed``: only unknown fields and the typed conversion of
        server-side apply count (``status`` of a kind with a status subresource, see :meth:`_Walk.typed`)."""
        out: dict[str, Any] = {}
        all_of: list[dict[str, Any]] = []
        nullable = bool(s.get("nullable"))
        if s.get("x-kubernetes-preserve-unknown-fields"):
            skip = True
        if typed:
            smd = _SMD_JSON.get(str(s.get("type"))) if not s.get("x-kubernetes-int-or-string") else None
            if smd is not None:
                out["type"] = [smd, "null"]
        else:
            types = list(_types(s))
            if types:
                if nullable or null_ok:
                    types.append("null")
                out["type"] = types if len(types) > 1 else types[0]
            enum = s.get("enum")
            if enum is not None:
                out["enum"] = [*enum, None] if null_ok and not nullable and None not in enum else list(enum)
            pattern = s.get("pattern")
            if pattern is not None:
                out["pattern"] = ascii_classes(pattern)
            for k in ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"):
                if k in s:
                    out[k] = s[k]
            self._bounds(s, out, types)
            if s.get("format") == "date-time":
                all_of.append({"pattern": _DATE_TIME_FAST})
            list_type = s.get("x-kubernetes-list-type")
            if list_type == "set":
                out["uniqueItems"] = True
            elif list_type == "map":
                out["maxItems"] = min(int(out.get("maxItems", 1)), 1)  # key uniqueness: left to the precise walk
            for rule in s.get("x-kubernetes-validations") or ():
                all_of.append(_CEL_JSON[rule["rule"]])
        props: Mapping[str, Schema] = s.get("properties") or {}
        extra = s.get("additionalProperties")
        embedded = root or bool(s.get("x-kubernetes-embedded-resource"))
        json_props: dict[str, Any] = {}
        required = set(s.get("required") or ()) if not typed else set()
        for k, sub in props.items():
            if root and k == "metadata":
                continue
            status = typed or (root and k == "status" and self.status_subresource)
            json_props[k] = self.ref(sub, null_ok=_defaulted(sub), skip=False, typed=status)
            if k in required and not sub.get("nullable") and "default" not in sub and not _types(sub):
                json_props[k] = {"allOf": [json_props[k], {"not": {"type": "null"}}]}  # create: pruned, then missing
        if embedded:
            for k in META_FIELDS:
                if k == "metadata":
                    json_props[k] = _OBJECT_META_JSON
                elif k not in json_props:
                    json_props[k] = {} if typed else {"type": "string"}
        if json_props:
            out["properties"] = json_props
        if isinstance(extra, Mapping):
            out["additionalProperties"] = self.ref(extra, null_ok=_defaulted(extra), skip=False, typed=typed)
        elif not skip:
            out["additionalProperties"] = False
        items = s.get("items")
        if isinstance(items, Mapping):
            out["items"] = self.ref(items, null_ok=False, skip=skip, typed=typed)
        elif not skip:
            out["items"] = {"maxProperties": 0}  # pruning removes every field of items without a schema
        req = sorted(k for k in required if "default" not in (props.get(k) or {}))
        if req:
            out["required"] = req
        if all_of:
            out["allOf"] = all_of
        return out

    @staticmethod
    def _bounds(s: Schema, out: dict[str, Any], types: list[str]) -> None:
        lo: float | None = s.get("minimum")
        hi: float | None = s.get("maximum")
        if lo is not None:
            out["exclusiveMinimum" if s.get("exclusiveMinimum") is True else "minimum"] = lo
        if hi is not None:
            out["exclusiveMaximum" if s.get("exclusiveMaximum") is True else "maximum"] = hi
        if "integer" in types and "number" not in types:
            # int32: see _number. Otherwise: a float beyond 2^53 is no integer to go-openapi, an int beyond int64
            # decodes as a float; JSON Schema cannot tell 2.0 from 2, so the fast path stops at 2^53 (the precise
            # walk accepts the ints between 2^53 and int64).
            fmt_lo, fmt_hi = INT32 if s.get("format") == "int32" else (-MAX_JSON_INTEGER, MAX_JSON_INTEGER)
            if "minimum" not in out or out["minimum"] < fmt_lo:
                out["minimum"] = max(fmt_lo, out.get("minimum", fmt_lo))
            if "maximum" not in out or out["maximum"] > fmt_hi:
                out["maximum"] = min(fmt_hi, out.get("maximum", fmt_hi))


_SMD_JSON = {
    "string": "string",
    "boolean": "boolean",
    "integer": "number",
    "number": "number",
    "object": "object",
    "array": "array",
}


def _defaulted(s: Schema) -> bool:
    """A null here is replaced by the schema's default (both request paths); other non-nullable nulls are refused by
    server-side apply."""
    return not s.get("nullable") and "default" in s


_CEL_JSON: dict[str, dict[str, Any]] = {
    "self.startsWith('/')": {"pattern": "^/"},
    "!self.contains('..')": {"not": {"type": "string", "pattern": "[.][.]"}},
    "self == true": {"not": {"const": False}},
}


_GO_JSON_TYPE = {
    "string": {"type": ["string", "null"]},
    "Time": {"type": ["string", "null"]},
    "bool": {"type": ["boolean", "null"]},
    "int64": {"type": ["integer", "null"], "minimum": INT64[0], "maximum": INT64[1]},
    "map[string]string": {"type": ["object", "null"], "additionalProperties": {"type": ["string", "null"]}},
    "[]string": {"type": ["array", "null"], "items": {"type": ["string", "null"]}},
    "raw": {},
}


def _meta_json(struct: GoStruct) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for k, go_type in struct.items():
        if isinstance(go_type, tuple):
            props[k] = {"type": ["array", "null"], "items": {"anyOf": [{"type": "null"}, _meta_json(go_type[0])]}}
        else:
            props[k] = _GO_JSON_TYPE[go_type]
    return {"type": "object", "properties": props, "additionalProperties": False}


_OBJECT_META_JSON = _meta_json(OBJECT_META)


def json_schema(kind: KindSchema) -> dict[str, Any]:
    """The fast-path JSON Schema of ``kind`` (exposed for tests and the benchmark)."""
    return _JsonSchema(kind.status_subresource).document(kind.schema)


# --- compiled kinds ---------------------------------------------------------------------------------------------------

_WEBHOOKS = {
    "kubevirt.io": "KubeVirt's admission webhook (virt-api)",
    "spiderpool.spidernet.io": "SpiderPool's admission webhook (spiderpool-controller)",
}


class FastValidator(Protocol):
    """What the fast path uses of a ``jsonschema_rs`` validator."""

    def is_valid(self, instance: object) -> bool: ...


@dataclass
class CompiledKind:
    """One kind's schema, ready to check many objects: the fast validator (when available) and the precise walk."""

    kind: KindSchema
    fast: FastValidator | None = field(default=None, repr=False)

    @classmethod
    def build(cls, kind: KindSchema) -> CompiledKind:
        fast = None
        if _jsonschema_rs is not None:
            try:
                fast = _jsonschema_rs.validator_for(json_schema(kind), validate_formats=False)
            except (ValueError, TypeError):  # pragma: no cover - a pattern the Rust engine cannot compile
                fast = None
        return cls(kind, fast)

    def errors(self, data: Mapping[str, Any]) -> list[SchemaError]:
        """What the API server refuses in ``data`` (empty: accepted)."""
        if self.fast is not None and self.fast.is_valid(data):
            return []
        return self.precise(data)

    def precise(self, data: Mapping[str, Any]) -> list[SchemaError]:
        """The precise walk alone (the fast path's verdict must always agree with it)."""
        walk = _Walk(
            self.kind.status_subresource,
            _WEBHOOKS.get(self.kind.group, "the admission webhook"),
            self.kind.release or "the schema",
        )
        walk.unknown(data, self.kind.schema, (), embedded=True)
        walk.value(data, self.kind.schema, ())
        return walk.errors


_COMPILED: dict[int, tuple[KindSchema, CompiledKind]] = {}


def compiled(kind: KindSchema) -> CompiledKind:
    """``kind`` compiled once per process (keyed by the KindSchema object, which the cache keeps alive)."""
    hit = _COMPILED.get(id(kind))
    if hit is not None and hit[0] is kind:
        return hit[1]
    built = CompiledKind.build(kind)
    if len(_COMPILED) >= 256:  # a long-lived process reading many clusters' CRDs: start over, never grow unbounded
        _COMPILED.clear()
    _COMPILED[id(kind)] = (kind, built)
    return built


def fast_path_available() -> bool:
    return _jsonschema_rs is not None


# --- which schema checks which object --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """The schemas objects are checked against: by kind, each with the apiVersions it serves."""

    kinds: Mapping[str, tuple[KindSchema, ...]]
    source: str  # "virtnet's shipped schemas: KubeVirt v1.9.0, SpiderPool v1.2.2, Multus NAD v1.7.7"
    notes: tuple[str, ...] = ()

    def lookup(self, api_version: str, kind: str) -> tuple[KindSchema | None, str | None]:
        """The schema of ``api_version``/``kind``; or None and why the API server would not take it (a known group
        in a version it does not serve); or None, None for a kind virtnet has no schema for."""
        hit = self._by_api_version.get((api_version, kind))
        if hit is not None:
            return hit, None
        candidates = self.kinds.get(kind, ())
        if candidates and not api_version:
            served = ", ".join(v for c in candidates for v in c.api_versions)
            return None, f"apiVersion not set (kubectl refuses the object before sending it; {kind}: {served})"
        group = api_version.rpartition("/")[0]
        same_group = [c for c in candidates if c.group == group]
        if same_group:
            served = ", ".join(v for c in same_group for v in c.api_versions)
            return None, f'no matches for kind "{kind}" in version "{api_version}" (served: {served})'
        return None, None

    @cached_property
    def _by_api_version(self) -> dict[tuple[str, str], KindSchema]:
        return {(v, k.kind): k for ks in self.kinds.values() for k in ks for v in k.api_versions}

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"from": self.source}
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def coverage(objects: Sequence[LintObject], catalog: Catalog | None) -> dict[str, Any]:
    """The lint summary's ``schema`` entry: objects checked against a schema, and per kind those without one.

    ``catalog`` is the context's (set by the engine when it builds the context).
    """
    if catalog is None:
        raise ValueError("coverage() needs the context's schema catalog")
    validated = 0
    skipped: dict[str, int] = {}
    for obj in objects:
        kind, problem = catalog.lookup(str(obj.data.get("apiVersion", "")), obj.kind)
        if kind is not None or problem is not None:
            validated += 1
        else:
            skipped[obj.kind] = skipped.get(obj.kind, 0) + 1
    return {"validated": validated, "skipped": dict(sorted(skipped.items())), **catalog.summary()}


def catalog_of(sets: Sequence[SchemaSet], source: str, notes: Sequence[str] = ()) -> Catalog:
    kinds: dict[str, tuple[KindSchema, ...]] = {}
    for schema_set in sets:
        for kind in schema_set.kinds.values():
            kinds[kind.kind] = (*kinds.get(kind.kind, ()), kind)
    return Catalog(kinds, source, tuple(notes))


@cache
def shipped_catalog(versions: TargetVersions) -> Catalog:
    """The shipped schemas for the target versions (KubeVirt by minor, SpiderPool nearest, the newest Multus NAD)."""
    sets: list[SchemaSet] = []
    notes: list[str] = []
    for project, target in (("kubevirt", versions.kubevirt), ("spiderpool", versions.spiderpool)):
        version, note = choose(project, target)
        sets.append(load(project, version))
        if note:
            notes.append(note)
    sets.append(load("nad", shipped("nad")[-1]))
    return catalog_of(sets, "virtnet's shipped schemas: " + ", ".join(s.title for s in sets), notes)
