"""Tenant-level change reports (a batch's, or a model change's) folded from runs' change summaries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from catalog.domain.concepts.model import concept_of
from catalog.domain.run_ports import ChangeRecord

LABELS = "labels"


@dataclass(frozen=True)
class AssetChange:
    """The net change of one asset over the runs in scope (a retried run counts once)."""

    asset_id: str
    analyzers: tuple[str, ...]  # analyzers whose results changed
    gained: tuple[str, ...]
    lost: tuple[str, ...]
    top_before: str | None
    top_after: str | None

    @property
    def top_label_changed(self) -> bool:
        return self.top_before != self.top_after


@dataclass(frozen=True)
class ChangeReport:
    assets_compared: int
    changed: tuple[AssetChange, ...]  # in asset ID order
    labels_gained: tuple[tuple[str, int], ...]  # most often first
    labels_lost: tuple[tuple[str, int], ...]

    @property
    def top_label_changed(self) -> int:
        return sum(1 for c in self.changed if c.top_label_changed)


def _net(records: Sequence[ChangeRecord]) -> tuple[list[str], list[str]]:
    """Gains and losses composed in run order: gained then lost again is no change."""
    gained: dict[str, None] = {}
    lost: dict[str, None] = {}
    for record in records:
        for name in record.change.gained:
            if name in lost:
                del lost[name]
            else:
                gained[name] = None
        for name in record.change.lost:
            if name in gained:
                del gained[name]
            else:
                lost[name] = None
    return list(gained), list(lost)


def build_report(records: Sequence[ChangeRecord], *, top: int = 20) -> ChangeReport:
    """Records sorted by (asset, finish time), as the RunHistory port returns them."""
    by_asset: dict[str, dict[str, list[ChangeRecord]]] = {}
    for record in records:
        by_asset.setdefault(record.asset_id, {}).setdefault(record.analyzer, []).append(record)
    changed: list[AssetChange] = []
    gained_count: Counter[str] = Counter()
    lost_count: Counter[str] = Counter()
    for asset_id in sorted(by_asset):
        analyzers = by_asset[asset_id]
        moved = tuple(sorted(a for a, rs in analyzers.items() if any(r.change.changed for r in rs)))
        if not moved:
            continue
        gained: list[str] = []
        lost: list[str] = []
        for analyzer in moved:
            g, lo = _net(analyzers[analyzer])
            gained += g
            lost += lo
            if analyzer == LABELS or concept_of(analyzer) is not None:  # both give labels
                gained_count.update(g)
                lost_count.update(lo)
        labels = analyzers.get(LABELS, [])
        changed.append(
            AssetChange(
                asset_id=asset_id,
                analyzers=moved,
                gained=tuple(gained),
                lost=tuple(lost),
                top_before=labels[0].change.top_before if labels else None,
                top_after=labels[-1].change.top_after if labels else None,
            )
        )

    def ranked(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
        return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top])

    return ChangeReport(
        assets_compared=len(by_asset),
        changed=tuple(changed),
        labels_gained=ranked(gained_count),
        labels_lost=ranked(lost_count),
    )
