from __future__ import annotations

from fractions import Fraction

from catalog.domain.model import Label
from catalog.domain.video.segment_diff import diff_segments
from catalog.domain.video.segments import Segment, timecodes
from catalog.domain.video.timecode import FrameRate

RATE = FrameRate(Fraction(30000, 1001))


def seg(i: int, a: int, b: int, *names: str, confidence: float = 90.0) -> Segment:
    tc_in, tc_out = timecodes(a, b, RATE, True)
    labels = tuple(Label(n, confidence) for n in names)
    return Segment(i, a, b, RATE.seconds(a), RATE.seconds(b), tc_in, tc_out, labels)


def test_same_analysis_has_no_changes() -> None:
    run = [seg(0, 0, 100, "Cat"), seg(1, 100, 250, "Dog")]
    assert diff_segments(run, run, RATE, True) == []


def test_gained_and_lost_per_time_range() -> None:
    old = [seg(0, 0, 100, "Cat", "Animal"), seg(1, 100, 250, "Dog")]
    new = [seg(0, 0, 100, "Cat", "Animal", "Sofa"), seg(1, 100, 250, "Wolf")]
    changes = diff_segments(old, new, RATE, True)
    assert [(c.start_frame, c.end_frame, c.gained, c.lost) for c in changes] == [
        (0, 100, ("Sofa",), ()),
        (100, 250, ("Wolf",), ("Dog",)),
    ]
    assert changes[1].start_timecode == "00:00:03;10" and changes[1].start == RATE.seconds(100)


def test_different_cuts_are_overlaid_and_equal_neighbours_merged() -> None:
    old = [seg(0, 0, 1800, "Beach"), seg(1, 1800, 3600, "Beach")]
    new = [seg(0, 0, 900, "Beach"), seg(1, 900, 2700, "Beach", "Dog"), seg(2, 2700, 3600, "Beach")]
    changes = diff_segments(old, new, RATE, True)
    assert [(c.start_frame, c.end_frame, c.gained, c.lost) for c in changes] == [(900, 2700, ("Dog",), ())]
    assert (changes[0].start_timecode, changes[0].end_timecode) == ("00:00:30;00", "00:01:30;02")


def test_confidence_floor_and_uncovered_ranges() -> None:
    old = [seg(0, 0, 100, "Cat", confidence=40.0)]
    new = [seg(0, 0, 100, "Cat"), seg(1, 100, 200, "Cat")]  # the new run also covers frames 100-200
    changes = diff_segments(old, new, RATE, True, min_confidence=50.0)
    assert [(c.start_frame, c.end_frame, c.gained) for c in changes] == [(0, 200, ("Cat",))]
