"""The OpenSearch adapter explains hits by meaning from the page's stored vectors (k-NN itself needs a real
OpenSearch: the contract test's semantic case runs there; here, the request and the reading of a reply)."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.domain.ports import SearchQuery
from catalog.opensearch import query as q

PUPPY = (0.96, 0.28, 0.0)


def reply(*hits: tuple[str, float, list[float] | None]) -> dict[str, Any]:
    return {
        "hits": {
            "total": {"value": len(hits)},
            "hits": [
                {"_score": score, "sort": [score, asset], **({"_source": {"embedding": vec}} if vec else {})}
                for asset, score, vec in hits
            ],
        }
    }


def test_a_text_query_with_meaning_asks_for_the_vectors_and_explains_each_hit() -> None:
    query = SearchQuery(text="puppy", text_embedding=PUPPY)
    assert q.search_body("t1", query, None, dimension=3)["_source"] == ["embedding"]  # type: ignore[index]
    words_only = SearchQuery(text="puppy")
    assert q.search_body("t1", words_only, None, dimension=3)["_source"] is False  # type: ignore[index]
    off = q.search_body("t1", query, None, dimension=3, semantic=False)
    assert off is not None and off["_source"] is False

    vector = q.meaning_vector(query, dimension=3, semantic=True)
    page = q.read_page(reply(("d1", 28.8, [1.0, 0.0, 0.0]), ("c1", 35.0, [0.0, 1.0, 0.0])), 20, vector)
    assert [h.meaning for h in page.hits] == [pytest.approx(0.96), None]  # 0.28: under the floor
    assert all(h.meaning is None for h in q.read_page(reply(("d1", 1.0, None)), 20, vector).hits)
