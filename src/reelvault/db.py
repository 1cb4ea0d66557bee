"""Database wiring: one advanced-alchemy config per app, Alembic pointed at `migrations/`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from advanced_alchemy.extensions.litestar import (
    AlembicAsyncConfig,
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from advanced_alchemy.extensions.litestar.plugins.init.config.asyncio import (
    autocommit_handler_maker,
    default_handler_maker,
)
from litestar.types import Message, Scope
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
        # Enough pooled connections for every request in flight: past the pool, each checkout
        # opened a new connection (its own aiosqlite thread, the file, the PRAGMAs) and closed it
        # again, which under 8 concurrent requests cost more than the queries themselves.
        EngineConfig(connect_args={"timeout": 30}, pool_size=20, max_overflow=20)
        if settings.is_sqlite
        else EngineConfig(pool_size=10, max_overflow=20, pool_pre_ping=True)
    )
    config = SQLAlchemyAsyncConfig(
        connection_string=settings.database_url,
        before_send_handler="autocommit",  # replaced below, once the session key is known
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
    config.before_send_handler = commit_unsafe_requests(config.session_scope_key)
    if settings.is_sqlite:
        event.listen(config.get_engine().sync_engine, "connect", _tune_sqlite)
    return config


_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def commit_unsafe_requests(session_scope_key: str) -> Callable[[Message, Scope], Awaitable[None]]:
    """The request boundary commits what a successful POST or DELETE did (advanced-alchemy's
    autocommit); a GET or HEAD wrote nothing, so its session is only closed: no COMMIT round
    trip on every read. Built per config: each config has its own session key in the scope."""
    commit_on_success = autocommit_handler_maker(session_scope_key=session_scope_key)
    close_only = default_handler_maker(session_scope_key=session_scope_key)

    async def handler(message: Message, scope: Scope) -> None:
        if scope.get("method") in _READS:
            await close_only(message, scope)
        else:
            await commit_on_success(message, scope)

    return handler


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (listing, streaming checks) run while an import or delete commits;
    # foreign keys are off by default in SQLite and our cascades depend on them.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
