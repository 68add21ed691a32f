"""The SpiderIPPools of manifest documents (any ``…List`` unpacked), e.g. the pools `virtnet pool suggest
--existing` keeps clear of."""

from __future__ import annotations

from collections.abc import Sequence

from virtnet.errors import InputError
from virtnet.formats.yamlio import Document, manifest_objects
from virtnet.model.ippool import PoolSpec


def pool_specs(documents: Sequence[Document]) -> list[PoolSpec]:
    """Every SpiderIPPool of the documents, in order; a pool virtnet cannot read is an error at its field."""
    pools: list[PoolSpec] = []
    for doc in documents:
        for obj, where in manifest_objects(doc):
            if obj.get("kind") == "SpiderIPPool":
                try:
                    pools.append(PoolSpec.from_manifest(obj))
                except InputError as err:
                    raise doc.locate(err, where) from None
    return pools
