"""The catalog's run history: immutable recognition runs, reprocessing batches and the change feed.

Every catalog adapter implements it next to CatalogStore (they share one store and write the run, the
current pointer and the change feed in one transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from catalog.model import ChangedAsset, RecognitionResult, ReprocessBatch, RunChange


@dataclass(frozen=True)
class ChangeRecord:
    """The change summary of one run (no findings): what batch and model-change reports aggregate."""

    asset_id: str
    analyzer: str
    run_id: str
    model_version: str
    finished_at: datetime
    change: RunChange


class BatchItemState:
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class RunHistory(Protocol):
    async def runs_of(
        self,
        tenant_id: str,
        asset_ids: Sequence[str],
        analyzer: str | None = None,
        *,
        limit: int = 100,
        finished_by: datetime | None = None,
    ) -> dict[str, list[RecognitionResult]]:
        """Each asset's runs (successful and failed; finished by then, if given), newest first, at most
        `limit` per asset."""
        ...

    async def get_runs(
        self, tenant_id: str, asset_id: str, run_ids: Sequence[str]
    ) -> dict[str, RecognitionResult]:
        """Runs of this asset by ID (another asset's or tenant's run IDs find nothing)."""
        ...

    async def change_records(
        self,
        tenant_id: str,
        *,
        batch_id: str | None = None,
        analyzer: str | None = None,
        from_version: str | None = None,
        to_version: str | None = None,
    ) -> list[ChangeRecord]:
        """Change summaries of a batch's runs, or of runs that replaced `from_version` with `to_version`."""
        ...

    async def mark_changed(self, tenant_id: str, asset_ids: Sequence[str]) -> None:
        """Put assets at the head of the change feed (their metadata changed outside a run, e.g. a name)."""
        ...

    async def changed_assets(
        self, tenant_id: str, since: datetime, *, after: tuple[datetime, str] | None, limit: int
    ) -> list[ChangedAsset]:
        """Assets whose current metadata last changed at or after `since`, oldest change first."""
        ...

    async def create_batch(self, batch: ReprocessBatch, asset_ids: Sequence[str]) -> None:
        """The batch and one pending item per asset (batch.total must equal len(asset_ids))."""
        ...

    async def get_batch(self, tenant_id: str, batch_id: str) -> ReprocessBatch | None: ...

    async def list_batches(self, tenant_id: str, *, limit: int) -> list[ReprocessBatch]:
        """The tenant's batches, newest first."""
        ...

    async def batch_failures(self, tenant_id: str, batch_id: str, *, limit: int) -> list[tuple[str, str]]:
        """(asset ID, reason) of the batch's failed items, in asset ID order."""
        ...

    async def batch_items(
        self, tenant_id: str, batch_id: str, state: str, *, after: str | None, limit: int
    ) -> list[str]:
        """Asset IDs of the batch's items in a state (BatchItemState), in ID order."""
        ...

    async def batch_item_state(self, tenant_id: str, batch_id: str, asset_id: str) -> str | None:
        """The item's BatchItemState, or None if the batch has no such item (in this tenant)."""
        ...

    async def finish_batch_item(
        self, tenant_id: str, batch_id: str, asset_id: str, *, failed: bool, error: str = ""
    ) -> bool:
        """Mark a pending item done or failed and count it once; False if it was not pending."""
        ...

    async def set_batch_enqueued(self, tenant_id: str, batch_id: str) -> None: ...

    async def unenqueued_batches(self) -> list[ReprocessBatch]:
        """Batches of every tenant whose jobs were not all enqueued (PREPARING; FAILED ones are not)."""
        ...

    # Preparing a batch created with a `selection` (a filter) in the background: its items are added while
    # the filter resolves, then resolve_batch fixes its total. No item is finished before that, so adding
    # an item again (a retried preparation) is harmless.

    async def add_batch_items(self, tenant_id: str, batch_id: str, asset_ids: Sequence[str]) -> bool:
        """Add pending items (ones it has are kept); False, adding nothing, once it is resolved or failed."""
        ...

    async def resolve_batch(self, tenant_id: str, batch_id: str) -> int:
        """Clear the selection and make the total the number of items, once; returns the total."""
        ...

    async def fail_batch(self, tenant_id: str, batch_id: str, error: str) -> None:
        """The batch FAILED, `error` says why; it is no longer unenqueued."""
        ...

    async def checkpoint_batch(self, tenant_id: str, batch_id: str, enqueued_through: str | None) -> None:
        """A preparation's heartbeat (heartbeat_at), and the last asset whose job is queued when given."""
        ...
