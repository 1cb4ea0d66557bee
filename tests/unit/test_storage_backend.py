"""The s3 backend's parts that are logic: stored paths, the multipart ETag, the existence cache,
and the intents' exact scheme against a real moto server and a real (SQLite) database."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from reelvault.errors import ServiceUnavailable
from reelvault.models import Generation  # noqa: F401 (the whole metadata)
from reelvault.settings import Settings
from reelvault.storage import backend as storage_backend
from reelvault.storage import intents
from reelvault.storage.backend import ExistenceCache, S3Backend, stored_path
from reelvault.storage.objects import ObjectStore, is_our_key, multipart_etag
from tests.support.s3 import S3Server, s3_server, s3_settings
from tests.support.servers import migrate


def test_stored_paths_carry_the_version_when_given() -> None:
    gid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert stored_path(gid, "video") == f"videos/{gid}.mp4"
    assert stored_path(gid, "thumbnail", "v1") == f"thumbnails/{gid}-v1.jpg"
    assert stored_path(gid, "storyboard", "v1") == f"storyboards/{gid}-v1.jpg"


def test_the_multipart_etag_is_the_md5_of_the_parts_md5s() -> None:
    parts = [b"a" * 10, b"b" * 3]
    digests = [hashlib.md5(p).digest() for p in parts]  # noqa: S324
    expected = hashlib.md5(digests[0] + digests[1]).hexdigest() + "-2"  # noqa: S324
    assert multipart_etag(digests) == expected


def test_the_existence_cache_forgets_after_its_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(storage_backend.time, "monotonic", lambda: now[0])
    cache = ExistenceCache(60)
    cache.remember("a", present=True)
    cache.remember("b", present=False)
    assert cache.get("a") is True and cache.get("b") is False
    now[0] += 6  # absence is re-asked within seconds, presence within the TTL
    assert cache.get("a") is True and cache.get("b") is None
    now[0] += 60
    assert cache.get("a") is None
    cache.remember("c", present=True)
    cache.forget("c")
    assert cache.get("c") is None


@pytest.fixture(scope="module")
def moto() -> AsyncIterator[S3Server]:
    with s3_server() as server:
        yield server


@contextlib.asynccontextmanager
async def s3_backend(
    moto: S3Server, tmp_path: Path, grace: int = 3600
) -> AsyncIterator[tuple[S3Backend, async_sessionmaker[AsyncSession], str]]:
    bucket = moto.new_bucket()
    settings = s3_settings(
        Settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'db'}"),
        moto,
        bucket,
    )
    migrate(settings)
    engine = create_async_engine(settings.database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    backend = S3Backend(
        ObjectStore(settings), sessions, tmp_path / "tmp", intent_grace_seconds=grace
    )
    await backend.objects.open()
    try:
        yield backend, sessions, bucket
    finally:
        await backend.objects.close()
        await engine.dispose()


async def _intent_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return (await session.execute(text("SELECT count(*) FROM storage_intent"))).scalar_one()


async def test_a_failed_save_leaves_neither_objects_nor_intent(
    moto: S3Server, tmp_path: Path
) -> None:
    async with s3_backend(moto, tmp_path) as (backend, sessions, bucket):
        work = tmp_path / "v.mp4"
        work.write_bytes(b"video bytes")

        async def save(keys: dict[str, str]) -> None:
            assert moto.keys(bucket) == [keys["video"]]  # the object went up before the row
            raise RuntimeError("the insert failed")

        async with sessions() as session:
            with pytest.raises(RuntimeError):
                await backend.store(session, uuid.uuid4(), "v1", {"video": work}, save)
        assert moto.keys(bucket) == []
        assert await _intent_count(sessions) == 0


async def test_an_intent_taken_by_the_sweeper_fails_the_import_and_its_objects_go(
    moto: S3Server, tmp_path: Path
) -> None:
    async with s3_backend(moto, tmp_path, grace=1) as (backend, sessions, bucket):
        work = tmp_path / "v.mp4"
        work.write_bytes(b"video bytes")
        saved: list[dict[str, str]] = []

        async def save(keys: dict[str, str]) -> None:
            saved.append(keys)

        # A sweeper that runs while the objects go up (this import outlived the grace).
        real_put = backend.objects.put_file

        async def slow_put(key: str, source: Path, content_type: str):
            info = await real_put(key, source, content_type)
            async with sessions() as session:
                await session.execute(
                    update(intents.storage_intent).values(
                        created_at=datetime.now(UTC) - timedelta(hours=1)
                    )
                )
                await session.commit()
            assert await backend.sweep() == 1
            return info

        backend.objects.put_file = slow_put  # type: ignore[method-assign]
        async with sessions() as session:
            with pytest.raises(ServiceUnavailable):
                await backend.store(session, uuid.uuid4(), "v1", {"video": work}, save)
        assert saved == []
        assert moto.keys(bucket) == []
        assert await _intent_count(sessions) == 0


async def test_a_stale_put_intent_is_swept_and_a_fresh_one_kept(
    moto: S3Server, tmp_path: Path
) -> None:
    async with s3_backend(moto, tmp_path, grace=600) as (backend, sessions, bucket):
        client = moto.client()
        for key in ("videos/old.mp4", "videos/new.mp4"):
            client.put_object(Bucket=bucket, Key=key, Body=b"x")
        async with sessions() as session:
            await intents.record(session, "put", ["videos/old.mp4"])
            await intents.record(session, "put", ["videos/new.mp4"])
            await session.execute(
                update(intents.storage_intent)
                .where(intents.storage_intent.c.object_keys.contains("old"))
                .values(created_at=datetime.now(UTC) - timedelta(hours=1))
            )
            await session.commit()
        assert await backend.sweep() == 1
        assert moto.keys(bucket) == ["videos/new.mp4"]
        assert await _intent_count(sessions) == 1


async def test_a_delete_intent_outlives_a_store_outage_and_is_finished_after(
    moto: S3Server, tmp_path: Path
) -> None:
    async with s3_backend(moto, tmp_path) as (backend, sessions, bucket):
        moto.client().put_object(Bucket=bucket, Key="videos/gone.mp4", Body=b"x")
        moto.stop()
        try:
            async with sessions() as session:
                report = await backend.delete(
                    session,
                    {"video": "videos/gone.mp4"},
                    session.commit,
                    label="delete-x",
                    manifest={},
                )
            assert report == ["video=left-to-sweeper"]
            assert await _intent_count(sessions) == 1
            assert await backend.sweep() == 0  # still down: kept
            assert await _intent_count(sessions) == 1
        finally:
            moto.start()  # moto keeps objects in memory: the restarted store is empty
        moto.client().create_bucket(Bucket=bucket)
        moto.client().put_object(Bucket=bucket, Key="videos/gone.mp4", Body=b"x")
        assert await backend.sweep() == 1
        assert moto.keys(bucket) == []
        assert await _intent_count(sessions) == 0


@pytest.mark.parametrize(
    ("key", "ours"),
    [
        ("videos/a.mp4", True),
        ("../outside.jpg", False),
        ("videos/../../x", False),
        ("/etc/passwd", False),
        ("videos//a.mp4", False),
        ("videos/./a.mp4", False),
        ("a\x00b", False),
        ("", False),
    ],
)
def test_only_paths_an_import_could_make_are_keys(key: str, ours: bool) -> None:
    assert is_our_key(key) is ours
