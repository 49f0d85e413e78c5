"""Exports read back by tools no one here wrote: FFmpeg (through PyAV) parses the WebVTT and SRT,
OpenTimelineIO's CMX 3600 adapter parses the EDL, at 23.976, 25 and 29.97 drop-frame."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import av
import opentimelineio as otio
import pytest

from catalog.domain.model import Label
from catalog.domain.video.media import VideoInfo
from catalog.domain.video.segments import Segment, timecodes
from catalog.domain.video.timecode import FrameRate
from services.video_exports import edl, srt, to_json, webvtt

RATES = {
    "23.976": (Fraction(24000, 1001), False),
    "25": (Fraction(25), False),
    "29.97DF": (Fraction(30000, 1001), True),
}
# shot starts chosen to cross minute and ten-minute marks, where drop-frame skips numbers
CUTS = [0, 1799, 1800, 1830, 17981, 17982, 18000, 40000, 107892]
END = 108000


def make(rate_name: str) -> tuple[list[Segment], VideoInfo]:
    rate, drop = RATES[rate_name]
    fr = FrameRate(rate)
    segments = []
    bounds = [*CUTS, END]
    for i, (a, b) in enumerate(pairwise(bounds)):
        tc_in, tc_out = timecodes(a, b, fr, drop)
        labels = (
            (Label("Cat", 91.5, ("Animal",)), Label("Animal", 95.0)) if i % 2 else (Label("Rocket", 80.0),)
        )
        segments.append(
            Segment(i, a, b, fr.seconds(a), fr.seconds(b), tc_in, tc_out, labels, text="EXIT -->")
        )
    info = VideoInfo(
        media_type="video/mp4",
        container="mov,mp4,m4a,3gp,3g2,mj2",
        codec="h264",
        width=1920,
        height=1080,
        duration=fr.seconds(END),
        frame_rate=str(rate),
        frames=END,
        drop_frame=drop,
    )
    return segments, info


@pytest.mark.parametrize("rate_name", list(RATES))
def test_edl_reads_back_in_opentimelineio_frame_exact(rate_name: str) -> None:
    segments, info = make(rate_name)
    text = edl(segments, info, title="archive clip.mp4")
    assert ("FCM: DROP FRAME" in text) is RATES[rate_name][1]
    timeline = otio.adapters.read_from_string(text, "cmx_3600", rate=float(info.rate.rate))
    clips = list(timeline.find_clips())
    assert [c.source_range.start_time.to_frames() for c in clips] == CUTS
    assert [c.source_range.duration.to_frames() for c in clips] == [
        s.end_frame - s.start_frame for s in segments
    ]
    assert clips[0].name == "archive clip.mp4"


def test_drop_frame_edl_uses_skipped_numbers_correctly() -> None:
    segments, info = make("29.97DF")
    text = edl(segments, info, title="x")
    assert "00:01:00;02" in text  # frame 1800
    assert "00:10:00;00" in text  # frame 17982
    assert "01:00:00;00" in text  # frame 107892: an hour of 29.97 video
    assert "00:01:00;00" not in text


@pytest.mark.parametrize("rate_name", list(RATES))
def test_webvtt_and_srt_parse_in_ffmpeg_with_the_clock_times(tmp_path: Path, rate_name: str) -> None:
    segments, _ = make(rate_name)
    for fmt, text in (("vtt", webvtt(segments)), ("srt", srt(segments))):
        path = tmp_path / f"shots.{fmt}"
        path.write_text(text)
        with av.open(str(path)) as container:
            stream = container.streams.subtitles[0]
            cues = []
            for packet in container.demux(stream):
                if packet.size and packet.pts is not None and packet.duration is not None:
                    start = float(packet.pts * stream.time_base)
                    cues.append((start, start + float(packet.duration * stream.time_base), bytes(packet)))
        assert len(cues) == len(segments)
        for (start, end, payload), s in zip(cues, segments, strict=True):
            assert start == pytest.approx(s.start, abs=0.0011)
            assert end == pytest.approx(s.end, abs=0.0011)
            assert payload.decode().startswith(f"Shot {s.index + 1}: ")
        assert b"-->" not in b"".join(p for _, _, p in cues)  # cue text cannot end a cue early


def test_webvtt_metadata_cues_carry_json(tmp_path: Path) -> None:
    segments, _ = make("25")
    path = tmp_path / "meta.vtt"
    path.write_text(webvtt(segments, metadata=True))
    with av.open(str(path)) as container:
        payloads = [bytes(p) for p in container.demux(container.streams.subtitles[0]) if p.size]
    decoded = [json.loads(p) for p in payloads]
    assert [d["startTimecode"] for d in decoded] == [s.start_timecode for s in segments]
    assert decoded[1]["labels"][0] == {"name": "Cat", "confidence": 91.5}


def test_json_export_round_trips_the_media_info() -> None:
    segments, info = make("29.97DF")
    data = json.loads(to_json(segments, info))
    assert VideoInfo.from_json(data["video"]) == info
    assert data["segments"][2]["startTimecode"] == "00:01:00;02"


def test_edl_refuses_more_events_than_cmx_numbers() -> None:
    segments, info = make("25")
    with pytest.raises(ValueError, match="999"):
        edl(segments * 200, info, title="x")


def test_a_shots_guess_reads_as_one_in_captions_and_the_edl() -> None:
    segments, info = make("25")
    guessed = [dataclasses.replace(segments[0], labels=(Label("Missile", 41.0),))]
    assert "Shot 1: Missile?" in webvtt(guessed) and "Shot 1: Missile?" in srt(guessed)
    assert "* LABELS: Missile?" in edl(guessed, info, title="launch")
    assert "Shot 1: Rocket\n" in webvtt(segments[:1])  # a sure one has no mark
