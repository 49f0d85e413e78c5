"""A video's persons in the tenant's face collection, over HTTP with the real models: the video's faces run
holds one face per person its shots show (person-k is faceIndex k-1); naming a person on a photo names
them in the video too (a face match), naming one on the video names a photo ingested later, and a search
by the name finds the video with the time ranges that person is in."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import aioboto3
import httpx
import pytest
from aiobotocore.stub import AioStubber
from botocore.stub import ANY

from api.app import create_app
from bench.clips import Shot, make_clip, photo
from catalog.domain.model import TenantConfig
from catalog.domain.video.findings import VIDEO_PERSONS
from indexer.recognizers.local.labels import EfficientNetLabeler
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from tests.api.test_http import upload
from tests.api.test_video_graphql import labeler, query
from tests.conftest import make_tenant
from tests.indexer.recognizers.rekognition.stubs import (
    CREATED,
    PREFIX,
    face_id,
    index_params,
    indexed,
    matches,
    record,
    search_params,
    use_rekognition,
)

pytestmark = pytest.mark.video
__all__ = ["labeler"]  # the module's fixture: the real classifier, loaded once

FACES = """query ($id: ID!) { asset(id: $id) {
  faces { faceIndex time boundingBox { width } person { name } }
  video { people }
  segments { index start end faces } } }"""

NAME = """mutation ($id: ID!, $i: Int!, $name: String!) {
  nameFace(assetId: $id, faceIndex: $i, name: $name) { facesNamed error { code message } } }"""

BY_PERSON = """query ($persons: [String!], $query: String) {
  search(query: $query, filter: {persons: $persons, mediaTypes: ["video/mp4"]}) {
    totalCount edges { node { id } segments(matching: true) { index start end faces matches } } } }"""


@pytest.fixture
async def faces_client(
    settings: Settings, labeler: EfficientNetLabeler
) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    services = build(settings.model_copy(update={"analyzers": "labels,faces"}), labeler=labeler)
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield services, client
    services.close()


def jpeg(name: str) -> bytes:
    out = io.BytesIO()
    photo(name).save(out, "JPEG", quality=92)
    return out.getvalue()


async def test_video_persons_are_named_like_photo_faces_and_found_by_name_with_their_time_ranges(
    faces_client: tuple[Services, httpx.AsyncClient], tmp_path: Path
) -> None:
    services, client = faces_client
    _, key = await make_tenant(services, "acme")
    # Two persons: the astronaut (shots 0 and 2) and the cameraman (shot 3); no face in shot 1.
    shots = [Shot("astronaut", 30), Shot("rocket", 30), Shot("astronaut", 30), Shot("camera", 30)]
    clip = make_clip(tmp_path / "interview.mp4", shots, size=(512, 512))
    video_id = (await upload(client, key, clip.path.read_bytes(), "interview.mp4"))["asset"]["id"]
    photo_id = (await upload(client, key, jpeg("astronaut"), "astronaut.jpg"))["asset"]["id"]
    await services.worker().run_until_idle()

    asset = (await query(client, key, FACES, {"id": video_id}))["asset"]
    assert asset["video"]["people"] == 2
    assert [s["faces"] for s in asset["segments"]] == [["person-1"], [], ["person-1"], ["person-2"]]
    astronaut, cameraman = asset["faces"]  # person-k is faceIndex k-1, each from a shot that shows them
    assert astronaut["faceIndex"] == 0 and astronaut["person"] is None
    starts = [s["start"] for s in asset["segments"]]
    assert astronaut["time"] < starts[1] or starts[2] <= astronaut["time"] < starts[3]
    assert (
        cameraman["time"] >= starts[3]
        and cameraman["boundingBox"]["width"] < astronaut["boundingBox"]["width"]
    )
    # The photo's own face is no video face: it has no time.
    assert [f["time"] for f in (await query(client, key, FACES, {"id": photo_id}))["asset"]["faces"]] == [
        None
    ]

    # Named on the photo: the video's matching person gets the name (and is re-indexed with it).
    named = (await query(client, key, NAME, {"id": photo_id, "i": 0, "name": "Eileen Collins"}))["nameFace"]
    assert named == {"facesNamed": 2, "error": None}
    await services.worker().run_until_idle()
    asset = (await query(client, key, FACES, {"id": video_id}))["asset"]
    assert [f["person"] for f in asset["faces"]] == [{"name": "Eileen Collins"}, None]
    assert [s["faces"] for s in asset["segments"]] == [
        ["Eileen Collins"],
        [],
        ["Eileen Collins"],
        ["person-2"],
    ]

    found = (await query(client, key, BY_PERSON, {"persons": ["eileen collins"]}))["search"]
    assert found["totalCount"] == 1 and found["edges"][0]["node"]["id"] == video_id
    ranges = found["edges"][0]["segments"]
    assert [(s["index"], s["start"], s["end"]) for s in ranges] == [
        (s["index"], s["start"], s["end"]) for s in asset["segments"] if "Eileen Collins" in s["faces"]
    ]
    assert {m for s in ranges for m in s["matches"]} == {"person: Eileen Collins"}

    # Named on the video: a photo of that person ingested later is named when it is indexed (late naming).
    named = (await query(client, key, NAME, {"id": video_id, "i": 1, "name": "The Cameraman"}))["nameFace"]
    assert named == {"facesNamed": 1, "error": None}
    later_id = (await upload(client, key, jpeg("camera"), "camera.jpg"))["asset"]["id"]
    await services.worker().run_until_idle()
    later = (await query(client, key, FACES, {"id": later_id}))["asset"]
    assert [f["person"] for f in later["faces"]] == [{"name": "The Cameraman"}]
    by_query = (await query(client, key, BY_PERSON, {"query": "The Cameraman"}))["search"]
    assert [e["node"]["id"] for e in by_query["edges"]] == [video_id]
    assert [s["index"] for s in by_query["edges"][0]["segments"]] == [3]

    # A face index past the video's persons is refused with a typed error, not a crash.
    wrong = (await query(client, key, NAME, {"id": video_id, "i": 2, "name": "Nobody"}))["nameFace"]
    assert wrong["error"]["code"] == "NO_SUCH_FACE"


async def test_a_tenant_on_rekognition_faces_keeps_its_posters_faces_and_video_local_persons(
    faces_client: tuple[Services, httpx.AsyncClient], tmp_path: Path, aws_env: None
) -> None:
    """The video's persons are dlib vectors, which a Rekognition collection cannot hold: the tenant's faces
    run is its poster's (indexed on Rekognition), and the segments keep person-1, ... (no error)."""
    services, client = faces_client
    tenant, key = await make_tenant(services, "cloud")
    await services.catalog.set_tenant_config(
        tenant, TenantConfig(analyzers=("faces",), providers={"faces": "rekognition"})
    )
    clip = make_clip(tmp_path / "a.mp4", [Shot("astronaut", 30), Shot("rocket", 30)], size=(512, 512))
    async with aioboto3.Session().client("rekognition", region_name="us-east-1") as rekognition:
        use_rekognition(services, rekognition)
        with AioStubber(rekognition) as stub:
            video_id = (await upload(client, key, clip.path.read_bytes(), "a.mp4"))["asset"]["id"]
            stub.add_response("create_collection", CREATED, {"CollectionId": PREFIX + tenant})
            stub.add_response(
                "index_faces", indexed([record(face_id(1), video_id, 99.0)]), index_params(tenant, ANY)
            )
            stub.add_response("search_faces", matches(face_id(1)), search_params(tenant, face_id(1), 20))
            await services.worker().run_until_idle()
            stub.assert_no_pending_responses()
    asset = (await query(client, key, FACES, {"id": video_id}))["asset"]
    assert [f["time"] for f in asset["faces"]] == [None]  # the poster's face
    assert [s["faces"] for s in asset["segments"]] == [["person-1"], []]
    run = await services.catalog.get_result(tenant, video_id, "faces")
    assert run is not None and run.provider == "rekognition" and VIDEO_PERSONS not in run.parameters
