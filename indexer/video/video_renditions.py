"""Video renditions: a poster (the representative keyframe), a thumbnail strip (one tile per shot, as
a sprite with a WebVTT map players understand), and a low-resolution H.264 MP4 proxy for browsers.

The proxy streams file to file through PyAV (nothing holds more than a few frames); everything here is
blocking CPU work for the CpuPool.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from catalog.domain.video.timecode import clock
from indexer.renditions import RenditionData, encode_jpeg
from indexer.video import errors
from indexer.video.probe import display_size

TILE = (160, 90)
STRIP_COLUMNS = 10
PROXY_MAX = (640, 360)
PROXY_CRF = "28"


def poster(picture: NDArray[np.uint8], kind: str = "poster") -> RenditionData:
    image = Image.fromarray(picture)
    return RenditionData(kind=kind, data=encode_jpeg(image), width=image.width, height=image.height)


def tile(picture: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """A keyframe letterboxed into one strip tile (kept per shot during analysis: 43 kB each)."""
    image = Image.fromarray(picture)
    image.thumbnail(TILE, Image.Resampling.BILINEAR)
    canvas = Image.new("RGB", TILE)
    canvas.paste(image, ((TILE[0] - image.width) // 2, (TILE[1] - image.height) // 2))
    return np.asarray(canvas)


@dataclass(frozen=True)
class ThumbnailStrip:
    sprite: RenditionData
    vtt: str  # WebVTT: each shot's time range → "strip.jpg#xywh=x,y,w,h"


def thumbnail_strip(
    tiles: Sequence[tuple[float, float, NDArray[np.uint8]]], sprite_name: str = "strip.jpg"
) -> ThumbnailStrip:
    """(start, end, tile) per shot → one sprite, STRIP_COLUMNS tiles a row (JPEG stays under 65,535 px)."""
    if not tiles:
        raise ValueError("a thumbnail strip needs at least one shot")
    columns = min(STRIP_COLUMNS, len(tiles))
    rows = math.ceil(len(tiles) / columns)
    sheet = Image.new("RGB", (columns * TILE[0], rows * TILE[1]))
    lines = ["WEBVTT", ""]
    for n, (start, end, pixels) in enumerate(tiles):
        x, y = (n % columns) * TILE[0], (n // columns) * TILE[1]
        sheet.paste(Image.fromarray(pixels), (x, y))
        lines += [f"{clock(start)} --> {clock(end)}", f"{sprite_name}#xywh={x},{y},{TILE[0]},{TILE[1]}", ""]
    sprite = RenditionData(kind="strip", data=encode_jpeg(sheet), width=sheet.width, height=sheet.height)
    return ThumbnailStrip(sprite, "\n".join(lines))


def proxy_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, PROXY_MAX[0] / width, PROXY_MAX[1] / height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _numbered(frame: av.AudioFrame, at: int) -> av.AudioFrame:
    frame.pts, frame.time_base = at, Fraction(1, frame.sample_rate)
    return frame


def make_proxy(source: Path, target: Path) -> tuple[int, int]:
    """H.264 (yuv420p, CRF 28) + AAC MP4 at most 640×360, moov first (plays while it downloads).
    Returns the proxy's size. Writes to target; the caller moves it into blob storage."""
    try:
        with (
            av.open(str(source)) as src,
            av.open(str(target), "w", format="mp4", options={"movflags": "+faststart"}) as out,
        ):
            vin = src.streams.video[0]
            vin.thread_type = "AUTO"
            size = proxy_size(*display_size(vin))  # square pixels: the proxy shows what the source shows
            rate = vin.guessed_rate or vin.average_rate or Fraction(25)
            vout = out.add_stream("libx264", rate=rate)
            vout.width, vout.height, vout.pix_fmt = size[0], size[1], "yuv420p"
            vout.codec_context.options = {"preset": "veryfast", "crf": PROXY_CRF}
            ain = src.streams.audio[0] if src.streams.audio else None
            aout: Any = None
            resampler: Any = None
            if ain is not None:
                aout = out.add_stream("aac", rate=48000)
                aout.bit_rate = 96_000
                resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48000)
            streams = [vin] if ain is None else [vin, ain]
            # Audio frames are numbered by the samples written: the resampler's flushed tail came without
            # a timestamp and the muxer refused it ("Invalid argument") on 44.1 kHz sources.
            written = 0
            for packet in src.demux(*streams):
                for frame in packet.decode():
                    if isinstance(frame, av.VideoFrame):
                        small = frame.reformat(width=size[0], height=size[1], format="yuv420p")
                        out.mux(vout.encode(small))
                    elif isinstance(frame, av.AudioFrame):
                        frame.pts = None  # numbered below, by the samples written
                        for resampled in resampler.resample(frame):
                            out.mux(aout.encode(_numbered(resampled, written)))
                            written += resampled.samples
            out.mux(vout.encode(None))
            if aout is not None:
                for resampled in resampler.resample(None):
                    out.mux(aout.encode(_numbered(resampled, written)))
                    written += resampled.samples
                out.mux(aout.encode(None))
            return size
    except av.error.FFmpegError as exc:
        target.unlink(missing_ok=True)
        raise errors.corrupt("video", f"transcoding failed: {exc.strerror or exc}") from exc
