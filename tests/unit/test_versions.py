from __future__ import annotations

import pytest

from virtnet.errors import InputError, Location, UnsupportedVersionError
from virtnet.model.versions import KUBEVIRT, SPIDERPOOL, Product, TargetVersions, Version, parse_target_versions


@pytest.mark.parametrize(
    ("text", "expected"),
    [("v1.0.1", Version(1, 0, 1)), ("1.5", Version(1, 5, 0)), (" v0.8.13 ", Version(0, 8, 13))],
)
def test_parse(text: str, expected: Version) -> None:
    assert Version.parse(text) == expected


def test_ordering_is_numeric_not_lexical() -> None:
    assert Version.parse("v1.10.0") > Version.parse("v1.9.9")
    assert Version.parse("v0.8.13") > Version.parse("v0.8.2")


@pytest.mark.parametrize("text", ["1", "v1.2.3-rc1", "latest", ""])
def test_parse_rejects_garbage(text: str) -> None:
    with pytest.raises(UnsupportedVersionError, match=r"vMAJOR\.MINOR\.PATCH"):
        Version.parse(text)


@pytest.mark.parametrize("text", ["v0.9.9", "v1.10.0", "v2.0.0"])
def test_unsupported_kubevirt_lists_the_range(text: str) -> None:
    with pytest.raises(UnsupportedVersionError) as err:
        KUBEVIRT.parse(text)
    assert "v1.0 to v1.9" in str(err.value)


@pytest.mark.parametrize("text", ["v0.7.0", "v1.3.0"])
def test_unsupported_spiderpool_lists_the_range(text: str) -> None:
    with pytest.raises(UnsupportedVersionError, match=r"v0\.8 to v1\.2"):
        SPIDERPOOL.parse(text)


def test_later_patch_of_newest_minor_is_accepted() -> None:
    assert KUBEVIRT.parse("v1.9.4") == Version(1, 9, 4)


def test_defaults_are_the_newest() -> None:
    versions = TargetVersions.parse()
    assert versions.kubevirt == KUBEVIRT.newest
    assert versions.spiderpool == SPIDERPOOL.newest


def _flag(product: Product) -> Location:
    return Location(path={Product.KUBEVIRT: "--kubevirt-version", Product.SPIDERPOOL: "--spiderpool-version"}[product])


def test_parse_target_versions_none_is_the_newest() -> None:
    assert parse_target_versions(None, None, _flag) == TargetVersions()
    assert parse_target_versions("v1.4", "v0.9.2", _flag) == TargetVersions(Version(1, 4, 0), Version(0, 9, 2))


@pytest.mark.parametrize(
    ("kubevirt", "spiderpool", "where", "wrong"),
    [
        ("v3.0", "nope", "--kubevirt-version", "v3.0"),  # KubeVirt's version is checked first
        ("", None, "--kubevirt-version", ""),  # '' is an error, not "the default"
        ("v1.9.0", "v0.7.0", "--spiderpool-version", "v0.7.0"),
        (None, "", "--spiderpool-version", ""),
    ],
)
def test_parse_target_versions_names_where_the_wrong_version_was_written(
    kubevirt: str | None, spiderpool: str | None, where: str, wrong: str
) -> None:
    supported = KUBEVIRT if where == "--kubevirt-version" else SPIDERPOOL
    with pytest.raises(UnsupportedVersionError) as expected:
        supported.parse(wrong)
    with pytest.raises(InputError) as err:
        parse_target_versions(kubevirt, spiderpool, _flag)
    assert (err.value.message, err.value.location) == (str(expected.value), Location(path=where))
