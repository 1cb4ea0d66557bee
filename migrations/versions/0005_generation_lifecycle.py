"""the generation lifecycle: requests, worker keys, leases

- `worker_key`: one row per key a generator process authenticates with; only the SHA-256 of
  the key is kept (keys are 32 random bytes, so no slow hash is needed). Revoking deletes it.
- `generation`: the requested `aspect_ratio`, how many `attempts` workers made, the current
  lease (`lease_token`, `lease_seconds`, `lease_expires_at`) and the key that took it last
  (`worker_key_id`, set null when the key goes).
- Two partial indexes: the queue (pending, oldest first) that a claim reads, and the leases in
  flight that the expiry pass reads.

On SQLite the foreign key needs a copy of the table, which drops the tally and search triggers
of 0003: they are read first and created again after the copy.

Revision ID: 9e4b7d21c6f3
Revises: 5aa12ade0e52
Create Date: 2026-12-01 23:20:00+00:00
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "9e4b7d21c6f3"
down_revision = "5aa12ade0e52"
branch_labels = None
depends_on = None

FK_NAME = "fk_generation_worker_key_id_worker_key"
QUEUE = "status = 'pending'"
LEASES = "status = 'processing'"


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    op.create_table(
        "worker_key",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("last_used_at", DateTimeUTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_worker_key_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_worker_key_name")),
    )
    op.add_column("generation", sa.Column("aspect_ratio", sa.String(length=8), nullable=True))
    op.add_column(
        "generation", sa.Column("attempts", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("generation", sa.Column("lease_token", sa.String(length=64), nullable=True))
    op.add_column("generation", sa.Column("lease_seconds", sa.Integer(), nullable=True))
    op.add_column(
        "generation",
        sa.Column("lease_expires_at", DateTimeUTC(timezone=True), nullable=True),
    )
    op.add_column("generation", sa.Column("worker_key_id", GUID(length=16), nullable=True))
    if _is_sqlite():
        # SQLite adds a foreign key only with a copy of the table (an inline REFERENCES in
        # ADD COLUMN would work, but reflects without its ON DELETE, which `alembic check`
        # then reports as drift).
        with _triggers_kept(), op.batch_alter_table("generation", recreate="always") as batch:
            batch.create_foreign_key(
                FK_NAME, "worker_key", ["worker_key_id"], ["id"], ondelete="SET NULL"
            )
    else:
        op.create_foreign_key(
            FK_NAME, "generation", "worker_key", ["worker_key_id"], ["id"], ondelete="SET NULL"
        )
    op.create_index(
        "ix_generation_queue",
        "generation",
        ["created_at", "id"],
        postgresql_where=sa.text(QUEUE),
        sqlite_where=sa.text(QUEUE),
    )
    op.create_index(
        "ix_generation_leases",
        "generation",
        ["lease_expires_at"],
        postgresql_where=sa.text(LEASES),
        sqlite_where=sa.text(LEASES),
    )


def downgrade() -> None:
    op.drop_index("ix_generation_leases", table_name="generation")
    op.drop_index("ix_generation_queue", table_name="generation")
    if _is_sqlite():
        # SQLite (3.35+) drops a column in place, but not one that a foreign key names.
        with _triggers_kept(), op.batch_alter_table("generation", recreate="always") as batch:
            batch.drop_constraint(FK_NAME, type_="foreignkey")
            batch.drop_column("worker_key_id")
    else:
        op.drop_constraint(FK_NAME, "generation", type_="foreignkey")
        op.drop_column("generation", "worker_key_id")
    for name in ("lease_expires_at", "lease_seconds", "lease_token", "attempts", "aspect_ratio"):
        op.drop_column("generation", name)
    op.drop_table("worker_key")


@contextlib.contextmanager
def _triggers_kept() -> Iterator[None]:
    """A batch copy of `generation` on SQLite drops its triggers (0003's tally and search):
    they are read before and created again, as they were, after."""
    triggers = (
        op.get_bind()
        .exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'generation'"
        )
        .scalars()
        .all()
    )
    yield
    for statement in triggers:
        op.execute(statement)
