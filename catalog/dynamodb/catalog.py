"""The scale-out catalog: tenants, keys, assets and recognition results in one DynamoDB table.

Why one table (layout in catalog.dynamodb.schema): every access pattern is known and key-shaped (tenant →
assets in ID order, asset → results, hash → asset, key hash → key), so each read is a GetItem, a
BatchGetItem or one key-range Query. The guarantees DynamoDB has no constraint for (unique tenant
names, one asset per tenant and content hash) are guard items written in the same TransactWriteItems as
what they guard. Tenant scoping is structural: every tenant-owned key begins with TENANT#<id>, so another
tenant's IDs address items that do not exist instead of relying on a filter. One table is also one unit
to create (`mediasight init`), grant, back up and bill; the asset and faces adapters share it.

Consistency: base-table reads are strongly consistent. The index walks (`list_assets(None)`,
`unfinished_assets`, `assets_in_stages`) read keys from eventually consistent indexes, then re-read the
items consistently (a just-registered asset may show up a moment later; a finished one is never returned
as unfinished); `stage_counts` counts index entries (catalog.dynamodb.stages).

The adapter is one mixin per concern over catalog.dynamodb.base.DynamoTable: tenants and keys, single
assets, versions, asset listings, stages, run writes, run reads, changes, batches.

Limits to know: results are stored as zlib-compressed JSON (catalog.domain.codec), and an item may not exceed
400 KB; one tenant's assets share a partition key, and UUIDv7 IDs grow, so a single tenant's ingest tops
out around several hundred assets per second (shard the tenant key if one tenant needs more).
"""

from __future__ import annotations

from collections.abc import Sequence

from catalog.domain.model import FeatureVector, RecognitionResult, RunChange, Stage
from catalog.dynamodb.asset_lists import DynamoAssetLists
from catalog.dynamodb.batches import DynamoBatches
from catalog.dynamodb.changes import DynamoChanges
from catalog.dynamodb.concepts import DynamoConcepts
from catalog.dynamodb.run_reads import DynamoRunReads
from catalog.dynamodb.run_writes import DynamoRunWrites
from catalog.dynamodb.stages import DynamoStages
from catalog.dynamodb.table import ensure_table
from catalog.dynamodb.tenant_purge import DynamoTenantPurge
from catalog.dynamodb.tenants import DynamoTenants
from catalog.dynamodb.versions import DynamoVersions
from catalog.dynamodb.webhooks import DynamoWebhooks


class DynamoCatalog(
    DynamoTenants,
    DynamoTenantPurge,
    DynamoWebhooks,
    DynamoVersions,
    DynamoAssetLists,
    DynamoStages,
    DynamoRunWrites,
    DynamoRunReads,
    DynamoChanges,
    DynamoBatches,
    DynamoConcepts,
):
    """CatalogStore on DynamoDB, with an injected aiobotocore client (created once by the bootstrap)."""

    async def ensure_table(self) -> bool:
        """Create the table, or upgrade one an older release made (catalog.dynamodb.table)."""
        return await ensure_table(self._client, self._table)

    async def save_analysis(
        self,
        tenant_id: str,
        asset_id: str,
        results: Sequence[RecognitionResult],
        *,
        features: FeatureVector | None = None,
        stage: Stage | None = None,
    ) -> list[RunChange | None]:
        """See CatalogStore.save_analysis. Each run is its own transaction here (they share the asset's
        items, so they go one after another, as save_result would), then the stage."""
        if features is not None:
            await self.save_features(tenant_id, asset_id, features)
        changes = [await self.save_result(tenant_id, result) for result in results]
        if stage is not None:
            await self.set_stage(tenant_id, asset_id, stage)
        return changes
