from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.domain.video.timecode import FrameRate, TimecodeError, clock, from_timecode, to_timecode

NTSC = FrameRate(Fraction(30000, 1001))
NTSC60 = FrameRate(Fraction(60000, 1001))
FILM = FrameRate(Fraction(24000, 1001))
PAL = FrameRate(Fraction(25))


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (0, "00:00:00;00"),
        (29, "00:00:00;29"),
        (1799, "00:00:59;29"),
        (1800, "00:01:00;02"),  # ;00 and ;01 are skipped at minute 1
        (3597, "00:01:59;29"),
        (3598, "00:02:00;02"),
        (17981, "00:09:59;29"),
        (17982, "00:10:00;00"),  # every tenth minute keeps ;00
        (17983, "00:10:00;01"),
        (19781, "00:10:59;29"),
        (19782, "00:11:00;02"),
        (107892, "01:00:00;00"),  # an hour of 29.97 video is exactly 01:00:00;00 in drop-frame
        (2589407, "23:59:59;29"),
    ],
)
def test_drop_frame_at_29_97(frame: int, expected: str) -> None:
    assert to_timecode(frame, NTSC) == expected
    assert from_timecode(expected, NTSC) == frame


def test_drop_frame_at_59_94_skips_four_numbers() -> None:
    assert to_timecode(3599, NTSC60) == "00:00:59;59"
    assert to_timecode(3600, NTSC60) == "00:01:00;04"
    assert to_timecode(35964, NTSC60) == "00:10:00;00"
    assert to_timecode(215784, NTSC60) == "01:00:00;00"


def test_non_drop_at_ntsc_rates_counts_every_number_and_runs_slow() -> None:
    assert to_timecode(1800, NTSC, drop_frame=False) == "00:01:00:00"
    assert to_timecode(107892, NTSC, drop_frame=False) == "00:59:56:12"  # 3.6 s behind the clock
    assert from_timecode("00:59:56:12", NTSC) == 107892


def test_23_976_has_no_drop_frame_and_counts_24() -> None:
    assert not FILM.supports_drop_frame
    assert to_timecode(24, FILM) == "00:00:01:00"
    assert to_timecode(86313, FILM) == "00:59:56:09"
    with pytest.raises(TimecodeError, match="does not exist"):
        to_timecode(10, FILM, drop_frame=True)
    with pytest.raises(TimecodeError, match="does not exist"):
        from_timecode("00:00:01;00", FILM)


def test_pal_is_plain() -> None:
    assert to_timecode(90000, PAL) == "01:00:00:00"
    assert to_timecode(1234, PAL) == "00:00:49:09"


def test_skipped_drop_frame_numbers_are_refused() -> None:
    with pytest.raises(TimecodeError, match="skips"):
        from_timecode("00:01:00;00", NTSC)
    with pytest.raises(TimecodeError, match="skips"):
        from_timecode("00:03:00;01", NTSC)
    assert from_timecode("00:10:00;00", NTSC) == 17982


@pytest.mark.parametrize(
    "bad", ["", "1:00:00:00", "00:60:00:00", "00:00:60:00", "00:00:00:25", "xx:00:00:00"]
)
def test_malformed_timecodes_are_refused(bad: str) -> None:
    with pytest.raises(TimecodeError):
        from_timecode(bad, PAL)


def test_out_of_range_frames_are_refused() -> None:
    with pytest.raises(TimecodeError, match="negative"):
        to_timecode(-1, PAL)
    with pytest.raises(TimecodeError, match="24 hours"):
        to_timecode(24 * 3600 * 25, PAL)
    with pytest.raises(TimecodeError, match="outside"):
        FrameRate(Fraction(0))


# no deadline: a busy CI machine must not turn a pure function's test into a timing test
@settings(deadline=None)
@given(st.integers(min_value=0, max_value=2589407))
def test_drop_frame_round_trips_and_stays_within_a_frame_of_the_clock(frame: int) -> None:
    tc = to_timecode(frame, NTSC)
    assert from_timecode(tc, NTSC) == frame
    hh, mm, ss, ff = int(tc[0:2]), int(tc[3:5]), int(tc[6:8]), int(tc[9:11])
    labelled = hh * 3600 + mm * 60 + ss + ff / 30
    # drop-frame keeps the label near wall-clock time: up to 2 frames ahead within each ten minutes
    # (numbers are dropped only at minute starts), plus a drift of 2.6 frames a day (~0.086 s)
    assert abs(labelled - NTSC.seconds(frame)) < 5 / 30


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=24 * 3600 * 60 - 1), st.sampled_from([FILM, PAL, NTSC, NTSC60]))
def test_non_drop_round_trips(frame: int, rate: FrameRate) -> None:
    if frame >= 24 * 3600 * rate.nominal:
        return
    assert from_timecode(to_timecode(frame, rate, drop_frame=False), rate) == frame


def test_rates_from_floats_and_strings() -> None:
    assert FrameRate.of(29.97).rate == Fraction(30000, 1001)
    assert FrameRate.of(23.976).rate == Fraction(24000, 1001)
    assert FrameRate.of(59.94).rate == Fraction(60000, 1001)
    assert FrameRate.of("25").rate == 25
    assert FrameRate.of("30000/1001").supports_drop_frame
    assert FrameRate.of(12.5).rate == Fraction(25, 2)


def test_frame_at_and_seconds_are_inverse_at_ntsc() -> None:
    for frame in (0, 1, 29, 30, 1799, 1800, 107892):
        assert NTSC.frame_at(NTSC.seconds(frame)) == frame
        assert FILM.frame_at(FILM.seconds(frame)) == frame


def test_clock_formats() -> None:
    assert clock(0) == "00:00:00.000"
    assert clock(3723.4567) == "01:02:03.457"
    assert clock(59.9996, ",") == "00:01:00,000"
    assert clock(0.1 + 0.2) == "00:00:00.300" and clock(2.0) == "00:00:02.000"  # exact stays exact
    cut = NTSC.seconds(75)  # 2.5025 s: the cue starts with the frame, not half a millisecond before it
    assert clock(cut) == "00:00:02.503" and NTSC.frame_at(2.503) == 75
    with pytest.raises(TimecodeError):
        clock(-0.5)
