"""KubeVirt and SpiderPool versions: parsing, ordering and the supported ranges.

Only minor lines whose behaviour virtnet knows are accepted: KubeVirt v1.0 … v1.9 and SpiderPool v0.8 … v1.2 (the
facts behind each version-dependent decision are cited in :mod:`virtnet.model.capabilities`). Any patch release of a
known minor line is accepted; one newer than the newest release virtnet was checked against is handled like that
release, with a note saying so (:meth:`SupportedRange.note`), because a later patch of the same minor line keeps its
APIs and feature gates. An unknown minor line is refused: minor releases add and remove exactly what virtnet decides
on (bindings, gates, CRD fields). A version given without a
patch number means the ``.0`` patch of that minor line; an empty version is an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import total_ordering

from virtnet.errors import InputError, Location, UnsupportedVersionError

_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")


class Product(Enum):
    KUBEVIRT = "KubeVirt"
    SPIDERPOOL = "SpiderPool"


@total_ordering
@dataclass(frozen=True)
class Version:
    """A release version ``vMAJOR.MINOR.PATCH`` (pre-release suffixes are not supported)."""

    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _VERSION_RE.match(text.strip())
        if match is None:
            raise UnsupportedVersionError(f"'{text}' is not a version; write it as vMAJOR.MINOR.PATCH, e.g. v1.2.3")
        major, minor, patch = match.groups()
        return cls(int(major), int(minor), int(patch or 0))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return (self.major, self.minor, self.patch) < (other.major, other.minor, other.patch)

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}"

    @property
    def minor_line(self) -> str:
        return f"v{self.major}.{self.minor}"


V = Version.parse


@dataclass(frozen=True)
class SupportedRange:
    product: Product
    oldest: Version
    newest: Version  # the newest release virtnet was checked against; later patches of its minor are accepted

    @property
    def known(self) -> str:
        """``v1.0 to v1.9``: the minor lines virtnet knows."""
        return f"{self.oldest.minor_line} to {self.newest.minor_line}"

    def check(self, version: Version) -> Version:
        lowest = Version(self.oldest.major, self.oldest.minor)
        highest_minor = (self.newest.major, self.newest.minor)
        if version < lowest or (version.major, version.minor) > highest_minor:
            raise UnsupportedVersionError(
                f"{self.product.value} {version} is not supported: virtnet knows the minor lines {self.known} "
                f"(any patch release of them; newest release checked: {self.newest})"
            )
        return version

    def note(self, version: Version) -> str | None:
        """What to tell the user about an accepted ``version`` that is newer than any release virtnet was checked
        against (a later patch release of the newest minor line); None otherwise."""
        if version <= self.newest:
            return None
        return (
            f"{self.product.value} {version} is newer than {self.newest}, the newest release virtnet was checked "
            f"against; it is handled like {self.newest} (a patch release keeps the APIs and feature gates of its "
            "minor line)"
        )

    def parse(self, text: str) -> Version:
        try:
            version = Version.parse(text)
        except UnsupportedVersionError as err:
            raise UnsupportedVersionError(
                f"{self.product.value} version: {err}; supported: {self.known} (any patch release)"
            ) from None
        return self.check(version)

    def parse_or_newest(self, text: str | None) -> Version:
        """None means the newest supported; an empty string is an error like any other text that is no version."""
        return self.newest if text is None else self.parse(text)


# Newest releases known when the capability table was last checked against upstream tags:
# kubevirt/kubevirt v1.9.0 (tagged 2026-07-27), spidernet-io/spiderpool v1.2.2 (tagged 2026-07-02).
KUBEVIRT = SupportedRange(Product.KUBEVIRT, oldest=V("v1.0.0"), newest=V("v1.9.0"))
SPIDERPOOL = SupportedRange(Product.SPIDERPOOL, oldest=V("v0.8.0"), newest=V("v1.2.2"))


@dataclass(frozen=True)
class TargetVersions:
    """The pair of versions a bundle is rendered for or a manifest is linted against."""

    kubevirt: Version = KUBEVIRT.newest
    spiderpool: Version = SPIDERPOOL.newest

    @classmethod
    def parse(cls, kubevirt: str | None = None, spiderpool: str | None = None) -> TargetVersions:
        """None means the newest supported; an empty string is an error like any other text that is no version."""
        return cls(kubevirt=KUBEVIRT.parse_or_newest(kubevirt), spiderpool=SPIDERPOOL.parse_or_newest(spiderpool))

    def notes(self) -> list[str]:
        """Notes about versions newer than the newest release virtnet was checked against."""
        return [n for n in (KUBEVIRT.note(self.kubevirt), SPIDERPOOL.note(self.spiderpool)) if n]

    def __str__(self) -> str:
        return f"KubeVirt {self.kubevirt}, SpiderPool {self.spiderpool}"


def parse_target_versions(
    kubevirt: str | None, spiderpool: str | None, where: Callable[[Product], Location]
) -> TargetVersions:
    """The versions the user wrote (None = the newest supported; '' is an error like any other text that is no
    version). A version that is wrong is an :class:`InputError` at ``where(product)``: the flag or the intent field
    it was written in (only called for an error). KubeVirt's version is checked first."""
    return TargetVersions(
        kubevirt=_parse_at(KUBEVIRT, kubevirt, where), spiderpool=_parse_at(SPIDERPOOL, spiderpool, where)
    )


def _parse_at(supported: SupportedRange, text: str | None, where: Callable[[Product], Location]) -> Version:
    try:
        return supported.parse_or_newest(text)
    except UnsupportedVersionError as err:
        raise InputError(str(err), where(supported.product)) from None
