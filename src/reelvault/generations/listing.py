"""The gallery listing as pure logic: its query, its keyset cursor, and the SQL statements.

Order is `(created_at, id)`, both descending or both ascending, so every item has one place.
A cursor names the last item of a page; the next page starts strictly after it, however many
items were created or deleted meanwhile. It also carries a fingerprint of the filters and
sort it was made for, so that it is refused (422) with any others.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec
from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import ColumnElement, Select, and_, column, func, literal, select, table, tuple_

from reelvault.errors import InvalidValue
from reelvault.generations.models import Generation, GenerationStatus, generation_tally

SortOrder = Literal["created_at_desc", "created_at_asc"]
CURSOR_VERSION = 1
# FTS5's trigram index can only answer terms of three characters or more.
MIN_INDEXED_TERM = 3

# SQLite's FTS5 index of prompts (migration 0003); raw DDL, so not on the ORM metadata.
_search = table("generation_search", column("id"), column("generation_id"))
_search_fts = table("generation_search_fts", column("rowid"))

ITEM_COLUMNS = (
    Generation.id,
    Generation.prompt,
    Generation.status,
    Generation.video_path,
    Generation.thumbnail_path,
    Generation.media_version,
    Generation.duration,
    Generation.cost,
    Generation.width,
    Generation.height,
    Generation.file_size,
    Generation.progress,
    Generation.error,
    Generation.created_at,
    Generation.completed_at,
)


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    id: UUID


@dataclass(frozen=True)
class ListingQuery:
    limit: int = 20
    offset: int = 0
    status: GenerationStatus | None = None
    q: str | None = None
    sort: SortOrder = "created_at_desc"
    cursor: str | None = None

    @property
    def descending(self) -> bool:
        return self.sort != "created_at_asc"

    def fingerprint(self) -> str:
        """What a cursor must have been made for: the filters and the sort."""
        raw = f"{self.status or ''}\x00{self.q or ''}\x00{self.sort}".encode()
        return hashlib.sha256(raw).hexdigest()[:16]

    def after(self) -> Cursor | None:
        """The decoded cursor, checked against this query; 422 for any misuse."""
        if self.cursor is None:
            return None
        if self.offset:
            raise InvalidValue("Use either offset or cursor, not both")
        version, fingerprint, created_at, item_id = _decode(self.cursor)
        if version != CURSOR_VERSION:
            raise InvalidValue("The cursor is not valid")
        if fingerprint != self.fingerprint():
            raise InvalidValue("The cursor was made for other filters or another sort")
        return Cursor(created_at=created_at, id=item_id)

    def cursor_for(self, created_at: datetime, item_id: UUID) -> str:
        payload = msgspec.json.encode(
            [CURSOR_VERSION, self.fingerprint(), created_at.isoformat(), item_id.hex]
        )
        return base64.urlsafe_b64encode(payload).rstrip(b"=").decode()


def _decode(cursor: str) -> tuple[int, str, datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, fingerprint, created_at, item_id = msgspec.json.decode(
            raw, type=tuple[int, str, str, str]
        )
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError("naive time")
        return version, fingerprint, moment, UUID(hex=item_id)
    except (binascii.Error, msgspec.DecodeError, ValueError, TypeError):
        raise InvalidValue("The cursor is not valid") from None


def like_pattern(term: str) -> str:
    """`%term%` with `%`, `_` and `\\` matching themselves (ESCAPE '\\')."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def fts_phrase(term: str) -> str:
    """An FTS5 phrase: with the trigram tokenizer it matches the term as a substring, and
    inside double quotes no character of the term is an operator."""
    return '"' + term.replace('"', '""') + '"'


def _filters(owner_id: UUID, query: ListingQuery, dialect: str) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Generation.user_id == owner_id]
    if query.status is not None:
        conditions.append(Generation.status == query.status.value)
    if query.q:
        # The exact rule (case-insensitive, wildcards literal) on every dialect; PostgreSQL's
        # trigram GIN index serves it directly, SQLite's FTS5 index narrows the rows first.
        conditions.append(Generation.prompt.ilike(like_pattern(query.q), escape="\\"))
        if dialect == "sqlite" and len(query.q) >= MIN_INDEXED_TERM:
            matches = (
                select(_search.c.generation_id)
                .where(
                    _search.c.id.in_(
                        select(_search_fts.c.rowid).where(
                            column("generation_search_fts").op("MATCH")(fts_phrase(query.q))
                        )
                    )
                )
                .scalar_subquery()
            )
            conditions.append(Generation.id.in_(matches))
    return conditions


def page_statement(owner_id: UUID, query: ListingQuery, dialect: str) -> Select[Any]:
    """One more row than the page, so the caller knows whether a next page exists."""
    conditions = _filters(owner_id, query, dialect)
    after = query.after()
    order = (
        (Generation.created_at.desc(), Generation.id.desc())
        if query.descending
        else (Generation.created_at.asc(), Generation.id.asc())
    )
    if after is not None:
        key = tuple_(Generation.created_at, Generation.id)
        bound = tuple_(literal(after.created_at, DateTimeUTC()), literal(after.id, GUID()))
        conditions.append(key < bound if query.descending else key > bound)
    statement = select(*ITEM_COLUMNS).where(and_(*conditions)).order_by(*order)
    statement = statement.limit(query.limit + 1)
    if query.offset:
        statement = statement.offset(query.offset)
    return statement


def total_statement(owner_id: UUID, query: ListingQuery, dialect: str) -> Select[Any]:
    """How many items match the filters (not the cursor): a tally read unless there is a
    search term, which only a COUNT over the matches can answer."""
    if not query.q:
        statuses = [query.status] if query.status else list(GenerationStatus)
        tally = sum((generation_tally.c[s.value] for s in statuses), start=literal(0))
        return select(tally).where(generation_tally.c.user_id == owner_id)
    return select(func.count()).select_from(Generation).where(*_filters(owner_id, query, dialect))
