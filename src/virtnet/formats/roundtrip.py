"""YAML round trip for edits of the user's own files (``virtnet set network --local``): comments kept.

ruamel.yaml's round-trip mode keeps what PyYAML drops: comments, key order, quoting, block/flow style, literal
blocks, document separators. An edit is applied with :func:`sync`, which changes a loaded document only where the
new value differs, so every untouched node keeps its formatting and comments. What does not survive: comments
attached to list items that move or disappear, the formatting of values that change (a changed multi-line string is
written as a literal block), and indentation details the file mixes (one indentation, guessed from the file, is used
for the whole output).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString

from virtnet.errors import InputError, Location

_SEQ_UNDER_KEY = re.compile(r"^( *)[^\s#-][^:]*:\s*(#.*)?$")
_SEQ_ITEM = re.compile(r"^( *)- ")


def _yaml(text: str = "") -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    offset = _sequence_offset(text)
    yaml.indent(mapping=2, sequence=2 + offset, offset=offset)
    return yaml


def _sequence_offset(text: str) -> int:
    """0 when list items sit under their key (``key:\\n- item``, kubectl's style), 2 when indented."""
    previous: re.Match[str] | None = None
    for line in text.splitlines():
        item = _SEQ_ITEM.match(line)
        if item and previous is not None:
            return max(0, len(item.group(1)) - len(previous.group(1)))
        previous = _SEQ_UNDER_KEY.match(line)
    return 0


def load_all(text: str, source: str) -> list[Any]:
    """Every non-empty document of ``text``, as round-trip nodes (in the order of
    :func:`virtnet.formats.yamlio.load_documents`)."""
    try:
        return [doc for doc in _yaml(text).load_all(text) if doc is not None]
    except YAMLError as err:
        raise InputError(f"not valid YAML: {str(err).splitlines()[0]}", Location(file=source)) from None


def dump_all(documents: Sequence[Any], text: str = "") -> str:
    """The documents as a YAML stream, formatted like ``text`` (the file they came from)."""
    out = io.StringIO()
    yaml = _yaml(text)
    if len(documents) > 1 or text.lstrip().startswith("---"):
        yaml.explicit_start = True
    yaml.dump_all(list(documents), out)
    return out.getvalue()


def dump_one(document: Any, text: str = "") -> str:
    out = io.StringIO()
    _yaml(text).dump(document, out)
    return out.getvalue()


def fresh(value: Any) -> Any:
    """A plain value as round-trip nodes (multi-line strings as literal blocks)."""
    if isinstance(value, Mapping):
        node = CommentedMap()
        for k, v in value.items():
            node[k] = fresh(v)
        return node
    if isinstance(value, list):
        seq = CommentedSeq()
        seq.extend(fresh(v) for v in value)
        return seq
    if isinstance(value, str) and "\n" in value:
        return LiteralScalarString(value)
    return value


def plain(node: Any) -> Any:
    """Round-trip nodes as plain Python values (dict, list, str, int, float, bool, None)."""
    if isinstance(node, Mapping):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def _named(items: Sequence[Any]) -> bool:
    names = [item.get("name") if isinstance(item, Mapping) else None for item in items]
    return all(isinstance(n, str) for n in names) and len(set(names)) == len(names)


def sync(node: Any, new: Any) -> Any:
    """Make ``node`` equal to ``new``, changing only what differs; returns the node to put in place of ``node``."""
    if isinstance(node, CommentedMap) and isinstance(new, Mapping):
        for key in [k for k in node if k not in new]:
            del node[key]
        for position, (key, value) in enumerate(new.items()):
            if key in node:
                node[key] = sync(node[key], value)
            else:
                node.insert(min(position, len(node)), key, fresh(value))
        return node
    if isinstance(node, CommentedSeq) and isinstance(new, list):
        if len(node) == len(new) and (
            not _named(new) or [plain(x).get("name") for x in node] == [x["name"] for x in new]
        ):
            for i, value in enumerate(new):
                node[i] = sync(node[i], value)
            return node
        if _named(new) and _named(node):
            by_name = {item["name"]: item for item in node}
            items = [sync(by_name[v["name"]], v) if v["name"] in by_name else fresh(v) for v in new]
        else:
            items = [sync(node[i], v) if i < len(node) else fresh(v) for i, v in enumerate(new)]
        node.clear()
        node.ca.items.clear()  # comments attached to positions would land on other items
        node.extend(items)
        return node
    if plain(node) == new and type(plain(node)) is type(new):
        return node  # same value: keep its quoting and style
    return fresh(new)
