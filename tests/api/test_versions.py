"""Asset-version trees through the schema: links, walks, cycles, tenants, deletes."""

from __future__ import annotations

from typing import Any

import pytest

from api.context import Context
from api.schema import schema
from catalog.domain.model import VersionRelation
from mediasight.bootstrap import Services
from tests.conftest import jpeg_bytes, make_tenant


async def gql(services: Services, tenant: str, document: str, **variables: Any) -> dict[str, Any]:
    result = await schema.execute(
        document, variable_values=variables, context_value=Context(services, tenant)
    )
    assert result.errors is None and result.data is not None, result.errors
    return result.data


async def new_asset(services: Services, tenant: str, seed: int, **kw: Any) -> str:
    outcome = await services.ingestor.ingest(
        tenant, jpeg_bytes((seed, 90, 200), (60 + seed, 40)), f"{seed}.jpg", **kw
    )
    assert outcome.asset is not None, outcome.error
    return outcome.asset.id


TREE = """query ($id: ID!) { asset(id: $id) {
  parent { id } root { id } ancestors { id } children { id relation }
  versionTree(depth: 5) { depth asset { id } }
} }"""
LINK = """mutation ($a: ID!, $p: ID!) { createVersion(assetId: $a, parentId: $p, relation: EDIT) {
  asset { id parentId relation } error { code message } } }"""
DELETE = """mutation ($id: ID!, $c: Boolean!) {
  deleteAsset(id: $id, cascade: $c) { deletedIds error { code } } }"""


async def test_a_tree_is_walked_both_ways_and_never_cycles(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    root = await new_asset(services, tenant, 1)
    crop = await new_asset(services, tenant, 2, parent_id=root, relation=VersionRelation.CROP)
    edit = await new_asset(services, tenant, 3)
    linked = (await gql(services, tenant, LINK, a=edit, p=crop))["createVersion"]
    assert linked == {"asset": {"id": edit, "parentId": crop, "relation": "EDIT"}, "error": None}
    leaf = (await gql(services, tenant, TREE, id=edit))["asset"]
    assert leaf["parent"] == {"id": crop} and leaf["root"] == {"id": root}
    assert leaf["ancestors"] == [{"id": crop}, {"id": root}]
    top = (await gql(services, tenant, TREE, id=root))["asset"]
    assert top["children"] == [{"id": crop, "relation": "CROP"}] and top["root"] == {"id": root}
    assert [(n["depth"], n["asset"]["id"]) for n in top["versionTree"]] == [(0, root), (1, crop), (2, edit)]
    cycle = (await gql(services, tenant, LINK, a=root, p=edit))["createVersion"]
    assert cycle["asset"] is None and cycle["error"]["code"] == "CYCLE"
    itself = (await gql(services, tenant, LINK, a=root, p=root))["createVersion"]
    assert itself["error"]["code"] == "CYCLE"


async def test_versions_never_cross_tenants(services: Services) -> None:
    acme, _ = await make_tenant(services, "acme")
    other, _ = await make_tenant(services, "other")
    theirs = await new_asset(services, other, 9)
    mine = await new_asset(services, acme, 8)
    refused = await services.ingestor.ingest(acme, jpeg_bytes((1, 2, 3)), "x.jpg", parent_id=theirs)
    assert refused.status == "rejected" and refused.code == "invalid_parent"
    link = (await gql(services, acme, LINK, a=mine, p=theirs))["createVersion"]
    assert link["error"]["code"] == "NOT_FOUND"
    assert (await gql(services, other, TREE, id=theirs))["asset"]["children"] == []
    gone = (await gql(services, acme, DELETE, id=theirs, c=True))["deleteAsset"]
    assert gone == {"deletedIds": [], "error": {"code": "NOT_FOUND"}}
    assert await services.catalog.get_asset(other, theirs) is not None


async def test_delete_refuses_parents_unless_cascading_and_removes_everything(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    root = await new_asset(services, tenant, 4)
    child = await new_asset(services, tenant, 5, parent_id=root, relation=VersionRelation.RESIZE)
    await services.worker().run_until_idle()
    assert await services.index.count(tenant) == 2
    refused = (await gql(services, tenant, DELETE, id=root, c=False))["deleteAsset"]
    assert refused == {"deletedIds": [], "error": {"code": "HAS_CHILDREN"}}
    done = (await gql(services, tenant, DELETE, id=root, c=True))["deleteAsset"]
    assert sorted(done["deletedIds"]) == sorted([root, child]) and done["error"] is None
    assert await services.catalog.get_assets(tenant, [root, child]) == {}
    assert await services.index.count(tenant) == 0
    assert not [p for p in (services.settings.blob_dir / "originals").rglob("*") if p.is_file()]
    assert not [p for p in (services.settings.blob_dir / "renditions").rglob("*") if p.is_file()]


async def test_big_trees_are_read_only_as_far_as_needed(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, _ = await make_tenant(services, "acme")
    root = await new_asset(services, tenant, 20)
    kids = [
        await new_asset(services, tenant, 21 + i, parent_id=root, relation=VersionRelation.FRAME)
        for i in range(4)
    ]
    stored = await services.catalog.get_asset(tenant, root)
    assert stored is not None
    assert [n.asset.id for n in await services.versions.tree(tenant, stored, 5, limit=3)] == [root, *kids[:2]]
    monkeypatch.setattr("services.versions.MAX_DELETE", 3)
    too_many = (await gql(services, tenant, DELETE, id=root, c=True))["deleteAsset"]
    assert too_many == {"deletedIds": [], "error": {"code": "TOO_MANY"}}
    assert len(await services.catalog.get_assets(tenant, [root, *kids])) == 5


async def test_roots_scope_rolls_a_versions_match_up_to_its_root(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    red = await services.ingestor.ingest(tenant, jpeg_bytes((250, 5, 5)), "root.jpg")
    blue = await services.ingestor.ingest(tenant, jpeg_bytes((5, 5, 250)), "edit.jpg")
    assert red.asset is not None and blue.asset is not None
    await services.worker().run_until_idle()
    query = """query ($v: VersionScope) { search(filter: {labels: ["blue"], versions: $v}) {
      totalCount edges { node { filename } } } }"""
    alone = (await gql(services, tenant, query, v="ROOTS"))["search"]
    assert [e["node"]["filename"] for e in alone["edges"]] == ["edit.jpg"]  # no parent: its own root
    await gql(services, tenant, LINK, a=blue.asset.id, p=red.asset.id)
    await services.worker().run_until_idle()  # the moved subtree is re-indexed with its new root
    rolled = (await gql(services, tenant, query, v="ROOTS"))["search"]
    assert [e["node"]["filename"] for e in rolled["edges"]] == ["root.jpg"] and rolled["totalCount"] == 1
    every = (await gql(services, tenant, query, v="ALL"))["search"]
    assert [e["node"]["filename"] for e in every["edges"]] == ["edit.jpg"]


async def test_near_duplicates_are_offered_as_similar_assets(services: Services) -> None:
    from io import BytesIO

    from PIL import Image
    from skimage import data as samples

    def encoded(img: Image.Image, quality: int) -> bytes:
        buf = BytesIO()
        img.save(buf, "JPEG", quality=quality)
        return buf.getvalue()

    tenant, _ = await make_tenant(services, "acme")
    original = Image.fromarray(samples.astronaut())
    ids = {}
    for name, data in {
        "original.jpg": encoded(original, 95),
        "smaller.jpg": encoded(original.resize((200, 200)), 60),  # another file, the same picture
        "cat.jpg": encoded(Image.fromarray(samples.chelsea()), 90),
    }.items():
        outcome = await services.ingestor.ingest(tenant, data, name)
        assert outcome.asset is not None
        ids[name] = outcome.asset.id
    await services.worker().run_until_idle()
    query = "query ($id: ID!) { asset(id: $id) { similarAssets { distance asset { filename } } } }"
    similar = (await gql(services, tenant, query, id=ids["original.jpg"]))["asset"]["similarAssets"]
    assert [s["asset"]["filename"] for s in similar] == ["smaller.jpg"] and similar[0]["distance"] <= 4
