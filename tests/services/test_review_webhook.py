"""A consensus reached by reviewers is announced to the tenant's webhooks (`review.consensus`), signed and
delivered through the job queue to a real local receiver; an answer that changes nothing announces
nothing again, and the other tenant hears nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from catalog.domain.metadata import current_labels
from catalog.domain.review.tasks import Answer, QuestionKind, ReviewRules, TaskStatus, Verdict
from catalog.domain.webhooks import WebhookEvent
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from tests.conftest import jpeg_bytes, make_tenant
from tests.fakes import ColorLabeler
from tests.indexer.webhooks.receiver import Receiver


@pytest.fixture
async def hooked(settings: Settings) -> AsyncIterator[Services]:
    svc = build(
        settings.model_copy(update={"webhooks_allow_private": True, "webhook_retry_scale": 0.0001}),
        labeler=ColorLabeler(),
    )
    yield svc
    await svc.aclose()


async def red_asset_heard(services: Services, *, answers_per_task: int) -> tuple[str, str, Receiver]:
    """(tenant, asset, receiver): tenant acme with these review rules, an indexed red asset, and a receiver
    (not started yet) subscribed to its review.consensus events."""
    tenant, _ = await make_tenant(services, "acme")
    rules = ReviewRules(answers_per_task=answers_per_task, gold_rate=0.0)
    await services.review.store.set_review_rules(tenant, rules)
    outcome = await services.ingestor.ingest(tenant, jpeg_bytes((220, 30, 30)), "red.jpg")
    assert outcome.asset is not None
    await services.worker().run_until_idle()
    receiver = Receiver("")
    endpoint = await services.webhooks.create(tenant, receiver.url, [WebhookEvent.REVIEW_CONSENSUS.value])
    receiver.secret = endpoint.secret
    return tenant, outcome.asset.id, receiver


async def test_consensus_is_announced_once_to_the_subscribed_endpoint(hooked: Services) -> None:
    services = hooked
    tenant, asset_id, receiver = await red_asset_heard(services, answers_per_task=3)
    other, _ = await make_tenant(services, "other")
    await services.webhooks.create(other, receiver.url, [WebhookEvent.REVIEW_CONSENSUS.value])
    (task,) = await services.review.tasks.request(tenant, [asset_id], QuestionKind.VERIFY, "Red")
    reviewers = [(await services.review.reviewers.add(tenant, n))[1] for n in ("ann", "bob", "cy")]
    for reviewer, verdict in zip(reviewers, (Verdict.YES, Verdict.YES, Verdict.NO), strict=True):
        (got,) = await services.review.queue.next(reviewer, 1)
        assert got.id == task.id
        saved = await services.review.queue.submit(
            reviewer, task.id, Answer(reviewer.id, datetime.now(UTC), verdict)
        )
    assert saved.status is TaskStatus.DONE and saved.consensus == "yes"
    # The same answer again decides nothing new: no second event.
    again = await services.review.queue.submit(
        reviewers[0], task.id, Answer(reviewers[0].id, datetime.now(UTC), Verdict.YES)
    )
    assert again.consensus == "yes"

    await receiver.start()
    try:
        await services.worker().run_until_idle()
        async with asyncio.timeout(30):
            while not receiver.received:  # noqa: ASYNC110 - the receiver runs in this loop
                await asyncio.sleep(0.05)
        await services.worker().run_until_idle()
    finally:
        await receiver.stop()
    assert receiver.rejected == 0
    (message,) = receiver.received  # once, and only the tenant's own endpoint (same receiver URL)
    payload = message["payload"]
    assert payload["type"] == "review.consensus"
    data = payload["data"]
    assert data["taskId"] == task.id and data["assetId"] == asset_id
    assert data["answer"] == "yes" and data["question"] == {"kind": "verify", "label": "Red"}
    assert data["runId"] == saved.run_id and data["runId"]
    assert 0 < data["agreement"] <= 1
    assert sorted(data["reviewers"]) == ["ann", "bob", "cy"]


async def test_an_undone_answer_that_decided_a_task_takes_its_verdict_back(hooked: Services) -> None:
    """One answer decides (answersPerTask 1): No removes the machine's Red; undo withdraws that verdict, so
    Red counts again and subscribers hear answer null; a new Yes decides anew and is announced."""
    services = hooked
    tenant, asset_id, receiver = await red_asset_heard(services, answers_per_task=1)

    async def labels() -> dict[str, float]:
        results = (await services.catalog.get_results(tenant, [asset_id]))[asset_id]
        return {lb.name: lb.confidence for lb in current_labels(results)}

    assert "Red" in await labels()
    (task,) = await services.review.tasks.request(tenant, [asset_id], QuestionKind.VERIFY, "Red")
    _, ann = await services.review.reviewers.add(tenant, "ann")
    await services.review.queue.next(ann, 1)
    decided = await services.review.queue.submit(ann, task.id, Answer(ann.id, datetime.now(UTC), Verdict.NO))
    assert decided.consensus == "no" and "Red" not in await labels()

    reopened = await services.review.queue.undo(ann, task.id)
    assert reopened.status is TaskStatus.OPEN and reopened.consensus is None
    assert reopened.run_id not in (None, decided.run_id)
    assert "Red" in await labels()  # the machine's again
    again = await services.review.queue.submit(ann, task.id, Answer(ann.id, datetime.now(UTC), Verdict.YES))
    assert again.consensus == "yes" and (await labels())["Red"] == 100

    await receiver.start()
    try:
        async with asyncio.timeout(30):
            while len(receiver.received) < 3:
                await services.worker().run_until_idle()
                await asyncio.sleep(0.05)
    finally:
        await receiver.stop()
    answers = sorted(
        (m["payload"]["data"]["answer"] for m in receiver.received), key=lambda a: (a is not None, a)
    )
    assert answers == [None, "no", "yes"]
