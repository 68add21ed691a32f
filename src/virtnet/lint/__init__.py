"""Rule engine and rule catalogue for ``virtnet lint``. No I/O: objects in, findings out.

A rule is metadata plus a pure function that sees every object (through :class:`LintContext`) but reports only on
the one it is given; the engine attaches code, severity, fix, object identity and source position.
"""

from virtnet.lint.engine import LintOptions, lint
from virtnet.lint.model import Finding, LintResult, Severity
from virtnet.lint.registry import REGISTRY, all_rules

__all__ = ["REGISTRY", "Finding", "LintOptions", "LintResult", "Severity", "all_rules", "lint"]
