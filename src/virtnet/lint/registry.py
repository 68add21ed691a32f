"""The rule registry. Codes and slugs are unique; a duplicate fails at import time."""

from __future__ import annotations

import re
from collections.abc import Callable

from virtnet.lint.model import Check, Rule, Severity

REGISTRY: dict[str, Rule] = {}
_BY_SLUG: dict[str, Rule] = {}
_CODE = re.compile(r"^VN\d{3}$")
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class RegistryError(Exception):
    """A programming error in the rule catalogue (never user input)."""


def register(rule: Rule) -> Rule:
    if not _CODE.match(rule.code):
        raise RegistryError(f"rule code {rule.code!r} must be VN followed by three digits")
    if not _SLUG.match(rule.slug):
        raise RegistryError(f"rule slug {rule.slug!r} must be kebab-case")
    if rule.code in REGISTRY:
        raise RegistryError(f"rule code {rule.code} is used by {REGISTRY[rule.code].slug} and {rule.slug}")
    if rule.slug in _BY_SLUG:
        raise RegistryError(f"rule slug {rule.slug} is used by {_BY_SLUG[rule.slug].code} and {rule.code}")
    REGISTRY[rule.code] = rule
    _BY_SLUG[rule.slug] = rule
    return rule


def rule(
    *,
    code: str,
    slug: str,
    severity: Severity,
    summary: str,
    why: str,
    fix: str,
    references: tuple[str, ...],
    versions: str = "all supported versions",
    kinds: tuple[str, ...] = ("VirtualMachine", "VirtualMachineInstance"),
) -> Callable[[Check], Check]:
    """Register the decorated check function as a rule."""

    def decorate(check: Check) -> Check:
        register(
            Rule(
                code=code,
                slug=slug,
                severity=severity,
                summary=summary,
                why=why,
                fix=fix,
                references=references,
                versions=versions,
                kinds=kinds,
                check=check,
            )
        )
        return check

    return decorate


def lookup(key: str) -> Rule | None:
    """A rule by code (``VN001``) or slug."""
    return REGISTRY.get(key.upper()) or _BY_SLUG.get(key)


def all_rules() -> list[Rule]:
    import virtnet.lint.rules  # noqa: F401  (registers the catalogue)

    return sorted(REGISTRY.values(), key=lambda r: r.code)
