"""The seek-preview storyboards: a WebVTT whose cues name tiles of a JPEG sprite."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.accounts.auth import Principal
from reelvault.delivery.responder import (
    IMMUTABLE_CACHE,
    MediaDelivery,
    storyboard_file,
)
from reelvault.generations.controllers import Owner, Version, current_version
from reelvault.generations.schemas import storyboard_sprite_url
from reelvault.generations.storyboards import StoryboardMaker, StoryboardService
from reelvault.media.storyboard import webvtt
from reelvault.paths import parse_id

VTT_TYPE = "text/vtt; charset=utf-8"
# Without the version in its URL, a storyboard is revalidated (its ETag makes that a 304).
VTT_CACHE = "private, no-cache"


async def provide_storyboards(
    db_session: NamedDependency[SkipValidation[AsyncSession]],
    storyboards: NamedDependency[SkipValidation[StoryboardMaker]],
) -> AsyncGenerator[StoryboardService, None]:
    yield StoryboardService(db_session, storyboards)


Storyboards = NamedDependency[SkipValidation[StoryboardService]]


class StoryboardController(Controller):
    path = "/api/storyboard"
    tags = ["Media"]
    dependencies = {"storyboard_service": Provide(provide_storyboards)}

    @get(
        "/{generation_id:str}",
        summary="The seek-preview storyboard of the caller's video (WebVTT)",
        media_type=VTT_TYPE,
        responses={304: ResponseSpec(None, description="Not modified")},
    )
    async def storyboard(
        self,
        request: Request[Principal, Any, Any],
        owner: Owner,
        storyboard_service: Storyboards,
        generation_id: FromPath[str],
        v: Version = None,
    ) -> Response[str]:
        parsed = parse_id(generation_id)
        found = await storyboard_service.for_owner(parsed, owner.id)
        body = webvtt(found.layout, storyboard_sprite_url(parsed, found.version))
        return text_answer(
            body,
            VTT_TYPE,
            IMMUTABLE_CACHE if current_version(v, found.version) else VTT_CACHE,
            request.headers.get("if-none-match"),
        )

    @get(
        "/{generation_id:str}/sprite.jpg",
        summary="The storyboard's sprite: its tiles in a grid (JPEG)",
        media_type="image/jpeg",
        responses={304: ResponseSpec(None, description="Not modified")},
    )
    async def sprite(
        self,
        request: Request[Principal, Any, Any],
        owner: Owner,
        storyboard_service: Storyboards,
        delivery: NamedDependency[SkipValidation[MediaDelivery]],
        generation_id: FromPath[str],
        v: Version = None,
    ) -> Response[Any]:
        parsed = parse_id(generation_id)
        found = await storyboard_service.for_owner(parsed, owner.id)
        media = storyboard_file(
            parsed, owner.id, found.relpath, immutable=current_version(v, found.version)
        )
        # Small and cached by the browser, as thumbnails are: served by the app in every mode.
        return await delivery.respond(media, request.method, request.headers, accel=False)


def text_answer(
    body: str, content_type: str, cache_control: str, if_none_match: str | None
) -> Response[str]:
    """A small text body with a strong ETag of its bytes; 304 where the client has them."""
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if if_none_match is not None and etag_matches(if_none_match, etag):
        return Response("", status_code=304, headers=headers, media_type=content_type)
    return Response(body, headers=headers, media_type=content_type)


def etag_matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match's weak comparison (RFC 9110 13.1.2): `*`, or any listed tag."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags
