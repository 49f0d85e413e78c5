"""The search language's input: filter and sort, turned into the service layer's SearchSpec
(services.search_query validates it and expands the tenant's synonyms)."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from graphql import GraphQLError

from api.recognition_types import LabelSource
from api.types import AssetStatus
from catalog.domain.model import Stage
from catalog.domain.ports import SortOrder, TrainingExamples
from catalog.domain.review.human_labels import HUMAN_YES, MACHINE_CEILING
from services.search_query import SearchSpec


@strawberry.input(description="A minimum confidence for one label name (overrides minConfidence for it).")
class LabelThreshold:
    label: str
    min_confidence: float


@strawberry.enum(description="Which assets of a version tree a search returns.")
class VersionScope(enum.Enum):
    ALL = "all"
    ROOTS = "roots"


TrainingExampleScope = strawberry.enum(
    TrainingExamples,
    name="TrainingExamples",
    description="EXCLUDE: the archive, without the assets uploaded only to teach a custom concept (the "
    "default); ONLY: those training examples alone.",
)


@strawberry.input(
    description="Narrows a search. Label names match the label itself or any parent, any case, and each "
    "of them also matches the tenant's synonyms of it."
)
class SearchFilter:
    labels: list[str] | None = strawberry.field(default=strawberry.UNSET, description="Any of these labels.")
    all_labels: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Every one of these (each, or a synonym of it)."
    )
    not_labels: list[str] | None = strawberry.field(default=strawberry.UNSET, description="None of these.")
    min_confidence: float | None = strawberry.field(
        default=strawberry.UNSET,
        description="A label must be at least this confident (0–100) to match. A label condition (labels, "
        "allLabels, notLabels, labelConfidence) never matches a model's guess (a machine label under 50, "
        "`Label.guess`) unless includeGuesses: below 50 this then says how weak a guess may be.",
    )
    include_guesses: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Label conditions match a model's guesses too (machine labels under 50, down to "
        "minConfidence): such a hit's `matches` say `guess`. Facets count findings only, so with it a "
        "label filter may find more assets than its facet counted. A text `query` finds guesses by name "
        "either way, ranked low.",
    )
    label_confidence: list[LabelThreshold] | None = strawberry.field(
        default=strawberry.UNSET, description="Per-label minimum confidence."
    )
    persons: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Assets showing any of these named persons (any case)."
    )
    text: str | None = strawberry.field(
        default=strawberry.UNSET, description="A phrase that must appear in the image's text, words in order."
    )
    exclude_moderation: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Leave out assets that carry any moderation label."
    )
    media_types: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="e.g. image/jpeg, video/mp4."
    )
    min_duration: float | None = strawberry.field(
        default=strawberry.UNSET, description="Videos at least this many seconds long (images never match)."
    )
    max_duration: float | None = strawberry.field(
        default=strawberry.UNSET, description="Videos at most this many seconds long (images never match)."
    )
    label_source: list[LabelSource] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Which labels may match: [HUMAN] only those review confirmed or named (confidence 100), "
        "[MACHINE] only the machine's that no review confirmed (below 100); default both. A label review "
        "rejected matches neither.",
    )
    training_examples: TrainingExampleScope | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET,
        description="Assets uploaded only to teach a custom concept are left out (EXCLUDE, the default); "
        "ONLY searches them alone.",
    )
    versions: VersionScope | None = strawberry.field(
        default=strawberry.UNSET, description="ROOTS: a version's match returns its root, once per tree."
    )
    status: list[AssetStatus] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Pipeline stages. The search index holds INDEXED assets (the default); other stages "
        "(e.g. FAILED, to find what needs attention) are listed from the catalog, newest first, and combine "
        "with no other filter.",
    )
    created_after: datetime | None = strawberry.UNSET
    created_before: datetime | None = strawberry.UNSET
    captured_after: datetime | None = strawberry.UNSET
    captured_before: datetime | None = strawberry.UNSET


@strawberry.enum(description="Order of search results; cursors are valid for the order they were made in.")
class SearchSort(enum.Enum):
    RELEVANCE = "relevance"
    CONFIDENCE = "confidence"
    CREATED = "created"
    CAPTURED = "captured"


def listed_stages(filter: SearchFilter | None) -> list[Stage] | None:
    """The stages to list from the catalog, or None when the search index answers (INDEXED only)."""
    wanted = [Stage(st.value) for st in (filter.status if filter and filter.status else [])]
    if not wanted or set(wanted) == {Stage.INDEXED}:
        return None
    assert filter is not None
    others = [
        name
        for name, value in vars(filter).items()
        if name != "status" and value is not strawberry.UNSET and value is not None
    ]
    if others:
        raise GraphQLError(
            f"`filter.status` other than INDEXED lists assets from the catalog and combines with no other "
            f"filter (got {', '.join(others)}); label, text and date filters search INDEXED assets."
        )
    return wanted


def search_spec(
    query: str | None, filter: SearchFilter | None, sort: SearchSort, first: int, after: str | None
) -> SearchSpec:
    """The GraphQL arguments as the service layer's SearchSpec (it validates them and adds synonyms)."""
    f = filter or SearchFilter()
    min_confidence = f.min_confidence or 0.0
    thresholds = [(t.label, t.min_confidence) for t in f.label_confidence or ()]
    sources = set(f.label_source or ())
    max_confidence = 100.0
    if sources == {LabelSource.HUMAN}:  # human labels, and only they, are at 100 (human_labels)
        min_confidence = HUMAN_YES
        named = [*(f.labels or ()), *(f.all_labels or ())]
        thresholds = [(n, HUMAN_YES) for n in named]
    elif sources == {LabelSource.MACHINE}:  # the machine's labels no review confirmed: below 100
        max_confidence = MACHINE_CEILING
    return SearchSpec(
        text=query,
        labels=f.labels or (),
        all_labels=f.all_labels or (),
        not_labels=f.not_labels or (),
        min_confidence=min_confidence,
        max_confidence=max_confidence,
        include_guesses=bool(f.include_guesses),
        label_confidence=thresholds,
        persons=f.persons or (),
        phrase=f.text or None,
        exclude_moderation=bool(f.exclude_moderation),
        media_types=f.media_types or (),
        min_duration=f.min_duration if isinstance(f.min_duration, int | float) else None,
        max_duration=f.max_duration if isinstance(f.max_duration, int | float) else None,
        training_examples=TrainingExamples(f.training_examples or TrainingExamples.EXCLUDE),
        created_after=f.created_after or None,
        created_before=f.created_before or None,
        captured_after=f.captured_after or None,
        captured_before=f.captured_before or None,
        sort=SortOrder(sort.value),
        roots_only=f.versions == VersionScope.ROOTS,
        first=first,
        after=after,
    )
