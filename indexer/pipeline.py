"""The per-asset state machine: stored → renditions → analyzed → indexed.

Each step is idempotent and persists its stage before the next starts, so a process killed at any point
resumes from the last finished step. The original is decoded once: the same decoded image feeds the
renditions and every analyzer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from PIL import Image

from catalog.face_identity import SAME_PERSON_SIMILARITY
from catalog.ids import uuid7
from catalog.metadata import current_labels, index_document, metadata_text, text_lines
from catalog.model import (
    Asset,
    FaceRef,
    Findings,
    RecognitionResult,
    Rendition,
    ReprocessBatch,
    RunStatus,
    Stage,
)
from catalog.ports import BlobStore, CatalogStore, FaceCollection, IndexDocument, SearchIndex
from catalog.sqlite_db import utcnow
from indexer.analyzers import AnalyzerChoice, AnalyzerRegistry
from indexer.cpu import CpuPool
from indexer.recognizers.ports import AnalysisInput, Analyzer, TextEmbedder
from indexer.renditions import PREVIEW_MAX, PREVIEW_MIN, decode, difference_hash, renditions
from indexer.reprocess import batch_choice
from indexer.versions import root_id

log = logging.getLogger(__name__)

EMBEDDING = "embedding"


class PermanentError(Exception):
    """A failure that retrying cannot fix (the asset ends FAILED with this reason)."""


class NotReadyError(Exception):
    """The job came too early (its asset is still in the pipeline): retried later like any failure."""


def rendition_key(asset: Asset, kind: str) -> str:
    return f"renditions/{asset.tenant_id}/{asset.id}/{kind}.jpg"


class Pipeline:
    def __init__(
        self,
        catalog: CatalogStore,
        blobs: BlobStore,
        index: SearchIndex,
        faces: FaceCollection,
        cpu: CpuPool,
        analyzers: AnalyzerRegistry,
        choose: Callable[[str], Awaitable[AnalyzerChoice]],
        embedder: TextEmbedder | None,
        *,
        max_pixels: int,
    ) -> None:
        self._catalog = catalog
        self._blobs = blobs
        self._index = index
        self._faces = faces
        self._cpu = cpu
        self._analyzers = analyzers
        self._choose = choose
        self._embedder = embedder
        self._max_pixels = max_pixels

    async def process(self, tenant_id: str, asset_id: str) -> Stage | None:
        """Advance the asset to INDEXED; returns the final stage, or None if the asset no longer exists."""
        asset = await self._catalog.get_asset(tenant_id, asset_id)
        if asset is None:
            return None
        item: AnalysisInput | None = None
        if asset.status == Stage.STORED:
            item = await self._make_renditions(asset)
            asset = await self._advance(asset, Stage.RENDITIONS)
        if asset.status == Stage.RENDITIONS:
            if item is None:  # resumed after a restart: the preview is a faithful, cheap source
                item = await self._input_from_preview(asset)
            await self.analyze(asset, item)
            asset = await self._advance(asset, Stage.ANALYZED)
        if asset.status == Stage.ANALYZED:
            await self.reindex(asset)
            asset = await self._advance(asset, Stage.INDEXED)
        return asset.status

    async def refresh(self, tenant_id: str, asset_id: str) -> None:
        """After metadata changed outside the pipeline (a face named): embed and index again."""
        asset = await self._catalog.get_asset(tenant_id, asset_id)
        if asset is None or asset.status != Stage.INDEXED:
            return  # an unfinished asset picks the change up when it reaches those steps
        await self._catalog.mark_changed(tenant_id, [asset_id])  # a name is current metadata too
        if self._embedder is not None:
            await self._embed(asset)
        await self.reindex(asset)

    async def reprocess(self, tenant_id: str, asset_id: str, batch: ReprocessBatch) -> bool:
        """Analyze an indexed asset again as the batch asks (from its preview); True if anything changed."""
        asset = await self._catalog.get_asset(tenant_id, asset_id)
        if asset is None:
            raise PermanentError("the asset was deleted")
        if asset.status == Stage.FAILED:
            raise PermanentError(f"the asset failed processing and has nothing to reprocess: {asset.error}")
        if asset.status != Stage.INDEXED:
            raise NotReadyError("the asset is still being processed; its reprocessing waits for it")
        item = await self._input_from_preview(asset)
        choice = batch_choice(await self._choose(tenant_id), batch)
        changed = await self.analyze(asset, item, params=batch.parameters, choice=choice, batch_id=batch.id)
        # Always: an earlier attempt may have saved changed runs and then failed before re-indexing.
        await self.reindex(asset)
        return changed

    async def reindex(self, asset: Asset) -> None:
        """Write the asset's index document from the catalog (the truth): idempotent."""
        await self._index.upsert(await self.expected_document(asset))

    async def expected_document(self, asset: Asset) -> IndexDocument:
        """The asset's index document as the catalog (the truth) makes it now; what reindex writes."""
        return (await self.expected_documents([asset]))[0]

    async def expected_documents(self, assets: Sequence[Asset]) -> list[IndexDocument]:
        """expected_document of each asset (of any tenants), with a few batched catalog reads per tenant."""
        by_tenant: dict[str, list[str]] = {}
        for asset in assets:
            by_tenant.setdefault(asset.tenant_id, []).append(asset.id)
        results: dict[tuple[str, str], dict[str, RecognitionResult]] = {}
        names: dict[tuple[str, str], list[str]] = {}
        for tenant, ids in by_tenant.items():
            for asset_id, found in (await self._catalog.get_results(tenant, ids)).items():
                results[tenant, asset_id] = found
            # Only assets with faces can show named persons: skip the face-collection lookup otherwise.
            with_faces = [
                i
                for i in ids
                if (r := results.get((tenant, i))) and "faces" in r and r["faces"].findings.faces
            ]
            for asset_id, persons in (await self._persons_of(tenant, with_faces)).items():
                names[tenant, asset_id] = persons
        roots = await asyncio.gather(*(root_id(self._catalog, a) for a in assets))
        return [
            index_document(a, results.get((a.tenant_id, a.id), {}), names.get((a.tenant_id, a.id), []), root)
            for a, root in zip(assets, roots, strict=True)
        ]

    async def _person_names(self, asset: Asset) -> list[str]:
        return (await self._persons_of(asset.tenant_id, [asset.id])).get(asset.id, [])

    async def _persons_of(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[str, list[str]]:
        """Names of the persons whose faces each asset shows, in face order (assets without: absent)."""
        if not asset_ids:
            return {}
        linked = await self._faces.face_persons(tenant_id, asset_ids)
        if not linked:
            return {}
        persons = await self._faces.persons(tenant_id, list(dict.fromkeys(linked.values())))
        out: dict[str, list[str]] = {}
        for face, pid in sorted(linked.items(), key=lambda kv: (kv[0].asset_id, kv[0].face_index)):
            out.setdefault(face.asset_id, []).append(persons[pid].name)
        return out

    async def _advance(self, asset: Asset, stage: Stage) -> Asset:
        await self._catalog.set_stage(asset.tenant_id, asset.id, stage)
        return dataclasses.replace(asset, status=stage, error=None)

    def _decode_and_render(self, data: bytes) -> tuple[Image.Image, list[tuple[str, bytes, int, int]], str]:
        # The original was probed at ingest and is content-addressed: its bytes are the ones that passed.
        image = decode(data, target=PREVIEW_MAX, floor=PREVIEW_MIN, max_pixels=self._max_pixels, probed=True)
        return image, [(r.kind, r.data, r.width, r.height) for r in renditions(image)], difference_hash(image)

    async def _make_renditions(self, asset: Asset) -> AnalysisInput:
        data = await self._blobs.get(asset.blob_key)
        image, made, phash = await self._cpu.run(self._decode_and_render, data)
        stored = []
        for kind, payload, width, height in made:
            key = rendition_key(asset, kind)
            await self._blobs.put(key, payload, "image/jpeg")
            stored.append(Rendition(kind=kind, blob_key=key, width=width, height=height))
        await self._catalog.set_renditions(asset.tenant_id, asset.id, stored)
        await self._catalog.set_phash(asset.tenant_id, asset.id, phash)
        preview_jpeg = next(payload for kind, payload, _, _ in made if kind == "preview")
        return AnalysisInput(image=image, jpeg=preview_jpeg, original_key=asset.blob_key)

    async def _input_from_preview(self, asset: Asset) -> AnalysisInput:
        preview = next((r for r in asset.renditions if r.kind == "preview"), None)
        if preview is None:
            raise PermanentError("the asset has no preview rendition to analyze")
        data = await self._blobs.get(preview.blob_key)

        def load() -> Image.Image:
            with Image.open(io.BytesIO(data)) as img:
                return img.convert("RGB")

        return AnalysisInput(image=await self._cpu.run(load), jpeg=data, original_key=asset.blob_key)

    async def analyze(
        self,
        asset: Asset,
        item: AnalysisInput,
        *,
        params: Mapping[str, Mapping[str, object]] | None = None,
        choice: AnalyzerChoice | None = None,
        batch_id: str | None = None,
    ) -> bool:
        """Run the analyzers (the tenant's, or `choice`) on one image and append a run for each, then
        the metadata embedding; True when any current result changed."""
        selected = self._analyzers.select(choice or await self._choose(asset.tenant_id))
        params = params or {}
        results = await asyncio.gather(
            *(self._run(asset, a, item, dict(params.get(a.name, {})), batch_id) for a in selected),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        changed = False
        for result in results:
            if isinstance(result, BaseException):
                continue
            if result.analyzer == "faces":
                result = await self._with_persons(asset, result)
            change = await self._catalog.save_result(asset.tenant_id, result)
            changed = changed or bool(change and change.changed)
        if failures:  # the runs that worked are kept; the job retries (or fails) as a whole
            raise failures[0]
        if self._embedder is not None:
            changed = await self._embed(asset, batch_id) or changed
        return changed

    async def _run(
        self,
        asset: Asset,
        analyzer: Analyzer,
        item: AnalysisInput,
        params: dict[str, object],
        batch_id: str | None,
    ) -> RecognitionResult:
        started, t0 = utcnow(), time.perf_counter()
        run = RecognitionResult(
            id=uuid7(),
            asset_id=asset.id,
            analyzer=analyzer.name,
            provider=analyzer.provider,
            model_name=analyzer.model_name,
            model_version=analyzer.model_version,
            parameters={**analyzer.defaults, **params},
            findings=Findings(),
            created_at=started,
            batch_id=batch_id,
        )
        try:
            findings = await analyzer.analyze(item, params)
        except Exception as exc:
            failed = dataclasses.replace(
                run,
                status=RunStatus.FAILED,
                error=f"{type(exc).__name__}: {exc}",
                finished_at=utcnow(),
                duration_ms=round((time.perf_counter() - t0) * 1000, 3),
            )
            await self._catalog.save_result(asset.tenant_id, failed)
            raise
        return dataclasses.replace(
            run,
            model_version=analyzer.model_version,  # a provider may report it with the answer
            findings=findings,
            duration_ms=round((time.perf_counter() - t0) * 1000, 3),
            finished_at=utcnow(),
        )

    async def _with_persons(self, asset: Asset, run: RecognitionResult) -> RecognitionResult:
        """Link the run's faces into the collection, and record in the run who each face is now (so a
        later run's diff can tell a person change)."""
        await self._link_faces(asset, run.findings)
        if not run.findings.faces:
            return run
        linked = await self._faces.face_persons(asset.tenant_id, [asset.id])
        faces = tuple(
            dataclasses.replace(face, person_id=linked.get(FaceRef(asset.id, i)))
            for i, face in enumerate(run.findings.faces)
        )
        return dataclasses.replace(run, findings=dataclasses.replace(run.findings, faces=faces))

    async def _link_faces(self, asset: Asset, findings: Findings) -> None:
        """Add the faces to the tenant's collection; a face matching a named one gets that person."""
        tenant, faces = asset.tenant_id, findings.faces
        await self._faces.index_faces(
            tenant,
            asset.id,
            [f.embedding for f in faces],
            boxes=[f.box for f in faces],
            face_ids=[f.face_id for f in faces],
        )
        for index, face in enumerate(faces):
            hits = await self._faces.matches(tenant, face, min_similarity=SAME_PERSON_SIMILARITY, limit=20)
            named = next((h for h in hits if h.person_id and h.face.asset_id != asset.id), None)
            if named is not None and named.person_id is not None:
                await self._faces.assign(tenant, [FaceRef(asset.id, index)], named.person_id)

    async def _embed(self, asset: Asset, batch_id: str | None = None) -> bool:
        """A new embedding run over the current metadata; True when the vector changed."""
        embedder = self._embedder
        assert embedder is not None
        results = (await self._catalog.get_results(asset.tenant_id, [asset.id])).get(asset.id, {})
        text = metadata_text(
            asset, current_labels(results), text_lines(results), await self._person_names(asset)
        )
        started, t0 = utcnow(), time.perf_counter()
        vector = await self._cpu.run(embedder.embed, [text])
        run = RecognitionResult(
            id=uuid7(),
            asset_id=asset.id,
            analyzer=EMBEDDING,
            model_name=embedder.name,
            model_version=embedder.version,
            parameters={"text": text},
            findings=Findings(embedding=tuple(float(v) for v in vector[0])),
            duration_ms=round((time.perf_counter() - t0) * 1000, 3),
            created_at=started,
            finished_at=utcnow(),
            batch_id=batch_id,
        )
        change = await self._catalog.save_result(asset.tenant_id, run)
        return bool(change and change.changed)
