"""The OpenSearch adapter explains hits by meaning from the page's stored vectors (k-NN itself needs a real
OpenSearch: the contract test's semantic case runs there; here, the request and the reading of a reply)."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.domain.ports import SearchQuery, TrainingExamples
from catalog.domain.ranking import SEMANTIC_FLOOR
from catalog.opensearch import query as q
from catalog.opensearch.index import OpenSearchIndex

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


def test_the_cut_comes_from_the_best_neighbour_of_the_tenants_partition() -> None:
    archive = q.best_meaning_body("t1", SearchQuery(text="animal", text_embedding=PUPPY), PUPPY)
    knn = archive["query"]["knn"]["embedding"]
    assert knn["k"] == 1 and knn["vector"] == list(PUPPY) and archive["size"] == 1
    assert knn["filter"]["bool"]["filter"] == [{"term": {"tenant_id": "t1"}}]
    assert knn["filter"]["bool"]["must_not"] == [{"term": {"training_example": True}}]
    only = SearchQuery(text="animal", text_embedding=PUPPY, training_examples=TrainingExamples.ONLY)
    examples = q.best_meaning_body("t1", only, PUPPY)["query"]["knn"]["embedding"]["filter"]["bool"]
    assert examples["filter"][1] == {"term": {"training_example": True}} and examples["must_not"] == []
    # cosinesimil scores (1 + cos) / 2: a best of 0.51 cuts at 0.41; none (no vector): the floor
    assert q.read_meaning_cut(reply(("c1", (1 + 0.51) / 2, None))) == pytest.approx(0.41)
    assert q.read_meaning_cut(reply()) == SEMANTIC_FLOOR


def test_the_radial_query_and_the_explanations_follow_the_cut() -> None:
    query = SearchQuery(text="animal", text_embedding=PUPPY)
    body = q.search_body("t1", query, None, dimension=3, cut=0.41)
    assert body is not None
    [_, meaning_part] = body["query"]["bool"]["must"][0]["bool"]["should"]
    assert meaning_part["function_score"]["query"]["knn"]["embedding"]["min_score"] == pytest.approx(0.705)
    page = q.read_page(reply(("k1", 35.0, [0.35, 0.0, 0.0])), 20, (1.0, 0.0, 0.0), cut=0.41)
    assert page.hits[0].meaning is None  # a keyword hit whose meaning (0.35) did not count says so


class Recorder:
    """The OpenSearch client's `search`, answering each request in turn with a canned reply."""

    def __init__(self, *replies: dict[str, Any]) -> None:
        self.replies = list(replies)
        self.bodies: list[dict[str, Any]] = []

    async def search(self, *, index: str, body: dict[str, Any]) -> dict[str, Any]:
        self.bodies.append(body)
        return self.replies.pop(0)


async def test_a_meaning_query_asks_for_the_best_neighbour_first() -> None:
    client = Recorder(reply(("cat", (1 + 0.51) / 2, None)), reply(("cat", 15.3, [1.0, 0.0, 0.0])))
    index = OpenSearchIndex(client, "i", dimension=3)  # type: ignore[arg-type]
    page = await index.search("t1", SearchQuery(text="animal", text_embedding=PUPPY))
    best, search = client.bodies
    assert best["query"]["knn"]["embedding"]["k"] == 1
    radial = search["query"]["bool"]["must"][0]["bool"]["should"][1]["function_score"]["query"]["knn"]
    assert radial["embedding"]["min_score"] == pytest.approx((1 + 0.41) / 2)
    assert page.hits[0].meaning == pytest.approx(0.96)
    words = Recorder(reply(("k1", 35.0, None)))  # no meaning in the query: one request
    await OpenSearchIndex(words, "i", dimension=3).search("t1", SearchQuery(text="animal"))  # type: ignore[arg-type]
    assert len(words.bodies) == 1
