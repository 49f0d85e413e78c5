"""Concepts and their versions as JSON records: one codec for every catalog adapter."""

from __future__ import annotations

import base64
import json
from typing import Any

from catalog.domain.clock import from_db_time, to_db_time
from catalog.domain.concepts.model import (
    Concept,
    ConceptVersion,
    ProbeMetrics,
    ProbeWeights,
    VersionStatus,
)


def concept_json(c: Concept) -> str:
    return json.dumps(
        {
            "id": c.id,
            "tenant_id": c.tenant_id,
            "name": c.name,
            "parents": list(c.parents),
            "synonyms": list(c.synonyms),
            "created_at": to_db_time(c.created_at),
            "active_version": c.active_version,
            "versions": c.versions,
            "in_review": list(c.in_review),
        }
    )


def concept_from_json(raw: str) -> Concept:
    d: dict[str, Any] = json.loads(raw)
    created = from_db_time(d["created_at"])
    assert created is not None
    return Concept(
        id=d["id"],
        tenant_id=d["tenant_id"],
        name=d["name"],
        parents=tuple(d["parents"]),
        synonyms=tuple(d["synonyms"]),
        created_at=created,
        active_version=d["active_version"],
        versions=d["versions"],
        in_review=tuple(d.get("in_review", ())),
    )


def version_json(v: ConceptVersion) -> str:
    m, w = v.metrics, v.weights
    return json.dumps(
        {
            "tenant_id": v.tenant_id,
            "concept_id": v.concept_id,
            "number": v.number,
            "status": v.status.value,
            "feature_model": v.feature_model,
            "created_at": to_db_time(v.created_at),
            "finished_at": to_db_time(v.finished_at),
            "metrics": None if m is None else m.__dict__,
            "weights": None
            if w is None
            else {
                "coef": base64.b64encode(w.coef).decode(),
                "intercept": w.intercept,
                "scale": w.scale,
                "offset": w.offset,
            },
            "error": v.error,
            "scored": v.scored,
            "scored_through": v.scored_through,
        }
    )


def version_from_json(raw: str) -> ConceptVersion:
    d: dict[str, Any] = json.loads(raw)
    created = from_db_time(d["created_at"])
    assert created is not None
    w = d["weights"]
    return ConceptVersion(
        tenant_id=d["tenant_id"],
        concept_id=d["concept_id"],
        number=d["number"],
        status=VersionStatus(d["status"]),
        feature_model=d["feature_model"],
        created_at=created,
        finished_at=from_db_time(d["finished_at"]),
        metrics=None if d["metrics"] is None else ProbeMetrics(**d["metrics"]),
        weights=None
        if w is None
        else ProbeWeights(base64.b64decode(w["coef"]), w["intercept"], w["scale"], w["offset"]),
        error=d["error"],
        scored=d.get("scored", False),  # versions trained before scores were kept
        scored_through=d.get("scored_through", ""),  # and before the catch-up point was
    )
