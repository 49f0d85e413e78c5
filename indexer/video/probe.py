"""Probing untrusted video files with PyAV before any heavy work.

`probe_video` reads the container's headers and decodes at most two frames (the first, and one near the
end to prove the file is whole). Everything a hostile file can lie about (picture size, frame rate,
duration, frame count) is checked against limits before a caller decodes the video. Bad input always
surfaces as `VideoRejected` with a machine-readable code, never as a raw FFmpeg error.

Blocking: callers run it in the CpuPool.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error

from catalog.domain.video.media import AudioStream, VideoInfo
from catalog.domain.video.timecode import FrameRate, TimecodeError
from indexer.video import errors
from indexer.video.errors import VideoRejected
from indexer.video.sniff import container_family, media_type_of

_END_CHECK_SECONDS = 2.0  # how far before the declared end a frame must still decode
# FFmpeg demuxers that read single pictures: the image pipeline takes those files, not this one.
_IMAGE_DEMUXERS = ("image2", "_pipe", "apng", "gif", "webp", "ico", "tiff")


@dataclass(frozen=True)
class VideoLimits:
    max_side: int = 8192  # 8K DCI is 8192 wide
    max_pixels: int = 8192 * 4320
    max_seconds: float = 12 * 3600.0
    max_frames: int = 3_000_000  # 12 h at 60 fps is 2.6 M
    max_frame_rate: float = 1000.0


def _open(path: Path, family: str) -> Any:
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.error.InvalidDataError as exc:
        if family in ("MP4", "QuickTime"):
            # the index (moov) is written last by most muxers: a cut-off file has none
            raise errors.truncated(family, "its index (moov atom) is missing") from exc
        if family == "unknown":
            raise errors.not_a_video("not a container FFmpeg recognises") from exc
        raise errors.corrupt(family, str(exc.strerror or exc)) from exc
    except av.error.FFmpegError as exc:
        raise errors.corrupt(family, str(exc.strerror or exc)) from exc


def _video_stream(container: Any, family: str) -> Any:
    attached_pic = int(av.stream.Disposition.attached_pic)
    for stream in container.streams.video:
        if not int(stream.disposition) & attached_pic:  # cover art is a picture, not the video
            return stream
    raise errors.no_video_stream(family)


def _frame_rate(stream: Any, limits: VideoLimits) -> FrameRate:
    for candidate in (stream.guessed_rate, stream.average_rate, stream.base_rate):
        if candidate is not None and candidate > 0:
            value = float(candidate)
            if value > limits.max_frame_rate:
                raise errors.bad_frame_rate(value)
            try:
                # snap 29.97002997 to 30000/1001; keep other fractions as FFmpeg gives them
                return FrameRate.of(value) if abs(value - round(value)) > 1e-6 else FrameRate.of(round(value))
            except TimecodeError as exc:
                raise errors.bad_frame_rate(value) from exc
    raise errors.bad_frame_rate(0.0)


def _duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return float(container.duration) / av.time_base
    return None


def display_size(stream: Any) -> tuple[int, int]:
    """A video stream's picture as it is shown: its sample aspect ratio applied to the width (a 1440×1080
    HDV or a 720×480 DV widescreen stream stores its pixels squeezed)."""
    cc = stream.codec_context
    width, height = int(cc.width or 0), int(cc.height or 0)
    sar = stream.sample_aspect_ratio
    if sar and sar > 0 and sar != 1:
        width = max(1, round(width * float(sar)))
    return width, height


def _first_frame(container: Any, stream: Any, family: str) -> None:
    try:
        for _ in container.decode(stream):
            return
    except av.error.FFmpegError as exc:
        raise errors.corrupt(family, f"its first frame does not decode: {exc.strerror or exc}") from exc
    raise errors.corrupt(family, "no frame of it decodes")


def _check_end(container: Any, stream: Any, family: str, duration: float) -> None:
    """Packets must reach the declared end, or the file was cut short (MKV, AVI; MP4 with moov first).

    Demuxes (no decoding) from the key frame before the last two seconds.
    """
    if duration <= _END_CHECK_SECONDS * 2:
        return
    start = (stream.start_time or 0) * stream.time_base
    target = duration - _END_CHECK_SECONDS
    try:
        container.seek(int((target + start) / stream.time_base), stream=stream, backward=True)
        for packet in container.demux(stream):
            if packet.pts is not None and float(packet.pts * stream.time_base - start) >= target - 0.5:
                return
    except av.error.FFmpegError as exc:
        raise errors.truncated(family, f"reading near its end fails: {exc.strerror or exc}") from exc
    raise errors.truncated(family, f"it declares {duration:.1f} s but its data stops before that")


def _timecode(container: Any, stream: Any) -> str | None:
    for source in (stream.metadata, container.metadata, *(s.metadata for s in container.streams.data)):
        value = source.get("timecode")
        if value:
            return str(value)
    return None


# Apple's own tag holds the local time with its offset; creation_time is UTC (QuickTime, MP4, Matroska).
_RECORDED_TAGS = ("com.apple.quicktime.creationdate", "creation_time")
_PLACEHOLDER_BEFORE = 1971  # unset creation times read 1904-01-01 (QuickTime's epoch) or 1970-01-01


def _recorded_at(container: Any, stream: Any) -> datetime | None:
    """When the camera recorded the video, from the container's tags (its stream's): None when absent, a
    placeholder or unreadable."""
    for name in _RECORDED_TAGS:
        for source in (container.metadata, stream.metadata):
            value = str(source.get(name) or "").strip()
            try:
                found = datetime.fromisoformat(value) if value else None
            except ValueError:
                continue
            if found is not None and found.year >= _PLACEHOLDER_BEFORE:
                return found if found.tzinfo is not None else found.replace(tzinfo=UTC)
    return None


def _audio(container: Any) -> tuple[AudioStream, ...]:
    streams = []
    for a in container.streams.audio:
        cc = a.codec_context
        streams.append(
            AudioStream(
                codec=str(cc.name),
                channels=int(getattr(cc, "channels", 0) or 0),
                sample_rate=int(cc.sample_rate or 0),
                language=a.metadata.get("language"),
            )
        )
    return tuple(streams)


def probe_video(path: Path, limits: VideoLimits | None = None) -> VideoInfo:
    """Media info of the video at `path`, or VideoRejected (see the module docstring)."""
    limits = limits or VideoLimits()
    size = path.stat().st_size
    if size == 0:
        raise errors.empty()
    with open(path, "rb") as f:
        head = f.read(4096)
    family = container_family(head)
    if family == "image":
        raise errors.not_a_video("a still image (HEIC or AVIF)")
    with _open(path, family) as container:
        demuxer = str(container.format.name)
        if any(part in demuxer for part in _IMAGE_DEMUXERS):
            raise errors.not_a_video(f"a still image ({demuxer})")
        stream = _video_stream(container, family)
        if stream.codec_context is None or stream.codec_context.name not in av.codecs_available:
            raise errors.unsupported_codec(
                str(stream.codec_context.name if stream.codec_context else "unknown")
            )
        width, height = display_size(stream)
        if width <= 0 or height <= 0:
            raise errors.corrupt(family, "its picture size is missing")
        if max(width, height) > limits.max_side or width * height > limits.max_pixels:
            raise errors.too_many_pixels(width, height, limits.max_side, limits.max_pixels)
        rate = _frame_rate(stream, limits)
        duration = _duration(container, stream)
        if duration is None or not math.isfinite(duration):
            raise errors.corrupt(family, "its length is not recorded")
        if duration > limits.max_seconds:
            raise errors.too_long(duration, limits.max_seconds)
        estimated = math.ceil(duration * float(rate.rate))
        frames = int(stream.frames) if stream.frames and stream.frames > 0 else estimated
        if max(frames, estimated) > limits.max_frames:
            raise errors.too_many_frames(max(frames, estimated), limits.max_frames)
        _first_frame(container, stream, family)
        _check_end(container, stream, family, duration)
        timecode = _timecode(container, stream)
        # drop-frame where the rate has it, unless the source's own timecode is written non-drop
        drop = rate.supports_drop_frame and (timecode is None or ";" in timecode or "." in timecode)
        cc = stream.codec_context
        return VideoInfo(
            media_type=media_type_of(family, head, demuxer),
            container=demuxer,
            codec=str(cc.name),
            width=width,
            height=height,
            duration=round(duration, 6),
            frame_rate=str(Fraction(rate.rate)),
            frames=frames,
            drop_frame=drop,
            start_timecode=timecode,
            profile=cc.profile or None,
            pixel_format=cc.format.name if cc.format is not None else None,
            bit_rate=int(container.bit_rate) if container.bit_rate else None,
            audio=_audio(container),
            recorded_at=_recorded_at(container, stream),
        )


__all__ = ["VideoLimits", "VideoRejected", "probe_video"]
