"""The rule catalogue. Importing this package registers every rule."""

from virtnet.lint.rules import (  # noqa: F401
    cloudinit,
    duplicates,
    interfaces,
    ippool,
    ippool_fields,
    ippool_overlap,
    kubevirt,
    multus,
    multusconfig,
    noip,
    schema,
    suppression,
)
