from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import UUIDAuditBase
from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column


class GenerationStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class Generation(UUIDAuditBase):
    __tablename__ = "generation"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'processing', 'completed', 'failed')",
            name="status_known",
        ),
        CheckConstraint(
            "progress IS NULL OR (progress >= 0 AND progress <= 100)", name="progress_pct"
        ),
        # The listing filters by owner (and status) and orders by (created_at, id).
        Index("ix_generation_user_created", "user_id", "created_at", "id"),
        Index("ix_generation_user_status_created", "user_id", "status", "created_at", "id"),
        # Substring search (`ILIKE '%term%'`) is only fast through a trigram index; the owner
        # inside it (btree_gin) keeps other users' matches out of every search.
        Index(
            "ix_generation_user_prompt_trgm",
            "user_id",
            "prompt",
            postgresql_using="gin",
            postgresql_ops={"prompt": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        # A claim takes the oldest pending generation of any owner: a partial index holds
        # only the queue, so it stays small however large the libraries grow.
        Index(
            "ix_generation_queue",
            "created_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # The expiry pass reads only leases in flight, soonest first.
        Index(
            "ix_generation_leases",
            "lease_expires_at",
            postgresql_where=text("status = 'processing'"),
            sqlite_where=text("status = 'processing'"),
        ),
        # The storyboard pass reads only completed videos that have no sprite yet.
        Index(
            "ix_generation_storyboard_backlog",
            "id",
            postgresql_where=text("status = 'completed' AND storyboard_path IS NULL"),
            sqlite_where=text("status = 'completed' AND storyboard_path IS NULL"),
        ),
    )

    # Typed explicitly: an FK column inferred from its target is untyped (raw bytes on SQLite)
    # wherever this module is imported without the accounts models.
    user_id: Mapped[UUID] = mapped_column(GUID(), ForeignKey("user_account.id", ondelete="CASCADE"))
    prompt: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=GenerationStatus.PENDING)
    # Paths relative to the media directory; never sent to clients.
    video_path: Mapped[str | None] = mapped_column(String(512), default=None)
    thumbnail_path: Mapped[str | None] = mapped_column(String(512), default=None)
    duration: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float | None] = mapped_column(Float, default=None)
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    file_size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    progress: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # Changes whenever the stored bytes do: media URLs carry it (`?v=`), so a client may cache
    # them as immutable. Null while there are no files.
    media_version: Mapped[str | None] = mapped_column(String(32), default=None)
    # The lifecycle (migration 0005): what was requested, how often a worker took it, and the
    # lease of the worker holding it now (null unless processing), and the key that took it last.
    aspect_ratio: Mapped[str | None] = mapped_column(String(8), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lease_token: Mapped[str | None] = mapped_column(String(64), default=None)
    # A heartbeat extends the lease by the length its claim asked for.
    lease_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )
    worker_key_id: Mapped[UUID | None] = mapped_column(
        GUID(), ForeignKey("worker_key.id", ondelete="SET NULL"), default=None
    )
    # The seek-preview sprite (migration 0007), made after the video is stored: its stored
    # path, and its layout as JSON (or why it could not be made, or who is making it).
    storyboard_path: Mapped[str | None] = mapped_column(String(512), default=None)
    storyboard_layout: Mapped[str | None] = mapped_column(Text, default=None)


# How many generations each owner has, per status, kept exact by database triggers (migration
# 0003) in the same transaction as every insert, delete and status change: a listing's `total`
# is one primary-key read instead of a COUNT over the owner's index entries.
generation_tally = Table(
    "generation_tally",
    Generation.metadata,
    Column(
        "user_id",
        GUID(),
        ForeignKey("user_account.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    *(
        Column(status.value, BigInteger, nullable=False, server_default="0")
        for status in GenerationStatus
    ),
)
