"""Analysing a stored video for the pipeline: one decoding pass gives the shots, their keyframes' labels
and faces, the poster and the thumbnail strip; a second pass transcodes the proxy. Models load lazily,
once per process. Everything here is blocking CPU work for the CpuPool."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image

from catalog.domain.model_census import ModelRef
from catalog.domain.video.findings import VideoFindings
from indexer.recognizers.ports import LabelModel
from indexer.renditions import RenditionData, renditions
from indexer.video.analysis import AnalysisOptions, FaceDetector, analyze_video
from indexer.video.keyframes import best_keyframe
from indexer.video.probe import VideoLimits, probe_video
from indexer.video.shots import BoundaryModel, Shot
from indexer.video.video_renditions import make_proxy, poster, thumbnail_strip

SHOT_WINDOW = 200  # TransNetV2 frames per window: a third cheaper than the reference's 100, same cuts


@dataclass(frozen=True)
class VideoOutcome:
    findings: VideoFindings
    made: tuple[RenditionData, ...]  # preview and thumbnail (of the poster), strip
    phash: str | None  # the poster's difference hash (near-duplicate videos share it)
    parameters: dict[str, object]
    stills: tuple[tuple[Path, ...], ...] = ()  # per segment: its keyframes as JPEG files (when asked)
    frames: tuple[Keyframe, ...] = ()  # per segment: its best keyframe as a JPEG file (when asked)


@dataclass(frozen=True)
class Keyframe:
    """A shot's best keyframe (the sharpest usable one, as its strip tile), written during the decoding."""

    segment: int  # the segment's index
    time: float  # its second in the video
    path: Path  # a JPEG at analysis size


class ShotModel(BoundaryModel, Protocol):
    @property
    def model_version(self) -> str: ...


class VideoWork:
    """The shot model, the keyframe labeler and the face detector, each made on first use by the
    factories bootstrap hands in (this package never picks a recognizer itself)."""

    name = "video"
    provider = "local"

    def __init__(
        self,
        shots: Callable[[], ShotModel],
        labeler: Callable[[], LabelModel],
        faces: Callable[[], FaceDetector] | None = None,
        *,
        min_confidence: float = 50.0,
        max_labels: int = 10,
        limits: VideoLimits | None = None,
    ) -> None:
        self._make = (shots, labeler, faces)
        self._options = AnalysisOptions(min_confidence=min_confidence, max_labels=max_labels)
        self._limits = limits
        self._lock = threading.Lock()
        self._shots: ShotModel | None = None
        self._labeler: LabelModel | None = None
        self._faces: FaceDetector | None = None
        self._model: ModelRef | None = None

    def _models(self, with_faces: bool) -> tuple[ShotModel, LabelModel, FaceDetector | None]:
        with self._lock:
            make_shots, make_labeler, make_faces = self._make
            if self._shots is None:
                self._shots = make_shots()
            if self._labeler is None:
                self._labeler = make_labeler()
            if with_faces and self._faces is None and make_faces is not None:
                self._faces = make_faces()
            return self._shots, self._labeler, self._faces if with_faces else None

    def model(self) -> ModelRef:
        """The models a run uses, as it records them: the shot model's and the labeler's (built on the
        first call, which hashes their weights; then kept: they do not change under a running process)."""
        with self._lock:
            if self._model is not None:
                return self._model
        shots, labeler, _ = self._models(False)
        model = ModelRef(
            self.provider, f"transnetv2+{labeler.name}", f"{shots.model_version}+{labeler.version}"
        )
        with self._lock:
            self._model = model
        return model

    def analyze(
        self,
        path: Path,
        params: Mapping[str, object],
        with_faces: bool,
        stills: Path | None = None,
        frames: Path | None = None,
    ) -> VideoOutcome:
        """Probe (typed refusals) and analyse the file; the poster stands in for the picture. With
        `stills` (a folder), each shot's keyframes are written there as JPEGs for the segment analyzers;
        with `frames`, each shot's best keyframe (the version tree's FRAME children)."""
        info = probe_video(path, self._limits)
        shots, labeler, faces = self._models(with_faces)
        options = AnalysisOptions(
            min_confidence=float(params.get("min_confidence", self._options.min_confidence)),  # type: ignore[arg-type]
            max_labels=int(params.get("max_labels", self._options.max_labels)),  # type: ignore[call-overload]
            tentative_confidence=float(
                params.get("tentative_confidence", self._options.tentative_confidence)  # type: ignore[arg-type]
            ),
        )
        written: list[tuple[Path, ...]] = []
        best: list[Keyframe] = []

        def on_shot(shot: Shot) -> None:
            kept = _keep(shot, stills) if stills is not None else None
            if kept is not None:
                written.append(kept)
            if frames is not None and shot.keyframes:
                best.append(_best(shot, frames, kept))

        result = analyze_video(path, info, shots, labeler, options, on_shot=on_shot, faces=faces)
        made: list[RenditionData] = []
        phash = None
        if result.poster is not None:
            rendered = renditions(Image.fromarray(result.poster.picture))
            made += rendered.renditions
            phash = rendered.phash
        if result.tiles:
            made.append(thumbnail_strip(result.tiles).sprite)
        parameters: dict[str, object] = {
            "min_confidence": options.min_confidence,
            "max_labels": options.max_labels,
            "tentative_confidence": options.tentative_confidence,
            "keyframes_per_shot": options.keyframes_per_shot,
            "faces": faces is not None,
        }
        findings = VideoFindings(info, result.segments, result.people, result.faces)
        return VideoOutcome(findings, tuple(made), phash, parameters, tuple(written), tuple(best))

    def proxy(self, source: Path, target: Path) -> tuple[int, int]:
        return make_proxy(source, target)


def _keep(shot: Shot, folder: Path) -> tuple[Path, ...]:
    """The shot's keyframes as JPEG files in the folder (named by shot and keyframe)."""
    files = []
    for k, frame in enumerate(shot.keyframes):
        file = folder / f"{shot.index:06d}-{k}.jpg"
        file.write_bytes(poster(frame.picture).data)
        files.append(file)
    return tuple(files)


def _best(shot: Shot, folder: Path, kept: tuple[Path, ...] | None) -> Keyframe:
    """The shot's best keyframe as a JPEG file: the still already written for it, or one in the folder."""
    frame = best_keyframe(shot.keyframes)
    if kept is not None:
        file = kept[next(i for i, k in enumerate(shot.keyframes) if k is frame)]
    else:
        file = folder / f"{shot.index:06d}.jpg"
        file.write_bytes(poster(frame.picture).data)
    return Keyframe(shot.index, round(frame.time, 6), file)


def poster_jpeg(outcome: VideoOutcome) -> bytes | None:
    return next((r.data for r in outcome.made if r.kind == "preview"), None)
