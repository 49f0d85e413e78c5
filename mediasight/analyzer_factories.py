"""The analyzers the server can run: local ones, each built lazily (models load on first use, once), and
Amazon Rekognition's once its client exists."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from PIL import Image

from catalog.domain.model import Findings
from catalog.domain.ports import CatalogStore
from indexer.analyzers import LabelsAnalyzer, LocalAnalyzer
from indexer.cpu import CpuPool
from indexer.recognizers.ports import Analyzer, LabelModel
from mediasight.settings import Settings

if TYPE_CHECKING:
    from indexer.recognizers.rekognition.analyzer import OriginalLookup
    from indexer.recognizers.rekognition.faces import RekognitionFaceCollections

Factories = dict[tuple[str, str], Callable[[], Analyzer]]


def _one_opencv_thread() -> None:
    """Our CPU pool already runs a thread per core; OpenCV's own threads would oversubscribe them."""
    import cv2

    cv2.setNumThreads(1)


def local_factories(settings: Settings, cpu: CpuPool, labeler: LabelModel | None = None) -> Factories:
    """`labeler` lets unit tests put a fake at the recognizer port."""

    def labels() -> Analyzer:
        model = labeler
        if model is None:
            from indexer.recognizers.local.labels import EfficientNetLabeler

            model = EfficientNetLabeler(settings.model_dir)
        return LabelsAnalyzer(
            model, cpu, min_confidence=settings.label_min_confidence, max_labels=settings.label_max_labels
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

    return {
        ("labels", "local"): labels,
        ("faces", "local"): faces,
        ("people", "local"): people,
        ("text", "local"): text,
        ("moderation", "local"): moderation,
        ("properties", "local"): properties,
    }


def rekognition_providers(
    settings: Settings,
    client: Any,  # an entered aiobotocore Rekognition client
    catalog: CatalogStore,
    cpu: CpuPool,
    *,
    s3_bucket: str | None,
    original_info: OriginalLookup | None,
) -> tuple[Factories, RekognitionFaceCollections]:
    """The Rekognition analyzers, and the tenants' face collections that its "faces" analyzer indexes into
    (IndexFaces instead of DetectFaces, so faces named, matched and searched by photo work on Rekognition).
    Every operation has its own token bucket at MEDIASIGHT_REKOGNITION_TPS, shared by all of them."""
    from indexer.recognizers.rekognition import analyzer as rk
    from indexer.recognizers.rekognition.face_indexer import (
        RekognitionFaceIndexer,
        asset_of_original,
    )
    from indexer.recognizers.rekognition.faces import RekognitionFaceCollections

    buckets = rk.make_buckets(dict.fromkeys(rk.DEFAULT_TPS, settings.rekognition_tps))
    label_defaults = {
        "min_confidence": settings.label_min_confidence,
        "max_labels": settings.label_max_labels,
    }
    factories = rk.rekognition_factories(
        client,
        s3_bucket=s3_bucket,
        original_info=original_info,
        buckets=buckets,
        cpu=cpu,
        defaults={"labels": label_defaults},
    )
    collections = RekognitionFaceCollections(
        client, prefix=settings.rekognition_collection_prefix, buckets=buckets, cpu=cpu
    )
    asset_of = asset_of_original(catalog)

    def faces() -> Analyzer:
        return RekognitionFaceIndexer(
            client,
            collections,
            asset_of,
            s3_bucket=s3_bucket,
            original_info=original_info,
            buckets=buckets,
            cpu=cpu,
        )

    factories[("faces", rk.PROVIDER)] = faces
    return factories, collections
