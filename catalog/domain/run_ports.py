"""The catalog's run history (immutable recognition runs, current results, the change feed) and its
reprocessing batches.

Every catalog adapter implements both as part of CatalogStore (one store: the run, the current pointer and
the change feed are written in one transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from catalog.domain.model import (
    ChangedAsset,
    FeatureVector,
    Label,
    RecognitionResult,
    ReprocessBatch,
    RunChange,
    Stage,
)
from catalog.domain.model_census import ModelRef


@dataclass(frozen=True)
class ChangeRecord:
    """The change summary of one run (no findings): what batch and model-change reports aggregate."""

    asset_id: str
    analyzer: str
    run_id: str
    model_version: str
    finished_at: datetime
    change: RunChange


# The most a batch's selection (its encoded filter and asset IDs) may take: it lives in one DynamoDB item
# (at most 400 KB with the batch's other fields). Every store refuses more; the service checks it first.
MAX_SELECTION_BYTES = 300_000


def check_selection(batch: ReprocessBatch) -> None:
    """ValueError if the batch's selection is too large for every store to keep."""
    size = len(batch.selection.encode()) if batch.selection is not None else 0
    if size > MAX_SELECTION_BYTES:
        raise ValueError(f"a batch selection of {size} bytes: at most {MAX_SELECTION_BYTES}")


@dataclass(frozen=True)
class Claim:
    """One preparation run's hold on a PREPARING batch: only the holder adds items, resolves, fails, queues
    and checkpoints it. `owner` is unique per run; the hold lasts `lease` after it is taken or renewed (a
    checkpoint renews it), so a preparer that died or paused for longer loses it to the next one."""

    owner: str
    lease: timedelta


class BatchItemState:
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class RunHistory(Protocol):
    """Recognition runs: appended, never changed; the current one per analyzer; the change feed."""

    async def save_result(self, tenant_id: str, result: RecognitionResult) -> RunChange | None:
        """Append the run (result.id set). A success that finished after the current run becomes current;
        its change against that run is computed in the same write and stored with it, and a real change
        puts the asset at the head of the change feed. Returns that change (None: the run failed, or it
        finished before the current one and is history only)."""
        ...

    async def save_analysis(
        self,
        tenant_id: str,
        asset_id: str,
        results: Sequence[RecognitionResult],
        *,
        features: FeatureVector | None = None,
        stage: Stage | None = None,
    ) -> list[RunChange | None]:
        """An asset's analysis: save_result for each of its runs, in order, save_features for `features`,
        and set_stage for `stage` (after the runs), in one transaction where the store has them: one
        write, not one per analyzer and one for the stage."""
        ...

    async def get_labels(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[str, tuple[Label, ...]]: ...
    async def get_result(self, tenant_id: str, asset_id: str, analyzer: str) -> RecognitionResult | None: ...
    async def get_results(
        self, tenant_id: str, asset_ids: Sequence[str], *, as_of: datetime | None = None
    ) -> dict[str, dict[str, RecognitionResult]]:
        """The current run of every analyzer, per asset: its latest successful one (finished by as_of)."""
        ...

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

    async def current_models(
        self, tenant_id: str, asset_ids: Sequence[str], analyzers: Sequence[str]
    ) -> dict[str, dict[str, ModelRef]]:
        """The model that made each asset's current run of each of `analyzers`, without reading findings
        (an asset without such a run, or of another tenant, is left out): what catalog.domain.model_census
        counts and judges. A current `video` run also gives the models its shots were read with, from its
        parameters (model_census.shot_models: "video.objects", ...)."""
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
        self,
        tenant_id: str,
        since: datetime,
        *,
        after: tuple[datetime, str] | None,
        limit: int,
        newest_first: bool = False,
    ) -> list[ChangedAsset]:
        """Assets whose current metadata last changed at or after `since`, oldest change first (newest_first:
        the latest first). `after` is the (changed_at, asset_id) of the last one of a previous page in the
        same order."""
        ...


class BatchStore(Protocol):
    """Reprocessing batches: their items and counts, and the claim, selection and checkpoints of the run that
    prepares one."""

    async def create_batch(self, batch: ReprocessBatch, asset_ids: Sequence[str]) -> None:
        """The batch and one pending item per asset (batch.total must equal len(asset_ids)); ValueError if its
        selection is larger than MAX_SELECTION_BYTES."""
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

    async def set_batch_enqueued(self, tenant_id: str, batch_id: str, claim: Claim | None = None) -> bool:
        """Every job is queued: the batch is RUNNING. With a claim, only while it holds (False otherwise)."""
        ...

    async def unenqueued_batches(self) -> list[ReprocessBatch]:
        """Batches of every tenant whose jobs were not all enqueued (PREPARING; FAILED ones are not)."""
        ...

    # Preparing a batch in the background (services.reprocessing.preparation): a run claims it, adds its
    # items while its `selection` (a filter) resolves, fixes its total with resolve_batch, then queues the
    # items' jobs with checkpoints. Each step below is refused (False / None, nothing changed) unless the
    # run's claim still holds, so two runs never work on one batch at once. No item is finished before it
    # is resolved, so adding an item again (a retried preparation) is harmless.

    async def claim_batch(self, tenant_id: str, batch_id: str, claim: Claim) -> bool:
        """Take (or renew) the claim, and beat the heartbeat: True if the batch is PREPARING and unclaimed,
        claimed by this owner, or its claim has run out; False otherwise (nothing changed)."""
        ...

    async def release_batch(self, tenant_id: str, batch_id: str, claim: Claim) -> None:
        """Give the claim up (if this owner still has it): the next run may claim at once."""
        ...

    async def add_batch_items(
        self, tenant_id: str, batch_id: str, asset_ids: Sequence[str], claim: Claim
    ) -> bool:
        """Add pending items (ones it has are kept); False, adding nothing, once it is resolved (or being
        resolved) or failed, or when the claim does not hold."""
        ...

    async def resolve_batch(self, tenant_id: str, batch_id: str, claim: Claim) -> int | None:
        """Close the selection (later adds are refused), then make the total the number of items, once;
        the total (of a batch resolved before, too), or None if the claim does not hold or no such batch.
        Finishes a resolution that was interrupted midway."""
        ...

    async def fail_batch(self, tenant_id: str, batch_id: str, error: str, claim: Claim) -> bool:
        """The batch FAILED, `error` says why (it is no longer unenqueued): only while its selection is not
        resolved and the claim holds; False otherwise (a resolved batch's jobs may be queued already)."""
        ...

    async def checkpoint_batch(
        self, tenant_id: str, batch_id: str, enqueued_through: str | None, claim: Claim | None = None
    ) -> bool:
        """A preparation's heartbeat (heartbeat_at), and the last asset whose job is queued when given.
        With a claim: only while it holds, and it renews it. False if nothing was written."""
        ...
