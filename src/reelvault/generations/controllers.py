from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post, route
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter, SkipValidation

from reelvault.accounts.auth import JSON, Principal, media_type
from reelvault.delivery.responder import MediaDelivery, thumbnail_file, video_file
from reelvault.generations.bodies import read_json
from reelvault.generations.deps import provide_generations
from reelvault.generations.listing import ListingQuery, SortOrder
from reelvault.generations.models import GenerationStatus
from reelvault.generations.openapi import VIDEO_RESPONSES, ImportOperation, VideoOperation
from reelvault.generations.schemas import (
    DeletedGeneration,
    GenerationItem,
    GenerationPage,
    GenerationRequest,
)
from reelvault.generations.services import GenerationService
from reelvault.paths import parse_id

# The token's principal: each service call below proves the account in its own statement.
Owner = NamedDependency[SkipValidation[Principal]]
Generations = NamedDependency[SkipValidation[GenerationService]]
MULTIPART = "multipart/form-data"
Version = Annotated[
    str | None,
    QueryParameter(
        max_length=64, description="The media version from the item's URL; cached as immutable"
    ),
]


class GenerationController(Controller):
    path = "/api/generations"
    tags = ["Generations"]
    dependencies = {"generations": Provide(provide_generations)}

    @get("/", summary="List the caller's generations")
    async def list_generations(
        self,
        owner: Owner,
        generations: Generations,
        limit: Annotated[int, QueryParameter(ge=1, le=100, description="Page size")] = 20,
        offset: Annotated[int, QueryParameter(ge=0, le=2**63 - 1, description="Items to skip")] = 0,
        status: Annotated[
            GenerationStatus | None,
            QueryParameter(description="Only this status; absent means all"),
        ] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                max_length=500,
                pattern=r"^[^\x00]*$",  # PostgreSQL text cannot hold NUL
                description="Case-insensitive substring of the prompt",
            ),
        ] = None,
        sort: Annotated[SortOrder, QueryParameter(description="Order by creation time")] = (
            "created_at_desc"
        ),
        cursor: Annotated[
            str | None,
            QueryParameter(
                max_length=512,
                description="The previous page's `next_cursor`: the page after it (keyset)",
            ),
        ] = None,
    ) -> GenerationPage:
        query = ListingQuery(
            limit=limit, offset=offset, status=status, q=q, sort=sort, cursor=cursor
        )
        return await generations.page_for_owner(owner.id, query)

    @get("/{generation_id:str}", summary="One of the caller's generations")
    async def get_generation(
        self, owner: Owner, generations: Generations, generation_id: FromPath[str]
    ) -> GenerationItem:
        return await generations.item_for_owner(parse_id(generation_id), owner.id)

    @post(
        "/",
        status_code=201,
        summary="Request a generation (JSON), or import a video file (multipart)",
        operation_class=ImportOperation,
        # An import is streamed to disk by the service, which enforces the upload limit itself;
        # a JSON request is read with its own small bound.
        request_max_body_size=None,
        opt={"body_media_types": (JSON, MULTIPART)},
    )
    async def create_generation(
        self, request: Request[Principal, Any, Any], owner: Owner, generations: Generations
    ) -> GenerationItem:
        content_type = request.headers.get("content-type")
        if media_type(content_type or "") == JSON:
            wanted = await read_json(request.stream(), GenerationRequest)
            return await generations.request(owner.id, wanted)
        # The service proves the account itself, then streams with no connection held.
        return await generations.import_upload(owner.id, request.stream(), content_type)

    @delete(
        "/{generation_id:str}",
        status_code=200,
        summary="Delete a generation: its video, thumbnail and record, all or nothing",
    )
    async def delete_generation(
        self, owner: Owner, generations: Generations, generation_id: FromPath[str]
    ) -> DeletedGeneration:
        parsed = parse_id(generation_id)
        await generations.delete_for_owner(parsed, owner.id)
        return DeletedGeneration(generation_id=parsed)


class MediaController(Controller):
    tags = ["Media"]
    dependencies = {"generations": Provide(provide_generations)}

    @route(
        "/api/video/{generation_id:str}",
        http_method=["GET", "HEAD"],
        summary="The caller's video, with HTTP range support",
        media_type="video/mp4",
        responses=VIDEO_RESPONSES,
        operation_class=VideoOperation,
    )
    async def video(
        self,
        request: Request[Principal, Any, Any],
        owner: Owner,
        generations: Generations,
        delivery: NamedDependency[SkipValidation[MediaDelivery]],
        generation_id: FromPath[str],
        v: Version = None,
    ) -> Response[Any]:
        parsed = parse_id(generation_id)
        stored = await generations.video_for_owner(parsed, owner.id)
        media = video_file(
            parsed, owner.id, stored.relpath, immutable=current_version(v, stored.version)
        )
        return await delivery.respond(media, request.method, request.headers)

    @get(
        "/api/thumbnail/{generation_id:str}",
        summary="The thumbnail of the caller's generation",
        media_type="image/jpeg",
        responses={304: ResponseSpec(None, description="Not modified")},
    )
    async def thumbnail(
        self,
        request: Request[Principal, Any, Any],
        owner: Owner,
        generations: Generations,
        delivery: NamedDependency[SkipValidation[MediaDelivery]],
        generation_id: FromPath[str],
        v: Version = None,
    ) -> Response[Any]:
        parsed = parse_id(generation_id)
        stored = await generations.thumbnail_for_owner(parsed, owner.id)
        media = thumbnail_file(
            parsed, owner.id, stored.relpath, immutable=current_version(v, stored.version)
        )
        # Thumbnails are small and cached by the browser: served by the app in every mode.
        return await delivery.respond(media, request.method, request.headers, accel=False)


def current_version(requested: str | None, stored: str | None) -> bool:
    """Immutable caching only for the URL of the bytes being sent; a stale `?v=` still
    answers (with the current bytes) but may be revalidated."""
    return requested is not None and stored is not None and requested == stored
