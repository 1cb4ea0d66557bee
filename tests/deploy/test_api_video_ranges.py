"""tests/api/test_video_ranges.py through Nginx: the same conformance table, answered by Nginx
from the media directory after the app's X-Accel-Redirect.

Left out below, case by case with the reason (tests/deploy/conftest.py skips them): where Nginx
answers otherwise and the contract allows it, and where it does not (reported, see API.md's
"the same as in the direct mode"). Everything else in the table holds behind Nginx as is."""

from tests.api.test_video_ranges import *  # noqa: F403

GET = "test_get_answers_as_the_table_says"
HEAD = "test_head_answers_like_get_without_a_body"

_PREAMBLE = (
    "Nginx's multipart body opens with a CRLF before the first delimiter (an empty preamble, "
    "valid under RFC 2046) that the table's strict reader refuses; test_nginx.py reads Nginx's "
    "parts and checks their bytes"
)
_NOT_MERGED = (
    "Nginx sends overlapping and adjacent ranges as parts of their own (merging is allowed, "
    "not required)"
)
_NO_ACCEPT_RANGES = (
    "this 206 of Nginx has no Accept-Ranges: nginx.conf adds it only where Nginx cannot have "
    "added it already (see the map $reelvault_accept_ranges)"
)
_NO_ETAG = "Nginx's 412 carries no ETag"
# Deviations from API.md: Nginx answers with another status than the app in direct mode.
_DESCENDING = (
    "Nginx answers 416 to a range ending before its start; API.md ignores such a header "
    "(RFC 9110 allows both)"
)
_OWS = (
    "Nginx does not parse a tab or an empty list element (RFC 9110 allows both): nginx.conf "
    "sends the whole file (200) rather than Nginx's 416; the app sends the 206"
)
_HUGE = "Nginx answers 416 to a number past 2^63 - 1; the app clamps it to the file (206)"
_PRECEDENCE = (
    "Nginx checks If-Unmodified-Since even with an If-Match (412); RFC 9110 section 13.2.2 "
    "ignores it then (200)"
)

LEFT_OUT = {
    **{
        (GET, case): _PREAMBLE
        for case in (
            "two ranges multipart",
            "three ranges multipart",
            "request order kept",
            "16 ranges multipart",
            "spaces around comma",
        )
    },
    **{
        (GET, case): _NOT_MERGED
        for case in ("overlapping merged", "adjacent merged", "merge keeps the earliest position")
    },
    **{
        (GET, case): _NO_ACCEPT_RANGES
        for case in (
            "satisfiable with unsatisfiable",
            "-0 with satisfiable",
            "if-range current etag",
            "if-range exact last-modified",
        )
    },
    **{
        (GET, case): _NO_ETAG
        for case in ("if-match other", "if-match weak", "if-unmodified-since earlier")
    },
    **{
        (test, case): reason
        for test in (GET, HEAD)
        for case, reason in (
            ("bytes=5-2", _DESCENDING),
            ("bytes=5-4", _DESCENDING),
            ("tab after comma", _OWS),
            ("empty list elements", _OWS),
            ("huge end", _HUGE),
            ("huge suffix", _HUGE),
            ("if-match current overrides if-unmodified-since", _PRECEDENCE),
        )
    },
}
