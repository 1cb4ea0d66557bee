"""The production path on this machine: PostgreSQL (a fresh database), the app in accel mode
with its migrations applied, and a real Nginx in front configured by our nginx.conf.

The `deployment` fixture here overrides the one of tests/conftest.py for everything under
tests/deploy/: the API suites imported by the test_api_*.py modules run through Nginx."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reelvault.settings import Settings
from reelvault.storage.store import MediaStore
from tests.conftest import Deployment
from tests.support.nginx import Nginx, nginx_binary, nginx_in_front
from tests.support.postgres import postgres_server
from tests.support.servers import LiveServer, live_app

# Small enough that the over-the-limit tests stay fast; every clip the suites import fits.
MAX_UPLOAD_BYTES = 4 * 1024 * 1024


@dataclass
class Stack:
    settings: Settings
    app: LiveServer
    nginx: Nginx

    @property
    def base_url(self) -> str:
        return self.nginx.base_url


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    nginx_binary()  # skip (fail in CI) before starting anything
    # Not under pytest's 0700 temporary root: Nginx's workers must reach web/ and the media.
    workdir = Path(tempfile.mkdtemp(prefix="reelvault-deploy-"))
    workdir.chmod(0o755)
    try:
        with postgres_server() as server, server.database("reelvault_deploy") as name:
            settings = Settings(
                data_dir=workdir / "data",
                database_url=server.url(name),
                max_upload_bytes=MAX_UPLOAD_BYTES,
                media_delivery="accel",
            ).resolved()
            settings.ensure_directories()
            (workdir / "data").chmod(0o755)
            with (
                live_app(settings, migrate=True) as app,
                nginx_in_front(app.port, settings, workdir) as nginx,
            ):
                yield Stack(settings, app, nginx)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class NginxDeployment(Deployment):
    @contextlib.contextmanager
    def second_app(self, *, store: MediaStore) -> Iterator[str]:
        """The second app behind a second Nginx, as the first one is."""
        workdir = Path(tempfile.mkdtemp(prefix="reelvault-second-"))
        workdir.chmod(0o755)
        try:
            with (
                live_app(self.settings, store=store) as app,
                nginx_in_front(app.port, self.settings, workdir) as nginx,
            ):
                yield nginx.base_url
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def deployment(stack: Stack) -> Deployment:
    deployment = NginxDeployment("postgresql", stack.settings, stack.app)
    deployment.base_url = stack.base_url
    return deployment


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip, with its reason, each parametrized case that a module behind Nginx lists in its
    `LEFT_OUT` as {(test function, case id): reason}."""
    for item in items:
        left_out = getattr(getattr(item, "module", None), "LEFT_OUT", None)
        callspec = getattr(item, "callspec", None)
        if left_out and callspec is not None:
            reason = left_out.get((item.originalname, callspec.id))
            if reason:
                item.add_marker(pytest.mark.skip(reason=f"behind Nginx: {reason}"))
