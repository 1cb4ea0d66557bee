"""One deployment per database backend and media storage: migrations applied with the real
CLI, the app served over real HTTP. Every test that takes `deployment` runs on SQLite and on
PostgreSQL with the media directory, and on PostgreSQL with the media in an S3 bucket (a real
S3-protocol server started once per session, a bucket of its own per deployment)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from reelvault.generations.models import Generation
from reelvault.settings import Settings
from reelvault.storage.intents import storage_intent
from reelvault.storage.store import MediaStore
from tests.support.factories import Account, register_and_login
from tests.support.media import media_files
from tests.support.postgres import postgres_server
from tests.support.s3 import S3Server, s3_server, s3_settings
from tests.support.servers import LiveServer, live_app

BACKENDS = ["sqlite", "postgresql"]
# name -> (database, storage).
KINDS = {
    "sqlite": ("sqlite", "local"),
    "postgresql": ("postgresql", "local"),
    "sqlite-s3": ("sqlite", "s3"),
    "postgresql-s3": ("postgresql", "s3"),
}
# The shared deployment's runs. The s3 run goes on PostgreSQL, the database of deployments that
# outgrow one machine; the s3 faults and the no-local-files proof run on both databases.
DEPLOYMENTS = ["sqlite", "postgresql", "postgresql-s3"]
# Where the s3 deployments keep their objects inside their bucket (a prefix, as an operator
# sharing a bucket would set).
S3_PREFIX = "library/"


@contextlib.contextmanager
def database_url(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'reelvault.db'}"
        return
    with postgres_server() as server, server.database() as name:
        yield server.url(name)


class Deployment:
    """A served app and what tests need to look at or break its stored files, whichever the
    storage: `stored`, `read_stored`, `write_stored`, `remove_stored`, `stored_keys` take the
    stored paths the rows hold (relative to the media directory or the bucket's prefix)."""

    def __init__(
        self,
        backend: str,
        settings: Settings,
        server: LiveServer,
        s3: S3Server | None = None,
    ) -> None:
        self.backend = backend
        self.storage = settings.storage
        self.settings = settings
        self.server = server
        self.base_url = server.base_url
        self.s3 = s3
        # The media directory: stored files on `local`, the uploads' work files on both.
        self.media = MediaStore(settings.media_root)
        self._engine: AsyncEngine | None = None

    @property
    def name(self) -> str:
        return self.backend if self.storage == "local" else f"{self.backend}-{self.storage}"

    @property
    def engine(self) -> AsyncEngine:
        # Created lazily in the test event loop, apart from the app's own engine.
        if self._engine is None:
            self._engine = create_async_engine(self.settings.database_url)
        return self._engine

    @property
    def on_s3(self) -> bool:
        return self.storage == "s3"

    def skip_on_s3(self, reason: str) -> None:
        if self.on_s3:
            pytest.skip(f"local storage only: {reason}")

    # -- stored files, whichever the storage -------------------------------------------------

    def _key(self, relpath: str) -> str:
        return self.settings.s3_prefix + relpath

    def _client(self) -> Any:
        assert self.s3 is not None
        return self.s3.client()

    def stored(self, relpath: str | None) -> bool:
        if not relpath:
            return False
        if not self.on_s3:
            return self.media.exists(relpath)
        try:
            self._client().head_object(Bucket=self.settings.s3_bucket, Key=self._key(relpath))
        except self._client().exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def read_stored(self, relpath: str) -> bytes:
        if not self.on_s3:
            return (self.media.root / relpath).read_bytes()
        answer = self._client().get_object(Bucket=self.settings.s3_bucket, Key=self._key(relpath))
        return answer["Body"].read()

    def write_stored(self, relpath: str, data: bytes) -> None:
        if not self.on_s3:
            path = self.media.root / relpath
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return
        self._client().put_object(Bucket=self.settings.s3_bucket, Key=self._key(relpath), Body=data)

    def remove_stored(self, relpath: str) -> None:
        """The stored file lost behind the app's back (an operator's mistake, a failed disk)."""
        if not self.on_s3:
            (self.media.root / relpath).unlink()
            return
        assert self.stored(relpath), f"nothing stored at {relpath}"
        self._client().delete_object(Bucket=self.settings.s3_bucket, Key=self._key(relpath))

    def stored_keys(self) -> set[str]:
        """Every stored file: the media directory's files on `local` (work folders included),
        the bucket's keys under the prefix on `s3`."""
        if not self.on_s3:
            return media_files(self.media.root)
        assert self.s3 is not None
        prefix = self.settings.s3_prefix
        return {key[len(prefix) :] for key in self.s3.keys(self.settings.s3_bucket, prefix)}

    def all_files(self) -> set[str]:
        """`stored_keys`, and on `s3` the media directory's files as well (marked "local:"):
        one snapshot to compare before and after, for "nothing was left behind"."""
        if not self.on_s3:
            return self.stored_keys()
        return self.stored_keys() | {f"local:{path}" for path in self.local_files()}

    def local_files(self) -> set[str]:
        """Every file in the media directory (on `s3`: only the uploads' work files, if any)."""
        return media_files(self.media.root)

    async def stored_paths(self, generation_id: str | UUID) -> tuple[str | None, str | None]:
        """The (video, thumbnail) stored paths the row names."""
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(Generation.video_path, Generation.thumbnail_path).where(
                        Generation.id == UUID(str(generation_id))
                    )
                )
            ).one()
        return row.video_path, row.thumbnail_path

    async def settled(self) -> bool:
        """No deletion or upload is half-done: the trash is empty on `local`, no intent record
        is left on `s3`."""
        if not self.on_s3:
            return not any(self.media.trash_dir().iterdir())
        async with self.engine.connect() as connection:
            left = await connection.scalar(select(func.count()).select_from(storage_intent))
        return left == 0

    @contextlib.contextmanager
    def second_app(self, *, store: MediaStore) -> Iterator[str]:
        """Another app on this deployment's database and media, whose media store is `store`
        (one that fails on purpose): yields the base URL to send its requests to."""
        with live_app(self.settings, store=store) as app:
            yield app.base_url


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """The suite's S3-protocol server, started on first need."""
    with s3_server() as server:
        yield server


@contextlib.contextmanager
def deployment_of(
    name: str, workdir: Path, request: pytest.FixtureRequest | None, **overrides: Any
) -> Iterator[Deployment]:
    """The deployment called `name` (a key of KINDS), migrated and served; `overrides` are
    fields of its settings. On s3 it gets a fresh bucket of the session's server."""
    backend, storage = KINDS[name]
    with database_url(backend, workdir) as url:
        # Storyboards only on first need unless asked: one made in the background after each
        # import would land among the files other tests compare before and after.
        overrides = {"storyboards": "on-demand", **overrides}
        settings = Settings(data_dir=workdir, database_url=url, **overrides).resolved()
        server: S3Server | None = None
        if storage == "s3":
            assert request is not None, "an s3 deployment needs the session's S3 server"
            server = request.getfixturevalue("s3")
            settings = s3_settings(settings, server, server.new_bucket(), s3_prefix=S3_PREFIX)
        with live_app(settings, migrate=True) as served:
            yield Deployment(backend, settings, served, server)


@pytest.fixture(scope="session", params=DEPLOYMENTS)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    name: str = request.param
    with deployment_of(
        name,
        tmp_path_factory.mktemp(f"deploy-{name}"),
        request,
        max_upload_bytes=64 * 1024 * 1024,
        # Tests import many clips of one account at once (totals under concurrency); the
        # cap itself is tested with apps of their own (tests/api/test_upload_abuse.py).
        max_uploads_per_user=16,
    ) as deployment:
        yield deployment


@pytest.fixture
async def account(deployment: Deployment) -> AsyncIterator[Account]:
    user = await register_and_login(deployment.base_url)
    yield user
    await user.client.aclose()


@pytest.fixture
async def other_account(deployment: Deployment) -> AsyncIterator[Account]:
    user = await register_and_login(deployment.base_url)
    yield user
    await user.client.aclose()
