"""storyboards: the seek-preview sprite of each completed video

- `generation.storyboard_path`: the stored sprite (a JPEG of tiles), null until one is made;
- `generation.storyboard_layout`: its layout as JSON (interval, tile size, columns, count,
  duration), or what stopped it being made, or which process is making it and until when;
- a partial index of the completed videos without a sprite: the background pass that makes
  the missing ones reads only those, so it stays cheap once the library has them all.

Revision ID: 2d8e5b7f1a40
Revises: 6c1f0a9d3e27
Create Date: 2026-12-02 06:40:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2d8e5b7f1a40"
down_revision = "6c1f0a9d3e27"
branch_labels = None
depends_on = None

BACKLOG = "status = 'completed' AND storyboard_path IS NULL"


def upgrade() -> None:
    op.add_column("generation", sa.Column("storyboard_path", sa.String(length=512), nullable=True))
    op.add_column("generation", sa.Column("storyboard_layout", sa.Text(), nullable=True))
    op.create_index(
        "ix_generation_storyboard_backlog",
        "generation",
        ["id"],
        postgresql_where=sa.text(BACKLOG),
        sqlite_where=sa.text(BACKLOG),
    )


def downgrade() -> None:
    op.drop_index("ix_generation_storyboard_backlog", table_name="generation")
    # Plain columns: SQLite (3.35+) drops them in place, its triggers untouched.
    op.drop_column("generation", "storyboard_layout")
    op.drop_column("generation", "storyboard_path")
