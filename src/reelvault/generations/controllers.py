from __future__ import annotations

from typing import Annotated, Any

from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter, SkipValidation

from reelvault.accounts.models import User
from reelvault.generations.models import GenerationStatus
from reelvault.generations.openapi import ImportOperation
from reelvault.generations.schemas import (
    DeletedGeneration,
    GenerationItem,
    GenerationPage,
    SortOrder,
)
from reelvault.generations.services import GenerationService, ListingQuery
from reelvault.media.storage import MediaStore
from reelvault.paths import parse_id
from reelvault.settings import Settings


class GenerationController(Controller):
    path = "/api/generations"
    tags = ["Generations"]
    dependencies = {"generations": Provide(create_service_provider(GenerationService))}

    @get("/", summary="List the caller's generations")
    async def list_generations(
        self,
        request: Request[User, Any, Any],
        generations: NamedDependency[GenerationService],
        media: NamedDependency[SkipValidation[MediaStore]],
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
    ) -> GenerationPage:
        query = ListingQuery(limit=limit, offset=offset, status=status, q=q, sort=sort)
        return await generations.page_for_owner(request.user.id, query, media)

    @get("/{generation_id:str}", summary="One of the caller's generations")
    async def get_generation(
        self,
        request: Request[User, Any, Any],
        generations: NamedDependency[GenerationService],
        media: NamedDependency[SkipValidation[MediaStore]],
        generation_id: FromPath[str],
    ) -> GenerationItem:
        return await generations.item_for_owner(parse_id(generation_id), request.user.id, media)

    @post(
        "/",
        status_code=201,
        summary="Import a video file as a completed generation",
        operation_class=ImportOperation,
        # The body is streamed to disk by the service, which enforces the upload limit itself.
        request_max_body_size=None,
        responses={
            413: ResponseSpec(None, description="The file is over the maximum upload size"),
            415: ResponseSpec(None, description="The file is not a playable video"),
        },
    )
    async def import_generation(
        self,
        request: Request[User, Any, Any],
        generations: NamedDependency[GenerationService],
        media: NamedDependency[SkipValidation[MediaStore]],
        settings: NamedDependency[SkipValidation[Settings]],
    ) -> GenerationItem:
        return await generations.import_upload(
            request.user.id,
            request.stream(),
            request.headers.get("content-type"),
            media,
            settings.max_upload_bytes,
        )

    @delete(
        "/{generation_id:str}",
        status_code=200,
        summary="Delete a generation: its video, thumbnail and record, all or nothing",
        responses={403: ResponseSpec(None, description="The video belongs to someone else")},
    )
    async def delete_generation(
        self,
        request: Request[User, Any, Any],
        generations: NamedDependency[GenerationService],
        media: NamedDependency[SkipValidation[MediaStore]],
        generation_id: FromPath[str],
    ) -> DeletedGeneration:
        parsed = parse_id(generation_id)
        await generations.delete_for_owner(parsed, request.user.id, media)
        return DeletedGeneration(generation_id=parsed)
