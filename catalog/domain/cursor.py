"""Opaque, stable pagination cursors: the (sort key, asset ID) of the last hit of a page."""

from __future__ import annotations

import base64
import json


class CursorError(ValueError):
    pass


SortKey = float | str


def encode_cursor(key: SortKey, asset_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([key, asset_id]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[SortKey, str]:
    """The sort key (a score, or a timestamp for date orders) and the asset ID of the last hit."""
    try:
        key, asset_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(key, (int, float, str)) or isinstance(key, bool):
            raise TypeError(key)
        return key, str(asset_id)
    except (ValueError, TypeError) as exc:
        raise CursorError("invalid cursor: pass the endCursor of a previous page with the same sort") from exc
