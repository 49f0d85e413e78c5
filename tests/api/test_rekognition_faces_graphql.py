"""The face API answers in the same shape for a tenant on local faces and one on a Rekognition collection.

The local tenant's faces come from a fake detector at the analyzer port (one face whose identity vector is
the image's mean colour: similar colours, same person); the Rekognition tenant's from a real aiobotocore
client wrapped in AioStubber. The same GraphQL documents run for both through schema.execute.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping
from typing import Any

import aioboto3
import numpy as np
from aiobotocore.stub import AioStubber
from botocore.stub import ANY
from PIL import Image
from starlette.datastructures import UploadFile

from api.context import Context
from api.schema import schema
from catalog.domain.clock import utcnow
from catalog.domain.ids import uuid7
from catalog.domain.model import BoundingBox, Face, Findings, RecognitionResult, TenantConfig
from indexer.analyzers import LocalAnalyzer
from indexer.recognizers.rekognition.calls import Retry
from indexer.recognizers.rekognition.faces import RekognitionFaceCollections
from indexer.recognizers.rekognition.rate_limit import TokenBucket
from mediasight.bootstrap import Services
from tests.conftest import jpeg_bytes, make_tenant
from tests.indexer.recognizers.rekognition.stubs import (
    CREATED,
    PREFIX,
    bbox,
    face_id,
    index_params,
    indexed,
    match,
    matches,
    record,
    search_params,
    use_rekognition,
)

COLORS = {"p1.jpg": (200, 60, 60), "p2.jpg": (190, 70, 70), "p3.jpg": (180, 60, 60)}
PROBE = (195, 65, 65)
MATCHES = """query ($id: ID!) { faceMatches(assetId: $id, faceIndex: 0) {
  faceIndex similarity asset { filename } } }"""
NAME = """mutation ($id: ID!) { nameFace(assetId: $id, faceIndex: 0, name: "Ada Lovelace") {
  person { name } facesNamed error { code message } } }"""
SEARCH = """{ search(filter: {persons: ["ada lovelace"]}) { totalCount
  edges { node { filename
    faces { faceIndex confidence boundingBox { left top width height } person { name } } } }
  facets { persons { value count } } } }"""
BY_IMAGE = """mutation ($f: Upload!) { searchFacesByImage(file: $f) {
  matches { faceIndex similarity asset { filename } } error { code } } }"""


def colour_face(image: Image.Image, params: Mapping[str, Any]) -> Findings:
    mean = np.asarray(image.convert("RGB"), dtype=np.float32).mean(axis=(0, 1)) / 255.0
    box = BoundingBox(0.3, 0.2, 0.2, 0.3)
    return Findings(faces=(Face(box=box, confidence=99.0, embedding=tuple(float(v) for v in mean)),))


async def gql(services: Services, tenant: str, document: str, **variables: Any) -> dict[str, Any]:
    result = await schema.execute(
        document, variable_values=variables, context_value=Context(services, tenant)
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


def shape(value: Any) -> Any:
    """The answer with every leaf replaced by its type: what must not differ between providers."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__


async def register(services: Services, tenant: str, name: str) -> str:
    outcome = await services.ingestor.ingest(tenant, jpeg_bytes(COLORS[name], (160, 120)), name)
    assert outcome.asset is not None
    return outcome.asset.id


async def scenario(services: Services, tenant: str, stub: AioStubber | None) -> dict[str, Any]:
    """Ingest p1, p2; match and name p1's face; ingest p3; search by person and by photo."""
    ids = {}
    fa, fb, fc = face_id(1), face_id(2), face_id(3)
    ids["p1.jpg"] = await register(services, tenant, "p1.jpg")
    if stub:
        stub.add_response("create_collection", CREATED, {"CollectionId": PREFIX + tenant})
        stub.add_response(
            "index_faces", indexed([record(fa, ids["p1.jpg"], 99.0)]), index_params(tenant, ANY)
        )
        stub.add_response("search_faces", matches(fa), search_params(tenant, fa, 20))
    await services.worker().run_until_idle()
    ids["p2.jpg"] = await register(services, tenant, "p2.jpg")
    if stub:
        stub.add_response(
            "index_faces", indexed([record(fb, ids["p2.jpg"], 99.0)]), index_params(tenant, ANY)
        )
        stub.add_response(
            "search_faces", matches(fb, match(fa, ids["p1.jpg"], 97.7)), search_params(tenant, fb, 20)
        )
    await services.worker().run_until_idle()

    out: dict[str, Any] = {}
    if stub:
        stub.add_response(
            "search_faces", matches(fa, match(fb, ids["p2.jpg"], 97.7)), search_params(tenant, fa, 501)
        )
    out["matches"] = await gql(services, tenant, MATCHES, id=ids["p1.jpg"])
    if stub:
        stub.add_response(
            "search_faces", matches(fa, match(fb, ids["p2.jpg"], 97.7)), search_params(tenant, fa, 4096)
        )
    out["named"] = await gql(services, tenant, NAME, id=ids["p1.jpg"])
    await services.worker().run_until_idle()  # refresh jobs: the persons are searchable

    ids["p3.jpg"] = await register(services, tenant, "p3.jpg")
    if stub:
        stub.add_response(
            "index_faces", indexed([record(fc, ids["p3.jpg"], 99.0)]), index_params(tenant, ANY)
        )
        stub.add_response(
            "search_faces",
            matches(fc, match(fa, ids["p1.jpg"], 96.0), match(fb, ids["p2.jpg"], 95.0)),
            search_params(tenant, fc, 20),
        )
    await services.worker().run_until_idle()
    out["search"] = await gql(services, tenant, SEARCH)

    if stub:
        stub.add_response(
            "search_faces_by_image",
            {
                "SearchedFaceBoundingBox": bbox(),
                "SearchedFaceConfidence": 99.0,
                "FaceMatches": [
                    match(f, ids[n], 98.0) for f, n in ((fa, "p1.jpg"), (fb, "p2.jpg"), (fc, "p3.jpg"))
                ],
                "FaceModelVersion": "7.0",
            },
            {
                "CollectionId": PREFIX + tenant,
                "Image": {"Bytes": ANY},
                "FaceMatchThreshold": 80.0,
                "MaxFaces": 500,
            },
        )
    upload = UploadFile(io.BytesIO(jpeg_bytes(PROBE, (200, 200))), filename="probe.jpg")
    out["by_image"] = await gql(services, tenant, BY_IMAGE, f=upload)
    return out


async def test_local_and_rekognition_tenants_get_the_same_answers(services: Services, aws_env: None) -> None:
    services.analyzers.register(
        {
            ("faces", "local"): lambda: LocalAnalyzer(
                "faces", "fake-colour-face", "1", colour_face, services.cpu
            )
        }
    )
    local, _ = await make_tenant(services, "local")
    cloud, _ = await make_tenant(services, "cloud")
    await services.catalog.set_tenant_config(local, TenantConfig(analyzers=("faces",)))
    await services.catalog.set_tenant_config(
        cloud, TenantConfig(analyzers=("faces",), providers={"faces": "rekognition"})
    )
    async with aioboto3.Session().client("rekognition", region_name="us-east-1") as client:
        use_rekognition(services, client)
        mine = await scenario(services, local, None)
        with AioStubber(client) as stub:
            theirs = await scenario(services, cloud, stub)
            stub.assert_no_pending_responses()

    assert shape(mine) == shape(theirs)
    for answers in (mine, theirs):
        assert [m["asset"]["filename"] for m in answers["matches"]["faceMatches"]] == ["p2.jpg"]
        assert all(80 <= m["similarity"] <= 100 for m in answers["matches"]["faceMatches"])
        assert answers["named"]["nameFace"] == {
            "person": {"name": "Ada Lovelace"},
            "facesNamed": 2,
            "error": None,
        }
        search = answers["search"]["search"]
        assert search["totalCount"] == 3  # p3 got the name when it was indexed
        assert {e["node"]["filename"] for e in search["edges"]} == set(COLORS)
        assert all(e["node"]["faces"][0]["person"] == {"name": "Ada Lovelace"} for e in search["edges"])
        assert search["facets"]["persons"] == [{"value": "Ada Lovelace", "count": 3}]
        by_image = answers["by_image"]["searchFacesByImage"]
        assert by_image["error"] is None
        assert {m["asset"]["filename"] for m in by_image["matches"]} == set(COLORS)


ERROR_CODE = """query ($id: ID!, $face: Int!) { faceMatches(assetId: $id, faceIndex: $face) { faceIndex } }"""
NAME_ERROR = """mutation ($id: ID!) { nameFace(assetId: $id, faceIndex: 0, name: "Ada") {
  person { name } error { code message } } }"""
BY_IMAGE_ERROR = """mutation ($f: Upload!) { searchFacesByImage(file: $f) { matches { faceIndex }
  error { code message } } }"""
DELETE = """mutation ($id: ID!) { deleteAsset(id: $id) { deletedIds error { code message } } }"""
BOX = BoundingBox(0.3, 0.2, 0.2, 0.3)


async def gql_error(services: Services, tenant: str, document: str, **variables: Any) -> tuple[str, str]:
    """(extensions.code, message) of the one error the document answers with."""
    result = await schema.execute(
        document, variable_values=variables, context_value=Context(services, tenant)
    )
    assert result.errors is not None and len(result.errors) == 1, result
    [error] = result.errors
    return (error.extensions or {}).get("code", ""), error.message


def photo() -> UploadFile:
    return UploadFile(io.BytesIO(jpeg_bytes(PROBE, (200, 200))), filename="probe.jpg")


async def on_rekognition(services: Services, tenant: str, name: str, fid: str) -> str:
    """An asset whose one face was indexed in the tenant's Rekognition collection (run and store)."""
    asset = await register(services, tenant, name)
    face = Face(box=BOX, confidence=99.0, face_id=fid)
    run = RecognitionResult(
        asset_id=asset,
        analyzer="faces",
        provider="rekognition",
        model_name="amazon-rekognition-index-faces",
        model_version="7.0",
        findings=Findings(faces=(face,)),
        id=uuid7(),
        created_at=utcnow(),
        finished_at=utcnow(),
    )
    await services.catalog.save_result(tenant, run)
    await services.faces.index_faces(tenant, asset, [()], boxes=[BOX], face_ids=[fid])
    return asset


async def test_face_matches_of_a_face_not_in_the_tenant_is_not_found(services: Services) -> None:
    """Not "no matches": NOT_FOUND, and another tenant's asset looks exactly like one that does not exist."""
    services.analyzers.register(
        {
            ("faces", "local"): lambda: LocalAnalyzer(
                "faces", "fake-colour-face", "1", colour_face, services.cpu
            )
        }
    )
    mine, _ = await make_tenant(services, "mine")
    theirs, _ = await make_tenant(services, "theirs")
    for tenant in (mine, theirs):
        await services.catalog.set_tenant_config(tenant, TenantConfig(analyzers=("faces",)))
    own = await register(services, mine, "p1.jpg")
    other = await register(services, theirs, "p2.jpg")
    await services.worker().run_until_idle()
    assert await gql(services, mine, ERROR_CODE, id=own, face=0) == {"faceMatches": []}  # none: fine

    nowhere = str(uuid.uuid4())
    code, message = await gql_error(services, mine, ERROR_CODE, id=other, face=0)
    assert code == "NOT_FOUND"
    assert (code, message.replace(other, nowhere)) == await gql_error(
        services, mine, ERROR_CODE, id=nowhere, face=0
    )
    assert (await gql_error(services, mine, ERROR_CODE, id="not-an-id", face=0))[0] == "NOT_FOUND"
    code, message = await gql_error(services, mine, ERROR_CODE, id=own, face=3)
    assert code == "NO_SUCH_FACE" and "has 1 face: faceIndex 0" in message


async def test_faces_on_rekognition_without_rekognition_are_a_typed_error(services: Services) -> None:
    """This server has Rekognition off: every face operation that needs it says so, with a code."""
    tenant, _ = await make_tenant(services, "cloud")
    config = TenantConfig(analyzers=("faces",), providers={"faces": "rekognition"})
    await services.catalog.set_tenant_config(tenant, config)
    asset = await on_rekognition(services, tenant, "p1.jpg", face_id(1))

    code, message = await gql_error(services, tenant, ERROR_CODE, id=asset, face=0)
    assert code == "REMOTE_UNAVAILABLE" and "not enabled" in message
    named = (await gql(services, tenant, NAME_ERROR, id=asset))["nameFace"]
    assert named["person"] is None and named["error"]["code"] == "REMOTE_UNAVAILABLE"
    found = (await gql(services, tenant, BY_IMAGE_ERROR, f=photo()))["searchFacesByImage"]
    assert found["matches"] == [] and found["error"]["code"] == "REMOTE_UNAVAILABLE"
    stored = await services.catalog.get_asset(tenant, asset)
    assert stored is not None
    await services.pipeline.reindex(stored)
    deleted = (await gql(services, tenant, DELETE, id=asset))["deleteAsset"]
    assert deleted["deletedIds"] == [] and deleted["error"]["code"] == "REMOTE_UNAVAILABLE"
    # Nothing was deleted yet: the asset is still in the catalog and still found, for the next attempt.
    assert await services.catalog.get_asset(tenant, asset) is not None
    assert await services.index.count(tenant) == 1


async def test_a_rekognition_outage_is_a_typed_error_that_says_to_retry(
    services: Services, aws_env: None
) -> None:
    tenant, _ = await make_tenant(services, "cloud")
    config = TenantConfig(analyzers=("faces",), providers={"faces": "rekognition"})
    await services.catalog.set_tenant_config(tenant, config)
    fid = face_id(1)

    async def no_sleep(delay: float) -> None:
        pass

    async with aioboto3.Session().client("rekognition", region_name="us-east-1") as client:
        retry = Retry(attempts=2, sleep=no_sleep)
        buckets = TokenBucket(1000.0, burst=1000)
        services.faces.use_remote(
            RekognitionFaceCollections(client, prefix=PREFIX, buckets=buckets, retry=retry)
        )
        asset = await on_rekognition(services, tenant, "p1.jpg", fid)
        with AioStubber(client) as stub:

            def outage(operation: str) -> None:
                for _ in range(retry.attempts):
                    stub.add_client_error(
                        operation, service_error_code="ServiceUnavailableException", http_status_code=503
                    )

            outage("search_faces")
            code, message = await gql_error(services, tenant, ERROR_CODE, id=asset, face=0)
            assert code == "REMOTE_UNAVAILABLE" and "try again" in message
            outage("search_faces")
            named = (await gql(services, tenant, NAME_ERROR, id=asset))["nameFace"]
            assert named["error"]["code"] == "REMOTE_UNAVAILABLE"
            outage("create_collection")
            found = (await gql(services, tenant, BY_IMAGE_ERROR, f=photo()))["searchFacesByImage"]
            assert found["error"]["code"] == "REMOTE_UNAVAILABLE" and "try again" in found["error"]["message"]
            outage("delete_faces")
            deleted = (await gql(services, tenant, DELETE, id=asset))["deleteAsset"]
            assert deleted["error"]["code"] == "REMOTE_UNAVAILABLE"
            assert await services.faces.stored_faces(tenant, [asset]) != []  # kept for the next attempt
            stub.assert_no_pending_responses()
