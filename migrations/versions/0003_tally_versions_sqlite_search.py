"""per-owner tallies, media versions, indexed substring search on SQLite

- `generation_tally`: each owner's generations per status, kept exact by triggers in the same
  transaction as every insert, delete and status change, so a listing's `total` is one
  primary-key read, not a COUNT over the owner's 100k index entries.
- `generation.media_version`: the version that media URLs carry (`?v=`).
- SQLite only: an FTS5 `trigram` index of the prompts, so `q` reads the matching rows instead
  of every row of the owner. It indexes `generation_search`, a side table with an INTEGER
  PRIMARY KEY: FTS5 addresses rows by integer, and `generation`'s implicit rowid may change
  on VACUUM (its primary key is a UUID), which would silently detach the index. Each owner's
  entries get their own range of those integers (see OWNER_SPAN).
  (PostgreSQL has had its trigram GIN index since 0002.)

Revision ID: 3b9d2c7e5a14
Revises: 7c2f4e1a9b30
Create Date: 2026-12-01 20:40:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import GUID
from alembic import op

# Every statement here is built from the constant STATUSES, never from input.
# ruff: noqa: S608

revision = "3b9d2c7e5a14"
down_revision = "7c2f4e1a9b30"
branch_labels = None
depends_on = None

STATUSES = ("pending", "processing", "completed", "failed")


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    with op.batch_alter_table("generation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media_version", sa.String(length=32), nullable=True))
    # Existing files get a first version; any stable string would do.
    op.execute(
        "UPDATE generation SET media_version = '1' "
        "WHERE video_path IS NOT NULL OR thumbnail_path IS NOT NULL"
    )
    op.create_table(
        "generation_tally",
        sa.Column("user_id", GUID(length=16), nullable=False),
        *(sa.Column(s, sa.BigInteger(), server_default="0", nullable=False) for s in STATUSES),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_generation_tally_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_generation_tally")),
    )
    if _is_sqlite():
        _sqlite_tally_triggers()
        _sqlite_search()
    else:
        _postgresql_tally_triggers()
    counts = ", ".join(f"SUM(CASE WHEN status = '{s}' THEN 1 ELSE 0 END)" for s in STATUSES)
    op.execute(
        f"INSERT INTO generation_tally (user_id, {', '.join(STATUSES)}) "
        f"SELECT user_id, {counts} FROM generation GROUP BY user_id"
    )


def downgrade() -> None:
    if _is_sqlite():
        for trigger in (
            "generation_tally_insert",
            "generation_tally_delete",
            "generation_tally_update",
            "generation_search_insert",
            "generation_search_delete",
            "generation_search_update",
            "generation_search_fts_insert",
            "generation_search_fts_delete",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS generation_search_fts")
        op.execute("DROP TABLE IF EXISTS generation_search")
        op.execute("DROP TABLE IF EXISTS generation_search_owner")
    else:
        op.execute("DROP TRIGGER IF EXISTS generation_tally_change ON generation")
        op.execute("DROP TRIGGER IF EXISTS generation_tally_status ON generation")
        op.execute("DROP FUNCTION IF EXISTS generation_tally_apply()")
    op.drop_table("generation_tally")
    with op.batch_alter_table("generation", schema=None) as batch_op:
        batch_op.drop_column("media_version")


def _adds(row: str, sign: str) -> str:
    return ", ".join(f"{s} = {s} {sign} ({row}.status = '{s}')" for s in STATUSES)


def _sqlite_tally_triggers() -> None:
    values = ", ".join(f"NEW.status = '{s}'" for s in STATUSES)
    upsert = ", ".join(f"{s} = {s} + excluded.{s}" for s in STATUSES)
    insert_new = (
        f"INSERT INTO generation_tally (user_id, {', '.join(STATUSES)}) VALUES (NEW.user_id, "
        f"{values}) ON CONFLICT (user_id) DO UPDATE SET {upsert};"
    )
    remove_old = f"UPDATE generation_tally SET {_adds('OLD', '-')} WHERE user_id = OLD.user_id;"
    op.execute(
        f"CREATE TRIGGER generation_tally_insert AFTER INSERT ON generation BEGIN {insert_new} END"
    )
    op.execute(
        f"CREATE TRIGGER generation_tally_delete AFTER DELETE ON generation BEGIN {remove_old} END"
    )
    op.execute(
        "CREATE TRIGGER generation_tally_update AFTER UPDATE OF status, user_id ON generation "
        "WHEN OLD.status IS NOT NEW.status OR OLD.user_id IS NOT NEW.user_id "
        f"BEGIN {remove_old} {insert_new} END"
    )


def _postgresql_tally_triggers() -> None:
    values = ", ".join(f"(NEW.status = '{s}')::int" for s in STATUSES)
    upsert = ", ".join(f"{s} = generation_tally.{s} + EXCLUDED.{s}" for s in STATUSES)
    removes = ", ".join(f"{s} = {s} - (OLD.status = '{s}')::int" for s in STATUSES)
    op.execute(
        f"""
        CREATE FUNCTION generation_tally_apply() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                UPDATE generation_tally SET {removes} WHERE user_id = OLD.user_id;
            END IF;
            IF TG_OP IN ('UPDATE', 'INSERT') THEN
                INSERT INTO generation_tally (user_id, {", ".join(STATUSES)})
                VALUES (NEW.user_id, {values})
                ON CONFLICT (user_id) DO UPDATE SET {upsert};
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER generation_tally_change AFTER INSERT OR DELETE ON generation "
        "FOR EACH ROW EXECUTE FUNCTION generation_tally_apply()"
    )
    op.execute(
        "CREATE TRIGGER generation_tally_status AFTER UPDATE OF status, user_id ON generation "
        "FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status "
        "OR OLD.user_id IS DISTINCT FROM NEW.user_id) EXECUTE FUNCTION generation_tally_apply()"
    )


# Each owner's entries in the FTS5 index occupy their own range of rowids (the owner's number
# times 2**32, plus a counter), so a search reads the searching owner's matches only: FTS5
# seeks within its posting lists by rowid, where a filter on another column would visit every
# owner's matches first.
OWNER_SPAN = 2**32
_BASE = f"(SELECT number * {OWNER_SPAN} FROM generation_search_owner WHERE user_id = NEW.user_id)"
_NEXT_ID = (
    f"COALESCE((SELECT MAX(id) FROM generation_search WHERE id BETWEEN {_BASE} "
    f"AND {_BASE} + {OWNER_SPAN - 1}), {_BASE}) + 1"
)
_ADD_ENTRY = (
    "INSERT OR IGNORE INTO generation_search_owner (user_id) VALUES (NEW.user_id); "
    f"INSERT INTO generation_search (id, generation_id, prompt) VALUES ({_NEXT_ID}, NEW.id, "
    "NEW.prompt);"
)
BACKFILL = (
    "INSERT OR IGNORE INTO generation_search_owner (user_id) "
    "SELECT user_id FROM generation GROUP BY user_id ORDER BY MIN(created_at)",
    f"INSERT INTO generation_search (id, generation_id, prompt) SELECT o.number * {OWNER_SPAN} "
    "+ ROW_NUMBER() OVER (PARTITION BY g.user_id ORDER BY g.created_at, g.id), g.id, g.prompt "
    "FROM generation AS g JOIN generation_search_owner AS o ON o.user_id = g.user_id",
)


def _sqlite_search() -> None:
    op.execute(
        "CREATE TABLE generation_search_owner (number INTEGER PRIMARY KEY, "
        "user_id BLOB NOT NULL UNIQUE)"
    )
    op.execute(
        "CREATE TABLE generation_search (id INTEGER PRIMARY KEY, "
        "generation_id BLOB NOT NULL UNIQUE, prompt TEXT NOT NULL)"
    )
    op.execute(
        "CREATE VIRTUAL TABLE generation_search_fts USING fts5(prompt, "
        "content='generation_search', content_rowid='id', tokenize='trigram')"
    )
    # generation -> generation_search
    op.execute(
        f"CREATE TRIGGER generation_search_insert AFTER INSERT ON generation BEGIN {_ADD_ENTRY} END"
    )
    op.execute(
        "CREATE TRIGGER generation_search_delete AFTER DELETE ON generation BEGIN "
        "DELETE FROM generation_search WHERE generation_id = OLD.id; END"
    )
    op.execute(
        "CREATE TRIGGER generation_search_update AFTER UPDATE OF prompt, user_id ON generation "
        f"BEGIN DELETE FROM generation_search WHERE generation_id = OLD.id; {_ADD_ENTRY} END"
    )
    # generation_search -> its FTS5 index (external content: the index keeps no copy)
    op.execute(
        "CREATE TRIGGER generation_search_fts_insert AFTER INSERT ON generation_search BEGIN "
        "INSERT INTO generation_search_fts (rowid, prompt) VALUES (NEW.id, NEW.prompt); END"
    )
    op.execute(
        "CREATE TRIGGER generation_search_fts_delete AFTER DELETE ON generation_search BEGIN "
        "INSERT INTO generation_search_fts (generation_search_fts, rowid, prompt) "
        "VALUES ('delete', OLD.id, OLD.prompt); END"
    )
    for statement in BACKFILL:
        op.execute(statement)
