"""Which segments a search's names match."""

from __future__ import annotations

import dataclasses

from catalog.domain.model import Label, ModerationLabel
from catalog.domain.video.findings import VideoFindings, matching_segments
from catalog.domain.video.media import VideoInfo
from catalog.domain.video.segments import Segment, merge_lines
from catalog.domain.video.video_codec import decode_video, encode_video

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


def test_detector_labels_and_words_read_in_a_shot_match_it_and_survive_storage() -> None:
    news = dataclasses.replace(
        segment(1),
        objects=(CUP,),
        text="Harbour news\nat nine",
        moderation=(ModerationLabel("Suggestive", 70.0),),
    )
    shots = [segment(0, CAT), news, segment(2)]
    assert [(s.index, names) for s, names in matching_segments(shots, ["crockery"])] == [(1, ("Cup",))]
    assert [(s.index, names) for s, names in matching_segments(shots, [], phrases=["NEWS nine"])] == [
        (1, ("text: NEWS nine",))
    ]
    assert matching_segments(shots, [], phrases=["weather"]) == []
    info = VideoInfo("video/mp4", "mp4", "h264", 2, 2, 3.0, "25", 75, False)
    video = VideoFindings(info, tuple(shots))
    assert decode_video(encode_video(video)) == video
    assert "Cup" in {lb.name for lb in video.labels()} and video.moderated()
    assert video.lines() == ["Harbour news", "at nine"]
    assert merge_lines([["Harbour  news"], ["harbour news", "at nine"]]) == "Harbour news\nat nine"
