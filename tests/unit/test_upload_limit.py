"""How large an upload may grow: the service's limit, or what the storage quota leaves."""

from __future__ import annotations

from reelvault.errors import PayloadTooLarge
from reelvault.generations.admission import quota_detail, upload_limit

MAX = 64 * 1024 * 1024


def test_without_a_quota_the_upload_limit_applies_with_its_own_sentence() -> None:
    limit = upload_limit(MAX, None, used_bytes=10**12)
    assert limit.max_bytes == MAX
    assert limit.detail == PayloadTooLarge.detail


def test_a_quota_with_room_for_a_whole_upload_changes_nothing() -> None:
    assert upload_limit(MAX, MAX * 3, used_bytes=MAX).max_bytes == MAX
    assert upload_limit(MAX, MAX * 3, used_bytes=MAX).detail == PayloadTooLarge.detail


def test_a_nearly_full_quota_limits_the_stream_to_what_is_free() -> None:
    limit = upload_limit(MAX, 5_000_000, used_bytes=3_800_000)
    assert limit.max_bytes == 1_200_000
    assert limit.detail == (
        "The file exceeds your storage quota: 1.2 MB of 5.0 MB are free. "
        "Delete videos to make room."
    )


def test_a_full_or_overdrawn_quota_leaves_nothing() -> None:
    # Overdrawn: the quota was lowered after the videos were stored.
    for used in (5_000_000, 9_000_000):
        limit = upload_limit(MAX, 5_000_000, used_bytes=used)
        assert limit.max_bytes == 0
        assert "0 bytes of 5.0 MB are free" in limit.detail


def test_sizes_in_the_sentence_are_read_by_people() -> None:
    assert "512 bytes of 2.0 KB" in quota_detail(2048, 1536)
    assert "1.5 GB of 2.0 GB" in quota_detail(2 * 10**9, 5 * 10**8)
