"""Which two runs Asset.diff compares, from what the caller named (or the defaults)."""

from __future__ import annotations

from datetime import datetime

from graphql import GraphQLError

from catalog.domain.model import RecognitionResult, RunStatus
from catalog.domain.ports import CatalogStore

HISTORY_LIMIT = 1000  # runs of one analyzer on one asset looked at for the defaults


def _error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


async def pick_runs(
    catalog: CatalogStore,
    tenant_id: str,
    asset_id: str,
    analyzer: str,
    from_id: str | None,
    to_id: str | None,
    as_of: datetime | None,
) -> tuple[RecognitionResult | None, RecognitionResult | None]:
    """(earlier, later). Named runs must be this asset's and of one analyzer (theirs wins over
    `analyzer`); the later defaults to the current run (as of `as_of`), the earlier to the successful
    run before the later one."""
    named = await catalog.get_runs(tenant_id, asset_id, [i for i in (from_id, to_id) if i])
    for run_id in (from_id, to_id):
        if run_id and run_id not in named:
            raise _error(f"no run {run_id} on asset {asset_id}: list them with Asset.runs", "RUN_NOT_FOUND")
    kinds = {r.analyzer for r in named.values()}
    if len(kinds) > 1:
        raise _error(
            f"fromRun and toRun are runs of different analyzers ({', '.join(sorted(kinds))})", "MIXED"
        )
    analyzer = kinds.pop() if kinds else analyzer
    until = None if to_id else as_of
    found = await catalog.runs_of(tenant_id, [asset_id], analyzer, limit=HISTORY_LIMIT, finished_by=until)
    history = [r for r in found.get(asset_id, []) if r.status == RunStatus.SUCCEEDED]  # newest first
    if to_id:
        after: RecognitionResult | None = named[to_id]
    else:
        after = next(
            (r for r in history if as_of is None or (r.finished_at and r.finished_at <= as_of)), None
        )
    if from_id:
        return named[from_id], after
    if after is None:
        return None, None
    position = next((i for i, r in enumerate(history) if r.id == after.id), None)
    if position is None:  # a failed run named as toRun: compare with the success before it
        earlier = [
            r for r in history if r.finished_at and after.finished_at and r.finished_at < after.finished_at
        ]
        return (earlier[0] if earlier else None), after
    return (history[position + 1] if position + 1 < len(history) else None), after
