"""Human verdicts over machine labels (pure): the `review` analyzer's run holds each label a consensus
confirmed or named (confidence 100) or rejected (confidence 0); merged over the machine's labels, a human
yes wins at 100 and a human no removes the label. 100 is kept for humans: machine labels stay below it,
so search ranks a human label above any machine label and `labelSource: [HUMAN]` is a threshold of 100."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from catalog.domain.model import Label, RecognitionResult

REVIEW_ANALYZER = "review"  # the human runs (services.review_results)
HUMAN_PROVIDER = "human"
HUMAN_YES = 100.0
HUMAN_NO = 0.0
MACHINE_CEILING = 99.99  # a machine label rounded to 100 is shown and indexed just below it


def human_verdicts(results: Mapping[str, RecognitionResult]) -> dict[str, Label]:
    """Lower-cased name → the human verdict on it (confidence 100: yes, 0: no)."""
    run = results.get(REVIEW_ANALYZER)
    return {lb.name.lower(): lb for lb in run.findings.labels} if run else {}


def merge(machine: Sequence[Label], verdicts: Mapping[str, Label]) -> list[Label]:
    """The machine's labels under the human verdicts: confirmed or named labels at 100 (with the machine's
    parents when the human run has none), rejected ones gone."""
    out = [
        lb if lb.confidence <= MACHINE_CEILING else replace(lb, confidence=MACHINE_CEILING)
        for lb in machine
        if lb.name.lower() not in verdicts
    ]
    seen = {lb.name.lower(): lb for lb in machine}
    for key, verdict in verdicts.items():
        if verdict.confidence >= HUMAN_YES:
            found = seen.get(key)
            parents = verdict.parents or (found.parents if found else ())
            # a confirmed label keeps the detector's boxes: the human said what, the machine where
            out.append(Label(verdict.name, HUMAN_YES, parents, found.instances if found else ()))
    return out


def is_human(label: Label, verdicts: Mapping[str, Label]) -> bool:
    found = verdicts.get(label.name.lower())
    return found is not None and found.confidence >= HUMAN_YES and label.confidence >= HUMAN_YES
