"""HTTP range and conditional-request planning (RFC 9110 sections 13 and 14).

Pure functions only: from a file's size and validators and the request's header values to an
immutable `Plan` that says which status to answer with and which bytes to send. Nothing here
reads files or knows about Litestar; `streaming.py` turns a plan into a response.

Decisions beyond the RFC's MUSTs (see `API.md`, section "Media"):

- HEAD is planned exactly like GET, Range included, so a HEAD answers with the status and
  headers a GET would get (a 206 with its Content-Range and Content-Length), without a body.
- Range is ignored (200, whole file) when it does not parse, names another unit, contains an
  invalid spec (`5-2`) or more than `4 * max_ranges` specs, asks in total for more bytes than
  the file holds (overlap abuse, CVE-2011-3192; the nginx and Go rule), or still has more than
  `max_ranges` ranges after merging.
- Overlapping and adjacent ranges are merged into the earliest one they touch; otherwise the
  request's order is kept, as RFC 9110 section 15.3.7.2 recommends (no sorting).
- An empty file answers every Range with 200 and an empty body, as nginx and Go do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus

__all__ = (
    "DEFAULT_MAX_RANGES",
    "FULL",
    "MAX_FILE_SIZE",
    "NOT_MODIFIED",
    "NOT_SATISFIABLE",
    "PRECONDITION_FAILED",
    "ByteRange",
    "Plan",
    "RequestHeaders",
    "coalesce",
    "http_date",
    "make_etag",
    "parse_http_date",
    "parse_range_header",
    "plan_response",
    "select_ranges",
)

DEFAULT_MAX_RANGES = 16
# Numerals longer than this are past the end of any file we could hold; clamping them keeps
# parsing linear and clear of Python's int-from-str digit limit. The one thing lost: two huge
# numerals in descending order (`bytes=<30 digits>-<25 digits>`) read as 416, not as invalid.
_MAX_DIGITS = 18
MAX_FILE_SIZE = 10**_MAX_DIGITS - 1
_BEYOND_ANY_FILE = 10**_MAX_DIGITS
# The longest input the date parser is given: real HTTP-dates are 29 characters.
_MAX_DATE_LENGTH = 64
_OWS = " \t"
# One element of an entity-tag list, empty elements before it allowed (RFC 9110 section 5.6.1).
_ETAG_RE = re.compile(r'(?:[ \t]*,)*[ \t]*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|\Z)')


@dataclass(frozen=True, slots=True)
class ByteRange:
    """An inclusive byte range, as in `Content-Range: bytes start-end/size`."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"invalid byte range {self.start}-{self.end}")

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


@dataclass(frozen=True, slots=True)
class Plan:
    """What to answer: a status, and for 206 the ranges to send (several means multipart)."""

    status: HTTPStatus
    ranges: tuple[ByteRange, ...] = ()

    def __post_init__(self) -> None:
        if (self.status == HTTPStatus.PARTIAL_CONTENT) != bool(self.ranges):
            raise ValueError("ranges go with 206 and only with 206")

    @property
    def is_multipart(self) -> bool:
        return len(self.ranges) > 1

    @classmethod
    def partial(cls, ranges: Iterable[ByteRange]) -> Plan:
        return cls(HTTPStatus.PARTIAL_CONTENT, tuple(ranges))


FULL = Plan(HTTPStatus.OK)
NOT_MODIFIED = Plan(HTTPStatus.NOT_MODIFIED)
PRECONDITION_FAILED = Plan(HTTPStatus.PRECONDITION_FAILED)
NOT_SATISFIABLE = Plan(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)


@dataclass(frozen=True, slots=True)
class RequestHeaders:
    """The request header values that decide the plan; None where the header is absent."""

    range: str | None = None
    if_range: str | None = None
    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: str | None = None
    if_unmodified_since: str | None = None

    @classmethod
    def from_mapping(cls, headers: Mapping[str, str]) -> RequestHeaders:
        """Read them from a case-insensitive mapping (Litestar's) or one with lower-case keys."""
        return cls(
            range=headers.get("range"),
            if_range=headers.get("if-range"),
            if_match=headers.get("if-match"),
            if_none_match=headers.get("if-none-match"),
            if_modified_since=headers.get("if-modified-since"),
            if_unmodified_since=headers.get("if-unmodified-since"),
        )


def make_etag(size: int, mtime_ns: int) -> str:
    """A strong ETag from the file's size and modification time (files are written once)."""
    return f'"{mtime_ns:x}-{size:x}"'


def http_date(epoch: int) -> str:
    """IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`."""
    return formatdate(epoch, usegmt=True)


def parse_http_date(value: str | None) -> int | None:
    """Epoch seconds of an HTTP-date in any of the three formats RFC 9110 accepts, else None."""
    if value is None or len(value) > _MAX_DATE_LENGTH:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (ValueError, TypeError, OverflowError, IndexError):
        return None
    if parsed.tzinfo is None:  # asctime and `-0000` carry no zone; HTTP-dates are always GMT
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def _entity_tags(value: str) -> tuple[tuple[bool, str], ...]:
    """(is_weak, opaque) for each entity tag of a list, stopping at the first malformed one."""
    tags: list[tuple[bool, str]] = []
    position = 0
    while position < len(value):
        match = _ETAG_RE.match(value, position)
        if match is None or match.end() == position:
            break
        tags.append((match.group(1) is not None, match.group(2)))
        position = match.end()
    return tuple(tags)


def _opaque(etag: str) -> str:
    return etag.removeprefix("W/").strip('"')


def _strong_match(value: str, etag: str) -> bool:
    if value.strip(_OWS) == "*":
        return True
    return any(not weak and opaque == _opaque(etag) for weak, opaque in _entity_tags(value))


def _weak_match(value: str, etag: str) -> bool:
    if value.strip(_OWS) == "*":
        return True
    return any(opaque == _opaque(etag) for _, opaque in _entity_tags(value))


def _if_range_holds(value: str, etag: str, last_modified: int) -> bool:
    """RFC 9110 section 13.1.5: a strong ETag match, or the exact Last-Modified second."""
    value = value.strip(_OWS)
    if value.startswith(('"', "W/")):
        tags = _entity_tags(value)
        return len(tags) == 1 and not tags[0][0] and tags[0][1] == _opaque(etag)
    return parse_http_date(value) == last_modified


# A parsed range-spec: (first, last) for `first-last`, (first, None) for `first-`, and
# (None, length) for the suffix form `-length`.
Spec = tuple[int | None, int | None]


def _numeral(text: str) -> int | None:
    # isascii() matters: str.isdigit() and int() also accept digits of other scripts.
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0")
    if len(digits) > _MAX_DIGITS:
        return _BEYOND_ANY_FILE
    return int(digits or "0")


def _parse_spec(text: str) -> Spec | None:
    first_text, dash, last_text = text.partition("-")
    if not dash:
        return None
    last = _numeral(last_text) if last_text else None
    if not first_text:
        return None if last is None else (None, last)
    first = _numeral(first_text)
    if first is None:
        return None
    if not last_text:
        return (first, None)
    if last is None or last < first:
        return None
    return (first, last)


def parse_range_header(value: str, *, max_specs: int) -> tuple[Spec, ...] | None:
    """The range-specs of a `bytes` Range header, or None where it is to be ignored.

    Linear in the header's length: the spec count is checked before any spec is parsed.
    """
    unit, equals, range_set = value.partition("=")
    if not equals or unit.strip(_OWS).lower() != "bytes":
        return None
    if range_set.count(",") >= max_specs:
        return None
    specs: list[Spec] = []
    for element in range_set.split(","):
        element = element.strip(_OWS)
        if not element:  # RFC 9110 section 5.6.1: empty list elements are allowed
            continue
        spec = _parse_spec(element)
        if spec is None:
            return None
        specs.append(spec)
    return tuple(specs) or None


def _resolve(spec: Spec, size: int) -> ByteRange | None:
    """The satisfiable part of a spec for a non-empty file, else None."""
    first, last = spec
    if first is None:
        assert last is not None
        return ByteRange(max(0, size - last), size - 1) if last > 0 else None
    if first >= size:
        return None
    return ByteRange(first, size - 1 if last is None else min(last, size - 1))


def coalesce(ranges: Iterable[ByteRange]) -> tuple[ByteRange, ...]:
    """Merge overlapping and adjacent ranges into the earliest one they touch, without sorting.

    The merged ranges never touch each other, so whatever touches a union touches one of its
    members: one pass suffices. O(n * m), with n bounded by the spec cap.
    """
    merged: list[ByteRange] = []
    for candidate in ranges:
        touching = [
            index
            for index, existing in enumerate(merged)
            if existing.start <= candidate.end + 1 and candidate.start <= existing.end + 1
        ]
        if not touching:
            merged.append(candidate)
            continue
        members = [candidate, *(merged[index] for index in touching)]
        merged[touching[0]] = ByteRange(
            min(member.start for member in members), max(member.end for member in members)
        )
        for index in reversed(touching[1:]):
            del merged[index]
    return tuple(merged)


def select_ranges(value: str, size: int, *, max_ranges: int = DEFAULT_MAX_RANGES) -> Plan:
    """The plan for a Range header alone: 206, 416, or 200 where Range is ignored."""
    specs = parse_range_header(value, max_specs=4 * max_ranges)
    if specs is None or size == 0:
        return FULL
    ranges = [byte_range for spec in specs if (byte_range := _resolve(spec, size)) is not None]
    if not ranges:
        return NOT_SATISFIABLE
    if sum(byte_range.length for byte_range in ranges) > size:
        return FULL
    merged = coalesce(ranges)
    if len(merged) > max_ranges:
        return FULL
    return Plan.partial(merged)


def _present(value: str | None) -> str | None:
    # An empty field value is treated as an absent header, as Go's net/http does.
    return value if value is not None and value.strip(_OWS) else None


def plan_response(
    method: str,
    size: int,
    etag: str,
    last_modified: int,
    headers: RequestHeaders,
    *,
    max_ranges: int = DEFAULT_MAX_RANGES,
) -> Plan:
    """Evaluate preconditions, then Range, in the order of RFC 9110 section 13.2.2.

    `etag` is the current strong ETag (quoted), `last_modified` the file's mtime in whole
    epoch seconds (what the Last-Modified header says).
    """
    if not 0 <= size <= MAX_FILE_SIZE:
        raise ValueError(f"size out of range: {size}")
    if max_ranges < 1:
        raise ValueError("max_ranges must be at least 1")
    reads = method in ("GET", "HEAD")
    if_match = _present(headers.if_match)
    if_none_match = _present(headers.if_none_match)

    if if_match is not None:
        if not _strong_match(if_match, etag):
            return PRECONDITION_FAILED
    else:
        since = parse_http_date(headers.if_unmodified_since)
        if since is not None and last_modified > since:
            return PRECONDITION_FAILED

    if if_none_match is not None:
        if _weak_match(if_none_match, etag):
            return NOT_MODIFIED if reads else PRECONDITION_FAILED
    elif reads:
        since = parse_http_date(headers.if_modified_since)
        if since is not None and last_modified <= since:
            return NOT_MODIFIED

    range_header = _present(headers.range)
    if not reads or range_header is None:
        return FULL
    if_range = _present(headers.if_range)
    if if_range is not None and not _if_range_holds(if_range, etag, last_modified):
        return FULL
    return select_ranges(range_header, size, max_ranges=max_ranges)
