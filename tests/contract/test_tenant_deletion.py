"""`tenant delete` on both stacks: everything the tenant owns goes (catalog records, faces and persons, index
documents, blobs, keys), another tenant's data stays, and the name can be used again."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.context import Context
from api.schema import schema
from catalog.domain.model import BoundingBox, TenantConfig, VersionRelation
from indexer.recognizers.ports import RemoteUnavailable
from indexer.video.video_frames import VideoFrames
from indexer.video.video_work import Keyframe
from mediasight.bootstrap import Services, open_services
from mediasight.cli import app
from mediasight.scale_out import initialise
from mediasight.settings import Settings
from services.keys import hash_api_key
from services.tenant_deletion import delete_tenant
from tests.conftest import jpeg_bytes, make_tenant
from tests.contract.opensearch_server import OpenSearchServer
from tests.fakes import ColorLabeler

COMMON: dict[str, Any] = {
    "analyzers": "labels",
    "semantic_search": False,
    "job_retry_base_seconds": 0.0,
    "webhooks_allow_private": True,
}
COLORS = (("red", (240, 20, 20)), ("green", (20, 230, 20)), ("blue", (20, 20, 200)))


async def gql(services: Services, tenant_id: str, query: str) -> dict[str, Any]:
    result = await schema.execute(query, context_value=Context(services, tenant_id))
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def fill(services: Services, name: str) -> tuple[str, str]:
    """A tenant with assets, runs, a reprocess batch, faces and a person, a webhook, an export, 2 keys and a
    keyframe (as a video's analysis registers them: a FRAME child, not in the index)."""
    tenant, key = await make_tenant(services, name)
    ids = []
    for color_name, color in COLORS:
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes(color), f"{color_name}.jpg")
        assert outcome.asset is not None, outcome.error
        ids.append(outcome.asset.id)
    await services.worker().run_until_idle()
    parent = await services.catalog.get_asset(tenant, ids[0])
    assert parent is not None
    with tempfile.TemporaryDirectory() as tmp:
        still = Path(tmp) / "still.jpg"
        still.write_bytes(jpeg_bytes((90, 90, 90)))
        frames = await VideoFrames(services.catalog, services.blobs, services.cpu).store(
            parent, [Keyframe(0, 1.5, still)]
        )
    assert [f.relation for f in frames] == [VersionRelation.FRAME]
    box = BoundingBox(0.1, 0.1, 0.2, 0.2)
    await services.faces.index_faces(tenant, ids[0], [[0.5] * 128], boxes=[box])
    person = await services.faces.create_person(tenant, "Ada")
    faces = await services.faces.stored_faces(tenant, ids[:1])
    await services.faces.assign(tenant, [f.face for f in faces], person.id)
    quoted = ", ".join(f'"{i}"' for i in ids)
    reprocess = (
        f'reprocess(assetIds: [{quoted}], analyzers: ["labels"]) {{ batch {{ id }} error {{ code }} }}'
    )
    await gql(services, tenant, f"mutation {{ {reprocess} }}")
    hook = 'createWebhook(url: "http://127.0.0.1:9/hook", events: [ASSET_DELETED]) { endpoint { id } }'
    await gql(services, tenant, f"mutation {{ {hook} }}")
    await gql(services, tenant, "mutation { startExport(format: JSON) { id } }")
    await gql(services, tenant, 'mutation { createApiKey(scopes: [READ], name: "second") { secret } }')
    await services.worker().run_until_idle()
    return tenant, key


async def blob_keys(services: Services) -> list[str]:
    """Every blob key of the store (local folder or S3 bucket)."""
    blobs: Any = services.blobs
    if hasattr(blobs, "root"):
        root: Path = blobs.root

        def walk() -> list[str]:
            files = [p for p in root.rglob("*") if p.is_file() and ".incoming" not in p.parts]
            return [str(p.relative_to(root)) for p in files]

        return await asyncio.to_thread(walk)
    found = []
    pages = blobs._client.get_paginator("list_objects_v2").paginate(Bucket=blobs.bucket)
    async for page in pages:
        found += [o["Key"] for o in page.get("Contents", ())]
    return found


async def catalog_mentions(services: Services, tenant_id: str) -> list[str]:
    """Every catalog record that names the tenant: SQLite rows (any column) or DynamoDB items (any value)."""
    settings = services.settings
    if settings.catalog_backend == "sqlite":
        found = []
        with sqlite3.connect(settings.catalog_path) as conn:
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    if any(tenant_id in str(v) for v in row):
                        found.append(f"{table}: {row}")
        return found
    client: Any = services.catalog._client  # type: ignore[attr-defined]
    items = []
    request: dict[str, Any] = {"TableName": settings.dynamodb_table}
    while True:
        page = await client.scan(**request)
        items += [i for i in page["Items"] if tenant_id in str(i)]
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


async def scenario(settings: Settings) -> None:
    services = await open_services(settings, labeler=ColorLabeler())
    try:
        await initialise(services.catalog, services.index, services.blobs)
        doomed, doomed_key = await fill(services, "doomed")
        kept, _ = await fill(services, "kept")
        assert any(doomed in k for k in await blob_keys(services))
        assert await services.index.count(doomed) == 3
        assert await catalog_mentions(services, doomed)

        tenant = await services.catalog.get_tenant(doomed)
        assert tenant is not None
        steps: list[str] = []
        done = await delete_tenant(
            tenant, catalog=services.catalog, index=services.index, blobs=services.blobs,
            faces=services.faces, on_step=steps.append,
        )  # fmt: skip
        assert steps[0] == "revoke keys" and steps[-1] == "tenant"
        assert done.keys_revoked == 2 and done.index_documents == 3
        assert done.blobs >= 4 * 2 + 1  # originals, renditions (the frame's too) and the export at least

        assert await catalog_mentions(services, doomed) == []
        assert [k for k in await blob_keys(services) if doomed in k] == []
        assert await services.index.count(doomed) == 0
        assert await services.catalog.get_tenant_by_name("doomed") is None
        assert await services.catalog.find_api_key(hash_api_key(doomed_key)) is None
        assert await services.faces.person_by_name(doomed, "Ada") is None

        # the other tenant is whole
        assert await services.index.count(kept) == 3
        found = await gql(services, kept, '{ search(filter: {labels: ["color"]}) { totalCount } }')
        assert found["search"]["totalCount"] == 3
        assert await services.faces.person_by_name(kept, "Ada") is not None
        assert len([k for k in await blob_keys(services) if kept in k]) >= 7

        # running it again (an interrupted deletion) is harmless, and the name is free again
        again = await delete_tenant(
            tenant, catalog=services.catalog, index=services.index, blobs=services.blobs, faces=services.faces
        )
        assert (again.records, again.index_documents, again.blobs) == (0, 0, 0)
        reborn, _ = await make_tenant(services, "doomed")
        empty = await gql(services, reborn, "{ search { totalCount } }")
        assert empty["search"]["totalCount"] == 0
    finally:
        await services.aclose()


async def test_tenant_delete_on_the_embedded_stack(tmp_path: Path) -> None:
    await scenario(Settings(data_dir=tmp_path, **COMMON))


@pytest.mark.dynamodb
@pytest.mark.opensearch
@pytest.mark.s3
@pytest.mark.sqs
async def test_tenant_delete_on_the_scale_stack(
    tmp_path: Path, aws_env: None, moto_endpoint: str, dynamodb_endpoint: str, opensearch: OpenSearchServer
) -> None:
    unique = f"ms-{uuid.uuid4().hex[:10]}"
    await scenario(
        Settings(
            data_dir=tmp_path,
            catalog_backend="dynamodb",
            dynamodb_endpoint_url=dynamodb_endpoint,
            dynamodb_table=unique,
            index_backend="opensearch",
            opensearch_url=opensearch.url,
            opensearch_index=unique,
            blob_backend="s3",
            s3_endpoint_url=moto_endpoint,
            s3_bucket=unique,
            queue_backend="sqs",
            sqs_endpoint_url=moto_endpoint,
            sqs_queue=unique,
            **COMMON,
        )
    )


def test_the_cli_asks_before_deleting(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path)]
    assert runner.invoke(app, [*base, "tenant", "create", "acme"]).exit_code == 0
    refused = runner.invoke(app, [*base, "tenant", "delete", "acme"], input="")
    assert refused.exit_code == 2 and "--yes" in refused.output
    listed = runner.invoke(app, [*base, "tenant", "list"])
    assert "acme" in listed.output
    deleted = runner.invoke(app, [*base, "tenant", "delete", "acme", "--yes"])
    assert deleted.exit_code == 0, deleted.output
    assert "deleted tenant 'acme'" in deleted.output
    assert "acme" not in runner.invoke(app, [*base, "tenant", "list"]).output
    missing = runner.invoke(app, [*base, "tenant", "delete", "acme", "--yes"])
    assert missing.exit_code == 2 and "no tenant named" in missing.output


async def test_a_tenant_with_faces_on_rekognition_needs_rekognition_to_be_deleted(tmp_path: Path) -> None:
    services = await open_services(Settings(data_dir=tmp_path, **COMMON), labeler=ColorLabeler())
    try:
        tenant_id, _ = await make_tenant(services, "remote")
        await services.catalog.set_tenant_config(tenant_id, TenantConfig(providers={"faces": "rekognition"}))
        await services.ingestor.ingest(tenant_id, jpeg_bytes((9, 9, 9)), "a.jpg")
        tenant = await services.catalog.get_tenant(tenant_id)
        assert tenant is not None
        with pytest.raises(RemoteUnavailable, match="Rekognition"):
            await delete_tenant(
                tenant, catalog=services.catalog, index=services.index, blobs=services.blobs,
                faces=services.faces,
            )  # fmt: skip
        assert sum((await services.catalog.stage_counts(tenant_id)).values()) == 1  # nothing gone
    finally:
        await services.aclose()
