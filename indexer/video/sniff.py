"""Which video container a file's first bytes declare (never its name)."""

from __future__ import annotations

# ISO-BMFF brands of still images (HEIC/AVIF): the image pipeline takes those.
_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_TS_PACKET = 188


def _is_transport_stream(head: bytes, packet: int, offset: int) -> bool:
    sync = [offset + i * packet for i in range(3)]
    return all(p < len(head) and head[p] == 0x47 for p in sync)


def container_family(head: bytes) -> str:
    """MP4, QuickTime, Matroska, WebM, MPEG-TS, MPEG-PS, AVI, FLV, Ogg, ASF, 'image' or 'unknown'."""
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            return "image"
        return "QuickTime" if brand == b"qt  " else "MP4"
    if head[4:8] in _QUICKTIME_ATOMS:
        return "QuickTime"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "WebM" if b"webm" in head[:64] else "Matroska"
    if _is_transport_stream(head, _TS_PACKET, 0):
        return "MPEG-TS"
    if _is_transport_stream(head, 192, 4):  # M2TS (Blu-ray, AVCHD): a 4-byte timestamp before each packet
        return "MPEG-TS"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "MPEG-PS"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    if head.startswith(b"FLV\x01"):
        return "FLV"
    if head.startswith(b"OggS"):
        return "Ogg"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "ASF"
    return "unknown"


def is_video(head: bytes) -> bool:
    """Whether the bytes start like a video container (routing: video pipeline vs image pipeline)."""
    return container_family(head) not in ("unknown", "image")


_MEDIA_TYPES = {
    "MP4": "video/mp4",
    "QuickTime": "video/quicktime",
    "Matroska": "video/x-matroska",
    "WebM": "video/webm",
    "MPEG-TS": "video/mp2t",
    "MPEG-PS": "video/mpeg",
    "AVI": "video/x-msvideo",
    "FLV": "video/x-flv",
    "Ogg": "video/ogg",
    "ASF": "video/x-ms-asf",
}


def media_type_of(family: str, head: bytes, demuxer: str) -> str:
    if family in _MEDIA_TYPES:
        return _MEDIA_TYPES[family]
    return f"video/x-{demuxer.split(',')[0]}"
