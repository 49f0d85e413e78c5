"""HTTP Range requests (RFC 9110 §14) for renditions and originals: a player seeks in a long video proxy
without the whole file being sent, and a download can resume.

Only single ranges are served. A request for several ranges gets the whole blob with 200, which the RFC
allows (a server may ignore Range) and every player handles; multipart/byteranges responses buy nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # exclusive

    @property
    def length(self) -> int:
        return self.end - self.start

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end - 1}/{size}"


class RangeNotSatisfiable(Exception):
    """The range starts past the end of the blob (answered with 416 and the blob's size)."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range a `Range` header asks for, clipped to the blob; None: send the whole blob (no
    header, an unknown unit, a malformed or multi-range header)."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or last.isdigit()) or (first and not first.isdigit()):
        return None
    if last and not last.isdigit():
        return None
    if not first:  # a suffix: the last N bytes
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable
        return ByteRange(max(0, size - suffix), size)
    start = int(first)
    end = min(int(last) + 1, size) if last else size
    if last and int(last) < start:
        return None  # invalid: ignored, as the RFC says
    if start >= size:
        raise RangeNotSatisfiable
    return ByteRange(start, end)
