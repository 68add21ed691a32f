"""`virtnet status` (see docs/cluster.md)."""

from __future__ import annotations
