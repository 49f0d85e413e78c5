"""The search language's input: filter and sort, validated, expanded by the tenant's synonyms."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

import strawberry
from graphql import GraphQLError

from api.types import AssetStatus
from catalog.domain.model import Stage, TenantConfig
from catalog.domain.ports import SearchQuery, SortOrder, with_synonyms

MAX_PAGE = 100
MAX_FILTER_VALUES = 50
MAX_QUERY_CHARS = 500


@strawberry.input(description="A minimum confidence for one label name (overrides minConfidence for it).")
class LabelThreshold:
    label: str
    min_confidence: float


@strawberry.enum(description="Which assets of a version tree a search returns.")
class VersionScope(enum.Enum):
    ALL = "all"
    ROOTS = "roots"


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
        default=strawberry.UNSET, description="A label must be at least this confident (0–100) to match."
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
    media_types: list[str] | None = strawberry.field(default=strawberry.UNSET, description="e.g. image/jpeg.")
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


def _names(field: str, values: Iterable[str] | None) -> tuple[str, ...]:
    found = tuple(v.strip() for v in values or ())
    if len(found) > MAX_FILTER_VALUES:
        raise GraphQLError(f"`filter.{field}` takes at most {MAX_FILTER_VALUES} names.")
    if "" in found:  # dropping it would widen the filter: [""] would match everything
        raise GraphQLError(f"`filter.{field}` has an empty name: leave the field out to not filter by it.")
    return found


def _percent(field: str, value: float) -> float:
    if not 0 <= value <= 100:
        raise GraphQLError(f"`{field}` is a percentage: 0 to 100.")
    return value


def search_query(
    query: str | None,
    filter: SearchFilter | None,
    sort: SearchSort,
    first: int,
    after: str | None,
    config: TenantConfig,
) -> SearchQuery:
    if not 1 <= first <= MAX_PAGE:
        raise GraphQLError(
            f"`first` must be between 1 and {MAX_PAGE}; page with `after: endCursor` for more."
        )
    if query is not None and len(query) > MAX_QUERY_CHARS:
        raise GraphQLError(f"`query` is longer than {MAX_QUERY_CHARS} characters.")
    f = filter or SearchFilter()
    phrase = f.text or None
    if phrase is not None and len(phrase) > MAX_QUERY_CHARS:
        raise GraphQLError(f"`filter.text` is longer than {MAX_QUERY_CHARS} characters.")
    per_label = f.label_confidence or ()
    _names("labelConfidence", [t.label for t in per_label])
    thresholds = {
        t.label.strip().lower(): _percent("filter.labelConfidence.minConfidence", t.min_confidence)
        for t in per_label
    }
    synonyms = config.synonyms
    for group in synonyms:  # a synonym inherits the threshold given for any name of its group
        given = next((thresholds[g.lower()] for g in group if g.lower() in thresholds), None)
        if given is not None:
            thresholds.update({g.lower(): given for g in group})
    return SearchQuery(
        text=query,
        labels=with_synonyms(_names("labels", f.labels), synonyms),
        all_labels=_names("allLabels", f.all_labels),
        not_labels=with_synonyms(_names("notLabels", f.not_labels), synonyms),
        min_confidence=_percent("filter.minConfidence", f.min_confidence or 0.0),
        label_confidence=thresholds,
        persons=_names("persons", f.persons),
        phrase=phrase,
        exclude_moderation=bool(f.exclude_moderation),
        media_types=_names("mediaTypes", f.media_types),
        created_after=f.created_after or None,
        created_before=f.created_before or None,
        captured_after=f.captured_after or None,
        captured_before=f.captured_before or None,
        sort=SortOrder(sort.value),
        roots_only=f.versions == VersionScope.ROOTS,
        first=first,
        after=after,
        synonyms=synonyms,
    )
