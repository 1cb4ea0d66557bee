from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import SkipValidation
from litestar.response import Stream

from reelvault.accounts.auth import Principal
from reelvault.events.streams import LiveEvents

# Litestar's ServerSentEvent would encode every message per stream (and hop to a thread at
# its start); ours are encoded once per event, so a plain stream with SSE's headers does.
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class EventsController(Controller):
    path = "/api/generations/events"
    tags = ["Generations"]

    @get(
        "/",
        summary="Live updates of the caller's generations (Server-Sent Events)",
        description=(
            "`event: generation` with the GenerationItem each time one is created, imported, "
            "claimed, makes progress, completes or fails; `event: deleted` with "
            '`{"generation_id"}`; a comment line at least every 15 s. Every message has an '
            "`id:`. The stream may end (its client falling behind, a restart): reconnect and "
            "refetch the listing."
        ),
        media_type="text/event-stream",
    )
    async def events(
        self,
        request: Request[Principal, Any, Any],
        live_events: NamedDependency[SkipValidation[LiveEvents]],
    ) -> Stream:
        return Stream(
            await live_events.open(request.user),
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )
