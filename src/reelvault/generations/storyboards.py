"""Storyboards (seek previews) of completed videos: a sprite of small frames and its layout.

Made in a media child, one at a time per app process and never inside a request: right after
an import or a worker's result commits (`StoryboardMaker.request`), on first need (one asked
for and missing), and by a background pass over the completed videos that have none (from
before storyboards, or whose process stopped before making theirs), batch by batch.

Any number of processes may run the pass: a video is first claimed by a conditional UPDATE
that writes "making until <time>" into its layout, so one process makes it; a claim whose
process died runs out and the video is claimed again. A video whose storyboard cannot be made
(undecodable, over the media limits, its file gone) is marked as such and not tried again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from anyio import CancelScope, to_thread
from sqlalchemy import and_, bindparam, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.accounts.services import UserService
from reelvault.errors import NotAuthenticated, NotFound
from reelvault.events import emit
from reelvault.generations.listing import ITEM_COLUMNS
from reelvault.generations.models import Generation, GenerationStatus
from reelvault.generations.schemas import to_item
from reelvault.media.errors import NotAVideoError
from reelvault.media.jobs import MediaJobs
from reelvault.media.storyboard import StoryboardLayout
from reelvault.observability import log_event
from reelvault.storage import journal
from reelvault.storage.backend import MediaBackend, SessionFactory
from reelvault.storage.store import MediaStore, OutsideMediaDirectory

logger = logging.getLogger("reelvault.storyboards")

# Long enough for the slowest storyboard within the media limits, several times over.
CLAIM_SECONDS = 900
BATCH = 20
# After the backlog is done, how long the pass waits before looking again (requests are
# served at once meanwhile): it finds videos whose process stopped before their storyboard.
IDLE_SECONDS = 300.0
_QUEUE_SIZE = 1024  # requests past this are left to the pass
_CLAIM_PREFIX = "making until "
WORK_FOLDER = ".storyboards"  # under the media directory: sprites until they are stored

_g = Generation.__table__.c
_table = Generation.__table__
# Literally the partial index's predicate: SQLite and PostgreSQL then read only that index.
_BACKLOG = text("status = 'completed' AND storyboard_path IS NULL")
_CLAIMABLE = or_(
    _g.storyboard_layout.is_(None),
    and_(
        _g.storyboard_layout.like(f"{_CLAIM_PREFIX}%"),
        _g.storyboard_layout < bindparam("expired_claim"),
    ),
)
_NEXT_BATCH = (
    select(_g.id)
    .where(_BACKLOG, _CLAIMABLE, _g.id > bindparam("after"))
    .order_by(_g.id)
    .limit(bindparam("batch"))
)
_CLAIM = (
    update(_table)
    .where(_g.id == bindparam("generation_id"), _BACKLOG, _g.video_path.is_not(None), _CLAIMABLE)
    .values(storyboard_layout=bindparam("claim"))
    .returning(_g.video_path, _g.media_version)
)
# Only while the claim is still ours and the video the one it was made from.
_HELD = (
    _g.id == bindparam("generation_id"),
    _g.storyboard_layout == bindparam("claim"),
    _g.media_version.is_not_distinct_from(bindparam("version")),
    _BACKLOG,
)
_SAVE = (
    update(_table)
    .where(*_HELD)
    .values(storyboard_path=bindparam("path"), storyboard_layout=bindparam("layout"))
    .returning(*ITEM_COLUMNS, _g.user_id)
)
_SETTLE = update(_table).where(*_HELD).values(storyboard_layout=bindparam("layout"))
_OF_OWNER = select(_g.status, _g.storyboard_path, _g.storyboard_layout, _g.media_version).where(
    _g.id == bindparam("generation_id"), _g.user_id == bindparam("owner_id")
)


class _Lost(Exception):
    """The video was deleted, replaced or claimed by another process while this one made
    its storyboard: the stored sprite is not wanted."""


def layout_json(layout: StoryboardLayout) -> str:
    return json.dumps(asdict(layout), separators=(",", ":"))


def parse_layout(raw: str | None) -> StoryboardLayout | None:
    """A made storyboard's layout; None for no layout, a claim or a failure."""
    if not raw or not raw.startswith("{"):
        return None
    try:
        fields = json.loads(raw)
        return StoryboardLayout(**fields) if "failed" not in fields else None
    except (TypeError, ValueError):
        return None


def failure_json(reason: str) -> str:
    return json.dumps({"failed": reason})


def claim_until(moment: datetime) -> str:
    """A claim's text: it sorts by its expiry (fixed-width ISO time in UTC)."""
    return _CLAIM_PREFIX + moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Storyboard:
    relpath: str
    version: str | None
    layout: StoryboardLayout


class StoryboardService:
    """The caller's storyboards, as requests read them."""

    def __init__(self, session: AsyncSession, maker: StoryboardMaker | None = None) -> None:
        self.session = session
        self.maker = maker

    async def for_owner(self, generation_id: UUID, owner_id: UUID) -> Storyboard:
        """404 where there is none (yet), or the video is someone else's; 401 for a gone
        account. A completed video without one gets it made (on first need)."""
        row = (
            await self.session.execute(
                _OF_OWNER, {"generation_id": generation_id, "owner_id": owner_id}
            )
        ).first()
        if row is None:
            if not await UserService(session=self.session).is_present(owner_id):
                raise NotAuthenticated()
            raise NotFound("Storyboard not found")
        layout = parse_layout(row.storyboard_layout)
        if row.status != GenerationStatus.COMPLETED or not row.storyboard_path or not layout:
            if (
                row.status == GenerationStatus.COMPLETED
                and row.storyboard_layout is None
                and self.maker is not None
            ):
                self.maker.request(generation_id)
            raise NotFound("Storyboard not found")
        return Storyboard(row.storyboard_path, row.media_version, layout)


class StoryboardMaker:
    """One per app process: makes storyboards one at a time, requested ones first, then (in
    background mode) the backlog. `start` and `stop` go with the app."""

    def __init__(
        self,
        sessions: SessionFactory,
        backend: MediaBackend,
        media_jobs: MediaJobs,
        store: MediaStore,
        *,
        background: bool = True,
        batch: int = BATCH,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.sessions = sessions
        self.backend = backend
        self.media_jobs = media_jobs
        # On the media directory's file system, so the local backend places sprites by rename.
        self.work_dir = store.root / WORK_FOLDER
        self.background = background
        self.batch = batch
        self.idle_seconds = idle_seconds
        self._requests: asyncio.Queue[UUID] = asyncio.Queue(_QUEUE_SIZE)
        self._task: asyncio.Task[None] | None = None

    def stored(self, generation_id: UUID) -> None:
        """A video was stored (an import, a worker's result): in background mode, make its
        storyboard next."""
        if self.background:
            self.request(generation_id)

    def request(self, generation_id: UUID) -> None:
        """Make this video's storyboard soon (never blocks; a full queue leaves it to the
        pass)."""
        with contextlib.suppress(asyncio.QueueFull):
            self._requests.put_nowait(generation_id)

    async def start(self) -> None:
        await to_thread.run_sync(self._clear_work_dir)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="storyboards")

    def _clear_work_dir(self) -> None:
        # Work folders of a process that died: the sprites in them were never stored.
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with journal.abandoned(self.work_dir) as operations:
            for op in operations:
                op.finish()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            if self.background:
                try:
                    await self.run_pass()
                except Exception:
                    # The database away for a moment: the next round tries again.
                    logger.exception("storyboard pass failed")
            # Then the requests as they come, until none has come for a while.
            idle = self.idle_seconds if self.background else None
            while True:
                try:
                    generation_id = await asyncio.wait_for(self._requests.get(), idle)
                except TimeoutError:
                    break
                await self._make_logged(generation_id)

    async def run_pass(self) -> int:
        """Make the storyboards that completed videos lack, a batch at a time (requests go
        first between two). Returns how many were made."""
        made = 0
        after = UUID(int=0)
        while True:
            async with self.sessions() as session:
                ids = list(
                    (
                        await session.scalars(
                            _NEXT_BATCH,
                            {"after": after, "batch": self.batch, "expired_claim": _now_claim()},
                        )
                    ).all()
                )
                await session.rollback()
            for generation_id in ids:
                await self._serve_requests()
                made += await self._make_logged(generation_id) == "made"
            if len(ids) < self.batch:
                return made
            after = ids[-1]

    async def _serve_requests(self) -> None:
        while not self._requests.empty():
            await self._make_logged(self._requests.get_nowait())

    async def _make_logged(self, generation_id: UUID) -> str:
        try:
            return await self.make(generation_id)
        except Exception:
            logger.exception("storyboard generation_id=%s failed", generation_id)
            return "error"

    async def make(self, generation_id: UUID) -> str:
        """Claim the video, make its storyboard in a media child, store it and name it in the
        row. Returns "made", "failed" (marked: not tried again), "skipped" (nothing to do, or
        another process has it) or "lost" (the video went or changed meanwhile)."""
        claim = claim_until(datetime.now(UTC) + timedelta(seconds=CLAIM_SECONDS))
        async with self.sessions() as session:
            row = (
                await session.execute(
                    _CLAIM,
                    {"generation_id": generation_id, "claim": claim, "expired_claim": _now_claim()},
                )
            ).first()
            await session.commit()
        if row is None:
            return "skipped"
        held = {"generation_id": generation_id, "claim": claim, "version": row.media_version}
        try:
            with journal.operation(self.work_dir, "storyboard") as op:
                async with self.backend.local_copy(row.video_path) as video:
                    sprite, layout = await self.media_jobs.storyboard(video, op.folder)
                await self._store(generation_id, held, sprite, layout)
        except NotAVideoError as exc:
            return await self._give_up(held, exc.reason)
        except (FileNotFoundError, OutsideMediaDirectory):
            return await self._give_up(held, "missing_file")
        except _Lost:
            return "lost"
        except BaseException:
            # Not the video's fault (the store, the database): free it for a later pass.
            with CancelScope(shield=True):
                await self._settle(held, None)
            raise
        log_event(
            logger,
            "storyboard",
            generation_id=generation_id,
            outcome="made",
            tiles=layout.count,
            interval=layout.interval,
        )
        return "made"

    async def _store(
        self, generation_id: UUID, held: dict[str, Any], sprite: Any, layout: StoryboardLayout
    ) -> None:
        async with self.sessions() as session:

            async def save(keys: dict[str, str]) -> None:
                params = {**held, "path": keys["storyboard"], "layout": layout_json(layout)}
                saved = (await session.execute(_SAVE, params)).first()
                if saved is None:
                    raise _Lost()  # the backend removes what it stored
                # The owner's open galleries learn that the video has a storyboard now.
                item = to_item(saved, file_available=True)
                await emit(session, saved.user_id, "generation", msgspec.to_builtins(item))
                await session.commit()

            # A new key for each attempt: a sprite a row names is never written over.
            await self.backend.store(
                session, generation_id, _attempt_version(), {"storyboard": sprite}, save
            )

    async def _give_up(self, held: dict[str, Any], reason: str) -> str:
        await self._settle(held, failure_json(reason))
        log_event(
            logger,
            "storyboard",
            logging.WARNING,
            generation_id=held["generation_id"],
            outcome="failed",
            reason=reason,
        )
        return "failed"

    async def _settle(self, held: dict[str, Any], layout: str | None) -> None:
        async with self.sessions() as session:
            await session.execute(_SETTLE, {**held, "layout": layout})
            await session.commit()


def _now_claim() -> str:
    return claim_until(datetime.now(UTC))


def _attempt_version() -> str:
    return secrets.token_urlsafe(9)
