"""The time everyone stamps with (UTC, aware), and how stored times are written as text by every adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_db_time(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with microseconds: sorts as text and round-trips exactly."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def recorded_offset(value: datetime | None) -> int | None:
    """The UTC offset, in minutes, a time was recorded with (a camera's OffsetTimeOriginal), kept beside
    the UTC text: None for none, or UTC."""
    offset = value.utcoffset() if value is not None else None
    return round(offset.total_seconds() / 60) if offset else None


def at_recorded_offset(value: datetime | None, minutes: int | None) -> datetime | None:
    """A stored time at the offset it was recorded with: the camera's 10:00+02:00 reads 10:00, not 08:00."""
    if value is None or not minutes:
        return value
    return value.astimezone(timezone(timedelta(minutes=minutes)))


def offset_text(value: datetime) -> str:
    """ " +02:00" after a time recorded at that offset; "" for UTC, or a time recorded without one."""
    minutes = recorded_offset(value)
    if minutes is None:
        return ""
    hours, rest = divmod(abs(minutes), 60)
    return f" {'-' if minutes < 0 else '+'}{hours:02d}:{rest:02d}"
