"""Custom concepts in GraphQL: define from examples (or a search), train, activate, feed more examples."""

from __future__ import annotations

from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from api.auth import CanRead, CanWrite
from api.concepts.types import (
    ActivateConceptPayload,
    Concept,
    ConceptErrorCode,
    ConceptPayload,
    ConceptProblem,
    ConceptVersion,
    RemoveExamplesPayload,
    ReviewConceptPayload,
    TrainConceptPayload,
    problem,
)
from api.context import Context
from api.report_types import ReprocessBatch
from api.search_input import SearchFilter, SearchSort, listed_stages, search_spec
from catalog.domain.concepts.model import ConceptError
from catalog.domain.ports import SearchQuery
from services.reprocessing.requests import ReprocessError
from services.search_query import MAX_PAGE, InvalidSearch

MAX_IDS = 1_000  # asset IDs per argument

Ids = Annotated[list[strawberry.ID] | None, strawberry.argument(description=f"At most {MAX_IDS} asset IDs.")]
Terms = Annotated[list[str] | None, strawberry.argument(description="At most 20.")]
From = Annotated[
    SearchFilter | None,
    strawberry.argument(
        description="Every asset this search finds becomes a positive example (up to 5,000)."
    ),
]


def _ids(values: list[strawberry.ID] | None) -> list[str]:
    if values is not None and len(values) > MAX_IDS:
        raise ConceptError("TOO_MANY", f"at most {MAX_IDS} asset IDs per argument")
    return [str(v) for v in values or []]


async def _query(ctx: Context, filter: SearchFilter | None) -> SearchQuery | None:
    if filter is None:
        return None
    if listed_stages(filter) is not None:
        raise ConceptError("INVALID_FILTER", "positivesFrom searches INDEXED assets: leave status out")
    try:
        return await ctx.services.queries.build(
            ctx.tenant_id, search_spec(None, filter, SearchSort.CREATED, MAX_PAGE, None)
        )
    except InvalidSearch as exc:
        raise ConceptError("INVALID_FILTER", str(exc)) from exc


@strawberry.type
class ConceptQuery:
    @strawberry.field(permission_classes=[CanRead], description="Your tenant's custom concepts, by name.")
    async def concepts(self, info: Info[Context, None]) -> list[Concept]:
        ctx = info.context
        return [Concept.from_domain(c) for c in await ctx.services.concepts.all(ctx.tenant_id)]

    @strawberry.field(permission_classes=[CanRead], description="One concept by name (any case), or null.")
    async def concept(self, info: Info[Context, None], name: str) -> Concept | None:
        ctx = info.context
        try:
            return Concept.from_domain(await ctx.services.concepts.get(ctx.tenant_id, name))
        except ConceptError:
            return None


@strawberry.type
class ConceptMutation:
    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="A new concept from example assets; train it with trainConcept (at least 5 positives).",
    )
    async def create_concept(
        self,
        info: Info[Context, None],
        name: str,
        positives: Ids = None,
        negatives: Ids = None,
        parents: Terms = None,
        synonyms: Terms = None,
        positives_from: From = None,
    ) -> ConceptPayload:
        ctx = info.context
        try:
            found = await ctx.services.concepts.create(
                ctx.tenant_id,
                name,
                positives=_ids(positives),
                negatives=_ids(negatives),
                parents=parents or [],
                synonyms=synonyms or [],
                positives_from=await _query(ctx, positives_from),
            )
        except ConceptError as exc:
            return ConceptPayload(concept=None, error=problem(exc))
        return ConceptPayload(concept=Concept.from_domain(found), error=None)

    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Add examples; an asset given again changes sides (the latest answer wins).",
    )
    async def add_concept_examples(
        self,
        info: Info[Context, None],
        name: str,
        positives: Ids = None,
        negatives: Ids = None,
        positives_from: From = None,
    ) -> ConceptPayload:
        ctx = info.context
        try:
            found = await ctx.services.concepts.add_examples(
                ctx.tenant_id,
                name,
                positives=_ids(positives),
                negatives=_ids(negatives),
                positives_from=await _query(ctx, positives_from),
            )
        except ConceptError as exc:
            return ConceptPayload(concept=None, error=problem(exc))
        return ConceptPayload(concept=Concept.from_domain(found), error=None)

    @strawberry.mutation(permission_classes=[CanWrite], description="Forget these examples.")
    async def remove_concept_examples(
        self, info: Info[Context, None], name: str, asset_ids: list[strawberry.ID]
    ) -> RemoveExamplesPayload:
        ctx = info.context
        try:
            removed = await ctx.services.concepts.remove_examples(ctx.tenant_id, name, _ids(asset_ids))
        except ConceptError as exc:
            return RemoveExamplesPayload(removed=0, error=problem(exc))
        return RemoveExamplesPayload(removed=removed, error=None)

    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Train a new version in the background (a worker; seconds for hundreds of examples); "
        "refused with fewer than 5 positive examples.",
    )
    async def train_concept(self, info: Info[Context, None], name: str) -> TrainConceptPayload:
        ctx = info.context
        try:
            version = await ctx.services.concepts.train(ctx.tenant_id, name)
        except ConceptError as exc:
            return TrainConceptPayload(version=None, error=problem(exc))
        return TrainConceptPayload(version=ConceptVersion.from_domain(version), error=None)

    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Run this version (default: the newest READY) on new assets at indexing, and over "
        "your indexed assets now as a reprocess batch; its synonyms join your synonym groups.",
    )
    async def activate_concept(
        self, info: Info[Context, None], name: str, version: int | None = None
    ) -> ActivateConceptPayload:
        ctx = info.context
        try:
            concept, batch = await ctx.services.concepts.activate(ctx.tenant_id, name, version)
        except ConceptError as exc:
            return ActivateConceptPayload(concept=None, batch=None, error=problem(exc))
        except ReprocessError as exc:
            raise GraphQLError(str(exc), extensions={"code": exc.code}) from exc
        return ActivateConceptPayload(
            concept=Concept.from_domain(concept),
            batch=ReprocessBatch.from_domain(batch) if batch else None,
            error=None,
        )

    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Stop running the concept: new assets no longer get it and a background job takes its "
        "label off the assets (as deleteConcept does); its versions and examples stay, and activateConcept "
        "runs it again.",
    )
    async def deactivate_concept(self, info: Info[Context, None], name: str) -> ConceptPayload:
        ctx = info.context
        try:
            found = await ctx.services.concepts.deactivate(ctx.tenant_id, name)
        except ConceptError as exc:
            return ConceptPayload(concept=None, error=problem(exc))
        return ConceptPayload(concept=Concept.from_domain(found), error=None)

    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Ask reviewers about the assets the active version is least sure of (uncertainty "
        'sampling): verify tasks "is this <name>?"; their answers become examples at the next trainConcept.',
    )
    async def review_concept(
        self,
        info: Info[Context, None],
        name: str,
        first: Annotated[int, strawberry.argument(description="At most 100.")] = 20,
    ) -> ReviewConceptPayload:
        ctx = info.context
        try:
            made = await ctx.services.concepts.request_review(
                ctx.tenant_id, name, first=max(1, min(first, 100))
            )
        except ConceptError as exc:
            return ReviewConceptPayload(requested=0, error=problem(exc))
        return ReviewConceptPayload(requested=made, error=None)

    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Compute feature vectors for indexed assets that lack them (a reprocess batch of the "
        "`features` analyzer); null batch: none lacks one.",
    )
    async def backfill_features(self, info: Info[Context, None]) -> ActivateConceptPayload:
        ctx = info.context
        try:
            batch = await ctx.services.concepts.backfill(ctx.tenant_id)
        except ConceptError as exc:
            return ActivateConceptPayload(concept=None, batch=None, error=problem(exc))
        return ActivateConceptPayload(
            concept=None, batch=ReprocessBatch.from_domain(batch) if batch else None, error=None
        )

    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Delete a concept with its examples and versions; a background job takes its label off "
        "the assets (the runs that gave it stay in their history).",
    )
    async def delete_concept(self, info: Info[Context, None], name: str) -> ConceptPayload:
        ctx = info.context
        try:
            found = await ctx.services.concepts.get(ctx.tenant_id, name)
            await ctx.services.concepts.delete(ctx.tenant_id, name)
        except ConceptError as exc:
            return ConceptPayload(concept=None, error=problem(exc))
        return ConceptPayload(concept=Concept.from_domain(found), error=None)


__all__ = ["ConceptErrorCode", "ConceptMutation", "ConceptProblem", "ConceptQuery"]
