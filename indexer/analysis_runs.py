"""Analyzing one asset's image: a run of each analyzer (the tenant's choice, or a reprocess batch's), saved
to the catalog whether it worked or failed, faces linked into the tenant's collection and named, then a
new embedding run over the asset's current metadata."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from catalog.domain.clock import utcnow
from catalog.domain.concepts.model import concept_of
from catalog.domain.embedded import EMBEDDED, name_faces, person_regions
from catalog.domain.faces.identity import SAME_PERSON_SIMILARITY
from catalog.domain.ids import uuid7
from catalog.domain.labels.glossary import GLOSS_WEIGHT, with_glosses
from catalog.domain.metadata import meaning_of
from catalog.domain.model import (
    Asset,
    Face,
    FaceRef,
    FeatureVector,
    Findings,
    RecognitionResult,
    RunStatus,
    Stage,
)
from catalog.domain.model_census import EMBEDDING
from catalog.domain.ports import CatalogStore, FaceCollection
from catalog.domain.video.findings import VIDEO_PERSONS
from indexer.analyzers import AnalyzerChoice, AnalyzerRegistry, UnknownAnalyzerError
from indexer.concepts.stage import ConceptStage
from indexer.cpu import CpuPool
from indexer.index_documents import IndexDocuments
from indexer.recognizers.ports import (
    AnalysisInput,
    Analyzer,
    AnalyzerInputError,
    TextEmbedder,
    embedder_model,
)
from indexer.video.video_faces import person_faces

MAX_PERSON_NAME = 200  # as a name given to a face by hand (services.faces)


class AnalysisRuns:
    def __init__(
        self,
        catalog: CatalogStore,
        faces: FaceCollection,
        cpu: CpuPool,
        analyzers: AnalyzerRegistry,
        choose: Callable[[str], Awaitable[AnalyzerChoice]],
        embedder: TextEmbedder | None,
        documents: IndexDocuments,
    ) -> None:
        self._catalog = catalog
        self._faces = faces
        self._cpu = cpu
        self._analyzers = analyzers
        self._choose = choose
        self._embedder = embedder
        self._documents = documents
        self._concepts = ConceptStage(catalog)

    @property
    def embedder(self) -> TextEmbedder | None:
        return self._embedder

    async def analyze(
        self,
        asset: Asset,
        item: AnalysisInput,
        *,
        params: Mapping[str, Mapping[str, object]] | None = None,
        choice: AnalyzerChoice | None = None,
        batch_id: str | None = None,
        stage: Stage | None = None,
        after: Awaitable[None] | None = None,
        retry: bool = False,
    ) -> bool:
        """Run the analyzers (the tenant's and its active concepts, or `choice`) on one image and append a
        run for each, then the metadata embedding; True when any current result changed. `stage` is set
        on the asset with the last of these writes, none of which starts before `after` (the write of the
        step before, while the models ran) has finished; its failure is the analysis's. On a `retry` of
        the job, an analyzer whose run an earlier attempt saved is not run (nor saved) again."""
        chosen = choice or await self._choose(asset.tenant_id)
        # the embedding is made last, always: naming it (a batch of it alone) runs no model before it
        images = AnalyzerChoice(
            tuple(a for a in chosen.analyzers if concept_of(a) is None and a != EMBEDDING), chosen.providers
        )
        params = params or {}
        settings = [
            (a, chosen.parameters_of(a, params.get(a.name, {}))) for a in self._analyzers.select(images)
        ]
        saved = await self._saved_before(asset, settings, batch_id) if retry else {}
        results = await asyncio.gather(
            *(self._run(asset, a, item, p, batch_id) for a, p in settings if a.name not in saved),
            return_exceptions=True,
        )
        if after is not None:
            await after
        failures = [r for r in results if isinstance(r, BaseException)]
        done = {r.analyzer: r for r in results if not isinstance(r, BaseException)}
        features: FeatureVector | None = None
        runs: list[RecognitionResult] = []
        for result in done.values():
            if result.findings.features is not None:  # kept apart from the run (catalog FeatureStore)
                features = result.findings.features
                result = dataclasses.replace(
                    result, findings=dataclasses.replace(result.findings, features=None)
                )
            if result.analyzer == "faces":
                result = await self._with_persons(asset, result, done.get(EMBEDDED) or saved.get(EMBEDDED))
            runs.append(result)
        # the file's metadata read again (the faces not, or kept from an earlier attempt): name current faces
        if EMBEDDED in done and "faces" not in done:
            current = (await self._catalog.get_results(asset.tenant_id, [asset.id])).get(asset.id, {})
            if "faces" in current:
                await self._name_from_regions(asset, current["faces"].findings.faces, done[EMBEDDED])
        try:
            if failures:
                raise failures[0]
            concepts = await self._concepts.runs(
                asset,
                features,
                lambda: self._extract_features(item),
                analyzers=None if choice is None else choice.analyzers,
                batch_id=batch_id,
            )
        except BaseException:  # the runs that worked are kept; the job retries (or fails) as a whole
            if runs or features is not None:
                await self._catalog.save_analysis(asset.tenant_id, asset.id, runs, features=features)
            raise
        # One write for the runs, the vector and (when no embedding follows) the stage.
        now = stage if self._embedder is None else None
        changed = False
        if runs or concepts or features is not None or now is not None:
            changes = await self._catalog.save_analysis(
                asset.tenant_id, asset.id, [*runs, *concepts], features=features, stage=now
            )
            changed = any(change is not None and change.changed for change in changes)
        return await self.embed(asset, batch_id, stage=stage) or changed

    async def _saved_before(
        self, asset: Asset, settings: Sequence[tuple[Analyzer, dict[str, object]]], batch_id: str | None
    ) -> dict[str, RecognitionResult]:
        """The current runs an earlier attempt of this job saved, by analyzer: a retry after one analyzer
        failed runs the others again only if something about them differs (the batch, the provider, the
        model or the settings). Runs of 5 attempts were saved 5 times over."""
        current = (await self._catalog.get_results(asset.tenant_id, [asset.id])).get(asset.id, {})
        saved = {}
        for analyzer, params in settings:
            run = current.get(analyzer.name)
            if (
                run is not None
                and run.batch_id == batch_id
                and (run.provider, run.model_name) == (analyzer.provider, analyzer.model_name)
                and run.parameters == {**analyzer.defaults, **params}
            ):
                saved[analyzer.name] = run
        return saved

    async def _extract_features(self, item: AnalysisInput) -> FeatureVector | None:
        """The local `features` analyzer's vector, when this server has one."""
        try:
            return (await self._analyzers.get("features", "local").analyze(item, {})).features
        except (UnknownAnalyzerError, AnalyzerInputError):
            return None

    async def _run(
        self,
        asset: Asset,
        analyzer: Analyzer,
        item: AnalysisInput,
        params: dict[str, object],
        batch_id: str | None,
    ) -> RecognitionResult:
        started, t0 = utcnow(), time.perf_counter()
        persons = await person_faces(self._catalog, asset, analyzer)  # a video's faces run
        # a video's persons come from its analysis's keyframes (its video run), not from these parameters
        used: dict[str, object] = (
            {VIDEO_PERSONS: True} if persons is not None else {**analyzer.defaults, **params}
        )
        run = RecognitionResult(
            id=uuid7(),
            asset_id=asset.id,
            analyzer=analyzer.name,
            provider=analyzer.provider,
            model_name=analyzer.model_name,
            model_version=analyzer.model_version,
            parameters=used,
            findings=Findings(),
            created_at=started,
            batch_id=batch_id,
        )
        try:
            findings = (
                Findings(faces=persons) if persons is not None else await analyzer.analyze(item, params)
            )
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

    async def _with_persons(
        self, asset: Asset, run: RecognitionResult, embedded: RecognitionResult | None
    ) -> RecognitionResult:
        """Link the run's faces into the collection, name them after the file's person regions, and
        record in the run who each face is now (so a later run's diff can tell a person change)."""
        await self._link_faces(asset, run.findings)
        if embedded is None:  # not read in this analysis: the file's metadata as the catalog has it
            current = (await self._catalog.get_results(asset.tenant_id, [asset.id])).get(asset.id, {})
            embedded = current.get(EMBEDDED)
        if embedded is not None:
            await self._name_from_regions(asset, run.findings.faces, embedded)
        if not run.findings.faces:
            return run
        linked = await self._faces.face_persons(asset.tenant_id, [asset.id])
        faces = tuple(
            dataclasses.replace(face, person_id=linked.get(FaceRef(asset.id, i)))
            for i, face in enumerate(run.findings.faces)
        )
        return dataclasses.replace(run, findings=dataclasses.replace(run.findings, faces=faces))

    async def _name_from_regions(
        self, asset: Asset, faces: Sequence[Face], embedded: RecognitionResult
    ) -> None:
        """A detected face inside a person region the file names gets that person (found or created by
        name), unless the face is already someone's."""
        meta = embedded.findings.embedded
        regions = person_regions(meta) if meta is not None else []
        if not regions or not faces:
            return
        tenant = asset.tenant_id
        linked = await self._faces.face_persons(tenant, [asset.id])
        unnamed = [i for i in range(len(faces)) if FaceRef(asset.id, i) not in linked]
        for k, name in name_faces([faces[i].box for i in unnamed], regions).items():
            clean = " ".join(name.split())[:MAX_PERSON_NAME]
            if not clean:
                continue
            person = await self._faces.person_by_name(tenant, clean) or await self._faces.create_person(
                tenant, clean
            )
            await self._faces.assign(tenant, [FaceRef(asset.id, unnamed[k])], person.id)

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

    async def embed(self, asset: Asset, batch_id: str | None = None, *, stage: Stage | None = None) -> bool:
        """A new embedding run over the current metadata (none without an embedder), saved with `stage`;
        True when the vector changed."""
        embedder = self._embedder
        if embedder is None:
            return False
        results = (await self._catalog.get_results(asset.tenant_id, [asset.id])).get(asset.id, {})
        persons = (await self._documents.person_names(asset.tenant_id, [asset.id])).get(asset.id, [])
        meaning = meaning_of(asset, results, persons)
        started, t0 = utcnow(), time.perf_counter()
        texts = [meaning.text, meaning.glosses] if meaning.glosses else [meaning.text]
        vectors = await self._cpu.run(embedder.embed, texts)
        vector = with_glosses(vectors[0], vectors[1] if meaning.glosses else None)
        model = embedder_model(embedder)
        run = RecognitionResult(
            id=uuid7(),
            asset_id=asset.id,
            analyzer=EMBEDDING,
            provider=model.provider,
            model_name=model.model_name,
            model_version=model.model_version,
            parameters={"text": meaning.text, "glosses": meaning.glosses, "gloss_weight": GLOSS_WEIGHT},
            findings=Findings(embedding=tuple(float(v) for v in vector)),
            duration_ms=round((time.perf_counter() - t0) * 1000, 3),
            created_at=started,
            finished_at=utcnow(),
            batch_id=batch_id,
        )
        [change] = await self._catalog.save_analysis(asset.tenant_id, asset.id, [run], stage=stage)
        return bool(change and change.changed)
