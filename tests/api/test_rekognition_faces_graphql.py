"""The face API answers in the same shape for a tenant on local faces and one on a Rekognition collection.

The local tenant's faces come from a fake detector at the analyzer port (one face whose identity vector is
the image's mean colour: similar colours, same person); the Rekognition tenant's from a real aiobotocore
client wrapped in AioStubber. The same GraphQL documents run for both through schema.execute.
"""

from __future__ import annotations

import io
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
from catalog.model import BoundingBox, Face, Findings, TenantConfig
from indexer.analyzers import LocalAnalyzer
from mediasight.bootstrap import Services
from tests.conftest import jpeg_bytes, make_tenant
from tests.indexer.rekognition_stubs import (
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
        services.use_rekognition(client)
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
