"""Per-request GraphQL context: the caller's tenant, the services, and request-scoped DataLoaders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from strawberry.dataloader import DataLoader

from catalog.model import ALL_SCOPES, Asset, Person, RecognitionResult, Scope
from mediasight.bootstrap import Services

Results = dict[str, RecognitionResult]


@dataclass
class Context:
    services: Services
    tenant_id: str
    scopes: tuple[Scope, ...] = ALL_SCOPES
    base_url: str = ""
    assets: DataLoader[str, Asset | None] = field(init=False)
    results: DataLoader[str, Results] = field(init=False)
    face_persons: DataLoader[str, dict[int, Person]] = field(init=False)
    children: DataLoader[str, list[Asset]] = field(init=False)

    def __post_init__(self) -> None:
        # Loaders close over the tenant: one batched, tenant-scoped call per field per request.
        catalog, faces, tenant = self.services.catalog, self.services.faces, self.tenant_id

        async def load_assets(ids: Sequence[str]) -> list[Asset | None]:
            found = await catalog.get_assets(tenant, ids)
            return [found.get(i) for i in ids]

        async def load_results(ids: Sequence[str]) -> list[Results]:
            found = await catalog.get_results(tenant, ids)
            return [found.get(i, {}) for i in ids]

        async def load_face_persons(ids: Sequence[str]) -> list[dict[int, Person]]:
            linked = await faces.face_persons(tenant, ids)
            persons = await faces.persons(tenant, list(linked.values()))
            out: dict[str, dict[int, Person]] = {}
            for ref, person_id in linked.items():
                if person_id in persons:
                    out.setdefault(ref.asset_id, {})[ref.face_index] = persons[person_id]
            return [out.get(i, {}) for i in ids]

        async def load_children(ids: Sequence[str]) -> list[list[Asset]]:
            found = await catalog.get_children(tenant, ids)
            return [found.get(i, []) for i in ids]

        self.assets = DataLoader(load_fn=load_assets)
        self.children = DataLoader(load_fn=load_children)
        self.results = DataLoader(load_fn=load_results)
        self.face_persons = DataLoader(load_fn=load_face_persons)
