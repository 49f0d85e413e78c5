"""`versions: ROOTS` on OpenSearch: a version's match counts for its root, each tree returned once.

Two requests: the matching versions in relevance order (the first hit of a tree is its best, and explains
it), then the roots themselves — their sort fields and the facets over them. Keyset paging happens here, on
(sort key, root ID), exactly as the embedded index pages. Roll-ups are exact up to ROLLUP_LIMIT matching
versions; beyond that the query is refused (narrow it) rather than answered approximately.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from catalog.domain.cursor import SortKey, encode_cursor
from catalog.domain.ports import LabelMatch, SearchHit, SearchPage, SearchQuery, SortOrder, UnsupportedSearch
from catalog.opensearch import query as q

ROLLUP_LIMIT = 10_000  # OpenSearch's default max_result_window


async def search_roots(
    client: Any,
    index: str,
    tenant_id: str,
    query: SearchQuery,
    after: tuple[SortKey, str] | None,
    *,
    dimension: int,
    semantic: bool,
    cut: float,
) -> SearchPage:
    """`cut`: the query's meaning_cut (OpenSearchIndex reads it first)."""
    flat = dataclasses.replace(query, roots_only=False, sort=SortOrder.RELEVANCE, after=None)
    body = q.search_body(tenant_id, flat, None, dimension=dimension, semantic=semantic, cut=cut)
    if body is None:
        return q.EMPTY_PAGE
    body.pop("aggs", None)
    body.update(size=ROLLUP_LIMIT, _source=["root_id"])
    versions = await client.search(index=index, body=body)
    if int(versions["hits"]["total"]["value"]) > ROLLUP_LIMIT:
        raise UnsupportedSearch(
            f"more than {ROLLUP_LIMIT} versions match: narrow the search to roll them up to their roots"
        )
    best: dict[str, tuple[float, tuple[LabelMatch, ...], bool]] = {}
    for hit in versions["hits"]["hits"]:  # relevance order: a tree's first hit is its best
        root = hit["_source"].get("root_id") or hit["sort"][1]
        best.setdefault(root, (float(hit["_score"] or 0.0), q.explain(hit), q.text_matched(hit)))
    if not best:
        return q.EMPTY_PAGE
    roots = await client.search(
        index=index,
        body={
            "query": {
                "bool": {"filter": [{"term": {"tenant_id": tenant_id}}, {"terms": {"asset_id": list(best)}}]}
            },
            "sort": [q.SORT_KEYS[query.sort], {"asset_id": {"order": "desc"}}],
            "size": len(best),
            "track_total_hits": True,
            "_source": False,
            "aggs": q.FACETS,
        },
    )
    rows: list[tuple[SortKey, str, float, tuple[LabelMatch, ...], bool]] = []
    for hit in roots["hits"]["hits"]:  # roots not indexed (yet) drop out, as in the embedded index
        root_id = hit["sort"][1]
        score, matches, words = best[root_id]
        key: SortKey = hit["sort"][0]
        if query.sort == SortOrder.RELEVANCE:
            key = score
        elif query.sort == SortOrder.CONFIDENCE:
            key = matches[0].confidence if matches else score
        rows.append((key, root_id, score, matches, words))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    if after is not None:
        rows = [r for r in rows if (r[0], r[1]) < (after[0], after[1])]
    first = q.page_size(query)
    page = [
        SearchHit(
            asset_id=root, score=score, matches=matches, cursor=encode_cursor(key, root), text_match=words
        )
        for key, root, score, matches, words in rows[:first]
    ]
    aggregations = roots.get("aggregations", {})
    return SearchPage(
        total=int(roots["hits"]["total"]["value"]),
        hits=tuple(page),
        end_cursor=page[-1].cursor if page else None,
        has_next=len(rows) > first,
        label_facets=q.facets(aggregations, "labels"),
        person_facets=q.facets(aggregations, "persons"),
        media_type_facets=q.facets(aggregations, "media_types"),
        capture_year_facets=q.facets(aggregations, "capture_years"),
    )
