"""Diffs between runs and the reports folded from their change summaries (pure functions)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from catalog.domain.change_report import build_report
from catalog.domain.model import (
    BoundingBox,
    Face,
    Findings,
    Label,
    RecognitionResult,
    RunChange,
    TextDetection,
)
from catalog.domain.run_diff import diff_findings, summarize_change, top_label
from catalog.domain.run_ports import ChangeRecord

BOX = BoundingBox(0.1, 0.1, 0.2, 0.2)
T = datetime(2026, 1, 1, tzinfo=UTC)


def line(text: str) -> TextDetection:
    return TextDetection(text, 99.0, "LINE", BOX)


def test_label_diff_added_removed_and_changed_at_min_delta() -> None:
    before = Findings(labels=(Label("Dog", 90.0), Label("Cat", 60.0), Label("Pet", 95.0)))
    after = Findings(labels=(Label("Dog", 92.5), Label("Wolf", 70.0), Label("Pet", 95.0)))
    d = diff_findings(before, after)
    assert [(s.name, s.confidence) for s in d.labels.added] == [("Wolf", 70.0)]
    assert [(s.name, s.confidence) for s in d.labels.removed] == [("Cat", 60.0)]
    assert [(c.name, c.before, c.after, c.delta) for c in d.labels.changed] == [("Dog", 90.0, 92.5, 2.5)]
    assert diff_findings(before, after, min_delta=3).labels.changed == ()
    assert not d.empty and diff_findings(after, after).empty


def test_face_diff_pairs_by_overlap_and_reports_person_changes() -> None:
    a = Face(BoundingBox(0.1, 0.1, 0.2, 0.2), 99.0, person_id="p1")
    b = Face(BoundingBox(0.6, 0.6, 0.2, 0.2), 99.0)
    moved_a = Face(BoundingBox(0.11, 0.1, 0.2, 0.2), 98.0, person_id="p2")
    c = Face(BoundingBox(0.4, 0.0, 0.1, 0.1), 90.0)
    d = diff_findings(Findings(faces=(a, b)), Findings(faces=(c, moved_a))).faces
    assert d.added == (0,) and d.removed == (1,)
    [change] = d.person_changed
    assert (change.before_index, change.after_index, change.person_before, change.person_after) == (
        0,
        1,
        "p1",
        "p2",
    )


def test_text_diff_counts_repeated_lines() -> None:
    d = diff_findings(
        Findings(text=(line("EXIT"), line("EXIT"), line("Open"))),
        Findings(text=(line("EXIT"), line("Closed"))),
    )
    assert d.text.added == ("Closed",) and d.text.removed == ("EXIT", "Open")


def test_top_label_is_the_most_confident_specific_one() -> None:
    labels = (Label("Animal", 99.0), Label("Dog", 80.0, ("Animal",)), Label("Cat", 15.0, ("Animal",)))
    assert top_label(labels) == "Dog"
    assert top_label(()) is None


def run(version: str, *labels: Label) -> RecognitionResult:
    return RecognitionResult("a1", "labels", "m", version, Findings(labels=labels), id=f"r{version}")


def test_summarize_change() -> None:
    old = run("1", Label("Dog", 90.0), Label("Cat", 60.0))
    new = run("2", Label("Dog", 90.0), Label("Wolf", 70.0))
    change = summarize_change(old, new)
    assert change == RunChange("r1", "1", True, ("Wolf",), ("Cat",), "Dog", "Dog")
    assert not summarize_change(new, run("3", Label("Dog", 90.0), Label("Wolf", 70.0))).changed
    first = summarize_change(None, new)
    assert first.changed and first.previous_run_id is None and set(first.gained) == {"Dog", "Wolf"}


def test_summarize_change_counts_sure_labels_only() -> None:
    """Raising the bar to 80 turned the sure Clothing into a guess and kept the guess Military Uniform
    (the image's best): a report gains no guess and loses the sure label."""

    def labels_run(version: str, bar: float, *labels: Label) -> RecognitionResult:
        params: dict[str, object] = {"min_confidence": bar, "tentative_confidence": 20.0}
        return dataclasses.replace(run(version, *labels), parameters=params)

    old = labels_run("1", 50, Label("Clothing", 70.0))
    new = labels_run("2", 80, Label("Clothing", 70.0), Label("Military Uniform", 40.0))
    change = summarize_change(old, new)
    assert change.changed and (change.gained, change.lost) == ((), ("Clothing",))
    assert (change.top_before, change.top_after) == ("Clothing", None)
    back = summarize_change(new, labels_run("3", 50, Label("Clothing", 71.0)))
    assert (back.gained, back.lost, back.top_after) == (("Clothing",), (), "Clothing")
    assert summarize_change(None, new).gained == ()


def record(
    asset: str,
    run_id: str,
    *,
    changed: bool = True,
    gained: tuple[str, ...] = (),
    lost: tuple[str, ...] = (),
    top: tuple[str | None, str | None] = ("Dog", "Dog"),
    analyzer: str = "labels",
) -> ChangeRecord:
    change = RunChange("prev", "1", changed, gained, lost, top[0], top[1])
    return ChangeRecord(asset, analyzer, run_id, "2", T, change)


def test_report_nets_retried_runs_and_ranks_labels() -> None:
    records = [
        record("a", "1", gained=("Wolf",), lost=("Cat",)),
        record("a", "2", gained=("Cat",), lost=("Wolf",), top=("Dog", "Dog")),  # a retry undid it
        record("b", "3", gained=("Wolf",), top=("Dog", "Wolf")),
        record("c", "4", changed=False),
        record("d", "5", analyzer="moderation", gained=("Violence",)),
    ]
    report = build_report(records)
    assert report.assets_compared == 4
    assert [c.asset_id for c in report.changed] == ["a", "b", "d"]
    a, b, d = report.changed
    assert (a.gained, a.lost) == ((), ())
    assert b.gained == ("Wolf",) and b.top_label_changed
    assert d.analyzers == ("moderation",) and d.gained == ("Violence",)
    assert report.labels_gained == (("Wolf", 1),) and report.labels_lost == ()
    assert report.top_label_changed == 1


def test_new_face_ids_of_a_remote_collection_are_no_change() -> None:
    face = Face(BOX, 99.0, face_id="f-1")
    old = RecognitionResult("a1", "faces", "m", "1", Findings(faces=(face,)), id="r1")
    new = RecognitionResult(
        "a1", "faces", "m", "1", Findings(faces=(Face(BOX, 99.0, face_id="f-2"),)), id="r2"
    )
    assert not summarize_change(old, new).changed
