from __future__ import annotations

import pytest

from virtnet.errors import InputError
from virtnet.formats.yamlio import dump_yaml_stream, format_path, load_documents, parse_path


def test_positions_of_fields_and_list_items() -> None:
    (doc,) = load_documents("a: 1\nb:\n  - x: true\n    t: |\n      hi\n", "f.yaml")
    assert doc.data == {"a": 1, "b": [{"x": True, "t": "hi\n"}]}
    assert doc.position(("b", 0, "t")) == (4, 5)
    assert doc.position(("b", 0, "missing")) == (3, 5)  # nearest ancestor
    loc = doc.location(("b", 0, "t"))
    assert (loc.file, loc.document, loc.path, loc.line) == ("f.yaml", 0, "b[0].t", 4)


def test_empty_documents_are_skipped_but_indexes_kept() -> None:
    docs = load_documents("---\n---\nkind: A\n---\nkind: B\n", "s")
    assert [(d.index, d.data["kind"]) for d in docs] == [(1, "A"), (2, "B")]


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("a: 1\n---\nb: [\n", ["s:4:1", "document 2", "not valid YAML"]),
        ("a: 1\na: 2\n", ["s:2:1", "duplicate key 'a'"]),
        ("a: &x [1]\nc:\n  <<: *x\n", ["s:3:3", "map merge requires map or sequence of maps"]),
        ("[" * 5000, ["nesting"]),
    ],
)
def test_bad_yaml_is_one_clear_input_error(text: str, needles: list[str]) -> None:
    with pytest.raises(InputError) as err:
        load_documents(text, "s")
    for needle in needles:
        assert needle in str(err.value)


def test_alias_bomb_is_bounded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(InputError, match="alias bomb"):
        load_documents("\n".join(lines) + "\n", "bomb.yaml")


def test_paths_round_trip() -> None:
    path = ("spec", "nics", 1, "pools", 0, "subnet")
    assert format_path(path) == "spec.nics[1].pools[0].subnet"
    assert parse_path(format_path(path)) == path


def test_dump_keeps_order_and_uses_literal_blocks() -> None:
    text = dump_yaml_stream([{"z": 1, "a": "line1\nline2\n"}])
    assert text == "---\nz: 1\na: |\n  line1\n  line2\n"
