"""Building a search: what a caller asks for (SearchSpec), validated and widened by the tenant's synonyms
into the index's SearchQuery, plus the text query's meaning when the server embeds metadata.

Every entrypoint that selects assets by a filter goes through here (GraphQL `search` and `reprocess`,
`mediasight reprocess --label`), so one filter selects the same assets whichever way it arrives.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from catalog.domain.cursor import CursorError, decode_cursor
from catalog.domain.ids import is_uuid
from catalog.domain.labels.query_terms import label_terms
from catalog.domain.model import TenantConfig
from catalog.domain.ports import (
    CatalogStore,
    LabelMatch,
    SearchPage,
    SearchQuery,
    SortOrder,
    TrainingExamples,
    with_synonyms,
)
from catalog.domain.tone import named_tone
from indexer.cpu import CpuPool
from indexer.recognizers.ports import TextEmbedder

MAX_PAGE = 100
MAX_FILTER_VALUES = 50
MAX_QUERY_CHARS = 500


class InvalidSearch(ValueError):
    """The caller's search cannot run as given; the message says what to change."""


@dataclass(frozen=True)
class SearchSpec:
    """A search as a caller states it: names as typed, before validation and synonyms."""

    text: str | None = None
    labels: Sequence[str] = ()
    all_labels: Sequence[str] = ()
    not_labels: Sequence[str] = ()
    min_confidence: float = 0.0
    max_confidence: float = 100.0  # labels above it do not match (labelSource MACHINE: below human 100)
    include_guesses: bool = False  # label conditions match a model's guesses too (SearchQuery.threshold)
    label_confidence: Sequence[tuple[str, float]] = ()
    persons: Sequence[str] = ()
    phrase: str | None = None
    exclude_moderation: bool = False
    media_types: Sequence[str] = ()
    min_duration: float | None = None
    max_duration: float | None = None
    training_examples: TrainingExamples = TrainingExamples.EXCLUDE
    created_after: datetime | None = None
    created_before: datetime | None = None
    captured_after: datetime | None = None
    captured_before: datetime | None = None
    sort: SortOrder = SortOrder.RELEVANCE
    roots_only: bool = False
    first: int = 20
    after: str | None = None


def _seconds(field: str, value: float | None) -> float | None:
    if value is not None and not (0 <= value < float("inf")):
        raise InvalidSearch(f"`{field}` is a number of seconds, 0 or more; got {value}.")
    return value


def _names(field: str, values: Iterable[str] | None) -> tuple[str, ...]:
    found = tuple(v.strip() for v in values or ())
    if len(found) > MAX_FILTER_VALUES:
        raise InvalidSearch(f"`filter.{field}` takes at most {MAX_FILTER_VALUES} names.")
    if "" in found:  # dropping it would widen the filter: [""] would match everything
        raise InvalidSearch(f"`filter.{field}` has an empty name: leave the field out to not filter by it.")
    return found


def _percent(field: str, value: float) -> float:
    if not 0 <= value <= 100:
        raise InvalidSearch(f"`{field}` is a percentage: 0 to 100.")
    return value


def build_query(spec: SearchSpec, config: TenantConfig) -> SearchQuery:
    """The index query for `spec` in a tenant configured by `config` (InvalidSearch: it cannot run)."""
    if spec.after is not None and not is_uuid(decode_cursor(spec.after)[1]):  # CursorError: BAD_CURSOR
        raise CursorError("invalid cursor: pass the endCursor of a previous page with the same sort")
    if not 1 <= spec.first <= MAX_PAGE:
        raise InvalidSearch(
            f"`first` must be between 1 and {MAX_PAGE}; page with `after: endCursor` for more."
        )
    if spec.text is not None and len(spec.text) > MAX_QUERY_CHARS:
        raise InvalidSearch(f"`query` is longer than {MAX_QUERY_CHARS} characters.")
    phrase = spec.phrase or None
    if phrase is not None and len(phrase) > MAX_QUERY_CHARS:
        raise InvalidSearch(f"`filter.text` is longer than {MAX_QUERY_CHARS} characters.")
    _names("labelConfidence", [label for label, _ in spec.label_confidence])
    thresholds = {
        label.strip().lower(): _percent("filter.labelConfidence.minConfidence", value)
        for label, value in spec.label_confidence
    }
    # "black and white photo of a ship": only monochrome documents, ranked by "ship" (catalog.domain.tone)
    tone, text = named_tone(spec.text) if spec.text is not None else ("", None)
    synonyms = config.synonyms
    for group in synonyms:  # a synonym inherits the threshold given for any name of its group
        given = next((thresholds[g.lower()] for g in group if g.lower() in thresholds), None)
        if given is not None:
            thresholds.update({g.lower(): given for g in group})
    return SearchQuery(
        text=(text or None) if tone else text,
        labels=with_synonyms(_names("labels", spec.labels), synonyms),
        all_labels=_names("allLabels", spec.all_labels),
        not_labels=with_synonyms(_names("notLabels", spec.not_labels), synonyms),
        min_confidence=_percent("filter.minConfidence", spec.min_confidence),
        max_confidence=_percent("maxConfidence", spec.max_confidence),
        include_guesses=spec.include_guesses,
        label_confidence=thresholds,
        persons=_names("persons", spec.persons),
        phrase=phrase,
        exclude_moderation=spec.exclude_moderation,
        media_types=_names("mediaTypes", spec.media_types),
        min_duration=_seconds("filter.minDuration", spec.min_duration),
        max_duration=_seconds("filter.maxDuration", spec.max_duration),
        training_examples=spec.training_examples,
        created_after=spec.created_after,
        created_before=spec.created_before,
        captured_after=spec.captured_after,
        captured_before=spec.captured_before,
        sort=spec.sort,
        roots_only=spec.roots_only,
        first=spec.first,
        after=spec.after,
        synonyms=synonyms,
        tone=tone,
    )


MEANINGS_KEPT = 256  # texts whose embedding is kept (a next page, or a search asked again, reuses it)


class SearchQueries:
    """Builds a tenant's index queries: its synonyms, and (for a text query) the text's embedding."""

    def __init__(self, catalog: CatalogStore, cpu: CpuPool, embedder: TextEmbedder | None) -> None:
        self._catalog = catalog
        self._cpu = cpu
        self._embedder = embedder
        self._meanings: OrderedDict[str, tuple[float, ...]] = OrderedDict()  # text -> its embedding

    async def config(self, tenant_id: str) -> TenantConfig:
        tenant = await self._catalog.get_tenant(tenant_id)
        return tenant.config if tenant else TenantConfig()

    async def build(self, tenant_id: str, spec: SearchSpec) -> SearchQuery:
        """The query to run or to select assets by (InvalidSearch: the spec cannot run)."""
        return build_query(spec, await self.config(tenant_id))

    async def selection(self, tenant_id: str, spec: SearchSpec) -> SearchQuery:
        """The query a reprocess batch selects its assets by: the spec's filter, in creation order (the same
        for GraphQL `reprocess(filter:)` and `mediasight reprocess --label`)."""
        return await self.build(
            tenant_id, dataclasses.replace(spec, sort=SortOrder.CREATED, first=MAX_PAGE, after=None)
        )

    async def with_meaning(self, query: SearchQuery) -> SearchQuery:
        """Text queries also search by meaning when the server embeds metadata."""
        text = (query.text or "").strip()
        if not text or self._embedder is None:
            return query
        embedding = self._meanings.get(text)
        if embedding is None:
            vector = await self._cpu.run(self._embedder.embed, [text])
            embedding = tuple(float(v) for v in vector[0])
        self._meanings[text] = embedding  # the event loop's alone: no lock
        self._meanings.move_to_end(text)
        while len(self._meanings) > MEANINGS_KEPT:
            self._meanings.popitem(last=False)
        return dataclasses.replace(query, text_embedding=embedding)


def as_asked(page: SearchPage, spec: SearchSpec, query: SearchQuery) -> SearchPage:
    """The page with each match's `via` as the caller asked: the tenant's synonym it typed ("Raubkatze"),
    not the name of its group the label matched through ("big cat")."""
    asked = [*spec.labels, *spec.all_labels, *(label_terms(spec.text) if spec.text else ())]
    typed = {name.casefold() for name in asked}
    stands_for = {
        member.casefold(): name
        for name in asked
        for group in query.synonyms
        if name.casefold() in (g.casefold() for g in group)
        for member in group
    }
    if not stands_for:
        return page

    def via(match: LabelMatch) -> LabelMatch:
        key = match.via.casefold()
        if key in typed or key not in stands_for:
            return match
        return dataclasses.replace(match, via=stands_for[key])

    hits = tuple(dataclasses.replace(h, matches=tuple(via(m) for m in h.matches)) for h in page.hits)
    return dataclasses.replace(page, hits=hits)
