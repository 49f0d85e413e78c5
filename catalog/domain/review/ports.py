"""The review store port: tenant review rules, tasks (with their answers), reviewers.

Every read and write takes the tenant; another tenant's IDs find nothing. Tasks change by
compare-and-set on `ReviewTask.version`, so concurrent reviewers never lose each other's answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from catalog.domain.review.tasks import Reviewer, ReviewRules, ReviewTask, TaskStatus


class ReviewStore(Protocol):
    async def get_review_rules(self, tenant_id: str) -> ReviewRules:
        """The tenant's rules (defaults: no rule creates tasks) ."""
        ...

    async def set_review_rules(self, tenant_id: str, rules: ReviewRules) -> None: ...

    async def add_tasks(self, tenant_id: str, tasks: Sequence[ReviewTask]) -> list[ReviewTask]:
        """Store the new tasks; one whose non-empty `dedupe` the tenant already has is skipped.
        Returns those stored."""
        ...

    async def get_tasks(self, tenant_id: str, task_ids: Sequence[str]) -> dict[str, ReviewTask]: ...

    async def list_tasks(
        self, tenant_id: str, status: TaskStatus | None, *, after: str | None, limit: int
    ) -> list[ReviewTask]:
        """Tasks in ID (= creation) order after the ID `after`, of one status or all."""
        ...

    async def save_task(self, tenant_id: str, task: ReviewTask) -> ReviewTask | None:
        """Write the task if the stored one still has `task.version`; returns it with the next version,
        or None when another writer changed it first (read it again and retry)."""
        ...

    async def count_tasks(self, tenant_id: str) -> dict[TaskStatus, int]: ...

    async def add_reviewer(self, reviewer: Reviewer) -> Reviewer:
        """Raises ReviewInputError(NAME_TAKEN) when the tenant has a reviewer of that name."""
        ...

    async def list_reviewers(self, tenant_id: str) -> list[Reviewer]: ...
    async def get_reviewer(self, tenant_id: str, reviewer_id: str) -> Reviewer | None: ...
    async def reviewer_by_key(self, tenant_id: str, key_id: str) -> Reviewer | None: ...
    async def save_reviewer(self, reviewer: Reviewer) -> None:
        """Replace the reviewer's status and statistics (name, key and creation stay)."""
        ...
