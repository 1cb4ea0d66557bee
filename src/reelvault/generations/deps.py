"""The generations service, built per request with its collaborators: the request's database
session, the media store and the upload policy (limits, quota, cap, idle cut-off)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from litestar.di import NamedDependency
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.generations.admission import UploadPolicy
from reelvault.generations.services import GenerationService
from reelvault.settings import Settings
from reelvault.storage.store import MediaStore


async def provide_generations(
    db_session: NamedDependency[SkipValidation[AsyncSession]],
    media: NamedDependency[SkipValidation[MediaStore]],
    settings: NamedDependency[SkipValidation[Settings]],
) -> AsyncGenerator[GenerationService, None]:
    yield GenerationService(
        session=db_session, store=media, uploads=UploadPolicy.from_settings(settings)
    )
