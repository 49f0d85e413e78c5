"""The local provider: analyzers over models shipped in PyPI packages, each built lazily (models load on
first use, once). mediasight/providers.py registers it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from PIL import Image

from catalog.domain.model import BoundingBox, Findings
from indexer.analyzers import FeaturesAnalyzer, LabelsAnalyzer, LocalAnalyzer, SharingAnalyzer
from indexer.cpu import CpuPool
from indexer.recognizers.local.centernet_decode import MIN_SCORE
from indexer.recognizers.ports import (
    AnalysisInput,
    Analyzer,
    AnalyzerInputError,
    Factories,
    FeatureLabelModel,
    LabelModel,
    ProviderParts,
    WorkKey,
    has_features,
)

if TYPE_CHECKING:
    from indexer.recognizers.local.objects import CenterNetDetector, DetectedObject

PROVIDER = "local"
# The object detector's boxes on one image, at the decoder's floor: what objects, people and faces share.
DETECTIONS: WorkKey[list[DetectedObject]] = WorkKey("local-object-detections")
DETECTIONS_FLOOR = MIN_SCORE * 100.0


@dataclass(frozen=True)
class LocalConfig:
    model_dir: Path  # where the labeler caches the ONNX model it builds from the packaged weights
    label_min_confidence: float
    label_max_labels: int
    label_model: str = "efficientnet-lite0"  # a key of efficientnet_onnx.VARIANTS


def _one_opencv_thread() -> None:
    """Our CPU pool already runs a thread per core; OpenCV's own threads would oversubscribe them."""
    import cv2

    cv2.setNumThreads(1)


def local_provider(config: LocalConfig, cpu: CpuPool, labeler: LabelModel | None = None) -> ProviderParts:
    """`labeler` lets unit tests put a fake at the recognizer port."""
    shared: list[LabelModel] = []  # the classifier, made once: labels and features share its session

    def classifier() -> LabelModel:
        if not shared:
            if labeler is not None:
                shared.append(labeler)
            else:
                from indexer.recognizers.local.efficientnet_onnx import VARIANTS
                from indexer.recognizers.local.labels import EfficientNetLabeler

                shared.append(EfficientNetLabeler(config.model_dir, variant=VARIANTS[config.label_model]))
        return shared[0]

    def labels() -> Analyzer:
        return LabelsAnalyzer(
            classifier(), cpu, min_confidence=config.label_min_confidence, max_labels=config.label_max_labels
        )

    def features() -> Analyzer:
        model = classifier()
        if not has_features(model):
            raise AnalyzerInputError(f"the label model {model.name!r} gives no feature vectors")
        return FeaturesAnalyzer(cast(FeatureLabelModel, model), cpu)

    detectors: list[CenterNetDetector] = []  # the object detector, made once: objects, people, faces

    def detector() -> CenterNetDetector:
        if not detectors:
            from indexer.recognizers.local.objects import CenterNetDetector

            detectors.append(CenterNetDetector(config.model_dir))
        return detectors[0]

    async def detections(item: AnalysisInput, min_confidence: float) -> list[DetectedObject]:
        """The detector's boxes at least min_confidence sure: from its one shared run on the image (at the
        decoder's floor), or, below that floor, from a run of its own."""
        model = detector()
        if min_confidence < DETECTIONS_FLOOR:
            return await cpu.run(model.detect, await item.picture(cpu), min_confidence=min_confidence)

        async def detect() -> list[DetectedObject]:
            return await cpu.run(model.detect, await item.picture(cpu))

        found = await item.shared.get(DETECTIONS, detect)
        return [o for o in found if o.confidence >= min_confidence]

    def objects() -> Analyzer:
        from indexer.recognizers.local.objects import above_class_floors, object_labels

        model = detector()

        async def run(item: AnalysisInput, params: Mapping[str, Any]) -> Findings:
            found = above_class_floors(
                await detections(item, float(params["min_confidence"])), model.class_floors
            )
            return Findings(labels=object_labels(found, model.ancestor_parents))

        return SharingAnalyzer(
            "objects", model.name, model.objects_version, run, defaults={"min_confidence": 25.0}
        )

    def faces() -> Analyzer:
        from indexer.recognizers.local.faces import DlibFaceRecognizer
        from indexer.recognizers.local.people import people_from_objects

        # One recognizer per (upsample, person_upsample) asked for, made on first use. By default the whole
        # image is scanned at upsample 0 and the heads of the detector's people at 1 (faces ≥ ≈ 40 px
        # there), finding on the test photos every face a whole scan at 1 finds, for a quarter of the cost.
        recognizers: dict[tuple[int, int], DlibFaceRecognizer] = {}

        def recognizer(upsample: int, person_upsample: int) -> DlibFaceRecognizer:
            key = (upsample, person_upsample)
            if key not in recognizers:
                recognizers[key] = DlibFaceRecognizer(upsample=upsample, person_upsample=person_upsample)
            return recognizers[key]

        async def run(item: AnalysisInput, params: Mapping[str, Any]) -> Findings:
            model = recognizer(int(params["upsample"]), int(params["person_upsample"]))
            people: list[BoundingBox] = []
            if model.person_upsample > model.upsample:
                found = await detections(item, DETECTIONS_FLOOR)
                people = [p.box for p in people_from_objects(found, min_confidence=DETECTIONS_FLOOR)]
            faces = await cpu.run(model.detect, await item.picture(cpu), people=people)
            return Findings(faces=tuple(f for f in faces if f.confidence >= float(params["min_confidence"])))

        model = recognizer(0, 1)
        defaults = {"upsample": 0, "person_upsample": 1, "min_confidence": 0.0}
        return SharingAnalyzer("faces", model.name, model.version, run, defaults=defaults)

    def people() -> Analyzer:
        from indexer.recognizers.local.people import DEFAULT_MIN_CONFIDENCE, people_from_objects

        model = detector()

        async def run(item: AnalysisInput, params: Mapping[str, Any]) -> Findings:
            min_confidence = float(params["min_confidence"])
            found = await detections(item, min_confidence)
            return Findings(people=people_from_objects(found, min_confidence=min_confidence))

        # The detector's Person boxes (people.py says why not OpenCV's HOG any more).
        return SharingAnalyzer(
            "people", model.name, model.version, run, defaults={"min_confidence": DEFAULT_MIN_CONFIDENCE}
        )

    def text() -> Analyzer:
        from indexer.recognizers.local.text import SHORT_LINE_CONFIDENCE, RapidOcrReader

        _one_opencv_thread()
        model = RapidOcrReader()

        def run(image: Image.Image, params: Mapping[str, Any]) -> Findings:
            # The reader filters: dropping lines afterwards would leave WORD parent indexes pointing astray.
            found = model.read(
                image,
                min_confidence=float(params["min_confidence"]),
                short_line_confidence=float(params["short_line_confidence"]),
                thorough=bool(params["thorough"]),
            )
            return Findings(text=tuple(found))

        defaults = {"min_confidence": 50.0, "short_line_confidence": SHORT_LINE_CONFIDENCE, "thorough": False}
        return LocalAnalyzer("text", model.name, model.version, run, cpu, defaults=defaults)

    def moderation() -> Analyzer:
        from indexer.recognizers.local.moderation import OpenNsfwModerator

        model = OpenNsfwModerator()

        def run(image: Image.Image, params: Mapping[str, Any]) -> Findings:
            found = model.moderate(image, min_confidence=float(params["min_confidence"]))
            return Findings(moderation=tuple(found))

        return LocalAnalyzer(
            "moderation", model.name, model.version, run, cpu, defaults={"min_confidence": 50.0}
        )

    def properties() -> Analyzer:
        from indexer.recognizers.local.properties import image_properties

        def run(image: Image.Image, params: Mapping[str, Any]) -> Findings:
            return Findings(properties=image_properties(image))

        # Measurements, not a learned model: the version changes when the formulas do (2: the tone).
        return LocalAnalyzer("properties", "image-statistics", "2", run, cpu)

    factories: Factories = {
        ("labels", PROVIDER): labels,
        ("features", PROVIDER): features,
        ("objects", PROVIDER): objects,
        ("faces", PROVIDER): faces,
        ("people", PROVIDER): people,
        ("text", PROVIDER): text,
        ("moderation", PROVIDER): moderation,
        ("properties", PROVIDER): properties,
    }
    return ProviderParts(factories)
