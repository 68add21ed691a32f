"""Counting and listing in messages: ``2 entries``, ``pool-a, pool-b, … and 3 more``."""

from __future__ import annotations

from collections.abc import Sequence

MAX_LISTED = 5  # names (or address ranges) one message shows; the rest are counted


def plural(count: int, word: str) -> str:
    """``1 entry``, ``2 entries``, ``2 addresses``, ``3 interfaces``, ``2 matches``."""
    if count == 1:
        return f"1 {word}"
    if word.endswith("y"):
        return f"{count} {word[:-1]}ies"
    return f"{count} {word}es" if word.endswith(("s", "x", "ch", "sh")) else f"{count} {word}s"


def listed(names: Sequence[str], *, more: str = "more") -> str:
    """``a, b, c`` or, beyond :data:`MAX_LISTED`, ``a, b, c, d, e and 4 more`` (``more``: what follows the count,
    e.g. ``more ranges``)."""
    shown = ", ".join(names[:MAX_LISTED])
    return f"{shown} and {len(names) - MAX_LISTED} {more}" if len(names) > MAX_LISTED else shown
