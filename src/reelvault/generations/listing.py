"""The gallery listing as pure logic: its query, its keyset cursor, and the SQL statements.

Order is `(created_at, id)`, both descending or both ascending, so every item has one place.
A cursor names the last item of a page; the next page starts strictly after it, however many
items were created or deleted meanwhile. It also carries a fingerprint of the filters and
sort it was made for, so that it is refused (422) with any others.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec
from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    column,
    func,
    select,
    table,
    tuple_,
)

from reelvault.accounts.models import User
from reelvault.errors import InvalidValue
from reelvault.generations.models import Generation, GenerationStatus, generation_tally

SortOrder = Literal["created_at_desc", "created_at_asc"]
CURSOR_VERSION = 1
# FTS5's trigram index can only answer terms of three characters or more.
MIN_INDEXED_TERM = 3

# SQLite's FTS5 index of prompts (migration 0003); raw DDL, so not on the ORM metadata.
# Each owner's entries have their own rowid range, which FTS5 seeks by.
_search = table("generation_search", column("id"), column("generation_id"))
_search_fts = table("generation_search_fts", column("rowid"))
_search_owner = table("generation_search_owner", column("number"), column("user_id"))
OWNER_SPAN = 2**32

ITEM_COLUMNS = tuple(
    Generation.__table__.c[name]
    for name in (
        "id",
        "prompt",
        "status",
        "video_path",
        "thumbnail_path",
        "storyboard_path",
        "media_version",
        "duration",
        "cost",
        "width",
        "height",
        "file_size",
        "progress",
        "error",
        "aspect_ratio",
        "attempts",
        "created_at",
        "completed_at",
    )
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


# Statements are built once per shape and take their values as bound parameters: building
# and cache-keying a Select costs more than running it on a page of 20. Core columns, so the
# execution skips the ORM's compile step.
_g = Generation.__table__.c
_user_table = User.__table__
_user = _user_table.c


@functools.lru_cache(maxsize=64)
def _conditions(has_status: bool, search: str | None) -> tuple[ColumnElement[bool], ...]:
    """`search`: None, "like" (the exact rule alone) or "fts" (SQLite's index narrows first)."""
    conditions: list[ColumnElement[bool]] = [_g.user_id == bindparam("owner_id", type_=GUID())]
    if has_status:
        conditions.append(_g.status == bindparam("status"))
    if search is not None:
        # The exact rule (case-insensitive, wildcards literal) on every dialect; PostgreSQL's
        # trigram GIN index serves it directly, SQLite's FTS5 index narrows the rows first.
        conditions.append(_g.prompt.ilike(bindparam("pattern"), escape="\\"))
    if search == "fts":
        base = (
            select(_search_owner.c.number * OWNER_SPAN)
            .where(_search_owner.c.user_id == bindparam("owner_id", type_=GUID()))
            .scalar_subquery()
        )
        owners_matches = select(_search_fts.c.rowid).where(
            column("generation_search_fts").op("MATCH")(bindparam("phrase")),
            _search_fts.c.rowid.between(base, base + (OWNER_SPAN - 1)),
        )
        matches = select(_search.c.generation_id).where(_search.c.id.in_(owners_matches))
        conditions.append(_g.id.in_(matches.scalar_subquery()))
    return tuple(conditions)


def _search_kind(query: ListingQuery, dialect: str) -> str | None:
    if not query.q:
        return None
    return "fts" if dialect == "sqlite" and len(query.q) >= MIN_INDEXED_TERM else "like"


def _filter_values(owner_id: UUID, query: ListingQuery) -> dict[str, Any]:
    values: dict[str, Any] = {"owner_id": owner_id}
    if query.status is not None:
        values["status"] = query.status.value
    if query.q:
        values["pattern"] = like_pattern(query.q)
        values["phrase"] = fts_phrase(query.q)
    return values


@functools.lru_cache(maxsize=256)
def _page(
    status: str | None, search: str | None, descending: bool, after: bool, offset: bool
) -> Select[Any]:
    conditions = list(_conditions(status is not None, search))
    if after:
        key = tuple_(_g.created_at, _g.id)
        bound = tuple_(
            bindparam("after_created_at", type_=DateTimeUTC()),
            bindparam("after_id", type_=GUID()),
        )
        conditions.append(key < bound if descending else key > bound)
    order = (
        (_g.created_at.desc(), _g.id.desc()) if descending else (_g.created_at.asc(), _g.id.asc())
    )
    columns: list[Any] = list(ITEM_COLUMNS)
    if page_carries_total(search is not None, after):
        # The page's rows carry the total, so one round trip answers the whole listing: the
        # owner's tally, or for a search one pass over its matches (no second scan).
        if search is None:
            total = (
                select(_tally_sum(status))
                .where(generation_tally.c.user_id == bindparam("owner_id", type_=GUID()))
                .scalar_subquery()
            )
        else:
            total = func.count().over()
        columns.append(total.label("total"))
    statement = select(*columns).where(and_(*conditions)).order_by(*order)
    statement = statement.limit(bindparam("page_limit"))
    return statement.offset(bindparam("page_offset")) if offset else statement


def page_carries_total(searching: bool, after_cursor: bool) -> bool:
    """Whether the page's rows carry `total`: always, except for a search after a cursor,
    where a window would count only what follows the cursor. An empty page carries nothing,
    so the caller then runs `total_statement` (which also tells a gone account)."""
    return not (searching and after_cursor)


def _tally_sum(status: str | None) -> ColumnElement[Any]:
    columns = [status] if status else [s.value for s in GenerationStatus]
    first, *rest = (generation_tally.c[c] for c in columns)
    return sum(rest, start=first)


def page_statement(
    owner_id: UUID, query: ListingQuery, dialect: str
) -> tuple[Select[Any], dict[str, Any]]:
    """One more row than the page, so the caller knows whether a next page exists."""
    after = query.after()
    values = _filter_values(owner_id, query)
    values["page_limit"] = query.limit + 1
    if query.offset:
        values["page_offset"] = query.offset
    if after is not None:
        values["after_created_at"] = after.created_at
        values["after_id"] = after.id
    statement = _page(
        query.status.value if query.status else None,
        _search_kind(query, dialect),
        query.descending,
        after is not None,
        bool(query.offset),
    )
    return statement, values


@functools.lru_cache(maxsize=64)
def _total(status: str | None, search: str | None) -> Select[Any]:
    """Read from the owner's account row, so that no row at all means the account is gone."""
    owner = _user.id == bindparam("owner_id", type_=GUID())
    if search is None:
        return (
            select(func.coalesce(_tally_sum(status), 0))
            .select_from(
                _user_table.outerjoin(generation_tally, generation_tally.c.user_id == _user.id)
            )
            .where(owner)
        )
    matching = (
        select(func.count())
        .select_from(Generation.__table__)
        .where(*_conditions(status is not None, search))
        .scalar_subquery()
    )
    return select(matching).select_from(_user_table).where(owner)


def total_statement(
    owner_id: UUID, query: ListingQuery, dialect: str
) -> tuple[Select[Any], dict[str, Any]]:
    """How many items match the filters (not the cursor): a tally read unless there is a
    search term, which only a COUNT over the matches can answer. No row: the account is gone."""
    search = _search_kind(query, dialect)
    status = query.status.value if query.status else None
    values = _filter_values(owner_id, query) if search else {"owner_id": owner_id}
    return _total(status, search), values
