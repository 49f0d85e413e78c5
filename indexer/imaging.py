"""Reading untrusted image bytes: sniff the type, open safely, and probe the header without decoding.

Everything here is blocking CPU work; callers run it in a thread pool. Bad input always surfaces as
`ImageRejected` with a machine-readable `code`, never as a raw Pillow exception.
"""

from __future__ import annotations

import io
import re
import struct
import threading
import zlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

from PIL import ExifTags, Image, ImageFile

from catalog.model import ImageInfo

RejectCode = Literal[
    "empty",
    "not_an_image",
    "unsupported_format",
    "truncated",
    "too_many_pixels",
    "too_large_bytes",
    "corrupt",
]

ACCEPTED = "JPEG, PNG, TIFF, WebP, GIF, BMP, AVIF or HEIC"

# media type -> (Pillow format id, i.e. the key of its opener in Image.OPEN; name for messages)
_FORMATS = {
    "image/jpeg": ("JPEG", "JPEG"),
    "image/png": ("PNG", "PNG"),
    "image/tiff": ("TIFF", "TIFF"),
    "image/webp": ("WEBP", "WebP"),
    "image/gif": ("GIF", "GIF"),
    "image/bmp": ("BMP", "BMP"),
    "image/avif": ("AVIF", "AVIF"),
    "image/heic": ("HEIF", "HEIC"),  # only when pillow-heif is installed
}

Image.init()  # register every bundled plugin once, at import (under the import lock)


class ImageRejected(ValueError):
    """The bytes cannot be accepted as an image. `code` is machine-readable; str() says what to do."""

    def __init__(self, code: RejectCode, message: str) -> None:
        super().__init__(message)
        self.code: RejectCode = code


# ---- sniffing ---------------------------------------------------------------------------------------

# (magic, what it is, whether it is an image format we don't accept or not an image at all)
_OTHER_FORMATS: tuple[tuple[bytes, str, RejectCode], ...] = (
    (b"8BPS", "Photoshop (PSD)", "unsupported_format"),
    (b"\x00\x00\x01\x00", "Windows icon (ICO)", "unsupported_format"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000", "unsupported_format"),
    (b"\xffO\xffQ", "JPEG 2000", "unsupported_format"),
    (b"\xff\n", "JPEG XL", "unsupported_format"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL", "unsupported_format"),
    (b"II\xbc", "JPEG XR", "unsupported_format"),
    (b"qoif", "QOI", "unsupported_format"),
    (b"FUJIFILMCCD-RAW", "camera RAW (RAF)", "unsupported_format"),
    (b"IIRO", "camera RAW (ORF)", "unsupported_format"),
    (b"IIU\x00", "camera RAW (RW2)", "unsupported_format"),
    (b"#?RADIANCE", "Radiance HDR", "unsupported_format"),
    (b"v/1\x01", "OpenEXR", "unsupported_format"),
    (b"\x1aE\xdf\xa3", "Matroska/WebM video", "unsupported_format"),
    (b"%PDF", "a PDF document", "not_an_image"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)", "not_an_image"),
    (b"\x1f\x8b", "a gzip archive", "not_an_image"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "not_an_image"),
    (b"Rar!", "a RAR archive", "not_an_image"),
    (b"\x7fELF", "a program (ELF executable)", "not_an_image"),
    (b"ID3", "MP3 audio", "not_an_image"),
)
_HEVC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_VIDEO_BRANDS = {b"isom", b"iso2", b"mp41", b"mp42", b"qt  ", b"M4V ", b"avc1", b"3gp4", b"3gp5"}
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}


def sniff(data: bytes) -> str:
    """The media type the bytes themselves declare (never the file name); rejects anything else."""
    if not data:
        raise ImageRejected(
            "empty", "The file is empty (0 bytes). Upload it again; the transfer probably failed."
        )
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        if head[8:10] == b"CR":
            raise _rejected("unsupported_format", "camera RAW (CR2)")
        return "image/tiff"
    if head[:4] == b"RIFF":
        if head[8:12] == b"WEBP":
            return "image/webp"
        raise _rejected("unsupported_format", "RIFF audio/video")
    if head[:2] == b"BM" and len(head) >= 18 and struct.unpack_from("<I", head, 14)[0] in _BMP_HEADER_SIZES:
        return "image/bmp"
    if head[4:8] == b"ftyp":
        return _sniff_isobmff(head)
    for magic, what, code in _OTHER_FORMATS:
        if head.startswith(magic):
            raise _rejected(code, what)
    raise _describe_unknown(data[:1024])


def _sniff_isobmff(head: bytes) -> str:
    brands = {head[8:12]} | {head[i : i + 4] for i in range(16, min(int.from_bytes(head[:4], "big"), 64), 4)}
    if head[8:12] in (b"avif", b"avis") or (brands & {b"avif", b"avis"} and not brands & _HEVC_BRANDS):
        return "image/avif"
    if brands & (_HEVC_BRANDS | {b"mif1", b"msf1"}):
        if _heif_available():
            return "image/heic"
        raise ImageRejected(
            "unsupported_format",
            "HEIC/HEIF images need the optional pillow-heif package on the server "
            "(pip install pillow-heif). Until then, export the photo as JPEG and upload that.",
        )
    raise _rejected("unsupported_format", "MP4/QuickTime video" if brands & _VIDEO_BRANDS else "ISO media")


def _describe_unknown(head: bytes) -> ImageRejected:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<html" in text[:512] or text.startswith(b"<!doctype html"):
        return _rejected("not_an_image", "an HTML page (often an error or login page saved as the image)")
    if b"<svg" in text:
        return _rejected("unsupported_format", "SVG (vector graphics)")
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(text) - 4:  # a multi-byte character cut off by the 1 KiB sample is still text
            return _rejected("not_an_image", "unrecognized binary data")
    return _rejected("not_an_image", "JSON text" if text.startswith((b"{", b"[")) else "plain text")


def _rejected(code: RejectCode, what: str) -> ImageRejected:
    if code == "unsupported_format":
        message = f"{what} files are not supported. Convert the image to JPEG or PNG and upload it again."
    else:
        message = f"The file is not an image: its content is {what}, whatever its name says. "
        message += f"Upload an image file ({ACCEPTED})."
    return ImageRejected(code, message)


_heif_lock = threading.Lock()
_heif_state: list[bool] = []


def _heif_available() -> bool:
    with _heif_lock:
        if not _heif_state:
            try:
                import pillow_heif  # type: ignore[import-not-found, unused-ignore]

                pillow_heif.register_heif_opener()
                _heif_state.append(True)
            except ImportError:
                _heif_state.append(False)
        return _heif_state[0]


# ---- opening ----------------------------------------------------------------------------------------


def open_image(data: bytes, media_type: str) -> ImageFile.ImageFile:
    """Parse the header with the plugin for `media_type`; pixels are not decoded.

    Calls the plugin's opener directly instead of Image.open: Image.open applies Pillow's process-wide
    MAX_IMAGE_PIXELS (a warning or an error by a global that we must not mutate from worker threads).
    The callers check the size against their own explicit limit instead.
    """
    factory, _accept = Image.OPEN[_FORMATS[media_type][0]]
    try:
        img = factory(io.BytesIO(data), "")
    except Image.DecompressionBombError as exc:  # Pillow's own backstop inside some plugins (GIF frames)
        raise too_many_pixels_error(None, None, 0) from exc
    except Exception as exc:
        raise classify_error(exc, data, media_type) from exc
    if not isinstance(img, ImageFile.ImageFile) or img.width <= 0 or img.height <= 0:
        raise _corrupt(media_type, "the header gives no image size")
    return img


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise too_many_pixels_error(width, height, max_pixels)


def too_many_pixels_error(width: int | None, height: int | None, max_pixels: int) -> ImageRejected:
    size = f"{width}×{height} ({width * height / 1e6:.1f} megapixels)" if width and height else "too large"
    limit = f" over the limit of {max_pixels / 1e6:.1f} megapixels" if max_pixels else ""
    return ImageRejected(
        "too_many_pixels",
        f"The image is {size},{limit}; it was refused before decoding. Downscale it (or split a "
        "panorama) and upload it again.",
    )


_UNSUPPORTED_HINTS = (
    "unsupported",
    "not supported",
    "not installed",
    "not available",
    "unknown pixel mode",
    "cannot handle",
)
_TRUNCATED_HINTS = (
    "truncated",
    "premature",
    "end of file",
    "not enough data",
    "no data found",
    "but only got",
)


def classify_error(exc: BaseException, data: bytes, media_type: str) -> ImageRejected:
    """Map an exception from a Pillow plugin or decoder to a typed rejection."""
    if isinstance(exc, ImageRejected):
        return exc
    if isinstance(exc, MemoryError):  # the machine's problem, not the file's: let the job retry
        raise exc
    if isinstance(exc, Image.DecompressionBombError):
        return too_many_pixels_error(None, None, 0)
    text = str(exc).lower()
    try:  # the structural walk knows better than an error message whether the data ends early
        check_structure(data, media_type)
    except ImageRejected as structural:
        return structural
    if isinstance(exc, (EOFError, struct.error)) or any(h in text for h in _TRUNCATED_HINTS):
        return _truncated(media_type)
    if any(h in text for h in _UNSUPPORTED_HINTS):
        return ImageRejected(
            "unsupported_format",
            f"This {_FORMATS[media_type][1]} file uses a variant the server cannot decode ({exc}). "
            "Re-save it as an 8-bit JPEG or PNG and upload it again.",
        )
    return _corrupt(media_type, str(exc) or type(exc).__name__)


def _truncated(media_type: str) -> ImageRejected:
    return ImageRejected(
        "truncated",
        f"The {_FORMATS[media_type][1]} file is truncated: it ends before the image data is complete "
        "(an interrupted upload or copy). Upload the complete file again.",
    )


def _corrupt(media_type: str, detail: str) -> ImageRejected:
    return ImageRejected(
        "corrupt",
        f"The {_FORMATS[media_type][1]} file is damaged ({detail}). "
        "Re-export it from the original and upload it again.",
    )


# ---- structural integrity (no pixel decoding) -------------------------------------------------------

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
        raise _truncated(media_type)  # the RIFF header gives the file's length
    elif media_type == "image/tiff":
        order: Literal["little", "big"] = "little" if data[:2] == b"II" else "big"
        first_ifd = int.from_bytes(data[4:8] if data[2:4] in (b"*\x00", b"\x00*") else data[8:16], order)
        if first_ifd + 2 > len(data):  # writers often put the directory after the pixel data
            raise _truncated(media_type)
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
            raise _truncated("image/jpeg")
        pos = found.start()
        marker = data[pos + 1]
        if marker == 0xD9:
            if not seen_scan:
                raise _corrupt("image/jpeg", "it has no image data")
            return
        if marker in (0x01, 0xD8):  # standalone markers
            pos += 2
            continue
        if pos + 4 > len(data):
            raise _truncated("image/jpeg")
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            raise _corrupt("image/jpeg", f"bad segment length at byte {pos}")
        pos += 2 + length
        if pos > len(data):
            raise _truncated("image/jpeg")
        seen_scan = seen_scan or marker == 0xDA


def _check_png(data: bytes) -> bytes | None:
    """Walk the chunks to IEND, checking the CRC of critical chunks (as libpng does)."""
    pos, end, exif = 8, len(data), None
    while True:
        if pos + 12 > end:
            raise _truncated("image/png")
        length, ctype = _PNG_CHUNK.unpack_from(data, pos)
        body_end = pos + 8 + length
        if length > 0x7FFFFFFF:
            raise _corrupt("image/png", f"bad chunk length at byte {pos}")
        if body_end + 4 > end:
            raise _truncated("image/png")
        critical = not ctype[0] & 0x20
        if critical:
            crc = zlib.crc32(memoryview(data)[pos + 4 : body_end])
            if crc != int.from_bytes(data[body_end : body_end + 4], "big"):
                raise _corrupt("image/png", f"checksum error in the {ctype.decode('latin-1')} chunk")
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
            raise _corrupt(media_type, f"bad box size at byte {pos}")
        pos += size
    if pos != len(data):
        raise _truncated(media_type)


# ---- EXIF -------------------------------------------------------------------------------------------

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
    orientation = _orientation(exif.get(0x0112))
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
    return moment.replace(microsecond=micro, tzinfo=_parse_offset(_text(offset)) or UTC)


def _parse_offset(text: str) -> timezone | None:
    match = _OFFSET.match(text)
    if not match or int(match[2]) > 14 or int(match[3]) >= 60:
        return None
    minutes = int(match[2]) * 60 + int(match[3])
    return timezone(timedelta(minutes=-minutes if match[1] == "-" else minutes))


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


def _orientation(value: object) -> int:
    if isinstance(value, tuple) and value:
        value = value[0]
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


# ---- probe ------------------------------------------------------------------------------------------


_FULLY_DECODED_BY_PROBE = ("image/tiff", "image/gif", "image/bmp")


def probe(data: bytes, *, max_pixels: int, max_bytes: int | None = None) -> ImageInfo:
    """Media type, upright size, EXIF orientation and capture time, read without decoding pixels.

    Refuses oversized images before any decoding, and checks that the file is complete by walking its
    container (JPEG markers, PNG chunks, RIFF and ISO-BMFF lengths: milliseconds); TIFF, GIF and BMP,
    whose containers say too little, are decoded in full. Damage inside a complete WebP/AVIF/HEIC
    payload only shows at decode(), which rejects it the same way.
    `width`/`height` are the *upright* size, i.e. the aspect of what decode() returns: EXIF orientation
    5–8 is already accounted for. `orientation` is the file's EXIF value, for information.
    """
    if data and max_bytes is not None and len(data) > max_bytes:
        raise ImageRejected(
            "too_large_bytes",
            f"The file is {len(data) / 1e6:.1f} MB, over the limit of {max_bytes / 1e6:.1f} MB. "
            "Re-save it at a lower quality or resolution and upload it again.",
        )
    media_type = sniff(data)
    with open_image(data, media_type) as img:
        check_pixels(img.width, img.height, max_pixels)
        tags: dict[int, Any] = getattr(img, "tag_v2", {})
        if 50706 in tags:  # DNGVersion
            raise _rejected("unsupported_format", "camera RAW (DNG)")
        png_exif = check_structure(data, media_type)
        orientation, captured_at = read_exif(img, png_exif)  # before load(): TIFF's load() consumes it
        width, height = img.size
        if media_type == "image/tiff":  # Pillow reports TIFF sizes upright already; take the stored ones
            width, height = tags.get(256, width), tags.get(257, height)
        elif media_type == "image/heic":  # pillow-heif hands out upright pixels and keeps the tag aside
            orientation = _orientation(img.info.get("original_orientation"))
            width, height = oriented_size(width, height, orientation)  # back to the stored size
        if media_type in _FULLY_DECODED_BY_PROBE:
            try:
                img.load()
            except Exception as exc:
                raise classify_error(exc, data, media_type) from exc
    width, height = oriented_size(width, height, orientation)
    return ImageInfo(media_type, width, height, orientation=orientation, captured_at=captured_at)


def oriented_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    """Upright size of a stored width×height: EXIF orientations 5–8 turn the image by 90°."""
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)
