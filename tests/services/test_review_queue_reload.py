"""A reviewer who asks for tasks again (a reload of the review page) gets the tasks it holds, not an empty
queue until the next rescan (the scan's cursor had moved past them)."""

from __future__ import annotations

from datetime import UTC, datetime

from catalog.domain.review.tasks import Answer, QuestionKind, ReviewRules, Verdict
from mediasight.bootstrap import Services
from tests.conftest import jpeg_bytes, make_tenant


async def test_asking_again_returns_the_tasks_held_then_new_ones(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    await services.review.store.set_review_rules(tenant, ReviewRules(answers_per_task=1, gold_rate=0.0))
    ids = []
    for i in range(6):
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes((200, 20 + i, 20)), f"r{i}.jpg")
        assert outcome.asset is not None
        ids.append(outcome.asset.id)
    await services.worker().run_until_idle()
    tasks = await services.review.tasks.request(tenant, ids, QuestionKind.VERIFY, "Red")
    _, ann = await services.review.reviewers.add(tenant, "ann")
    first = await services.review.queue.next(ann, 4)
    assert len(first) == 4
    again = await services.review.queue.next(ann, 4)  # the page reloaded: the same four, in order
    assert [t.id for t in again] == [t.id for t in first]
    await services.review.queue.submit(ann, first[0].id, Answer(ann.id, datetime.now(UTC), Verdict.YES))
    after = await services.review.queue.next(ann, 4)  # three still held, then a new one
    assert [t.id for t in after[:3]] == [t.id for t in first[1:]]
    assert len(after) == 4 and after[3].id not in {t.id for t in first}
    assert {t.id for t in after} <= {t.id for t in tasks}
