"""A run's change against the run it replaced (RunChange) as JSON text, the way both catalogs store it."""

from __future__ import annotations

import json

from catalog.domain.model import RunChange


def encode_change(change: RunChange | None) -> str | None:
    if change is None:
        return None
    return json.dumps(
        {
            "previous": change.previous_run_id,
            "previous_version": change.previous_model_version,
            "changed": change.changed,
            "gained": list(change.gained),
            "lost": list(change.lost),
            "top_before": change.top_before,
            "top_after": change.top_after,
        }
    )


def decode_change(text: str | None) -> RunChange | None:
    if not text:
        return None
    raw = json.loads(text)
    return RunChange(
        previous_run_id=raw["previous"],
        previous_model_version=raw["previous_version"],
        changed=raw["changed"],
        gained=tuple(raw["gained"]),
        lost=tuple(raw["lost"]),
        top_before=raw["top_before"],
        top_after=raw["top_after"],
    )
