"""How an image is refused: a machine-readable code and a message that says what to do."""

from __future__ import annotations

from typing import Literal

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
FORMATS = {
    "image/jpeg": ("JPEG", "JPEG"),
    "image/png": ("PNG", "PNG"),
    "image/tiff": ("TIFF", "TIFF"),
    "image/webp": ("WEBP", "WebP"),
    "image/gif": ("GIF", "GIF"),
    "image/bmp": ("BMP", "BMP"),
    "image/avif": ("AVIF", "AVIF"),
    "image/heic": ("HEIF", "HEIC"),  # only when pillow-heif is installed
}


class ImageRejected(ValueError):
    """The bytes cannot be accepted as an image. `code` is machine-readable; str() says what to do."""

    def __init__(self, code: RejectCode, message: str) -> None:
        super().__init__(message)
        self.code: RejectCode = code


def rejected(code: RejectCode, what: str) -> ImageRejected:
    if code == "unsupported_format":
        message = f"{what} files are not supported. Convert the image to JPEG or PNG and upload it again."
    else:
        message = f"The file is not an image: its content is {what}, whatever its name says. "
        message += f"Upload an image ({ACCEPTED}) or a video (MP4, MOV, MKV, WebM or MPEG-TS)."
    return ImageRejected(code, message)


def too_many_pixels_error(width: int | None, height: int | None, max_pixels: int) -> ImageRejected:
    size = f"{width}×{height} ({width * height / 1e6:.1f} megapixels)" if width and height else "too large"
    limit = f" over the limit of {max_pixels / 1e6:.1f} megapixels" if max_pixels else ""
    return ImageRejected(
        "too_many_pixels",
        f"The image is {size},{limit}; it was refused before decoding. Downscale it (or split a "
        "panorama) and upload it again.",
    )


def truncated(media_type: str) -> ImageRejected:
    return ImageRejected(
        "truncated",
        f"The {FORMATS[media_type][1]} file is truncated: it ends before the image data is complete "
        "(an interrupted upload or copy). Upload the complete file again.",
    )


def corrupt(media_type: str, detail: str) -> ImageRejected:
    return ImageRejected(
        "corrupt",
        f"The {FORMATS[media_type][1]} file is damaged ({detail}). "
        "Re-export it from the original and upload it again.",
    )
