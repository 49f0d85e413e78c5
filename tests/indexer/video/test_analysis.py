"""A whole video analysed: shots as segments with SMPTE timecodes and keyframe labels, and a poster."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from PIL import Image

from bench.clips import Shot, make_clip
from catalog.domain.model import BoundingBox, Face
from catalog.domain.video.timecode import FrameRate, to_timecode
from indexer.recognizers.local.labels import EfficientNetLabeler
from indexer.recognizers.local.transnetv2 import TransNetV2
from indexer.video.analysis import AnalysisOptions, analyze_video
from indexer.video.probe import probe_video

pytestmark = pytest.mark.video


def test_segments_carry_timecodes_and_the_labels_of_their_shots(
    tmp_path: Path, shot_model: TransNetV2, labeler: EfficientNetLabeler
) -> None:
    clip = make_clip(
        tmp_path / "pets.mp4",
        [Shot("black", 10), Shot("chelsea", 50), Shot("coffee", 60, pan=True), Shot("rocket", 45)],
        rate=Fraction(30000, 1001),
    )
    info = probe_video(clip.path)
    result = analyze_video(clip.path, info, shot_model, labeler)
    segments = [s for s in result.segments if s.end_frame > 12]  # the black lead may be a shot of its own
    assert [s.start_frame for s in segments[1:]] == pytest.approx([60, 120], abs=2)
    cat, coffee, rocket = segments
    assert "Cat" in {lb.name for lb in cat.labels}
    assert {"Cup", "Beverage", "Food"} & {lb.name for lb in coffee.labels}
    assert "Cat" not in {lb.name for lb in coffee.labels} | {
        lb.name for lb in rocket.labels
    }  # labels stay in their shot
    rate = FrameRate(Fraction(30000, 1001))
    for s in result.segments:
        assert s.start_timecode == to_timecode(s.start_frame, rate) and ";" in s.start_timecode
        assert s.end_timecode == to_timecode(s.end_frame, rate)
        assert s.start == pytest.approx(rate.seconds(s.start_frame), abs=1e-3)
        assert all(s.start <= t < s.end for t in s.keyframes)
    assert result.segments[-1].end == pytest.approx(info.duration, abs=1e-3)
    assert result.frames_decoded == clip.frames
    assert result.poster is not None and not result.poster.blank
    assert [(start, end) for start, end, _ in result.tiles] == [(s.start, s.end) for s in result.segments]


def test_decoding_errors_reach_the_caller(tmp_path: Path, shot_model: TransNetV2) -> None:
    clip = make_clip(tmp_path / "a.mp4", [Shot("rocket", 20)])
    info = probe_video(clip.path)
    clip.path.unlink()
    with pytest.raises(FileNotFoundError):
        analyze_video(clip.path, info, shot_model, None)


def test_faces_are_grouped_per_person_across_shots(tmp_path: Path, shot_model: TransNetV2) -> None:
    from indexer.recognizers.local.faces import DlibFaceRecognizer

    clip = make_clip(
        tmp_path / "interview.mp4",
        [Shot("astronaut", 30), Shot("rocket", 30), Shot("astronaut", 30)],
        size=(512, 512),  # the photo undistorted: a face the size a 640 px keyframe shows
    )
    result = analyze_video(clip.path, probe_video(clip.path), shot_model, None, faces=DlibFaceRecognizer())
    assert [s.start_frame for s in result.segments] == pytest.approx([0, 30, 60], abs=2)
    assert [s.faces for s in result.segments] == [("person-1",), (), ("person-1",)]
    assert result.people == 1
    # the person's face as seen best: its embedding and box from a keyframe of a shot that shows it
    (best,) = result.faces
    assert len(best.embedding) == 128 and best.box.width == pytest.approx(0.18, abs=0.03)
    shown = [s for s in result.segments if s.faces]
    assert best.time in {k for s in shown for k in s.keyframes}


class EveryoneHasAFace:
    """A face detector (the port) that sees one person in every keyframe."""

    def detect(self, image: Image.Image) -> list[Face]:
        return [Face(BoundingBox(0.4, 0.2, 0.2, 0.2), 99.0, embedding=(0.1,) * 128)]


def test_a_shot_nothing_is_sure_of_keeps_its_tentative_labels_unless_something_else_is(
    tmp_path: Path, shot_model: TransNetV2, labeler: EfficientNetLabeler
) -> None:
    """The rocket photo splits between ImageNet's missiles: its shot is a Missile at its own low
    confidence, as the photo is, while the cat's shot keeps only what is sure. A face seen in the shot is
    sure: the tentative labels give way to it (as an image's do)."""
    clip = make_clip(tmp_path / "launch.mp4", [Shot("rocket", 30), Shot("chelsea", 30)], size=(640, 360))
    info = probe_video(clip.path)
    rocket, cat = analyze_video(clip.path, info, shot_model, labeler).segments
    found = {lb.name: lb.confidence for lb in rocket.labels}
    assert {"Missile", "Weapon"} <= set(found) and all(25 <= c < 50 for c in found.values()), found
    assert "Cat" in {lb.name for lb in cat.labels} and all(lb.confidence >= 50 for lb in cat.labels)

    seen = analyze_video(clip.path, info, shot_model, labeler, faces=EveryoneHasAFace()).segments
    assert seen[0].faces == ("person-1",) and seen[0].labels == ()
    assert seen[1].labels == cat.labels
    off = AnalysisOptions(tentative_confidence=100)  # the labels parameter that turns them off
    assert analyze_video(clip.path, info, shot_model, labeler, off).segments[0].labels == ()


def test_small_faces_of_the_people_a_keyframe_shows_are_found(tmp_path: Path, shot_model: TransNetV2) -> None:
    """An HD clip is analysed at 640×360: a wide shot's faces come out 20–30 px, under the ≈ 40 px the
    whole-keyframe scan finds. The object detector's people show where to look closer (keyframe_faces)."""
    from indexer.recognizers.local.faces import DlibFaceRecognizer, keyframe_faces

    clip = make_clip(
        tmp_path / "crew.mp4",
        [Shot("camera", 30, scale=0.6), Shot("rocket", 30), Shot("astronaut", 30, scale=0.4)],
        size=(1280, 720),
    )
    info = probe_video(clip.path)
    before = analyze_video(clip.path, info, shot_model, None, faces=DlibFaceRecognizer(upsample=1))
    assert [s.faces for s in before.segments] == [(), (), ()]  # the whole scan alone misses both
    result = analyze_video(clip.path, info, shot_model, None, faces=keyframe_faces(tmp_path / "models"))
    assert [s.faces for s in result.segments] == [("person-1",), (), ("person-2",)]
    assert [round(f.box.width * 640) for f in result.faces] == [
        pytest.approx(23, abs=4),
        pytest.approx(26, abs=4),
    ]


def test_keyframes_of_a_squeezed_stream_are_seen_as_it_is_shown(
    tmp_path: Path, shot_model: TransNetV2
) -> None:
    """A 480×360 stream of 4:3 pixels shows 640×360 (as HDV's 1440×1080 shows 1920×1080): its keyframes,
    and so its poster, frames and faces, are analysed at 640×360, where a face has its own proportions."""
    from indexer.recognizers.local.faces import DlibFaceRecognizer

    clip = make_clip(
        tmp_path / "hdv.mp4", [Shot("astronaut", 30, scale=1.0)], size=(480, 360), pixel_aspect=Fraction(4, 3)
    )
    info = probe_video(clip.path)
    assert (info.width, info.height) == (640, 360)
    result = analyze_video(clip.path, info, shot_model, None, faces=DlibFaceRecognizer(upsample=1))
    assert result.poster is not None and result.poster.picture.shape == (360, 640, 3)
    assert [s.faces for s in result.segments] == [("person-1",)]
    (face,) = result.faces
    assert face.box.width * 640 == pytest.approx(face.box.height * 360, rel=0.15)  # square, not squeezed
