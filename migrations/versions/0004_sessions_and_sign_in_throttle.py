"""server-side sessions and the sign-in throttle

- `auth_session`: one row per signed-in token (its id is the token's `jti`). The token check
  proves the row exists, is unexpired and belongs to the token's user, so logout and a password
  change end tokens at once on every process; deleting the account cascades.
- `sign_in_throttle`: consecutive sign-in attempts per (account, client address), shared by
  every process, so repeated wrong passwords get 429 without any Argon2 work.

Revision ID: 5aa12ade0e52
Revises: 3b9d2c7e5a14
Create Date: 2026-12-01 22:34:54+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "5aa12ade0e52"
down_revision = "3b9d2c7e5a14"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_session",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("user_id", GUID(length=16), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_auth_session_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_session")),
    )
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_session_expires_at"), ["expires_at"])
        batch_op.create_index(batch_op.f("ix_auth_session_user_id"), ["user_id"])
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("blocked_until", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttle")),
    )
    with op.batch_alter_table("sign_in_throttle", schema=None) as batch_op:
        batch_op.create_index("ix_sign_in_throttle_updated_at", ["updated_at"])


def downgrade() -> None:
    with op.batch_alter_table("sign_in_throttle", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_in_throttle_updated_at")
    op.drop_table("sign_in_throttle")
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_session_user_id"))
        batch_op.drop_index(batch_op.f("ix_auth_session_expires_at"))
    op.drop_table("auth_session")
