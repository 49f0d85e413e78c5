"""What a video file says about itself (probed before any heavy work). Frozen values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from catalog.domain.video.timecode import FrameRate


@dataclass(frozen=True)
class AudioStream:
    codec: str
    channels: int
    sample_rate: int
    language: str | None = None


@dataclass(frozen=True)
class VideoInfo:
    media_type: str  # video/mp4, video/quicktime, video/x-matroska, video/webm, video/mp2t, ...
    container: str  # FFmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    codec: str  # e.g. "h264"
    width: int  # display size (sample aspect ratio applied; rotation not)
    height: int
    duration: float  # seconds
    frame_rate: str  # exact, as a fraction: "30000/1001", "25"
    frames: int  # declared by the container, else duration × rate
    drop_frame: bool  # timecodes are written drop-frame (29.97 / 59.94 unless the source says otherwise)
    start_timecode: str | None = None  # the source's own timecode track, when it has one
    profile: str | None = None
    pixel_format: str | None = None
    bit_rate: int | None = None
    audio: tuple[AudioStream, ...] = ()
    recorded_at: datetime | None = None  # when the camera recorded it (the container's creation time)

    @property
    def rate(self) -> FrameRate:
        return FrameRate(Fraction(self.frame_rate))

    def to_json(self) -> dict[str, Any]:
        return {
            "mediaType": self.media_type,
            "container": self.container,
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "duration": self.duration,
            "frameRate": self.frame_rate,
            "frames": self.frames,
            "dropFrame": self.drop_frame,
            "startTimecode": self.start_timecode,
            "profile": self.profile,
            "pixelFormat": self.pixel_format,
            "bitRate": self.bit_rate,
            "audio": [
                {
                    "codec": a.codec,
                    "channels": a.channels,
                    "sampleRate": a.sample_rate,
                    "language": a.language,
                }
                for a in self.audio
            ],
            **({"recordedAt": self.recorded_at.isoformat()} if self.recorded_at else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VideoInfo:
        return cls(
            media_type=str(data["mediaType"]),
            container=str(data["container"]),
            codec=str(data["codec"]),
            width=int(data["width"]),
            height=int(data["height"]),
            duration=float(data["duration"]),
            frame_rate=str(data["frameRate"]),
            frames=int(data["frames"]),
            drop_frame=bool(data["dropFrame"]),
            start_timecode=data.get("startTimecode"),
            profile=data.get("profile"),
            pixel_format=data.get("pixelFormat"),
            bit_rate=data.get("bitRate"),
            audio=tuple(
                AudioStream(str(a["codec"]), int(a["channels"]), int(a["sampleRate"]), a.get("language"))
                for a in data.get("audio", ())
            ),
            recorded_at=datetime.fromisoformat(data["recordedAt"]) if data.get("recordedAt") else None,
        )
