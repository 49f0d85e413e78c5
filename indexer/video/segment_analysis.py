"""The image analyzers a tenant chose for text, objects and moderation, run on each shot's keyframes
through their ports (local models or a remote provider alike) and merged into its segment: the lines read
(each once), the detector's labels and the moderation labels, each name at its highest confidence.

Cost grows with shots, not frames: at most `keyframes_per_shot` pictures per shot. The local text reader
looks at a half-size picture first and reads at full size only where that finds text bands, so a shot
without text costs one small detector pass. Keyframes are sent as their own JPEGs (never the original: a
provider that reads originals from the store would get the whole video).
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from catalog.domain.labels.detections import name_detections
from catalog.domain.model import Findings, Label
from catalog.domain.model_census import model_record
from catalog.domain.video.segments import Segment, merge_labels, merge_lines, merge_moderation
from indexer.cpu import CpuPool
from indexer.recognizers.ports import AnalysisInput, Analyzer, model_of

SEGMENT_ANALYZERS = ("objects", "text", "moderation")  # what a video's shots get beyond labels and faces
MAX_OBJECTS = 10  # detector labels kept per segment
IN_FLIGHT = 4  # keyframes being analysed at once (bounds the decoded pictures held in memory)


@dataclass(frozen=True)
class SegmentAnalyzer:
    analyzer: Analyzer
    params: Mapping[str, Any]

    def describe(self) -> dict[str, object]:
        """What a run records of it: provider, model, version and the parameters it ran with."""
        a = self.analyzer
        return model_record(model_of(a), {**a.defaults, **self.params})


def load_still(path: Path) -> AnalysisInput:
    """A keyframe JPEG as every analyzer receives a picture; no original key (see the module doc)."""
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        image = img.convert("RGB")
    return AnalysisInput(image=image, jpeg=data, original_key="", original_size=image.size)


async def analyze_segments(
    segments: Sequence[Segment],
    stills: Sequence[Sequence[Path]],
    analyzers: Sequence[SegmentAnalyzer],
    cpu: CpuPool,
    min_confidence: float,
) -> tuple[Segment, ...]:
    """The segments with the text, objects and moderation their keyframes (stills[i]: segment i's JPEGs)
    show; segments come back unchanged when no analyzer is chosen. The detector's boxes on each keyframe are
    named by the shot's classifier labels as a photo's are (labels.detections.name_detections). A shot's
    tentative labels (under the classifier's `min_confidence`) give way to an object seen at it
    (Segment.settled)."""
    if not analyzers:
        return tuple(segments)
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(path: Path) -> dict[str, Findings]:
        async with gate:
            item = await cpu.run(load_still, path)
            found = await asyncio.gather(*(a.analyzer.analyze(item, a.params) for a in analyzers))
            return {a.analyzer.name: f for a, f in zip(analyzers, found, strict=True)}

    per_still = await asyncio.gather(*(one(p) for paths in stills for p in paths))
    out: list[Segment] = []
    at = 0
    for segment, paths in zip(segments, stills, strict=True):
        mine = per_still[at : at + len(paths)]
        at += len(paths)
        out.append(_merged(segment, mine, min_confidence).settled(min_confidence))
    return tuple(out)


def _merged(segment: Segment, per_still: Sequence[Mapping[str, Findings]], min_confidence: float) -> Segment:
    texts = [[t.text for t in f["text"].text if t.type == "LINE"] for f in per_still if "text" in f]
    sure = tuple(lb for lb in segment.labels if lb.confidence >= min_confidence)
    tentative = tuple(lb for lb in segment.labels if lb.confidence < min_confidence)
    # Each keyframe's boxes named as a photo's are (labels.detections: a lone Dog 39 on the cat the
    # classifier is sure of is the cat's box; a weak box of the whole frame is no finding), while the
    # boxes are at hand: the segment keeps the names, not the boxes.
    objects: list[list[Label]] = [
        [
            Label(lb.name, lb.confidence, lb.parents)
            for lb in name_detections(sure, f["objects"].labels, tentative)
        ]
        for f in per_still
        if "objects" in f
    ]
    moderation = [list(f["moderation"].moderation) for f in per_still if "moderation" in f]
    return dataclasses.replace(
        segment,
        text=merge_lines(texts),
        objects=merge_labels(objects, MAX_OBJECTS),
        moderation=merge_moderation(moderation),
    )
