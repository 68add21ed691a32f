"""The names virtnet gives the SpiderIPPools it suggests: ``<base>-v4`` / ``<base>-v6``."""

from __future__ import annotations

import re
from collections.abc import Sequence

from virtnet.model.suggest import PoolSuggestion

_FAMILY_SUFFIX = re.compile(r"-v[46]$")
_SEPARATORS = re.compile(r"[^0-9a-f]+")


def family_name(base: str, family: int) -> str:
    """``<base>-v4`` / ``<base>-v6``: a -v4/-v6 that ``base`` ends in is replaced, never doubled."""
    return f"{_FAMILY_SUFFIX.sub('', base)}-v{family}"


def subnet_base(subnet: str) -> str:
    """The subnet's address with '-' for its separators: ``10.7.0.0/16`` → ``10-7-0-0``, ``fd00::/64`` → ``fd00``."""
    return _SEPARATORS.sub("-", subnet.split("/")[0].lower()).strip("-")


def suggested_pool_names(suggestions: Sequence[PoolSuggestion], name: str | None) -> list[str]:
    """A name per suggestion: ``name`` itself for a single one; else ``<name>-v4``/``-v6``, or without ``name``
    the subnet's address (:func:`subnet_base`) with the family suffix."""
    if name and len(suggestions) == 1:
        return [name]
    return [family_name(name or subnet_base(str(s.subnet)), s.family) for s in suggestions]
