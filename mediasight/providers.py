"""The recognizer providers this server knows, in one registry: each maps the settings onto its own
configuration and opens itself. Adding a provider: its folder under indexer/recognizers/ (a provider
module returning ProviderParts), an entry here, and its settings in mediasight/settings.py."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from catalog.domain.ports import CatalogStore
from indexer.cpu import CpuPool
from indexer.recognizers.ports import LabelModel, ProviderParts
from mediasight.settings import Settings

if TYPE_CHECKING:
    from indexer.recognizers.rekognition.provider import RekognitionConfig


@dataclass(frozen=True)
class ProviderDeps:
    """What the composition root lends a provider."""

    catalog: CatalogStore
    cpu: CpuPool
    labeler: LabelModel | None = None  # unit tests: a fake at the label model port


@dataclass(frozen=True)
class ProviderEntry:
    name: str
    # Providers with nothing to set up asynchronously are built with the services ...
    build: Callable[[Settings, ProviderDeps], ProviderParts | None] | None = None
    # ... the others once an event loop runs (cloud clients are entered on the services' exit stack).
    open: (
        Callable[[Settings, ProviderDeps, contextlib.AsyncExitStack], Awaitable[ProviderParts | None]] | None
    ) = None


def _build_local(settings: Settings, deps: ProviderDeps) -> ProviderParts:
    from indexer.recognizers.local.provider import LocalConfig, local_provider

    config = LocalConfig(
        settings.model_dir, settings.label_min_confidence, settings.label_max_labels, settings.label_model
    )
    return local_provider(config, deps.cpu, deps.labeler)


def rekognition_config(settings: Settings) -> RekognitionConfig:
    from indexer.recognizers.rekognition.provider import RekognitionConfig

    s = settings
    # Originals in S3 go to Rekognition as S3Object when the object key is the blob key itself, i.e.
    # without a prefix; otherwise the analyzers send the preview's bytes.
    direct = s.blob_backend == "s3" and not s.s3_prefix
    return RekognitionConfig(
        region=s.aws_region,
        endpoint_url=s.rekognition_endpoint_url,
        tps=s.rekognition_tps,
        collection_prefix=s.rekognition_collection_prefix,
        label_min_confidence=s.label_min_confidence,
        label_max_labels=s.label_max_labels,
        s3_bucket=s.s3_bucket if direct else None,
    )


async def _open_rekognition(
    settings: Settings, deps: ProviderDeps, stack: contextlib.AsyncExitStack
) -> ProviderParts | None:
    if not settings.rekognition:
        return None
    from indexer.recognizers.rekognition.provider import open_rekognition

    return await open_rekognition(rekognition_config(settings), deps.catalog, deps.cpu, stack)


REGISTRY: dict[str, ProviderEntry] = {
    entry.name: entry
    for entry in (
        ProviderEntry("local", build=_build_local),
        ProviderEntry("rekognition", open=_open_rekognition),
    )
}


def provider_names() -> tuple[str, ...]:
    """The names tenants and settings may choose from."""
    return tuple(REGISTRY)
