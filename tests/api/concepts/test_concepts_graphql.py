"""Custom concepts through GraphQL (schema.execute, real storage, a fake at the label-model port that also
gives feature vectors): define, typed errors, train in the worker, read the metrics, activate as a batch
whose report shows the label gained, search by synonym, suggestions, and tenant isolation."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from catalog.domain.concepts.model import ExampleSource
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from tests.api.concepts.graphql import run
from tests.conftest import jpeg_bytes, make_tenant
from tests.fakes import ColorFeatureLabeler

REDS = [
    (240, 20, 20),
    (220, 40, 30),
    (200, 10, 60),
    (250, 60, 40),
    (180, 20, 20),
    (230, 30, 90),
    (210, 70, 50),
]
OTHERS = [
    (20, 230, 20),
    (20, 20, 200),
    (40, 200, 60),
    (30, 60, 220),
    (10, 180, 160),
    (60, 90, 250),
    (90, 210, 30),
]

CONCEPT = """
query ($name: String!) { concept(name: $name) {
  name analyzer parents synonyms activeVersion
  versions {
    number status featureModel error metrics { precision recall f1 threshold positives negatives folds }
  }
  examples { assetId positive source }
  suggestions(first: 3) { assetId confidence }
} }
"""


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    svc = build(settings, labeler=ColorFeatureLabeler())
    yield svc
    svc.close()


async def ingest(services: Services, tenant: str, colors: list[tuple[int, int, int]], name: str) -> list[str]:
    ids = []
    for n, color in enumerate(colors):
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes(color), f"{name}-{n}.jpg")
        assert outcome.asset is not None
        ids.append(outcome.asset.id)
    return ids


async def test_a_concept_through_graphql(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    other_tenant, _ = await make_tenant(services, "other")
    reds = await ingest(services, tenant, REDS, "red")
    others = await ingest(services, tenant, OTHERS, "other")
    (foreign,) = await ingest(services, other_tenant, [(240, 20, 20)], "theirs")
    await services.worker().run_until_idle()

    create = """mutation ($name: String!, $pos: [ID!], $neg: [ID!]) {
      createConcept(name: $name, positives: $pos, negatives: $neg, parents: ["Warm"], synonyms: ["scarlet"]) {
        concept { name analyzer } error { code message } } }"""
    bad = await run(services, tenant, create, name="Crimson", pos=[*reds[:4], foreign], neg=[])
    assert bad["createConcept"]["error"]["code"] == "NOT_FOUND"  # another tenant's asset is no asset here
    assert foreign in bad["createConcept"]["error"]["message"]
    bad = await run(services, tenant, create, name="", pos=[], neg=[])
    assert bad["createConcept"]["error"]["code"] == "INVALID_NAME"
    made = await run(services, tenant, create, name="Crimson", pos=reds[:4], neg=others[:3])
    assert made["createConcept"] == {
        "concept": {"name": "Crimson", "analyzer": "concept:Crimson"},
        "error": None,
    }

    train = (
        """mutation { trainConcept(name: "crimson") { version { number status } error { code message } } }"""
    )
    refused = (await run(services, tenant, train))["trainConcept"]
    assert refused["error"]["code"] == "TOO_FEW_EXAMPLES"
    assert (
        "at least 5 positive examples" in refused["error"]["message"]
        and "add 1 more" in refused["error"]["message"]
    )

    add = """mutation ($pos: [ID!]) {
      addConceptExamples(name: "Crimson", positives: $pos) { error { code } } }"""
    assert (await run(services, tenant, add, pos=[reds[4]]))["addConceptExamples"]["error"] is None
    started = (await run(services, tenant, train))["trainConcept"]
    assert started == {"version": {"number": 1, "status": "TRAINING"}, "error": None}
    await services.worker().run_until_idle()

    concept = (await run(services, tenant, CONCEPT, name="CRIMSON"))["concept"]
    assert (
        concept["parents"] == ["Warm"]
        and concept["synonyms"] == ["scarlet"]
        and concept["activeVersion"] is None
    )
    (v1,) = concept["versions"]
    assert v1["status"] == "READY" and v1["featureModel"] == "fake-color-features/1"
    assert v1["metrics"]["positives"] == 5 and v1["metrics"]["negatives"] >= 3 and v1["metrics"]["f1"] > 0.8
    assert sorted(e["assetId"] for e in concept["examples"] if e["positive"]) == sorted(reds[:5])
    assert {e["source"] for e in concept["examples"]} == {"MANUAL"}
    assert {s["assetId"] for s in concept["suggestions"][:2]} == set(reds[5:])  # "is this also Crimson?"

    activate = """mutation { activateConcept(name: "Crimson") {
      concept { activeVersion } batch { id total analyzers } error { code message } } }"""
    activated = (await run(services, tenant, activate))["activateConcept"]
    assert activated["error"] is None and activated["concept"]["activeVersion"] == 1
    assert activated["batch"]["total"] == len(REDS + OTHERS) and activated["batch"]["analyzers"] == [
        "concept:Crimson"
    ]
    await services.worker().run_until_idle()

    report = (
        """query ($id: ID!) { batchReport(batchId: $id) { assetsChanged labelsGained { name count } } }"""
    )
    got = (await run(services, tenant, report, id=activated["batch"]["id"]))["batchReport"]
    assert {"name": "Crimson", "count": len(REDS)} in got["labelsGained"]
    assert got["assetsChanged"] == len(REDS)  # a concept that gives nothing changes nothing
    search = """query ($labels: [String!]) { search(filter: {labels: $labels}, first: 50) {
      edges { matches { label via } node { id labels { name parents } } } } }"""
    for name in ("Crimson", "scarlet", "Warm"):
        edges = (await run(services, tenant, search, labels=[name]))["search"]["edges"]
        assert {e["node"]["id"] for e in edges} == set(reds), name
    node_labels = (await run(services, tenant, search, labels=["scarlet"]))["search"]["edges"][0]["node"][
        "labels"
    ]
    assert {"name": "Crimson", "parents": ["Warm"]} in node_labels

    # the other tenant sees none of it
    assert (await run(services, other_tenant, CONCEPT, name="Crimson"))["concept"] is None
    assert (await run(services, other_tenant, "{ concepts { name } }"))["concepts"] == []
    refused = (await run(services, other_tenant, train))["trainConcept"]["error"]
    assert refused["code"] == "NOT_FOUND"


async def test_examples_can_come_from_a_search_and_be_removed(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    reds = await ingest(services, tenant, REDS, "red")
    await ingest(services, tenant, OTHERS, "other")
    await services.worker().run_until_idle()
    made = await run(
        services,
        tenant,
        """mutation { createConcept(name: "Reds", positivesFrom: {labels: ["Red"]}) { error { code } } }""",
    )
    assert made["createConcept"]["error"] is None
    examples = (await run(services, tenant, CONCEPT, name="Reds"))["concept"]["examples"]
    assert sorted(e["assetId"] for e in examples) == sorted(reds)
    removed = await run(
        services,
        tenant,
        """mutation ($ids: [ID!]!) {
          removeConceptExamples(name: "Reds", assetIds: $ids) { removed error { code } } }""",
        ids=reds[:2],
    )
    assert removed["removeConceptExamples"] == {"removed": 2, "error": None}
    missing = await run(services, tenant, """mutation { activateConcept(name: "Nope") { error { code } } }""")
    assert missing["activateConcept"]["error"]["code"] == "NOT_FOUND"


async def test_reviewers_answer_the_uncertain_items_and_retraining_learns_from_them(
    services: Services,
) -> None:
    from catalog.domain.clock import utcnow
    from catalog.domain.review.tasks import Answer, ReviewRules, Verdict

    tenant, _ = await make_tenant(services, "acme")
    reds = await ingest(services, tenant, REDS, "red")
    others = await ingest(services, tenant, OTHERS, "other")
    await services.worker().run_until_idle()
    await services.concepts.create(tenant, "Crimson", positives=reds[:5])
    await services.concepts.train(tenant, "Crimson")
    await services.worker().run_until_idle()
    await services.concepts.activate(tenant, "Crimson")
    await services.worker().run_until_idle()

    asked = """mutation { reviewConcept(name: "Crimson", first: 4) { requested error { code message } } }"""
    assert (await run(services, tenant, asked))["reviewConcept"] == {"requested": 4, "error": None}
    concept = await services.concepts.get(tenant, "Crimson")
    assert len(concept.in_review) == 4 and not set(concept.in_review) & set(reds[:5])
    # the next uncertain items are others: nothing is asked twice
    again = await services.concepts.uncertain(tenant, concept, first=20)
    assert not {s.asset_id for s in again} & set(concept.in_review)

    await services.review.store.set_review_rules(
        tenant, ReviewRules(answers_per_task=1, max_answers=1, gold_rate=0)
    )
    _, reviewer = await services.review.reviewers.add(tenant, "ada")
    tasks = await services.review.queue.next(reviewer, 10)
    assert {t.asset_id for t in tasks} == set(concept.in_review)
    assert {t.question.label for t in tasks} == {"Crimson"}
    truth = set(reds)
    for task in tasks:
        verdict = Verdict.YES if task.asset_id in truth else Verdict.NO
        await services.review.queue.submit(reviewer, task.id, Answer(reviewer.id, utcnow(), verdict))

    second = await run(
        services, tenant, """mutation { trainConcept(name: "Crimson") { version { number } } }"""
    )
    assert second["trainConcept"]["version"]["number"] == 2
    await services.worker().run_until_idle()
    data = (await run(services, tenant, CONCEPT, name="Crimson"))["concept"]
    reviewed = [e for e in data["examples"] if e["source"] == "REVIEW"]
    assert len(reviewed) == 4
    assert {e["assetId"] for e in reviewed if e["positive"]} == set(concept.in_review) & truth
    v2, v1 = data["versions"]
    assert v2["metrics"]["positives"] == 5 + len(set(concept.in_review) & truth)
    assert v2["metrics"] != v1["metrics"]  # retraining shows the metric change
    assert (await services.concepts.get(tenant, "Crimson")).in_review == ()
    assert others  # the archive had negatives to draw from


SEARCH_CRIMSON = """{ search(filter: {labels: ["Crimson"]}, first: 50) { totalCount } }"""


async def trained_crimson(services: Services) -> tuple[str, list[str]]:
    """A tenant with red and other pictures and a trained (not active) concept Crimson: (tenant, reds)."""
    tenant, _ = await make_tenant(services, "acme")
    reds = await ingest(services, tenant, REDS, "red")
    await ingest(services, tenant, OTHERS, "other")
    await services.worker().run_until_idle()
    await services.concepts.create(tenant, "Crimson", positives=reds[:5])
    await services.concepts.train(tenant, "Crimson")
    await services.worker().run_until_idle()
    return tenant, reds


async def test_a_deleted_concept_takes_its_label_off_the_archive(services: Services) -> None:
    tenant, reds = await trained_crimson(services)
    await services.concepts.activate(tenant, "Crimson")
    await services.worker().run_until_idle()
    search = SEARCH_CRIMSON
    assert (await run(services, tenant, search))["search"]["totalCount"] == len(REDS)

    deleted = await run(
        services,
        tenant,
        """mutation { deleteConcept(name: "Crimson") { concept { name } error { code } } }""",
    )
    assert deleted["deleteConcept"] == {"concept": {"name": "Crimson"}, "error": None}
    await services.worker().run_until_idle()
    assert (await run(services, tenant, search))["search"]["totalCount"] == 0
    runs = await services.catalog.runs_of(tenant, [reds[0]], "concept:Crimson")
    assert [r.model_version for r in runs[reds[0]]] == ["deleted", "v1"]  # the history stays
    assert (await run(services, tenant, "{ concepts { name } }"))["concepts"] == []


async def test_a_deactivated_concept_loses_its_label_and_comes_back_when_activated(
    services: Services,
) -> None:
    tenant, reds = await trained_crimson(services)
    search = SEARCH_CRIMSON
    deactivate = """mutation { deactivateConcept(name: "crimson") {
      concept { name activeVersion } error { code message } } }"""
    refused = (await run(services, tenant, deactivate))["deactivateConcept"]
    assert refused["error"]["code"] == "NOT_ACTIVE"  # never activated

    await services.concepts.activate(tenant, "Crimson")
    await services.worker().run_until_idle()
    assert (await run(services, tenant, search))["search"]["totalCount"] == len(REDS)

    done = (await run(services, tenant, deactivate))["deactivateConcept"]
    assert done == {"concept": {"name": "Crimson", "activeVersion": None}, "error": None}
    await services.worker().run_until_idle()
    assert (await run(services, tenant, search))["search"]["totalCount"] == 0
    runs = await services.catalog.runs_of(tenant, [reds[0]], "concept:Crimson")
    assert [r.model_version for r in runs[reds[0]]] == ["deactivated", "v1"]
    # new assets no longer get it
    (late,) = await ingest(services, tenant, [(235, 25, 25)], "late")
    await services.worker().run_until_idle()
    assert not (await services.catalog.runs_of(tenant, [late], "concept:Crimson")).get(late)
    concept = (await run(services, tenant, CONCEPT, name="Crimson"))["concept"]
    assert len(concept["versions"]) == 1 and len(concept["examples"]) == 5  # versions and examples stay

    await services.concepts.activate(tenant, "Crimson")
    await services.worker().run_until_idle()
    assert (await run(services, tenant, search))["search"]["totalCount"] == len(REDS) + 1


async def test_uploaded_training_examples_are_hidden_from_search_unless_asked_for(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    await ingest(services, tenant, OTHERS, "other")
    examples = []
    for n, color in enumerate(REDS[:5]):
        outcome = await services.ingestor.ingest(
            tenant, jpeg_bytes(color), f"upload-{n}.jpg", training_example=True
        )
        assert outcome.asset is not None and outcome.asset.training_example
        examples.append(outcome.asset.id)
    await services.worker().run_until_idle()  # analysed like any asset: features for training
    await services.concepts.create(tenant, "Crimson")
    await services.concepts.add_examples(tenant, "Crimson", positives=examples, source=ExampleSource.UPLOAD)
    await services.concepts.train(tenant, "Crimson")
    await services.worker().run_until_idle()
    data = (await run(services, tenant, CONCEPT, name="Crimson"))["concept"]
    assert data["versions"][0]["status"] == "READY"
    assert {e["source"] for e in data["examples"]} == {"UPLOAD"}

    search = """query ($scope: TrainingExamples) {
      search(filter: {trainingExamples: $scope}, first: 50) {
        totalCount edges { node { id trainingExample } } facets { labels { value count } } } }"""
    archive = (await run(services, tenant, search))["search"]
    assert archive["totalCount"] == len(OTHERS)
    assert not {e["node"]["id"] for e in archive["edges"]} & set(examples)
    assert sum(f["count"] for f in archive["facets"]["labels"] if f["value"] == "Red") == 0
    only = (await run(services, tenant, search, scope="ONLY"))["search"]
    assert only["totalCount"] == 5 and {e["node"]["id"] for e in only["edges"]} == set(examples)
    assert all(e["node"]["trainingExample"] for e in only["edges"])

    # Activation reports what the archive gained: the examples are not in its batch.
    _, batch = await services.concepts.activate(tenant, "Crimson")
    assert batch is not None and batch.total == len(OTHERS)
    await services.worker().run_until_idle()

    # The same file ingested into the archive joins it, and searches find it from then on.
    joined = await services.ingestor.ingest(tenant, jpeg_bytes(REDS[0]), "red.jpg")
    assert joined.status == "duplicate" and joined.asset is not None
    assert joined.asset.id == examples[0] and not joined.asset.training_example
    await services.worker().run_until_idle()
    archive = (await run(services, tenant, search))["search"]
    assert archive["totalCount"] == len(OTHERS) + 1
    assert (await run(services, tenant, search, scope="ONLY"))["search"]["totalCount"] == 4


async def test_a_version_without_kept_scores_says_so_while_a_worker_prepares_them(services: Services) -> None:

    tenant, reds = await trained_crimson(services)
    concept = await services.concepts.get(tenant, "Crimson")
    trained = await services.catalog.get_version(tenant, concept.id, 1)
    assert trained is not None and trained.scored
    # as a version trained before scores were kept is stored
    await services.catalog.save_version(dataclasses.replace(trained, scored=False, scored_through=""))
    await services.catalog.save_concept(dataclasses.replace(concept, active_version=1))

    query = """query { concept(name: "Crimson") {
      versions { number scoresReady } suggestions(first: 2) { assetId } uncertain(first: 2) { assetId } } }"""
    waiting = (await run(services, tenant, query))["concept"]
    assert waiting == {"versions": [{"number": 1, "scoresReady": False}], "suggestions": [], "uncertain": []}
    asked = """mutation { reviewConcept(name: "Crimson", first: 2) { requested error { code } } }"""
    assert (await run(services, tenant, asked))["reviewConcept"] == {
        "requested": 0,
        "error": {"code": "PREPARING"},
    }

    await services.worker().run_until_idle()  # the job the first read queued
    ready = (await run(services, tenant, query))["concept"]
    assert ready["versions"] == [{"number": 1, "scoresReady": True}]
    assert {s["assetId"] for s in ready["suggestions"]} == set(reds[5:])
    assert len(ready["uncertain"]) == 2
