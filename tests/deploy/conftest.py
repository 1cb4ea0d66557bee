"""The production paths on this machine, each behind a real Nginx configured by our nginx.conf:

- `nginx`: PostgreSQL (a fresh database), one app in accel mode with its migrations applied,
  its media directory read by Nginx;
- `replicas`: two app processes (tests/support/replicas.py) on one PostgreSQL database and one
  bucket of the suite's S3 server, both in Nginx's upstream, sending the bytes themselves.

The `deployment` fixture here overrides the one of tests/conftest.py for everything under
tests/deploy/: the API suites imported by the test_api_*.py modules run through Nginx, once
against each."""

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
from tests.support.media import media_files
from tests.support.nginx import Nginx, nginx_binary, nginx_in_front
from tests.support.postgres import postgres_server
from tests.support.replicas import ReplicaSet, replica_set, replica_settings
from tests.support.s3 import S3Server
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
                # As the API suite's deployments: no background files among those compared.
                storyboards="on-demand",
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
def replicas(s3: S3Server) -> Iterator[ReplicaSet]:
    """Two replicas behind one Nginx, on a database and a bucket of their own."""
    nginx_binary()
    workdir = Path(tempfile.mkdtemp(prefix="reelvault-replicas-"))
    workdir.chmod(0o755)
    try:
        with postgres_server() as server, server.database("reelvault_replicas") as name:
            settings = replica_settings(
                server.url(name),
                s3,
                s3.new_bucket(),
                workdir,
                max_upload_bytes=MAX_UPLOAD_BYTES,
                max_uploads_per_user=16,  # as the shared deployment of tests/conftest.py
                media_delivery="direct",
            )
            with replica_set(workdir, settings, s3) as replicas:
                yield replicas
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class ReplicasDeployment(Deployment):
    """The API suite's view of the replicas: requests go through Nginx (to either replica),
    the settings are the first replica's (the database, bucket and signing key are shared)."""

    def __init__(self, replicas: ReplicaSet) -> None:
        first = replicas.replicas[0]
        super().__init__("postgresql", replicas.settings, first, replicas.s3)  # type: ignore[arg-type]
        self.replicas = replicas
        self.base_url = replicas.base_url

    def local_files(self) -> set[str]:
        """Every file in the replicas' media directories, each named under its replica."""
        return {
            f"{replica.name}/{path}"
            for replica in self.replicas.replicas
            for path in media_files(replica.settings.media_root)
        }

    @contextlib.contextmanager
    def second_app(self, *, store: MediaStore) -> Iterator[str]:
        """The second replica itself, not through Nginx (its store is the bucket: `store`,
        a media directory's, has no meaning here)."""
        yield self.replicas.replicas[1].base_url


DEPLOYMENTS = ["nginx", "replicas"]


@pytest.fixture(scope="session", params=DEPLOYMENTS)
def deployment(request: pytest.FixtureRequest) -> Deployment:
    if request.param == "replicas":
        return ReplicasDeployment(request.getfixturevalue("replicas"))
    stack: Stack = request.getfixturevalue("stack")
    deployment = NginxDeployment("postgresql", stack.settings, stack.app)
    deployment.base_url = stack.base_url
    return deployment


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip, with its reason, each parametrized case that a module behind Nginx lists in its
    `LEFT_OUT` as {(test function, case id): reason}: on the `nginx` deployment, where Nginx
    sends the video bytes (the replicas send them themselves)."""
    for item in items:
        left_out = getattr(getattr(item, "module", None), "LEFT_OUT", None)
        callspec = getattr(item, "callspec", None)
        if not left_out or callspec is None:
            continue
        deployment = callspec.params.get("deployment")
        if deployment == "replicas":
            continue
        reason = left_out.get((item.originalname, case_id(callspec.id, deployment)))
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"behind Nginx: {reason}"))


def case_id(callspec_id: str, deployment: str | None) -> str:
    """The test's own case id, without the deployment's part that pytest joins to it."""
    if deployment is None:
        return callspec_id
    for affix in (f"{deployment}-", f"-{deployment}"):
        if callspec_id.startswith(affix):
            return callspec_id[len(affix) :]
        if callspec_id.endswith(affix):
            return callspec_id[: -len(affix)]
    return callspec_id
