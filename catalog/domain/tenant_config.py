"""A tenant's configuration as the JSON both catalogs keep it in (one encoding, so they cannot drift)."""

from __future__ import annotations

import json

from catalog.domain.export_profile import profile_from_json, profile_json
from catalog.domain.model import TenantConfig


def config_text(config: TenantConfig) -> str:
    return json.dumps(
        {
            "analyzers": list(config.analyzers) if config.analyzers is not None else None,
            "providers": config.providers,
            "synonyms": [list(group) for group in config.synonyms],
            "export_profiles": [profile_json(p) for p in config.export_profiles],
            "parameters": config.parameters,
        }
    )


def config_from_text(text: str) -> TenantConfig:
    raw = json.loads(text)
    return TenantConfig(
        analyzers=tuple(raw["analyzers"]) if raw.get("analyzers") is not None else None,
        providers=dict(raw.get("providers", {})),
        synonyms=tuple(tuple(group) for group in raw.get("synonyms", [])),
        export_profiles=tuple(profile_from_json(p) for p in raw.get("export_profiles", [])),
        parameters={analyzer: dict(settings) for analyzer, settings in raw.get("parameters", {}).items()},
    )
