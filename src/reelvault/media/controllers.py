from __future__ import annotations

from typing import Any

from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Controller, Request, Response, get, route
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, SkipValidation

from reelvault.accounts.models import User
from reelvault.generations.services import GenerationService
from reelvault.media.delivery import MediaDelivery, thumbnail_file, video_file
from reelvault.paths import parse_id

VIDEO_RESPONSES = {
    206: ResponseSpec(None, description="The requested byte range(s)", media_type="video/mp4"),
    304: ResponseSpec(None, description="Not modified"),
    400: ResponseSpec(None, description="Video not ready"),
    404: ResponseSpec(None, description="Video not found"),
    412: ResponseSpec(None, description="Precondition failed"),
    416: ResponseSpec(None, description="Range not satisfiable"),
}


class MediaController(Controller):
    tags = ["Media"]
    dependencies = {"generations": Provide(create_service_provider(GenerationService))}

    @route(
        "/api/video/{generation_id:str}",
        http_method=["GET", "HEAD"],
        summary="The caller's video, with HTTP range support",
        media_type="video/mp4",
        responses=VIDEO_RESPONSES,
    )
    async def video(
        self,
        request: Request[User, Any, Any],
        generations: NamedDependency[GenerationService],
        delivery: NamedDependency[SkipValidation[MediaDelivery]],
        generation_id: FromPath[str],
    ) -> Response[Any]:
        generation = await generations.playable_for_owner(parse_id(generation_id), request.user.id)
        media = video_file(generation.id, request.user.id, generation.video_path)
        return await delivery.respond(media, request.method, request.headers)

    @get(
        "/api/thumbnail/{generation_id:str}",
        summary="The thumbnail of the caller's generation",
        media_type="image/jpeg",
        responses={
            304: ResponseSpec(None, description="Not modified"),
            404: ResponseSpec(None, description="Thumbnail not found"),
        },
    )
    async def thumbnail(
        self,
        request: Request[User, Any, Any],
        generations: NamedDependency[GenerationService],
        delivery: NamedDependency[SkipValidation[MediaDelivery]],
        generation_id: FromPath[str],
    ) -> Response[Any]:
        generation = await generations.with_thumbnail_for_owner(
            parse_id(generation_id), request.user.id
        )
        media = thumbnail_file(generation.id, request.user.id, generation.thumbnail_path)
        # Thumbnails are small and cached by the browser: served by the app in every mode.
        return await delivery.respond(media, request.method, request.headers, accel=False)
