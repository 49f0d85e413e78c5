"""SMPTE timecodes (drop-frame aware) and the clock times of subtitle formats. Pure functions, no I/O.

Frame numbers are 0-based counts of frames from the start of the video. A timecode counts frames at the
*nominal* rate (24, 25, 30, 60 per second); at NTSC rates (30000/1001, 60000/1001) it drifts from the
clock by 0.1 %. Drop-frame timecode ("HH:MM:SS;FF") corrects that by skipping frame *numbers* 0 and 1
(0-3 at 59.94) at the start of every minute except each tenth minute; no frame is dropped.
Non-drop timecode ("HH:MM:SS:FF") at 23.976 or 29.97 runs slow against the clock, as it does on every
NLE; the clock times for WebVTT/SRT come from the true rate either way.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

MAX_HOURS = 24  # SMPTE timecode wraps after 23:59:59:FF

_TIMECODE = re.compile(r"^(\d{2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})$")


class TimecodeError(ValueError):
    """A timecode or frame rate that cannot be represented or read."""


@dataclass(frozen=True)
class FrameRate:
    """A video frame rate as an exact fraction (30000/1001 for 29.97), with its timecode conventions."""

    rate: Fraction

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.rate > 1000:
            raise TimecodeError(f"frame rate {float(self.rate):g} is outside 0-1000 frames per second")

    @classmethod
    def of(cls, value: Fraction | int | str | float) -> FrameRate:
        """From a fraction, an int, '30000/1001', or a float that names a rate (29.97 → 30000/1001)."""
        if isinstance(value, float):
            for nominal in (24, 30, 48, 60, 120):
                ntsc = Fraction(nominal * 1000, 1001)
                if abs(value - float(ntsc)) < 0.0015:
                    return cls(ntsc)
            return cls(Fraction(value).limit_denominator(1001))
        return cls(Fraction(value))

    @property
    def nominal(self) -> int:
        """The whole frames per second a timecode counts (30 for 29.97)."""
        return max(1, round(self.rate))

    @property
    def is_ntsc(self) -> bool:
        return self.rate.denominator == 1001 and self.rate.numerator % 1000 == 0

    @property
    def supports_drop_frame(self) -> bool:
        """Drop-frame exists for 29.97 and 59.94 only (not 23.976, which has no whole number to drop)."""
        return self.is_ntsc and self.nominal % 30 == 0

    @property
    def _drop(self) -> int:
        return self.nominal // 15  # 2 frame numbers at 29.97, 4 at 59.94

    def frame_at(self, seconds: float) -> int:
        """Index of the frame showing at `seconds` from the start (frames start at i / rate)."""
        if seconds < 0:
            raise TimecodeError("a time before the start of the video")
        # a hair of tolerance so 1.001 s at 29.97 is frame 30, not 29 (float time bases round)
        return int(Fraction(seconds).limit_denominator(1_000_000) * self.rate + Fraction(1, 10_000))

    def seconds(self, frame: int) -> float:
        """Clock time of a frame's start."""
        return float(Fraction(frame) / self.rate)


def to_timecode(frame: int, rate: FrameRate, drop_frame: bool | None = None) -> str:
    """SMPTE timecode of a 0-based frame number. Drop-frame by default where the rate has it."""
    if frame < 0:
        raise TimecodeError("negative frame number")
    drop = rate.supports_drop_frame if drop_frame is None else drop_frame
    if drop and not rate.supports_drop_frame:
        raise TimecodeError(f"drop-frame timecode does not exist at {float(rate.rate):.3f} fps")
    fps = rate.nominal
    number = frame
    if drop:
        d = rate._drop
        per_minute = fps * 60 - d
        per_ten = per_minute * 10 + d
        tens, rest = divmod(frame, per_ten)
        number += d * 9 * tens + (d * ((rest - d) // per_minute) if rest >= d else 0)
    if number >= MAX_HOURS * 3600 * fps:
        raise TimecodeError(f"frame {frame} is past 24 hours of timecode")
    ff = number % fps
    total_seconds = number // fps
    hh, rem = divmod(total_seconds, 3600)
    mm, ss = divmod(rem, 60)
    sep = ";" if drop else ":"
    width = 3 if fps > 100 else 2
    return f"{hh:02d}:{mm:02d}:{ss:02d}{sep}{ff:0{width}d}"


def from_timecode(timecode: str, rate: FrameRate) -> int:
    """0-based frame number of a SMPTE timecode; ';' (or '.' / ',') as last separator means drop-frame."""
    m = _TIMECODE.match(timecode.strip())
    if not m:
        raise TimecodeError(f"{timecode!r} is not a timecode (HH:MM:SS:FF, or HH:MM:SS;FF for drop-frame)")
    hh, mm, ss, ff = (int(m.group(i)) for i in (1, 2, 3, 5))
    drop = m.group(4) in ";.,"
    fps = rate.nominal
    if mm > 59 or ss > 59 or ff >= fps:
        raise TimecodeError(f"{timecode!r} is out of range at {fps} frames per second")
    if drop and not rate.supports_drop_frame:
        raise TimecodeError(f"drop-frame timecode does not exist at {float(rate.rate):.3f} fps")
    minutes = hh * 60 + mm
    frame = (minutes * 60 + ss) * fps + ff
    if drop:
        d = rate._drop
        if ss == 0 and ff < d and mm % 10 != 0:
            raise TimecodeError(f"{timecode!r} names a frame number that drop-frame timecode skips")
        frame -= d * (minutes - minutes // 10)
    return frame


def clock(seconds: float, decimal: str = ".") -> str:
    """HH:MM:SS.mmm as WebVTT writes it (SRT: decimal=','), up to the next millisecond: a cue never starts
    before its first frame (frame 75 at 29.97 starts at 2.5025 s; 2.502 would put the cue over the last
    frame of the shot before)."""
    if seconds < 0:
        raise TimecodeError("negative time")
    ms = math.ceil(round(seconds * 1000, 6))  # round first: 0.1 + 0.2 is 300.00000000000006 ms
    hh, rem = divmod(ms, 3_600_000)
    mm, rem = divmod(rem, 60_000)
    ss, ms = divmod(rem, 1000)
    return f"{hh:02d}:{mm:02d}:{ss:02d}{decimal}{ms:03d}"
