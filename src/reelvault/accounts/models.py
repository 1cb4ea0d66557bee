from __future__ import annotations

from advanced_alchemy.base import UUIDAuditBase
from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column


class User(UUIDAuditBase):
    __tablename__ = "user_account"

    # Stored lower-cased, so the unique constraint holds regardless of case.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))


# One row per signed-in token: its id is the token's `jti`. The token check reads it, so
# logout (delete the row) and a password change (delete the others) end tokens at once on
# every process; the cascade ends them all with the account.
auth_session = Table(
    "auth_session",
    User.metadata,
    Column("id", GUID(), primary_key=True),
    Column(
        "user_id",
        GUID(),
        ForeignKey("user_account.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    # Indexed: expired rows are purged by range at each sign-in.
    Column("expires_at", DateTimeUTC(timezone=True), nullable=False, index=True),
)

# Consecutive sign-in attempts per (account, client address), shared by every process. The key
# is a digest of the normalised e-mail and the address: bounded length, and no record of who
# tried from where. A success deletes the row.
sign_in_throttle = Table(
    "sign_in_throttle",
    User.metadata,
    Column("key", String(64), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("blocked_until", DateTimeUTC(timezone=True), nullable=True),
    Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    Index("ix_sign_in_throttle_updated_at", "updated_at"),
)
