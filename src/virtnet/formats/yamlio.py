"""YAML and JSON in and out, keeping source positions.

Input is composed with libyaml's C composer (``CSafeLoader`` when available) — composing keeps every node's
start mark — and then converted to plain Python values while recording the line/column of each field path.
Hostile input is bounded: alias expansion and nesting depth are capped, so an alias bomb fails fast with a clear
error instead of eating memory.

Output is stable: keys keep the order the renderer wrote them, multi-line strings use literal blocks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from virtnet.errors import InputError, Location

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's C parser and composer when present
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

MAX_NODES = 2_000_000  # values produced from one stream, aliases counted each time they are expanded
MAX_DEPTH = 200

PathKey = tuple[str | int, ...]
_STR_TAG = "tag:yaml.org,2002:str"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_BOOLS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


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


@dataclass
class Document:
    """One YAML/JSON document: its value and where each field came from."""

    data: Any
    source: str
    index: int  # 0-based position in the stream
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)  # path -> (line, column), 1-based

    def position(self, path: Sequence[str | int]) -> tuple[int, int] | None:
        """The position of ``path`` or of its nearest ancestor that has one."""
        key = tuple(path)
        while True:
            pos = self.positions.get(key)
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


class _Converter:
    def __init__(self, source: str, index: int) -> None:
        self.source = source
        self.index = index
        self.count = 0
        self.positions: dict[PathKey, tuple[int, int]] = {}
        self._scalars = _Loader("")

    def error(self, message: str, node: yaml.Node) -> InputError:
        mark = node.start_mark
        return InputError(
            message,
            Location(file=self.source, document=self.index, line=mark.line + 1, column=mark.column + 1),
        )

    def convert(self, node: yaml.Node, path: PathKey, depth: int) -> Any:
        """The value of ``node``; the caller has recorded ``path``'s position (the key's, for mapping values)."""
        self.count += 1
        if self.count > MAX_NODES:
            raise self.error(f"document expands to more than {MAX_NODES:,} values (alias bomb?)", node)
        if depth > MAX_DEPTH:
            raise self.error(f"document nests deeper than {MAX_DEPTH} levels", node)
        cls = node.__class__
        positions = self.positions
        if cls is yaml.MappingNode:
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.__class__ is not yaml.ScalarNode:
                    raise self.error("mapping keys must be scalars", key_node)
                if key_node.tag == _MERGE_TAG:
                    raise self.error("YAML merge keys (<<) are not supported in Kubernetes manifests", key_node)
                raw = self.scalar(key_node)
                key = raw if isinstance(raw, str) else ("null" if raw is None else str(raw).lower())
                if key in out:
                    raise self.error(f"duplicate key '{key}'", key_node)
                child = (*path, key)
                mark = key_node.start_mark
                positions[child] = (mark.line + 1, mark.column + 1)
                out[key] = self.convert(value_node, child, depth + 1)
            return out
        if cls is yaml.SequenceNode:
            items = []
            for i, item in enumerate(node.value):
                child = (*path, i)
                mark = item.start_mark
                positions[child] = (mark.line + 1, mark.column + 1)
                items.append(self.convert(item, child, depth + 1))
            return items
        return self.scalar(node)

    def scalar(self, node: yaml.Node) -> Any:
        tag, value = node.tag, node.value
        # Fast paths for the common plain scalars; everything else (YAML 1.1 ints like 0x1f or 1_000, floats,
        # timestamps, binary) goes through PyYAML's own constructor.
        if tag == _STR_TAG:
            return value
        if tag == _BOOL_TAG and value.lower() in _BOOLS:
            return _BOOLS[value.lower()]
        if tag == _NULL_TAG:
            return None
        if tag == _INT_TAG and value.isdigit() and (value == "0" or value[0] != "0"):
            return int(value)
        try:
            return self._scalars.construct_object(node, deep=True)
        except yaml.YAMLError as err:
            raise self.error(f"cannot read scalar: {err}", node) from None


def load_documents(text: str, source: str) -> list[Document]:
    """All documents of a YAML (or JSON, a YAML subset) stream, empty documents skipped."""
    docs: list[Document] = []
    composed = 0  # documents composed so far = index of the one being composed, for error messages
    try:
        for index, node in enumerate(_compose_all(text)):
            composed = index + 1
            if node is None:
                continue
            conv = _Converter(source, index)
            conv.positions[()] = (node.start_mark.line + 1, node.start_mark.column + 1)
            data = conv.convert(node, (), 0)
            if data is None:  # an empty document ("---" followed by nothing)
                continue
            docs.append(Document(data=data, source=source, index=index, positions=conv.positions))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "invalid YAML"
        document = composed
        loc = Location(file=source, document=document)
        if mark is not None:
            loc = Location(file=source, document=document, line=mark.line + 1, column=mark.column + 1)
        raise InputError(f"not valid YAML: {problem}", loc) from None
    except yaml.YAMLError as err:
        raise InputError(f"not valid YAML: {err}", Location(file=source)) from None
    return docs


def _compose_all(text: str) -> Iterator[yaml.Node | None]:
    loader = _Loader(text)
    try:
        while loader.check_node():
            yield loader.get_node()
    finally:
        loader.dispose()


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
