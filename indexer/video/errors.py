"""How a video is refused: a machine-readable code and a message that says what to do."""

from __future__ import annotations

from typing import Literal

VideoRejectCode = Literal[
    "empty",
    "not_a_video",
    "no_video_stream",
    "unsupported_codec",
    "truncated",
    "corrupt",
    "too_many_pixels",
    "bad_frame_rate",
    "too_long",
    "too_many_frames",
]

ACCEPTED = "MP4, MOV, MKV, WebM, MPEG-TS or another container FFmpeg reads"


class VideoRejected(ValueError):
    """The file cannot be accepted as a video. `code` is machine-readable; str() says what to do."""

    def __init__(self, code: VideoRejectCode, message: str) -> None:
        super().__init__(message)
        self.code: VideoRejectCode = code


def empty() -> VideoRejected:
    return VideoRejected(
        "empty", "The file is empty (0 bytes). Upload it again; the transfer probably failed."
    )


def not_a_video(what: str) -> VideoRejected:
    return VideoRejected(
        "not_a_video", f"The file is not a video: its content is {what}. Upload a video file ({ACCEPTED})."
    )


def no_video_stream(container: str) -> VideoRejected:
    return VideoRejected(
        "no_video_stream",
        f"The {container} file holds no video stream (audio or data only). "
        "Upload a file with a picture track.",
    )


def unsupported_codec(codec: str) -> VideoRejected:
    return VideoRejected(
        "unsupported_codec",
        f"The video is encoded as {codec}, which this build of FFmpeg cannot decode. "
        "Transcode it to H.264, HEVC, VP9 or AV1 and upload it again.",
    )


def truncated(container: str, detail: str) -> VideoRejected:
    return VideoRejected(
        "truncated",
        f"The {container} file is truncated ({detail}): it ends before the video does (an interrupted "
        "upload or copy). Upload the complete file again.",
    )


def corrupt(container: str, detail: str) -> VideoRejected:
    return VideoRejected(
        "corrupt",
        f"The {container} file is damaged ({detail}). Re-export it from the original and upload it again.",
    )


def too_many_pixels(width: int, height: int, max_side: int, max_pixels: int) -> VideoRejected:
    return VideoRejected(
        "too_many_pixels",
        f"The video's frames are {width}×{height}, over the limit ({max_side} pixels a side, "
        f"{max_pixels / 1e6:.1f} megapixels); it was refused before decoding. "
        "Scale it down and upload it again.",
    )


def bad_frame_rate(rate: float) -> VideoRejected:
    return VideoRejected(
        "bad_frame_rate",
        f"The video declares {rate:g} frames per second, which no camera or editor produces; the file is "
        "probably damaged. Re-export it at its real frame rate.",
    )


def too_long(seconds: float, max_seconds: float) -> VideoRejected:
    return VideoRejected(
        "too_long",
        f"The video runs {seconds / 3600:.1f} hours, over the limit of {max_seconds / 3600:.1f} hours. "
        "Split it into parts and upload them separately.",
    )


def too_many_frames(frames: int, max_frames: int) -> VideoRejected:
    return VideoRejected(
        "too_many_frames",
        f"The video has about {frames:,} frames, over the limit of {max_frames:,}. "
        "Split it (or lower its frame rate) and upload it again.",
    )
