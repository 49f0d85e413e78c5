"""The per-asset state machine: stored → renditions → analyzed → indexed.

Each step is idempotent and persists its stage before the next starts, so a process killed at any point
resumes from the last finished step. The original is decoded once: the same decoded image feeds the
renditions and the model input.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image

from catalog.model import Asset, Label, RecognitionResult, Rendition, Stage
from catalog.ports import BlobStore, CatalogStore, IndexDocument, SearchIndex
from catalog.sqlite_db import utcnow
from indexer.batcher import InferenceBatcher
from indexer.cpu import CpuPool
from indexer.recognizers.ports import LabelModel
from indexer.renditions import PREVIEW_MAX, PREVIEW_MIN, decode, renditions

log = logging.getLogger(__name__)

LABELS = "labels"


@dataclass(frozen=True)
class LabelSettings:
    min_confidence: float
    max_labels: int


class PermanentError(Exception):
    """A failure that retrying cannot fix (the asset ends FAILED with this reason)."""


def rendition_key(asset: Asset, kind: str) -> str:
    return f"renditions/{asset.tenant_id}/{asset.id}/{kind}.jpg"


def to_index_document(asset: Asset, labels: tuple[Label, ...]) -> IndexDocument:
    return IndexDocument(
        tenant_id=asset.tenant_id,
        asset_id=asset.id,
        filename=asset.filename,
        media_type=asset.media_type,
        created_at=asset.created_at,
        captured_at=asset.captured_at,
        labels=labels,
    )


class Pipeline:
    def __init__(
        self,
        catalog: CatalogStore,
        blobs: BlobStore,
        index: SearchIndex,
        cpu: CpuPool,
        labeler: LabelModel,
        label_settings: LabelSettings,
        *,
        max_pixels: int,
    ) -> None:
        self._catalog = catalog
        self._blobs = blobs
        self._index = index
        self._cpu = cpu
        self._labeler = labeler
        self._label_settings = label_settings
        self._max_pixels = max_pixels
        self._batcher: InferenceBatcher[list[Label]] = InferenceBatcher(self._predict, cpu)

    def _predict(self, batch: np.ndarray) -> list[list[Label]]:
        s = self._label_settings
        return self._labeler.predict(batch, min_confidence=s.min_confidence, max_labels=s.max_labels)

    async def process(self, tenant_id: str, asset_id: str) -> Stage | None:
        """Advance the asset to INDEXED; returns the final stage, or None if the asset no longer exists."""
        asset = await self._catalog.get_asset(tenant_id, asset_id)
        if asset is None:
            return None
        model_input: np.ndarray | None = None
        if asset.status == Stage.STORED:
            model_input = await self._make_renditions(asset)
            asset = await self._advance(asset, Stage.RENDITIONS)
        if asset.status == Stage.RENDITIONS:
            if model_input is None:  # resumed after a restart: the preview is a faithful, cheap source
                model_input = await self._input_from_preview(asset)
            await self._analyze(asset, model_input)
            asset = await self._advance(asset, Stage.ANALYZED)
        if asset.status == Stage.ANALYZED:
            labels = (await self._catalog.get_labels(tenant_id, [asset.id])).get(asset.id, ())
            await self._index.upsert(to_index_document(asset, labels))
            asset = await self._advance(asset, Stage.INDEXED)
        return asset.status

    async def _advance(self, asset: Asset, stage: Stage) -> Asset:
        await self._catalog.set_stage(asset.tenant_id, asset.id, stage)
        return dataclasses.replace(asset, status=stage, error=None)

    def _decode_render_prepare(self, data: bytes) -> tuple[list[tuple[str, bytes, int, int]], np.ndarray]:
        # The original was probed at ingest and is content-addressed: its bytes are the ones that passed.
        image = decode(data, target=PREVIEW_MAX, floor=PREVIEW_MIN, max_pixels=self._max_pixels, probed=True)
        made = [(r.kind, r.data, r.width, r.height) for r in renditions(image)]
        return made, self._labeler.prepare(image)

    async def _make_renditions(self, asset: Asset) -> np.ndarray:
        data = await self._blobs.get(asset.blob_key)
        made, model_input = await self._cpu.run(self._decode_render_prepare, data)
        stored = []
        for kind, payload, width, height in made:
            key = rendition_key(asset, kind)
            await self._blobs.put(key, payload, "image/jpeg")
            stored.append(Rendition(kind=kind, blob_key=key, width=width, height=height))
        await self._catalog.set_renditions(asset.tenant_id, asset.id, stored)
        return model_input

    def _prepare_preview(self, data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as img:
            return self._labeler.prepare(img.convert("RGB"))

    async def _input_from_preview(self, asset: Asset) -> np.ndarray:
        preview = next((r for r in asset.renditions if r.kind == "preview"), None)
        if preview is None:
            raise PermanentError("the asset has no preview rendition to analyze")
        return await self._cpu.run(self._prepare_preview, await self._blobs.get(preview.blob_key))

    async def _analyze(self, asset: Asset, model_input: np.ndarray) -> None:
        started = time.perf_counter()
        labels = await self._batcher.submit(model_input)
        s = self._label_settings
        await self._catalog.save_result(
            asset.tenant_id,
            RecognitionResult(
                asset_id=asset.id,
                analyzer=LABELS,
                model_name=self._labeler.name,
                model_version=self._labeler.version,
                parameters={"min_confidence": s.min_confidence, "max_labels": s.max_labels},
                labels=tuple(labels),
                duration_ms=(time.perf_counter() - started) * 1000,
                created_at=utcnow(),
            ),
        )
