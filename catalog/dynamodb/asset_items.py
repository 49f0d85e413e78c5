"""Asset items of the scale-out catalog: their keys, the item ↔ Asset codec, the attributes that place an
asset in the sparse indexes, and the sharded asset count (layout: catalog.dynamodb.schema)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from typing import Any

from catalog.domain.clock import at_recorded_offset, recorded_offset, to_db_time
from catalog.domain.model import Asset, Rendition, Stage, VersionRelation
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.base import opt_time, req_time, time_s
from catalog.dynamodb.schema import shard_of
from catalog.dynamodb.values import Item, num, opt_s, s, to_float, to_int

FINISHED = (Stage.INDEXED, Stage.FAILED)
COUNTED = "counted"  # on an asset item: the asset is in its tenant's asset count
FRAME_TIME = "frame_time"  # on a video's keyframe (never counted: not one of the archive's assets)
CAPTURED_OFFSET = "captured_offset"  # minutes east of UTC the capture time was recorded at (clock.py)
# Items the count is spread over: registrations of one tenant update them in transactions, and two
# transactions on one item at once conflict (one is retried), so each takes a small share of the writes.
COUNT_SHARDS = 32


def asset_key(tenant_id: str, asset_id: str) -> Item:
    return ddb.key(ddb.tenant_pk(tenant_id), ddb.asset_sk(asset_id))


def stage_key(tenant_id: str, stage: Stage) -> str:
    """The `stages` index partition of a tenant's assets in one stage (never INDEXED: see stage_marks)."""
    return f"TENANT#{tenant_id}#STAGE#{stage.value}"


def stage_marks(tenant_id: str, asset_id: str, stage: Stage) -> dict[str, str | None]:
    """The sparse index keys an asset in `stage` carries (None: the attribute is absent)."""
    return {
        "pending": None if stage in FINISHED else shard_of(asset_id),
        "stage_key": None if stage == Stage.INDEXED else stage_key(tenant_id, stage),
    }


def stage_clauses(tenant_id: str, asset_id: str, stage: Stage) -> tuple[list[str], list[str], Item]:
    """SET clauses, attributes to REMOVE and values that give an asset item the marks of `stage`."""
    sets, removes, values = [], [], {}
    for name, value in stage_marks(tenant_id, asset_id, stage).items():
        if value is None:
            removes.append(name)
        else:
            sets.append(f"{name} = :{name}")
            values[f":{name}"] = s(value)
    return sets, removes, values


def count_key(tenant_id: str, shard: int) -> Item:
    return ddb.key(ddb.tenant_pk(tenant_id), f"COUNT#ASSETS#{shard:02d}")


def count_keys(tenant_id: str) -> list[Item]:
    """Every shard of the tenant's asset count (one BatchGetItem: COUNT_SHARDS <= 100)."""
    return [count_key(tenant_id, shard) for shard in range(COUNT_SHARDS)]


def counted(a: Asset) -> bool:
    """Whether the asset is in its tenant's asset count (what stage_counts counts): a video's keyframes
    are not, as they are not listed by stage (they belong to their video)."""
    return not a.is_keyframe


def count_update(table: str, tenant_id: str, asset_id: str, delta: int) -> dict[str, Any]:
    """The Update action that adds `delta` to the asset's shard of its tenant's asset count."""
    return {
        "Update": {
            "TableName": table,
            "Key": count_key(tenant_id, zlib.crc32(asset_id.encode()) % COUNT_SHARDS),
            "UpdateExpression": "ADD n :d",
            "ExpressionAttributeValues": {":d": num(delta)},
        }
    }


def renditions_value(renditions: Sequence[Rendition]) -> dict[str, str]:
    return s(json.dumps([[r.kind, r.blob_key, r.width, r.height, r.media_type] for r in renditions]))


def asset_item(a: Asset) -> Item:
    """A new asset's item, counted unless it is a video's keyframe (register_asset adds it to the count in
    the same transaction)."""
    item: Item = {
        **asset_key(a.tenant_id, a.id),
        "id": s(a.id),
        "tenant_id": s(a.tenant_id),
        "sha256": s(a.sha256),
        "size_bytes": num(a.size_bytes),
        "media_type": s(a.media_type),
        "width": num(a.width),
        "height": num(a.height),
        "filename": s(a.filename),
        "blob_key": s(a.blob_key),
        "created_at": time_s(a.created_at),
        "updated_at": time_s(a.updated_at),
        "status": s(a.status.value),
        "orientation": num(a.orientation),
        "renditions": renditions_value(a.renditions),
        "shard": s(shard_of(a.id)),
    }
    if counted(a):
        item[COUNTED] = {"BOOL": True}
    if a.training_example:  # absent: an asset of the archive
        item["training_example"] = {"BOOL": True}
    optional = {
        **stage_marks(a.tenant_id, a.id, a.status),
        "error": a.error,
        "captured_at": to_db_time(a.captured_at),
        "parent_id": a.parent_id,
        "relation": a.relation.value if a.relation else None,
        "phash": a.phash,
    }
    item.update({name: s(value) for name, value in optional.items() if value is not None})
    if a.frame_time is not None:
        item[FRAME_TIME] = num(a.frame_time)
    if (offset := recorded_offset(a.captured_at)) is not None:
        item[CAPTURED_OFFSET] = num(offset)
    return item


def asset_from_item(item: Item) -> Asset:
    relation = opt_s(item, "relation")
    return Asset(
        id=item["id"]["S"],
        tenant_id=item["tenant_id"]["S"],
        sha256=item["sha256"]["S"],
        size_bytes=to_int(item["size_bytes"]),
        media_type=item["media_type"]["S"],
        width=to_int(item["width"]),
        height=to_int(item["height"]),
        filename=item["filename"]["S"],
        blob_key=item["blob_key"]["S"],
        created_at=req_time(item, "created_at"),
        updated_at=req_time(item, "updated_at"),
        status=Stage(item["status"]["S"]),
        error=opt_s(item, "error"),
        orientation=to_int(item["orientation"]),
        captured_at=at_recorded_offset(
            opt_time(item, "captured_at"),
            to_int(item[CAPTURED_OFFSET]) if CAPTURED_OFFSET in item else None,
        ),
        parent_id=opt_s(item, "parent_id"),
        relation=VersionRelation(relation) if relation else None,
        renditions=tuple(Rendition(*r) for r in json.loads(item["renditions"]["S"])),
        phash=opt_s(item, "phash"),
        other_filenames=tuple(v["S"] for v in item.get("other_names", {}).get("L", ())),
        training_example=item.get("training_example", {}).get("BOOL", False),
        frame_time=to_float(item[FRAME_TIME]) if FRAME_TIME in item else None,
    )


def phash_item(tenant_id: str, asset_id: str, phash: str) -> Item:
    """A compact copy of an asset's hash: similar_assets reads these, not whole assets."""
    return {
        **ddb.key(ddb.phash_pk(tenant_id), ddb.phash_sk(asset_id)),
        "asset_id": s(asset_id),
        "phash": s(phash),
    }


def edge_item(tenant_id: str, parent_id: str, child_id: str) -> Item:
    return {**ddb.key(ddb.tenant_pk(tenant_id), ddb.child_sk(parent_id, child_id)), "child_id": s(child_id)}
