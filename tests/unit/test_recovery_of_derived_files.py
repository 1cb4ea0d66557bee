"""Files made for a row that already exists (a storyboard) and left by a crash between their
placing and the row's update: recovery removes those the row does not name, keeps the rest."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from reelvault.accounts.models import User
from reelvault.generations.recovery import recover_interrupted_operations
from reelvault.settings import Settings
from reelvault.storage import files, journal
from reelvault.storage.store import MediaStore
from tests.support.factories import generation_row, insert_generations
from tests.support.servers import migrate


async def test_a_crash_after_placing_a_derived_file_keeps_only_what_the_row_names(
    tmp_path: Path,
) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'db'}"
    ).resolved()
    migrate(settings)
    media = MediaStore(settings.media_root)
    media.prepare()
    engine = create_async_engine(settings.database_url)
    owner = uuid.uuid4()
    async with engine.begin() as connection:
        await connection.execute(
            insert(User.__table__).values(id=owner, email="o@example.com", password_hash="x")
        )
    named = f"storyboards/{uuid.uuid4()}-kept.jpg"
    row = generation_row(owner, status="completed", storyboard_path=named)
    await insert_generations(engine, [row])
    orphan = f"storyboards/{row['id']}-orphan.jpg"

    # Two derived files placed under a journal operation, then a crash before the row's
    # update: the operation is never ended, and its lock goes as a dead process's would.
    running = journal.operation(media.incoming_dir(), "derive")  # never exited: the crash
    op = running.__enter__()
    sources = {}
    for kind in ("named", "orphan"):
        sources[kind] = op.folder / kind
        sources[kind].write_bytes(b"jpeg")
    files.place_files(
        media, op, row["id"], sources, {"named": named, "orphan": orphan}, action="derive"
    )
    op.release()
    assert media.exists(named) and media.exists(orphan)

    async with async_sessionmaker(engine)() as session:
        assert await recover_interrupted_operations(session, media) == 1
    assert media.exists(named)
    assert not media.exists(orphan)
    assert list(media.incoming_dir().iterdir()) == []
    await engine.dispose()
