"""Which segments a search's names match."""

from __future__ import annotations

from catalog.domain.model import Label
from catalog.domain.video.findings import matching_segments
from catalog.domain.video.segments import Segment

CAT = Label("Cat", 93.0, ("Feline", "Animal"))
FELINE = Label("Feline", 94.0, ("Animal",))
ANIMAL = Label("Animal", 95.0)
CUP = Label("Cup", 60.0, ("Crockery",))


def segment(index: int, *labels: Label) -> Segment:
    return Segment(index, index * 10, index * 10 + 10, index, index + 1, "", "", labels=labels)


def test_segments_match_by_label_or_parent_any_case_at_a_confidence() -> None:
    shots = [segment(0, ANIMAL, FELINE, CAT), segment(1, CUP), segment(2)]
    assert [(s.index, names) for s, names in matching_segments(shots, ["cat"])] == [(0, ("Cat",))]
    assert [(s.index, names) for s, names in matching_segments(shots, ["ANIMAL"])] == [
        (0, ("Animal", "Feline", "Cat"))
    ]
    assert [s.index for s, _ in matching_segments(shots, ["Crockery", "Cat"])] == [0, 1]
    assert matching_segments(shots, ["Cup"], min_confidence=61) == []
    assert matching_segments(shots, []) == []
