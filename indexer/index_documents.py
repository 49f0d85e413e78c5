"""The index documents the search index should hold, made from the catalog (the truth): each asset's
current results, the names of the persons its faces show, and its version tree's root."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from catalog.domain.metadata import index_document
from catalog.domain.model import Asset, RecognitionResult
from catalog.domain.ports import CatalogStore, FaceCollection, IndexDocument
from services.versions import root_id


class IndexDocuments:
    def __init__(self, catalog: CatalogStore, faces: FaceCollection) -> None:
        self._catalog = catalog
        self._faces = faces

    async def of(self, assets: Sequence[Asset]) -> list[IndexDocument]:
        """Each asset's index document (of any tenants), with a few batched catalog reads per tenant."""
        by_tenant: dict[str, list[str]] = {}
        for asset in assets:
            by_tenant.setdefault(asset.tenant_id, []).append(asset.id)
        results: dict[tuple[str, str], dict[str, RecognitionResult]] = {}
        names: dict[tuple[str, str], list[str]] = {}
        for tenant, ids in by_tenant.items():
            for asset_id, found in (await self._catalog.get_results(tenant, ids)).items():
                results[tenant, asset_id] = found
            # Only assets with faces can show named persons: skip the face-collection lookup otherwise.
            with_faces = [
                i
                for i in ids
                if (r := results.get((tenant, i))) and "faces" in r and r["faces"].findings.faces
            ]
            for asset_id, persons in (await self.person_names(tenant, with_faces)).items():
                names[tenant, asset_id] = persons
        roots = await asyncio.gather(*(root_id(self._catalog, a) for a in assets))
        return [
            index_document(a, results.get((a.tenant_id, a.id), {}), names.get((a.tenant_id, a.id), []), root)
            for a, root in zip(assets, roots, strict=True)
        ]

    async def person_names(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[str, list[str]]:
        """Names of the persons whose faces each asset shows, in face order (assets without: absent)."""
        if not asset_ids:
            return {}
        linked = await self._faces.face_persons(tenant_id, asset_ids)
        if not linked:
            return {}
        persons = await self._faces.persons(tenant_id, list(dict.fromkeys(linked.values())))
        out: dict[str, list[str]] = {}
        for face, pid in sorted(linked.items(), key=lambda kv: (kv[0].asset_id, kv[0].face_index)):
            out.setdefault(face.asset_id, []).append(persons[pid].name)
        return out
