from __future__ import annotations

from uuid import UUID

from reelvault.errors import NotFound


def parse_id(raw: str) -> UUID:
    """The id in a path, in the contract's one spelling: canonical lower-case UUID. A malformed
    id, or another spelling of a real one (upper case, braces, no hyphens, a `urn:uuid:`
    prefix), is answered exactly like an unknown id (the contract's 404)."""
    try:
        parsed = UUID(raw)
    except ValueError:
        raise NotFound("Video not found") from None
    if str(parsed) != raw:
        raise NotFound("Video not found")
    return parsed
