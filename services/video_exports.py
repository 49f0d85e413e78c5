"""A video's segments as WebVTT, SRT, CMX 3600 EDL or JSON. Pure text building, no I/O.

Times in WebVTT and SRT are clock times (from the true frame rate, so 29.97 stays in sync); the EDL
speaks SMPTE timecode at the nominal rate, drop-frame (';', FCM: DROP FRAME) at 29.97 / 59.94 when
the video's timecode is, non-drop otherwise (23.976 always). EDL record times equal source times: a
list of the video's own shots, ready to conform or to mark in an NLE.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from catalog.domain.labels.detections import said
from catalog.domain.labels.order import specific_first
from catalog.domain.video.media import VideoInfo
from catalog.domain.video.segments import Segment
from catalog.domain.video.timecode import clock

_REEL = re.compile(r"[^A-Za-z0-9_]")
_EDL_TITLE = re.compile(r"[\r\n]")


def _names(segment: Segment, max_labels: int) -> str:
    """The shot's labels, the specific first; a model's guess (under 50) with a question mark, as the pages
    and the command line say it ("Missile?")."""
    labels = specific_first(segment.labels)[:max_labels]
    return ", ".join(said(lb) for lb in labels)


def _caption(segment: Segment, max_labels: int) -> str:
    parts = [_names(segment, max_labels) or "(no labels)"]
    if segment.faces:
        parts.append("People: " + ", ".join(segment.faces))
    if segment.text:
        parts.append("Text: " + " ".join(segment.text.split()))
    return "\n".join(parts)


def _cue_text(text: str) -> str:
    # a blank line ends a cue and "-->" starts one: neither may appear inside cue text
    return "\n".join(line for line in text.replace("-->", "->").splitlines() if line.strip())


def webvtt(segments: Sequence[Segment], *, metadata: bool = False, max_labels: int = 5) -> str:
    """WebVTT: one cue per segment. Chapters-style cue text (labels, people, text), or with
    metadata=True a JSON object per cue (for `<track kind="metadata">`)."""
    lines = ["WEBVTT", ""]
    for s in segments:
        lines.append(f"shot-{s.index + 1}")
        lines.append(f"{clock(s.start)} --> {clock(s.end)}")
        if metadata:
            lines.append(json.dumps(_segment_json(s), separators=(",", ":")))
        else:
            lines.append(_cue_text(f"Shot {s.index + 1}: {_caption(s, max_labels)}"))
        lines.append("")
    return "\n".join(lines)


def srt(segments: Sequence[Segment], *, max_labels: int = 5) -> str:
    blocks = []
    for n, s in enumerate(segments, start=1):
        text = _cue_text(f"Shot {s.index + 1}: {_caption(s, max_labels)}")
        blocks.append(f"{n}\n{clock(s.start, ',')} --> {clock(s.end, ',')}\n{text}\n")
    return "\n".join(blocks)


def edl(
    segments: Sequence[Segment], info: VideoInfo, *, title: str, reel: str = "AX", max_labels: int = 5
) -> str:
    """CMX 3600: one cut event per segment on the video track, a comment with the clip name and labels."""
    if len(segments) > 999:
        raise ValueError("CMX 3600 numbers events 001-999: export fewer than 1000 segments")
    reel = (_REEL.sub("", reel) or "AX")[:8]
    clip_name = _EDL_TITLE.sub(" ", title)
    lines = [
        f"TITLE: {clip_name[:70]}",
        "FCM: " + ("DROP FRAME" if info.drop_frame else "NON-DROP FRAME"),
        "",
    ]
    for n, s in enumerate(segments, start=1):
        src_in, src_out = s.start_timecode, s.end_timecode
        lines.append(f"{n:03d}  {reel:<8} V     C        {src_in} {src_out} {src_in} {src_out}")
        lines.append(f"* FROM CLIP NAME: {clip_name}")
        labels = _names(s, max_labels)
        if labels:
            lines.append(f"* LABELS: {labels}")
        lines.append("")
    return "\n".join(lines)


def _segment_json(s: Segment) -> dict[str, Any]:
    return {
        "index": s.index,
        "start": s.start,
        "end": s.end,
        "startFrame": s.start_frame,
        "endFrame": s.end_frame,
        "startTimecode": s.start_timecode,
        "endTimecode": s.end_timecode,
        "labels": [{"name": lb.name, "confidence": round(lb.confidence, 2)} for lb in s.labels],
        "faces": list(s.faces),
        "text": s.text,
        "keyframes": list(s.keyframes),
    }


def to_json(segments: Sequence[Segment], info: VideoInfo) -> str:
    return json.dumps({"video": info.to_json(), "segments": [_segment_json(s) for s in segments]}, indent=2)
