"""Opaque, stable pagination cursors: the (score, asset ID) of the last hit of a page."""

from __future__ import annotations

import base64
import json


class CursorError(ValueError):
    pass


def encode_cursor(score: float, asset_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([score, asset_id]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        score, asset_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return float(score), str(asset_id)
    except (ValueError, TypeError) as exc:
        raise CursorError("invalid cursor: pass the endCursor of a previous page") from exc
