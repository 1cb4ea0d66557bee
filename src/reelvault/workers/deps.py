"""Dependencies of the workers domain: the key a request proved, and the service."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.generations.admission import UploadPolicy
from reelvault.generations.deps import media_jobs
from reelvault.generations.services import GenerationService
from reelvault.generations.storyboards import StoryboardMaker
from reelvault.settings import Settings
from reelvault.storage.backend import MediaBackend
from reelvault.storage.store import MediaStore
from reelvault.workers.auth import Worker
from reelvault.workers.services import WorkerService


def provide_worker(request: Request[Worker, Any, Any]) -> Worker:
    return request.user


async def provide_worker_service(
    db_session: NamedDependency[SkipValidation[AsyncSession]],
    media: NamedDependency[SkipValidation[MediaStore]],
    backend: NamedDependency[SkipValidation[MediaBackend]],
    settings: NamedDependency[SkipValidation[Settings]],
    storyboards: NamedDependency[SkipValidation[StoryboardMaker]],
    state: State,
) -> AsyncGenerator[WorkerService, None]:
    # A worker's result is the owner's video: the owner's limits (size, quota) apply to it as
    # to an import, and it goes through the app's one runner of media children.
    generations = GenerationService(
        session=db_session,
        store=media,
        backend=backend,
        uploads=UploadPolicy.from_settings(settings),
        media_jobs=media_jobs(state, settings),
        storyboards=storyboards.stored,
    )
    yield WorkerService(db_session, generations, max_attempts=settings.max_attempts)
