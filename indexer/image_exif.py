"""EXIF, read defensively: orientation and capture time (broken or absurd values count as absent)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from PIL import ExifTags, Image

_DATETIME = re.compile(r"(\d{4})[:\-/](\d{2})[:\-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})$")
# (time, offset, sub-second) tags by preference: DateTimeOriginal, DateTimeDigitized, DateTime
_TIME_TAGS = ((0x9003, 0x9011, 0x9291), (0x9004, 0x9012, 0x9292), (0x0132, 0x9010, 0x9290))


def read_exif(img: Image.Image, png_exif: bytes | None = None) -> tuple[int, datetime | None]:
    """(orientation 1–8, capture time) from EXIF; unreadable or absurd values count as absent."""
    try:
        if img.format == "PNG":  # PngImageFile.getexif() decodes the whole image to look for a late eXIf
            exif = Image.Exif()
            if raw := img.info.get("exif") or png_exif:
                exif.load(raw)
        else:
            exif = img.getexif()
        ifd = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception:  # EXIF is advisory: broken EXIF must not reject a good image
        return 1, None
    orientation = exif_orientation(exif.get(0x0112))
    for time_tag, offset_tag, subsec_tag in _TIME_TAGS:
        value = ifd.get(time_tag) or exif.get(time_tag)
        if captured := parse_exif_datetime(value, ifd.get(offset_tag), ifd.get(subsec_tag)):
            return orientation, captured
    return orientation, None


def parse_exif_datetime(value: object, offset: object = None, subsec: object = None) -> datetime | None:
    """EXIF "YYYY:MM:DD HH:MM:SS" as an aware datetime: with its offset tag if valid, else taken as UTC."""
    match = _DATETIME.match(_text(value))
    if not match:
        return None
    year, month, day, hour, minute, second = map(int, match.groups())
    if year < 1800:  # "0000:00:00 00:00:00" and similar placeholders
        return None
    try:
        moment = datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError:
        return None
    digits = re.match(r"\d+", _text(subsec))
    micro = int(digits.group()[:6].ljust(6, "0")) if digits else 0
    return moment.replace(microsecond=micro, tzinfo=exif_offset(_text(offset)) or UTC)


def exif_offset(text: str) -> timezone | None:
    """EXIF's OffsetTime* text ("+02:00") as a zone; None when absent or invalid."""
    match = _OFFSET.match(text)
    if not match or int(match[2]) > 14 or int(match[3]) >= 60:
        return None
    minutes = int(match[2]) * 60 + int(match[3])
    return timezone(timedelta(minutes=-minutes if match[1] == "-" else minutes))


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


def exif_orientation(value: object) -> int:
    if isinstance(value, tuple) and value:
        value = value[0]
    return value if isinstance(value, int) and 1 <= value <= 8 else 1
