"""GraphQL types of custom concepts, built from the domain objects at the edge."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.context import Context
from api.report_types import ReprocessBatch
from api.types import Asset
from catalog.domain.concepts import model as domain
from services.concepts import Scored

MAX_LISTED = 100

ConceptVersionStatus = strawberry.enum(domain.VersionStatus, name="ConceptVersionStatus")
ExampleSource = strawberry.enum(
    domain.ExampleSource, name="ExampleSource", description="How an example was given."
)


@strawberry.enum
class ConceptErrorCode(enum.Enum):
    INVALID_NAME = "INVALID_NAME"
    EXISTS = "EXISTS"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    TOO_MANY = "TOO_MANY"
    TOO_FEW_EXAMPLES = "TOO_FEW_EXAMPLES"
    NOT_TRAINED = "NOT_TRAINED"
    NOT_ACTIVE = "NOT_ACTIVE"
    UNAVAILABLE = "UNAVAILABLE"
    INVALID_FILTER = "INVALID_FILTER"
    PREPARING = "PREPARING"


@strawberry.type
class ConceptProblem:
    code: ConceptErrorCode
    message: str


def problem(exc: domain.ConceptError) -> ConceptProblem:
    return ConceptProblem(code=ConceptErrorCode(exc.code), message=str(exc))


@strawberry.type(
    description="Cross-validated quality of one training at the threshold with the best F1 (0-1 each)."
)
class ConceptMetrics:
    precision: float
    recall: float
    f1: float
    threshold: float = strawberry.field(
        description="Probability from which the concept's label is given (its confidence is that x 100)."
    )
    positives: int
    negatives: int = strawberry.field(
        description="Examples named negative plus other assets of the archive drawn as background."
    )
    folds: int
    train_ms: float


@strawberry.type(description="One training of a concept: immutable once READY or FAILED.")
class ConceptVersion:
    number: int
    status: ConceptVersionStatus  # type: ignore[valid-type]
    feature_model: str = strawberry.field(description="The feature vectors it learned from.")
    created_at: datetime
    finished_at: datetime | None
    error: str
    metrics: ConceptMetrics | None
    scores_ready: bool = strawberry.field(
        description="Its scores over the archive are kept, so suggestions and uncertain items can be read. "
        "False on a READY version trained before scores were kept: asking for its suggestions starts "
        "preparing them in the background, and they answer empty until this turns true."
    )

    @staticmethod
    def from_domain(v: domain.ConceptVersion) -> ConceptVersion:
        m = v.metrics
        return ConceptVersion(
            number=v.number,
            status=v.status,
            feature_model=v.feature_model,
            created_at=v.created_at,
            finished_at=v.finished_at,
            error=v.error,
            metrics=None if m is None else ConceptMetrics(**m.__dict__),
            scores_ready=v.scored,
        )


@strawberry.type
class ConceptExample:
    asset_id: strawberry.ID
    positive: bool
    source: ExampleSource  # type: ignore[valid-type]
    added_at: datetime

    @strawberry.field
    async def asset(self, info: Info[Context, None]) -> Asset | None:
        found = await info.context.assets.load(str(self.asset_id))
        return Asset.from_domain(found) if found else None


@strawberry.type(description="An asset and how sure the concept is it shows it.")
class ConceptScore:
    asset_id: strawberry.ID
    confidence: float = strawberry.field(description="The calibrated probability x 100.")

    @strawberry.field
    async def asset(self, info: Info[Context, None]) -> Asset | None:
        found = await info.context.assets.load(str(self.asset_id))
        return Asset.from_domain(found) if found else None


def scores(found: list[Scored]) -> list[ConceptScore]:
    return [
        ConceptScore(asset_id=strawberry.ID(s.asset_id), confidence=round(s.probability * 100, 2))
        for s in found
    ]


First = Annotated[int, strawberry.argument(description=f"At most {MAX_LISTED}.")]


@strawberry.type(
    description="A category of your own, learned from example assets; it runs as the analyzer "
    "`concept:<name>` and labels assets with its name (parents as the label's parents)."
)
class Concept:
    id: strawberry.ID
    name: str
    analyzer: str
    parents: list[str]
    synonyms: list[str]
    created_at: datetime
    active_version: int | None = strawberry.field(description="The version that runs (null: not activated).")
    in_review: int = strawberry.field(
        description="Assets sent to human review (reviewConcept) whose answers the next training collects."
    )

    @strawberry.field(description="Every training, newest first.")
    async def versions(self, info: Info[Context, None]) -> list[ConceptVersion]:
        ctx = info.context
        found = await ctx.services.concepts.versions(ctx.tenant_id, await self._domain(info))
        return [ConceptVersion.from_domain(v) for v in found]

    @strawberry.field(description="The examples, by asset ID.")
    async def examples(self, info: Info[Context, None], positive: bool | None = None) -> list[ConceptExample]:
        ctx = info.context
        found = await ctx.services.concepts.examples(ctx.tenant_id, await self._domain(info))
        return [
            ConceptExample(
                asset_id=strawberry.ID(e.asset_id), positive=e.positive, source=e.source, added_at=e.added_at
            )
            for e in found
            if positive is None or e.positive == positive
        ]

    @strawberry.field(
        description='The highest-scoring assets of the archive that are not examples ("is this also X?"), '
        "by the active version (or `version`; else the newest READY). Empty while that version's scores are "
        "being prepared (its `scoresReady` is false). A version that is not active catches up in the "
        "background with assets indexed since it was scored: they join on a later read."
    )
    async def suggestions(
        self, info: Info[Context, None], first: First = 12, version: int | None = None
    ) -> list[ConceptScore]:
        ctx = info.context
        concept = await self._domain(info)
        try:
            found = await ctx.services.concepts.suggestions(
                ctx.tenant_id, concept, version, first=max(1, min(first, MAX_LISTED))
            )
        except domain.ConceptError:  # nothing trained (or no such version) yet, or its scores not prepared
            return []
        return scores(found)

    @strawberry.field(
        description="Non-examples nearest the threshold (uncertainty sampling): the answers that would "
        "teach the concept most."
    )
    async def uncertain(self, info: Info[Context, None], first: First = 12) -> list[ConceptScore]:
        ctx = info.context
        try:
            found = await ctx.services.concepts.uncertain(
                ctx.tenant_id, await self._domain(info), first=max(1, min(first, MAX_LISTED))
            )
        except domain.ConceptError:  # nothing trained yet, or its scores not prepared (see scoresReady)
            return []
        return scores(found)

    async def _domain(self, info: Info[Context, None]) -> domain.Concept:
        ctx = info.context
        return await ctx.services.concepts.get(ctx.tenant_id, self.name)

    @staticmethod
    def from_domain(c: domain.Concept) -> Concept:
        return Concept(
            id=strawberry.ID(c.id),
            name=c.name,
            analyzer=c.analyzer,
            parents=list(c.parents),
            synonyms=list(c.synonyms),
            created_at=c.created_at,
            active_version=c.active_version,
            in_review=len(c.in_review),
        )


@strawberry.type
class ConceptPayload:
    concept: Concept | None
    error: ConceptProblem | None


@strawberry.type
class ReviewConceptPayload:
    requested: int = strawberry.field(description="Verify tasks made for reviewers.")
    error: ConceptProblem | None


@strawberry.type
class RemoveExamplesPayload:
    removed: int
    error: ConceptProblem | None


@strawberry.type
class TrainConceptPayload:
    version: ConceptVersion | None = strawberry.field(description="TRAINING: a worker trains it in seconds.")
    error: ConceptProblem | None


@strawberry.type
class ActivateConceptPayload:
    concept: Concept | None
    batch: ReprocessBatch | None = strawberry.field(
        description="The reprocess batch running the concept over your indexed assets (batchReport shows "
        "what it added); null when there are none."
    )
    error: ConceptProblem | None
