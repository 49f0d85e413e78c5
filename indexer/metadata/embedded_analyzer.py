"""The "embedded" analyzer: reads the metadata that came with the original (and its .xmp sidecar, if one was
ingested with it) into a run with provenance `embedded`. Metadata that cannot be read is recorded as the
run's problem, never a failed asset: the picture itself is fine."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from catalog.domain.blob_keys import sidecar_key
from catalog.domain.embedded import EMBEDDED, EmbeddedMetadata
from catalog.domain.model import Findings
from catalog.domain.ports import BlobStore
from indexer.cpu import CpuPool
from indexer.metadata.exiv2_metadata import Exiv2Metadata
from indexer.metadata.exiv2_sandbox import MetadataError
from indexer.recognizers.ports import AnalysisInput

log = logging.getLogger(__name__)


class EmbeddedMetadataAnalyzer:
    name = EMBEDDED
    provider = EMBEDDED  # provenance: the file said so (not a model)
    model_name = "exiv2"
    defaults: Mapping[str, float | int | str | bool] = {}

    def __init__(self, exiv2: Exiv2Metadata, blobs: BlobStore, cpu: CpuPool, version: str) -> None:
        self._exiv2 = exiv2
        self._blobs = blobs
        self._cpu = cpu
        self.model_version = version

    async def analyze(self, item: AnalysisInput, params: Mapping[str, Any]) -> Findings:
        original = await self._blobs.get(item.original_key)
        key = sidecar_key(item.original_key)
        sidecar = await self._blobs.get(key) if await self._blobs.exists(key) else None
        width, height = item.original_size
        try:
            meta = await self._cpu.run(self._read, original, sidecar, width, height)
        except MetadataError as exc:
            log.warning("embedded metadata of %s not read: %s", item.original_key, exc)
            meta = EmbeddedMetadata(problem=str(exc))
        return Findings(embedded=meta)

    def _read(self, data: bytes, sidecar: bytes | None, width: int, height: int) -> EmbeddedMetadata:
        return self._exiv2.read(data, sidecar=sidecar, width=width, height=height)
