"""GraphQL types of videos: media info, segments (one per shot, with SMPTE timecodes), segment-level
diffs between runs, and the segments as WebVTT, SRT, CMX 3600 EDL or JSON text."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from api.context import Context
from api.recognition_types import Label, ModerationLabel
from catalog.domain.model import Person, RecognitionResult
from catalog.domain.video.findings import VIDEO, VideoFindings, matching_segments, person_names
from catalog.domain.video.media import VideoInfo
from catalog.domain.video.segment_diff import SegmentChange
from catalog.domain.video.segments import Segment, keyframe_of
from services import video_exports

if TYPE_CHECKING:
    from api.types import Asset

MAX_SEGMENTS = 1000  # per field: a page of segments (an asset keeps at most what its analysis found)


@strawberry.type(description="An audio stream of a video.")
class AudioStream:
    codec: str
    channels: int
    sample_rate: int
    language: str | None


@strawberry.type(description="What a video file says about itself (probed before analysis).")
class VideoMedia:
    container: str = strawberry.field(description="FFmpeg's demuxer name, e.g. mov,mp4,m4a,3gp,3g2,mj2.")
    codec: str
    width: int
    height: int
    duration: float = strawberry.field(description="Seconds.")
    frame_rate: str = strawberry.field(description="Exact, as a fraction: 30000/1001, 25.")
    frames_per_second: float
    frames: int
    drop_frame: bool = strawberry.field(description="Timecodes are drop-frame (29.97 / 59.94).")
    start_timecode: str | None = strawberry.field(description="The source's own timecode, if it has one.")
    bit_rate: int | None
    audio: list[AudioStream]
    shots: int
    people: int = strawberry.field(description="Distinct persons whose faces the keyframes show.")

    @staticmethod
    def from_domain(video: VideoFindings) -> VideoMedia:
        info: VideoInfo = video.info
        return VideoMedia(
            container=info.container,
            codec=info.codec,
            width=info.width,
            height=info.height,
            duration=info.duration,
            frame_rate=info.frame_rate,
            frames_per_second=round(float(info.rate.rate), 6),
            frames=info.frames,
            drop_frame=info.drop_frame,
            start_timecode=info.start_timecode,
            bit_rate=info.bit_rate,
            audio=[
                AudioStream(
                    codec=a.codec, channels=a.channels, sample_rate=a.sample_rate, language=a.language
                )
                for a in info.audio
            ],
            shots=len(video.segments),
            people=video.people,
        )


@strawberry.type(description="A time range of a video (one shot): [start, end) in seconds and timecode.")
class VideoSegment:
    index: int
    start: float = strawberry.field(description="Seconds from the start of the video.")
    end: float = strawberry.field(description="Seconds; exclusive, as an EDL's record-out.")
    start_frame: int
    end_frame: int
    start_timecode: str = strawberry.field(description="SMPTE HH:MM:SS:FF (';' before FF: drop-frame).")
    end_timecode: str
    labels: list[Label] = strawberry.field(
        description="Labels of the shot's keyframes, most confident first."
    )
    faces: list[str] = strawberry.field(
        description="Persons seen: their names once named (on any face of theirs, see Asset.faces), else "
        "person-1, ... within this video."
    )
    text: str = strawberry.field(description="Lines read in the shot's keyframes, one per line, each once.")
    objects: list[Label] = strawberry.field(
        description="The object detector's labels over the shot's keyframes (no boxes), most confident first."
    )
    shown_labels: list[Label] = strawberry.field(
        description="What the shot shows, for a list people read: `labels` and the `objects` the detector is "
        "sure of (50 or more; its guesses under that, such as a Dog 39 in a coffee shot, are left out here "
        "but stay among the video's labels, as a photo's do), one per name, the most specific first."
    )
    moderation: list[ModerationLabel] = strawberry.field(
        description="Moderation labels of the shot's keyframes, each at its highest confidence."
    )
    keyframes: list[float] = strawberry.field(description="Times of the frames the analysis looked at.")
    matches: list[str] = strawberry.field(
        description="On a search hit: the segment's labels that matched the search, and 'text: …' when the "
        "words searched for were read in the shot (else empty)."
    )
    _video_id: strawberry.Private[str]
    _segment: strawberry.Private[Segment]

    @strawberry.field(
        description="The shot's keyframe as an asset of its own: the FRAME child the video's analysis "
        "registered (the shot's best keyframe; its `frameTime` lies in the shot), with its page, renditions "
        "and `shot`. Null when none is registered (an analysis made before keyframes were kept)."
    )
    async def frame(self, info: Info[Context, None]) -> Annotated[Asset, strawberry.lazy("api.types")] | None:
        from api.types import Asset  # api.types builds segments: imported here, not at the top

        children = await info.context.children.load(self._video_id)
        found = keyframe_of(self._segment, children)
        return Asset.from_domain(found) if found is not None else None

    @staticmethod
    def from_domain(s: Segment, video_id: str, matches: Sequence[str] = ()) -> VideoSegment:
        return VideoSegment(
            index=s.index,
            start=s.start,
            end=s.end,
            start_frame=s.start_frame,
            end_frame=s.end_frame,
            start_timecode=s.start_timecode,
            end_timecode=s.end_timecode,
            labels=[Label.from_domain(lb) for lb in s.labels],
            faces=list(s.faces),
            text=s.text,
            objects=[Label.from_domain(lb) for lb in s.objects],
            shown_labels=[Label.from_domain(lb) for lb in s.shown_labels()],
            moderation=[
                ModerationLabel(name=m.name, confidence=m.confidence, parent_name=m.parent_name)
                for m in s.moderation
            ],
            keyframes=list(s.keyframes),
            matches=list(matches),
            _video_id=video_id,
            _segment=s,
        )


async def named_video(
    results: Mapping[str, RecognitionResult], persons: Callable[[], Awaitable[Mapping[int, Person]]]
) -> VideoFindings | None:
    """The asset's video findings (None for an image) with its persons' names in the segments;
    `persons`: the asset's named faces (face index → person), read only when a segment shows someone."""
    found = results.get(VIDEO)
    video = found.findings.video if found is not None else None
    if video is None or not any(s.faces for s in video.segments):
        return video
    named = {i: p.name for i, p in (await persons()).items()}
    return video.named(person_names(results.get("faces"), named))


def segments_of(
    video_id: str,
    video: VideoFindings | None,
    matched: Sequence[str] | None,
    phrases: Sequence[str] = (),
    persons: Sequence[str] = (),
) -> list[VideoSegment]:
    """All segments (matched None), or those with a label among `matched` (the hit's matched labels),
    whose text has the words of one of `phrases` (what the search asked for in words) or that show one of
    the `persons` (names; `video` from named_video)."""
    if video is None:
        return []
    if matched is None:
        return [VideoSegment.from_domain(s, video_id) for s in video.segments[:MAX_SEGMENTS]]
    found = matching_segments(video.segments, matched, phrases=phrases, persons=persons)
    return [VideoSegment.from_domain(s, video_id, names) for s, names in found[:MAX_SEGMENTS]]


@strawberry.type(
    description="Over [start, end) the newer run has these labels the older lacked, and lacks these."
)
class SegmentChangeType:
    start: float
    end: float
    start_timecode: str
    end_timecode: str
    gained: list[str]
    lost: list[str]

    @staticmethod
    def from_domain(c: SegmentChange) -> SegmentChangeType:
        return SegmentChangeType(
            start=c.start,
            end=c.end,
            start_timecode=c.start_timecode,
            end_timecode=c.end_timecode,
            gained=list(c.gained),
            lost=list(c.lost),
        )


@strawberry.enum(description="Text formats of a video's segments.")
class SegmentFormat(enum.Enum):
    WEBVTT = "webvtt"  # chapters: one cue per shot with its labels
    WEBVTT_METADATA = "webvtt_metadata"  # a JSON object per cue, for <track kind="metadata">
    SRT = "srt"
    EDL = "edl"  # CMX 3600, drop-frame at 29.97 / 59.94
    JSON = "json"


def export_segments(video: VideoFindings, fmt: SegmentFormat, title: str) -> str:
    segments = video.segments
    if fmt is SegmentFormat.WEBVTT:
        return video_exports.webvtt(segments)
    if fmt is SegmentFormat.WEBVTT_METADATA:
        return video_exports.webvtt(segments, metadata=True)
    if fmt is SegmentFormat.SRT:
        return video_exports.srt(segments)
    if fmt is SegmentFormat.EDL:
        return video_exports.edl(segments, video.info, title=title)
    return video_exports.to_json(segments, video.info)
