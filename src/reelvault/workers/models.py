"""Worker keys: what a generator process authenticates with on `/api/worker/...`."""

from __future__ import annotations

from advanced_alchemy.base import orm_registry
from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import Column, String, Table

# A key is `rvk_` + 43 URL-safe characters (32 random bytes): high entropy, so its SHA-256 is
# enough to store (no slow hash, no salt), and a lookup by digest is one unique-index read.
# Revoking deletes the row: every process refuses the key at its next request.
worker_key = Table(
    "worker_key",
    orm_registry.metadata,
    Column("id", GUID(), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    Column("last_used_at", DateTimeUTC(timezone=True), nullable=True),
)
