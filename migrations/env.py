"""Alembic environment for reelvault (async engines: aiosqlite and asyncpg)."""

from __future__ import annotations

import asyncio
from typing import Any

from advanced_alchemy.base import metadata_registry
from advanced_alchemy.types import GUID
from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_engine_from_config

import reelvault.models  # noqa: F401  (registers every table on the metadata)
from reelvault.settings import Settings

config: Any = context.config
target_metadata = metadata_registry.get(getattr(config, "bind_key", None))
VERSION_TABLE = getattr(config, "version_table_name", "alembic_versions")


def _database_url() -> str:
    # Set by advanced-alchemy's `litestar database` commands; plain `alembic` uses settings.
    return getattr(config, "db_url", None) or Settings.from_env().database_url


def _include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    # SQLite's prompt search index (0003) is raw DDL: an FTS5 table and its side table.
    if type_ == "table" and name and name.startswith("generation_search"):
        return False
    # Indexes built for one dialect only (the PostgreSQL trigram index) are not drift elsewhere.
    if type_ == "index" and not reflected:
        dialects = getattr(getattr(obj, "_ddl_if", None), "dialect", None)
        if dialects:
            wanted = {dialects} if isinstance(dialects, str) else set(dialects)
            return context.get_bind().dialect.name in wanted
    return True


def _compare_type(
    _context: Any, _inspected: Any, _column: Any, inspected_type: Any, metadata_type: Any
) -> bool | None:
    # GUID is BINARY(16) on SQLite and reflects back as NUMERIC: not a real difference.
    if isinstance(metadata_type, GUID):
        return False
    return None


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        include_object=_include_object,
        compare_type=_compare_type,
        version_table=VERSION_TABLE,
        render_as_batch=True,
        user_module_prefix="sa.",
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=_database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine: AsyncEngine | None = getattr(config, "engine", None)
    if engine is None:
        section = config.get_section(config.config_ini_section) or {}
        section["sqlalchemy.url"] = _database_url()
        engine = async_engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
