"""Review tasks, rules and reviewers as JSON: one encoding for every store."""

from __future__ import annotations

import json
from typing import Any

from catalog.domain.clock import from_db_time, to_db_time
from catalog.domain.review.tasks import (
    Answer,
    Assignment,
    Question,
    QuestionKind,
    Reviewer,
    ReviewRules,
    ReviewTask,
    TaskReason,
    TaskStatus,
    Verdict,
)


def _time(value: str) -> Any:
    return from_db_time(value)


def task_json(task: ReviewTask) -> str:
    q = task.question
    return json.dumps(
        {
            "asset": task.asset_id,
            "q": [q.kind, q.label, list(q.candidates), q.allow_text],
            "reason": task.reason,
            "created": to_db_time(task.created_at),
            "required": task.required,
            "answers": [
                [a.reviewer_id, to_db_time(a.answered_at), a.verdict, a.choice, a.text] for a in task.answers
            ],
            "assigned": [[a.reviewer_id, to_db_time(a.until)] for a in task.assignments],
            "gold": task.gold,
            "consensus": task.consensus,
            "agreement": task.agreement,
            "run": task.run_id,
            "batch": task.batch_id,
            "dedupe": task.dedupe,
        },
        separators=(",", ":"),
    )


def task_from_json(task_id: str, tenant_id: str, status: str, version: int, text: str) -> ReviewTask:
    raw = json.loads(text)
    kind, label, candidates, allow_text = raw["q"]
    return ReviewTask(
        id=task_id,
        tenant_id=tenant_id,
        asset_id=raw["asset"],
        question=Question(QuestionKind(kind), label, tuple(candidates), bool(allow_text)),
        reason=TaskReason(raw["reason"]),
        created_at=_time(raw["created"]),
        required=int(raw["required"]),
        status=TaskStatus(status),
        answers=tuple(
            Answer(r, _time(at), Verdict(v) if v else None, c, t) for r, at, v, c, t in raw["answers"]
        ),
        assignments=tuple(Assignment(r, _time(until)) for r, until in raw["assigned"]),
        gold=raw["gold"],
        consensus=raw["consensus"],
        agreement=raw["agreement"],
        run_id=raw["run"],
        batch_id=raw["batch"],
        version=version,
        dedupe=raw["dedupe"],
    )


def rules_json(rules: ReviewRules) -> str:
    data: dict[str, Any] = {
        name: getattr(rules, name) for name in ReviewRules.__dataclass_fields__ if name not in ("band",)
    }
    data["band"] = list(rules.band) if rules.band is not None else None
    data["watched_labels"] = list(rules.watched_labels)
    return json.dumps(data)


def rules_from_json(text: str | None) -> ReviewRules:
    if not text:
        return ReviewRules()
    raw = json.loads(text)
    known = {k: v for k, v in raw.items() if k in ReviewRules.__dataclass_fields__}
    if known.get("band") is not None:
        known["band"] = (float(known["band"][0]), float(known["band"][1]))
    known["watched_labels"] = tuple(known.get("watched_labels", ()))
    return ReviewRules(**known)


def reviewer_stats_json(r: Reviewer) -> str:
    return json.dumps(
        {
            "paused": r.paused,
            "rating": r.rating,
            "accuracy": r.accuracy,
            "agreement": r.agreement,
            "answered": r.answered,
            "gold_answered": r.gold_answered,
            "skill": r.skill,
            "ipm": r.items_per_minute,
        }
    )


def reviewer_from_row(
    reviewer_id: str, tenant_id: str, name: str, key_id: str, created: str, stats: str
) -> Reviewer:
    raw = json.loads(stats) if stats else {}
    return Reviewer(
        id=reviewer_id,
        tenant_id=tenant_id,
        name=name,
        key_id=key_id,
        created_at=_time(created),
        paused=bool(raw.get("paused", False)),
        rating=raw.get("rating"),
        accuracy=raw.get("accuracy"),
        agreement=raw.get("agreement"),
        answered=int(raw.get("answered", 0)),
        gold_answered=int(raw.get("gold_answered", 0)),
        skill=float(raw.get("skill", 0.7)),
        items_per_minute=raw.get("ipm"),
    )
