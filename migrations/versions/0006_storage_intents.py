"""storage intents: the commit point of object-store writes and removals

- `storage_intent`: the object keys an import is about to put, or a deletion has to remove,
  committed before the store is touched (put) or with the rows' deletion (delete). The
  sweeper finishes what a crash or a store outage left: see `reelvault.storage.intents`.

Revision ID: 6c1f0a9d3e27
Revises: 9e4b7d21c6f3
Create Date: 2026-12-02 06:20:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "6c1f0a9d3e27"
down_revision = "9e4b7d21c6f3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "storage_intent",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("object_keys", sa.Text(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_intent")),
    )
    with op.batch_alter_table("storage_intent", schema=None) as batch_op:
        batch_op.create_index("ix_storage_intent_action_created_at", ["action", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("storage_intent", schema=None) as batch_op:
        batch_op.drop_index("ix_storage_intent_action_created_at")
    op.drop_table("storage_intent")
