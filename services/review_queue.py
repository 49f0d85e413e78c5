"""Reviewers' queues: hand out tasks (gold mixed in), take answers, undo them, decide consensus.

Every change to a task is a compare-and-set on its version (retried on a lost race), so concurrent
reviewers never overwrite each other. A task hands out `required` slots: answers plus live assignments
of others; a reviewer never gets a task twice. When the counted answers reach `required`, the task is
decided with the reviewers' current skills (catalog.domain.review.quality.decide): low agreement asks
more reviewers, otherwise it is DONE and its result becomes a human run (services.review_results).
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

from catalog.domain.clock import utcnow
from catalog.domain.review.ports import ReviewStore
from catalog.domain.review.quality import settle
from catalog.domain.review.tasks import (
    Answer,
    Assignment,
    Reviewer,
    ReviewInputError,
    ReviewTask,
    TaskStatus,
    check_answer,
)
from services.review_cache import ReviewCache
from services.review_results import HumanRuns

LEASE = timedelta(minutes=10)  # a handed-out task waits this long for its reviewer's answer
RESCAN = 30.0  # seconds between scans of a tenant's open tasks from the start
MAX_BATCH = 50
CAS_ATTEMPTS = 20
SCAN_PAGE = 200


class ReviewQueue:
    def __init__(
        self,
        store: ReviewStore,
        results: HumanRuns,
        *,
        cache: ReviewCache | None = None,
        on_answer: Callable[[str, bool], Awaitable[None]] | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._results = results
        self._cache = cache or ReviewCache(store)
        # Per tenant: every OPEN task up to this ID was full (answered or held up to `required`) at the last
        # scan, so the next scan starts after it; a scan from the start every RESCAN seconds finds slots
        # that expired leases and pauses freed.
        self._full_until: dict[str, tuple[str | None, float]] = {}
        # Per (tenant, reviewer): every OPEN task up to this ID was answered or held by the reviewer, or full,
        # when its last scan passed it; its next scan starts there (not at the tasks it answered long ago,
        # still open for others). Forgotten with the tenant's rescan (then tasks it holds come back too,
        # e.g. after a reload of the page).
        self._scanned_until: dict[tuple[str, str], str] = {}
        # Per (tenant, reviewer): the tasks handed to it here, which its scans pass: asked again (a reload
        # of the page), they come first while it holds them (they were behind its cursor: an empty queue).
        self._handed: dict[tuple[str, str], set[str]] = {}
        self._on_answer = on_answer  # (tenant, was gold) → e.g. a debounced quality refresh
        self._clock = clock
        self._rng = rng or random.Random()

    async def reviewer(self, tenant_id: str, key_id: str) -> Reviewer:
        """The key's reviewer, from the tenant's cached reviewers (every request asks: no read per request;
        a pause shows within the cache's TTL), else from the store (added since the cache was filled)."""
        _, reviewers = await self._cache.state(tenant_id)
        found = next((r for r in reviewers if r.key_id == key_id), None)
        if found is None:
            found = await self._store.reviewer_by_key(tenant_id, key_id)
        if found is None:
            raise ReviewInputError(
                "NOT_A_REVIEWER", "this key belongs to no reviewer: use `mediasight reviewer add`"
            )
        return found

    async def next(self, reviewer: Reviewer, count: int) -> list[ReviewTask]:
        """Up to `count` tasks for the reviewer: the ones it already holds, then new ones from the pool,
        gold tasks mixed in at the tenant's rate."""
        if reviewer.paused:
            raise ReviewInputError("REVIEWER_PAUSED", "this reviewer is paused: ask the tenant's admin")
        if not 1 <= count <= MAX_BATCH:
            raise ReviewInputError("BAD_COUNT", f"count must be 1–{MAX_BATCH}")
        rules, reviewers = await self._cache.state(reviewer.tenant_id)
        gold_wanted = sum(self._rng.random() < rules.gold_rate for _ in range(count))
        gold = await self._gold_for(reviewer, gold_wanted)
        paused = {r.id for r in reviewers if r.paused}
        tasks = (await self._held_by(reviewer))[: count - len(gold)]
        held = {t.id for t in tasks}
        claimed = await self._claim(reviewer, count - len(gold) - len(tasks), paused)
        tasks += [t for t in claimed if t.id not in held]
        if len(tasks) < count - len(gold):  # the pool ran dry: more gold keeps nobody waiting
            gold = await self._gold_for(reviewer, count - len(tasks))
        out = [*tasks]
        for g in gold:
            out.insert(self._rng.randint(0, len(out)), g)
        return out

    async def _held_by(self, reviewer: Reviewer) -> list[ReviewTask]:
        """The open tasks handed to the reviewer here that it still holds and has not answered."""
        key = (reviewer.tenant_id, reviewer.id)
        ids = self._handed.get(key)
        if not ids:
            return []
        now = self._clock()
        held = [
            t
            for t in (await self._store.get_tasks(reviewer.tenant_id, sorted(ids))).values()
            if t.status is TaskStatus.OPEN
            and t.answer_of(reviewer.id) is None
            and any(a.reviewer_id == reviewer.id for a in t.live_assignments(now))
        ]
        self._handed[key] = {t.id for t in held}
        return sorted(held, key=lambda t: t.id)

    async def _gold_for(self, reviewer: Reviewer, n: int) -> list[ReviewTask]:
        if n <= 0:
            return []
        pool = await self._store.list_tasks(reviewer.tenant_id, TaskStatus.GOLD, after=None, limit=500)
        fresh = [t for t in pool if t.answer_of(reviewer.id) is None]
        return self._rng.sample(fresh, min(n, len(fresh)))

    async def _claim(self, reviewer: Reviewer, n: int, paused: set[str]) -> list[ReviewTask]:
        tenant, out = reviewer.tenant_id, list[ReviewTask]()
        if n <= 0:
            return out
        start, since = self._full_until.get(tenant, (None, 0.0))
        if time.monotonic() - since >= RESCAN:  # slots freed by expired leases and pauses: from the start
            start, since = None, time.monotonic()
            self._scanned_until = {k: v for k, v in self._scanned_until.items() if k[0] != tenant}
        mine = self._scanned_until.get((tenant, reviewer.id))
        # From the further of the two (IDs sort by time); the tenant's full prefix grows only on a scan from
        # its own end.
        after = max(start or "", mine or "") or None
        full_end, prefix, last = start, after == start, after
        size = min(SCAN_PAGE, 2 * n + 8)  # a few more than wanted (each task read is decoded), then more
        while len(out) < n:
            page = await self._store.list_tasks(tenant, TaskStatus.OPEN, after=after, limit=size)
            for task in page:
                if len(out) >= n:
                    break
                if prefix and _full(task, paused, self._clock()):
                    full_end = task.id
                else:
                    prefix = False
                claimed = await self._assign(reviewer, task, paused)
                if claimed is not None:
                    out.append(claimed)
                last = task.id
            if len(page) < size:
                break
            after, size = page[-1].id, min(SCAN_PAGE, size * 2)
        self._full_until[tenant] = (full_end, since)
        if last is not None:
            self._scanned_until[(tenant, reviewer.id)] = last
        self._handed.setdefault((tenant, reviewer.id), set()).update(t.id for t in out)
        return out

    async def _assign(self, reviewer: Reviewer, task: ReviewTask, paused: set[str]) -> ReviewTask | None:
        for _ in range(CAS_ATTEMPTS):
            now = self._clock()
            if task.status is not TaskStatus.OPEN or task.answer_of(reviewer.id) is not None:
                return None
            live = task.live_assignments(now)
            if any(a.reviewer_id == reviewer.id for a in live):
                return task  # it holds this one already (a reload of the page)
            # A paused reviewer's answer does not count: its slot goes back to the pool.
            if sum(a.reviewer_id not in paused for a in task.answers) + len(live) >= task.required:
                return None
            saved = await self._store.save_task(
                reviewer.tenant_id, replace(task, assignments=(*live, Assignment(reviewer.id, now + LEASE)))
            )
            if saved is not None:
                return saved
            task = await self._reload(reviewer.tenant_id, task.id)
        return None

    async def _reload(self, tenant_id: str, task_id: str) -> ReviewTask:
        found = (await self._store.get_tasks(tenant_id, [task_id])).get(task_id)
        if found is None:
            raise ReviewInputError("NOT_FOUND", f"no review task {task_id}")
        return found

    async def submit(self, reviewer: Reviewer, task_id: str, answer: Answer) -> ReviewTask:
        """Record (or replace) the reviewer's answer; decides the task when enough answers count."""
        if reviewer.paused:
            raise ReviewInputError("REVIEWER_PAUSED", "this reviewer is paused: its answers do not count")
        tenant = reviewer.tenant_id
        for _ in range(CAS_ATTEMPTS):
            task = await self._reload(tenant, task_id)
            now = self._clock()
            mine = check_answer(task.question, replace(answer, reviewer_id=reviewer.id, answered_at=now))
            earlier = task.answer_of(reviewer.id)
            live = task.live_assignments(now)
            holds = any(a.reviewer_id == reviewer.id for a in live)
            if task.status is TaskStatus.DONE and earlier is None:
                raise ReviewInputError("TASK_CLOSED", "this task has its answers: ask for the next ones")
            full = len(task.answers) + len(live) >= task.required
            if task.status is TaskStatus.OPEN and earlier is None and not holds and full:
                raise ReviewInputError("TASK_CLOSED", "this task has its reviewers: ask for the next ones")
            answers = (*(a for a in task.answers if a.reviewer_id != reviewer.id), mine)
            assignments = tuple(a for a in live if a.reviewer_id != reviewer.id)
            changed = replace(task, answers=answers, assignments=assignments)
            if task.status is not TaskStatus.GOLD:
                changed = await self._decide(changed)
            saved = await self._store.save_task(tenant, changed)
            if saved is None:
                continue
            if (
                saved.status is TaskStatus.DONE
                and saved.consensus
                and (task.status is not TaskStatus.DONE or task.consensus != saved.consensus)
            ):
                saved = await self._publish(saved)
            if self._on_answer is not None:
                await self._on_answer(tenant, task.status is TaskStatus.GOLD)
            return saved
        raise ReviewInputError("BUSY", "the task changed too often meanwhile: try again")

    async def undo(self, reviewer: Reviewer, task_id: str) -> ReviewTask:
        """Withdraw the reviewer's answer (it holds the task again to answer anew); a decided task opens
        again until it has its answers back."""
        tenant = reviewer.tenant_id
        for _ in range(CAS_ATTEMPTS):
            task = await self._reload(tenant, task_id)
            if task.answer_of(reviewer.id) is None:
                raise ReviewInputError("NOTHING_TO_UNDO", "this reviewer has no answer on this task")
            now = self._clock()
            answers = tuple(a for a in task.answers if a.reviewer_id != reviewer.id)
            changed = replace(task, answers=answers)
            if task.status is not TaskStatus.GOLD:
                live = tuple(a for a in task.live_assignments(now) if a.reviewer_id != reviewer.id)
                status = TaskStatus.OPEN
                changed = replace(
                    changed, status=status, assignments=(*live, Assignment(reviewer.id, now + LEASE))
                )
            if task.run_id is not None and task.consensus is not None:  # its verdict was published
                changed = replace(changed, consensus=None, agreement=None)
            saved = await self._store.save_task(tenant, changed)
            if saved is not None:
                return await self._withdrawn(task, saved)
        raise ReviewInputError("BUSY", "the task changed too often meanwhile: try again")

    async def _withdrawn(self, decided: ReviewTask, reopened: ReviewTask) -> ReviewTask:
        """An undone answer that had decided the task takes back the verdict it published (the labels
        count as the machine's again until the task is decided anew); the task remembers that run."""
        if decided.consensus is None or decided.run_id is None:
            return reopened
        run_id = await self._results.withdraw(decided, self._clock())
        if run_id is None:
            return reopened
        return await self._store.save_task(reopened.tenant_id, replace(reopened, run_id=run_id)) or reopened

    async def _decide(self, task: ReviewTask) -> ReviewTask:
        rules, reviewers = await self._cache.state(task.tenant_id)
        return settle(task, reviewers, rules)

    async def _publish(self, task: ReviewTask) -> ReviewTask:
        """The decided task's human run; the task remembers it (best effort: the run is the truth)."""
        assert task.consensus is not None
        reviewers = {r.id: r.name for r in (await self._cache.state(task.tenant_id))[1]}
        names = [reviewers.get(a.reviewer_id, a.reviewer_id) for a in task.answers]
        run_id = await self._results.record(task, task.consensus, names, self._clock())
        if run_id is None:
            return task
        saved = await self._store.save_task(task.tenant_id, replace(task, run_id=run_id))
        return saved or task


def _full(task: ReviewTask, paused: set[str], now: datetime) -> bool:
    """No reviewer can take this task now: its counted answers and live holds reach `required`."""
    return (
        sum(a.reviewer_id not in paused for a in task.answers) + len(task.live_assignments(now))
        >= task.required
    )
