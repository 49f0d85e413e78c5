"""Which review questions a tenant's rules ask about an asset, from its current labels (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from catalog.domain.model import Label, ReprocessBatch
from catalog.domain.review.tasks import Question, QuestionKind, ReviewRules, TaskReason

# A tracked batch whose items apply the tenant's review rules (no analyzer runs): the batch machinery of
# reprocessing (preparation, progress, resume) with this in place of its analyzers.
RULES_BATCH = "review-rules"


def applies_rules(batch: ReprocessBatch) -> bool:
    return batch.analyzers == (RULES_BATCH,)


@dataclass(frozen=True)
class Proposed:
    question: Question
    reason: TaskReason


def specific_labels(labels: Sequence[Label]) -> list[Label]:
    """Labels that are no other label's parent (Giraffe, not Animal), best first."""
    parents = {p.lower() for label in labels for p in label.parents}
    return sorted(
        (label for label in labels if label.name.lower() not in parents), key=lambda x: -x.confidence
    )


def in_audit_sample(asset_id: str, percent: float) -> bool:
    """A stable pseudo-random draw: the same asset is in or out of the sample however often it is asked."""
    draw = int.from_bytes(hashlib.sha256(asset_id.encode()).digest()[:8], "big") / 2**64
    return draw * 100 < percent


def propose(asset_id: str, labels: Sequence[Label], rules: ReviewRules, *, new: bool) -> list[Proposed]:
    """The questions the rules ask about this asset; `new`: it was just indexed (the audit sample draws
    only from new assets). At most one question per label."""
    out: dict[str, Proposed] = {}

    def add(question: Question, reason: TaskReason) -> None:
        out.setdefault(question.key(), Proposed(question, reason))

    specific = specific_labels(labels)
    watched = {w.lower() for w in rules.watched_labels}
    for label in labels:
        if label.name.lower() in watched:
            add(Question(QuestionKind.VERIFY, label=label.name), TaskReason.WATCHED)
    if not labels:
        if rules.no_labels:
            add(Question(QuestionKind.CHOOSE, candidates=()), TaskReason.NO_LABELS)
    elif rules.low_confidence_below is not None and specific[0].confidence < rules.low_confidence_below:
        candidates = tuple(label.name for label in specific[: rules.top_k])
        add(Question(QuestionKind.CHOOSE, candidates=candidates), TaskReason.LOW_CONFIDENCE)
    if rules.band is not None:
        lo, hi = rules.band
        for label in specific:
            if lo <= label.confidence <= hi:
                add(Question(QuestionKind.VERIFY, label=label.name), TaskReason.CONFIDENCE_BAND)
    if new and specific and rules.audit_percent > 0 and in_audit_sample(asset_id, rules.audit_percent):
        add(Question(QuestionKind.VERIFY, label=specific[0].name), TaskReason.AUDIT)
    return list(out.values())
