"""Poster, thumbnail strip and H.264 proxy, read back with PyAV and Pillow."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from bench.clips import Shot, make_clip, photo
from indexer.video.probe import probe_video
from indexer.video.video_renditions import TILE, make_proxy, poster, proxy_size, thumbnail_strip, tile


def test_proxy_is_small_h264_with_audio_and_every_frame(tmp_path: Path) -> None:
    clip = make_clip(
        tmp_path / "hd.mov",
        [Shot("astronaut", 30), Shot("coffee", 30, pan=True)],
        rate=Fraction(30000, 1001),
        size=(1280, 720),
        container="mov",
        audio=True,
    )
    size = make_proxy(clip.path, tmp_path / "proxy.mp4")
    assert size == (640, 360)
    info = probe_video(tmp_path / "proxy.mp4")
    assert (info.codec, info.width, info.height, info.media_type) == ("h264", 640, 360, "video/mp4")
    assert info.frames == 60 and Fraction(info.frame_rate) == Fraction(30000, 1001)
    assert [(a.codec, a.sample_rate) for a in info.audio] == [("aac", 48000)]
    data = (tmp_path / "proxy.mp4").read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: browsers play before the end arrives
    assert len(data) < clip.path.stat().st_size


def test_proxy_of_a_squeezed_stream_has_square_pixels(tmp_path: Path) -> None:
    """HDV stores 1920×1080 as 1440×1080 pixels 4:3 wide: its proxy shows 640×360, in square pixels."""
    clip = make_clip(
        tmp_path / "hdv.mp4", [Shot("astronaut", 20, scale=1.0)], size=(480, 360), pixel_aspect=Fraction(4, 3)
    )
    assert make_proxy(clip.path, tmp_path / "proxy.mp4") == (640, 360)
    with av.open(str(tmp_path / "proxy.mp4")) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (640, 360)
        assert stream.sample_aspect_ratio in (None, Fraction(0), Fraction(1))


def test_proxy_of_a_broken_file_is_a_typed_error_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "bad.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(2000))
    from indexer.video.errors import VideoRejected

    with pytest.raises(VideoRejected):
        make_proxy(tmp_path / "bad.mp4", tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_proxy_sizes_keep_aspect_and_never_upscale() -> None:
    assert proxy_size(1920, 1080) == (640, 360)
    assert proxy_size(1080, 1920) == (202, 360)
    assert proxy_size(320, 180) == (320, 180)


def test_strip_has_one_tile_per_shot_and_a_webvtt_map(tmp_path: Path) -> None:
    pictures = [np.asarray(photo(n).resize((320, 180))) for n in ("astronaut", "chelsea", "rocket")]
    tiles = [(i * 2.0, i * 2.0 + 2.0, tile(pictures[i % 3])) for i in range(23)]
    strip = thumbnail_strip(tiles)
    sheet = Image.open(io.BytesIO(strip.sprite.data))
    assert sheet.size == (10 * TILE[0], 3 * TILE[1]) == (strip.sprite.width, strip.sprite.height)
    path = tmp_path / "strip.vtt"
    path.write_text(strip.vtt)
    with av.open(str(path)) as container:
        cues = [bytes(p).decode() for p in container.demux(container.streams.subtitles[0]) if p.size]
    assert len(cues) == 23
    assert cues[12] == f"strip.jpg#xywh={2 * TILE[0]},{TILE[1]},{TILE[0]},{TILE[1]}"
    # the 13th tile (row 1, column 2) is the chelsea keyframe
    crop = np.asarray(sheet.crop((2 * TILE[0], TILE[1], 3 * TILE[0], 2 * TILE[1])), dtype=np.float32)
    assert np.abs(crop - tiles[12][2]).mean() < 6


def test_poster_is_a_jpeg_of_the_keyframe() -> None:
    pixels = np.asarray(photo("chelsea"))
    rendition = poster(pixels)
    image = Image.open(io.BytesIO(rendition.data))
    assert (image.format, image.size) == ("JPEG", (pixels.shape[1], pixels.shape[0]))
