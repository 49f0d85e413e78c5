"""The "faces" analyzer on Amazon Rekognition with face search: IndexFaces into the tenant's collection
(rekognition_faces), MaxFaces and QualityFilter (AUTO by default) as analyzer parameters. Its findings are
IndexFaces' faces, so each FaceId is stored with the face it belongs to and face_index lines up by
construction (no matching of boxes between two calls).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from catalog.domain.blob_keys import parse_original_key
from catalog.domain.model import Findings
from catalog.domain.ports import CatalogStore
from indexer.recognizers.ports import AnalysisInput, AnalyzerInputError
from indexer.recognizers.rekognition import mapping as m
from indexer.recognizers.rekognition.analyzer import (
    Operation,
    RekognitionAnalyzer,
    Scalar,
    param_number,
)
from indexer.recognizers.rekognition.faces import RekognitionFaceCollections
from indexer.recognizers.rekognition.rate_limit import TokenBucket

# one logger for Rekognition's face collections and this analyzer (they were one module)
log = logging.getLogger("indexer.recognizers.rekognition.faces")

QUALITY_FILTERS = ("NONE", "AUTO", "LOW", "MEDIUM", "HIGH")
INDEX_FACES = Operation(
    "index_faces",
    "IndexFaces",
    "amazon-rekognition-index-faces",
    "FaceModelVersion",
    {"min_confidence": 0.0, "max_faces": 20, "quality_filter": "AUTO"},
)

AssetOf = Callable[[str], Awaitable[tuple[str, str] | None]]  # original's blob key → (tenant ID, asset ID)


def asset_of_original(catalog: CatalogStore) -> AssetOf:
    """(tenant, asset) of a content-addressed original key, from the catalog."""

    async def lookup(key: str) -> tuple[str, str] | None:
        parsed = parse_original_key(key)
        asset = await catalog.find_asset_by_sha256(*parsed) if parsed else None
        return (asset.tenant_id, asset.id) if asset else None

    return lookup


class RekognitionFaceIndexer(RekognitionAnalyzer):
    """The "faces" analyzer on Rekognition with face search: IndexFaces into the tenant's collection.

    The image is the asset's (its original key tells the tenant and asset). Faces indexed but below
    min_confidence are deleted again at once, so every FaceId in the collection belongs to a stored face.
    """

    def __init__(
        self,
        client: Any,
        collections: RekognitionFaceCollections,
        asset_of: AssetOf,
        *,
        buckets: Mapping[str, TokenBucket] | TokenBucket,
        defaults: Mapping[str, Scalar] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__("faces", client, buckets=buckets, defaults=defaults, operation=INDEX_FACES, **kw)
        self._collections = collections
        self._asset_of = asset_of

    def _request(self, p: Mapping[str, Any]) -> dict[str, Any]:
        param_number(p, "min_confidence", 0, 100)
        quality = str(p["quality_filter"]).upper()
        if quality not in QUALITY_FILTERS:
            raise ValueError(f"quality_filter must be one of {', '.join(QUALITY_FILTERS)}, got {quality!r}")
        return {"MaxFaces": int(param_number(p, "max_faces", 1, 100)), "QualityFilter": quality}

    async def _invoke(
        self, item: AnalysisInput, image: dict[str, Any], request: dict[str, Any], p: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        owner = await self._asset_of(item.original_key) if item.original_key else None
        if owner is None:
            raise AnalyzerInputError("cannot index faces: the image is not the stored original of an asset")
        tenant_id, asset_id = owner
        response = await self._collections.index_faces(tenant_id, asset_id, image, **request)
        _, dropped = m.map_indexed_faces(response, min_confidence=float(p["min_confidence"]))
        if dropped:
            try:  # failing the analysis for it would index the faces again: more FaceIds left behind
                await self._collections.delete(tenant_id, dropped)
            except Exception:
                log.warning(
                    "could not delete faces %s of asset %s below min_confidence from the collection",
                    ", ".join(dropped),
                    asset_id,
                    exc_info=True,
                )
        return response

    def _map(self, response: Mapping[str, Any], p: Mapping[str, Any]) -> Findings:
        faces, _ = m.map_indexed_faces(response, min_confidence=float(p["min_confidence"]))
        return Findings(faces=faces)
