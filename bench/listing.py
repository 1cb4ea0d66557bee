"""How fast is the gallery listing at a million generations?

p50, p99 and requests per second of `GET /api/generations` over real HTTP, on PostgreSQL and on
SQLite, in one table beside the targets of issue 2 (spec: < 200 ms for a filtered query and
< 500 ms for a search; our aims: PostgreSQL p99 < 20 ms for the first page and < 50 ms for
searches, SQLite p99 < 30 ms and < 100 ms; a deep keyset-cursor page as fast as the first
page), followed by the plans each backend runs for the first page, the searches and the cursor
page. The marks judge the p99 at the full concurrency, where a saturated single worker adds
queueing; the c=1 columns give the latency of a request on its own.

Each backend gets a fresh database (a throwaway PostgreSQL database, dropped at the end; a
SQLite file in a temporary directory) built by the real migrations (`litestar database
upgrade`), then seeded in bulk: --rows generations over 100 users, one of whom owns a tenth,
with ad-brief prompts of which exactly 1% name one product. The secondary indexes the migration
made are dropped for the load and rebuilt from their own definitions, the way a bulk load is
done; so are the triggers that keep the per-owner tally (and, on SQLite, the FTS5 search
tables) current: they are rebuilt after the load the way migration 0003 fills them, and the
tally is checked against COUNT(*) per owner before anything is measured. Password hashes come
from the service's Argon2 helper, so the benchmark signs in through the real login endpoint.
The app runs in its own uvicorn process (one worker); a single async httpx client drives it
with a fixed concurrency.

    .venv/bin/python bench/listing.py
    .venv/bin/python bench/listing.py --rows 100000 --requests 100 --backends sqlite --keep
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import math
import os
import queue
import random
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
from sqlalchemy import event, text
from sqlalchemy.dialects.sqlite import aiosqlite as sqlite_dialect

from reelvault.accounts.models import User
from reelvault.accounts.passwords import hash_password
from reelvault.db import build_sqlalchemy_config
from reelvault.generations.listing import ListingQuery, page_statement, total_statement
from reelvault.generations.models import Generation, GenerationStatus
from reelvault.settings import Settings
from reelvault.storage.store import MediaStore
from servers import uvicorn_server

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("postgresql", "sqlite")
PASSWORD = "bench listing password"
BIG_EMAIL = "big@bench.reelvault.example"
PAGE = 20
BATCH_ROWS = 50_000
STARTED = time.perf_counter()

# --- the prompts ------------------------------------------------------------------------------
# An ad brief: "<format> ad for <brand> <product>: <shot> <subject> <action> <setting>, <light>,
# <style>. <call to action>". One product in a hundred per user is WORD_PRODUCT; ABSENT appears
# in none (check_vocabulary proves both), and its trigrams are common ones, as a typo's would be.
WORD = "Kombucha"
WORD_PRODUCT = "ginger kombucha"
ABSENT = "submarine"
FORMATS = (
    "15-second vertical",
    "30-second widescreen",
    "6-second bumper",
    "square social",
    "20-second story",
    "10-second teaser",
    "45-second hero",
    "9:16 reel",
)
BRANDS = (
    "Northwind",
    "Bramble & Oak",
    "Solace",
    "Kestrel",
    "Tidewater",
    "Vireo",
    "Copperline",
    "Marigold",
    "Halcyon",
    "Fernway",
    "Lumen",
    "Driftwood",
    "Saltbox",
    "Pinecrest",
    "Aurora Labs",
    "Blue Heron",
)
PRODUCTS = (
    "cold brew",
    "trail running shoes",
    "oat milk",
    "wireless earbuds",
    "vitamin C serum",
    "electric cargo bike",
    "sparkling water",
    "linen shirt",
    "smart thermostat",
    "grain-free dog food",
    "travel backpack",
    "plant protein bar",
    "cast-iron skillet",
    "mineral sunscreen",
    "mechanical keyboard",
    "meal kit",
    "yoga mat",
    "espresso machine",
    "rain jacket",
    "noise-cancelling headphones",
)
SHOTS = (
    "slow dolly-in on",
    "overhead flat lay of",
    "handheld close-up of",
    "drone shot following",
    "macro shot of",
    "tracking shot of",
    "whip pan to",
    "static wide shot of",
    "low-angle hero shot of",
    "split-screen of",
)
SUBJECTS = (
    "a young woman",
    "a barista",
    "a golden retriever",
    "two friends",
    "a cyclist",
    "an elderly couple",
    "a chef",
    "a skateboarder",
    "a toddler",
    "a nurse after a night shift",
    "a rock climber",
    "a student",
    "a DJ",
    "a gardener",
    "a family of four",
)
ACTIONS = (
    "laughing",
    "pouring a glass",
    "unboxing the product",
    "running at dawn",
    "dancing",
    "stretching",
    "taking a first sip",
    "packing for a trip",
    "cooking dinner",
    "checking a phone",
    "crossing a finish line",
    "opening a window",
)
PLACES = (
    "in a sunlit kitchen",
    "on a rooftop in Lisbon",
    "in a neon-lit alley",
    "on a misty beach",
    "in a minimalist studio",
    "in a busy Tokyo crosswalk",
    "in a cabin in the woods",
    "at a desert gas station",
    "in a Brooklyn loft",
    "on a snowy ridge",
    "in a laundromat at night",
    "in a greenhouse",
)
LIGHTS = (
    "golden hour light",
    "soft window light",
    "moody low-key lighting",
    "bright high-key lighting",
    "blue hour glow",
    "harsh midday sun",
    "candlelight",
    "practical neon",
)
STYLES = (
    "cinematic 35mm film look",
    "clean minimalist look",
    "symmetrical pastel palette",
    "documentary feel",
    "retro VHS texture",
    "glossy commercial finish",
    "anamorphic lens flares",
    "stop-motion feel",
)
CALLS = (
    "End on the logo and 'Shop now'.",
    "Close with the tagline 'Made for mornings'.",
    "Super the offer: 20% off this week.",
    "End card with the app store badges.",
    "No voice-over; upbeat acoustic track.",
    "Voice-over: warm, conversational.",
    "Keep the product in frame for the last 3 seconds.",
    "Subtitles burned in for sound-off viewing.",
)
VOCABULARY = (FORMATS, BRANDS, PRODUCTS, SHOTS, SUBJECTS, ACTIONS, PLACES, LIGHTS, STYLES, CALLS)
ERRORS = (
    "Content policy: the prompt was flagged for review",
    "Generation timed out after 600 s",
    "Upstream model error (502), credits refunded",
)
ASPECTS = ((1080, 1920), (1920, 1080), (1080, 1080))
DURATIONS = (6, 10, 15, 20, 30)
YEAR = timedelta(days=365)

GENERATION_COLUMNS = (
    "id",
    "user_id",
    "prompt",
    "status",
    "video_path",
    "thumbnail_path",
    "media_version",
    "duration",
    "cost",
    "width",
    "height",
    "file_size",
    "progress",
    "error",
    "completed_at",
    "created_at",
    "updated_at",
)
USER_COLUMNS = ("id", "email", "password_hash", "created_at", "updated_at")


def check_vocabulary() -> None:
    """Searches are only meaningful if the word lists cannot produce the words by accident (a
    search word has no space, so it can only match inside one fragment)."""
    for fragments in VOCABULARY:
        for fragment in fragments:
            lowered = fragment.lower()
            if WORD.lower() in lowered or ABSENT.lower() in lowered:
                raise SystemExit(f"word list fragment {fragment!r} contains a search word")
    if WORD.lower() not in WORD_PRODUCT or ABSENT.lower() in WORD_PRODUCT:
        raise SystemExit("WORD_PRODUCT must name WORD and not ABSENT")


# --- the data set -----------------------------------------------------------------------------
@dataclass
class Expected:
    """What the big user's listing must report for each case; counted while generating."""

    total: int = 0
    failed: int = 0
    word: int = 0
    word_completed: int = 0


@dataclass
class Dataset:
    rows: int
    users: int
    seed: int = 20261125
    big_rows: int = field(init=False)
    user_ids: list[uuid.UUID] = field(init=False)
    emails: list[str] = field(init=False)
    end: datetime = field(init=False)
    expected: Expected = field(default_factory=Expected)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self.big_rows = self.rows // 10
        self.user_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(self.users)]
        self.emails = [BIG_EMAIL] + [
            f"user{index:03d}@bench.reelvault.example" for index in range(1, self.users)
        ]
        self.end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)

    def user_rows(self, hashes: list[str]) -> list[tuple[Any, ...]]:
        joined = self.end - YEAR - timedelta(days=1)
        return [
            (user_id, email, password_hash, joined, joined)
            for user_id, email, password_hash in zip(
                self.user_ids, self.emails, hashes, strict=True
            )
        ]

    def batches(self, size: int) -> Iterator[list[tuple[Any, ...]]]:
        """Rows in GENERATION_COLUMNS order, oldest first with the users interleaved, the way a
        shared table fills up over a year. Some rows share their owner's previous timestamp
        (batch renders), so the id tie-breaker matters."""
        rng = random.Random(self.seed + 1)
        expected = self.expected = Expected()
        owners = array("H", [0]) * self.big_rows
        others = self.rows - self.big_rows
        owners.extend(1 + index % (self.users - 1) for index in range(others))
        rng.shuffle(owners)
        offsets = sorted(rng.random() for _ in range(self.rows))
        start = self.end - YEAR
        year_seconds = YEAR.total_seconds()
        per_user = [0] * self.users
        previous: list[datetime | None] = [None] * self.users
        user_ids = self.user_ids
        batch: list[tuple[Any, ...]] = []
        for owner, offset in zip(owners, offsets, strict=True):
            per_user[owner] += 1
            has_word = per_user[owner] % 100 == 0
            last = previous[owner]
            if last is not None and rng.random() < 0.05:
                created = last
            else:
                created = start + timedelta(seconds=offset * year_seconds)
            previous[owner] = created
            product = WORD_PRODUCT if has_word else rng.choice(PRODUCTS)
            prompt = (
                f"{rng.choice(FORMATS)} ad for {rng.choice(BRANDS)} {product}: "
                f"{rng.choice(SHOTS)} {rng.choice(SUBJECTS)} {rng.choice(ACTIONS)} "
                f"{rng.choice(PLACES)}, {rng.choice(LIGHTS)}, {rng.choice(STYLES)}. "
                f"{rng.choice(CALLS)}"
            )
            generation_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            draw = rng.random()
            if draw < 0.90:
                status = GenerationStatus.COMPLETED.value
                width, height = rng.choice(ASPECTS)
                duration = rng.choice(DURATIONS)
                done = created + timedelta(seconds=rng.randint(20, 600))
                row = (
                    generation_id,
                    user_ids[owner],
                    prompt,
                    status,
                    MediaStore.video_relpath(generation_id),
                    MediaStore.thumbnail_relpath(generation_id),
                    # The media URLs' ?v=; from the id, so the random draws (and thus the
                    # data set) stay those of earlier versions of this benchmark.
                    generation_id.hex[:16],
                    duration,
                    round(duration * rng.uniform(0.04, 0.12), 2),
                    width,
                    height,
                    duration * rng.randint(400_000, 900_000),
                    None,
                    None,
                    done,
                    created,
                    done,
                )
            else:
                status = (
                    GenerationStatus.FAILED.value
                    if draw < 0.96
                    else GenerationStatus.PROCESSING.value
                    if draw < 0.98
                    else GenerationStatus.PENDING.value
                )
                failed = status == GenerationStatus.FAILED.value
                row = (
                    generation_id,
                    user_ids[owner],
                    prompt,
                    status,
                    None,
                    None,
                    None,
                    rng.choice(DURATIONS),
                    None,
                    None,
                    None,
                    None,
                    None if failed else rng.randint(0, 99),
                    rng.choice(ERRORS) if failed else None,
                    None,
                    created,
                    created,
                )
            if owner == 0:
                expected.total += 1
                expected.failed += status == GenerationStatus.FAILED.value
                expected.word += has_word
                expected.word_completed += has_word and status == "completed"
            batch.append(row)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch


class Prefetch:
    """Builds the next batch in a thread while the database loads the current one."""

    DONE = object()

    def __init__(self, batches: Iterable[Any]) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=2)
        self._thread = threading.Thread(target=self._produce, args=(batches,), daemon=True)
        self._thread.start()

    def _produce(self, batches: Iterable[Any]) -> None:
        try:
            for batch in batches:
                self._queue.put(batch)
        except BaseException as exc:
            self._queue.put(exc)
        self._queue.put(self.DONE)

    def get(self) -> Any:
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def __iter__(self) -> Iterator[Any]:
        while (item := self.get()) is not self.DONE:
            yield item

    async def next_async(self) -> Any:
        return await asyncio.to_thread(self.get)


@dataclass
class SeedTimes:
    users: float = 0.0
    rows: float = 0.0
    indexes: float = 0.0
    analyze: float = 0.0
    size: str = ""

    @property
    def total(self) -> float:
        return self.users + self.rows + self.indexes + self.analyze


async def password_hashes(count: int) -> list[str]:
    # The service's own helper, so the seeded accounts sign in through the real login endpoint.
    # One hash (about 0.3 s of Argon2 here) serves every account: they share the password.
    return [await hash_password(PASSWORD)] * count


# --- PostgreSQL -------------------------------------------------------------------------------
SECONDARY_INDEXES = """
SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition, am.amname AS method
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_am am ON am.oid = i.relam
WHERE x.indrelid = 'generation'::regclass
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
ORDER BY i.relname
"""


async def seed_postgres(dsn: str, dataset: Dataset, hashes: list[str]) -> SeedTimes:
    times = SeedTimes()
    conn = await asyncpg.connect(dsn)
    try:
        indexes = await conn.fetch(SECONDARY_INDEXES)
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["name"]}"')
        # Row triggers would upsert the tally a million times; the tally is rebuilt below.
        await conn.execute(f"ALTER TABLE generation DISABLE TRIGGER {PG_TALLY_TRIGGER}")
        began = time.perf_counter()
        await conn.copy_records_to_table(
            "user_account", records=dataset.user_rows(hashes), columns=USER_COLUMNS
        )
        times.users = time.perf_counter() - began
        began = time.perf_counter()
        batches = Prefetch(dataset.batches(BATCH_ROWS))
        loaded = 0
        while (batch := await batches.next_async()) is not Prefetch.DONE:
            await conn.copy_records_to_table(
                "generation", records=batch, columns=GENERATION_COLUMNS
            )
            loaded += len(batch)
            if loaded % 200_000 == 0:
                log(f"postgresql: {loaded:,} rows")
        times.rows = time.perf_counter() - began
        began = time.perf_counter()
        # Rebuilt from the migration's own definitions: the GIN index on one connection,
        # the b-trees on another.
        gin = [index["definition"] for index in indexes if index["method"] == "gin"]
        other = [index["definition"] for index in indexes if index["method"] != "gin"]
        await asyncio.gather(build_indexes(dsn, gin), build_indexes(dsn, other))
        async with conn.transaction():
            await conn.execute("DELETE FROM generation_tally")
            await conn.execute(TALLY_REBUILD)
        await conn.execute(f"ALTER TABLE generation ENABLE TRIGGER {PG_TALLY_TRIGGER}")
        times.indexes = time.perf_counter() - began
        check_tally(await conn.fetch(TALLY_CHECK), dataset)
        began = time.perf_counter()
        # VACUUM as autovacuum would have done on a table this old: it sets the visibility map
        # that index-only scans (the COUNT of a listing) rely on.
        await conn.execute("VACUUM (ANALYZE) user_account")
        await conn.execute("VACUUM (ANALYZE) generation")
        await conn.execute("VACUUM (ANALYZE) generation_tally")
        times.analyze = time.perf_counter() - began
        sizes = await conn.fetchrow(
            "SELECT pg_size_pretty(pg_table_size('generation')) AS heap,"
            " pg_size_pretty(pg_indexes_size('generation')) AS indexes,"
            " pg_size_pretty(pg_relation_size('ix_generation_user_prompt_trgm')) AS trgm"
        )
        server = await conn.fetchval(
            "SELECT split_part(version(), ' ', 2) || ', shared_buffers '"
            " || current_setting('shared_buffers')"
        )
        times.size = (
            f"table {sizes['heap']}, indexes {sizes['indexes']} (trigram {sizes['trgm']});"
            f" PostgreSQL {server}"
        )
    finally:
        await conn.close()
    return times


# The tally as migration 0003 fills it, and the check that it is what COUNT(*) says.
STATUSES = tuple(status.value for status in GenerationStatus)
PG_TALLY_TRIGGER = "generation_tally_change"
TALLY_REBUILD = (
    f"INSERT INTO generation_tally (user_id, {', '.join(STATUSES)}) SELECT user_id, "  # noqa: S608
    + ", ".join(f"SUM(CASE WHEN status = '{s}' THEN 1 ELSE 0 END)" for s in STATUSES)
    + " FROM generation GROUP BY user_id"
)
TALLY_CHECK = (
    "SELECT c.user_id, c.n, t.total FROM"  # noqa: S608 (constants)
    " (SELECT user_id, COUNT(*) AS n FROM generation GROUP BY user_id) AS c"
    f" LEFT JOIN (SELECT user_id, {' + '.join(STATUSES)} AS total FROM generation_tally) AS t"
    " ON t.user_id = c.user_id"
)


def check_tally(rows: Iterable[Any], dataset: Dataset) -> None:
    """Every owner's tally equals COUNT(*), and the big owner's equals what was generated."""
    big = dataset.user_ids[0].bytes
    seen_big = False
    for user_id, counted, tallied in rows:
        if counted != tallied:
            raise SystemExit(f"tally of {user_id!r} is {tallied}, COUNT(*) is {counted}")
        # SQLite stores the id as 16 bytes; asyncpg returns its own UUID type.
        raw = user_id if isinstance(user_id, bytes) else uuid.UUID(str(user_id)).bytes
        if raw == big:
            seen_big = True
            if counted != dataset.expected.total:
                raise SystemExit(f"big owner has {counted} rows, want {dataset.expected.total}")
    if not seen_big:
        raise SystemExit("the big owner has no rows")
    log(f"tally equals COUNT(*) for every owner ({dataset.expected.total:,} for the big one)")


async def build_indexes(dsn: str, definitions: list[str]) -> None:
    if not definitions:
        return
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET maintenance_work_mem = '512MB'")
        for definition in definitions:
            await conn.execute(definition)
    finally:
        await conn.close()


async def admin_execute(admin_dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def postgres_database(admin_dsn: str, keep: bool) -> Iterator[str]:
    """A throwaway database; its DSN is yielded, and it is dropped afterwards."""
    name = f"reelvault_bench_{secrets.token_hex(4)}"
    asyncio.run(admin_execute(admin_dsn, f'CREATE DATABASE "{name}"'))
    dsn = urlsplit(admin_dsn)._replace(path=f"/{name}").geturl()
    try:
        yield dsn
    finally:
        if keep:
            log(f"postgresql: kept database {dsn}")
        else:
            asyncio.run(admin_execute(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- SQLite -----------------------------------------------------------------------------------
def sqlite_converter(columns: tuple[str, ...], table: Any) -> Callable[[tuple[Any, ...]], tuple]:
    """Values as SQLAlchemy stores them on SQLite (UUIDs as 16 bytes, UTC text timestamps),
    taken from the column types themselves so ordering and lookups match the app's."""
    dialect = sqlite_dialect.dialect()
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in columns]
    steps = [(index, proc) for index, proc in enumerate(processors) if proc is not None]

    def convert(row: tuple[Any, ...]) -> tuple[Any, ...]:
        values = list(row)
        for index, proc in steps:
            if values[index] is not None:
                values[index] = proc(values[index])
        return tuple(values)

    return convert


def seed_sqlite(path: Path, dataset: Dataset, hashes: list[str]) -> SeedTimes:
    times = SeedTimes()
    to_row = sqlite_converter(GENERATION_COLUMNS, Generation.__table__)
    to_user = sqlite_converter(USER_COLUMNS, User.__table__)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # Only this seeding connection skips fsync; the app's own connections are untouched.
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1048576")
        conn.execute("PRAGMA temp_store=MEMORY")
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = 'generation' AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        # SQLite cannot disable triggers: they are dropped for the load and recreated from their
        # own definitions; the tally and the search tables are then filled as migration 0003 does.
        triggers = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            " AND tbl_name IN ('generation', 'generation_search')"
        ).fetchall()
        for name, _ in triggers:
            conn.execute(f'DROP TRIGGER "{name}"')
        began = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(
            insert_sql("user_account", USER_COLUMNS),
            [to_user(row) for row in dataset.user_rows(hashes)],
        )
        conn.execute("COMMIT")
        times.users = time.perf_counter() - began
        began = time.perf_counter()
        statement = insert_sql("generation", GENERATION_COLUMNS)
        loaded = 0
        for batch in Prefetch([to_row(row) for row in rows] for rows in dataset.batches(100_000)):
            conn.execute("BEGIN")
            conn.executemany(statement, batch)
            conn.execute("COMMIT")
            loaded += len(batch)
            if loaded % 200_000 == 0:
                log(f"sqlite: {loaded:,} rows")
        times.rows = time.perf_counter() - began
        began = time.perf_counter()
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("BEGIN")
        conn.execute("DELETE FROM generation_tally")
        conn.execute(TALLY_REBUILD)
        conn.execute("DELETE FROM generation_search")
        conn.execute("DELETE FROM generation_search_owner")
        for sql in search_backfill():  # the migration's own: each owner's rowid range
            conn.execute(sql)
        conn.execute("INSERT INTO generation_search_fts(generation_search_fts) VALUES('rebuild')")
        for _, sql in triggers:
            conn.execute(sql)
        conn.execute("COMMIT")
        times.indexes = time.perf_counter() - began
        check_tally(conn.execute(TALLY_CHECK).fetchall(), dataset)
        indexed, generations = conn.execute(
            "SELECT (SELECT COUNT(*) FROM generation_search), (SELECT COUNT(*) FROM generation)"
        ).fetchone()
        if indexed != generations:
            raise SystemExit(f"generation_search has {indexed} rows, generation {generations}")
        word_hits = conn.execute(
            "SELECT COUNT(*) FROM generation_search_fts WHERE generation_search_fts MATCH ?",
            (f'"{WORD}"',),
        ).fetchone()[0]
        if word_hits < dataset.expected.word:
            raise SystemExit(f"FTS5 finds {word_hits} rows for {WORD!r}")
        if len(triggers) != 8:
            raise SystemExit(f"expected the 8 triggers of migration 0003, found {len(triggers)}")
        began = time.perf_counter()
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        times.analyze = time.perf_counter() - began
    finally:
        conn.close()
    times.size = f"file {path.stat().st_size / 2**20:,.0f} MiB"
    return times


def search_backfill() -> tuple[str, ...]:
    """Migration 0003's statements that fill SQLite's search tables from `generation`."""
    path = Path(__file__).resolve().parents[1] / "migrations/versions"
    spec = importlib.util.spec_from_file_location(
        "migration_0003", path / "0003_tally_versions_sqlite_search.py"
    )
    if spec is None or spec.loader is None:
        raise SystemExit(f"migration 0003 not found in {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.BACKFILL


def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    # Table and column names are this module's constants; the values go in as parameters.
    placeholders = ", ".join("?" * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608


# --- the app ----------------------------------------------------------------------------------
def app_env(data_dir: Path, database_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("REELVAULT_")}
    env.update(
        {
            "REELVAULT_DATA_DIR": str(data_dir),
            "REELVAULT_DATABASE_URL": database_url,
            "REELVAULT_SECRET_KEY": secrets.token_urlsafe(48),
            "LITESTAR_APP": "reelvault.app:create_app",
        }
    )
    return env


def migrate(env: dict[str, str]) -> None:
    """The real migrations, applied the way an operator (and the test suite) applies them."""
    done = subprocess.run(
        [sys.executable, "-m", "litestar", "database", "upgrade", "--no-prompt"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"migration failed:\n{done.stdout}\n{done.stderr}")


@contextlib.contextmanager
def serve(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """The app in its own uvicorn process, so the load generator does not share its GIL."""
    with uvicorn_server("reelvault.app:create_app", env, log_path, None) as running:
        yield running.base_url


# --- the measurement --------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    name: str
    params: dict[str, str | int]
    kind: str  # "filtered" or "search": which of the spec's targets applies
    aimed: bool  # whether our own p99 aim (AIM_MS) applies
    expected: Callable[[Expected], int]


# How deep the keyset case goes: the cursor of page DEEP_PAGES + 1, reached by following
# next_cursor from the first page.
DEEP_PAGES = 50
CURSOR_CASE = f"cursor page {DEEP_PAGES + 1}"
CASES = (
    Case("first page", {}, "filtered", True, lambda e: e.total),
    Case(CURSOR_CASE, {}, "filtered", True, lambda e: e.total),  # params: the deep cursor
    Case("page 200", {"offset": 199 * PAGE}, "filtered", False, lambda e: e.total),
    Case("status=failed", {"status": "failed"}, "filtered", False, lambda e: e.failed),
    Case(f"q={WORD} (1%)", {"q": WORD}, "search", True, lambda e: e.word),
    Case(f"q={ABSENT} (none)", {"q": ABSENT}, "search", True, lambda e: 0),
    Case(
        f"q={WORD}&status=completed",
        {"q": WORD, "status": "completed"},
        "search",
        True,
        lambda e: e.word_completed,
    ),
)
SPEC_MS = {"filtered": 200.0, "search": 500.0}
# Our aims, per backend: the first page (and the deep cursor page) and the searches.
AIM_MS = {
    "postgresql": {"filtered": 20.0, "search": 50.0},
    "sqlite": {"filtered": 30.0, "search": 100.0},
}


@dataclass
class Result:
    backend: str
    case: Case
    p50_ms: float
    p99_ms: float
    rps: float
    total: int
    expected: int
    serial_p50_ms: float | None
    serial_p99_ms: float | None


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest rank: the smallest sample with at least pct% of the samples at or below it."""
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


async def hammer(
    client: httpx.AsyncClient, params: dict[str, str | int], count: int, concurrency: int
) -> tuple[list[float], set[int], float]:
    latencies: list[float] = []
    totals: set[int] = set()
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            began = time.perf_counter()
            response = await client.get("/api/generations", params=params)
            latencies.append(time.perf_counter() - began)
            if response.status_code != 200:
                raise RuntimeError(f"{params}: {response.status_code} {response.text[:300]}")
            totals.add(response.json()["total"])

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, totals, time.perf_counter() - began


async def deep_cursor(client: httpx.AsyncClient, pages: int) -> str:
    """Follows next_cursor `pages` times from the first page; checks the pages tile the order
    (no item twice, each page strictly older than the one before)."""
    cursor: str | None = None
    seen: set[str] = set()
    last_key: tuple[str, str] | None = None
    for _ in range(pages):
        params = {"cursor": cursor} if cursor else {}
        response = await client.get("/api/generations", params=params)
        if response.status_code != 200:
            raise SystemExit(f"cursor walk: {response.status_code} {response.text[:300]}")
        body = response.json()
        items = body["generations"]
        if len(items) != PAGE or not body.get("next_cursor"):
            raise SystemExit(f"cursor walk: a short page ({len(items)} items) or no next_cursor")
        for item in items:
            if item["id"] in seen:
                raise SystemExit(f"cursor walk: {item['id']} on two pages")
            seen.add(item["id"])
        first = (items[0]["created_at"], items[0]["id"])
        if last_key is not None and first[0] > last_key[0]:
            raise SystemExit("cursor walk: a page newer than the one before")
        last_key = (items[-1]["created_at"], items[-1]["id"])
        cursor = body["next_cursor"]
    assert cursor is not None
    return cursor


async def measure(
    backend: str, base_url: str, dataset: Dataset, args: argparse.Namespace
) -> tuple[list[Result], str]:
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        login = await client.post(
            "/api/auth/login", json={"email": BIG_EMAIL, "password": PASSWORD}
        )
        if login.status_code != 200:
            raise SystemExit(f"login failed: {login.status_code} {login.text}")
        # Bearer only: the cookie the login set would just ride along.
        client.cookies.clear()
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        results = []
        cursor = await deep_cursor(client, DEEP_PAGES)
        log(f"{backend}: followed next_cursor {DEEP_PAGES} pages deep")
        for case in CASES:
            params = {"cursor": cursor} if case.name == CURSOR_CASE else case.params
            await hammer(client, params, args.warmup, args.concurrency)
            latencies, totals, wall = await hammer(client, params, args.requests, args.concurrency)
            latencies.sort()
            serial: list[float] = []
            if args.serial:
                # One request at a time: the latency of the request itself, without the queue
                # that a saturated single worker builds at the full concurrency.
                serial, more_totals, _ = await hammer(client, params, args.serial, 1)
                totals |= more_totals
                serial.sort()
            result = Result(
                backend=backend,
                case=case,
                p50_ms=percentile(latencies, 50) * 1000,
                p99_ms=percentile(latencies, 99) * 1000,
                rps=len(latencies) / wall,
                total=totals.pop() if len(totals) == 1 else -1,
                expected=case.expected(dataset.expected),
                serial_p50_ms=percentile(serial, 50) * 1000 if serial else None,
                serial_p99_ms=percentile(serial, 99) * 1000 if serial else None,
            )
            log(
                f"{backend}: {case.name}: p50 {result.p50_ms:.1f} ms,"
                f" p99 {result.p99_ms:.1f} ms, {result.rps:.0f} req/s"
            )
            results.append(result)
    return results, cursor


# --- the plans --------------------------------------------------------------------------------
def plan_cases(cursor: str) -> tuple[tuple[str, ListingQuery], ...]:
    return (
        ("first page", ListingQuery()),
        (CURSOR_CASE, ListingQuery(cursor=cursor)),
        (f"q={WORD}", ListingQuery(q=WORD)),
        (f"q={ABSENT}", ListingQuery(q=ABSENT)),
        (f"q={WORD}&status=completed", ListingQuery(q=WORD, status=GenerationStatus.COMPLETED)),
    )


async def capture_listing_sql(
    database_url: str, data_dir: Path, owner_id: uuid.UUID, query: ListingQuery
) -> list[tuple[str, tuple[Any, ...]]]:
    """The exact statements the service sends for one listing (the page, then the total), as
    the driver receives them: page_statement and total_statement, run on the app's engine."""
    settings = Settings(
        data_dir=data_dir, database_url=database_url, secret_key=secrets.token_urlsafe(48)
    ).resolved()
    config = build_sqlalchemy_config(settings)
    engine = config.get_engine()
    captured: list[tuple[str, tuple[Any, ...]]] = []

    def capture(*args: Any) -> None:
        _conn, _cursor, statement, parameters, _context, _many = args
        captured.append((statement, tuple(parameters or ())))

    dialect = engine.dialect.name
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the connection's own set-up, not captured
        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        try:
            await conn.execute(*page_statement(owner_id, query, dialect))
            await conn.execute(*total_statement(owner_id, query, dialect))
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", capture)
    await engine.dispose()
    if len(captured) != 2:
        raise SystemExit(f"expected 2 listing statements, captured {len(captured)}")
    return captured


def statement_kind(index: int) -> str:
    # The service runs the page, then the total (a tally read, or a COUNT with a search).
    return "page " if index == 0 else "total"


def sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


INDEX_USE = re.compile(
    r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)"
)
COST = re.compile(r"\(cost=[^)]*\) ")


def plan_lines(rows: list[Any]) -> list[str]:
    lines = [row[0] for row in rows]
    keep = [
        COST.sub("", line)
        for line in lines
        if not line.strip().startswith(("Buffers:", "Planning:"))
    ]
    return keep


def plan_summary(label: str, lines: list[str], *, tree: bool) -> list[str]:
    text = "\n".join(lines)
    used = list(dict.fromkeys(INDEX_USE.findall(text)))
    execution = re.search(r"Execution Time: ([\d.]+) ms", text)
    heap = sum(int(n) for n in re.findall(r"Heap Blocks: exact=(\d+)", text))
    removed = sum(int(n) for n in re.findall(r"Rows Removed by Filter: (\d+)", text))
    head = (
        f"{label}: {execution.group(1) if execution else '?'} ms,"
        f" indexes: {', '.join(used) or 'none (sequential scan)'}"
        f"{f', heap blocks {heap}' if heap else ''}"
        f"{f', rows removed by filter {removed}' if removed else ''}"
        f"{'  [JIT]' if 'JIT:' in text else ''}"
    )
    if not tree:
        return [head]
    return [head] + [f"      {line}" for line in lines if not line.startswith("Execution Time")]


async def explain_postgres(dsn: str, statements: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    """Each statement twice: as a first execution plans it (a custom plan for these values), and
    as a prepared statement runs it after five executions (asyncpg, under SQLAlchemy, prepares
    and caches every statement; PostgreSQL may then switch to a generic plan). The tree shown is
    the second: the plan a warm connection runs."""
    out: list[str] = []
    conn = await asyncpg.connect(dsn)
    try:
        for index, (sql, params) in enumerate(statements):
            kind = statement_kind(index)
            custom = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *params)
            out += plan_summary(f"  {kind} first run", plan_lines(custom), tree=False)
            literals = ", ".join(sql_literal(value) for value in params)
            await conn.execute(f"PREPARE bench_listing AS {sql}")
            try:
                for _ in range(6):
                    await conn.fetch(f"EXECUTE bench_listing({literals})")
                cached = await conn.fetch(
                    f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_listing({literals})"
                )
                generic = await conn.fetchval(
                    "SELECT generic_plans FROM pg_prepared_statements WHERE name = 'bench_listing'"
                )
            finally:
                await conn.execute("DEALLOCATE bench_listing")
            mode = "generic plan" if generic else "custom plan"
            out += plan_summary(f"  {kind} 7th run, {mode}", plan_lines(cached), tree=True)
    finally:
        await conn.close()
    return out


def explain_sqlite(path: Path, statements: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    out: list[str] = []
    conn = sqlite3.connect(path)
    try:
        for index, (sql, params) in enumerate(statements):
            kind = statement_kind(index)
            began = time.perf_counter()
            conn.execute(sql, params).fetchall()
            elapsed = (time.perf_counter() - began) * 1000
            rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
            out.append(f"  {kind} ({elapsed:.1f} ms): " + "; ".join(row[-1] for row in rows))
    finally:
        conn.close()
    return out


def explain(
    backend: str, target: str, data_dir: Path, database_url: str, owner: uuid.UUID, cursor: str
) -> list[str]:
    lines: list[str] = []
    for label, query in plan_cases(cursor):
        statements = asyncio.run(capture_listing_sql(database_url, data_dir, owner, query))
        lines.append(f"{label}")
        if label in ("first page", CURSOR_CASE, f"q={WORD}"):
            for index, (sql, _) in enumerate(statements):
                lines.append(f"  SQL ({statement_kind(index).strip()}): {' '.join(sql.split())}")
        if backend == "postgresql":
            lines += asyncio.run(explain_postgres(target, statements))
        else:
            lines += explain_sqlite(Path(target), statements)
    return lines


# --- the run ----------------------------------------------------------------------------------
@dataclass
class BackendRun:
    name: str
    seed: SeedTimes
    results: list[Result]
    plans: list[str]
    load: str


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def run_backend(
    backend: str, workdir: Path, dataset: Dataset, hashes: list[str], args: argparse.Namespace
) -> BackendRun:
    data_dir = workdir / backend
    data_dir.mkdir()
    with contextlib.ExitStack() as stack:
        if backend == "postgresql":
            dsn = stack.enter_context(postgres_database(args.pg_admin_dsn, args.keep))
            parts = urlsplit(dsn)
            database_url = f"postgresql+asyncpg://{parts.netloc}{parts.path}"
            target = dsn
        else:
            target = str(data_dir / "reelvault.db")
            database_url = f"sqlite+aiosqlite:///{target}"
        env = app_env(data_dir, database_url)
        log(f"{backend}: migrating {database_url}")
        migrate(env)
        log(f"{backend}: seeding {dataset.rows:,} generations over {dataset.users} users")
        if backend == "postgresql":
            seed = asyncio.run(seed_postgres(target, dataset, hashes))
        else:
            seed = seed_sqlite(Path(target), dataset, hashes)
        log(
            f"{backend}: seeded in {seed.total:.1f} s (rows {seed.rows:.1f} s,"
            f" indexes {seed.indexes:.1f} s, analyze {seed.analyze:.1f} s); {seed.size}"
        )
        with serve(env, data_dir / "server.log") as base_url:
            load = load_average()
            results, cursor = asyncio.run(measure(backend, base_url, dataset, args))
            load += f" -> {load_average()}"
        log(f"{backend}: plans")
        plans = explain(backend, target, data_dir, database_url, dataset.user_ids[0], cursor)
    return BackendRun(backend, seed, results, plans, load)


def mark(p99: float, target: float | None) -> str:
    if target is None:
        return "-"
    return f"<{target:g} {'pass' if p99 < target else 'FAIL'}"


def report(runs: list[BackendRun], dataset: Dataset, args: argparse.Namespace) -> None:
    header = (
        "backend",
        "case",
        "p50 ms",
        "p99 ms",
        "req/s",
        "total",
        "spec p99",
        "aim p99",
        "c=1 p50",
        "c=1 p99",
    )
    table = [header]
    for run in runs:
        for r in run.results:
            total = (
                f"{r.total:,}" if r.total == r.expected else f"{r.total:,} (want {r.expected:,})"
            )
            aim = AIM_MS[run.name][r.case.kind] if r.case.aimed else None
            table.append(
                (
                    run.name,
                    r.case.name,
                    f"{r.p50_ms:.1f}",
                    f"{r.p99_ms:.1f}",
                    f"{r.rps:.0f}",
                    total,
                    mark(r.p99_ms, SPEC_MS[r.case.kind]),
                    mark(r.p99_ms, aim),
                    "-" if r.serial_p50_ms is None else f"{r.serial_p50_ms:.1f}",
                    "-" if r.serial_p99_ms is None else f"{r.serial_p99_ms:.1f}",
                )
            )
    widths = [max(len(row[index]) for row in table) for index in range(len(header))]
    left = {0, 1}

    def line(row: tuple[str, ...]) -> str:
        cells = [
            cell.ljust(width) if index in left else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    print()
    print(
        f"GET /api/generations as the user with {dataset.big_rows:,} of {dataset.rows:,}"
        f" generations ({dataset.users} users), limit {PAGE}; {args.requests} requests per case"
        f" after {args.warmup} warm-up, concurrency {args.concurrency}, one uvicorn worker."
    )
    print(
        "spec: p99 < 200 ms filtered, < 500 ms search; aim: PostgreSQL p99 < 20 ms first page"
        " and cursor page, < 50 ms searches; SQLite < 30 ms and < 100 ms."
        f" Marks judge the p99 at concurrency {args.concurrency};"
        f" c=1: {args.serial} more requests one at a time."
    )
    print(line(table[0]))
    print(line(tuple("-" * width for width in widths)))
    for row in table[1:]:
        print(line(row))
    print()
    for run in runs:
        by_name = {r.case.name: r for r in run.results}
        first, deep = by_name["first page"], by_name[CURSOR_CASE]
        ratios = [
            f"p{pct} {getattr(deep, attr) / getattr(first, attr):.2f}x"
            for pct, attr in (("50", "p50_ms"), ("99", "p99_ms"))
        ]
        if deep.serial_p50_ms and first.serial_p50_ms:
            ratios.append(f"c=1 p50 {deep.serial_p50_ms / first.serial_p50_ms:.2f}x")
        print(
            f"{run.name}: {CURSOR_CASE} (after following next_cursor {DEEP_PAGES} times) vs first"
            f" page: {', '.join(ratios)}"
        )
    print()
    for run in runs:
        s = run.seed
        print(
            f"{run.name}: seeded in {s.total:.1f} s (users {s.users:.1f} s, rows {s.rows:.1f} s,"
            f" indexes {s.indexes:.1f} s, vacuum/analyze {s.analyze:.1f} s); {s.size};"
            f" load average during the run {run.load}"
        )
    for run in runs:
        print()
        title = "EXPLAIN (ANALYZE)" if run.name == "postgresql" else "EXPLAIN QUERY PLAN"
        print(
            f"{run.name}: {title} of the service's own listing statements"
            " (first page, cursor page, searches)"
        )
        for plan_line in run.plans:
            print(plan_line)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="generations to seed")
    parser.add_argument("--users", type=int, default=100, help="owners (one owns a tenth)")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per case")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured requests per case")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument(
        "--serial", type=int, default=100, help="extra requests per case one at a time (0: none)"
    )
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        type=lambda raw: [name.strip() for name in raw.split(",") if name.strip()],
        help="comma-separated: postgresql,sqlite",
    )
    parser.add_argument(
        "--pg-admin-dsn",
        default=os.environ.get(
            "REELVAULT_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a database to connect to for CREATE/DROP DATABASE",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases and the work directory"
    )
    args = parser.parse_args(argv)
    unknown = set(args.backends) - set(BACKENDS)
    if unknown or not args.backends:
        parser.error(f"--backends takes a list of {', '.join(BACKENDS)}")
    if args.rows < 1000 or args.users < 2 or args.users > 65535:
        parser.error("--rows must be at least 1000 and --users between 2 and 65535")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    check_vocabulary()
    dataset = Dataset(rows=args.rows, users=args.users)
    log("hashing the accounts' password with the service's Argon2 helper")
    hashes = asyncio.run(password_hashes(args.users))
    workdir = Path(tempfile.mkdtemp(prefix="reelvault-bench-"))
    runs: list[BackendRun] = []
    try:
        for backend in args.backends:
            runs.append(run_backend(backend, workdir, dataset, hashes, args))
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report(runs, dataset, args)


if __name__ == "__main__":
    # A plain `kill` still runs the clean-up: the server stops, the database is dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()
