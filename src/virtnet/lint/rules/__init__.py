"""The rule catalogue. Importing this package registers every rule."""

from virtnet.lint.rules import cloudinit, interfaces, ippool, kubevirt, multus, multusconfig  # noqa: F401
