"""Videos over HTTP: a multipart upload, the asset's media info and segments, a label search that names
the matching time ranges, the segments as WebVTT / EDL read back by FFmpeg, the proxy served to browsers."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from api.app import create_app
from bench.clips import Shot, make_clip
from indexer.recognizers.local.labels import EfficientNetLabeler
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from tests.api.test_http import bearer, upload
from tests.conftest import make_tenant

pytestmark = pytest.mark.video

ASSET = """query ($id: ID!) { asset(id: $id) {
  mediaType video { codec frameRate framesPerSecond dropFrame duration shots audio { codec } }
  segments { index start end startTimecode endTimecode keyframes labels { name confidence } frame { id } }
  shot { index }
  vtt: segmentsExport(format: WEBVTT) edl: segmentsExport(format: EDL)
  segmentDiff { start end gained lost }
  renditions { kind url width height }
  children { id relation frameTime filename mediaType labels { name } renditions { kind } } } }"""

FRAME = """query ($id: ID!) { asset(id: $id) {
  frameTime parent { filename } shot { index startTimecode endTimecode labels { name } frame { id } } } }"""

SEARCH = """query ($labels: [String!]) { search(filter: {labels: $labels, mediaTypes: ["video/mp4"]}) {
  totalCount edges { node { id } matches { label }
    segments(matching: true) { start end startTimecode endTimecode matches frame { frameTime } }
    all: segments(matching: false) { index } } } }"""

NEXT_REVIEW = "{ nextReviewTasks(count: 5) { question { label } image { url frameTime } } }"


@pytest.fixture(scope="module")
def labeler(tmp_path_factory: pytest.TempPathFactory) -> EfficientNetLabeler:
    model = EfficientNetLabeler(tmp_path_factory.mktemp("label-models"))
    model.load()
    return model


@pytest.fixture
async def video_client(
    settings: Settings, labeler: EfficientNetLabeler
) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    services = build(settings, labeler=labeler)
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield services, client
    services.close()


async def query(client: httpx.AsyncClient, key: str, q: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/graphql", headers=bearer(key), json={"query": q, "variables": variables})
    body = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


async def test_an_uploaded_video_is_searchable_by_the_time_range_of_a_label(
    video_client: tuple[Services, httpx.AsyncClient], tmp_path: Path
) -> None:
    services, client = video_client
    _, key = await make_tenant(services, "acme")
    clip = make_clip(
        tmp_path / "clip.mp4",
        [Shot("rocket", 30), Shot("chelsea", 45), Shot("coffee", 30)],
        audio=True,
    )
    payload = await upload(client, key, clip.path.read_bytes(), "clip.mp4")
    assert payload["error"] is None
    asset_id = payload["asset"]["id"]
    await services.worker().run_until_idle()

    asset = (await query(client, key, ASSET, {"id": asset_id}))["asset"]
    assert asset["mediaType"] == "video/mp4"
    assert asset["video"] == {
        "codec": "h264",
        "frameRate": "25",
        "framesPerSecond": 25.0,
        "dropFrame": False,
        "duration": pytest.approx(4.2, abs=0.05),
        "shots": 3,
        "audio": [{"codec": "aac"}],
    }
    starts = [s["start"] for s in asset["segments"]]
    assert starts == pytest.approx([0.0, 1.2, 3.0], abs=0.08)
    # one FRAME child per shot (its best keyframe, at its time), in shot order, with no analysis of its own
    frames = asset["children"]
    assert [(f["relation"], f["filename"], f["mediaType"]) for f in frames] == [
        ("FRAME", f"clip-shot00{i}.jpg", "image/jpeg") for i in (1, 2, 3)
    ]
    assert [f["frameTime"] in s["keyframes"] for f, s in zip(frames, asset["segments"], strict=True)] == [
        True
    ] * 3
    assert all(
        f["labels"] == [] and {r["kind"] for r in f["renditions"]} == {"preview", "thumbnail"} for f in frames
    )
    assert asset["segments"][1]["startTimecode"] == "00:00:01:05"
    # each shot links to its frame, and each frame says which video and shot it is from
    assert [s["frame"] for s in asset["segments"]] == [{"id": f["id"]} for f in frames]
    assert asset["shot"] is None  # the video is no keyframe
    cat_frame = (await query(client, key, FRAME, {"id": frames[1]["id"]}))["asset"]
    assert cat_frame["parent"] == {"filename": "clip.mp4"}
    assert cat_frame["shot"]["index"] == 1 and cat_frame["shot"]["startTimecode"] == "00:00:01:05"
    assert cat_frame["shot"]["frame"] == {"id": frames[1]["id"]}
    assert "Cat" in {lb["name"] for lb in cat_frame["shot"]["labels"]}  # what the shot's analysis saw
    cat_range = next(c for c in asset["segmentDiff"] if c["start"] == starts[1])  # first run: all new
    assert "Cat" in cat_range["gained"] and cat_range["end"] == starts[2] and not cat_range["lost"]

    # WebVTT read back by FFmpeg's own parser; the EDL's events start at the cuts.
    with av.open(io.BytesIO(asset["vtt"].encode()), format="webvtt") as vtt:
        cues = [(p.pts, p.duration, bytes(p).decode()) for p in vtt.demux() if p.size]
    assert [c[0] for c in cues] == [round(s * 1000) for s in starts]
    assert "Cat" in cues[1][2]
    events = [line.split() for line in asset["edl"].splitlines() if line[:3].isdigit()]
    assert [e[4] for e in events] == [s["startTimecode"] for s in asset["segments"]]

    found = (await query(client, key, SEARCH, {"labels": ["Cat"]}))["search"]
    assert found["totalCount"] == 1
    edge = found["edges"][0]
    assert edge["node"]["id"] == asset_id and len(edge["all"]) == 3
    assert [(s["startTimecode"], s["endTimecode"]) for s in edge["segments"]] == [
        ("00:00:01:05", "00:00:03:00")
    ]
    assert "Cat" in edge["segments"][0]["matches"]
    assert edge["segments"][0]["frame"] == {"frameTime": frames[1]["frameTime"]}

    durations = (
        "query ($min: Float, $max: Float) "
        "{ search(filter: {minDuration: $min, maxDuration: $max}) { totalCount } }"
    )
    assert (await query(client, key, durations, {"min": 4.0, "max": 5.0}))["search"]["totalCount"] == 1
    assert (await query(client, key, durations, {"min": 5.0}))["search"]["totalCount"] == 0

    # A reviewer asked whether the video shows a cat looks at the cat's shot, not at the rocket poster
    ask = (
        "mutation ($ids: [ID!]!, $l: String) { requestReview(assetIds: $ids, label: $l) { error { code } } }"
    )
    for label in ("Cat", "Espresso", "Unicorn"):  # the last: no shot shows it
        assert (await query(client, key, ask, {"ids": [asset_id], "l": label}))["requestReview"][
            "error"
        ] is None
    add = 'mutation { addReviewer(name: "Ann") { secret } }'
    reviewer = (await query(client, key, add, {}))["addReviewer"]["secret"]
    items = (await query(client, reviewer, NEXT_REVIEW, {}))["nextReviewTasks"]
    pictures = {item["question"]["label"]: item["image"] for item in items}
    shown = {label: pictures[label]["frameTime"] for label in pictures}
    assert shown == {"Cat": frames[1]["frameTime"], "Espresso": frames[2]["frameTime"], "Unicorn": None}
    assert f"/renditions/{frames[1]['id']}/preview?" in pictures["Cat"]["url"]
    assert f"/renditions/{asset_id}/preview?" in pictures["Unicorn"]["url"]  # the poster

    # The proxy plays: a signed URL serves an H.264 MP4.
    proxy = next(r for r in asset["renditions"] if r["kind"] == "proxy")
    response = await client.get(proxy["url"].removeprefix("http://testserver"))
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    seek = await client.get(proxy["url"].removeprefix("http://testserver"), headers={"Range": "bytes=1000-"})
    assert seek.status_code == 206 and seek.content == response.content[1000:]
    with av.open(io.BytesIO(response.content)) as played:
        assert played.streams.video[0].codec_context.name == "h264"


async def test_a_truncated_video_upload_is_refused_with_its_code(
    video_client: tuple[Services, httpx.AsyncClient], tmp_path: Path
) -> None:
    services, client = video_client
    _, key = await make_tenant(services, "acme")
    clip = make_clip(tmp_path / "clip.mp4", [Shot("rocket", 50), Shot("coffee", 50)])
    data = clip.path.read_bytes()
    payload = await upload(client, key, data[: len(data) - 3000], "clip.mp4")
    assert payload["asset"] is None and payload["error"]["code"] == "TRUNCATED"
    assert "Upload the complete file again" in payload["error"]["message"]


async def test_videos_have_their_own_size_limit_and_stream_to_storage(
    settings: Settings, labeler: EfficientNetLabeler, tmp_path: Path
) -> None:
    """A video far over the image limit is accepted (it is copied to a file a chunk at a time, never read
    whole); over the video limit it is refused with the setting to raise."""
    clip = make_clip(tmp_path / "clip.mp4", [Shot("rocket", 25), Shot("coffee", 25)])
    data = clip.path.read_bytes()
    assert len(data) > 20_000
    for max_video, expected in [(len(data) * 2, None), (len(data) - 1, "TOO_LARGE_BYTES")]:
        small = Settings(
            **{
                **settings.model_dump(),
                "data_dir": tmp_path / f"data-{max_video}",
                "max_upload_bytes": 2_000,
                "max_video_bytes": max_video,
            }
        )
        services = build(small, labeler=labeler)
        try:
            tenant_id, key = await make_tenant(services, "acme")
            transport = httpx.ASGITransport(app=create_app(services))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                image = await upload(client, key, b"\xff\xd8\xff" + b"\0" * 3_000, "big.jpg")
                assert image["error"]["code"] == "TOO_LARGE_BYTES"
                assert "MEDIASIGHT_MAX_UPLOAD_BYTES" in image["error"]["message"]
                payload = await upload(client, key, data, "clip.mp4")
                if expected is not None:
                    assert payload["asset"] is None and payload["error"]["code"] == expected
                    assert "MEDIASIGHT_MAX_VIDEO_BYTES" in payload["error"]["message"]
                    continue
                assert payload["error"] is None and payload["asset"]["filename"] == "clip.mp4"
                asset = await services.catalog.get_asset(tenant_id, payload["asset"]["id"])
                assert asset is not None and asset.size_bytes == len(data)
                assert await services.blobs.get(asset.blob_key) == data
        finally:
            services.close()


async def test_a_word_read_in_a_shot_finds_the_video_with_that_shots_time_range(
    settings: Settings, labeler: EfficientNetLabeler, tmp_path: Path
) -> None:
    services = build(settings.model_copy(update={"analyzers": "labels,text"}), labeler=labeler)
    transport = httpx.ASGITransport(app=create_app(services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            _, key = await make_tenant(services, "acme")
            shots = [
                Shot("rocket", 30),
                Shot("coffee", 40, caption="Harbour news at nine"),
                Shot("chelsea", 30),
            ]
            clip = make_clip(tmp_path / "news.mp4", shots, size=(640, 360))
            payload = await upload(client, key, clip.path.read_bytes(), "news.mp4")
            asset_id = payload["asset"]["id"]
            await services.worker().run_until_idle()
            search = """query ($text: String) { search(filter: {text: $text}) { edges { node { id }
              segments(matching: true) { startTimecode endTimecode text matches } } } }"""
            edges = (await query(client, key, search, {"text": "news at nine"}))["search"]["edges"]
            assert [e["node"]["id"] for e in edges] == [asset_id]
            assert edges[0]["segments"] == [
                {
                    "startTimecode": "00:00:01:05",
                    "endTimecode": "00:00:02:20",
                    "text": "Harbour news at nine",
                    "matches": ["text: news at nine"],
                }
            ]
            free = await query(
                client, key, search.replace("filter: {text: $text}", "query: $text"), {"text": "harbour"}
            )
            assert [e["node"]["id"] for e in free["search"]["edges"]] == [asset_id]
    finally:
        services.close()
