"""The demo account: about two dozen generated-looking ads, rendered with PyAV on first start."""

from __future__ import annotations

import logging
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from anyio import to_thread
from sqlalchemy import update

from reelvault.accounts.services import UserService
from reelvault.db import build_sqlalchemy_config
from reelvault.demo.clips import render_clip
from reelvault.generations.deps import media_limits
from reelvault.generations.models import Generation, GenerationStatus
from reelvault.generations.services import GenerationService
from reelvault.media.jobs import MediaJobs
from reelvault.settings import Settings
from reelvault.storage.backend import build_backend
from reelvault.storage.store import MediaStore

logger = logging.getLogger("reelvault.demo")

DEMO_EMAIL = "demo@reelvault.example"
DEMO_PASSWORD = "reelvault-demo"  # noqa: S105 (published on purpose: it is the demo account)

SIZES = {"9:16": (360, 640), "16:9": (640, 360), "1:1": (480, 480)}
# The demo's processing rows hold a lease no worker has, as if their generator had stopped
# responding: once it runs out the app puts them back in the queue and a worker makes them.
ORPHAN_LEASE_SECONDS = 30


@dataclass(frozen=True)
class DemoItem:
    prompt: str
    status: GenerationStatus
    aspect: str = "16:9"
    seconds: int = 6
    cost: float | None = None
    progress: int | None = None
    error: str | None = None


COMPLETED = GenerationStatus.COMPLETED
DEMO_ITEMS: tuple[DemoItem, ...] = (
    DemoItem(
        "Luxury watch on black marble, slow orbit, golden rim light, 'Time, refined.'",
        COMPLETED,
        "9:16",
        6,
        1.87,
    ),
    DemoItem(
        "Sneaker launch: neon city at night, rain reflections, fast cuts to the beat",
        COMPLETED,
        "9:16",
        5,
        1.42,
    ),
    DemoItem(
        "Cold brew coffee pour in slow motion, condensation, summer morning light",
        COMPLETED,
        "1:1",
        6,
        0.96,
    ),
    DemoItem(
        "Electric SUV on a coastal road at sunrise, drone follow shot, calm voice-over",
        COMPLETED,
        "16:9",
        8,
        2.35,
    ),
    DemoItem(
        "Skincare serum drop on glass, macro, pastel backdrop, minimal typography",
        COMPLETED,
        "1:1",
        5,
        0.88,
    ),
    DemoItem(
        "Fitness app: three quick workouts in a bright loft, upbeat, 15% off code",
        COMPLETED,
        "9:16",
        6,
        1.12,
    ),
    DemoItem(
        "Artisan bakery: croissants out of the oven, steam, warm tones, handheld",
        COMPLETED,
        "16:9",
        6,
        1.05,
    ),
    DemoItem(
        "Wireless earbuds floating in zero gravity, product spin, chrome reflections",
        COMPLETED,
        "1:1",
        4,
        0.74,
    ),
    DemoItem(
        "Travel agency: Lisbon rooftops at golden hour, tram passing, 'Book by Friday'",
        COMPLETED,
        "16:9",
        7,
        1.66,
    ),
    DemoItem(
        "Plant-based burger sizzle, close-up, flames, bold red title card",
        COMPLETED,
        "9:16",
        5,
        1.21,
    ),
    DemoItem(
        "Banking app onboarding in 3 taps, flat illustration style, friendly narrator",
        COMPLETED,
        "9:16",
        6,
        0.93,
    ),
    DemoItem(
        "Perfume bottle in a misty forest, cinematic, shallow depth of field",
        COMPLETED,
        "16:9",
        6,
        1.58,
    ),
    DemoItem(
        "Kids' backpack with glow-in-the-dark stars, playful bedroom scene",
        COMPLETED,
        "1:1",
        5,
        0.81,
    ),
    DemoItem(
        "Smart home speaker answering a recipe question, cozy kitchen, evening",
        COMPLETED,
        "16:9",
        6,
        1.09,
    ),
    DemoItem(
        "Mountain bike downhill POV, dust, GoPro look, logo sting at the end",
        COMPLETED,
        "9:16",
        7,
        1.74,
    ),
    DemoItem(
        "Organic tea ritual: kettle, steam, ceramic cup, 100% leaf, slow pan",
        COMPLETED,
        "1:1",
        6,
        0.69,
    ),
    DemoItem(
        "Streaming service teaser: fast montage of genres, neon_glow style",
        COMPLETED,
        "16:9",
        5,
        1.33,
    ),
    DemoItem(
        "Sunglasses on a yacht deck, turquoise water, summer sale, bold text",
        COMPLETED,
        "9:16",
        6,
        1.28,
    ),
    DemoItem(
        "Holiday gift guide: wrapped boxes, snow falling, red ribbon reveal",
        GenerationStatus.PROCESSING,
        "9:16",
        6,
        progress=62,
    ),
    DemoItem(
        "Pet food: golden retriever running on a beach, slow motion, warm light",
        GenerationStatus.PROCESSING,
        "16:9",
        8,
        progress=18,
    ),
    DemoItem(
        "Running shoes on a treadmill, studio lighting, 4K product turntable",
        GenerationStatus.PENDING,
        "1:1",
        5,
        progress=0,
    ),
    DemoItem(
        "Coffee subscription unboxing, top-down, cozy Sunday vibe",
        GenerationStatus.PENDING,
        "9:16",
        6,
        progress=0,
    ),
    DemoItem(
        "Car insurance explainer with talking mascot, 30 seconds",
        GenerationStatus.FAILED,
        cost=0.12,
        error="The video model timed out after 600 s; no credits were charged beyond the preview.",
    ),
    DemoItem(
        "Jewelry close-up with diamond sparkle at 8K, 60 fps",
        GenerationStatus.FAILED,
        cost=0.05,
        error="The requested resolution is not supported by the selected model.",
    ),
)


async def ensure_demo(settings: Settings, *, reset: bool = False) -> tuple[UUID, int]:
    """Create the demo account and its videos where missing; returns the user and how many
    generations were created. `reset` first deletes every demo generation."""
    store = MediaStore(settings.media_root)
    store.prepare()
    config = build_sqlalchemy_config(settings)
    backend = build_backend(settings, store, config.get_session)
    await backend.start()
    try:
        async with config.get_session() as session:
            users = UserService(session=session)
            # The operator's media limits, as for every import the app makes.
            generations = GenerationService(
                session=session,
                store=store,
                backend=backend,
                media_jobs=MediaJobs(media_limits(settings)),
            )
            user = await users.get_one_or_none(email=DEMO_EMAIL)
            if user is None:
                user = await users.register(DEMO_EMAIL, DEMO_PASSWORD)
                await session.commit()
            if reset:
                for generation in await generations.list(user_id=user.id):
                    await generations.delete_for_owner(generation.id, user.id)
            existing = await generations.list(user_id=user.id)
            created = await _fill(generations, user.id, existing)
            await _make_claimable(generations, user.id)
            return user.id, created
    finally:
        await backend.stop()
        await config.get_engine().dispose()


async def _fill(generations: GenerationService, user_id: UUID, existing: list[Generation]) -> int:
    stored = await generations.backend.available([g.video_path for g in existing])
    present = {
        g.prompt for g, ok in zip(existing, stored, strict=True) if g.status != COMPLETED or ok
    }
    broken = [g for g in existing if g.prompt not in present]
    for generation in broken:  # completed in the database but the file is gone: re-render
        await generations.delete_for_owner(generation.id, user_id)
    now = datetime.now(UTC)
    created = 0
    with tempfile.TemporaryDirectory(prefix="reelvault-demo-") as workdir:
        for index, item in enumerate(DEMO_ITEMS):
            if item.prompt in present:
                continue
            created_at = now - timedelta(hours=7 * index + 1)
            fields = {"cost": item.cost, "created_at": created_at}
            if item.status == COMPLETED:
                clip = Path(workdir) / f"clip-{index}.mp4"
                width, height = SIZES[item.aspect]
                await to_thread.run_sync(
                    lambda clip=clip, w=width, h=height, s=item.seconds, i=index: render_clip(
                        clip, width=w, height=h, seconds=s, seed=i
                    )
                )
                await generations.import_file(
                    user_id,
                    item.prompt,
                    clip,
                    completed_at=created_at + timedelta(minutes=3),
                    **fields,
                )
            else:
                failed = item.status == GenerationStatus.FAILED
                await generations.create(
                    Generation(
                        user_id=user_id,
                        prompt=item.prompt,
                        status=item.status,
                        progress=item.progress,
                        error=item.error,
                        # What a worker makes of it (a failed one was never going to be made).
                        duration=0 if failed else item.seconds,
                        aspect_ratio=None if failed else item.aspect,
                        **fields,
                    ),
                    auto_commit=True,
                )
            created += 1
    return created


async def _make_claimable(generations: GenerationService, user_id: UUID) -> None:
    """What a worker needs of the demo's pending and processing rows: their requested length
    and shape (rows of an older demo had neither), and for processing ones a lease that runs
    out (an older demo's had none, so no expiry would ever have put them back in the queue)."""
    session = generations.session
    g = Generation.__table__.c
    waiting = (GenerationStatus.PENDING.value, GenerationStatus.PROCESSING.value)
    for item in DEMO_ITEMS:
        if item.status.value not in waiting:
            continue
        await session.execute(
            update(Generation.__table__)
            .where(g.user_id == user_id, g.prompt == item.prompt, g.status.in_(waiting))
            .where(g.duration < 1)
            .values(duration=item.seconds, aspect_ratio=item.aspect)
        )
        await session.execute(
            update(Generation.__table__)
            .where(g.user_id == user_id, g.prompt == item.prompt)
            .where(g.status == GenerationStatus.PROCESSING.value, g.lease_expires_at.is_(None))
            .values(
                lease_token=secrets.token_urlsafe(24),
                lease_expires_at=datetime.now(UTC) + timedelta(seconds=ORPHAN_LEASE_SECONDS),
                attempts=1,
            )
        )
    await session.commit()
