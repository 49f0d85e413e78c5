"""Per-request GraphQL context: the caller's tenant, the services, and request-scoped DataLoaders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from strawberry.dataloader import DataLoader

from api.service_ports import ApiServices
from catalog.domain.model import ALL_SCOPES, Asset, Person, RecognitionResult, Scope

Results = dict[str, RecognitionResult]
MAX_RUNS = 100  # runs per asset a request reads


@dataclass
class Context:
    services: ApiServices
    tenant_id: str
    scopes: tuple[Scope, ...] = ALL_SCOPES
    base_url: str = ""
    key_id: str = ""  # the caller's API key (a reviewer is found by it)
    assets: DataLoader[str, Asset | None] = field(init=False)
    results: DataLoader[str, Results] = field(init=False)
    face_persons: DataLoader[str, dict[int, Person]] = field(init=False)
    children: DataLoader[str, list[Asset]] = field(init=False)
    runs: DataLoader[tuple[str, str | None, datetime | None], list[RecognitionResult]] = field(init=False)
    _results_as_of: dict[datetime, DataLoader[str, Results]] = field(init=False, default_factory=dict)

    def results_at(self, as_of: datetime | None) -> DataLoader[str, Results]:
        """Current results, or the results as they stood at `as_of` (one loader per instant)."""
        if as_of is None:
            return self.results
        if as_of not in self._results_as_of:
            catalog, tenant = self.services.catalog, self.tenant_id

            async def load(ids: Sequence[str]) -> list[Results]:
                found = await catalog.get_results(tenant, ids, as_of=as_of)
                return [found.get(i, {}) for i in ids]

            self._results_as_of[as_of] = DataLoader(load_fn=load)
        return self._results_as_of[as_of]

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

        async def load_runs(
            keys: Sequence[tuple[str, str | None, datetime | None]],
        ) -> list[list[RecognitionResult]]:
            groups: dict[tuple[str | None, datetime | None], list[str]] = {}
            for asset_id, analyzer, as_of in keys:
                groups.setdefault((analyzer, as_of), []).append(asset_id)
            found = {
                group: await catalog.runs_of(tenant, ids, group[0], limit=MAX_RUNS, finished_by=group[1])
                for group, ids in groups.items()
            }
            return [found[analyzer, as_of].get(asset_id, []) for asset_id, analyzer, as_of in keys]

        self.assets = DataLoader(load_fn=load_assets)
        self.runs = DataLoader(load_fn=load_runs)
        self.children = DataLoader(load_fn=load_children)
        self.results = DataLoader(load_fn=load_results)
        self.face_persons = DataLoader(load_fn=load_face_persons)
