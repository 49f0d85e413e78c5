"""Opaque, stable pagination cursors: the (sort key, asset ID) of the last hit of a page.

A cursor comes back from the client, so it is checked strictly: base64 of a two-item JSON list whose key
is a finite, plausible number (a score; epoch milliseconds, or a 64-bit "missing" sentinel, on OpenSearch)
or a timestamp text, and whose asset ID is a short string (the API asks for a UUID). SQL text,
NaN, 1e308 or a forged ID are refused with CursorError instead of answering page 1 or an empty page.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import datetime


class CursorError(ValueError):
    pass


SortKey = float | str

MAX_SCORE = 1e15  # far above any score or epoch-millisecond key
INT64 = 2**63
MAX_TEXT_KEY = 40  # an ISO-8601 timestamp with microseconds and offset
MAX_ID = 200


def encode_cursor(key: SortKey, asset_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([key, asset_id]).encode()).decode()


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not a sort key")


def _valid_key(key: object) -> bool:
    if isinstance(key, bool):
        return False
    if isinstance(key, int):
        return -INT64 <= key < INT64
    if isinstance(key, float):
        return math.isfinite(key) and abs(key) <= MAX_SCORE
    if isinstance(key, str):
        if not key:
            return True  # undated assets sort last by capture time
        if len(key) > MAX_TEXT_KEY:
            return False
        datetime.fromisoformat(key)  # ValueError if not a timestamp
        return True
    return False


def decode_cursor(cursor: str) -> tuple[SortKey, str]:
    """The sort key (a score, or a timestamp for date orders) and the asset ID of the last hit."""
    try:
        raw = base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True)
        key, asset_id = json.loads(raw, parse_constant=_no_constants)
        if not _valid_key(key) or not isinstance(asset_id, str) or not 0 < len(asset_id) <= MAX_ID:
            raise ValueError(cursor)
        return key, asset_id
    except (ValueError, TypeError, UnicodeError, RecursionError) as exc:
        raise CursorError("invalid cursor: pass the endCursor of a previous page with the same sort") from exc
