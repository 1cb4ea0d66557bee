from __future__ import annotations

from uuid import UUID

from reelvault.errors import NotFound


def parse_id(raw: str) -> UUID:
    """A malformed id is answered exactly like an unknown one (the contract's 404)."""
    try:
        return UUID(raw)
    except ValueError:
        raise NotFound("Video not found") from None
