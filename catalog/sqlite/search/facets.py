"""Facets of the embedded search index: tallied over a materialised hit set, or read from the counts,
then ranked and cut the same way (most frequent first, then by value; capture years newest first)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass

import numpy as np

from catalog.domain.ports import FacetValue, SearchHit, SearchPage
from catalog.domain.ranking import FACET_LIMIT, one_spelling
from catalog.sqlite.search.counts import CAPTURE_YEAR, LABEL, MEDIA_TYPE, PERSON, Tallies
from catalog.sqlite.search.vocab import Vocabulary, unpack


def empty() -> Tallies:
    return {f: Counter() for f in (LABEL, PERSON, MEDIA_TYPE, CAPTURE_YEAR)}


def tally_matched(conn: sqlite3.Connection, vocab: Vocabulary) -> Tallies:
    """The facet values of the assets in temp.matched, from the columns materialised with them."""
    tallies = empty()
    for media_type, year, n in conn.execute(
        "SELECT media_type, year, COUNT(*) FROM temp.matched GROUP BY 1, 2"
    ):
        tallies[MEDIA_TYPE][media_type] += n
        if year:
            tallies[CAPTURE_YEAR][year] += n
    ids = unpack(r[0] for r in conn.execute("SELECT facet_ids FROM temp.matched WHERE facet_ids IS NOT NULL"))
    if ids.size:
        counts = np.bincount(ids)
        for i, (facet, value) in vocab.values(conn, np.flatnonzero(counts).tolist()).items():
            tallies[facet][value] += int(counts[i])
    return tallies


def add(into: Tallies, more: Tallies, sign: int = 1) -> None:
    for facet, counts in more.items():
        (into[facet].update if sign > 0 else into[facet].subtract)(counts)


@dataclass(frozen=True)
class Facets:
    total: int
    labels: tuple[FacetValue, ...]
    persons: tuple[FacetValue, ...]
    media_types: tuple[FacetValue, ...]
    capture_years: tuple[FacetValue, ...]


def finish(conn: sqlite3.Connection, tenant_id: str, tallies: Tallies) -> Facets:
    """The total (every document has one media type) and each facet's first FACET_LIMIT values."""

    def top(counts: Counter[str], *, folded: bool = False) -> list[tuple[str, int]]:
        """Most frequent first, then by value (`folded`: lower-cased, as OpenSearch's label facet)."""
        return sorted(
            ((v, n) for v, n in counts.items() if n > 0),
            key=lambda vn: (-vn[1], vn[0].casefold() if folded else vn[0], vn[0]),
        )

    persons = [(_person_name(conn, tenant_id, lc), n) for lc, n in top(tallies[PERSON])[:FACET_LIMIT]]
    years = sorted(((y, n) for y, n in tallies[CAPTURE_YEAR].items() if n > 0), reverse=True)
    return Facets(
        total=sum(tallies[MEDIA_TYPE].values()),
        labels=_values(top(one_spelling(tallies[LABEL]), folded=True)),
        persons=_values(sorted(persons, key=lambda vn: (-vn[1], vn[0]))),
        media_types=_values(top(tallies[MEDIA_TYPE])),
        capture_years=_values(years),
    )


def _values(pairs: list[tuple[str, int]]) -> tuple[FacetValue, ...]:
    return tuple(FacetValue(v, n) for v, n in pairs[:FACET_LIMIT])


def _person_name(conn: sqlite3.Connection, tenant_id: str, person_lc: str) -> str:
    """How a person counted by lower-cased name is shown: as written on the first asset that has it."""
    row = conn.execute(
        "SELECT name FROM doc_persons WHERE tenant_id = ? AND person_lc = ? LIMIT 1", (tenant_id, person_lc)
    ).fetchone()
    return str(row[0]) if row else person_lc


def page(hits: tuple[SearchHit, ...], has_next: bool, facets: Facets) -> SearchPage:
    """One page of hits with the total and the four facets of the whole result."""
    return SearchPage(
        total=facets.total,
        hits=hits,
        end_cursor=hits[-1].cursor if hits else None,
        has_next=has_next,
        label_facets=facets.labels,
        person_facets=facets.persons,
        media_type_facets=facets.media_types,
        capture_year_facets=facets.capture_years,
    )
