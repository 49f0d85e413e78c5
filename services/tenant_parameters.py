"""`tenant configure --param`: a tenant's own settings of its analyzers, checked against the settings the
analyzers have (with the tenant's providers), like a reprocess batch's parameters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from catalog.domain.model import TenantConfig
from indexer.analyzers import IMAGE_ANALYZERS, AnalyzerRegistry, UnknownAnalyzerError
from services.reprocessing.requests import Scalar, resolve_parameters

CLEAR_ALL = "none"
CLEAR_ONE = "default"


class ParameterError(ValueError):
    """A --param the tenant's analyzers cannot take (the message says what they take)."""


@dataclass(frozen=True)
class AnalyzerSettings:
    """Each image analyzer's settings and defaults, from the provider the tenant uses for it; `missing`:
    analyzers whose provider this server does not offer (so their settings cannot be checked here)."""

    settings: dict[str, dict[str, Scalar]]
    missing: dict[str, str]  # analyzer -> provider

    @classmethod
    def of(
        cls, analyzers: AnalyzerRegistry, server_providers: Mapping[str, str], config: TenantConfig
    ) -> AnalyzerSettings:
        providers = {**server_providers, **config.providers}
        settings: dict[str, dict[str, Scalar]] = {}
        missing: dict[str, str] = {}
        for name in IMAGE_ANALYZERS:
            provider = providers.get(name, "local")
            try:
                settings[name] = dict(analyzers.get(name, provider).defaults)
            except UnknownAnalyzerError:
                missing[name] = provider
        return cls(settings, missing)


def configured_parameters(
    current: Mapping[str, Mapping[str, Scalar]], pairs: Sequence[str], known: AnalyzerSettings
) -> dict[str, dict[str, Scalar]]:
    """The tenant's parameters with the pairs applied in order: KEY=VALUE sets (KEY: ANALYZER.SETTING, or a
    SETTING alone for every analyzer that has it), KEY=default clears, `none` clears all."""
    out = {analyzer: dict(values) for analyzer, values in current.items()}
    for pair in pairs:
        if pair.strip() == CLEAR_ALL:
            out = {}
            continue
        key, sep, value = (part.strip() for part in pair.partition("="))
        if not sep or not key:
            raise ParameterError(
                f"--param {pair!r}: expected ANALYZER.SETTING=VALUE, e.g. text.thorough=true"
            )
        if value == CLEAR_ONE:
            analyzer, _, setting = key.rpartition(".")
            for values in [out.get(analyzer, {})] if analyzer else list(out.values()):
                values.pop(setting, None)
            continue
        try:
            resolved = cast(dict[str, dict[str, Scalar]], resolve_parameters(known.settings, {key: value}))
        except ValueError as exc:  # ReprocessError: an unknown setting, or a value not of its type
            elsewhere = ", ".join(f"{a} ({p})" for a, p in known.missing.items())
            note = f" (not checkable here: this server does not offer the provider of {elsewhere})"
            raise ParameterError(f"{exc}{note if elsewhere else ''}") from exc
        for analyzer, values in resolved.items():
            out.setdefault(analyzer, {}).update(values)
    return {analyzer: values for analyzer, values in out.items() if values}


def describe(parameters: Mapping[str, Mapping[str, Scalar]]) -> str:
    pairs = [
        f"{analyzer}.{k}={str(v).lower() if isinstance(v, bool) else v}"
        for analyzer, values in sorted(parameters.items())
        for k, v in values.items()
    ]
    return ", ".join(pairs) or "the analyzers' defaults"
