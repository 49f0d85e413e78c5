"""JSON encoding of VideoFindings inside a run's findings (both catalog stacks store findings as JSON)."""

from __future__ import annotations

from typing import Any

from catalog.domain.faces.codec import decode_face, encode_face
from catalog.domain.model import Label, ModerationLabel
from catalog.domain.video.findings import VideoFindings
from catalog.domain.video.media import VideoInfo
from catalog.domain.video.segments import Segment


def _segment(s: Segment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "i": s.index,
        "f": [s.start_frame, s.end_frame],
        "t": [s.start, s.end],
        "tc": [s.start_timecode, s.end_timecode],
    }
    if s.labels:
        out["labels"] = [[lb.name, lb.confidence, list(lb.parents)] for lb in s.labels]
    if s.objects:
        out["objects"] = [[lb.name, lb.confidence, list(lb.parents)] for lb in s.objects]
    if s.moderation:
        out["moderation"] = [[m.name, m.confidence, m.parent_name] for m in s.moderation]
    if s.faces:
        out["faces"] = list(s.faces)
    if s.text:
        out["text"] = s.text
    if s.keyframes:
        out["keyframes"] = list(s.keyframes)
    return out


def _unsegment(d: dict[str, Any]) -> Segment:
    return Segment(
        index=int(d["i"]),
        start_frame=int(d["f"][0]),
        end_frame=int(d["f"][1]),
        start=float(d["t"][0]),
        end=float(d["t"][1]),
        start_timecode=str(d["tc"][0]),
        end_timecode=str(d["tc"][1]),
        labels=tuple(Label(n, c, tuple(p)) for n, c, p in d.get("labels", ())),
        faces=tuple(d.get("faces", ())),
        text=str(d.get("text", "")),
        keyframes=tuple(float(k) for k in d.get("keyframes", ())),
        objects=tuple(Label(n, c, tuple(p)) for n, c, p in d.get("objects", ())),
        moderation=tuple(ModerationLabel(n, c, p) for n, c, p in d.get("moderation", ())),
    )


def encode_video(v: VideoFindings) -> dict[str, Any]:
    out = {"info": v.info.to_json(), "segments": [_segment(s) for s in v.segments], "people": v.people}
    if v.faces:
        out["faces"] = [encode_face(f) for f in v.faces]
    return out


def decode_video(data: dict[str, Any]) -> VideoFindings:
    return VideoFindings(
        info=VideoInfo.from_json(data["info"]),
        segments=tuple(_unsegment(s) for s in data.get("segments", ())),
        people=int(data.get("people", 0)),
        faces=tuple(decode_face(f) for f in data.get("faces", ())),
    )
