"""The fingerprint of an index document: equal fingerprints, equal documents (pure functions, no I/O).

Index adapters store it with each document at upsert time; `mediasight verify` compares it with the
fingerprint of the document the catalog gives now, so drift is found without reading documents back in
each engine's own shape.

Canonical form: every field of `IndexDocument` (walked generically, so a new field counts without a
change here) as JSON with sorted keys; numbers (confidences, the embedding) rounded to 4 decimals and
written as whole 10⁻⁴ units (a sequence of numbers, the embedding, as the digest of those units), so a
number that went through another store's number type (DynamoDB decimals, float32, an integral
confidence read back as an int) still matches; dates
as UTC ISO-8601 with microseconds (a naive date is UTC, as the adapters take it); an empty `root_id`
as the asset's own ID (the adapters store it that way). The version prefix changes with the form.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from catalog.domain.ports import IndexDocument

# v2: the words a document is found by leave out its labels under MEANING_MIN_CONFIDENCE
# (ranking.document_words). v3: label names are words of their own, found whole (ranking.label_words).
# v4: the meaning says what the labels are (metadata.label_glosses); `verify --repair` embeds an asset
# again where its meaning changed (metadata.stale_meaning) before reindexing it. v5: the image's tone
# (catalog.domain.tone), measured from the pixels (its description says "black and white photo" by it too).
# v6: parent labels have glosses too (an old street that is only a sure Building is glossed "a structure
# that has a roof and walls"). v7: a model's guess is no label facet value (ranking.facet_labels); OpenSearch
# documents carry their facet labels at the confidence a label filter reaches (the embedded index migrates
# its rows in place, schema version 6).
# Every document indexed before a version is stale until `mediasight verify --repair`.
VERSION = "v7"
DECIMALS = 4
_SCALE = 10**DECIMALS
_VECTOR_LIMIT = 1e14  # |x|·10⁴ stays exact in int64 below this
_FIELDS: dict[type, tuple[str, ...]] = {}


def _number(value: float) -> int | str:
    """A number as whole 10⁻⁴ units, rounded half to even (92 and 92.0 alike: a store may give either
    back; -0.0 is 0); NaN and infinities by name."""
    return round(value * _SCALE) if math.isfinite(value) else repr(float(value))


def _numbers(values: Sequence[Any]) -> str | list[Any]:
    """A sequence of numbers (an embedding is most of a document's numbers) as the sha256 of its 10⁻⁴
    units as little-endian int64 — hashing 3 kB beats writing 384 numbers as JSON tenfold."""
    array = np.asarray(values)
    if (
        array.ndim == 1
        and array.dtype.kind in "fi"
        and np.isfinite(array).all()
        and np.abs(array).max() < _VECTOR_LIMIT
    ):
        units = np.rint(array.astype(np.float64) * _SCALE).astype("<i8")  # as _number: half to even
        return "q4:" + hashlib.sha256(units.tobytes()).hexdigest()
    return [_canonical(v) for v in values]


def _fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _canonical(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is float or kind is int:
        return _number(value)
    if kind is tuple or kind is list:
        if value and (type(value[0]) is float or type(value[0]) is int):
            return _numbers(value)
        return [_canonical(v) for v in value]
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="microseconds")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: _canonical(getattr(value, name)) for name in _fields(type(value))}
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [_canonical(v) for v in value]
    return _number(float(value))  # numpy scalars and the like


def canonical_json(doc: IndexDocument) -> str:
    fields = _canonical(doc)
    fields["root_id"] = doc.root_id or doc.asset_id
    if doc.duration is None:  # added after the v1 form: an image's document keeps its fingerprint
        del fields["duration"]
    if not doc.training_example:  # added later still: an archive's document keeps its fingerprint
        del fields["training_example"]
    if not doc.tone:  # unmeasured (a video): as before the field
        del fields["tone"]
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def document_fingerprint(doc: IndexDocument) -> str:
    """sha256 (hex) of the document's canonical JSON, prefixed with the form's version."""
    digest = hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()
    return f"{VERSION}:{digest}"
