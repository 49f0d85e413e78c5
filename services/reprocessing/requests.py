"""What a reprocess batch is asked to run: the request, its typed refusal, the analyzers' parameters it
sets (checked against their settings) and the analyzers it runs for a tenant."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from catalog.domain.concepts.model import concept_of
from catalog.domain.model import ReprocessBatch
from catalog.domain.model_census import EMBEDDING
from indexer.analyzers import IMAGE_ANALYZERS, AnalyzerChoice

Scalar = float | int | str | bool


class ReprocessError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # UNKNOWN_ANALYZER | UNKNOWN_PARAMETER | ... (ReprocessErrorCode); FAILED: resume


def batch_choice(tenant: AnalyzerChoice, batch: ReprocessBatch) -> AnalyzerChoice:
    """The tenant's analyzers and providers, narrowed and overridden by the batch. A concept is scored from
    stored features, and the embedding is made from the current metadata: neither has a provider."""
    names = batch.analyzers or tenant.analyzers
    providers = {n: batch.provider or tenant.provider_of(n) for n in names if n in IMAGE_ANALYZERS}
    concepts = tuple(n for n in names if concept_of(n) is not None)
    embedding = (EMBEDDING,) if EMBEDDING in names else ()
    chosen = (*(n for n in IMAGE_ANALYZERS if n in names), *embedding, *concepts)
    return AnalyzerChoice(chosen, providers, tenant.parameters)


def _coerce(default: Scalar, value: object, name: str) -> Scalar:
    """A parameter value in its default's type (values from the CLI arrive as text)."""
    try:
        if isinstance(default, bool):
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            if isinstance(value, bool):
                return value
            raise ValueError(value)
        if isinstance(default, int) and not isinstance(value, bool):
            number = float(value)  # type: ignore[arg-type]
            if not number.is_integer():
                raise ValueError(value)
            return int(number)
        if isinstance(default, float) and not isinstance(value, bool):
            return float(value)  # type: ignore[arg-type]
        if isinstance(default, str) and isinstance(value, str):
            return value
    except (TypeError, ValueError):
        pass
    raise ReprocessError(
        "INVALID_PARAMETER", f"parameter {name!r} needs {_KINDS[type(default)]}, got {value!r}"
    )


_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
# What the analyzers accept, checked here so a bad value is refused when asked for: in the worker it failed
# every asset of the batch (or every new asset of a tenant), each after its retries. Confidences: 0–100.
_BOUNDS: dict[str, tuple[float, float]] = {
    "upsample": (0, 2),
    "person_upsample": (0, 2),
    "max_labels": (1, 1000),
}


def _in_range(setting: str, value: Scalar, name: str) -> Scalar:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    low, high = (
        (0.0, 100.0) if setting.endswith("confidence") else _BOUNDS.get(setting, (-math.inf, math.inf))
    )
    if not (math.isfinite(value) and low <= value <= high):
        span = f"{low:g} to {high:g}" if math.isfinite(high) else "a finite number"
        raise ReprocessError("INVALID_PARAMETER", f"parameter {name!r} must be {span}, got {value!r}")
    return value


def resolve_parameters(
    settings: Mapping[str, Mapping[str, Scalar]], raw: Mapping[str, object]
) -> dict[str, dict[str, object]]:
    """Map user parameters onto the analyzers' settings.

    `min_confidence` applies to every chosen analyzer that has that setting; `labels.min_confidence`
    to one. A key that no chosen analyzer knows is refused with the keys that exist.
    """
    out: dict[str, dict[str, object]] = {}
    for key, value in raw.items():
        analyzer, _, setting = key.rpartition(".")
        targets = [analyzer] if analyzer else [a for a, known in settings.items() if setting in known]
        if analyzer and (analyzer not in settings or setting not in settings[analyzer]):
            targets = []
        if not targets:
            known = sorted(f"{a}.{k}" for a, ks in settings.items() for k in ks)
            raise ReprocessError(
                "UNKNOWN_PARAMETER",
                f"unknown setting {key!r}: the analyzers have {', '.join(known) or 'no settings'}",
            )
        for target in targets:
            coerced = _coerce(settings[target][setting], value, key)
            out.setdefault(target, {})[setting] = _in_range(setting, coerced, key)
    return out


@dataclass(frozen=True)
class ReprocessRequest:
    # empty: the tenant's analyzers (with outdated: and its embedding and active concepts)
    analyzers: tuple[str, ...] = ()
    provider: str | None = None
    parameters: Mapping[str, object] | None = None
    # only assets whose current run of a chosen analyzer an older model made (than the one it would use now)
    outdated: bool = False
