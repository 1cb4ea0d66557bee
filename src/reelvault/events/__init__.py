"""Live events: `emit` in a service's transaction, delivered to the owner's open streams."""

from reelvault.events.bus import emit

__all__ = ["emit"]
