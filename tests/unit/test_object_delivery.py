"""The pure rules of delivery from the object store: which planned answers the store (or
Nginx's slice cache) may give in our place, the one range asked of it, the validators."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reelvault.delivery.objects import store_answers_as_planned, store_range, validators
from reelvault.delivery.ranges import RequestHeaders, plan_response
from reelvault.storage.objects import ObjectInfo

SIZE = 10_000
ETAG = '"abc123"'
MODIFIED = 1_700_000_000


def plan_for(**headers: str):
    wanted = RequestHeaders(**headers)
    return plan_response("GET", SIZE, ETAG, MODIFIED, wanted), wanted


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, True),  # the whole object, asked without a Range
        ({"range": "bytes=0-99"}, True),
        ({"range": "bytes=9000-"}, True),
        ({"range": "bytes=-500"}, True),
        ({"range": "bytes=0-99,200-299"}, False),  # several: the store sends one range
        ({"range": "bytes=0-5,3-10"}, False),  # merged by us into one, read twice by others
        ({"range": "bytes=0-,0-,0-"}, False),  # ignored by us (past the size)
        ({"range": "bytes=abc"}, False),  # ignored by us, maybe not by the store
        ({"range": "bytes=0-9", "if_range": '"stale"'}, False),  # the store has no If-Range
        ({"range": "bytes=0-9", "if_range": ETAG}, False),
        ({"if_none_match": ETAG}, False),  # 304: ours
        ({"range": "bytes=99999-"}, False),  # 416: ours
    ],
)
def test_the_store_answers_only_what_it_answers_as_planned(
    headers: dict[str, str], expected: bool
) -> None:
    plan, wanted = plan_for(**headers)
    assert store_answers_as_planned(plan, wanted) is expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"range": "bytes=9000-"}, "bytes=9000-9999"),
        ({"range": "bytes=-500"}, "bytes=9500-9999"),
        ({"range": "bytes=0-5,3-10"}, "bytes=0-10"),  # merged: one GET
        ({"range": "bytes=0-99,200-299"}, None),  # several: the app answers itself
        ({"range": "bytes=0-99999"}, "bytes=0-9999"),
    ],
)
def test_the_range_asked_of_the_store_is_the_planned_one(
    headers: dict[str, str], expected: str | None
) -> None:
    plan, _ = plan_for(**headers)
    assert store_range(plan) == expected


def test_the_validators_are_the_stores_etag_and_its_second() -> None:
    modified = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
    found = validators(ObjectInfo(size=42, etag="d41d8cd9-3", last_modified=modified))
    assert found.etag == '"d41d8cd9-3"'
    assert found.last_modified == int(modified.timestamp())
    assert found.size == 42


def test_an_object_without_an_etag_gets_one_of_its_size_and_date() -> None:
    modified = datetime(2026, 1, 2, tzinfo=UTC)
    first = validators(ObjectInfo(size=42, etag="", last_modified=modified))
    other = validators(ObjectInfo(size=43, etag="", last_modified=modified))
    assert first.etag.startswith('"') and first.etag != other.etag
