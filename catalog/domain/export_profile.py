"""Transformer profiles: a tenant's named mappings for exports (CSV columns, which machine values go out),
and what applying one does to an export record. Pure."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from catalog.domain.export_record import ExportRecord
from catalog.domain.field_names import DEFAULT_LANGUAGE
from catalog.domain.labels.detections import GUESS_BELOW

MAX_PROFILES = 50


@dataclass(frozen=True)
class ExportProfile:
    name: str
    columns: tuple[tuple[str, str], ...] = ()  # CSV (field, header); empty: the default columns
    labels: tuple[str, ...] = ()  # machine labels to keep (case-insensitive); empty: all
    # Machine labels and regions below this are left out: by default the guesses (a model's label under 50,
    # such as a storm's "Airplane Wing 29"), which an archive's keywords should not carry unasked.
    min_confidence: float = GUESS_BELOW
    human_only: bool = False  # leave every machine value out: only what people wrote (files, reviewers)
    language: str = (
        DEFAULT_LANGUAGE  # of the field names: CSV headers, JSON keys (catalog.domain.field_names)
    )


DEFAULT_PROFILE = ExportProfile(name="")  # an export without a profile: everything but the guesses


def apply_profile(record: ExportRecord, profile: ExportProfile | None) -> ExportRecord:
    profile = profile or DEFAULT_PROFILE
    record = dataclasses.replace(record, field_language=profile.language)
    if profile.human_only:
        return dataclasses.replace(
            record, keywords=tuple(k for k in record.keywords if k.by_reviewers), regions=()
        )
    wanted = {n.casefold() for n in profile.labels}
    keywords = tuple(
        k
        for k in record.keywords
        if k.confidence >= profile.min_confidence and (not wanted or k.name.casefold() in wanted)
    )
    regions = tuple(r for r in record.regions if r.confidence >= profile.min_confidence)
    return dataclasses.replace(record, keywords=keywords, regions=regions)


def profile_json(p: ExportProfile) -> dict[str, Any]:
    return {
        "name": p.name,
        "columns": [list(c) for c in p.columns],
        "labels": list(p.labels),
        "min_confidence": p.min_confidence,
        "human_only": p.human_only,
        "language": p.language,
    }


def profile_from_json(d: dict[str, Any]) -> ExportProfile:
    return ExportProfile(
        name=d["name"],
        columns=tuple((f, h) for f, h in d.get("columns", [])),
        labels=tuple(d.get("labels", [])),
        min_confidence=float(d.get("min_confidence", GUESS_BELOW)),
        human_only=bool(d.get("human_only", False)),
        language=str(d.get("language", DEFAULT_LANGUAGE)),
    )
