"""Database wiring: one advanced-alchemy config per app, Alembic pointed at `migrations/`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advanced_alchemy.extensions.litestar import (
    AlembicAsyncConfig,
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from sqlalchemy import event

import reelvault.models  # noqa: F401  (every table on the metadata, whoever builds a config)
from reelvault.settings import Settings

_PACKAGED_MIGRATIONS = Path(__file__).parent / "migrations"
_SOURCE_MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def migrations_dir() -> Path:
    """The wheel carries migrations inside the package; a source checkout keeps them at the top."""
    return _PACKAGED_MIGRATIONS if _PACKAGED_MIGRATIONS.is_dir() else _SOURCE_MIGRATIONS


def build_sqlalchemy_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    engine_config = (
        EngineConfig(connect_args={"timeout": 30})
        if settings.is_sqlite
        else EngineConfig(pool_size=10, max_overflow=20, pool_pre_ping=True)
    )
    config = SQLAlchemyAsyncConfig(
        connection_string=settings.database_url,
        before_send_handler="autocommit",
        session_config=AsyncSessionConfig(expire_on_commit=False),
        engine_config=engine_config,
        alembic_config=AlembicAsyncConfig(
            script_location=str(migrations_dir()),
            script_config=str(migrations_dir() / "alembic.ini"),
            version_table_name="alembic_versions",
            render_as_batch=True,
            compare_type=True,
        ),
        create_all=False,
    )
    if settings.is_sqlite:
        event.listen(config.get_engine().sync_engine, "connect", _tune_sqlite)
    return config


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (listing, streaming checks) run while an import or delete commits;
    # foreign keys are off by default in SQLite and our cascades depend on them.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
