"""The local provider: analyzers over models shipped in PyPI packages, each built lazily (models load on
first use, once). mediasight/providers.py registers it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from PIL import Image

from catalog.domain.model import Findings
from indexer.analyzers import FeaturesAnalyzer, LabelsAnalyzer, LocalAnalyzer
from indexer.cpu import CpuPool
from indexer.recognizers.ports import (
    Analyzer,
    AnalyzerInputError,
    Factories,
    FeatureLabelModel,
    LabelModel,
    ProviderParts,
    has_features,
)

PROVIDER = "local"


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

    def objects() -> Analyzer:
        from indexer.recognizers.local.objects import CenterNetDetector, object_labels

        model = CenterNetDetector(config.model_dir)

        def run(image: Image.Image, params: Mapping[str, Any]) -> Findings:
            found = model.detect(image, min_confidence=float(params["min_confidence"]))
            return Findings(labels=object_labels(found, model.ancestor_parents))

        return LocalAnalyzer(
            "objects", model.name, model.version, run, cpu, defaults={"min_confidence": 25.0}
        )

    def faces() -> Analyzer:
        from indexer.recognizers.local.faces import DlibFaceRecognizer

        # upsample is fixed per detector instance: one instance per value asked for, made on first use.
        by_upsample = {1: DlibFaceRecognizer(upsample=1)}

        def run(image: Image.Image, params: Mapping[str, Any]) -> Findings:
            upsample = int(params["upsample"])
            model = by_upsample.get(upsample) or by_upsample.setdefault(
                upsample, DlibFaceRecognizer(upsample=upsample)
            )
            found = model.detect(image)
            return Findings(faces=tuple(f for f in found if f.confidence >= float(params["min_confidence"])))

        model = by_upsample[1]
        return LocalAnalyzer(
            "faces", model.name, model.version, run, cpu, defaults={"upsample": 1, "min_confidence": 0.0}
        )

    def people() -> Analyzer:
        from indexer.recognizers.local.people import HogPeopleDetector

        _one_opencv_thread()
        model = HogPeopleDetector()

        def run(image: Image.Image, params: Mapping[str, Any]) -> Findings:
            found = model.detect(image)
            return Findings(people=tuple(i for i in found if i.confidence >= float(params["min_confidence"])))

        # OpenCV's HOG also fires on helmets, rockets and pages of text at 80–86: only confident bodies count.
        # (Faces make Person on their own; see catalog.domain.metadata.)
        return LocalAnalyzer("people", model.name, model.version, run, cpu, defaults={"min_confidence": 90.0})

    def text() -> Analyzer:
        from indexer.recognizers.local.text import RapidOcrReader

        _one_opencv_thread()
        model = RapidOcrReader()

        def run(image: Image.Image, params: Mapping[str, Any]) -> Findings:
            # The reader filters: dropping lines afterwards would leave WORD parent indexes pointing astray.
            return Findings(text=tuple(model.read(image, min_confidence=float(params["min_confidence"]))))

        return LocalAnalyzer("text", model.name, model.version, run, cpu, defaults={"min_confidence": 50.0})

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

        # Measurements, not a learned model: the version changes when the formulas do.
        return LocalAnalyzer("properties", "image-statistics", "1", run, cpu)

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
