"""A simulated crowd through the real review services on the embedded catalog: five reviewers of known
accuracy (one adversarial, one random) answer verify tasks with known truth and gold tasks."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalog.domain.ids import uuid7
from catalog.domain.model import Asset, Findings, Label, RecognitionResult, Stage
from catalog.domain.review.consensus import Item, majority_vote
from catalog.domain.review.tasks import (
    Answer,
    Question,
    QuestionKind,
    Reviewer,
    ReviewRules,
    TaskStatus,
    Verdict,
)
from catalog.sqlite import queue as sqlite_queue
from catalog.sqlite.catalog import SCHEMA, SqliteCatalog
from catalog.sqlite.db import SqliteDb
from catalog.sqlite.queue import SqliteJobQueue
from catalog.sqlite.review_store import SqliteReviewStore
from services.review_cache import ReviewCache
from services.review_quality import ReviewQuality
from services.review_queue import ReviewQueue
from services.review_results import REVIEW_ANALYZER, HumanRuns
from services.review_tasks import ReviewTasks
from services.reviewers import Reviewers

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CROWD = {"ada": 0.92, "ben": 0.85, "cy": 0.8, "eve": 0.1, "rand": None}  # eve: adversarial; rand: coin


@dataclass
class Stack:
    catalog: SqliteCatalog
    tasks: ReviewTasks
    queue: ReviewQueue
    quality: ReviewQuality
    reviewers: Reviewers
    store: SqliteReviewStore


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    db = SqliteDb(tmp_path / "catalog.db", SCHEMA + sqlite_queue.SCHEMA)
    catalog, store = SqliteCatalog(db), SqliteReviewStore(db)
    jobs = SqliteJobQueue(db)
    results = HumanRuns(catalog, jobs)
    cache = ReviewCache(store)
    quality = ReviewQuality(store, results, cache=cache)
    queue = ReviewQueue(store, results, cache=cache, rng=random.Random(7))
    try:
        yield Stack(
            catalog,
            ReviewTasks(catalog, store, jobs),
            queue,
            quality,
            Reviewers(catalog, store, cache),
            store,
        )
    finally:
        db.close()


async def add_asset(catalog: SqliteCatalog, tenant_id: str, n: int, label: str, confidence: float) -> str:
    fields = (uuid7(), tenant_id, f"{n:064x}", 1000, "image/jpeg", 64, 64, f"p{n}.jpg", f"b/{n}", T0, T0)
    asset = Asset(*fields, status=Stage.INDEXED)
    await catalog.register_asset(asset)
    findings = Findings(labels=(Label(label, confidence, ("Animal",)),))
    run = RecognitionResult(
        asset.id, "labels", "efficientnet-lite0", "1", findings, created_at=T0, finished_at=T0, id=uuid7()
    )
    await catalog.save_result(tenant_id, run)
    return asset.id


def reply(rng: random.Random, accuracy: float | None, truth: str) -> Verdict:
    if accuracy is None:
        return rng.choice([Verdict.YES, Verdict.NO])
    right = rng.random() < accuracy
    return Verdict(truth) if right else Verdict("no" if truth == "yes" else "yes")


async def test_consensus_beats_majority_and_the_adversary_is_paused(stack: Stack) -> None:
    rng = random.Random(11)
    tenant = (await stack.catalog.create_tenant("acme")).id
    await stack.store.set_review_rules(
        tenant,
        ReviewRules(
            answers_per_task=3, max_answers=5, gold_rate=0.15, rating_floor=0.6, min_gold_for_rating=5
        ),
    )
    truth: dict[str, str] = {}  # asset → is it a giraffe?
    for n in range(160):
        is_giraffe = rng.random() < 0.5
        asset = await add_asset(stack.catalog, tenant, n, "Giraffe", 55.0)
        truth[asset] = "yes" if is_giraffe else "no"
    tasks = await stack.tasks.request(tenant, list(truth), QuestionKind.VERIFY, "Giraffe")
    by_task = {t.id: truth[t.asset_id] for t in tasks}
    for n in range(12):
        asset = await add_asset(stack.catalog, tenant, 1000 + n, "Giraffe", 90.0)
        gold = await stack.tasks.add_gold(
            tenant, asset, Question(QuestionKind.VERIFY, "Giraffe"), "yes" if n % 2 else "no"
        )
        by_task[gold.id] = gold.gold or ""
    keys: dict[str, Reviewer] = {}
    for name in CROWD:
        secret, reviewer = await stack.reviewers.add(tenant, name)
        assert secret.startswith("msk_")
        keys[name] = reviewer

    raw_answers: dict[str, list[tuple[str, str]]] = {}
    for _ in range(60):
        busy = False
        for name, accuracy in CROWD.items():
            reviewer = await stack.store.get_reviewer(tenant, keys[name].id)
            assert reviewer is not None
            if reviewer.paused:
                continue
            for task in await stack.queue.next(reviewer, 4):
                busy = True
                verdict = reply(rng, accuracy, by_task[task.id])
                await stack.queue.submit(reviewer, task.id, Answer(reviewer.id, T0, verdict))
                if task.status is not TaskStatus.GOLD:
                    raw_answers.setdefault(task.id, []).append((name, verdict.value))
        await stack.quality.refresh(tenant)
        if not busy:
            break
    reviewers = {r.name: r for r in await stack.store.list_reviewers(tenant)}
    assert reviewers["eve"].paused, reviewers["eve"]
    assert reviewers["eve"].rating is not None and reviewers["eve"].rating < 0.6
    assert not reviewers["ada"].paused and not reviewers["ben"].paused
    assert (reviewers["ada"].accuracy or 0) > 0.6

    done = await stack.store.list_tasks(tenant, TaskStatus.DONE, after=None, limit=1000)
    assert len(done) == len(tasks)  # every task decided: paused reviewers' slots went back to the pool
    consensus_right = sum(t.consensus == by_task[t.id] for t in done) / len(done)
    mv = majority_vote([Item(t, ("yes", "no"), tuple(a)) for t, a in raw_answers.items()])
    mv_right = sum(mv[t.id] == by_task[t.id] for t in done) / len(done)
    print(
        f"consensus {consensus_right:.3f} majority {mv_right:.3f}",
        {n: (r.rating, r.paused) for n, r in reviewers.items()},
    )
    assert consensus_right > mv_right, (consensus_right, mv_right)
    assert consensus_right > 0.9

    # Results flow back: each decided task is a human run on its asset with provenance.
    sample = done[0]
    run = await stack.catalog.get_result(tenant, sample.asset_id, REVIEW_ANALYZER)
    assert run is not None and run.provider == "human" and run.id == sample.run_id
    assert sample.id in run.parameters["tasks"]  # type: ignore[operator]
    assert run.findings.labels[0].name == "Giraffe"
    assert run.findings.labels[0].confidence == (100.0 if sample.consensus == "yes" else 0.0)
