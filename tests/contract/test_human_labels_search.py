"""Human review's labels in search, on both index backends: documents made by catalog.domain.metadata
from a machine run and a human `review` run; a human yes ranks above any machine label, a human no takes
the machine's label out of results, and labelSource HUMAN (a threshold of 100) finds only human labels."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from catalog.domain.metadata import current_labels
from catalog.domain.model import Findings, Label, RecognitionResult
from catalog.domain.ports import SearchIndex, SearchQuery
from catalog.domain.review.human_labels import MACHINE_CEILING, REVIEW_ANALYZER
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


async def test_label_source_machine_human_or_both(index: SearchIndex) -> None:
    """labelSource as the API maps it: [HUMAN] a floor of 100, [MACHINE] a ceiling below it (the machine's
    labels no review confirmed), both (or none given) no bound. A rejected label matches neither."""
    animal = ("Animal",)
    docs = {
        "m1": labels_of([Label("Giraffe", 100.0, animal)]),  # a machine's rounded 100: machine
        "h1": labels_of([Label("Giraffe", 41.0, animal)], [Label("Giraffe", 100.0)]),  # confirmed
        "r1": labels_of(
            [Label("Giraffe", 97.0, animal), Label("Zebra", 30.0, animal)], [Label("Giraffe", 0.0)]
        ),
        "n1": labels_of([Label("Horse", 35.0, animal)], [Label("Okapi", 100.0), Label("Horse", 0.0)]),
        "x1": labels_of([Label("Giraffe", 60.0, animal), Label("Tree", 20.0)], [Label("Tree", 100.0)]),
    }
    for asset, labels in docs.items():
        await index.upsert(doc("t", asset, *labels, filename=f"{asset}.jpg"))
    await index.upsert(doc("other", "o1", Label("Giraffe", 70.0, animal)))  # another tenant's

    machine = SearchQuery(max_confidence=MACHINE_CEILING)
    human = SearchQuery(min_confidence=100)

    async def found(query: SearchQuery, **change: object) -> list[str]:
        return ids(await index.search("t", replace(query, **change)))

    # labels: the best label under the bound ranks each hit
    assert await found(machine, labels=("Giraffe",)) == ["m1", "x1"]
    assert await found(human, labels=("Giraffe",), label_confidence={"giraffe": 100}) == ["h1"]
    assert await found(SearchQuery(), labels=("Giraffe",)) == ["h1", "m1", "x1"]
    page = await index.search("t", replace(machine, labels=("Giraffe",)))
    assert page.total == 2 and [h.score for h in page.hits] == [MACHINE_CEILING, 60.0]
    # through a parent, and with a confidence floor under the ceiling
    assert await found(machine, labels=("Animal",), min_confidence=50) == ["m1", "x1"]
    assert await found(machine, labels=("Tree",)) == []  # x1's tree is a human label now
    # no label named: every asset with a label of that source, ranked by its best one
    assert await found(machine) == ["m1", "x1", "r1"]
    assert sorted(await found(human)) == ["h1", "n1", "x1"]
    # allLabels / notLabels count only labels of that source
    assert sorted(await found(machine, all_labels=("Giraffe", "Tree"))) == []
    assert await found(SearchQuery(), all_labels=("Giraffe", "Tree")) == ["x1"]
    assert await found(machine, not_labels=("Giraffe",)) == ["r1"]
    # a text query: the whole text as a label name under the ceiling; its words still find a human label's
    # name in the metadata text (a word match, not a label match: no label explains it)
    page = await index.search("t", replace(machine, text="giraffe"))
    assert ids(page) == ["m1", "x1", "h1"]
    assert [m.label for h in page.hits for m in h.matches] == ["Giraffe", "Giraffe"]
