"""One deployment per database backend: migrations applied with the real CLI, the app served
over real HTTP. Every test that takes `deployment` runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from reelvault.settings import Settings
from reelvault.storage.store import MediaStore
from tests.support.factories import Account, register_and_login
from tests.support.postgres import postgres_server
from tests.support.servers import LiveServer, live_app

BACKENDS = ["sqlite", "postgresql"]


@contextlib.contextmanager
def database_url(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'reelvault.db'}"
        return
    with postgres_server() as server, server.database() as name:
        yield server.url(name)


class Deployment:
    def __init__(self, backend: str, settings: Settings, server: LiveServer) -> None:
        self.backend = backend
        self.settings = settings
        self.server = server
        self.base_url = server.base_url
        self.media = MediaStore(settings.media_root)
        self._engine: AsyncEngine | None = None

    @property
    def engine(self) -> AsyncEngine:
        # Created lazily in the test event loop, apart from the app's own engine.
        if self._engine is None:
            self._engine = create_async_engine(self.settings.database_url)
        return self._engine

    @contextlib.contextmanager
    def second_app(self, *, store: MediaStore) -> Iterator[str]:
        """Another app on this deployment's database and media, whose media store is `store`
        (one that fails on purpose): yields the base URL to send its requests to."""
        with live_app(self.settings, store=store) as app:
            yield app.base_url


@pytest.fixture(scope="session", params=BACKENDS)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    backend: str = request.param
    workdir = tmp_path_factory.mktemp(f"deploy-{backend}")
    with database_url(backend, workdir) as url:
        settings = Settings(
            data_dir=workdir,
            database_url=url,
            max_upload_bytes=64 * 1024 * 1024,
            # Tests import many clips of one account at once (totals under concurrency); the
            # cap itself is tested with apps of its own (tests/api/test_upload_abuse.py).
            max_uploads_per_user=16,
        ).resolved()
        with live_app(settings, migrate=True) as server:
            yield Deployment(backend, settings, server)


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
