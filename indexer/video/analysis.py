"""A video's shots as segments with keyframe labels, from one decoding pass.

Decoding runs in a thread of its own, a bounded queue ahead of the shot detector, so FFmpeg and
onnxruntime (both release the GIL) work at the same time. Keyframes are labelled as each shot closes,
so labelling costs grow with the number of shots, not frames. Blocking: run `analyze_video` in the
CpuPool.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from catalog.domain.model import Face, Label
from catalog.domain.video.media import VideoInfo
from catalog.domain.video.segments import Segment, merge_labels, timecodes
from catalog.domain.video.timecode import TimecodeError, from_timecode
from catalog.domain.video.video_people import VideoPeople
from indexer.analyzers import TENTATIVE_CONFIDENCE
from indexer.recognizers.ports import LabelModel
from indexer.video.frames import decode_frames
from indexer.video.keyframes import Candidate, best_keyframe, poster_score
from indexer.video.shots import BoundaryModel, Shot, detect_shots
from indexer.video.video_renditions import tile

T = TypeVar("T")
_DONE = object()


class FaceDetector(Protocol):
    """Faces with identity vectors in one picture (the local dlib recognizer); blocking CPU work."""

    def detect(self, image: Image.Image) -> list[Face]: ...


def prefetch(items: Iterator[T], depth: int) -> Iterator[T]:
    """Run a producer in a thread, `depth` items ahead; its exceptions surface in the consumer."""
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            q.put(exc)

    thread = threading.Thread(target=produce, name="video-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


@dataclass(frozen=True)
class VideoAnalysis:
    info: VideoInfo
    segments: tuple[Segment, ...]
    poster: Candidate | None  # the representative keyframe (not a black first frame)
    frames_decoded: int
    tiles: tuple[tuple[float, float, NDArray[np.uint8]], ...] = ()  # per shot: its thumbnail-strip tile
    people: int = 0  # distinct persons whose faces were seen (segments name them person-1, ...)
    faces: tuple[Face, ...] = ()  # per person: the face seen best (person-k: faces[k-1]), with its time


@dataclass(frozen=True)
class AnalysisOptions:
    sample_every_seconds: float = 0.2  # keyframe candidates per second of video: 5
    keyframes_per_shot: int = 3
    analysis_side: int = 640
    min_confidence: float = 50.0
    max_labels: int = 10
    # a shot no class reaches min_confidence on keeps its best class down to this (see Segment.settled);
    # at or above min_confidence: no tentative labels
    tentative_confidence: float = TENTATIVE_CONFIDENCE

    def tentative_floor(self) -> float | None:
        return self.tentative_confidence if self.tentative_confidence < self.min_confidence else None


def analyze_video(
    path: Path,
    info: VideoInfo,
    shot_model: BoundaryModel,
    labeler: LabelModel | None,
    options: AnalysisOptions | None = None,
    on_shot: Callable[[Shot], None] | None = None,
    faces: FaceDetector | None = None,
) -> VideoAnalysis:
    """Segments (one per shot) with labels merged over each shot's keyframes and the persons whose
    faces its keyframes show (grouped across the whole video). A shot no class is sure of keeps the
    tentative labels of its keyframes unless another keyframe or a face is sure (Segment.settled)."""
    options = options or AnalysisOptions()
    rate = info.rate
    sample_every = max(1, round(float(rate.rate) * options.sample_every_seconds))
    offset = 0
    if info.start_timecode:
        try:
            offset = from_timecode(info.start_timecode, rate)
        except TimecodeError:
            offset = 0  # a source timecode we cannot read: count from zero
    frames = prefetch(
        decode_frames(path, sample_every=sample_every, max_side=options.analysis_side), depth=64
    )
    segments: list[Segment] = []
    poster: tuple[tuple[bool, float, int], Candidate] | None = None
    decoded = 0
    people = VideoPeople()
    tiles: list[tuple[float, float, NDArray[np.uint8]]] = []
    for shot in detect_shots(frames, shot_model, per_shot=options.keyframes_per_shot):
        decoded = shot.end
        labels: tuple[Label, ...] = ()
        if labeler is not None and shot.keyframes:
            batch = np.stack([labeler.prepare(Image.fromarray(k.picture)) for k in shot.keyframes])
            found = labeler.predict(
                batch,
                min_confidence=options.min_confidence,
                max_labels=options.max_labels,
                tentative_confidence=options.tentative_floor(),
            )
            labels = merge_labels(found, options.max_labels)
        persons: list[str] = []
        if faces is not None:
            for k in shot.keyframes:
                for face in faces.detect(Image.fromarray(k.picture)):
                    person = people.assign(face, k.time) if face.embedding else None
                    if person is not None and person not in persons:
                        persons.append(person)
        start_tc, end_tc = timecodes(shot.start, shot.end, rate, info.drop_frame, offset)
        segment = Segment(
            index=shot.index,
            start_frame=shot.start,
            end_frame=shot.end,
            start=round(shot.start_time, 6),
            end=round(shot.end_time, 6),
            start_timecode=start_tc,
            end_timecode=end_tc,
            labels=labels,
            faces=tuple(persons),
            keyframes=tuple(round(k.time, 6) for k in shot.keyframes),
        )
        segments.append(segment.settled(options.min_confidence))
        if shot.keyframes:
            best = best_keyframe(shot.keyframes)
            tiles.append((round(shot.start_time, 6), round(shot.end_time, 6), tile(best.picture)))
        for k in shot.keyframes:  # only the best so far is kept: memory does not grow with shots
            score = poster_score(shot.end_time - shot.start_time, k)
            if poster is None or score > poster[0]:
                poster = (score, k)
        if on_shot is not None:
            on_shot(shot)
    return VideoAnalysis(
        info,
        tuple(segments),
        poster[1] if poster else None,
        decoded,
        tuple(tiles),
        people.count,
        people.faces(),
    )
