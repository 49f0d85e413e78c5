"""Reading untrusted image bytes: sniff the type, open safely, and probe the header without decoding.

Everything here is blocking CPU work; callers run it in a thread pool. Bad input always surfaces as
`ImageRejected` with a machine-readable `code`, never as a raw Pillow exception.
"""

from __future__ import annotations

import io
import struct
import threading
from typing import Any

from PIL import Image, ImageFile

from catalog.domain.model import ImageInfo
from indexer.image_errors import (
    FORMATS,
    ImageRejected,
    RejectCode,
    corrupt,
    rejected,
    too_many_pixels_error,
    truncated,
)
from indexer.image_exif import exif_orientation, read_exif
from indexer.image_structure import check_structure

Image.init()  # register every bundled plugin once, at import (under the import lock)


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
            raise rejected("unsupported_format", "camera RAW (CR2)")
        return "image/tiff"
    if head[:4] == b"RIFF":
        if head[8:12] == b"WEBP":
            return "image/webp"
        raise rejected("unsupported_format", "RIFF audio/video")
    if head[:2] == b"BM" and len(head) >= 18 and struct.unpack_from("<I", head, 14)[0] in _BMP_HEADER_SIZES:
        return "image/bmp"
    if head[4:8] == b"ftyp":
        return _sniff_isobmff(head)
    for magic, what, code in _OTHER_FORMATS:
        if head.startswith(magic):
            raise rejected(code, what)
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
    raise rejected("unsupported_format", "MP4/QuickTime video" if brands & _VIDEO_BRANDS else "ISO media")


def _describe_unknown(head: bytes) -> ImageRejected:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<html" in text[:512] or text.startswith(b"<!doctype html"):
        return rejected("not_an_image", "an HTML page (often an error or login page saved as the image)")
    if b"<svg" in text:
        return rejected("unsupported_format", "SVG (vector graphics)")
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(text) - 4:  # a multi-byte character cut off by the 1 KiB sample is still text
            return rejected("not_an_image", "unrecognized binary data")
    return rejected("not_an_image", "JSON text" if text.startswith((b"{", b"[")) else "plain text")


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
    factory, _accept = Image.OPEN[FORMATS[media_type][0]]
    try:
        img = factory(io.BytesIO(data), "")
    except Image.DecompressionBombError as exc:  # Pillow's own backstop inside some plugins (GIF frames)
        raise too_many_pixels_error(None, None, 0) from exc
    except Exception as exc:
        raise classify_error(exc, data, media_type) from exc
    if not isinstance(img, ImageFile.ImageFile) or img.width <= 0 or img.height <= 0:
        raise corrupt(media_type, "the header gives no image size")
    return in_one_call(img, len(data))


def in_one_call(img: ImageFile.ImageFile, size: int) -> ImageFile.ImageFile:
    """Let load() hand the decoder all `size` bytes at once. Pillow feeds it 64 KiB blocks by default and
    takes the GIL back between blocks: a 2.6 MB JPEG makes 40 handoffs, each waiting while the event loop
    or another pool thread runs Python (seen here: 99 ms of wall time for 28 ms of decoding beside a busy
    Python thread, 36 ms in one call)."""
    img.decodermaxblock = max(img.decodermaxblock, size)
    return img


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise too_many_pixels_error(width, height, max_pixels)


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
        return truncated(media_type)
    if any(h in text for h in _UNSUPPORTED_HINTS):
        return ImageRejected(
            "unsupported_format",
            f"This {FORMATS[media_type][1]} file uses a variant the server cannot decode ({exc}). "
            "Re-save it as an 8-bit JPEG or PNG and upload it again.",
        )
    return corrupt(media_type, str(exc) or type(exc).__name__)


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
            raise rejected("unsupported_format", "camera RAW (DNG)")
        png_exif = check_structure(data, media_type)
        orientation, captured_at = read_exif(img, png_exif)  # before load(): TIFF's load() consumes it
        width, height = img.size
        if media_type == "image/tiff":  # Pillow reports TIFF sizes upright already; take the stored ones
            width, height = tags.get(256, width), tags.get(257, height)
        elif media_type == "image/heic":  # pillow-heif hands out upright pixels and keeps the tag aside
            orientation = exif_orientation(img.info.get("original_orientation"))
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
