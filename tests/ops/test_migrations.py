"""The schema comes only from the migrations, on both databases, and agrees with the models."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from reelvault.settings import Settings
from tests.conftest import database_url
from tests.support.servers import run_cli

BACKENDS = ["sqlite", "postgresql"]


@contextlib.contextmanager
def empty_database(backend: str, workdir: Path) -> Iterator[Settings]:
    with database_url(backend, workdir) as url:
        yield Settings(data_dir=workdir, database_url=url).resolved()


def tables(settings: Settings) -> set[str]:
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def read() -> set[str]:
        engine = create_async_engine(settings.database_url)
        try:
            async with engine.connect() as connection:
                return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def alembic(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    import os
    import sys

    from tests.support.servers import ROOT, settings_env

    return subprocess.run(
        [sys.executable, "-m", "alembic", "-c", "migrations/alembic.ini", *args],
        cwd=ROOT,
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_downgrade_upgrade_and_no_drift(backend: str, tmp_path: Path) -> None:
    with empty_database(backend, tmp_path) as settings:
        assert tables(settings) == set()
        run_cli(settings, "database", "upgrade", "--no-prompt")
        assert {"user_account", "generation", "alembic_versions"} <= tables(settings)
        check = alembic(settings, "check")
        assert check.returncode == 0, check.stdout + check.stderr
        assert "No new upgrade operations detected" in check.stdout + check.stderr
        run_cli(settings, "database", "downgrade", "--no-prompt", "base")
        assert tables(settings) <= {"alembic_versions"}
        run_cli(settings, "database", "upgrade", "--no-prompt")
        assert {"user_account", "generation"} <= tables(settings)


@pytest.mark.parametrize("backend", BACKENDS)
def test_listing_indexes_exist(backend: str, tmp_path: Path) -> None:
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    with empty_database(backend, tmp_path) as settings:
        run_cli(settings, "database", "upgrade", "--no-prompt")

        async def index_names() -> set[str]:
            engine = create_async_engine(settings.database_url)
            try:
                async with engine.connect() as connection:
                    indexes = await connection.run_sync(
                        lambda c: inspect(c).get_indexes("generation")
                    )
                    return {index["name"] for index in indexes}
            finally:
                await engine.dispose()

        names = asyncio.run(index_names())
        assert {"ix_generation_user_created", "ix_generation_user_status_created"} <= names
        assert ("ix_generation_user_prompt_trgm" in names) == (backend == "postgresql")
        assert "ix_generation_prompt_trgm" not in names


def test_a_drifted_model_is_caught(tmp_path: Path) -> None:
    """`alembic check` must be able to fail: on a database one migration behind, it does."""
    with empty_database("sqlite", tmp_path) as settings:
        run_cli(settings, "database", "upgrade", "--no-prompt")
        import sqlite3

        path = settings.database_url.split("///", 1)[1]
        with sqlite3.connect(path) as db:
            db.execute("DROP INDEX ix_generation_user_created")
        check = alembic(settings, "check")
        assert check.returncode != 0
        assert "ix_generation_user_created" in check.stdout + check.stderr
