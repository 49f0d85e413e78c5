"""The Amazon Rekognition provider: its analyzers over one aiobotocore client (entered once, closed with
the services), and the tenants' face collections its "faces" analyzer indexes into (IndexFaces instead of
DetectFaces, so faces named, matched and searched by photo work on Rekognition). mediasight/providers.py
registers it."""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import Any

from catalog.domain.blob_keys import parse_original_key
from catalog.domain.ports import CatalogStore
from indexer.cpu import CpuPool
from indexer.recognizers.ports import Analyzer, ProviderParts
from indexer.recognizers.rekognition import analyzer as rk
from indexer.recognizers.rekognition.analyzer import OriginalInfo
from indexer.recognizers.rekognition.face_indexer import RekognitionFaceIndexer, asset_of_original
from indexer.recognizers.rekognition.faces import RekognitionFaceCollections

PROVIDER = rk.PROVIDER


@dataclass(frozen=True)
class RekognitionConfig:
    region: str
    endpoint_url: str | None
    tps: float  # every operation has its own token bucket at this rate
    collection_prefix: str  # face collections are named this + the tenant ID
    label_min_confidence: float
    label_max_labels: int
    # Originals go to Rekognition as S3Object (no upload from us) when blob keys are the object keys in this
    # bucket; None: the analyzers send the preview's bytes.
    s3_bucket: str | None


async def open_rekognition(
    config: RekognitionConfig, catalog: CatalogStore, cpu: CpuPool, stack: contextlib.AsyncExitStack
) -> ProviderParts:
    """The provider over a client entered on `stack` (closed with it)."""
    import aioboto3
    from botocore.config import Config

    client = await stack.enter_async_context(
        aioboto3.Session().client(
            "rekognition",
            region_name=config.region,
            endpoint_url=config.endpoint_url,
            # Our own token buckets and jittered retries govern; botocore's would multiply them.
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=30),
        )
    )
    return rekognition_parts(config, client, catalog, cpu)


def rekognition_parts(
    config: RekognitionConfig,
    client: Any,  # an entered aiobotocore Rekognition client
    catalog: CatalogStore,
    cpu: CpuPool,
) -> ProviderParts:
    """The analyzers and face collections over an entered client (tests pass a stubbed one)."""
    s3_bucket = config.s3_bucket
    lookup = functools.partial(original_info, catalog) if s3_bucket else None
    buckets = rk.make_buckets(dict.fromkeys(rk.DEFAULT_TPS, config.tps))
    label_defaults = {"min_confidence": config.label_min_confidence, "max_labels": config.label_max_labels}
    factories = rk.rekognition_factories(
        client,
        s3_bucket=s3_bucket,
        original_info=lookup,
        buckets=buckets,
        cpu=cpu,
        defaults={"labels": label_defaults},
    )
    collections = RekognitionFaceCollections(
        client, prefix=config.collection_prefix, buckets=buckets, cpu=cpu
    )
    asset_of = asset_of_original(catalog)

    def faces() -> Analyzer:
        return RekognitionFaceIndexer(
            client,
            collections,
            asset_of,
            s3_bucket=s3_bucket,
            original_info=lookup,
            buckets=buckets,
            cpu=cpu,
        )

    factories[("faces", PROVIDER)] = faces
    return ProviderParts(factories, collections)


async def original_info(catalog: CatalogStore, key: str) -> OriginalInfo | None:
    """Size, dimensions and type of the original stored under a content-addressed key, from the catalog."""
    parsed = parse_original_key(key)
    asset = await catalog.find_asset_by_sha256(*parsed) if parsed else None
    if asset is None:
        return None
    return OriginalInfo(asset.size_bytes, asset.width, asset.height, asset.media_type, asset.orientation)
