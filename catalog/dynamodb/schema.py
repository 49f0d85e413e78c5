"""The DynamoDB table shared by the catalog and the face collection: its items, indexes and shards. Key
builders: catalog.dynamodb.keys; attribute values: catalog.dynamodb.values; the request helpers both
adapters use (paginated Query, BatchGetItem, transactions): catalog.dynamodb.requests. Creating and
upgrading the table: catalog.dynamodb.table.

Items (PK / SK), every tenant-owned key starting with the tenant, so scoping is structural:

| item                    | PK                          | SK                   |
|-------------------------|-----------------------------|----------------------|
| tenant                  | TENANT#<tenant>             | TENANT               |
| tenant name (unique)    | TENANTNAME#<name>           | TENANTNAME           |
| api key (by hash)       | KEY#<sha256 of the key>     | KEY                  |
| api key (tenant's list) | TENANT#<tenant>             | APIKEY#<key id>      |
| asset                   | TENANT#<tenant>             | ASSET#<asset id>     |
| asset count (32 shards) | TENANT#<tenant>             | COUNT#ASSETS#<nn>    |
| content hash (unique)   | TENANT#<tenant>             | SHA#<sha256>         |
| version edge            | TENANT#<tenant>             | CHILD#<parent>#<id>  |
| person                  | TENANT#<tenant>             | PERSON#<person id>   |
| person name (unique)    | TENANT#<tenant>             | PERSONNAME#<lower>   |
| recognition result      | TENANT#<tenant>#ASSET#<id>  | RESULT#<analyzer>    |
| perceptual hash         | TENANT#<tenant>#PHASH       | PHASH#<asset id>     |
| face                    | TENANT#<tenant>#FACES       | FACE#<asset>#<index> |

Global secondary indexes (KEYS_ONLY: the adapters re-read the items consistently from the base table):
- `unfinished` (pending, id): sparse; only assets neither indexed nor failed carry `pending`.
- `assets` (shard, id): every asset, for operator tools that walk all tenants in ID order.
- `stages` (stage_key, id): sparse; only assets not INDEXED (the common case) carry `stage_key`
  (TENANT#<tenant>#STAGE#<stage>), so a tenant's failed or in-flight assets are one key range each.
  With the asset count (kept in the transactions that register and delete assets) it makes stage
  counts exact without reading the tenant's assets: INDEXED = count - the other stages.
The version tree uses edge items, not an index: they are written in the same transaction as the child's
parent_id, so an asset's versions read back strongly consistent right after they are linked.
`pending` and `shard` are one of SHARDS values (write sharding: a constant partition key would cap the
whole table's ingest at one index partition's ~1,000 writes/s); readers query every shard and merge by ID.
Changing SHARDS needs a backfill of `shard`/`pending`.
"""

from __future__ import annotations

import zlib

INDEX_UNFINISHED = "unfinished"
INDEX_ASSETS = "assets"
INDEX_STAGES = "stages"
SHARDS = 8


def shard_of(asset_id: str) -> str:
    return f"S{zlib.crc32(asset_id.encode()) % SHARDS}"


ALL_SHARDS = tuple(f"S{i}" for i in range(SHARDS))
