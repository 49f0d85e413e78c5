"""ReviewStore contract: the embedded catalog and DynamoDB Local pass the same tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from catalog.domain.ids import uuid7
from catalog.domain.ports import CatalogStore
from catalog.domain.review.ports import ReviewStore
from catalog.domain.review.tasks import (
    Answer,
    Assignment,
    Question,
    QuestionKind,
    Reviewer,
    ReviewInputError,
    ReviewRules,
    ReviewTask,
    TaskReason,
    TaskStatus,
    Verdict,
)
from catalog.dynamodb.catalog import DynamoCatalog
from catalog.dynamodb.review_store import DynamoReviewStore
from catalog.sqlite.catalog import SCHEMA, SqliteCatalog
from catalog.sqlite.db import SqliteDb
from catalog.sqlite.review_store import SqliteReviewStore
from tests.contract.dynamodb_server import fresh_table

T0 = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("dynamodb", marks=pytest.mark.dynamodb)])
def backend(request: pytest.FixtureRequest) -> tuple[str, Any]:
    if request.param == "dynamodb":
        return "dynamodb", request.getfixturevalue("dynamodb_client")
    return "sqlite", None


@pytest.fixture
async def stores(backend: tuple[str, Any], tmp_path: Path) -> AsyncIterator[tuple[CatalogStore, ReviewStore]]:
    name, client = backend
    if name == "sqlite":
        db = SqliteDb(tmp_path / "catalog.db", SCHEMA)
        try:
            yield SqliteCatalog(db), SqliteReviewStore(db)
        finally:
            db.close()
    else:
        async with fresh_table(client) as table:
            yield DynamoCatalog(client, table), DynamoReviewStore(client, table)


def task(tenant_id: str, asset_id: str = "a1", *, label: str = "Giraffe", **changes: Any) -> ReviewTask:
    fields: dict[str, Any] = {
        "id": uuid7(),
        "tenant_id": tenant_id,
        "asset_id": asset_id,
        "question": Question(QuestionKind.VERIFY, label=label),
        "reason": TaskReason.WATCHED,
        "created_at": T0,
        "dedupe": f"{asset_id}|verify:{label.lower()}",
    }
    return ReviewTask(**(fields | changes))


async def test_rules_round_trip_per_tenant(stores: tuple[CatalogStore, ReviewStore]) -> None:
    catalog, store = stores
    acme, other = (await catalog.create_tenant("acme")).id, (await catalog.create_tenant("other")).id
    assert await store.get_review_rules(acme) == ReviewRules()
    rules = ReviewRules(
        low_confidence_below=55.5,
        band=(40, 70),
        no_labels=True,
        watched_labels=("Dog", "Muffin"),
        audit_percent=2.5,
        answers_per_task=3,
        max_answers=5,
        gold_rate=0.2,
    )
    await store.set_review_rules(acme, rules)
    assert await store.get_review_rules(acme) == rules
    assert await store.get_review_rules(other) == ReviewRules()
    await store.set_review_rules(acme, replace(rules, band=None))
    assert (await store.get_review_rules(acme)).band is None


async def test_tasks_dedupe_list_and_count(stores: tuple[CatalogStore, ReviewStore]) -> None:
    catalog, store = stores
    acme, other = (await catalog.create_tenant("acme")).id, (await catalog.create_tenant("other")).id
    first = [task(acme, "a1"), task(acme, "a2"), task(acme, "a1", label="Zebra")]
    assert [t.id for t in await store.add_tasks(acme, first)] == [t.id for t in first]
    # The same (asset, question) again, and a manual request (no dedupe key) twice: both manual ones stay.
    again = [task(acme, "a1"), task(acme, "a1", dedupe=""), task(acme, "a1", dedupe="")]
    added = await store.add_tasks(acme, again)
    assert [t.id for t in added] == [again[1].id, again[2].id]
    gold = task(acme, "g1", status=TaskStatus.GOLD, gold="yes", reason=TaskReason.GOLD)
    await store.add_tasks(acme, [gold])
    # Another tenant's copy of the same question is its own.
    assert len(await store.add_tasks(other, [task(other, "a1")])) == 1

    every = await store.list_tasks(acme, None, after=None, limit=100)
    assert [t.id for t in every] == sorted(t.id for t in [*first, again[1], again[2], gold])
    open_ = await store.list_tasks(acme, TaskStatus.OPEN, after=None, limit=2)
    assert [t.id for t in open_] == sorted(t.id for t in [*first, again[1], again[2]])[:2]
    rest = await store.list_tasks(acme, TaskStatus.OPEN, after=open_[-1].id, limit=100)
    assert len(rest) == 3 and rest[0].id > open_[-1].id
    assert [t.id for t in await store.list_tasks(acme, TaskStatus.GOLD, after=None, limit=10)] == [gold.id]
    assert await store.count_tasks(acme) == {TaskStatus.OPEN: 5, TaskStatus.DONE: 0, TaskStatus.GOLD: 1}
    got = await store.get_tasks(acme, [first[0].id, gold.id])
    assert got[first[0].id] == first[0] and got[gold.id].gold == "yes"
    # Tenant scoping: the IDs of acme's tasks find nothing for the other tenant.
    assert await store.get_tasks(other, [first[0].id]) == {}
    assert len(await store.list_tasks(other, None, after=None, limit=100)) == 1


async def test_save_task_is_compare_and_set(stores: tuple[CatalogStore, ReviewStore]) -> None:
    catalog, store = stores
    acme, other = (await catalog.create_tenant("acme")).id, (await catalog.create_tenant("other")).id
    (t,) = await store.add_tasks(acme, [task(acme)])
    answer = Answer("r1", T0 + timedelta(seconds=1), Verdict.YES)
    leased = replace(t, answers=(answer,), assignments=(Assignment("r2", T0 + timedelta(minutes=5)),))
    saved = await store.save_task(acme, leased)
    assert saved is not None and saved.version == 1
    assert await store.save_task(acme, replace(leased, required=4)) is None  # stale version
    assert await store.save_task(other, saved) is None  # not the other tenant's
    done = replace(saved, status=TaskStatus.DONE, consensus="yes", agreement=1.0, run_id="run-1")
    assert (await store.save_task(acme, done)) is not None
    stored = (await store.get_tasks(acme, [t.id]))[t.id]
    assert stored == replace(done, version=2)
    assert [x.id for x in await store.list_tasks(acme, TaskStatus.DONE, after=None, limit=5)] == [t.id]
    assert await store.list_tasks(acme, TaskStatus.OPEN, after=None, limit=5) == []
    assert (await store.count_tasks(acme))[TaskStatus.DONE] == 1


async def test_concurrent_writers_lose_nothing(stores: tuple[CatalogStore, ReviewStore]) -> None:
    catalog, store = stores
    acme = (await catalog.create_tenant("acme")).id
    (t,) = await store.add_tasks(acme, [task(acme)])

    async def answer(reviewer: str) -> None:
        while True:
            current = (await store.get_tasks(acme, [t.id]))[t.id]
            mine = Answer(reviewer, T0, Verdict.NO)
            if await store.save_task(acme, replace(current, answers=(*current.answers, mine))) is not None:
                return

    await asyncio.gather(*(answer(f"r{i}") for i in range(6)))
    final = (await store.get_tasks(acme, [t.id]))[t.id]
    assert sorted(a.reviewer_id for a in final.answers) == [f"r{i}" for i in range(6)]
    assert final.version == 6


async def test_reviewers(stores: tuple[CatalogStore, ReviewStore]) -> None:
    catalog, store = stores
    acme, other = (await catalog.create_tenant("acme")).id, (await catalog.create_tenant("other")).id
    ann = await store.add_reviewer(Reviewer(uuid7(), acme, "Ann", "key-1", T0))
    bob = await store.add_reviewer(Reviewer(uuid7(), acme, "Bob", "key-2", T0))
    with pytest.raises(ReviewInputError) as taken:
        await store.add_reviewer(Reviewer(uuid7(), acme, "Ann", "key-3", T0))
    assert taken.value.code == "NAME_TAKEN"
    await store.add_reviewer(Reviewer(uuid7(), other, "Ann", "key-4", T0))  # names are per tenant
    assert [r.name for r in await store.list_reviewers(acme)] == ["Ann", "Bob"]
    assert await store.reviewer_by_key(acme, "key-2") == bob
    assert await store.reviewer_by_key(other, "key-2") is None
    assert await store.get_reviewer(other, ann.id) is None
    rated = replace(
        ann, paused=True, rating=0.41, accuracy=0.3, agreement=0.5, answered=40, gold_answered=6, skill=0.2
    )
    await store.save_reviewer(rated)
    assert await store.get_reviewer(acme, ann.id) == rated
