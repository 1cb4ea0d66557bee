"""The range planner against the RFC 9110 checklist (`shared/reference/http-ranges.md`, section 3).

N = 100000 as in the research notes; case ids carry the checklist numbers.
"""

from __future__ import annotations

import time
from http import HTTPStatus
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reelvault.delivery.ranges import (
    ByteRange,
    Plan,
    RequestHeaders,
    coalesce,
    http_date,
    make_etag,
    parse_http_date,
    plan_response,
)

N = 100_000
LM = 1_700_000_000  # Tue, 14 Nov 2023 22:13:20 GMT
ETAG = make_etag(N, LM * 10**9 + 123)
OPAQUE = ETAG.strip('"')
AT_LM = http_date(LM)
BEFORE_LM = http_date(LM - 1)
SIXTEEN_APART = tuple((i * 2, i * 2) for i in range(16))

FULL = Plan(HTTPStatus.OK)
NOT_MODIFIED = Plan(HTTPStatus.NOT_MODIFIED)
FAILED = Plan(HTTPStatus.PRECONDITION_FAILED)
UNSATISFIABLE = Plan(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)


def partial(*spans: tuple[int, int]) -> Plan:
    return Plan.partial(ByteRange(start, end) for start, end in spans)


def one_byte_ranges(count: int, step: int = 2) -> str:
    return "bytes=" + ",".join(f"{i * step}-{i * step}" for i in range(count))


def case(name: str, expected: Plan, *, method: str = "GET", size: int = N, **headers: str) -> Any:
    return pytest.param(method, size, RequestHeaders(**headers), expected, id=name)


CASES = [
    # Basic ranges
    case("01-no-range", FULL),
    case("02-first-two-bytes", partial((0, 1)), range="bytes=0-1"),
    case("03-one-byte", partial((0, 0)), range="bytes=0-0"),
    case("04-open-ended-from-zero", partial((0, N - 1)), range="bytes=0-"),
    case("05-open-ended", partial((100, N - 1)), range="bytes=100-"),
    case("06-suffix", partial((N - 500, N - 1)), range="bytes=-500"),
    case("07-suffix-longer-than-file", partial((0, N - 1)), range=f"bytes=-{N + 10}"),
    case("07b-suffix-exactly-file", partial((0, N - 1)), range=f"bytes=-{N}"),
    case("08-end-clamped", partial((99990, N - 1)), range="bytes=99990-200000"),
    case("08b-last-byte", partial((N - 1, N - 1)), range=f"bytes={N - 1}-{N - 1}"),
    case("09-start-at-eof", UNSATISFIABLE, range=f"bytes={N}-"),
    case("10-past-eof", UNSATISFIABLE, range="bytes=200000-300000"),
    case("11-zero-suffix", UNSATISFIABLE, range="bytes=-0"),
    case("11b-all-unsatisfiable", UNSATISFIABLE, range=f"bytes={N}-,-0,{N + 5}-{N + 9}"),
    case("12-mix-keeps-satisfiable", partial((0, 1)), range="bytes=0-1,200000-300000"),
    case("13-multipart", partial((0, 1), (5, 6)), range="bytes=0-1,5-6"),
    case("14-request-order", partial((50, 59), (0, 9)), range="bytes=50-59,0-9"),
    case("15-overlap-merged", partial((0, 14)), range="bytes=0-9,5-14"),
    case("15b-adjacent-merged", partial((0, 19)), range="bytes=0-9,10-19"),
    case("15c-adjacent-backwards", partial((0, 19)), range="bytes=10-19,0-9"),
    case("15d-bridge-into-earliest", partial((0, 29)), range="bytes=20-29,0-9,10-19"),
    case("15e-merge-keeps-others", partial((50, 70), (0, 9)), range="bytes=50-59,0-9,55-70"),
    case(
        "15f-bridge-keeps-earliest-place",
        partial((0, 29), (50, 59)),
        range="bytes=0-9,50-59,20-29,10-19",
    ),
    case("15g-contained", partial((0, 99), (200, 209)), range="bytes=0-99,200-209,10-20"),
    case("15h-gap-of-one-not-merged", partial((0, 9), (11, 20)), range="bytes=0-9,11-20"),
    case("16-repeated-whole-file", FULL, range="bytes=0-,0-,0-"),
    case("16b-overlap-beyond-size", FULL, range=f"bytes=0-{N - 2},1-"),
    case("17-150-ranges", FULL, range=one_byte_ranges(150)),
    case("17b-200-ranges", FULL, range=one_byte_ranges(200)),
    case("17c-16-ranges-allowed", partial(*SIXTEEN_APART), range=one_byte_ranges(16)),
    case("17d-17-ranges-after-merge", FULL, range=one_byte_ranges(17)),
    case("17e-40-specs-merge-to-one", partial((0, 39)), range=one_byte_ranges(40, step=1)),
    case("17f-65-specs-over-spec-cap", FULL, range=one_byte_ranges(65, step=1)),
    case("18-8kb-header", FULL, range="bytes=" + ",".join(["0-0"] * 2000)),
    case("18b-8kb-of-whitespace", partial((0, 1)), range="bytes=" + " " * 8192 + "0-1"),
    # Malformed headers
    case("19-other-unit", FULL, range="items=0-1"),
    case("20-letters", FULL, range="bytes=abc"),
    case("20b-one-bad-spec-spoils-all", FULL, range="bytes=0-1,abc"),
    case("21-backwards", FULL, range="bytes=5-2"),
    case("22-empty-backwards", FULL, range="bytes=5-4"),
    case("23-empty-set", FULL, range="bytes="),
    case("23b-lone-dash", FULL, range="bytes=-"),
    case("23c-no-dash", FULL, range="bytes=5"),
    case("23d-only-commas", FULL, range="bytes=, ,"),
    case("23e-no-equals", FULL, range="bytes 0-1"),
    case("23f-three-parts", FULL, range="bytes=1-2-3"),
    case("23g-double-dash", FULL, range="bytes=--5"),
    case("23h-negative-start", FULL, range="bytes=-5-10"),
    case("23i-empty-header", FULL, range=""),
    case("24-capitalised-unit", partial((0, 1)), range="Bytes=0-1"),
    case("24b-upper-case-unit", partial((0, 1)), range="BYTES=0-1"),
    case("25-whitespace-around-commas", partial((0, 1), (4, 5)), range="bytes=0-1 , 4-5"),
    case("25b-tabs-and-empty-elements", partial((0, 1), (4, 5)), range="bytes=0-1,\t, 4-5,"),
    case("26-space-after-equals", partial((0, 1)), range="bytes= 0-1"),
    case("26b-space-inside-spec", FULL, range="bytes=0 -1"),
    case("27-huge-end", partial((0, N - 1)), range="bytes=0-99999999999999999999999"),
    case("28-huge-start", UNSATISFIABLE, range="bytes=99999999999999999999999-"),
    case("28b-huge-suffix", partial((0, N - 1)), range="bytes=-99999999999999999999999"),
    case("28c-5000-digit-numeral", partial((0, N - 1)), range="bytes=0-" + "9" * 5000),
    case("28d-leading-zeros", partial((1, 2)), range="bytes=" + "0" * 40 + "1-0002"),
    case("28d2-two-huge-descending", UNSATISFIABLE, range="bytes=" + "9" * 30 + "-" + "9" * 25),
    case("28e-arabic-indic-digits", FULL, range="bytes=\u0661-\u0662"),
    case("28f-underscore-numeral", FULL, range="bytes=1_0-20"),
    case("28g-plus-sign", FULL, range="bytes=+1-2"),
    case("28h-hex", FULL, range="bytes=0x1-2"),
    # Method and representation
    case("29-post-ignores-range", FULL, method="POST", range="bytes=0-1"),
    case("30-head-like-get", partial((0, 1)), method="HEAD", range="bytes=0-1"),
    case("30b-head-multipart", partial((0, 1), (5, 6)), method="HEAD", range="bytes=0-1,5-6"),
    case("30c-head-unsatisfiable", UNSATISFIABLE, method="HEAD", range=f"bytes={N}-"),
    case("31-empty-file", FULL, size=0, range="bytes=0-"),
    case("31b-empty-file-suffix", FULL, size=0, range="bytes=-5"),
    case("31c-empty-file-zero-suffix", FULL, size=0, range="bytes=-0"),
    case("31d-one-byte-file-suffix", partial((0, 0)), size=1, range="bytes=-5"),
    # If-Range
    case("33-if-range-etag", partial((0, 1)), range="bytes=0-1", if_range=ETAG),
    case("34-if-range-other-etag", FULL, range="bytes=0-1", if_range='"other"'),
    case("35-if-range-weak-etag", FULL, range="bytes=0-1", if_range=f"W/{ETAG}"),
    case("35b-if-range-etag-list", FULL, range="bytes=0-1", if_range=f'{ETAG}, "x"'),
    case("36-if-range-date", partial((0, 1)), range="bytes=0-1", if_range=AT_LM),
    case("36b-if-range-earlier", FULL, range="bytes=0-1", if_range=BEFORE_LM),
    case("36c-if-range-later", FULL, range="bytes=0-1", if_range=http_date(LM + 1)),
    case("37-if-range-alone", FULL, if_range=ETAG),
    case("37b-if-range-garbage", FULL, range="bytes=0-1", if_range="garbage"),
    case("37c-if-range-then-416", UNSATISFIABLE, range=f"bytes={N}-", if_range=ETAG),
    case("37d-if-range-fails-no-416", FULL, range=f"bytes={N}-", if_range='"other"'),
    # Conditional GET
    case("38-if-none-match", NOT_MODIFIED, if_none_match=ETAG),
    case("39-if-none-match-weak", NOT_MODIFIED, if_none_match=f"W/{ETAG}"),
    case("39b-if-none-match-list", NOT_MODIFIED, if_none_match=f'"x", {ETAG}'),
    case("39c-if-none-match-star", NOT_MODIFIED, if_none_match="*"),
    case("39d-if-none-match-other", FULL, if_none_match='"x"'),
    case("39e-if-none-match-garbage", FULL, if_none_match="garbage"),
    case("39f-if-none-match-comma-in-tag", FULL, if_none_match=f'"{OPAQUE},x"'),
    case("40-if-none-match-beats-ims", FULL, if_none_match='"x"', if_modified_since=AT_LM),
    case("41-ims-equal", NOT_MODIFIED, if_modified_since=AT_LM),
    case("41b-ims-later", NOT_MODIFIED, if_modified_since=http_date(LM + 3600)),
    case("41c-ims-earlier", FULL, if_modified_since=BEFORE_LM),
    case("41d-ims-invalid", FULL, if_modified_since="yesterday"),
    case("41e-ims-rfc850", NOT_MODIFIED, if_modified_since="Tuesday, 14-Nov-23 22:13:20 GMT"),
    case("41f-ims-asctime", NOT_MODIFIED, if_modified_since="Tue Nov 14 22:13:20 2023"),
    case("41g-ims-post-ignored", FULL, method="POST", if_modified_since=AT_LM),
    case("42-304-before-range", NOT_MODIFIED, if_none_match=ETAG, range="bytes=0-1"),
    case("42b-ims-before-range", NOT_MODIFIED, if_modified_since=AT_LM, range="bytes=0-1"),
    case("43-if-match-other", FAILED, if_match='"x"'),
    case("43b-if-match-weak", FAILED, if_match=f"W/{ETAG}"),
    case("43c-if-match-current", FULL, if_match=ETAG),
    case("43d-if-match-star", FULL, if_match="*"),
    case("43e-if-match-list", FULL, if_match=f'"x", {ETAG}'),
    case("43f-if-match-then-range", partial((0, 1)), if_match=ETAG, range="bytes=0-1"),
    case("43g-ius-earlier", FAILED, if_unmodified_since=BEFORE_LM),
    case("43h-ius-equal", FULL, if_unmodified_since=AT_LM),
    case("43i-ius-ignored-with-if-match", FULL, if_match=ETAG, if_unmodified_since=BEFORE_LM),
    case("43j-ius-invalid", FULL, if_unmodified_since="not a date"),
    case("43k-if-match-before-if-none-match", FAILED, if_match='"x"', if_none_match=ETAG),
    case("43l-ius-before-if-none-match", FAILED, if_unmodified_since=BEFORE_LM, if_none_match="*"),
    case("43m-if-none-match-on-post", FAILED, method="POST", if_none_match=ETAG),
    case("43n-empty-if-match-is-absent", FULL, if_match=""),
]


@pytest.mark.parametrize(("method", "size", "headers", "expected"), CASES)
def test_checklist(method: str, size: int, headers: RequestHeaders, expected: Plan) -> None:
    assert plan_response(method, size, ETAG, LM, headers) == expected


def test_headers_are_read_from_a_mapping() -> None:
    headers = RequestHeaders.from_mapping({"range": "bytes=0-1", "if-range": ETAG})
    assert headers == RequestHeaders(range="bytes=0-1", if_range=ETAG)
    assert plan_response("GET", N, ETAG, LM, headers) == partial((0, 1))


def test_max_ranges_is_configurable() -> None:
    headers = RequestHeaders(range="bytes=0-0,2-2,4-4")
    assert plan_response("GET", N, ETAG, LM, headers, max_ranges=2) == FULL
    assert plan_response("GET", N, ETAG, LM, headers, max_ranges=3).is_multipart


def test_abusive_headers_are_cheap() -> None:
    headers = [
        "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 400, 2)),
        "bytes=" + ",".join(["0-"] * 4000),
        "bytes=" + ",".join("9" * 120 + "-" for _ in range(63)),
        "bytes=" + ",".join(f"{i}-{i}" for i in range(63)),
        "bytes=" + "0" * 8000 + "-1",
    ]
    started = time.perf_counter()
    for _ in range(100):
        for value in headers:
            plan_response("GET", N, ETAG, LM, RequestHeaders(range=value))
    assert time.perf_counter() - started < 2.0


def test_etag_is_strong_and_quoted() -> None:
    assert make_etag(0x2A3B, 0x5F1C) == '"5f1c-2a3b"'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Sun, 06 Nov 1994 08:49:37 GMT", 784111777),
        ("Sunday, 06-Nov-94 08:49:37 GMT", 784111777),
        ("Sun Nov  6 08:49:37 1994", 784111777),
        ("Sun, 06 Nov 1994 09:49:37 +0100", 784111777),
        ("garbage", None),
        ("", None),
        ("Sun, 31 Feb 1994 08:49:37 GMT", None),
        ("Sun, 06 Nov 99999 08:49:37 GMT", None),
        ("Sun, 06 Nov 1994 08:49:37 GMT" + " " * 100, None),
        (None, None),
    ],
)
def test_parse_http_date(value: str | None, expected: int | None) -> None:
    assert parse_http_date(value) == expected


def test_http_date_round_trips_to_the_second() -> None:
    assert http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert parse_http_date(AT_LM) == LM


def test_plans_and_ranges_refuse_impossible_states() -> None:
    with pytest.raises(ValueError, match="invalid byte range"):
        ByteRange(5, 4)
    with pytest.raises(ValueError, match="206"):
        Plan(HTTPStatus.OK, (ByteRange(0, 1),))
    with pytest.raises(ValueError, match="206"):
        Plan(HTTPStatus.PARTIAL_CONTENT)


def test_coalesce_keeps_first_appearance_order() -> None:
    ranges = [ByteRange(40, 49), ByteRange(0, 9), ByteRange(20, 29), ByteRange(10, 19)]
    assert coalesce(ranges) == (ByteRange(40, 49), ByteRange(0, 29))


# --- Properties against a reference slicer --------------------------------------------------

Spec = tuple[int | None, int | None]


def reference_indices(spec: Spec, size: int) -> range:
    """The byte positions a spec selects, by plain Python slicing (which clamps for us)."""
    positions = range(size)
    first, last = spec
    if first is None:
        assert last is not None
        return positions[-last:] if last else range(0)
    return positions[first:] if last is None else positions[first : last + 1]


def reference_plan(specs: list[Spec], size: int, max_ranges: int) -> Plan:
    """What the planner must answer, computed from sets of positions rather than arithmetic."""
    if len(specs) > 4 * max_ranges or size == 0:
        return FULL
    selections = [(order, reference_indices(spec, size)) for order, spec in enumerate(specs)]
    selections = [(order, chosen) for order, chosen in selections if chosen]
    if not selections:
        return UNSATISFIABLE
    if sum(len(chosen) for _, chosen in selections) > size:
        return FULL
    covered = sorted(set().union(*(chosen for _, chosen in selections)))
    runs: list[tuple[int, int]] = []
    for position in covered:
        if runs and runs[-1][1] == position - 1:
            runs[-1] = (runs[-1][0], position)
        else:
            runs.append((position, position))
    if len(runs) > max_ranges:
        return FULL

    def first_request(run: tuple[int, int]) -> int:
        return min(order for order, chosen in selections if run[0] <= chosen[0] <= run[1])

    return partial(*sorted(runs, key=first_request))


@st.composite
def range_requests(draw: st.DrawFn) -> tuple[int, list[Spec], str]:
    size = draw(st.integers(0, 300))
    position = st.integers(0, size + 10)
    short = st.integers(0, 8)
    any_length = st.integers(0, 2 * size + 10)
    bounded_short = st.tuples(position, short).map(lambda pair: (pair[0], pair[0] + pair[1]))
    bounded = st.tuples(position, any_length).map(lambda pair: (pair[0], pair[0] + pair[1]))
    open_ended = st.tuples(position, st.none())
    suffix = st.tuples(st.none(), st.one_of(short, any_length))
    # Short spans only is what gives multipart answers; any mix mostly exercises the caps.
    spec = draw(st.sampled_from([bounded_short, st.one_of(bounded, open_ended, suffix)]))
    count = draw(st.sampled_from([1, 4, 12]))
    specs: list[Spec] = draw(st.lists(spec, min_size=1, max_size=count))
    unit = draw(st.sampled_from(["bytes", "Bytes", "BYTES"]))
    after_equals = draw(st.sampled_from(["", " ", "\t"]))
    separator = draw(st.sampled_from([",", ", ", " ,", " , ", ",\t"]))
    rendered = separator.join(
        f"{'' if first is None else first}-{'' if last is None else last}" for first, last in specs
    )
    return size, specs, f"{unit}={after_equals}{rendered}"


def assert_well_formed(plan: Plan, size: int, max_ranges: int) -> None:
    assert len(plan.ranges) <= max_ranges
    for byte_range in plan.ranges:
        assert 0 <= byte_range.start <= byte_range.end < size
    for index, one in enumerate(plan.ranges):
        for other in plan.ranges[index + 1 :]:
            assert one.end + 1 < other.start or other.end + 1 < one.start


@settings(max_examples=500)
@given(range_requests(), st.sampled_from([1, 2, 3, 16]))
def test_planner_matches_reference_slicer(
    request_: tuple[int, list[Spec], str], max_ranges: int
) -> None:
    size, specs, header = request_
    plan = plan_response("GET", size, ETAG, LM, RequestHeaders(range=header), max_ranges=max_ranges)
    assert_well_formed(plan, size, max_ranges)
    assert plan == reference_plan(specs, size, max_ranges)
    if len(specs) == 1 and plan.status == HTTPStatus.PARTIAL_CONTENT:
        data = bytes(i % 251 for i in range(size))
        (only,) = plan.ranges
        assert data[only.start : only.end + 1] == bytes(
            data[i] for i in reference_indices(specs[0], size)
        )


RANGEISH = st.text(alphabet="bytesBYTES=0123456789-, \t", max_size=60)
ANY_VALUE = st.one_of(st.none(), st.text(max_size=60), RANGEISH)


@given(
    st.sampled_from(["GET", "HEAD", "POST", "get"]),
    st.integers(0, 10_000),
    st.builds(
        RequestHeaders,
        range=st.one_of(RANGEISH, ANY_VALUE),
        if_range=ANY_VALUE,
        if_match=ANY_VALUE,
        if_none_match=ANY_VALUE,
        if_modified_since=ANY_VALUE,
        if_unmodified_since=ANY_VALUE,
    ),
)
def test_any_header_values_give_a_well_formed_plan(
    method: str, size: int, headers: RequestHeaders
) -> None:
    plan = plan_response(method, size, ETAG, LM, headers)
    assert_well_formed(plan, size, 16)
