"""Analyzers as the pipeline runs them: local models behind the Analyzer port, picked per tenant."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import numpy as np
from PIL import Image

from catalog.domain.model import FeatureVector, Findings, Label
from indexer.batcher import InferenceBatcher
from indexer.cpu import CpuPool
from indexer.recognizers.ports import AnalysisInput, Analyzer, FeatureLabelModel, LabelModel, has_features

# Every image analyzer, in the order results are shown; "embedding" runs after them, on their output.
# "embedded" is no model: it reads the metadata that came with the file (provenance `embedded`).
# "features" is the local classifier's feature vector alone (custom concepts learn from it), for tenants
# whose labels come from elsewhere: local labels give it from the same forward pass.
IMAGE_ANALYZERS = (
    "labels",
    "objects",
    "faces",
    "people",
    "text",
    "moderation",
    "properties",
    "embedded",
    "features",
)

Labelled = tuple[list[Label], FeatureVector | None]
# Labels below min_confidence an image keeps when it has no other (catalog.domain.metadata drops them when
# another analyzer is sure of something): the floor of the detector's own labels.
TENTATIVE_CONFIDENCE = 25.0


def feature_vector(model: FeatureLabelModel, values: np.ndarray) -> FeatureVector:
    """Float16 bytes: half the size, and the probes' precision is far coarser than float16's."""
    return FeatureVector(model.feature_version, np.asarray(values, dtype="<f2").tobytes())


class UnknownAnalyzerError(ValueError):
    pass


class LabelsAnalyzer:
    """Local labels: micro-batched inference, Rekognition-style MinConfidence / MaxLabels per call, and
    tentative labels (an image no label is sure of keeps its best class down to tentative_confidence)."""

    name = "labels"
    provider = "local"

    def __init__(
        self,
        model: LabelModel,
        cpu: CpuPool,
        *,
        min_confidence: float,
        max_labels: int,
        tentative_confidence: float = TENTATIVE_CONFIDENCE,
    ) -> None:
        self._model = model
        self._cpu = cpu
        self.defaults: Mapping[str, float | int | str | bool] = {
            "min_confidence": min_confidence,
            "max_labels": max_labels,
            "tentative_confidence": tentative_confidence,
        }
        # One batcher per parameter set (in practice one: the defaults), so each forward pass makes only
        # the labels its callers keep.
        self._batchers: dict[tuple[float, int, float], InferenceBatcher[Image.Image, Labelled]] = {}

    @property
    def picture_side(self) -> int:
        return self._model.input_size

    def _batcher(self, key: tuple[float, int, float]) -> InferenceBatcher[Image.Image, Labelled]:
        if key not in self._batchers:
            self._batchers[key] = InferenceBatcher(
                lambda batch: self._infer(batch, *key), self._cpu, self._model.prepare
            )
        return self._batchers[key]

    def _infer(
        self, batch: np.ndarray, min_confidence: float, max_labels: int, tentative: float
    ) -> list[Labelled]:
        """Labels, and the features of the same forward pass when the model gives them."""
        # a floor at or above min_confidence adds nothing: 100+ turns tentative labels off
        floor = tentative if tentative < min_confidence else None
        if not has_features(self._model):
            found = self._model.predict(
                batch, min_confidence=min_confidence, max_labels=max_labels, tentative_confidence=floor
            )
            return [(labels, None) for labels in found]
        model = cast(FeatureLabelModel, self._model)
        both = model.predict_with_features(
            batch, min_confidence=min_confidence, max_labels=max_labels, tentative_confidence=floor
        )
        return [(labels, feature_vector(model, values)) for labels, values in both]

    @property
    def model_name(self) -> str:
        return self._model.name

    @property
    def model_version(self) -> str:
        # "+dct": the classifier reads the preview decoded at the coarsest JPEG scale that keeps its input
        # size (AnalysisInput.picture), where it read the whole preview: confidences moved by up to 3.3
        # points on 13 photos (top class unchanged), so runs say which input they had.
        return f"{self._model.version}+dct"

    async def analyze(self, item: AnalysisInput, params: Mapping[str, Any]) -> Findings:
        key = (
            float(params.get("min_confidence", self.defaults["min_confidence"])),
            int(params.get("max_labels", self.defaults["max_labels"])),
            float(params.get("tentative_confidence", self.defaults["tentative_confidence"])),
        )
        picture = await item.picture(self._cpu, min_side=self.picture_side)
        labels, features = await self._batcher(key).submit(picture)
        return Findings(labels=tuple(labels), features=features)


class FeaturesAnalyzer:
    """The classifier's feature vector alone (no labels): micro-batched like the labels."""

    name = "features"
    provider = "local"
    defaults: Mapping[str, float | int | str | bool] = {}

    def __init__(self, model: FeatureLabelModel, cpu: CpuPool) -> None:
        self._model = model
        self._cpu = cpu
        self._batcher = InferenceBatcher(
            lambda batch: [feature_vector(model, v) for v in model.features(batch)], cpu, model.prepare
        )

    @property
    def picture_side(self) -> int:
        return self._model.input_size

    @property
    def model_name(self) -> str:
        return self._model.name

    @property
    def model_version(self) -> str:
        return self._model.feature_version

    async def analyze(self, item: AnalysisInput, params: Mapping[str, Any]) -> Findings:
        # the picture the labels analyzer reads: the same vectors whichever of the two made them
        picture = await item.picture(self._cpu, min_side=self.picture_side)
        return Findings(features=await self._batcher.submit(picture))


@dataclass
class LocalAnalyzer:
    """A blocking local model function run in the CPU pool: (image, params) → Findings."""

    name: str
    model_name: str
    model_version: str
    run: Callable[[Image.Image, Mapping[str, Any]], Findings]
    cpu: CpuPool
    defaults: Mapping[str, float | int | str | bool] = field(default_factory=dict)
    provider: str = "local"
    picture_side: ClassVar[int] = 0  # reads the whole picture

    async def analyze(self, item: AnalysisInput, params: Mapping[str, Any]) -> Findings:
        return await self.cpu.run(self.run, await item.picture(self.cpu), {**self.defaults, **params})


@dataclass
class SharingAnalyzer:
    """A local analyzer that uses work other analyzers of the same image share (AnalysisInput.shared, e.g.
    the object detector's boxes): (item, params) → Findings, blocking parts in the CPU pool."""

    name: str
    model_name: str
    model_version: str
    run: Callable[[AnalysisInput, Mapping[str, Any]], Awaitable[Findings]]
    defaults: Mapping[str, float | int | str | bool] = field(default_factory=dict)
    provider: str = "local"
    picture_side: ClassVar[int] = 0  # the local detectors read the whole picture

    async def analyze(self, item: AnalysisInput, params: Mapping[str, Any]) -> Findings:
        return await self.run(item, {**self.defaults, **params})


@dataclass(frozen=True)
class AnalyzerChoice:
    """Which analyzers run for a tenant, with which provider each, and the tenant's own settings of them."""

    analyzers: tuple[str, ...]
    providers: Mapping[str, str]
    parameters: Mapping[str, Mapping[str, object]] = field(default_factory=dict)

    def provider_of(self, analyzer: str) -> str:
        return self.providers.get(analyzer, "local")

    def parameters_of(self, analyzer: Analyzer, asked: Mapping[str, object]) -> dict[str, object]:
        """The tenant's settings of this analyzer that it has (a setting of another provider's analyzer
        is left out), overridden by `asked` (a reprocess batch's)."""
        own = self.parameters.get(analyzer.name, {})
        return {**{k: v for k, v in own.items() if k in analyzer.defaults}, **asked}


def validate_choice(
    analyzers: Sequence[str], providers: Mapping[str, str], known_providers: Collection[str]
) -> AnalyzerChoice:
    """The choice, checked against the image analyzers and the providers the server knows (its registry)."""
    unknown = [a for a in (*analyzers, *providers) if a not in IMAGE_ANALYZERS]
    if unknown:
        raise UnknownAnalyzerError(f"unknown analyzer(s) {unknown}: choose from {', '.join(IMAGE_ANALYZERS)}")
    bad = [p for p in providers.values() if p not in known_providers]
    if bad:
        raise UnknownAnalyzerError(f"unknown provider(s) {bad}: choose from {', '.join(known_providers)}")
    ordered = tuple(a for a in IMAGE_ANALYZERS if a in analyzers)
    return AnalyzerChoice(ordered, dict(providers))


class AnalyzerRegistry:
    """Builds each (analyzer, provider) once, on first use: models load lazily, once per process."""

    def __init__(self, factories: Mapping[tuple[str, str], Callable[[], Analyzer]]) -> None:
        self._factories = dict(factories)
        self._built: dict[tuple[str, str], Analyzer] = {}

    def register(self, factories: Mapping[tuple[str, str], Callable[[], Analyzer]]) -> None:
        """Add providers that need async set-up (a cloud client) once it is done."""
        self._factories.update(factories)

    def get(self, name: str, provider: str) -> Analyzer:
        key = (name, provider)
        if key not in self._built:
            factory = self._factories.get(key)
            if factory is None:
                raise UnknownAnalyzerError(
                    f"analyzer {name!r} has no {provider!r} provider configured on this server"
                )
            self._built[key] = factory()
        return self._built[key]

    def offers(self, name: str, provider: str) -> bool:
        """Can this server run `name` with `provider` (without building it)?"""
        return (name, provider) in self._factories

    def select(self, choice: AnalyzerChoice) -> list[Analyzer]:
        return [self.get(name, choice.provider_of(name)) for name in choice.analyzers]

    def picture_sides(self, choice: AnalyzerChoice) -> frozenset[int]:
        """The pictures (by min_side, AnalysisInput.picture) the chosen local analyzers read, so whoever
        makes the preview can decode them in the same hop; an analyzer this server lacks adds none."""
        sides = set()
        for name in choice.analyzers:
            try:
                analyzer = self.get(name, choice.provider_of(name))
            except UnknownAnalyzerError:  # the run fails with this error where it is made
                continue
            side = getattr(analyzer, "picture_side", None)
            if isinstance(side, int):
                sides.add(side)
        return frozenset(sides)
