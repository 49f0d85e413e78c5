"""Range header parsing: what a player or a download manager sends, and what must be ignored."""

from __future__ import annotations

import pytest

from api.transfer.byte_ranges import ByteRange, RangeNotSatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", ByteRange(0, 100)),
        ("bytes=0-", ByteRange(0, 1000)),  # what Chromium's <video> asks first
        ("bytes=500-", ByteRange(500, 1000)),
        ("bytes=900-5000", ByteRange(900, 1000)),  # clipped to the blob
        ("bytes=-100", ByteRange(900, 1000)),  # the last 100 bytes
        ("bytes=-5000", ByteRange(0, 1000)),
        ("BYTES = 10-19", ByteRange(10, 20)),
        ("bytes=999-999", ByteRange(999, 1000)),
    ],
)
def test_single_ranges(header: str, expected: ByteRange) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize(
    "header",
    [None, "", "items=0-9", "bytes=0-9,20-29", "bytes=9-0", "bytes=abc", "bytes=-", "bytes=1-x", "bytes=x-1"],
)
def test_what_is_ignored_gets_the_whole_blob(header: str | None) -> None:
    assert parse_range(header, 1000) is None


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_ranges_past_the_end_are_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 1000)


def test_content_range() -> None:
    assert ByteRange(10, 20).content_range(1000) == "bytes 10-19/1000"
    assert ByteRange(10, 20).length == 10
