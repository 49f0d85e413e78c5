"""Custom concepts: define one from example assets, train it in the background, activate a version (a
reprocess batch runs it over the archive; new assets get it at indexing), and feed it more examples.

Training jobs go through the durable queue (kind `concept-train`, the job's ID field `<concept>:<version>`);
a version is recorded TRAINING when asked for and ends READY with its metrics, or FAILED with the reason.
Negatives are the examples named negative plus a sample of the tenant's other assets (background), so a
concept can be taught from positives alone.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Callable, Sequence

import numpy as np

from catalog.domain.clock import utcnow
from catalog.domain.concepts.model import (
    MAX_EXAMPLES,
    MAX_IN_REVIEW,
    MIN_POSITIVES,
    Concept,
    ConceptError,
    ConceptExample,
    ConceptVersion,
    ExampleSource,
    VersionStatus,
    clean_name,
    clean_terms,
    concept_of,
    too_few_positives,
)
from catalog.domain.ids import uuid7
from catalog.domain.model import Findings, ReprocessBatch, Stage, TenantConfig
from catalog.domain.ports import CatalogStore, JobQueue, SearchIndex, SearchQuery
from catalog.domain.review.human_labels import HUMAN_NO, HUMAN_YES, REVIEW_ANALYZER
from catalog.domain.review.tasks import QuestionKind, ReviewInputError
from indexer.concepts.probe import Matrix, as_matrix, reliable_negatives, train
from indexer.concepts.ranking import ConceptScores
from indexer.concepts.ranking import Scored as Scored  # the API reads it from here
from indexer.cpu import CpuPool
from services.ingest import REFRESH_JOB
from services.reprocessing.batches import ReprocessService
from services.reprocessing.requests import ReprocessRequest
from services.review_tasks import ReviewTasks

log = logging.getLogger(__name__)

TRAIN_JOB = "concept-train"
RETIRE_JOB = "concept-retire"  # the job's ID field: the deleted or deactivated concept's analyzer name
# the job's ID field `<concept>:<version>`: scores the vectors that version has not scored
SCORE_JOB = "concept-score"
BACKGROUND_NEGATIVES = 400  # other assets drawn as negatives (fewer when the tenant has fewer)
_BACKGROUND_POOL = 5_000  # vectors read to draw them from
_SCAN_PAGE = 500


# A suggestion ("is this also X?") scores at least this share of the version's threshold.
SUGGESTION_SHARE = 0.5


class ConceptService:
    def __init__(
        self,
        catalog: CatalogStore,
        queue: JobQueue,
        index: SearchIndex,
        cpu: CpuPool,
        reprocess: ReprocessService,
        feature_model: Callable[[], str | None],
        review: ReviewTasks | None = None,
    ) -> None:
        self._catalog = catalog
        self._queue = queue
        self._index = index
        self._cpu = cpu
        self._reprocess = reprocess
        self._feature_model = feature_model  # the vectors new trainings use (None: no local classifier)
        self._review = review
        self._scores = ConceptScores(catalog, cpu)

    def _current_model(self) -> str:
        model = self._feature_model()
        if model is None:
            raise ConceptError("UNAVAILABLE", "this server has no local classifier to give feature vectors")
        return model

    # ------------------------------------------------------------ reading

    async def get(self, tenant_id: str, name: str) -> Concept:
        concept = await self._catalog.get_concept(tenant_id, name)
        if concept is None:
            raise ConceptError("NOT_FOUND", f"no concept {name!r} in your tenant")
        return concept

    async def all(self, tenant_id: str) -> list[Concept]:
        return await self._catalog.list_concepts(tenant_id)

    async def versions(self, tenant_id: str, concept: Concept) -> list[ConceptVersion]:
        return await self._catalog.list_versions(tenant_id, concept.id)

    async def examples(self, tenant_id: str, concept: Concept) -> list[ConceptExample]:
        return await self._catalog.list_examples(tenant_id, concept.id)

    # ------------------------------------------------------------ defining

    async def create(
        self,
        tenant_id: str,
        name: str,
        *,
        positives: Sequence[str] = (),
        negatives: Sequence[str] = (),
        parents: Sequence[str] = (),
        synonyms: Sequence[str] = (),
        positives_from: SearchQuery | None = None,
        source: ExampleSource = ExampleSource.MANUAL,
    ) -> Concept:
        concept = Concept(
            id=uuid7(),
            tenant_id=tenant_id,
            name=clean_name(name),
            parents=clean_terms(list(parents), "parents"),
            synonyms=clean_terms(list(synonyms), "synonyms"),
            created_at=utcnow(),
        )
        found = await self._positives_from(tenant_id, positives_from) if positives_from else []
        examples = await self._checked(tenant_id, [*positives, *found], negatives, source)
        if not await self._catalog.create_concept(concept):
            raise ConceptError("EXISTS", f"your tenant has a concept named {concept.name!r} already")
        await self._catalog.put_examples(tenant_id, concept.id, examples)
        log.info("concept %r created with %s", concept.name, _examples_said(examples))
        return concept

    async def update(
        self, tenant_id: str, name: str, *, parents: Sequence[str] | None, synonyms: Sequence[str] | None
    ) -> Concept:
        concept = await self.get(tenant_id, name)
        changed = dataclasses.replace(
            concept,
            parents=concept.parents if parents is None else clean_terms(list(parents), "parents"),
            synonyms=concept.synonyms if synonyms is None else clean_terms(list(synonyms), "synonyms"),
        )
        await self._catalog.save_concept(changed)
        if changed.active_version is not None:
            await self._use_synonyms(tenant_id, changed)
        return changed

    async def add_examples(
        self,
        tenant_id: str,
        name: str,
        *,
        positives: Sequence[str] = (),
        negatives: Sequence[str] = (),
        positives_from: SearchQuery | None = None,
        source: ExampleSource = ExampleSource.MANUAL,
    ) -> Concept:
        """Add examples (an asset named again changes sides: the latest answer wins)."""
        concept = await self.get(tenant_id, name)
        found = await self._positives_from(tenant_id, positives_from) if positives_from else []
        examples = await self._checked(tenant_id, [*positives, *found], negatives, source)
        have = {e.asset_id for e in await self._catalog.list_examples(tenant_id, concept.id)}
        if len(have | {e.asset_id for e in examples}) > MAX_EXAMPLES:
            raise ConceptError("TOO_MANY", f"a concept keeps at most {MAX_EXAMPLES} examples")
        await self._catalog.put_examples(tenant_id, concept.id, examples)
        log.info("concept %r: %s added", concept.name, _examples_said(examples))
        return concept

    async def remove_examples(self, tenant_id: str, name: str, asset_ids: Sequence[str]) -> int:
        concept = await self.get(tenant_id, name)
        return await self._catalog.remove_examples(tenant_id, concept.id, asset_ids)

    async def delete(self, tenant_id: str, name: str) -> None:
        """The concept, its examples and versions; a background job then takes its label off the assets
        (the runs that gave it stay in their run history)."""
        concept = await self.get(tenant_id, name)
        await self._catalog.delete_concept(tenant_id, concept)
        await self._queue.enqueue(RETIRE_JOB, tenant_id, concept.analyzer)

    async def deactivate(self, tenant_id: str, name: str) -> Concept:
        """Stop running the concept: new assets no longer get it, and the same background job as a deletion
        takes its label off the assets; versions and examples stay, and activateConcept runs it again."""
        concept = await self.get(tenant_id, name)
        if concept.active_version is None:
            raise ConceptError("NOT_ACTIVE", f"concept {concept.name!r} is not active")
        inactive = dataclasses.replace(concept, active_version=None)
        await self._catalog.save_concept(inactive)
        await self._queue.enqueue(RETIRE_JOB, tenant_id, concept.analyzer)
        return inactive

    async def retire(self, tenant_id: str, analyzer: str) -> int:
        """A deleted or deactivated concept's job: an empty run replaces its current run wherever that gave
        the label, and those assets are indexed again. Returns how many assets lost the label."""
        name = concept_of(analyzer)
        if name is None:
            return 0
        concept = await self._catalog.get_concept(tenant_id, name)
        if concept is not None and concept.active_version is not None:
            return 0  # active (again, or a new one of that name): its own runs count
        why = "deleted" if concept is None else "deactivated"
        retired, after = 0, None
        while assets := await self._catalog.list_assets(tenant_id, after=after, limit=_SCAN_PAGE):
            after = assets[-1].id
            results = await self._catalog.get_results(tenant_id, [a.id for a in assets])
            for asset_id, by in results.items():
                current = by.get(analyzer)
                if current is None or not current.findings.labels:
                    continue
                now = utcnow()
                await self._catalog.save_result(
                    tenant_id,
                    dataclasses.replace(
                        current,
                        id=uuid7(),
                        model_version=why,
                        findings=Findings(),
                        parameters={why: True},
                        created_at=now,
                        finished_at=now,
                        batch_id=None,
                        change=None,
                    ),
                )
                await self._queue.enqueue(REFRESH_JOB, tenant_id, asset_id)
                retired += 1
        return retired

    async def _checked(
        self, tenant_id: str, positives: Sequence[str], negatives: Sequence[str], source: ExampleSource
    ) -> list[ConceptExample]:
        both = set(positives) & set(negatives)
        if both:
            raise ConceptError("CONFLICT", f"both positive and negative: {', '.join(sorted(both)[:5])}")
        ids = list(dict.fromkeys([*positives, *negatives]))
        if len(ids) > MAX_EXAMPLES:
            raise ConceptError("TOO_MANY", f"at most {MAX_EXAMPLES} examples per concept")
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            found.update(await self._catalog.get_assets(tenant_id, ids[start : start + 500]))
        missing = [a for a in ids if a not in found]
        if missing:
            raise ConceptError("NOT_FOUND", f"no such asset(s) in your tenant: {', '.join(missing[:10])}")
        now, positive = utcnow(), set(positives)
        return [ConceptExample(a, a in positive, source, now) for a in ids]

    async def _positives_from(self, tenant_id: str, query: SearchQuery) -> list[str]:
        """Every asset a search finds (up to MAX_EXAMPLES)."""
        out: list[str] = []
        page_query = dataclasses.replace(query, first=100, after=None)
        while len(out) < MAX_EXAMPLES:
            page = await self._index.search(tenant_id, page_query)
            out += [h.asset_id for h in page.hits]
            if not page.has_next or page.end_cursor is None:
                break
            page_query = dataclasses.replace(page_query, after=page.end_cursor)
        return out[:MAX_EXAMPLES]

    # ------------------------------------------------------------ training

    async def train(self, tenant_id: str, name: str) -> ConceptVersion:
        """Record a new TRAINING version and queue its training; refused at once with too few positives."""
        concept, _ = await self.collect_reviews(tenant_id, await self.get(tenant_id, name))
        model = self._current_model()
        examples = await self._catalog.list_examples(tenant_id, concept.id)
        positives = sum(e.positive for e in examples)
        if positives < MIN_POSITIVES:
            raise too_few_positives(positives)
        number = concept.versions + 1
        version = ConceptVersion(tenant_id, concept.id, number, VersionStatus.TRAINING, model, utcnow())
        while not await self._catalog.add_version(version):  # another training took the number
            number += 1
            version = dataclasses.replace(version, number=number)
        await self._catalog.save_concept(dataclasses.replace(concept, versions=number))
        await self._queue.enqueue(TRAIN_JOB, tenant_id, f"{concept.id}:{number}")
        return version

    async def run_training(self, tenant_id: str, job_id: str) -> ConceptVersion | None:
        """The queued training of one version (a worker's job); None when the version is gone."""
        concept_id, _, number = job_id.rpartition(":")
        version = await self._catalog.get_version(tenant_id, concept_id, int(number))
        if version is None or version.status != VersionStatus.TRAINING:
            return version  # done already (a job delivered twice), or the concept was deleted
        try:
            positives, negatives = await self._training_set(tenant_id, concept_id, version.feature_model)
            weights, metrics = await self._cpu.run(train, positives, negatives)
        except ConceptError as exc:  # too few usable examples: the version says why
            done = dataclasses.replace(
                version, status=VersionStatus.FAILED, finished_at=utcnow(), error=str(exc)
            )
        else:
            done = dataclasses.replace(
                version, status=VersionStatus.READY, finished_at=utcnow(), metrics=metrics, weights=weights
            )
            # every stored vector scored once, here, so the page's suggestions and uncertainty sampling read
            # the version's ranking (READY means scored: a retried job trains and scores again)
            done = await self._scores.catch_up(tenant_id, done)
        await self._catalog.save_version(done)
        log.info("concept version %s trained: %s %s", job_id, done.status, done.metrics or done.error)
        return done

    async def run_scoring(self, tenant_id: str, job_id: str) -> ConceptVersion | None:
        """The queued scoring of one READY version (a worker's job): the vectors stored since it last scored
        the archive, or all of them for a version trained before scores were kept. None when it is gone."""
        concept_id, _, number = job_id.rpartition(":")
        version = await self._catalog.get_version(tenant_id, concept_id, int(number))
        if version is None or version.status != VersionStatus.READY:
            return version
        done = await self._scores.catch_up(tenant_id, version)
        await self._catalog.save_version(done)
        log.info("concept version %s scored through asset %s", job_id, done.scored_through or "-")
        return done

    async def fail_training(self, tenant_id: str, job_id: str, reason: str) -> None:
        concept_id, _, number = job_id.rpartition(":")
        version = await self._catalog.get_version(tenant_id, concept_id, int(number))
        if version is not None and version.status == VersionStatus.TRAINING:
            failed = dataclasses.replace(
                version, status=VersionStatus.FAILED, finished_at=utcnow(), error=reason
            )
            await self._catalog.save_version(failed)

    async def _training_set(self, tenant_id: str, concept_id: str, model: str) -> tuple[Matrix, Matrix]:
        examples = await self._catalog.list_examples(tenant_id, concept_id)
        vectors = await self._catalog.get_features(tenant_id, [e.asset_id for e in examples], model)
        pos = [vectors[e.asset_id] for e in examples if e.positive and e.asset_id in vectors]
        neg = [vectors[e.asset_id] for e in examples if not e.positive and e.asset_id in vectors]
        if len(pos) < MIN_POSITIVES:
            lacking = sum(e.positive for e in examples) - len(pos)
            error = too_few_positives(len(pos))
            if lacking:
                error = ConceptError(
                    error.code,
                    f"{error} ({lacking} positive examples have no feature vector yet: wait for their "
                    "indexing, or run `mediasight concept backfill`)",
                )
            raise error
        named = {e.asset_id for e in examples}
        pool: list[bytes] = []
        after: str | None = None
        while len(pool) < _BACKGROUND_POOL and (
            page := await self._catalog.scan_features(tenant_id, model, after=after, limit=_SCAN_PAGE)
        ):
            pool += [v for a, v in page if a not in named]
            after = page[-1][0]
        positives = as_matrix(pos)
        likely = as_matrix(pool)
        likely = likely[reliable_negatives(positives, likely)] if len(pool) else likely
        rng = np.random.default_rng(random.Random(concept_id).getrandbits(32))
        background = likely[rng.permutation(len(likely))[:BACKGROUND_NEGATIVES]]
        named_negatives = as_matrix(neg) if neg else np.zeros((0, positives.shape[1]), np.float32)
        return positives, np.vstack([named_negatives, background]).astype(np.float32)

    # ------------------------------------------------------------ running

    async def activate(
        self, tenant_id: str, name: str, number: int | None = None
    ) -> tuple[Concept, ReprocessBatch | None]:
        """Make a READY version the one that runs (default: the newest READY), and start a reprocess batch
        that runs it over every indexed asset (None when the tenant has none yet)."""
        concept = await self.get(tenant_id, name)
        versions = await self._catalog.list_versions(tenant_id, concept.id)
        ready = [
            v for v in versions if v.status == VersionStatus.READY and (number is None or v.number == number)
        ]
        if not ready:
            which = f"version {number}" if number is not None else "a trained version"
            raise ConceptError("NOT_TRAINED", f"concept {concept.name!r} has no {which} ready to activate")
        active = dataclasses.replace(concept, active_version=ready[0].number)
        await self._catalog.save_concept(active)
        await self._use_synonyms(tenant_id, active)
        ids = await self._indexed(tenant_id, examples=False)  # its report: what the archive gained
        if not ids:
            return active, None
        batch = await self._reprocess.start(tenant_id, ids, ReprocessRequest(analyzers=(active.analyzer,)))
        return active, batch

    async def _indexed(self, tenant_id: str, *, examples: bool) -> list[str]:
        """The tenant's indexed assets; with `examples` False, not those uploaded as training examples."""
        out: list[str] = []
        after = None
        while assets := await self._catalog.list_assets(tenant_id, after=after, limit=500):
            out += [
                a.id
                for a in assets
                if a.status == Stage.INDEXED and (a.in_archive or (examples and not a.is_keyframe))
            ]
            after = assets[-1].id
        return out

    async def _use_synonyms(self, tenant_id: str, concept: Concept) -> None:
        """The concept's synonyms join the tenant's synonym groups (a search for one finds the label)."""
        if not concept.synonyms:
            return
        tenant = await self._catalog.get_tenant(tenant_id)
        config = tenant.config if tenant else TenantConfig()
        key = concept.name.casefold()
        kept = [g for g in config.synonyms if key not in (n.casefold() for n in g)]
        group = (concept.name, *concept.synonyms)
        await self._catalog.set_tenant_config(tenant_id, dataclasses.replace(config, synonyms=(*kept, group)))

    async def suggestions(
        self, tenant_id: str, concept: Concept, number: int | None = None, *, first: int
    ) -> list[Scored]:
        """The highest-scoring assets that are not examples ("is this also X?") by the version (default: the
        active, else the newest READY), highest first: read from the version's kept scores. Only those the
        version finds plausible (at least half its threshold): 18 of a page's 20 read 0%."""
        version = await self._ranked(tenant_id, concept, number)
        named = {e.asset_id for e in await self._catalog.list_examples(tenant_id, concept.id)}
        floor = version.metrics.threshold * SUGGESTION_SHARE if version.metrics is not None else 0.0
        found = await self._scores.top(tenant_id, version, first=first, skip=named)
        return [s for s in found if s.probability >= floor]

    async def uncertain(self, tenant_id: str, concept: Concept, *, first: int) -> list[Scored]:
        """Non-examples nearest the threshold (uncertainty sampling), not in review already: what a
        reviewer should answer next (the band around the threshold in the version's kept scores)."""
        version = await self._ranked(tenant_id, concept, None)
        assert version.metrics is not None
        named = {e.asset_id for e in await self._catalog.list_examples(tenant_id, concept.id)}
        skip = named | set(concept.in_review)
        return await self._scores.near(tenant_id, version, version.metrics.threshold, first=first, skip=skip)

    # ------------------------------------------------------------ human review

    async def request_review(self, tenant_id: str, name: str, *, first: int) -> int:
        """Send the `first` most uncertain non-examples to human review as verify tasks ("is this X?");
        their answers become examples at the next training. Returns how many tasks were made."""
        if self._review is None:
            raise ConceptError("UNAVAILABLE", "this server has no human review")
        concept = await self.get(tenant_id, name)
        ids = [s.asset_id for s in await self.uncertain(tenant_id, concept, first=first)]
        if not ids:
            return 0
        try:
            tasks = await self._review.request(tenant_id, ids, QuestionKind.VERIFY, concept.name)
        except ReviewInputError as exc:
            raise ConceptError("UNAVAILABLE", str(exc)) from exc
        waiting = tuple(dict.fromkeys([*concept.in_review, *ids]))[-MAX_IN_REVIEW:]
        await self._catalog.save_concept(dataclasses.replace(concept, in_review=waiting))
        return len(tasks)

    async def collect_reviews(self, tenant_id: str, concept: Concept) -> tuple[Concept, int]:
        """Human verdicts on the concept's label for the assets in review become examples (source REVIEW):
        yes a positive, no a negative. Returns the concept as saved and how many examples were added."""
        if not concept.in_review:
            return concept, 0
        results = await self._catalog.get_results(tenant_id, list(concept.in_review))
        key, now, answered = concept.name.casefold(), utcnow(), []
        for asset_id in concept.in_review:
            human = results.get(asset_id, {}).get(REVIEW_ANALYZER)
            verdict = next(
                (lb for lb in (human.findings.labels if human else ()) if lb.name.casefold() == key), None
            )
            if verdict is not None and verdict.confidence in (HUMAN_YES, HUMAN_NO):
                answered.append(
                    ConceptExample(asset_id, verdict.confidence == HUMAN_YES, ExampleSource.REVIEW, now)
                )
        if not answered:
            return concept, 0
        await self._catalog.put_examples(tenant_id, concept.id, answered)
        done = {e.asset_id for e in answered}
        kept = dataclasses.replace(concept, in_review=tuple(a for a in concept.in_review if a not in done))
        await self._catalog.save_concept(kept)
        return kept, len(answered)

    async def _ranked(self, tenant_id: str, concept: Concept, number: int | None) -> ConceptVersion:
        """The version whose kept scores a request reads. One without scores yet (trained before they were
        kept) is scored by a background job, and the request is refused with PREPARING meanwhile: a partial
        ranking would be only the assets indexed since. One that is not active and missed assets indexed
        since it scored gets a catch-up job, and the request reads what is kept (those assets join soon)."""
        version = await self._scoring_version(tenant_id, concept, number)
        job = f"{concept.id}:{version.number}"
        if not version.scored:
            await self._queue.enqueue(SCORE_JOB, tenant_id, job)
            raise ConceptError(
                "PREPARING",
                f"the scores of version {version.number} of concept {concept.name!r} over the archive are "
                "being prepared in the background: ask again in a moment",
            )
        # (the active version needs none: the concept stage scores what is indexed while it runs)
        if version.number != concept.active_version and await self._scores.behind(tenant_id, version):
            await self._queue.enqueue(SCORE_JOB, tenant_id, job)
        return version

    async def _scoring_version(self, tenant_id: str, concept: Concept, number: int | None) -> ConceptVersion:
        versions = [
            v
            for v in await self._catalog.list_versions(tenant_id, concept.id)
            if v.status == VersionStatus.READY
        ]
        wanted = number if number is not None else concept.active_version
        chosen = next((v for v in versions if wanted is None or v.number == wanted), None)
        if chosen is None:
            raise ConceptError(
                "NOT_TRAINED", f"concept {concept.name!r} has no trained version to score with"
            )
        return chosen

    # ------------------------------------------------------------ backfill

    async def backfill(self, tenant_id: str) -> ReprocessBatch | None:
        """A reprocess batch of the `features` analyzer over the indexed assets that have no vector of the
        current model (None when every one has)."""
        model = self._current_model()
        ids = await self._indexed(tenant_id, examples=True)  # training examples need vectors most
        have: set[str] = set()
        for start in range(0, len(ids), 500):
            have.update(await self._catalog.get_features(tenant_id, ids[start : start + 500], model))
        missing = [a for a in ids if a not in have]
        if not missing:
            return None
        return await self._reprocess.start(
            tenant_id, missing, ReprocessRequest(analyzers=("features",), provider="local")
        )


def _examples_said(examples: Sequence[ConceptExample]) -> str:
    """'7 examples (5 positive, 2 negative)', 'no examples' for the log."""
    if not examples:
        return "no examples"
    positive = sum(e.positive for e in examples)
    noun = "example" if len(examples) == 1 else "examples"
    return f"{len(examples)} {noun} ({positive} positive, {len(examples) - positive} negative)"
