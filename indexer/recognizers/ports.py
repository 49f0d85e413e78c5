"""Recognizer ports: what the pipeline needs from a model, whatever runs it."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

import numpy as np
from PIL import Image

from catalog.domain.model import Findings, Label
from catalog.domain.model_census import ModelRef
from indexer.imaging import in_one_call

if TYPE_CHECKING:
    from indexer.cpu import CpuPool


class LabelModel(Protocol):
    """A label recognizer. Thread-safe after load; prepare() and predict() are blocking CPU work."""

    name: str  # e.g. "efficientnet-lite0-imagenet1k"
    version: str  # e.g. "1.0" (+ weights hash prefix is good)
    input_size: int  # the square side prepare() brings an image to (the picture it is given may be ≥ it)

    def prepare(self, image: Image.Image) -> np.ndarray:
        """RGB PIL image of any size -> float32 CHW input."""
        ...

    def predict(
        self,
        batch: np.ndarray,
        *,
        min_confidence: float,
        max_labels: int,
        tentative_confidence: float | None = None,
    ) -> list[list[Label]]:
        """NCHW batch of prepare() outputs -> labels per image, highest confidence first. An image with no
        label at min_confidence may keep its best specific label (and its parents) down to
        tentative_confidence; a model without such a notion ignores it."""
        ...


class FeatureLabelModel(LabelModel, Protocol):
    """A label model that also gives each image's feature vector from the same forward pass (what custom
    concepts learn from). `feature_version` names the vectors: those of different versions don't mix."""

    feature_version: str

    def predict_with_features(
        self,
        batch: np.ndarray,
        *,
        min_confidence: float,
        max_labels: int,
        tentative_confidence: float | None = None,
    ) -> list[tuple[list[Label], np.ndarray]]: ...

    def features(self, batch: np.ndarray) -> np.ndarray:
        """NCHW batch -> (N, D) float32 features."""
        ...


def has_features(model: LabelModel) -> bool:
    """True for a FeatureLabelModel (a plain LabelModel, e.g. a test fake, gives labels only)."""
    return hasattr(model, "predict_with_features") and hasattr(model, "feature_version")


class AnalyzerInputError(Exception):
    """The provider refused this image or these parameters: retrying cannot help (the asset fails)."""


T = TypeVar("T")


@dataclass(frozen=True)
class WorkKey(Generic[T]):
    """Names one piece of shared work and the type of its result, e.g. WorkKey[list[Box]]("detector")."""

    name: str


class SharedWork:
    """Work on one image that several analyzers need (the local object detector's boxes feed objects,
    people and faces), done once by whichever analyzer asks first; the others await the same result.

    It lives and dies with its AnalysisInput, inside one event loop: analyzers of one image run
    concurrently (asyncio.gather), so the first ask starts a task and later asks await it. A failure
    reaches every analyzer that asked; one asker's cancellation does not cancel the work for the others.
    """

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Future[Any]] = {}

    async def get(self, key: WorkKey[T], compute: Callable[[], Awaitable[T]]) -> T:
        task = self._tasks.get(key.name)
        if task is None:
            task = self._tasks[key.name] = asyncio.ensure_future(compute())
        return cast(T, await asyncio.shield(task))


@dataclass(frozen=True)
class AnalysisInput:
    """One asset's picture as every analyzer receives it: the preview JPEG, decoded on first use at the scale
    an analyzer asks for, once per scale, shared by all (`picture`)."""

    jpeg: bytes  # the preview as JPEG: also what a remote provider is sent when it cannot read the original
    original_key: str  # blob key of the untouched original (a provider with access to the store reads it)
    original_size: tuple[int, int] = (0, 0)  # the original's upright width and height
    image: Image.Image | None = None  # the picture already decoded, whole (a video's keyframe, a query face)
    # pictures decoded from `jpeg` ahead, by min_side (the pipeline decodes them where it made the preview)
    pictures: Mapping[int, Image.Image] = field(default_factory=dict, compare=False, repr=False)
    shared: SharedWork = field(default_factory=SharedWork, compare=False, repr=False)  # work done once

    async def picture(self, cpu: CpuPool | None = None, *, min_side: int = 0) -> Image.Image:
        """Upright 8-bit RGB, long side ≤ 1024: whole, or decoded at the coarsest JPEG DCT scale (1/2, 1/4,
        1/8) that keeps both sides ≥ min_side (a classifier of 224 px reads a 1000 px preview at 500 px: a
        quarter of the decoding, and of its own resampling). Decoded on the CPU pool (a thread without one);
        the same bytes and min_side give the same pixels at ingest and on every reprocess."""
        if self.image is not None:
            return self.image
        if (ready := self.pictures.get(min_side)) is not None:
            return ready
        key: WorkKey[Image.Image] = WorkKey(f"picture/{min_side}")
        if cpu is None:
            return await self.shared.get(key, lambda: asyncio.to_thread(decode_picture, self.jpeg, min_side))
        return await self.shared.get(key, lambda: cpu.run(decode_picture, self.jpeg, min_side))


def decode_picture(jpeg: bytes, min_side: int = 0) -> Image.Image:
    """See AnalysisInput.picture (blocking)."""
    with in_one_call(Image.open(io.BytesIO(jpeg)), len(jpeg)) as img:
        if min_side > 0:
            img.draft("RGB", (min_side, min_side))  # keeps both sides ≥ the box; a no-op for other formats
        return img.convert("RGB")


class Analyzer(Protocol):
    """One analyzer (labels, faces, people, text, moderation, properties) from one provider."""

    @property
    def name(self) -> str: ...
    @property
    def provider(self) -> str:  # "local" | "rekognition"
        ...
    @property
    def model_name(self) -> str: ...
    @property
    def model_version(self) -> str: ...
    @property
    def defaults(self) -> Mapping[str, float | int | str | bool]:  # parameters and their default values
        ...

    async def analyze(self, item: AnalysisInput, params: Mapping[str, Any]) -> Findings: ...


class TextEmbedder(Protocol):
    """Text → unit vectors; blocking CPU work."""

    name: str
    version: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def model_of(analyzer: Analyzer) -> ModelRef:
    """The model the analyzer's runs record (catalog.domain.model_census compares them)."""
    return ModelRef(analyzer.provider, analyzer.model_name, analyzer.model_version)


def embedder_model(embedder: TextEmbedder) -> ModelRef:
    """The model an embedding run records (the embedders are local models)."""
    return ModelRef("local", embedder.name, embedder.version)


# Remote face collections: a provider that indexes faces itself (Rekognition) answers face searches.


@dataclass(frozen=True)
class RemoteFace:
    asset_id: str  # the ExternalImageId the face was indexed with
    face_id: str


@dataclass(frozen=True)
class RemoteMatch:
    asset_id: str  # the ExternalImageId the face was indexed with
    face_id: str
    similarity: float  # 0–100


class NoFaceFound(ValueError):
    """The image sent for a face search shows no face the remote collection can search with."""


class RemoteFaceIndex(Protocol):
    """A tenant-partitioned face collection of a provider (Rekognition: one collection per tenant)."""

    async def search_face(
        self, tenant_id: str, face_id: str, *, min_similarity: float, limit: int
    ) -> list[RemoteMatch]:
        """Faces matching an indexed face (never the face itself), most similar first."""
        ...

    async def search_image(
        self, tenant_id: str, image: Image.Image, *, min_similarity: float, limit: int
    ) -> list[RemoteMatch]:
        """Faces matching the largest face in the image; NoFaceFound if it has none."""
        ...

    async def delete(self, tenant_id: str, face_ids: Sequence[str]) -> None: ...

    async def list_faces(self, tenant_id: str) -> list[RemoteFace]:
        """Every face in the tenant's collection."""
        ...

    async def drop_collection(self, tenant_id: str) -> bool:
        """Delete the tenant's whole collection (a tenant's deletion); False when it had none."""
        ...


class RemoteUnavailable(LookupError):
    """The remote collection cannot answer: none is configured on this server, or the provider is down.
    The message says which, and what to do (enable it; try again later)."""


# Providers: each folder under indexer/recognizers/ offers its analyzers (and maybe its face collections);
# mediasight/providers.py is the registry that opens them from the settings.

Factories = dict[tuple[str, str], Callable[[], Analyzer]]  # (analyzer, provider) -> builds it on first use


@dataclass(frozen=True)
class ProviderParts:
    """What an opened provider offers: its analyzers, and the face collections its faces analyzer indexes
    into when it keeps faces itself (Rekognition)."""

    factories: Factories
    face_index: RemoteFaceIndex | None = None
