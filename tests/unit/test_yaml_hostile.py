"""Hostile YAML is refused quickly, in bounded memory, with one error naming the file and document (exit 2).

The bounds are measured deterministically — values converted (the converter's work), Python memory allocated
(tracemalloc), or a CLI run under an address-space limit — never by wall-clock.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from virtnet.errors import InputError
from virtnet.formats import yamlio
from virtnet.formats.yamlio import MAX_ALIAS_VALUES, MAX_DEPTH, MAX_SCALAR, load_documents

VIRTNET = Path(sys.executable).parent / "virtnet"


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """The classic bomb: each level an anchored list of ``width`` aliases of the level below (9**9 leaves)."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: lol}", "data:"]
    lines.append(f"  l0: &l0 [{', '.join(['lol'] * width)}]")
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "---\nkind: Namespace\n---\n" + "\n".join(lines) + "\n"


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many values the exact path converted (one call of _Converter.convert per value)."""
    calls = [0]
    original = yamlio._Converter.convert

    def counting(self: yamlio._Converter, *args: object) -> object:
        calls[0] += 1
        return original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(yamlio._Converter, "convert", counting)
    return calls


def test_billion_laughs_is_refused_before_anything_is_expanded(conversions: list[int]) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as err:
            load_documents(billion_laughs(), "bomb.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(err.value)
    assert "alias bomb" in message
    assert err.value.location.file == "bomb.yaml"
    assert err.value.location.document == 1  # the second document of the stream
    assert conversions[0] == 0  # refused on the composed graph: not one value built
    assert peak < 5 * 1024 * 1024  # Python allocations while refusing it: a few hundred nodes


def test_aliases_below_the_limit_are_expanded() -> None:
    text = "base: &b {a: 1}\nlist: [" + ", ".join(["*b"] * 50) + "]\n"
    assert load_documents(text, "ok.yaml")[0].data["list"] == [{"a": 1}] * 50
    many = "base: &b [" + ", ".join(["x"] * 1000) + "]\nl: [" + ", ".join(["*b"] * (MAX_ALIAS_VALUES // 900)) + "]\n"
    with pytest.raises(InputError, match="alias bomb"):
        load_documents(many, "many.yaml")


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(InputError, match="refers to the node that contains it"):
        load_documents("a: &a [1, *a]\n", "loop.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("v: " + "[" * 100_000 + "]" * 100_000 + "\n", "nesting depth"),  # libyaml's limit (1000)
        ("- " * 5000 + "x\n", "nesting depth"),
        ("v: " + "[" * (MAX_DEPTH + 10) + "]" * (MAX_DEPTH + 10) + "\n", f"deeper than {MAX_DEPTH} levels"),
        ("".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 5)) + "  " * (MAX_DEPTH + 5) + "v\n", "deeper"),
    ],
    ids=["flow-100000", "block-5000", "flow-over-limit", "block-over-limit"],
)
def test_deep_nesting_is_refused(text: str, message: str, conversions: list[int]) -> None:
    with pytest.raises(InputError, match=message) as err:
        load_documents(text, "deep.yaml")
    assert err.value.location.file == "deep.yaml"
    assert conversions[0] <= MAX_DEPTH + 2


def test_a_huge_scalar_is_refused_without_copies() -> None:
    text = "v: " + "a" * (MAX_SCALAR + 1) + "\n"
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="larger than the API server accepts") as err:
            load_documents(text, "big.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.value.location.line == 1
    assert peak < 4 * len(text)  # the text itself (chunk slice) and one scalar — no per-character structures


def test_a_scalar_at_the_limit_is_read() -> None:
    (doc,) = load_documents("v: " + "a" * 1000 + "\n", "ok.yaml")
    assert len(doc.data["v"]) == 1000


def _limited() -> None:  # runs in the child before exec: at most 200 MiB of address space
    limit = 200 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_cli_refuses_the_bomb_in_bounded_memory(tmp_path: Path) -> None:
    """`virtnet lint` under a 200 MiB address-space limit: exit 2 and one line naming the file and document (before
    the fix the same input grew to 484 MB expanding aliases)."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs())
    proc = subprocess.run(
        [str(VIRTNET), "lint", str(bomb)], capture_output=True, text=True, preexec_fn=_limited, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{bomb}:" in proc.stderr
    assert "document 2" in proc.stderr
    assert "alias bomb" in proc.stderr
    assert proc.stderr.count("\n") == 1
