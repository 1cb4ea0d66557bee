"""The listing's pure rules: the keyset cursor, the search patterns, the statements' shape."""

from __future__ import annotations

import base64
import contextlib
from datetime import UTC, datetime
from uuid import uuid4

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from reelvault.errors import InvalidValue
from reelvault.generations.listing import (
    ListingQuery,
    fts_phrase,
    like_pattern,
    page_statement,
    total_statement,
)
from reelvault.generations.models import GenerationStatus

MOMENT = datetime(2026, 12, 1, 10, 30, 0, 123456, tzinfo=UTC)


def test_a_cursor_names_the_item_it_was_made_from() -> None:
    query = ListingQuery(status=GenerationStatus.COMPLETED, q="sunset")
    item_id = uuid4()
    after = ListingQuery(
        status=GenerationStatus.COMPLETED, q="sunset", cursor=query.cursor_for(MOMENT, item_id)
    ).after()
    assert after is not None
    assert (after.created_at, after.id) == (MOMENT, item_id)


@pytest.mark.parametrize(
    "other",
    [
        ListingQuery(q="sunset"),
        ListingQuery(status=GenerationStatus.COMPLETED, q="sunrise"),
        ListingQuery(status=GenerationStatus.FAILED, q="sunset"),
        ListingQuery(status=GenerationStatus.COMPLETED, q="sunset", sort="created_at_asc"),
    ],
)
def test_a_cursor_is_refused_with_other_filters_or_sort(other: ListingQuery) -> None:
    made_for = ListingQuery(status=GenerationStatus.COMPLETED, q="sunset")
    cursor = made_for.cursor_for(MOMENT, uuid4())
    with pytest.raises(InvalidValue, match="other filters"):
        ListingQuery(status=other.status, q=other.q, sort=other.sort, cursor=cursor).after()


def test_a_cursor_with_an_offset_is_refused() -> None:
    cursor = ListingQuery().cursor_for(MOMENT, uuid4())
    with pytest.raises(InvalidValue, match="offset or cursor"):
        ListingQuery(offset=20, cursor=cursor).after()


def _encoded(payload: object) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(payload)).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64 !",
        _encoded({"a": 1}),
        _encoded([1, ListingQuery().fingerprint(), "yesterday", uuid4().hex]),
        _encoded([1, ListingQuery().fingerprint(), "2026-12-01T10:30:00", uuid4().hex]),  # naive
        _encoded([1, ListingQuery().fingerprint(), MOMENT.isoformat(), "zz"]),
        _encoded([2, ListingQuery().fingerprint(), MOMENT.isoformat(), uuid4().hex]),
    ],
)
def test_malformed_cursors_are_invalid(cursor: str) -> None:
    with pytest.raises(InvalidValue):
        ListingQuery(cursor=cursor).after()


@given(st.text(max_size=100))
def test_any_cursor_text_is_either_valid_or_a_clean_422(cursor: str) -> None:
    with contextlib.suppress(InvalidValue):
        ListingQuery(cursor=cursor).after()


def test_like_patterns_keep_wildcards_literal() -> None:
    assert like_pattern("50% off_now\\") == "%50\\% off\\_now\\\\%"


def test_fts_phrases_quote_the_whole_term() -> None:
    assert fts_phrase('say "hi" OR NOT') == '"say ""hi"" OR NOT"'


def _sql(built: tuple[object, dict[str, object]], dialect: object) -> str:
    statement, _values = built
    return str(statement.compile(dialect=dialect))  # type: ignore[attr-defined]


def test_the_page_continues_strictly_after_the_cursor_in_both_orders() -> None:
    owner = uuid4()
    for sort, operator in (("created_at_desc", "<"), ("created_at_asc", ">")):
        base = ListingQuery(sort=sort)  # type: ignore[arg-type]
        query = ListingQuery(sort=sort, cursor=base.cursor_for(MOMENT, uuid4()))  # type: ignore[arg-type]
        sql = _sql(page_statement(owner, query, "postgresql"), postgresql.dialect())
        assert f"(generation.created_at, generation.id) {operator} (" in sql
        assert "OFFSET" not in sql


def test_sqlite_searches_go_through_the_fts_index_only_for_long_enough_terms() -> None:
    owner = uuid4()
    long_term = _sql(page_statement(owner, ListingQuery(q="sun"), "sqlite"), sqlite.dialect())
    short_term = _sql(page_statement(owner, ListingQuery(q="su"), "sqlite"), sqlite.dialect())
    assert "generation_search_fts MATCH" in long_term
    assert "generation_search_fts" not in short_term
    assert "LIKE" in long_term
    assert "LIKE" in short_term  # the exact rule is always applied


def test_totals_read_the_tally_unless_there_is_a_search() -> None:
    owner = uuid4()
    plain = _sql(total_statement(owner, ListingQuery(), "sqlite"), sqlite.dialect())
    by_status = _sql(
        total_statement(owner, ListingQuery(status=GenerationStatus.FAILED), "sqlite"),
        sqlite.dialect(),
    )
    search = _sql(total_statement(owner, ListingQuery(q="sun"), "sqlite"), sqlite.dialect())
    assert "generation_tally" in plain
    assert "count(" not in plain.lower()
    assert "generation_tally.failed" in by_status
    assert "generation_tally.pending" not in by_status
    assert "count(*)" in search.lower()


def test_a_page_carries_its_total_except_for_a_search_after_a_cursor() -> None:
    owner = uuid4()
    after = ListingQuery(q="sun").cursor_for(MOMENT, uuid4())
    plain = _sql(page_statement(owner, ListingQuery(), "sqlite"), sqlite.dialect())
    failed = _sql(
        page_statement(owner, ListingQuery(status=GenerationStatus.FAILED), "sqlite"),
        sqlite.dialect(),
    )
    search = _sql(page_statement(owner, ListingQuery(q="sun"), "postgresql"), postgresql.dialect())
    search_after = _sql(
        page_statement(owner, ListingQuery(q="sun", cursor=after), "postgresql"),
        postgresql.dialect(),
    )
    assert "generation_tally" in plain
    assert "generation_tally.failed" in failed
    assert "generation_tally.pending" not in failed
    assert "count(*) OVER ()" in search
    assert " AS total" not in search_after
