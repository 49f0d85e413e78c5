"""Per-request GraphQL context: the caller's tenant, the services, and request-scoped DataLoaders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from strawberry.dataloader import DataLoader

from catalog.model import Asset, Label
from mediasight.bootstrap import Services


@dataclass
class Context:
    services: Services
    tenant_id: str
    base_url: str = ""
    assets: DataLoader[str, Asset | None] = field(init=False)
    labels: DataLoader[str, tuple[Label, ...]] = field(init=False)

    def __post_init__(self) -> None:
        # Loaders close over the tenant: one batched, tenant-scoped catalog call per field per request.
        catalog, tenant = self.services.catalog, self.tenant_id

        async def load_assets(ids: Sequence[str]) -> list[Asset | None]:
            found = await catalog.get_assets(tenant, ids)
            return [found.get(i) for i in ids]

        async def load_labels(ids: Sequence[str]) -> list[tuple[Label, ...]]:
            found = await catalog.get_labels(tenant, ids)
            return [found.get(i, ()) for i in ids]

        self.assets = DataLoader(load_fn=load_assets)
        self.labels = DataLoader(load_fn=load_labels)
