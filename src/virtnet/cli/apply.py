"""`virtnet apply` (see docs/cluster.md)."""

from __future__ import annotations
