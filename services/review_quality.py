"""Tenant-wide quality pass: Dawid–Skene over every answered task, reviewer ratings, pauses, and
decided tasks whose consensus the better-informed model changes.

It runs after answers (debounced per tenant: at most one pass in flight, passes at least `interval` apart,
and a trailing pass after the last answer, so the final answers of a burst are weighed too), and on demand
(`mediasight reviewer list --refresh`, tests). The EM runs on the CPU pool, off the loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from catalog.domain.clock import utcnow
from catalog.domain.review.consensus import Consensus, dawid_skene
from catalog.domain.review.ports import ReviewStore
from catalog.domain.review.quality import item, rate, settle
from catalog.domain.review.tasks import Reviewer, ReviewRules, ReviewTask, TaskStatus
from indexer.cpu import CpuPool
from services.review_cache import ReviewCache
from services.review_results import HumanRuns

log = logging.getLogger(__name__)
PAGE = 1000
MAX_TASKS = 50_000  # the newest tasks a pass looks at
CAS_ATTEMPTS = 5
PASS_SHARE = 10  # passes start at most every PASS_SHARE × the last one's duration (≤ ~10 % of the time)


class ReviewQuality:
    def __init__(
        self,
        store: ReviewStore,
        results: HumanRuns,
        cpu: CpuPool | None = None,
        *,
        cache: ReviewCache | None = None,
        interval: float = 2.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._results = results
        self._cpu = cpu
        self._cache = cache
        self._interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._took: dict[str, float] = {}  # seconds the tenant's last background pass took
        self._running: dict[str, asyncio.Task[None]] = {}
        self._dirty: set[str] = set()  # tenants with answers no pass has weighed yet

    async def after_answer(self, tenant_id: str, gold: bool) -> None:
        """Ask for a background pass: now, or when `interval` (or PASS_SHARE times the last pass's duration:
        on a large tenant the passes take a bounded share of the time) has passed since the last one."""
        self._dirty.add(tenant_id)
        if tenant_id not in self._running:  # a running loop sees the mark before it ends
            self._running[tenant_id] = asyncio.create_task(self._background(tenant_id))

    def _wait(self, tenant_id: str) -> float:
        gap = max(self._interval, PASS_SHARE * self._took.get(tenant_id, 0.0))
        return self._last.get(tenant_id, -1e9) + gap - time.monotonic()

    async def _background(self, tenant_id: str) -> None:
        try:
            while tenant_id in self._dirty:
                if (wait := self._wait(tenant_id)) > 0:
                    await asyncio.sleep(wait)
                self._dirty.discard(tenant_id)  # answers from now on ask for one more pass
                started = self._last[tenant_id] = time.monotonic()
                try:
                    await self.refresh(tenant_id)
                except Exception:  # the next answer asks again; a failed pass must not kill the server
                    log.exception("review quality pass failed for tenant %s", tenant_id)
                self._took[tenant_id] = time.monotonic() - started
        finally:  # no await since the loop's last check: an answer in between found this task running
            self._running.pop(tenant_id, None)

    async def close(self) -> None:
        """Stop the background passes (shutdown: the stores close next)."""
        for task in list(self._running.values()):
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def idle(self) -> None:
        """Wait for the passes in flight (tests, shutdown)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def refresh(self, tenant_id: str) -> list[Reviewer]:
        rules = await self._store.get_review_rules(tenant_id)
        reviewers = await self._store.list_reviewers(tenant_id)
        tasks = await self._answered_tasks(tenant_id)
        paused = {r.id for r in reviewers if r.paused}
        items = [item(t, paused) for t in tasks]
        consensus: Consensus = await self._cpu.run(dawid_skene, items) if self._cpu else dawid_skene(items)
        now = self._clock()
        rated = []
        newly_paused = set()
        for reviewer in reviewers:
            new = rate(reviewer, tasks, consensus, rules, now) if reviewer.id not in paused else reviewer
            if new != reviewer:
                await self._store.save_reviewer(new)
                if new.paused:
                    newly_paused.add(new.id)
                    log.warning(
                        "reviewer %s paused: rating %.2f under %.2f",
                        new.name,
                        new.rating or 0,
                        rules.rating_floor,
                    )
            rated.append(new)
        if newly_paused and self._cache is not None:
            self._cache.forget(tenant_id)
        if newly_paused:  # their answers stop counting: decide again without them
            paused |= newly_paused
            consensus = dawid_skene([item(t, paused) for t in tasks])
        await self._revise(tenant_id, tasks, consensus, rated, rules)
        return rated

    async def _answered_tasks(self, tenant_id: str) -> list[ReviewTask]:
        out: list[ReviewTask] = []
        after: str | None = None
        while len(out) < MAX_TASKS:
            page = await self._store.list_tasks(tenant_id, None, after=after, limit=PAGE)
            out.extend(t for t in page if t.answers)
            if len(page) < PAGE:
                break
            after = page[-1].id
        return out

    async def _revise(
        self,
        tenant_id: str,
        tasks: list[ReviewTask],
        consensus: Consensus,
        reviewers: list[Reviewer],
        rules: ReviewRules,
    ) -> None:
        """Give paused reviewers' open tasks back to the pool, settle open tasks that have every
        answer they can get, and re-publish decided tasks whose consensus changed."""
        now = self._clock()
        for task in tasks:
            if task.status is TaskStatus.GOLD:
                continue
            for _ in range(CAS_ATTEMPTS):
                saved = await self._revise_one(tenant_id, task, consensus, reviewers, rules, now)
                if saved is not False:
                    break
                # Someone answered (or a pass in another process saved it) meanwhile: weigh it again as it
                # is now, or an open task that has all its answers could wait for a pass that never comes.
                task = (await self._store.get_tasks(tenant_id, [task.id])).get(task.id) or task
            else:
                log.warning("review task %s changed too often during a quality pass", task.id)

    async def _revise_one(
        self,
        tenant_id: str,
        task: ReviewTask,
        consensus: Consensus,
        reviewers: list[Reviewer],
        rules: ReviewRules,
        now: datetime,
    ) -> bool | None:
        """Settle one task (True: saved, None: nothing to change, False: it changed meanwhile)."""
        paused = {r.id for r in reviewers if r.paused}
        outcome = consensus.outcomes.get(task.id)
        changed = task
        if task.status is TaskStatus.OPEN:
            kept = tuple(a for a in task.live_assignments(now) if a.reviewer_id not in paused)
            changed = settle(replace(changed, assignments=kept), reviewers, rules)
        elif (
            task.status is TaskStatus.DONE
            and outcome is not None
            and outcome.value is not None
            and outcome.value != task.consensus
        ):
            changed = replace(changed, consensus=outcome.value, agreement=outcome.agreement)
        if changed == task:
            return None
        saved = await self._store.save_task(tenant_id, changed)
        if saved is None:
            return False
        if saved.status is TaskStatus.DONE and saved.consensus != task.consensus:
            assert saved.consensus is not None
            names = {r.id: r.name for r in reviewers}
            run = await self._results.record(
                saved, saved.consensus, [names.get(a.reviewer_id, "") for a in saved.answers], now
            )
            if run is not None:
                await self._store.save_task(tenant_id, replace(saved, run_id=run))
        return True
