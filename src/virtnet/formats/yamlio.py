"""YAML and JSON in and out, with the values kubectl would send and the line/column of every field on demand.

**Values like kubectl.** ``kubectl apply -f`` turns YAML into JSON with sigs.k8s.io/yaml, which decodes with its
fork of go-yaml v2 (YAML 1.1 typing) into ``interface{}`` and then marshals JSON. Every plain scalar here is
resolved by the same rules (:func:`resolve_plain`, cited line by line) and every value is turned into what the
JSON would carry, so a rule or the schema sees exactly what the API server will see:

- ``y|Y|yes|Yes|YES|on|On|ON|true|True|TRUE`` are true, the ``n``/``no``/``off``/``false`` forms false;
  ``~``, ``null``, ``Null``, ``NULL`` and an empty plain scalar are null
  (sigs.k8s.io/yaml@v1.4.0:goyaml.v2/resolve.go, ``resolveMapList``);
- integers as Go's ``strconv.ParseInt(s, 0, 64)`` reads them after removing every ``_``: ``0777`` is octal 511,
  ``0x1F`` 31, ``0o17`` 15, ``0b101`` 5, ``1_000`` 1000; past int64 ``ParseUint``; past that a decimal becomes a
  float and a prefixed number a big integer (resolve.go ``resolve``, hint ``'D'``/``'S'``);
- floats as ``yamlStyleFloat`` and ``strconv.ParseFloat`` read them; no sexagesimal (``12:30`` stays a string);
  ``.inf``/``.nan`` cannot be sent: Go's ``json.Marshal`` refuses them, so they are an input error here;
- a float with an integral value is sent as a JSON integer (Go encoding/json ``floatEncoder`` writes ``2`` for
  2.0 below 1e21), so ``sockets: 2.0`` is the integer 2;
- timestamps stay strings (gopkg.in/yaml.v2@v2.4.0:decode.go ``decoder.scalar``: "for backward compatibility
  reasons we set it as a string"); quoted scalars and ``!!str`` are strings; ``!!binary`` is decoded; unknown tags
  are ignored; a wrong explicit tag (``!!int foo``) is an error like go-yaml's "cannot decode";
- ``<<`` merge keys work as in go-yaml v2 (``decoder.mapping``/``merge``: a merge sets its keys in order, a
  sequence of maps is merged last-first so earlier maps win);
- keys become strings as ``convertToJSONableObject`` does (sigs.k8s.io/yaml@v1.4.0:yaml.go): ints in decimal,
  floats with ``FormatFloat(f, 'g', -1, 32)``, bools ``true``/``false``; a null key is an error. A duplicate key is
  an error (the API server's strict field validation refuses duplicate fields).

**Two paths, one result.** The exact path composes nodes with libyaml (``CSafeLoader``; the pure-Python loader
where libyaml is missing) with a resolver that only marks plain scalars, and converts them with the rules above.
The fast path parses a document with yaml-rs (Rust, YAML 1.2 core schema) — but only when a conservative scan of
the document's text (:data:`_DIFFERS`) finds no plain scalar or key whose YAML 1.2 typing could differ from go-yaml
v2 (1.1 booleans, octal/hex/binary/underscored/huge numbers, floats, ``.inf``/``.nan``, number-like or boolean
keys), no anchor, tag, merge key or complex key, and the document is not huge. Everything else — and every
document yaml-rs refuses — goes through the exact path, which also writes the error messages.

**Positions on demand.** A document records where it came from (file, index, its text and first line); the line
and column of each field are computed the first time they are asked for (:attr:`Document.positions`), by
composing just that document again. Lint asks only for objects that have findings.

**Hostile input is bounded.** libyaml refuses nesting deeper than 1000 levels, the converter deeper than
:data:`MAX_DEPTH`; aliases may add at most :data:`MAX_ALIAS_VALUES` values to a document, counted on the composed
node graph *before* anything is expanded (a billion-laughs bomb is refused after composing a few dozen nodes);
a document may hold at most :data:`MAX_NODES` values and a scalar at most :data:`MAX_SCALAR` characters (the API
server refuses requests over 3 MiB).

Output is stable: keys keep the order the renderer wrote them, multi-line strings use literal blocks.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from virtnet.errors import InputError, Location

_fast: Any
try:  # the fast path; without a wheel for this platform the exact path does everything
    import yaml_rs as _fast
except ImportError:  # pragma: no cover - every supported platform has a wheel
    _fast = None

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's C parser and composer when present
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

MAX_NODES = 2_000_000  # values in one document
MAX_ALIAS_VALUES = 100_000  # values aliases may add to one document beyond what it spells out
MAX_DEPTH = 200
MAX_SCALAR = 3 * 1024 * 1024  # the API server's request size limit (apiserver MaxRequestBodyBytes, 3 MiB)
FAST_MAX_CHARS = 1024 * 1024  # larger documents take the exact path (bounded there)

PathKey = tuple[str | int, ...]
_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_PLAIN = "!virtnet/plain"  # our resolver's mark for a plain scalar without a tag: resolved by resolve_plain
_TAG_PREFIX = "tag:yaml.org,2002:"


def format_path(path: Sequence[str | int]) -> str:
    """``('spec', 'nics', 1, 'subnet')`` → ``spec.nics[1].subnet``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(text: str) -> PathKey:
    """``spec.nics[1].subnet`` → ``('spec', 'nics', 1, 'subnet')`` (the inverse of :func:`format_path`)."""
    return tuple(int(index) if index else name for name, index in _PATH_PART.findall(text))


# --- go-yaml v2 scalar resolution ------------------------------------------------------------------------------
# sigs.k8s.io/yaml@v1.4.0:goyaml.v2/resolve.go (the fork kubectl uses; based on gopkg.in/yaml.v2 v2.4.0)


class _UnsendableError(ValueError):
    """A value go-yaml reads but Go's json.Marshal refuses (NaN, ±Inf): kubectl cannot send it."""


_RESOLVE_MAP: dict[str, Any] = {}
for _words, _value in (
    (("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    (("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
    (("", "~", "null", "Null", "NULL"), None),
    ((".nan", ".NaN", ".NAN"), math.nan),
    ((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    (("-.inf", "-.Inf", "-.INF"), -math.inf),
):
    for _word in _words:
        _RESOLVE_MAP[_word] = _value
_HINT_CHARS = frozenset("+-0123456789yYnNtTfFoO~.")  # resolveTable: 'S', 'D', 'M', '.'
# yamlStyleFloat, resolve.go
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?\Z")  # what strconv.ParseFloat accepts after a leading '.'
_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1
_GO_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}
# allowedTimestampFormats, resolve.go: RFC 3339 with short fields (T or t), "2006-1-2 15:4:5.999999999", "2006-1-2"
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?:[Tt][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2})"
    r"|[ ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?)?\Z"
)


def _go_parse_int(text: str, base: int, unsigned: bool = False) -> int | None:
    """``strconv.ParseInt(text, base, 64)`` (``ParseUint`` when ``unsigned``); None where Go fails. Base 0 reads
    the prefix: 0x/0X hex, 0o/0O and a bare leading 0 octal, 0b/0B binary. ``text`` has no underscores."""
    sign = 1
    body = text
    if not unsigned and body[:1] in ("+", "-"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if base == 0:
        base = 10
        if body[:1] == "0" and len(body) > 1:
            second = body[1]
            if second in "xX":
                base, body = 16, body[2:]
            elif second in "oO":
                base, body = 8, body[2:]
            elif second in "bB":
                base, body = 2, body[2:]
            else:
                base, body = 8, body[1:]
    digits = _GO_DIGITS[base]
    if not body or any(c not in digits for c in body):
        return None
    value = sign * int(body, base)
    if unsigned:
        return value if value <= _UINT64_MAX else None
    return value if _INT64[0] <= value <= _INT64[1] else None


def resolve_plain(text: str) -> Any:
    """The value go-yaml v2 gives an untagged plain scalar (``resolve("", in)``), as Python."""
    if text == "":
        return None
    if text[0] not in _HINT_CHARS:
        return text
    if text in _RESOLVE_MAP:
        return _RESOLVE_MAP[text]
    first = text[0]
    if first == ".":
        if _DOT_FLOAT.match(text):
            dot_float = float(text)
            if not math.isinf(dot_float):  # strconv.ParseFloat: out of range is an error, the scalar stays a string
                return dot_float
        return text
    if first in "yYnNtTfFoO~":  # 'M': only the map above
        return text
    # 'D' / 'S': a timestamp stays a string (decode.go); then int, uint, float, 0b…, -0b…, big integers
    if _TIMESTAMP.match(text):
        return text
    plain = text.replace("_", "")
    value: Any = _go_parse_int(plain, 0)
    if value is not None:
        return value
    value = _go_parse_int(plain, 0, unsigned=True)
    if value is not None:
        return value
    if _YAML_STYLE_FLOAT.match(plain):
        number = float(plain)
        if not math.isinf(number):
            return number
    if plain.startswith("0b"):
        value = _go_parse_int(plain[2:], 2)
        if value is not None:
            return value
    elif plain.startswith("-0b"):
        value = _go_parse_int("-" + plain[3:], 2)
        if value is not None:
            return value
    # big.Int for a prefixed number past uint64 (the sigs.k8s.io fork); decimals were floats above
    body = plain.lstrip("+-")
    if len(body) > 2 and body[0] == "0" and body[1] in "xXoObB":
        sign = -1 if plain.startswith("-") else 1
        base = {"x": 16, "o": 8, "b": 2}[body[1].lower()]
        if body[2:] and all(c in _GO_DIGITS[base] for c in body[2:]):
            return sign * int(body[2:], base)
    return text


def _resolve_tagged(tag: str, text: str) -> Any:
    """A scalar with an explicit tag (``!!int 12``, ``!!str yes``, ``!foo x``), as go-yaml v2 decodes it."""
    short = "!!" + tag[len(_TAG_PREFIX) :] if tag.startswith(_TAG_PREFIX) else tag
    if short == "!!binary":  # decode.go decoder.scalar: base64 decoded into a string
        try:
            data = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("!!binary value contains invalid base64 data") from None
        return data.decode("utf-8", errors="replace")
    if short not in ("!!str", "!!bool", "!!int", "!!float", "!!null", "!!timestamp"):
        return text  # resolvableTag: any other tag leaves the text as it is
    if short == "!!str":
        return text
    value = resolve_plain(text)
    got = _go_tag(value, text)
    if got == short or (short == "!!float" and got == "!!int"):
        return float(value) if short == "!!float" and got == "!!int" else value
    if short == "!!timestamp" and _TIMESTAMP.match(text):
        return text
    raise ValueError(f"cannot decode {got} `{text}` as a {short}")


# the tag go-yaml v2 names in "cannot unmarshal !!<tag>" for a resolved plain scalar (values of exactly these types)
_GO_TAGS: dict[type, str] = {type(None): "!!null", bool: "!!bool", int: "!!int", float: "!!float"}


def _go_tag(value: Any, text: str) -> str:
    tag = _GO_TAGS.get(type(value))
    if tag is not None:
        return tag
    return "!!timestamp" if _TIMESTAMP.match(text) else "!!str"


def sendable(value: Any) -> Any:
    """A resolved scalar as the JSON kubectl sends carries it: NaN/±Inf refused, integral floats below 1e21 as
    integers (Go encoding/json floatEncoder formats them without a fraction; the API server reads an int64)."""
    if type(value) is float:
        if math.isnan(value) or math.isinf(value):
            raise _UnsendableError(f"json: unsupported value: {value}")
        if value.is_integer() and abs(value) < 1e21:
            return int(value)
    return value


def _float_key(value: float) -> str:
    """``strconv.FormatFloat(f, 'g', -1, 32)``: the shortest digits that round-trip as a float32; exponent form
    when the exponent is below -4 or at least 6 (Go's 'g' with the shortest precision)."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    try:
        single = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        single = math.inf if value > 0 else -math.inf
    if math.isinf(single):  # beyond float32: Go's conversion gives ±Inf, written ".inf" / "-.inf"
        return ".inf" if single > 0 else "-.inf"
    text = f"{single:.8e}"
    for digits in range(1, 10):
        text = f"{single:.{digits - 1}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            break
    mantissa, _, exponent = text.partition("e")
    exp = int(exponent)
    ndigits = len(mantissa.replace(".", "").lstrip("-"))
    if exp < -4 or exp >= 6:
        return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    return f"{float(text):.{max(ndigits - 1 - exp, 0)}f}"


def key_string(value: Any) -> str:
    """A resolved mapping key as sigs.k8s.io/yaml's convertToJSONableObject writes it (ValueError if none)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_key(value)
    raise ValueError("unsupported map key: null")


# --- documents -------------------------------------------------------------------------------------------------


class Document:
    """One YAML/JSON document: its value and where each field came from.

    ``positions`` maps a field path to its (line, column), 1-based; for parsed documents it is computed on first
    use by composing the document's text again (``_recompose``).
    """

    __slots__ = ("_positions", "_recompose", "data", "index", "source")

    def __init__(
        self,
        data: Any,
        source: str,
        index: int,
        positions: dict[PathKey, tuple[int, int]] | None = None,
        *,
        recompose: Callable[[], dict[PathKey, tuple[int, int]]] | None = None,
    ) -> None:
        self.data = data
        self.source = source
        self.index = index  # 0-based position in the stream
        self._positions = positions
        self._recompose = recompose

    def __repr__(self) -> str:
        return f"Document(source={self.source!r}, index={self.index})"

    @property
    def positions(self) -> dict[PathKey, tuple[int, int]]:
        if self._positions is None:
            self._positions = self._recompose() if self._recompose is not None else {}
            self._recompose = None
        return self._positions

    def position(self, path: Sequence[str | int]) -> tuple[int, int] | None:
        """The position of ``path`` or of its nearest ancestor that has one."""
        positions = self.positions
        key = tuple(path)
        while True:
            pos = positions.get(key)
            if pos is not None or not key:
                return pos
            key = key[:-1]

    def locate(self, error: InputError, within: Sequence[str | int] = ()) -> InputError:
        """``error`` (whose path is relative to the object at ``within``) placed in this document."""
        inner = parse_path(error.location.path) if error.location.path else ()
        return InputError(error.message, self.location((*within, *inner)))

    def location(self, path: Sequence[str | int] = ()) -> Location:
        pos = self.position(path)
        return Location(
            file=self.source,
            document=self.index,
            path=format_path(path) or None,
            line=pos[0] if pos else None,
            column=pos[1] if pos else None,
        )


# --- the exact path --------------------------------------------------------------------------------------------


class _ComposeLoader(_BaseLoader):  # type: ignore[misc]  # PyYAML's loaders are untyped
    """libyaml composes; instead of PyYAML's YAML 1.1 resolver (regexes, sexagesimal ints, timestamps) every
    untagged plain scalar is marked and resolved by go-yaml v2's rules in :func:`resolve_plain`."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            # (plain_implicit, quoted_implicit): a quoted scalar or the non-specific tag "!" is a string
            return _PLAIN if implicit[0] else _STR_TAG
        return _SEQ_TAG if kind is yaml.SequenceNode else _MAP_TAG


_ALIAS_TOKEN = re.compile(r"(?:^|[\s\[{,:-])\*[^\s,\[\]{}]")


class _Converter:
    def __init__(self, source: str, index: int, line_offset: int, record: bool) -> None:
        self.source = source
        self.index = index
        self.line_offset = line_offset
        self.count = 0
        self.positions: dict[PathKey, tuple[int, int]] | None = {} if record else None

    def error(self, message: str, node: yaml.Node) -> InputError:
        mark = node.start_mark
        return InputError(
            message,
            Location(
                file=self.source, document=self.index, line=mark.line + 1 + self.line_offset, column=mark.column + 1
            ),
        )

    def mark(self, path: PathKey, node: yaml.Node) -> None:
        if self.positions is not None:
            mark = node.start_mark
            self.positions[path] = (mark.line + 1 + self.line_offset, mark.column + 1)

    def check_aliases(self, root: yaml.Node) -> None:
        """Refuse a document whose aliases would add more than MAX_ALIAS_VALUES values — counted on the composed
        graph (each distinct node once, its expanded size memoised), so nothing is expanded to find out."""
        size: dict[int, int] = {}
        visiting: set[int] = set()
        distinct = 0
        stack: list[tuple[yaml.Node, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            key = id(node)
            if key in size:
                continue
            if not done:
                if key in visiting:  # an alias inside its own anchor (go-yaml: "anchor value contains itself")
                    raise self.error("an alias refers to the node that contains it", node)
                visiting.add(key)
            children: list[yaml.Node] = []
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    children += (k, v)
            elif isinstance(node, yaml.SequenceNode):
                children = list(node.value)
            if not done:
                stack.append((node, True))
                stack.extend((child, False) for child in children if id(child) not in size)
                continue
            visiting.discard(key)
            distinct += 1
            size[key] = 1 + sum(size[id(child)] for child in children)
            if size[key] > distinct + MAX_ALIAS_VALUES:
                raise self.error(
                    f"aliases expand this document to more than {distinct + MAX_ALIAS_VALUES:,} values (alias "
                    "bomb?); kubectl would expand every one of them",
                    node,
                )

    def convert(self, node: yaml.Node, path: PathKey, depth: int) -> Any:
        """The value of ``node``; the caller has recorded ``path``'s position (the key's, for mapping values)."""
        self.count += 1
        if self.count > MAX_NODES:
            raise self.error(f"document has more than {MAX_NODES:,} values", node)
        if depth > MAX_DEPTH:
            raise self.error(f"document nests deeper than {MAX_DEPTH} levels", node)
        cls = node.__class__
        if cls is yaml.MappingNode:
            out: dict[str, Any] = {}
            explicit: set[str] = set()
            for key_node, value_node in node.value:
                if key_node.__class__ is not yaml.ScalarNode:
                    raise self.error("mapping keys must be scalars", key_node)
                if key_node.value == "<<" and key_node.tag in (_PLAIN, "tag:yaml.org,2002:merge"):
                    self.merge(out, key_node, value_node, path, depth)
                    continue
                try:
                    key = key_string(self.scalar(key_node))
                except ValueError as err:
                    raise self.error(str(err), key_node) from None
                if key in explicit:
                    raise self.error(f"duplicate key '{key}'", key_node)
                explicit.add(key)
                child = (*path, key)
                self.mark(child, key_node)
                out[key] = self.convert(value_node, child, depth + 1)
            return out
        if cls is yaml.SequenceNode:
            items = []
            for i, item in enumerate(node.value):
                child = (*path, i)
                self.mark(child, item)
                items.append(self.convert(item, child, depth + 1))
            return items
        try:
            return sendable(self.scalar(node))
        except _UnsendableError as err:
            raise self.error(f"kubectl cannot send this value as JSON ({err})", node) from None

    def merge(self, out: dict[str, Any], key: yaml.Node, value_node: yaml.Node, path: PathKey, depth: int) -> None:
        """``<<: *map`` / ``<<: [*a, *b]`` as gopkg.in/yaml.v2@v2.4.0:decode.go ``decoder.merge``: the merged
        keys are set in order (a later explicit key overrides them); of a sequence, earlier maps take precedence."""
        sources = list(reversed(value_node.value)) if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise self.error("map merge requires map or sequence of maps as the value", key)
            merged = self.convert(source, path, depth + 1)
            out.update(merged)

    def scalar(self, node: yaml.Node) -> Any:
        value = node.value
        if len(value) > MAX_SCALAR:
            raise self.error(
                f"a scalar of {len(value):,} characters is larger than the API server accepts in one request", node
            )
        tag = node.tag
        if tag == _PLAIN:
            return resolve_plain(value)
        if tag == _STR_TAG:
            return value
        try:
            return _resolve_tagged(tag, value)
        except ValueError as err:
            raise self.error(str(err), node) from None


def _yaml_error(err: yaml.YAMLError, source: str, document: int, line_offset: int) -> InputError:
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "invalid YAML"
        if mark is not None:
            loc = Location(file=source, document=document, line=mark.line + 1 + line_offset, column=mark.column + 1)
        else:
            loc = Location(file=source, document=document)
        return InputError(f"not valid YAML: {problem}", loc)
    return InputError(f"not valid YAML: {err}", Location(file=source, document=document))


def _compose_all(text: str) -> Iterator[yaml.Node | None]:
    loader = _ComposeLoader(text)
    try:
        while loader.check_node():
            yield loader.get_node()
    finally:
        loader.dispose()


def _exact(
    text: str, source: str, first_index: int, line_offset: int, record: bool
) -> list[tuple[int, Any, dict[PathKey, tuple[int, int]] | None]]:
    """(index, value, positions) of every non-empty document of ``text`` by the exact path."""
    out: list[tuple[int, Any, dict[PathKey, tuple[int, int]] | None]] = []
    current = first_index  # index of the document being composed, for error messages
    has_alias = _ALIAS_TOKEN.search(text) is not None
    try:
        for index, node in enumerate(_compose_all(text), first_index):
            current = index + 1
            if node is None:
                continue
            conv = _Converter(source, index, line_offset, record)
            if has_alias:
                conv.check_aliases(node)
            conv.mark((), node)
            data = conv.convert(node, (), 0)
            if data is None:  # an empty document ("---" followed by nothing)
                continue
            out.append((index, data, conv.positions))
    except yaml.YAMLError as err:
        raise _yaml_error(err, source, current, line_offset) from None
    except RecursionError:  # the pure-Python composer (no libyaml) recurses per nesting level
        raise InputError(
            f"document nests deeper than {MAX_DEPTH} levels", Location(file=source, document=current)
        ) from None
    return out


# --- the fast path ---------------------------------------------------------------------------------------------

# A plain token (after a line start, whitespace or a flow indicator; before the end of the line, a comment, a flow
# indicator or ':') whose typing may differ between YAML 1.2 (yaml-rs) and go-yaml v2, or that yaml-rs may type
# differently than we can check here. Over-matching (e.g. inside a block scalar) only costs the exact path.
_RISKY_VALUE = (
    r"(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF"  # YAML 1.1 booleans
    r"|[-+]?0[0-9xXoObB_][0-9a-zA-Z_.+-]*"  # 0777, 0x1F, 0o17, 0b101, 0_1
    r"|[-+]?[0-9][0-9a-zA-Z.+-]*_[0-9a-zA-Z_.+-]*|[-+]?_[0-9a-zA-Z_.+-]*"  # underscores in (or before) a number
    r"|[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]*)?"  # floats: 1.5, 1., .5, 1.5e3
    r"|[-+]?\.[0-9_][0-9a-zA-Z_.+-]*"  # ._0, .5x
    r"|[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)"
    r"|[-+]?[0-9]+[eE][-+]?[0-9]*"  # 1e3
    r"|[-+]?[0-9]{19,}"  # past int64
    r"|(?i:[-+]?(?:inf|infinity|nan))"
    r")"
)
_SUFFIX = r"[ \t]*+(?:$|#|[,\]}]|:(?:[ \t,\]}]|$))"
# keys go-yaml types as non-strings where yaml-rs agrees on the value but we need go's string (80 → "80", true)
_RISKY_KEY = r"(?:[-+]?[0-9]+|~|null|Null|NULL|true|True|TRUE|false|False|FALSE)[ \t]*:(?:[ \t,\]}]|$)"
# A token after a line start (indentation, "- "), a block mapping ": " or a flow indicator. The scan starts with a
# character class and a first-character check, so the regex engine skips ahead fast.
_TOKEN_START = r"[\n:\[{,](?<=\n|[\[{,]|:(?=[ \t]))[ \t]*+(?:-[ \t]++)*+"


def _scan(extra_values: str = "", extra_first: str = "") -> re.Pattern[str]:
    return re.compile(
        _TOKEN_START
        + f"(?=[-+._0-9yYnNoOtTfF~iI?:{extra_first}])(?:(?:"
        + _RISKY_VALUE[3:-1]  # the alternatives inside (?:…)
        + extra_values
        + ")"
        + _SUFFIX
        + "|"
        + _RISKY_KEY
        + r"|\?(?:[ \t,\]}]|$)|:)",  # a complex key; an empty (null) key or a token that starts with ':'
        re.MULTILINE,
    )


_SCAN = _scan()
# What PyYAML's YAML 1.1 resolver types beyond that: sexagesimal ints/floats (``12:30``, a MAC of decimal octets),
# timestamps (datetime objects) and the value key ``=`` (for :func:`load_yaml11`).
_SCAN_YAML11 = _scan(r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}\S*|=", "=")
_FLOW_COLON = re.compile(r":[,\]}]")  # "[a:]": flow syntax YAML 1.2 allows and libyaml refuses
# deep nesting on one line ("- - - …"): yaml-rs would build it, the exact path refuses it (yaml-rs itself refuses
# flow collections nested deeper than ~256 levels)
_NESTED_BLOCK = re.compile(r"-[ \t]+(?:-[ \t]+){31}")
_DEEP = "\n" + " " * 200  # block nesting this deep takes the exact path (libyaml caps nesting at 1000 levels)
_ANCHOR_OR_TAG = re.compile(r"(?:^|(?<=[\s\[{,]))[&!]", re.MULTILINE)


def _differs(text: str, scan: re.Pattern[str] = _SCAN) -> bool:
    """True when a plain scalar or key of ``text`` may be typed differently by yaml-rs than by go-yaml v2 (or the
    document uses anchors, tags, merge keys, complex keys, tabs or very deep nesting): then the exact path reads it.
    Conservative: a match inside a quoted or block scalar only costs the exact path."""
    if "\t" in text or "<<" in text:
        return True
    if ("&" in text or "!" in text) and _ANCHOR_OR_TAG.search(text):
        return True
    if ("[" in text or "{" in text) and _FLOW_COLON.search(text):
        return True
    probe = "\n" + text  # the first line is a line too
    if (
        _DEEP in probe
        or ("- -" in text and _NESTED_BLOCK.search(text))
        or text.count("[") + text.count("{") >= MAX_DEPTH // 2  # maybe deep flow nesting: the exact path bounds it
    ):
        return True
    return scan.search(probe) is not None


# a line that starts a document, ends one, or is a directive (searched in "\n" + text: a literal first character)
_MARKER = re.compile(r"\n(?:(?:---|\.\.\.)(?=[ \t\r\n]|\Z)[^\n]*|%[^\n]*)")
_BARE_START = re.compile(r"---[ \t\r]*(?:#[^\n]*)?\Z")
_CONTENT = re.compile(r"^[ \t]*[^\s#]", re.MULTILINE)


@dataclass(frozen=True)
class Chunk:
    """One document's text inside a file: ``text[start:end]`` begins on 0-based line ``line``; ``index`` is its
    position in the stream as PyYAML / go-yaml count documents."""

    index: int
    start: int
    end: int
    line: int


def split_documents(text: str) -> list[Chunk] | None:
    """The documents of a stream by their ``---`` lines (a document marker at column 0 cannot occur inside a
    scalar), or None when the stream has directives, ``...`` or content on a ``---`` line (the exact path then
    reads the whole stream). An initial part with nothing but comments is no document."""
    chunks: list[Chunk] = []
    start = 0  # of the current chunk, in ``text``
    line = 0  # its first line (0-based)
    index = 0
    first = True
    for m in _MARKER.finditer("\n" + text):
        if not _BARE_START.match(m.group(), 1):
            return None
        marker = m.start()  # where the marker line starts in ``text`` (the probe has one more character in front)
        if not first or _CONTENT.search(text, 0, marker):
            chunks.append(Chunk(index, start, marker, line))
            index += 1
        first = False
        line += text.count("\n", start, marker) + 1
        start = min(m.end(), len(text))
    if not first or _CONTENT.search(text):
        chunks.append(Chunk(index, start, len(text), line))
    return chunks


def _fast_value(chunk_text: str) -> tuple[bool, Any]:
    """(True, value) from yaml-rs, or (False, None) when the exact path must read this document."""
    if _fast is None or len(chunk_text) > FAST_MAX_CHARS or _differs(chunk_text):
        return False, None
    try:
        value = _fast.loads(chunk_text, parse_datetime=False)
    except Exception:
        return False, None
    return True, value


def load_yaml11(text: str) -> Any:
    """``yaml.load(text, SafeLoader)`` — how cloud-init reads user data and network config (PyYAML, YAML 1.1) —
    with yaml-rs when nothing in ``text`` could be typed differently; raises what PyYAML raises."""
    if (
        _fast is not None
        and len(text) <= FAST_MAX_CHARS
        and "\n---" not in text  # one document, as yaml.load wants
        and "\n..." not in text
        and not text.startswith(("---", "...", "%"))
        and not _differs(text, _SCAN_YAML11)
    ):
        try:
            return _fast.loads(text, parse_datetime=False)
        except Exception:
            pass
    try:
        return yaml.load(text, Loader=_BaseLoader)  # a safe loader: CSafeLoader / SafeLoader
    except (ValueError, TypeError, OverflowError) as err:  # PyYAML's constructors crash on some scalars: 0x_
        raise yaml.YAMLError(f"cannot read a value ({err})") from None


def load_documents(text: str, source: str) -> list[Document]:
    """All documents of a YAML (or JSON, a YAML subset) stream, empty documents skipped."""
    if text.startswith("\ufeff"):
        text = text[1:]
    chunks = split_documents(text)
    if chunks is None:  # directives / "..." / content on a "---" line: the whole stream by the exact path
        return [Document(data, source, index, positions) for index, data, positions in _exact(text, source, 0, 0, True)]
    docs: list[Document] = []
    for chunk in chunks:
        doc = load_chunk(text, source, chunk)
        if doc is not None:
            docs.append(doc)
    return docs


def load_chunk(text: str, source: str, chunk: Chunk) -> Document | None:
    """The document of one chunk of ``text`` (see :func:`split_documents`); None when it is empty."""
    body = text[chunk.start : chunk.end]
    ok, value = _fast_value(body)
    if not ok:
        exact = _exact(body, source, chunk.index, chunk.line, False)
        if not exact:
            return None
        value = exact[0][1]
    if value is None:
        return None

    def recompose() -> dict[PathKey, tuple[int, int]]:
        again = _exact(body, source, chunk.index, chunk.line, True)
        return (again[0][2] or {}) if again else {}

    return Document(value, source, chunk.index, recompose=recompose)


# --- output ----------------------------------------------------------------------------------------------------


class _BlockDumper(_Dumper):  # type: ignore[misc]
    pass


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_BlockDumper.add_representer(str, _str_representer)


def dump_yaml(obj: Any) -> str:
    """One document, keys in insertion order, block style, literal blocks for multi-line strings."""
    text: str = yaml.dump(
        obj, Dumper=_BlockDumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120
    )
    return text if text.endswith("\n") else text + "\n"


def dump_yaml_stream(objects: Sequence[Mapping[str, Any]]) -> str:
    return "".join(f"---\n{dump_yaml(dict(obj))}" for obj in objects)


def dump_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def as_list(objects: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Objects wrapped in a ``v1/List``, the form ``kubectl apply -f`` reads from JSON."""
    return {"apiVersion": "v1", "kind": "List", "items": [dict(o) for o in objects]}


def manifest_objects(doc: Document) -> list[tuple[Mapping[str, Any], PathKey]]:
    """The Kubernetes objects of one document with their path in it: the document itself, or the items of any
    ``…List`` (``List``, ``SpiderIPPoolList``, nested ones too), in order. Mappings without a string ``kind`` are
    left out. The one reader of manifests for every verb (lint, apply, pool suggest --existing)."""
    out: list[tuple[Mapping[str, Any], PathKey]] = []
    stack: list[tuple[object, PathKey]] = [(doc.data, ())]
    while stack:
        data, base = stack.pop()
        if not isinstance(data, Mapping):
            continue
        kind = data.get("kind")
        items = data.get("items")
        if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
            stack.extend((item, (*base, "items", i)) for i, item in reversed(list(enumerate(items))))
        elif isinstance(kind, str):
            out.append((data, base))
    return out
