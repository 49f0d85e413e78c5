"""Cursors come back from clients: only what encode_cursor could have made decodes."""

from __future__ import annotations

import base64

import pytest

from catalog.domain.cursor import CursorError, decode_cursor, encode_cursor
from catalog.domain.ids import uuid7

ID = uuid7()


def raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "key", [97.5, 0, -(2**63), 1_733_456_789_000, "", "2026-12-06T03:00:00.123456+00:00"]
)
def test_what_pages_hand_out_decodes(key: float | str) -> None:
    assert decode_cursor(encode_cursor(key, ID)) == (key, ID)


@pytest.mark.parametrize(
    "cursor",
    [
        "'; DROP TABLE assets; --",
        raw(f'[NaN, "{ID}"]'),
        raw(f'[Infinity, "{ID}"]'),
        raw(f'[1e308, "{ID}"]'),
        raw(f'[1e400, "{ID}"]'),
        raw(f'[{2**64}, "{ID}"]'),
        raw(f'[true, "{ID}"]'),
        raw(f'["1; DROP TABLE x", "{ID}"]'),
        raw(f'[1, "{"x" * 201}"]'),
        raw('[1, ""]'),
        raw(f'[1, "{ID}", 3]'),
        raw("{}"),
        raw("[" * 5000),
        encode_cursor(1.0, ID) + "!",
        "",
    ],
)
def test_junk_is_refused(cursor: str) -> None:
    with pytest.raises(CursorError):
        decode_cursor(cursor)
