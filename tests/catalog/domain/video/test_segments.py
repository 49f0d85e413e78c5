"""Which segments a search's names match."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from catalog.domain.codec import decode_findings, encode_findings
from catalog.domain.model import BoundingBox, Face, Findings, Label, ModerationLabel, RecognitionResult
from catalog.domain.video.findings import (
    VIDEO_PERSONS,
    VideoFindings,
    matching_segments,
    person_names,
    shot_showing,
)
from catalog.domain.video.media import VideoInfo
from catalog.domain.video.segments import Segment, keyframe_of, merge_lines, segment_of
from catalog.domain.video.video_codec import decode_video, encode_video
from tests.catalog.domain.assets import an_asset

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


def test_the_shot_shown_for_a_question_is_the_one_that_shows_it_most_surely() -> None:
    weak_cat = dataclasses.replace(CAT, confidence=60.0)
    shots = [segment(0, CUP), segment(1, weak_cat), segment(2, ANIMAL, FELINE, CAT), segment(3)]
    assert shot_showing(shots, ["cat"]) == shots[2]  # any case; the surer of two cats
    assert shot_showing(shots, ["Crockery"]) == shots[0]  # a parent of the shot's label
    assert shot_showing(shots, ["Unicorn", "Cup", "Cat"]) == shots[0]  # the first name any shot shows
    assert shot_showing(shots, ["Unicorn"]) is None and shot_showing(shots, []) is None
    held = dataclasses.replace(segment(4), objects=(dataclasses.replace(CUP, confidence=99.0),))
    assert shot_showing([*shots, held], ["Cup"]) == held  # the detector's labels count too


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


def faces_run(parameters: dict[str, object]) -> RecognitionResult:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return RecognitionResult("a", "faces", "dlib", "1", Findings(), parameters=parameters, created_at=now)


def test_a_video_keeps_a_face_per_person_and_its_segments_show_their_names() -> None:
    info = VideoInfo("video/mp4", "mp4", "h264", 2, 2, 3.0, "25", 75, False)
    alice = Face(BoundingBox(0.1, 0.2, 0.3, 0.3), 99.0, embedding=(0.5, -0.25), time=1.4)
    bob = Face(BoundingBox(0.5, 0.2, 0.2, 0.2), 80.0, embedding=(0.1, 0.75), time=2.2)
    shots = (
        dataclasses.replace(segment(0), faces=("person-1",)),
        dataclasses.replace(segment(1), faces=("person-1", "person-2")),
        segment(2),
    )
    video = VideoFindings(info, shots, people=2, faces=(alice, bob))
    assert decode_video(encode_video(video)) == video
    assert decode_findings(encode_findings(Findings(faces=(alice,)))).faces == (alice,)
    assert video.person_faces() == (alice, bob)
    assert VideoFindings(info, shots, people=2).person_faces() is None  # stored before faces were kept

    # Only a faces run that holds the video's persons names them (not a poster's faces, in another order).
    assert person_names(faces_run({VIDEO_PERSONS: True}), {1: "Bob"}) == {"person-2": "Bob"}
    assert person_names(faces_run({}), {1: "Bob"}) == {}
    assert person_names(None, {1: "Bob"}) == {}

    named = video.named({"person-2": "Bob"})
    assert [s.faces for s in named.segments] == [("person-1",), ("person-1", "Bob"), ()]
    assert video.named({}) is video
    found = matching_segments(named.segments, [], persons=["BOB"])
    assert [(s.index, hit) for s, hit in found] == [(1, ("person: Bob",))]
    assert matching_segments(named.segments, [], persons=["Alice"]) == []


MISSILE = Label("Missile", 41.7, ("Rocket", "Weapon"))
ROCKET = Label("Rocket", 27.6, ("Vehicle",))


def test_a_shots_tentative_labels_give_way_when_anything_else_in_it_is_sure() -> None:
    rocket = segment(0, MISSILE, ROCKET)
    assert rocket.settled(50.0) == rocket  # nothing else in the shot is sure: the rocket stays a Missile
    assert dataclasses.replace(rocket, objects=(Label("Clock", 35.1),)).settled(50.0) == dataclasses.replace(
        rocket, objects=(Label("Clock", 35.1),)
    )  # a detector's guess is not sure either
    sure_object = dataclasses.replace(rocket, objects=(Label("Person", 88.0),))
    assert sure_object.settled(50.0).labels == ()
    assert dataclasses.replace(rocket, faces=("person-1",)).settled(50.0).labels == ()
    other_keyframe = segment(0, CUP, MISSILE, ROCKET)  # another keyframe of the shot was sure of a Cup
    assert other_keyframe.settled(50.0).labels == (CUP,)
    # the bar is the run's min_confidence: at 40 the Missile is sure and only the Rocket gives way
    assert rocket.settled(40.0).labels == (MISSILE,)
    assert segment(1, CAT, CUP).settled(50.0) == segment(1, CAT, CUP)


def test_a_shot_and_its_keyframe_find_each_other_by_the_frames_time() -> None:
    shots = [segment(0), segment(1), segment(2)]  # [0, 1), [1, 2), [2, 3) seconds
    frames = [
        dataclasses.replace(an_asset(), id=f"f{i}", frame_time=t) for i, t in enumerate((0.4, 1.0, 2.99))
    ]
    crop = dataclasses.replace(an_asset(), id="crop")  # a version that is no keyframe
    assert [keyframe_of(s, [crop, *frames]) for s in shots] == frames
    assert [segment_of(shots, f) for f in frames] == shots
    assert segment_of(shots, crop) is None
    assert segment_of(shots, dataclasses.replace(an_asset(), frame_time=3.0)) is None  # past the end
    assert keyframe_of(segment(5), frames) is None


def test_a_shot_shows_its_labels_and_the_objects_the_detector_is_sure_of_specific_first() -> None:
    person = Label("Person", 63.0, ("Human",))
    dog = Label("Dog", 39.0, ("Canine", "Animal"))
    shot = dataclasses.replace(
        segment(0, ANIMAL, FELINE, CAT), objects=(person, dog, Label("Cat", 80.0, ("Pet",)))
    )
    shown = shot.shown_labels()
    assert [lb.name for lb in shown] == ["Cat", "Feline", "Animal", "Person"]  # no Dog 39: a guess
    assert shown[0].parents == ("Feline", "Animal", "Pet") and shown[0].confidence == 93.0  # one Cat
    assert dog in shot.found_labels()  # still a label of the shot (and the video) for search
