"""DynamoDB attribute values in wire format. Numbers travel as DynamoDB's decimal strings and are converted
here, at the edge (`num`, `to_int`, `to_float`); no vendor dict leaves the adapters."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from catalog.domain.clock import to_db_time

Item = dict[str, Any]  # an item in DynamoDB's wire format: {"name": {"S": "..."}}


def s(value: str) -> dict[str, str]:
    return {"S": value}


def num(value: int | float) -> dict[str, str]:
    """A number as DynamoDB wants it: a decimal string (floats through their shortest exact repr)."""
    return {"N": str(value) if isinstance(value, int) else str(Decimal(repr(float(value))))}


def to_int(av: dict[str, str]) -> int:
    return int(Decimal(av["N"]))


def to_float(av: dict[str, str]) -> float:
    return float(Decimal(av["N"]))


def time_text(value: datetime) -> str:
    """A timestamp as stored (ISO-8601 UTC with microseconds: sorts as text)."""
    text = to_db_time(value)
    assert text is not None
    return text


def opt_s(item: Item, name: str) -> str | None:
    av = item.get(name)
    return None if av is None else str(av["S"])
