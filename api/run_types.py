"""GraphQL types of run history: immutable runs, and what changed between two of them."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from api.recognition_types import Face, ImageProperties, Label, ModerationLabel, Person, TextDetection
from catalog.domain import model, run_diff
from catalog.domain.labels.order import merge_labels


@strawberry.enum(description="How a run ended; only successful runs become current.")
class RunStatus(enum.Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@strawberry.type(description="One immutable run of one analyzer on one asset: who produced what, how, when.")
class RecognitionRun:
    id: strawberry.ID
    analyzer: str
    provider: str
    model_name: str
    model_version: str
    parameters: JSON
    duration_ms: float
    started_at: datetime | None
    finished_at: datetime | None
    status: RunStatus
    error: str | None = strawberry.field(description="Why it failed, when status is FAILED.")
    batch_id: strawberry.ID | None = strawberry.field(description="The reprocessing batch that asked for it.")
    created_at: datetime | None = strawberry.field(deprecation_reason="Use startedAt.")
    _domain: strawberry.Private[model.RecognitionResult]

    @staticmethod
    def from_domain(r: model.RecognitionResult) -> RecognitionRun:
        return RecognitionRun(
            id=strawberry.ID(r.id),
            analyzer=r.analyzer,
            provider=r.provider,
            model_name=r.model_name,
            model_version=r.model_version,
            parameters=cast(JSON, dict(r.parameters)),
            duration_ms=r.duration_ms,
            started_at=r.created_at,
            finished_at=r.finished_at,
            status=RunStatus(r.status.value),
            error=r.error or None,
            batch_id=strawberry.ID(r.batch_id) if r.batch_id else None,
            created_at=r.created_at,
            _domain=r,
        )

    @strawberry.field(
        description="The labels this run found (hierarchy levels included), most confident first."
    )
    def labels(self) -> list[Label]:
        found = sorted(self._domain.findings.labels, key=lambda lb: -lb.confidence)
        return [Label.from_domain(lb) for lb in found]

    @strawberry.field(description="The faces this run found (persons are named on Asset.faces).")
    def faces(self) -> list[Face]:
        return [Face.from_domain(i, f, None) for i, f in enumerate(self._domain.findings.faces)]

    @strawberry.field
    def text_detections(self) -> list[TextDetection]:
        return [TextDetection.from_domain(t) for t in self._domain.findings.text]

    @strawberry.field
    def moderation_labels(self) -> list[ModerationLabel]:
        return [
            ModerationLabel(name=m.name, confidence=m.confidence, parent_name=m.parent_name)
            for m in self._domain.findings.moderation
        ]

    @strawberry.field
    def properties(self) -> ImageProperties | None:
        found = self._domain.findings.properties
        return ImageProperties.from_domain(found) if found else None


@strawberry.type(description="A name with its confidence (0–100).")
class ScoredName:
    name: str
    confidence: float


@strawberry.type(description="A name present in both runs whose confidence moved.")
class ScoreChange:
    name: str
    before: float
    after: float
    delta: float


@strawberry.type(description="Labels (or moderation labels) gained, lost and changed; most confident first.")
class ScoredDiff:
    added: list[ScoredName]
    removed: list[ScoredName]
    changed: list[ScoreChange]

    @staticmethod
    def from_domain(d: run_diff.ScoredDiff) -> ScoredDiff:
        return ScoredDiff(
            added=[ScoredName(name=s.name, confidence=s.confidence) for s in d.added],
            removed=[ScoredName(name=s.name, confidence=s.confidence) for s in d.removed],
            changed=[
                ScoreChange(name=c.name, before=c.before, after=c.after, delta=c.delta) for c in d.changed
            ],
        )


@strawberry.type(description="A face both runs found (boxes overlap) whose person differs.")
class FacePersonChange:
    before: Face
    after: Face
    person_before: Person | None
    person_after: Person | None


@strawberry.type(description="Faces paired by box overlap: unpaired ones were added or removed.")
class FaceDiff:
    added: list[Face]
    removed: list[Face]
    person_changed: list[FacePersonChange]


@strawberry.type(description="Text lines added and removed.")
class TextDiff:
    added: list[str]
    removed: list[str]


@strawberry.type(description="The two runs of one analyzer that a diff compares.")
class RunPair:
    analyzer: str
    from_run: RecognitionRun | None
    to_run: RecognitionRun | None


@strawberry.type(
    description="What changed from one run of an analyzer to another (or, by default, for every "
    "analyzer from its previous run to its current one)."
)
class RunDiff:
    from_run: RecognitionRun | None = strawberry.field(
        description="For one analyzer's diff; null when there was no earlier run, or when several analyzers "
        "are compared (see pairs)."
    )
    to_run: RecognitionRun | None
    pairs: list[RunPair] = strawberry.field(description="The runs compared, per analyzer.")
    labels: ScoredDiff
    faces: FaceDiff
    text: TextDiff
    moderation: ScoredDiff
    unchanged: bool = strawberry.field(description="True when nothing differs (at minDelta).")


RunPairs = dict[str, tuple[model.RecognitionResult | None, model.RecognitionResult | None]]


def _merged(runs: list[model.RecognitionResult | None]) -> model.Findings:
    """One Findings from several analyzers' runs: each analyzer fills only its own fields, except labels,
    which the classifier and the object detector both give (merged: one label per concept)."""
    out = model.Findings()
    for run in runs:
        if run is None:
            continue
        changes = {k: v for k, v in vars(run.findings).items() if v}
        out = dataclasses.replace(out, **changes)
    labels = merge_labels(run.findings.labels for run in runs if run is not None)
    return dataclasses.replace(out, labels=tuple(labels))


def diff_between(pairs: RunPairs, min_delta: float, persons: dict[str, model.Person]) -> RunDiff:
    """The GraphQL diff of (earlier, later) run pairs per analyzer (`persons`: who the faces' person IDs
    name)."""
    old = _merged([before for before, _ in pairs.values()])
    new = _merged([after for _, after in pairs.values()])
    d = run_diff.diff_findings(old, new, min_delta=min_delta)
    [(before, after)] = pairs.values() if len(pairs) == 1 else [(None, None)]

    def run(r: model.RecognitionResult | None) -> RecognitionRun | None:
        return RecognitionRun.from_domain(r) if r else None

    def person(pid: str | None) -> Person | None:
        found = persons.get(pid) if pid else None
        return Person.from_domain(found) if found else None

    return RunDiff(
        from_run=run(before),
        to_run=run(after),
        pairs=[RunPair(analyzer=a, from_run=run(b), to_run=run(t)) for a, (b, t) in pairs.items()],
        labels=ScoredDiff.from_domain(d.labels),
        faces=FaceDiff(
            added=[Face.from_domain(i, new.faces[i], None) for i in d.faces.added],
            removed=[Face.from_domain(i, old.faces[i], None) for i in d.faces.removed],
            person_changed=[
                FacePersonChange(
                    before=Face.from_domain(c.before_index, old.faces[c.before_index], None),
                    after=Face.from_domain(c.after_index, new.faces[c.after_index], None),
                    person_before=person(c.person_before),
                    person_after=person(c.person_after),
                )
                for c in d.faces.person_changed
            ],
        ),
        text=TextDiff(added=list(d.text.added), removed=list(d.text.removed)),
        moderation=ScoredDiff.from_domain(d.moderation),
        unchanged=d.empty,
    )
