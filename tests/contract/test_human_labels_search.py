"""Human review's labels in search, on both index backends: documents made by catalog.domain.metadata
from a machine run and a human `review` run; a human yes ranks above any machine label, a human no takes
the machine's label out of results, and labelSource HUMAN (a threshold of 100) finds only human labels."""

from __future__ import annotations

from datetime import UTC, datetime

from catalog.domain.metadata import current_labels
from catalog.domain.model import Findings, Label, RecognitionResult
from catalog.domain.ports import SearchIndex, SearchQuery
from catalog.domain.review.human_labels import REVIEW_ANALYZER
from tests.contract.test_search_index_contract import doc, ids
from tests.contract.test_search_index_contract import index as index

T = datetime(2026, 1, 1, tzinfo=UTC)


def labels_of(machine: list[Label], human: list[Label] | None = None) -> tuple[Label, ...]:
    results = {"labels": RecognitionResult("a", "labels", "m", "1", Findings(labels=tuple(machine)))}
    if human is not None:
        run = RecognitionResult("a", REVIEW_ANALYZER, "human-review", "1", Findings(labels=tuple(human)))
        results[REVIEW_ANALYZER] = run
    return current_labels(results)


async def test_human_labels_rank_first_and_a_human_no_removes(index: SearchIndex) -> None:
    animal = ("Animal",)
    sure_machine = labels_of([Label("Giraffe", 100.0, animal)])  # a machine's rounded 100 stays below
    confirmed = labels_of([Label("Giraffe", 41.0, animal)], [Label("Giraffe", 100.0)])
    rejected = labels_of(
        [Label("Giraffe", 97.0, animal), Label("Zebra", 30.0, animal)], [Label("Giraffe", 0.0)]
    )
    named = labels_of([Label("Horse", 35.0, animal)], [Label("Okapi", 100.0), Label("Horse", 0.0)])
    assert sure_machine[0].confidence == 99.99
    assert confirmed == (Label("Giraffe", 100.0, animal),)  # the machine's parents kept
    assert [lb.name for lb in rejected] == ["Zebra"]
    for asset, labels in [("m1", sure_machine), ("h1", confirmed), ("r1", rejected), ("n1", named)]:
        await index.upsert(doc("t", asset, *labels))

    found = await index.search("t", SearchQuery(labels=("Giraffe",)))
    assert ids(found) == ["h1", "m1"]  # the human label first; the rejected one gone
    human_only = await index.search(
        "t", SearchQuery(labels=("Giraffe",), min_confidence=100, label_confidence={"giraffe": 100})
    )
    assert ids(human_only) == ["h1"]
    assert ids(await index.search("t", SearchQuery(labels=("Okapi",)))) == ["n1"]
    assert ids(await index.search("t", SearchQuery(labels=("Horse",)))) == []
    every_human = await index.search("t", SearchQuery(min_confidence=100))
    assert sorted(ids(every_human)) == ["h1", "n1"]
