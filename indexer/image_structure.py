"""Whether an image file is complete, checked by walking its container (no pixel decoding: milliseconds)."""

from __future__ import annotations

import re
import struct
import zlib
from typing import Literal

from indexer.image_errors import corrupt, truncated

# a marker: FF followed by anything but a stuffed 00 (in entropy-coded data), a restart marker or fill FF
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_PNG_CHUNK = struct.Struct(">I4s")


def check_structure(data: bytes, media_type: str) -> bytes | None:
    """Cheap whole-file check (no decoding) where the container allows one; returns a PNG eXIf payload."""
    if media_type == "image/jpeg":
        _check_jpeg(data)
    elif media_type == "image/png":
        return _check_png(data)
    elif media_type == "image/webp" and 8 + int.from_bytes(data[4:8], "little") > len(data):
        raise truncated(media_type)  # the RIFF header gives the file's length
    elif media_type == "image/tiff":
        order: Literal["little", "big"] = "little" if data[:2] == b"II" else "big"
        first_ifd = int.from_bytes(data[4:8] if data[2:4] in (b"*\x00", b"\x00*") else data[8:16], order)
        if first_ifd + 2 > len(data):  # writers often put the directory after the pixel data
            raise truncated(media_type)
    elif media_type in ("image/avif", "image/heic"):
        _check_boxes(data, media_type)
    return None


def _check_jpeg(data: bytes) -> None:
    """Walk the marker segments to the first image's EOI (data after it, e.g. motion-photo video, is fine)."""
    pos, seen_scan = 2, False
    while True:
        # skips entropy-coded data after SOS, fill bytes, and stray bytes between segments (as libjpeg does)
        found = _JPEG_MARKER.search(data, pos)
        if found is None:
            raise truncated("image/jpeg")
        pos = found.start()
        marker = data[pos + 1]
        if marker == 0xD9:
            if not seen_scan:
                raise corrupt("image/jpeg", "it has no image data")
            return
        if marker in (0x01, 0xD8):  # standalone markers
            pos += 2
            continue
        if pos + 4 > len(data):
            raise truncated("image/jpeg")
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            raise corrupt("image/jpeg", f"bad segment length at byte {pos}")
        pos += 2 + length
        if pos > len(data):
            raise truncated("image/jpeg")
        if marker == 0xDA and data.endswith(b"\xff\xd9"):
            # The headers are whole and the file ends with EOI, which cannot appear inside entropy-coded
            # data: the image is complete without searching its scans for markers (1.1 ms of a 2.6 MB
            # photo). A cut file ends elsewhere; trailing data (a motion photo's video) takes the walk.
            return
        seen_scan = seen_scan or marker == 0xDA


def _check_png(data: bytes) -> bytes | None:
    """Walk the chunks to IEND, checking the CRC of critical chunks (as libpng does)."""
    pos, end, exif = 8, len(data), None
    while True:
        if pos + 12 > end:
            raise truncated("image/png")
        length, ctype = _PNG_CHUNK.unpack_from(data, pos)
        body_end = pos + 8 + length
        if length > 0x7FFFFFFF:
            raise corrupt("image/png", f"bad chunk length at byte {pos}")
        if body_end + 4 > end:
            raise truncated("image/png")
        critical = not ctype[0] & 0x20
        if critical:
            crc = zlib.crc32(memoryview(data)[pos + 4 : body_end])
            if crc != int.from_bytes(data[body_end : body_end + 4], "big"):
                raise corrupt("image/png", f"checksum error in the {ctype.decode('latin-1')} chunk")
        if ctype == b"eXIf":
            exif = data[pos + 8 : body_end]
        elif ctype == b"IEND":
            return exif
        pos = body_end + 4


def _check_boxes(data: bytes, media_type: str) -> None:
    """ISO-BMFF (AVIF/HEIC): the top-level boxes must tile the file."""
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        if size == 1:  # 64-bit size follows the type
            size = int.from_bytes(data[pos + 8 : pos + 16], "big") if pos + 16 <= len(data) else 2**64
        elif size == 0:  # extends to the end of the file
            return
        if size < 8:
            raise corrupt(media_type, f"bad box size at byte {pos}")
        pos += size
    if pos != len(data):
        raise truncated(media_type)
