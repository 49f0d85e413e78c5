"""Faces on Rekognition collections, through the real services (SQLite catalog, worker, pipeline) and a
real aiobotocore client wrapped in AioStubber: every request is checked against the Rekognition service
model and against the parameters we expect, every canned response is validated, nothing leaves the process.
Assets are ingested one at a time so the order of Rekognition calls is fixed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aioboto3
import pytest
from aiobotocore.stub import AioStubber
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.stub import ANY
from PIL import Image

from catalog.domain.model import BoundingBox, FaceRef, Stage, TenantConfig
from catalog.domain.ports import FaceMatch, SearchQuery, StoredFace
from indexer.recognizers.ports import AnalysisInput, AnalyzerInputError, NoFaceFound, RemoteUnavailable
from indexer.recognizers.rekognition.calls import Retry, is_throttled
from indexer.recognizers.rekognition.faces import RekognitionFaceCollections, collection_id
from indexer.recognizers.rekognition.rate_limit import TokenBucket
from indexer.renditions import PREVIEW_MAX, decode
from mediasight.bootstrap import Services
from services.faces import FaceError
from services.reprocessing.requests import ReprocessRequest
from tests.conftest import jpeg_bytes, make_tenant
from tests.indexer.recognizers.rekognition.stubs import (
    CREATED,
    PREFIX,
    bbox,
    detail,
    face_id,
    index_params,
    indexed,
    match,
    matches,
    record,
    search_params,
    use_rekognition,
)

F1, F2, G1, H1, ORPHAN = (face_id(n) for n in (1, 2, 3, 4, 99))


@pytest.fixture
async def client(aws_env: None) -> AsyncIterator[Any]:
    async with aioboto3.Session().client("rekognition", region_name="us-east-1") as c:
        yield c


@pytest.fixture
def stub(client: Any) -> Iterator[AioStubber]:
    with AioStubber(client) as s:
        yield s
        s.assert_no_pending_responses()


async def rekognition_tenant(services: Services, client: Any) -> str:
    tenant, _ = await make_tenant(services, "cloud")
    config = TenantConfig(analyzers=("faces",), providers={"faces": "rekognition"})
    await services.catalog.set_tenant_config(tenant, config)
    use_rekognition(services, client)
    return tenant


async def register(services: Services, tenant: str, color: tuple[int, int, int], name: str) -> str:
    """Ingest only (its ID is known before the worker calls Rekognition with it)."""
    outcome = await services.ingestor.ingest(tenant, jpeg_bytes(color, (160, 120)), name)
    assert outcome.asset is not None
    return outcome.asset.id


async def analysis_input(services: Services, tenant: str, asset_id: str) -> AnalysisInput:
    """What the pipeline hands the faces analyzer for the asset (to run it directly, without the worker)."""
    stored = await services.catalog.get_asset(tenant, asset_id)
    assert stored is not None
    original = await services.blobs.get(stored.blob_key)
    image = decode(original, target=PREVIEW_MAX, max_pixels=10**8)
    return AnalysisInput(image=image, jpeg=original, original_key=stored.blob_key)


async def process(services: Services, tenant: str, asset_id: str) -> None:
    await services.worker().run_until_idle()
    asset = await services.catalog.get_asset(tenant, asset_id)
    assert asset is not None and asset.status == Stage.INDEXED, asset


async def test_index_match_name_link_search_and_delete(
    services: Services, client: Any, stub: AioStubber
) -> None:
    tenant = await rekognition_tenant(services, client)
    cid = PREFIX + tenant
    faces = services.face_service

    # Asset A: the collection is created on first use; IndexFaces' faces come most confident first, the
    # one its quality filter left out included without a FaceId; each indexed face is searched for a name.
    a = await register(services, tenant, (200, 150, 120), "a.jpg")
    stub.add_response("create_collection", CREATED, {"CollectionId": cid})
    stub.add_response(
        "index_faces",
        indexed(
            [record(F2, a, 98.0, bbox(0.6)), record(F1, a, 99.9, bbox(0.1))],
            unindexed=[detail(90.0, bbox(0.4, 0.5, 0.05, 0.05))],
        ),
        index_params(tenant, a),
    )
    stub.add_response("search_faces", matches(F1), search_params(tenant, F1, 20))
    stub.add_response("search_faces", matches(F2), search_params(tenant, F2, 20))
    await process(services, tenant, a)
    result = await services.catalog.get_result(tenant, a, "faces")
    assert result is not None
    assert (result.provider, result.model_name, result.model_version) == (
        "rekognition",
        "amazon-rekognition-index-faces",
        "7.0",
    )
    assert [(f.face_id, f.confidence, f.box.left) for f in result.findings.faces] == [
        (F1, 99.9, 0.1),
        (F2, 98.0, 0.6),
        ("", 90.0, 0.4),
    ]
    assert [lm.type for lm in result.findings.faces[0].landmarks] == ["eyeLeft", "eyeRight", "nose"]
    assert await services.faces.stored_faces(tenant, [a]) == [
        StoredFace(FaceRef(a, 0), F1, None),
        StoredFace(FaceRef(a, 1), F2, None),
        StoredFace(FaceRef(a, 2), "", None),
    ]

    # Asset B: same person as A's face 0; nobody is named yet. A FaceId the catalog never stored is ignored.
    b = await register(services, tenant, (190, 140, 110), "b.jpg")
    stub.add_response("index_faces", indexed([record(G1, b, 99.0)]), index_params(tenant, b))
    stub.add_response(
        "search_faces",
        matches(G1, match(F1, a, 99.5), match(ORPHAN, a, 99.0)),
        search_params(tenant, G1, 20),
    )
    await process(services, tenant, b)
    assert await services.faces.face_persons(tenant, [a, b]) == {}

    # faceMatches: SearchFaces by the face's FaceId, mapped back to (asset, faceIndex).
    stub.add_response(
        "search_faces",
        matches(F1, match(G1, b, 99.456), match(ORPHAN, a, 99.0)),
        search_params(tenant, F1, 501),
    )
    assert await faces.matches(tenant, a, 0, 80.0) == [FaceMatch(FaceRef(b, 0), 99.46, None)]
    stub.add_response("search_faces", matches(F2), search_params(tenant, F2, 501, threshold=95.0))
    assert await faces.matches(tenant, a, 1, 95.0) == []
    assert await faces.matches(tenant, a, 2, 80.0) == []  # not indexed: nothing to search with, no call

    # nameFace names the matching face of B too; persons become searchable.
    stub.add_response("search_faces", matches(F1, match(G1, b, 99.5)), search_params(tenant, F1, 4096))
    person, named = await faces.name_face(tenant, a, 0, "Ada Lovelace")
    assert named == 2
    await services.worker().run_until_idle()  # refresh jobs re-index A and B
    assert await services.faces.face_persons(tenant, [a, b]) == {
        FaceRef(a, 0): person.id,
        FaceRef(b, 0): person.id,
    }
    page = await services.index.search(tenant, SearchQuery(persons=("ada lovelace",)))
    assert sorted(h.asset_id for h in page.hits) == sorted([a, b])

    # Asset C: its face matches B's named face, so it gets the person when it is indexed.
    c = await register(services, tenant, (180, 130, 100), "c.jpg")
    stub.add_response("index_faces", indexed([record(H1, c, 99.7)]), index_params(tenant, c))
    stub.add_response("search_faces", matches(H1, match(G1, b, 97.0)), search_params(tenant, H1, 20))
    await process(services, tenant, c)
    assert await services.faces.face_persons(tenant, [c]) == {FaceRef(c, 0): person.id}
    page = await services.index.search(tenant, SearchQuery(persons=("Ada Lovelace",)))
    assert sorted(h.asset_id for h in page.hits) == sorted([a, b, c])

    # searchFacesByImage: SearchFacesByImage in the tenant's collection (the photo is not stored).
    stub.add_response(
        "search_faces_by_image",
        {
            "SearchedFaceBoundingBox": bbox(),
            "SearchedFaceConfidence": 99.9,
            "FaceMatches": [match(F1, a, 95.123), match(H1, c, 96.0)],
            "FaceModelVersion": "7.0",
        },
        {"CollectionId": cid, "Image": {"Bytes": ANY}, "FaceMatchThreshold": 90.0, "MaxFaces": 500},
    )
    found = await faces.search_by_image(tenant, jpeg_bytes((10, 20, 30), (200, 200)), 90.0)
    assert found == [FaceMatch(FaceRef(c, 0), 96.0, person.id), FaceMatch(FaceRef(a, 0), 95.12, person.id)]
    stub.add_client_error(
        "search_faces_by_image",
        service_error_code="InvalidParameterException",
        service_message="There are no faces in the image. Should be at least 1.",
    )
    with pytest.raises(FaceError) as no_face:
        await faces.search_by_image(tenant, jpeg_bytes((10, 20, 30), (200, 200)), 80.0)
    assert no_face.value.code == "NO_FACE"

    # Deleting an asset deletes its faces from the collection, then from the catalog.
    stub.add_response("delete_faces", {"DeletedFaces": [F1, F2]}, {"CollectionId": cid, "FaceIds": [F1, F2]})
    assert await services.versions.delete(tenant, a, cascade=False) == [a]
    assert await services.faces.stored_faces(tenant, [a]) == []

    # Faces replaced by a new analysis: the FaceIds the asset no longer has leave the collection; the
    # person stays with the face in the same place.
    new = face_id(5)
    stub.add_response("delete_faces", {"DeletedFaces": [H1]}, {"CollectionId": cid, "FaceIds": [H1]})
    same_place = BoundingBox(0.31, 0.2, 0.2, 0.3)  # H1's box (bbox()), a little to the right
    assert await services.faces.index_faces(tenant, c, [()], boxes=[same_place], face_ids=[new]) == [H1]
    assert await services.faces.stored_faces(tenant, [c]) == [StoredFace(FaceRef(c, 0), new, person.id)]


async def test_existing_or_vanished_collection_parameters_and_dropped_faces(
    services: Services, client: Any, stub: AioStubber
) -> None:
    tenant = await rekognition_tenant(services, client)
    cid = PREFIX + tenant
    asset = await register(services, tenant, (9, 9, 9), "x.jpg")  # analyzed directly below, not by the worker
    item = await analysis_input(services, tenant, asset)
    image, original = item.image, item.jpeg
    analyzer = services.analyzers.get("faces", "rekognition")
    with pytest.raises(ValueError, match="quality_filter"):  # refused before any call
        await analyzer.analyze(item, {"quality_filter": "best"})
    with pytest.raises(ValueError, match="max_faces"):
        await analyzer.analyze(item, {"max_faces": 0})

    # Another process created the collection first: fine. Someone deleted it later: created again.
    stub.add_client_error("create_collection", service_error_code="ResourceAlreadyExistsException")
    stub.add_client_error("index_faces", service_error_code="ResourceNotFoundException")
    stub.add_response("create_collection", CREATED, {"CollectionId": cid})
    params = index_params(tenant, asset, max_faces=5, quality="HIGH")
    stub.add_response("index_faces", indexed([record(F1, asset, 99.0), record(F2, asset, 30.0)]), params)
    # Below the analyzer's min_confidence: dropped from the findings and deleted from the collection.
    stub.add_response("delete_faces", {"DeletedFaces": [F2]}, {"CollectionId": cid, "FaceIds": [F2]})
    found = await analyzer.analyze(item, {"min_confidence": 50, "max_faces": 5, "quality_filter": "high"})
    assert [f.face_id for f in found.faces] == [F1]

    # An image that is no asset's original cannot be indexed (there is no ExternalImageId for it).
    with pytest.raises(AnalyzerInputError, match="original"):
        await analyzer.analyze(AnalysisInput(image=image, jpeg=original, original_key=""), {})


def retrying(client: Any, delays: list[float], **retry: float) -> RekognitionFaceCollections:
    """Collections whose retries record their delays instead of sleeping (three attempts, no jitter)."""

    async def sleep(delay: float) -> None:
        delays.append(delay)

    return RekognitionFaceCollections(
        client,
        prefix="ms.",
        buckets=TokenBucket(1000.0, burst=1000),
        retry=Retry(attempts=3, base_delay=1.0, sleep=sleep, random=lambda: 0.5, **retry),
    )


async def test_throttled_face_operations_are_retried_with_jitter(client: Any, stub: AioStubber) -> None:
    delays: list[float] = []
    collections = retrying(client, delays, max_delay=5.0)
    expected = search_params("t1", F1, 10)
    expected["CollectionId"] = "ms.t1"
    stub.add_client_error("search_faces", service_error_code="ThrottlingException", http_status_code=400)
    stub.add_client_error(
        "search_faces", service_error_code="ProvisionedThroughputExceededException", http_status_code=400
    )
    stub.add_response("search_faces", matches(F1, match(F2, "asset-2", 91.0)), expected)
    [found] = await collections.search_face("t1", F1, min_similarity=80.0, limit=10)
    assert (found.asset_id, found.face_id, found.similarity) == ("asset-2", F2, 91.0)
    assert delays == [0.5, 1.0]  # random() · base · 2^retry

    for _ in range(3):
        stub.add_client_error("delete_faces", service_error_code="ThrottlingException", http_status_code=400)
    with pytest.raises(RemoteUnavailable, match="ThrottlingException"):  # attempts run out: try later
        await collections.delete("t1", [F1])


async def test_names_and_unknown_faces(client: Any, stub: AioStubber) -> None:
    assert collection_id("mediasight-", "0190a0c4-7d2e-7c3b-8f00-0123456789ab").startswith("mediasight-0190")
    with pytest.raises(ValueError, match="CollectionId"):
        collection_id("bad prefix/", "t")
    with pytest.raises(ValueError, match="CollectionId"):
        RekognitionFaceCollections(client, prefix="x" * 300, buckets=TokenBucket(1.0))
    collections = RekognitionFaceCollections(client, prefix="ms-", buckets=TokenBucket(1000.0, burst=10))
    # A face deleted meanwhile (or a tenant without a collection) matches nothing.
    stub.add_client_error("search_faces", service_error_code="InvalidParameterException")
    stub.add_client_error("search_faces", service_error_code="ResourceNotFoundException")
    assert await collections.search_face("t", F1, min_similarity=80.0, limit=5) == []
    assert await collections.search_face("t", F1, min_similarity=80.0, limit=5) == []
    stub.add_client_error("delete_faces", service_error_code="ResourceNotFoundException")
    await collections.delete("t", [F1, F1, ""])
    stub.add_response("create_collection", CREATED, {"CollectionId": "ms-t"})
    stub.add_client_error("search_faces_by_image", service_error_code="InvalidParameterException")
    with pytest.raises(NoFaceFound):
        await collections.search_image("t", Image.new("RGB", (50, 50)), min_similarity=80.0, limit=5)


async def test_a_deleted_tenant_s_collection_is_dropped(client: Any, stub: AioStubber) -> None:
    collections = RekognitionFaceCollections(client, prefix="ms-", buckets=TokenBucket(1000.0, burst=10))
    stub.add_response("delete_collection", {"StatusCode": 200}, {"CollectionId": "ms-t"})
    assert await collections.drop_collection("t") is True
    stub.add_client_error("delete_collection", service_error_code="ResourceNotFoundException")
    assert await collections.drop_collection("t") is False  # none (or dropped already): nothing to do
    stub.add_client_error("delete_collection", service_error_code="AccessDeniedException")
    with pytest.raises(ClientError):
        await collections.drop_collection("t")


async def test_a_reanalysis_with_other_faces_keeps_each_name_on_its_face(
    services: Services, client: Any, stub: AioStubber
) -> None:
    """Person links follow the face's box, not its place in the list: quality_filter HIGH drops the left
    face, so the right one (Grace) comes first; Ada must not move onto it."""
    tenant = await rekognition_tenant(services, client)
    cid = PREFIX + tenant
    a = await register(services, tenant, (200, 150, 120), "a.jpg")
    stub.add_response("create_collection", CREATED, {"CollectionId": cid})
    stub.add_response(
        "index_faces",
        indexed([record(F1, a, 99.9, bbox(0.1)), record(F2, a, 98.0, bbox(0.6))]),
        index_params(tenant, a),
    )
    stub.add_response("search_faces", matches(F1), search_params(tenant, F1, 20))
    stub.add_response("search_faces", matches(F2), search_params(tenant, F2, 20))
    await process(services, tenant, a)
    stub.add_response("search_faces", matches(F1), search_params(tenant, F1, 4096))
    ada, _ = await services.face_service.name_face(tenant, a, 0, "Ada")
    stub.add_response("search_faces", matches(F2), search_params(tenant, F2, 4096))
    grace, _ = await services.face_service.name_face(tenant, a, 1, "Grace")
    await services.worker().run_until_idle()
    assert await services.faces.face_persons(tenant, [a]) == {FaceRef(a, 0): ada.id, FaceRef(a, 1): grace.id}

    request = ReprocessRequest(analyzers=("faces",), parameters={"quality_filter": "HIGH"})
    await services.reprocess.start(tenant, [a], request)
    stub.add_response(
        "index_faces", indexed([record(G1, a, 99.0, bbox(0.62))]), index_params(tenant, a, quality="HIGH")
    )
    # the replaced FaceIds leave the collection (those the store's write dropped)
    stub.add_response("delete_faces", {"DeletedFaces": [F1, F2]}, {"CollectionId": cid, "FaceIds": [F1, F2]})
    stub.add_response("search_faces", matches(G1), search_params(tenant, G1, 20))
    await services.worker().run_until_idle()

    assert await services.faces.face_persons(tenant, [a]) == {FaceRef(a, 0): grace.id}
    result = await services.catalog.get_result(tenant, a, "faces")
    assert result is not None and [f.person_id for f in result.findings.faces] == [grace.id]
    assert not (await services.index.search(tenant, SearchQuery(persons=("Ada",)))).hits
    [hit] = (await services.index.search(tenant, SearchQuery(persons=("Grace",)))).hits
    assert hit.asset_id == a


async def test_index_faces_is_retried_on_throttling_only(client: Any, stub: AioStubber) -> None:
    delays: list[float] = []
    collections = retrying(client, delays)
    expected = {**index_params("t1", "a1"), "CollectionId": "ms.t1", "Image": {"Bytes": b"jpeg"}}
    request = {"MaxFaces": 20, "QualityFilter": "AUTO"}
    stub.add_response("create_collection", CREATED, {"CollectionId": "ms.t1"})
    # Throttled: Rekognition did nothing, so sending it again is safe.
    stub.add_client_error("index_faces", service_error_code="ThrottlingException", http_status_code=400)
    stub.add_response("index_faces", indexed([record(F1, "a1", 99.0)]), expected)
    response = await collections.index_faces("t1", "a1", {"Bytes": b"jpeg"}, **request)
    assert [r["Face"]["FaceId"] for r in response["FaceRecords"]] == [F1]
    assert delays == [0.5]

    # A 5xx (or a timeout) may come after the faces were indexed: sent again, they would be there twice.
    stub.add_client_error("index_faces", service_error_code="InternalServerError", http_status_code=500)
    with pytest.raises(ClientError, match="InternalServerError"):  # the worker's own backoff takes over
        await collections.index_faces("t1", "a1", {"Bytes": b"jpeg"}, **request)
    assert delays == [0.5]
    assert is_throttled(ClientError({"Error": {"Code": "ThrottlingException"}}, "IndexFaces"))
    assert not is_throttled(ReadTimeoutError(endpoint_url="https://rekognition"))


async def test_face_ids_left_behind_are_logged_with_their_ids(
    services: Services, client: Any, stub: AioStubber, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = await rekognition_tenant(services, client)
    cid = PREFIX + tenant
    a = await register(services, tenant, (9, 9, 9), "a.jpg")
    box = BoundingBox(0.3, 0.2, 0.2, 0.3)
    assert await services.faces.index_faces(tenant, a, [()], boxes=[box], face_ids=[F1]) == []

    # Replaced faces whose DeleteFaces fails: the store has moved on, the FaceIds are named in a warning.
    stub.add_client_error(
        "delete_faces",
        service_error_code="AccessDeniedException",
        expected_params={"CollectionId": cid, "FaceIds": [F1]},
    )
    with caplog.at_level(logging.WARNING):
        assert await services.faces.index_faces(tenant, a, [()], boxes=[box], face_ids=[F2]) == [F1]
    assert await services.faces.stored_faces(tenant, [a]) == [StoredFace(FaceRef(a, 0), F2, None)]
    [warning] = [r for r in caplog.records if r.name == "services.face_collection"]
    assert warning.levelno == logging.WARNING and F1 in warning.getMessage()

    # Faces IndexFaces indexed below min_confidence whose delete fails: the analysis still succeeds (failing
    # it would index the image again), and the FaceIds are named in a warning.
    caplog.clear()
    analyzer = services.analyzers.get("faces", "rekognition")
    stub.add_response("create_collection", CREATED, {"CollectionId": cid})
    stub.add_response(
        "index_faces", indexed([record(G1, a, 99.0), record(H1, a, 30.0)]), index_params(tenant, a)
    )
    stub.add_client_error("delete_faces", service_error_code="AccessDeniedException")
    with caplog.at_level(logging.WARNING):
        found = await analyzer.analyze(await analysis_input(services, tenant, a), {"min_confidence": 50})
    assert [f.face_id for f in found.faces] == [G1]
    [warning] = [r for r in caplog.records if r.name == "indexer.recognizers.rekognition.faces"]
    assert warning.levelno == logging.WARNING and H1 in warning.getMessage()


def listed(*faces: tuple[str, str], token: str | None = None) -> dict[str, Any]:
    """A ListFaces page of (FaceId, ExternalImageId) faces."""
    page: dict[str, Any] = {
        "Faces": [
            {
                "FaceId": fid,
                "BoundingBox": bbox(),
                "ImageId": face_id(10_002),
                "ExternalImageId": asset_id,
                "Confidence": 99.0,
            }
            for fid, asset_id in faces
        ],
        "FaceModelVersion": "7.0",
    }
    if token:
        page["NextToken"] = token
    return page


async def test_sweep_deletes_the_face_ids_the_catalog_does_not_know(
    services: Services, client: Any, stub: AioStubber
) -> None:
    tenant = await rekognition_tenant(services, client)
    cid = PREFIX + tenant
    a = await register(services, tenant, (9, 9, 9), "a.jpg")
    b = await register(services, tenant, (90, 9, 9), "b.jpg")
    gone = "0190a0c4-7d2e-7c3b-8f00-0123456789ab"  # an asset the catalog never had
    boxes = [BoundingBox(0.1, 0.1, 0.2, 0.2), BoundingBox(0.6, 0.1, 0.2, 0.2)]
    await services.faces.index_faces(tenant, a, [(), ()], boxes=boxes, face_ids=[F1, F2])
    waited: list[float] = []

    async def grace(seconds: float) -> None:  # meanwhile, b's analysis completes and stores H1
        waited.append(seconds)
        await services.faces.index_faces(tenant, b, [()], boxes=boxes[:1], face_ids=[H1])

    stub.add_response(
        "list_faces",
        listed((F1, a), (ORPHAN, a), token="page-2"),
        {"CollectionId": cid, "MaxResults": 4096},
    )
    stub.add_response(
        "list_faces",
        listed((F2, a), (G1, gone), (H1, b)),
        {"CollectionId": cid, "MaxResults": 4096, "NextToken": "page-2"},
    )
    stub.add_response(
        "delete_faces", {"DeletedFaces": [ORPHAN, G1]}, {"CollectionId": cid, "FaceIds": [ORPHAN, G1]}
    )
    assert await services.faces.sweep_orphans(tenant, grace_seconds=30, sleep=grace) == [ORPHAN, G1]
    assert waited == [30]

    # Nothing unknown: nothing deleted, no waiting; a tenant without a collection has nothing to sweep.
    stub.add_response(
        "list_faces", listed((F1, a), (F2, a), (H1, b)), {"CollectionId": cid, "MaxResults": 4096}
    )
    assert await services.faces.sweep_orphans(tenant, sleep=grace) == []
    stub.add_client_error("list_faces", service_error_code="ResourceNotFoundException")
    assert await services.faces.sweep_orphans(tenant, sleep=grace) == []
    assert waited == [30]


async def test_outages_and_vanished_collections(client: Any, stub: AioStubber) -> None:
    async def no_sleep(delay: float) -> None:
        pass

    collections = RekognitionFaceCollections(
        client,
        prefix="ms-",
        buckets=TokenBucket(1000.0, burst=1000),
        retry=Retry(attempts=2, sleep=no_sleep),
    )
    # Retries spent on a 5xx: the port's RemoteUnavailable, which says to try again later.
    for _ in range(2):
        stub.add_client_error(
            "search_faces", service_error_code="ServiceUnavailableException", http_status_code=503
        )
    with pytest.raises(RemoteUnavailable, match="try again"):
        await collections.search_face("t", F1, min_similarity=80.0, limit=5)

    # Known to exist, then deleted behind our back: no faces to match, and the next use creates it again.
    search = {"CollectionId": "ms-t", "Image": {"Bytes": ANY}, "FaceMatchThreshold": 80.0, "MaxFaces": 5}
    photo = Image.new("RGB", (100, 100))
    stub.add_response("create_collection", CREATED, {"CollectionId": "ms-t"})
    stub.add_response("search_faces_by_image", {"FaceMatches": [], "FaceModelVersion": "7.0"}, search)
    assert await collections.search_image("t", photo, min_similarity=80.0, limit=5) == []
    stub.add_client_error("search_faces_by_image", service_error_code="ResourceNotFoundException")
    assert await collections.search_image("t", photo, min_similarity=80.0, limit=5) == []
    stub.add_response("create_collection", CREATED, {"CollectionId": "ms-t"})
    stub.add_response("search_faces_by_image", {"FaceMatches": [], "FaceModelVersion": "7.0"}, search)
    assert await collections.search_image("t", photo, min_similarity=80.0, limit=5) == []
