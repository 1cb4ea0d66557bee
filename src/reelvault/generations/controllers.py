from __future__ import annotations

from typing import Annotated, Any

from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter, SkipValidation

from reelvault.accounts.models import User
from reelvault.generations.models import GenerationStatus
from reelvault.generations.schemas import GenerationItem, GenerationPage, SortOrder
from reelvault.generations.services import GenerationService, ListingQuery
from reelvault.media.storage import MediaStore
from reelvault.paths import parse_id


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
        offset: Annotated[int, QueryParameter(ge=0, description="Items to skip")] = 0,
        status: Annotated[
            GenerationStatus | None,
            QueryParameter(description="Only this status; absent means all"),
        ] = None,
        q: Annotated[
            str | None,
            QueryParameter(max_length=500, description="Case-insensitive substring of the prompt"),
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
