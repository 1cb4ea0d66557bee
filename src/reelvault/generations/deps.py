"""The generations service, built per request with its collaborators: the request's database
session, the media store and the upload limit."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from litestar.di import NamedDependency
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.generations.services import GenerationService
from reelvault.settings import Settings
from reelvault.storage.store import MediaStore


async def provide_generations(
    db_session: NamedDependency[SkipValidation[AsyncSession]],
    media: NamedDependency[SkipValidation[MediaStore]],
    settings: NamedDependency[SkipValidation[Settings]],
) -> AsyncGenerator[GenerationService, None]:
    yield GenerationService(
        session=db_session, store=media, max_upload_bytes=settings.max_upload_bytes
    )
