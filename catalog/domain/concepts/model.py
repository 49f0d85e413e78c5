"""Custom concepts as the domain sees them: frozen dataclasses and pure rules, no I/O."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

ANALYZER_PREFIX = "concept:"  # a concept runs as the analyzer "concept:<name>"
MIN_POSITIVES = 5  # fewer positive examples than this cannot be trained
MAX_NAME = 64
MAX_TERMS = 20  # parents, and synonyms, per concept
MAX_EXAMPLES = 5_000  # per concept
MAX_IN_REVIEW = 500  # assets sent to human review whose answers are not collected yet
_NAME = re.compile(r"^[\w][\w .'&()/-]*$")


class ConceptError(ValueError):
    """A refused concept request; `code` says which kind (the API's error codes)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # INVALID_NAME | EXISTS | NOT_FOUND | TOO_FEW_EXAMPLES | NOT_TRAINED | ...


class ExampleSource(enum.StrEnum):
    MANUAL = "manual"  # named by asset ID
    SEARCH = "search"  # every hit of a search (positivesFrom)
    REVIEW = "review"  # a human review answer
    UPLOAD = "upload"  # an upload that exists only to teach the concept


class VersionStatus(enum.StrEnum):
    TRAINING = "training"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class ConceptExample:
    asset_id: str
    positive: bool
    source: ExampleSource
    added_at: datetime


@dataclass(frozen=True)
class ProbeMetrics:
    """Cross-validated quality of one training, at the threshold with the best F1 (as Rekognition Custom
    Labels reports it). Precision, recall, F1 and threshold are 0–1."""

    precision: float
    recall: float
    f1: float
    threshold: float
    positives: int
    negatives: int  # the examples named negative plus the tenant's other assets drawn as background
    folds: int
    train_ms: float


@dataclass(frozen=True)
class ProbeWeights:
    """A linear probe over L2-normalised features: p = sigmoid(scale * (coef . x + intercept) + offset).
    `coef` is float32 little-endian bytes; scale and offset calibrate the balanced probe's margins."""

    coef: bytes
    intercept: float
    scale: float
    offset: float


@dataclass(frozen=True)
class ConceptVersion:
    """One training of a concept: immutable once READY or FAILED."""

    tenant_id: str
    concept_id: str
    number: int  # 1, 2, ...
    status: VersionStatus
    feature_model: str  # the feature vectors it was trained on (and can score)
    created_at: datetime
    finished_at: datetime | None = None
    metrics: ProbeMetrics | None = None
    weights: ProbeWeights | None = None
    error: str = ""
    scored: bool = False  # its score of every vector stored when it was trained is kept (ConceptScoreStore)
    # the asset ID up to which every stored vector is scored (vectors of later IDs were stored after, or were
    # not settled when it scored: a catch-up scores from here); "" with `scored`: not known, from the start
    scored_through: str = ""

    def weights_or_raise(self) -> ProbeWeights:
        if self.weights is None:
            raise ConceptError("NOT_TRAINED", f"version {self.number} has no trained probe ({self.status})")
        return self.weights


@dataclass(frozen=True)
class Concept:
    id: str
    tenant_id: str
    name: str
    parents: tuple[str, ...]
    synonyms: tuple[str, ...]
    created_at: datetime
    active_version: int | None = None  # the version that runs at indexing (None: not activated yet)
    versions: int = 0  # how many trainings were started
    in_review: tuple[str, ...] = ()  # assets sent to human review as verify tasks, answers not collected yet

    @property
    def analyzer(self) -> str:
        return analyzer_name(self.name)


def analyzer_name(concept_name: str) -> str:
    return ANALYZER_PREFIX + concept_name


def concept_of(analyzer: str) -> str | None:
    """The concept name of a `concept:<name>` analyzer, else None."""
    return analyzer[len(ANALYZER_PREFIX) :] if analyzer.startswith(ANALYZER_PREFIX) else None


def clean_name(name: str) -> str:
    """A concept (or parent, synonym) name, whitespace folded; ConceptError when it cannot be one."""
    clean = " ".join(name.split())
    if not clean or len(clean) > MAX_NAME or not _NAME.match(clean):
        raise ConceptError(
            "INVALID_NAME",
            f"{name!r} cannot name a concept: 1-{MAX_NAME} letters, digits, spaces and . ' & ( ) / - _",
        )
    return clean


def clean_terms(terms: tuple[str, ...] | list[str], what: str) -> tuple[str, ...]:
    if len(terms) > MAX_TERMS:
        raise ConceptError("TOO_MANY", f"at most {MAX_TERMS} {what}")
    return tuple(dict.fromkeys(clean_name(t) for t in terms))


def too_few_positives(count: int) -> ConceptError:
    return ConceptError(
        "TOO_FEW_EXAMPLES",
        f"a concept needs at least {MIN_POSITIVES} positive examples to train; it has {count}: "
        f"add {MIN_POSITIVES - count} more",
    )
