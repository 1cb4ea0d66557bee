"""The generations service, built per request with its collaborators: the request's database
session, the media store, the upload policy (limits, quota, cap, idle cut-off) and the app's
one runner of media children."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.generations.admission import UploadPolicy
from reelvault.generations.services import GenerationService
from reelvault.generations.storyboards import StoryboardMaker
from reelvault.media.jobs import MediaJobs
from reelvault.media.limits import MAX_STORABLE_SECONDS, MediaLimits
from reelvault.settings import Settings
from reelvault.storage.backend import MediaBackend
from reelvault.storage.store import MediaStore


async def provide_generations(
    db_session: NamedDependency[SkipValidation[AsyncSession]],
    media: NamedDependency[SkipValidation[MediaStore]],
    backend: NamedDependency[SkipValidation[MediaBackend]],
    settings: NamedDependency[SkipValidation[Settings]],
    storyboards: NamedDependency[SkipValidation[StoryboardMaker]],
    state: State,
) -> AsyncGenerator[GenerationService, None]:
    yield GenerationService(
        session=db_session,
        store=media,
        backend=backend,
        uploads=UploadPolicy.from_settings(settings),
        media_jobs=media_jobs(state, settings),
        storyboards=storyboards.stored,
    )


def media_limits(settings: Settings) -> MediaLimits:
    return MediaLimits(
        max_dimension=settings.media_max_dimension,
        # Never past what the duration column stores, whatever the setting says.
        max_duration_seconds=min(settings.media_max_duration_seconds, MAX_STORABLE_SECONDS),
        memory_bytes=settings.media_memory_bytes,
        cpu_seconds=settings.media_cpu_seconds,
        jobs=settings.media_jobs,
    )


def media_jobs(state: State, settings: Settings) -> MediaJobs:
    """The app's one runner, made on first use and kept in its state: the bound on children at
    once (`REELVAULT_MEDIA_JOBS`) holds across all of the app's requests."""
    jobs = state.get("media_jobs")
    if jobs is None:
        jobs = state["media_jobs"] = MediaJobs(media_limits(settings))
    return jobs
