"""What changed between two recognition runs of one analyzer: pure functions over findings, no I/O."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from catalog.domain.codec import encode_findings
from catalog.domain.concepts.model import concept_of
from catalog.domain.labels.sureness import sure_and_tentative
from catalog.domain.model import BoundingBox, Face, Findings, Label, RecognitionResult, RunChange

SAME_FACE_IOU = 0.5  # boxes overlapping at least this much are the same face seen by both runs


@dataclass(frozen=True)
class NamedScore:
    name: str
    confidence: float


@dataclass(frozen=True)
class ScoreChange:
    name: str
    before: float
    after: float

    @property
    def delta(self) -> float:
        return round(self.after - self.before, 6)


@dataclass(frozen=True)
class ScoredDiff:
    """Named scores (labels or moderation labels) gained, lost, and changed by at least minDelta."""

    added: tuple[NamedScore, ...] = ()
    removed: tuple[NamedScore, ...] = ()
    changed: tuple[ScoreChange, ...] = ()


@dataclass(frozen=True)
class FacePersonChange:
    before_index: int
    after_index: int
    person_before: str | None
    person_after: str | None


@dataclass(frozen=True)
class FaceDiff:
    added: tuple[int, ...] = ()  # indexes in the later run's faces
    removed: tuple[int, ...] = ()  # indexes in the earlier run's faces
    person_changed: tuple[FacePersonChange, ...] = ()


@dataclass(frozen=True)
class TextDiff:
    added: tuple[str, ...] = ()  # LINE texts
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class FindingsDiff:
    labels: ScoredDiff
    faces: FaceDiff
    text: TextDiff
    moderation: ScoredDiff

    @property
    def empty(self) -> bool:
        return not any(
            (
                self.labels.added,
                self.labels.removed,
                self.labels.changed,
                self.faces.added,
                self.faces.removed,
                self.faces.person_changed,
                self.text.added,
                self.text.removed,
                self.moderation.added,
                self.moderation.removed,
                self.moderation.changed,
            )
        )


def diff_scores(before: Iterable[NamedScore], after: Iterable[NamedScore], min_delta: float) -> ScoredDiff:
    """By name; a score present in both counts as changed when it moved by at least min_delta (> 0)."""
    old = {s.name: s for s in before}
    new = {s.name: s for s in after}
    changed = [
        ScoreChange(name, old[name].confidence, s.confidence)
        for name, s in new.items()
        if name in old and (d := abs(s.confidence - old[name].confidence)) > 0 and d >= min_delta
    ]
    return ScoredDiff(
        added=tuple(sorted((s for n, s in new.items() if n not in old), key=_by_confidence)),
        removed=tuple(sorted((s for n, s in old.items() if n not in new), key=_by_confidence)),
        changed=tuple(sorted(changed, key=lambda c: (-abs(c.delta), c.name))),
    )


def _by_confidence(s: NamedScore) -> tuple[float, str]:
    return (-s.confidence, s.name)


def pair_boxes(before: Sequence[BoundingBox], after: Sequence[BoundingBox]) -> list[tuple[int, int]]:
    """The same faces seen twice: (before index, after index) pairs of boxes overlapping by IoU ≥
    SAME_FACE_IOU, one-to-one, taken greedily best overlap first (what both run diffs and the face
    stores' person carry-over go by)."""
    ranked = sorted(
        ((a.iou(b), i, j) for i, a in enumerate(before) for j, b in enumerate(after)),
        reverse=True,
    )
    used_before: set[int] = set()
    used_after: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for overlap, i, j in ranked:
        if overlap < SAME_FACE_IOU:
            break
        if i in used_before or j in used_after:
            continue
        used_before.add(i)
        used_after.add(j)
        pairs.append((i, j))
    return pairs


def diff_faces(before: tuple[Face, ...], after: tuple[Face, ...]) -> FaceDiff:
    """Faces paired by box overlap (pair_boxes); unpaired ones are added or removed."""
    pairs = pair_boxes([f.box for f in before], [f.box for f in after])
    moved = [
        FacePersonChange(i, j, before[i].person_id, after[j].person_id)
        for i, j in pairs
        if before[i].person_id != after[j].person_id
    ]
    paired_before = {i for i, _ in pairs}
    paired_after = {j for _, j in pairs}
    return FaceDiff(
        added=tuple(j for j in range(len(after)) if j not in paired_after),
        removed=tuple(i for i in range(len(before)) if i not in paired_before),
        person_changed=tuple(sorted(moved, key=lambda c: c.after_index)),
    )


def diff_text(before: Findings, after: Findings) -> TextDiff:
    """LINE texts as multisets: a line that appears twice and then once is one line removed."""
    old = Counter(t.text for t in before.text if t.type == "LINE")
    new = Counter(t.text for t in after.text if t.type == "LINE")
    return TextDiff(
        added=tuple(sorted((new - old).elements())), removed=tuple(sorted((old - new).elements()))
    )


def run_labels(findings: Findings) -> tuple[Label, ...]:
    """A run's labels: a video run's are its segments' (each name at its highest confidence)."""
    if not findings.labels and findings.video is not None:
        return findings.video.labels()
    return findings.labels


def _labels(findings: Findings) -> list[NamedScore]:
    return _named(run_labels(findings))


def _named(labels: Iterable[Label]) -> list[NamedScore]:
    return [NamedScore(lb.name, lb.confidence) for lb in labels]


def _moderation(findings: Findings) -> list[NamedScore]:
    return [NamedScore(m.name, m.confidence) for m in findings.moderation]


def diff_findings(before: Findings | None, after: Findings, *, min_delta: float = 0.0) -> FindingsDiff:
    """Everything that differs from `before` (None: nothing was known, so everything is added)."""
    old = before or Findings()
    return FindingsDiff(
        labels=diff_scores(_labels(old), _labels(after), min_delta),
        faces=diff_faces(old.faces, after.faces),
        text=diff_text(old, after),
        moderation=diff_scores(_moderation(old), _moderation(after), min_delta),
    )


def top_label(labels: tuple[Label, ...]) -> str | None:
    """The most confident specific label: parents carry their descendants' sum, so leaves only."""
    parents = {p.casefold() for lb in labels for p in lb.parents}
    leaves = [lb for lb in labels if lb.name.casefold() not in parents] or list(labels)
    if not leaves:
        return None
    return min(leaves, key=lambda lb: (-lb.confidence, lb.name)).name


def _comparable(findings: Findings) -> dict[str, object]:
    """Findings as compared for change: a remote collection's FaceIds are new on every run, not a change."""
    faces = tuple(dataclasses.replace(f, face_id="") for f in findings.faces)
    return encode_findings(dataclasses.replace(findings, faces=faces))


def summarize_change(previous: RecognitionResult | None, run: RecognitionResult) -> RunChange:
    """The compact change record stored with a run (what batch and model-change reports aggregate). Its
    gains, losses and top labels are the sure labels': a guess that came or went (labels.sureness) is no
    keyword gained, and a sure label that became a guess is one lost."""
    before = previous.findings if previous else Findings()
    if previous is None:  # a first run is a change, but a concept's that gives nothing adds nothing
        changed = concept_of(run.analyzer) is None or bool(run.findings.labels)
    else:
        changed = _comparable(before) != _comparable(run.findings)
    sure_before = _sure(previous) if previous else ()
    sure_after = _sure(run)
    scored = diff_scores(
        _named(sure_before) + _moderation(before), _named(sure_after) + _moderation(run.findings), 0
    )
    return RunChange(
        previous_run_id=previous.id if previous else None,
        previous_model_version=previous.model_version if previous else None,
        changed=changed,
        gained=tuple(s.name for s in scored.added),
        lost=tuple(s.name for s in scored.removed),
        top_before=top_label(sure_before),
        top_after=top_label(sure_after),
    )


def _sure(run: RecognitionResult) -> tuple[Label, ...]:
    return sure_and_tentative(run, run_labels(run.findings))[0]
