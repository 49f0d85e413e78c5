"""Which of a run's labels are sure: a classifier that keeps its best guesses on an image where no label
reached its bar (the run's `tentative_confidence`) marks them by confidence under its `min_confidence`."""

from __future__ import annotations

from catalog.domain.model import Label, RecognitionResult


def sure_and_tentative(
    run: RecognitionResult, labels: tuple[Label, ...] | None = None
) -> tuple[tuple[Label, ...], tuple[Label, ...], float]:
    """The run's labels (or `labels`, e.g. a video run's segment labels) as (sure, tentative) and the
    confidence that makes one sure (0 for a run that keeps no guesses: all its labels are sure)."""
    labels = run.findings.labels if labels is None else labels
    bar = run.parameters.get("min_confidence")
    if "tentative_confidence" not in run.parameters or not isinstance(bar, int | float):
        return labels, (), 0.0
    bar = float(bar)
    return (
        tuple(lb for lb in labels if lb.confidence >= bar),
        tuple(lb for lb in labels if lb.confidence < bar),
        bar,
    )
