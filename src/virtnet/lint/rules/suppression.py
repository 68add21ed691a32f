"""VN041 suppression-unknown: an ``ignore-check.virtnet.io/<slug>`` annotation that names no rule (issue 9).

A typo (``cloudinit-network-mismatc``) or a code instead of a slug (``VN019``) suppresses nothing, silently. The
engine runs it on every object, whatever its kind (``kinds=("*",)``)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping

from virtnet.lint.context import LintContext
from virtnet.lint.model import LintObject, Severity, Violation
from virtnet.lint.registry import REGISTRY, lookup, rule

SUPPRESS_PREFIX = "ignore-check.virtnet.io/"


@rule(
    code="VN041",
    slug="suppression-unknown",
    severity=Severity.WARNING,
    summary="an ignore-check.virtnet.io/<slug> annotation that names no rule (a typo, or a code instead of a slug)",
    why="A suppression is matched by the rule's slug exactly: any other name suppresses nothing, so the finding it "
    "was meant to silence is still reported and the annotation misleads the next reader.",
    fix="Use the rule's slug as `virtnet rules` lists it: ignore-check.virtnet.io/<slug>.",
    references=("docs/lint.md (suppressing a finding)",),
    kinds=("*",),  # every object, whatever its kind (virtnet.lint.engine.ANY_KIND)
)  # fmt: skip
def suppression_unknown(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    return unknown_suppressions(obj.annotations)


def unknown_suppressions(annotations: Mapping[str, object]) -> Iterator[Violation]:
    """A violation for every suppression annotation whose slug is not a rule's, with the likeliest slug."""
    for key in annotations:
        if not isinstance(key, str) or not key.startswith(SUPPRESS_PREFIX):
            continue
        name = key[len(SUPPRESS_PREFIX) :]
        slugs = sorted(r.slug for r in REGISTRY.values())
        if name in slugs:
            continue
        by_code = lookup(name)
        if by_code is not None:
            guess: str | None = by_code.slug
            why = f"{name} is a code; suppressions name the slug"
        else:
            close = difflib.get_close_matches(name.lower(), slugs, n=1, cutoff=0.6)
            guess = close[0] if close else None
            why = f"no rule has the slug '{name}'"
        hint = f"; did you mean {SUPPRESS_PREFIX}{guess}?" if guess else "; `virtnet rules` lists the slugs"
        yield Violation(
            f"suppression {key} suppresses nothing: {why}{hint}",
            ("metadata", "annotations", key),
            fix=f"Rename the annotation to {SUPPRESS_PREFIX}{guess}." if guess else None,
        )
