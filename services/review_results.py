"""Consensus answers become human runs: one `review` analyzer run per asset holding every human verdict.

Each finished task writes a new run of the `review` analyzer (provider `human`) through the same run
history as the recognizers, so diffs, reports, the change feed and as-of read it unchanged. The run's
labels are the asset's human verdicts so far: a confirmed or named label at confidence 100, a rejected
one at confidence 0 (catalog.domain.review.human_labels merges them over the machine's labels for search).
Provenance (reviewers, agreement, task IDs) travels in the run's parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from catalog.domain.ids import uuid7
from catalog.domain.model import Findings, Label, RecognitionResult
from catalog.domain.ports import CatalogStore, JobQueue
from catalog.domain.review.human_labels import HUMAN_NO, HUMAN_PROVIDER, HUMAN_YES, REVIEW_ANALYZER
from catalog.domain.review.tasks import NONE_OF_THESE, QuestionKind, ReviewTask
from catalog.domain.webhooks import WebhookEvent
from services.ingest import REFRESH_JOB
from services.webhooks import WebhookService, event_id

MAX_PROVENANCE = 50  # task IDs and reviewers kept in a run's parameters (the newest)


def verdicts(task: ReviewTask, consensus: str, parents: dict[str, tuple[str, ...]]) -> list[Label]:
    """The labels a task's consensus asserts (yes: 100) or denies (no: 0)."""
    q = task.question
    if q.kind is QuestionKind.VERIFY:
        if consensus not in ("yes", "no"):
            return []
        conf = HUMAN_YES if consensus == "yes" else HUMAN_NO
        return [Label(q.label, conf, parents.get(q.label.lower(), ()))]
    by_lower = {c.lower(): c for c in q.candidates}
    if consensus == NONE_OF_THESE:  # every candidate denied
        return [Label(c, HUMAN_NO, parents.get(c.lower(), ())) for c in q.candidates]
    name = by_lower.get(consensus, consensus)
    chosen = [Label(name, HUMAN_YES, parents.get(name.lower(), ()))]
    return chosen + [Label(c, HUMAN_NO, parents.get(c.lower(), ())) for c in q.candidates if c != name]


def consensus_event(
    task: ReviewTask, consensus: str | None, reviewers: Sequence[str], run_id: str
) -> dict[str, Any]:
    """The `review.consensus` webhook's data: the task, its question, the answer (None: withdrawn) and its
    provenance."""
    q = task.question
    question: dict[str, Any] = {"kind": q.kind.value}
    if q.kind is QuestionKind.VERIFY:
        question["label"] = q.label
    else:
        question["candidates"] = list(q.candidates)
    return {
        "taskId": task.id,
        "assetId": task.asset_id,
        "question": question,
        "answer": consensus,
        "agreement": task.agreement,
        "reviewers": sorted(set(reviewers)),
        "runId": run_id,
    }


class HumanRuns:
    def __init__(
        self, catalog: CatalogStore, queue: JobQueue, webhooks: WebhookService | None = None
    ) -> None:
        self._catalog = catalog
        self._queue = queue
        self._webhooks = webhooks

    async def record(
        self, task: ReviewTask, consensus: str, reviewer_names: Sequence[str], now: datetime
    ) -> str | None:
        """Write the asset's next human run with this task's verdicts; returns its ID (None: the task's
        answer asserts nothing, e.g. a blank free text, or the asset is gone)."""
        tenant, asset_id = task.tenant_id, task.asset_id
        if await self._catalog.get_asset(tenant, asset_id) is None:
            return None
        machine = await self._catalog.get_result(tenant, asset_id, "labels")
        parents = {lb.name.lower(): lb.parents for lb in (machine.findings.labels if machine else ())}
        new = verdicts(task, consensus, parents)
        if not new:
            return None
        previous = await self._catalog.get_result(tenant, asset_id, REVIEW_ANALYZER)
        labels = {lb.name.lower(): lb for lb in (previous.findings.labels if previous else ())}
        labels.update({lb.name.lower(): lb for lb in new})  # the newest verdict on a label wins
        old = previous.parameters if previous else {}
        tasks = [*_strings(old.get("tasks")), task.id][-MAX_PROVENANCE:]
        agreement = {**_floats(old.get("agreement")), **{lb.name: task.agreement or 0.0 for lb in new}}
        parameters = {
            "tasks": tasks,
            "reviewers": sorted(set(reviewer_names))[:MAX_PROVENANCE],
            "agreement": agreement,
            "task": task.id,
        }
        run = await self._save(task, labels.values(), parameters, now)
        # The ID from the task and its answer: a decision published twice is announced once; a changed
        # consensus (a later quality pass), or one decided again after an undo withdrew it, is a new event.
        about = (task.id, consensus, *((task.run_id,) if task.run_id else ()))
        await self._announce(task, consensus, reviewer_names, run.id, about)
        return run.id

    async def withdraw(self, task: ReviewTask, now: datetime) -> str | None:
        """Take back what the task's published consensus asserted, as its reviewer undid an answer that
        decided it: the asset's next human run without those labels' verdicts (the machine's labels count
        again), announced as `review.consensus` with answer null. Returns the run's ID (None: nothing was
        published, or the asset is gone)."""
        tenant, asset_id = task.tenant_id, task.asset_id
        previous = await self._catalog.get_result(tenant, asset_id, REVIEW_ANALYZER)
        if task.consensus is None or task.run_id is None or previous is None:
            return None
        if await self._catalog.get_asset(tenant, asset_id) is None:
            return None
        asserted = {lb.name.lower() for lb in verdicts(task, task.consensus, {})}
        kept = [lb for lb in previous.findings.labels if lb.name.lower() not in asserted]
        old = previous.parameters
        parameters = {
            "tasks": [t for t in _strings(old.get("tasks")) if t != task.id],
            "reviewers": _strings(old.get("reviewers")),
            "agreement": {
                k: v for k, v in _floats(old.get("agreement")).items() if k.lower() not in asserted
            },
            "withdrawn": task.id,
        }
        run = await self._save(task, kept, parameters, now)
        await self._announce(task, None, [], run.id, (task.id, "withdrawn", task.run_id))
        return run.id

    async def _save(
        self, task: ReviewTask, labels: Iterable[Label], parameters: dict[str, Any], now: datetime
    ) -> RecognitionResult:
        """The asset's next human run with these verdicts, saved; the asset is embedded and indexed again."""
        run = RecognitionResult(
            asset_id=task.asset_id,
            analyzer=REVIEW_ANALYZER,
            model_name="human-review",
            model_version="1",
            findings=Findings(labels=tuple(sorted(labels, key=lambda x: (-x.confidence, x.name)))),
            provider=HUMAN_PROVIDER,
            parameters=parameters,
            created_at=now,
            finished_at=now,
            id=uuid7(),
        )
        await self._catalog.save_result(task.tenant_id, run)
        await self._queue.enqueue(REFRESH_JOB, task.tenant_id, task.asset_id)  # re-embed and re-index
        return run

    async def _announce(
        self,
        task: ReviewTask,
        consensus: str | None,
        reviewer_names: Sequence[str],
        run_id: str,
        about: tuple[str, ...],
    ) -> None:
        if self._webhooks is not None:
            eid = event_id(WebhookEvent.REVIEW_CONSENSUS, task.tenant_id, *about)
            data = consensus_event(task, consensus, reviewer_names, run_id)
            await self._webhooks.announce(task.tenant_id, WebhookEvent.REVIEW_CONSENSUS, data, event_id=eid)


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _floats(value: object) -> dict[str, float]:
    if not isinstance(value, dict):
        return {}
    return {str(k): float(v) for k, v in value.items() if isinstance(v, int | float)}
