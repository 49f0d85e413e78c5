"""A video through the product: ingest (from a file and from bytes), the worker's renditions and segment
analysis with the real shot model and labeler, the index, reprocess, and typed refusals."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import av
import pytest
from PIL import Image

from bench.clips import Shot, make_clip
from catalog.domain.model import ReprocessBatch, Stage, VersionRelation
from catalog.domain.ports import SearchQuery
from catalog.domain.video.findings import VIDEO, matching_segments
from indexer.analyzers import AnalyzerChoice
from indexer.recognizers.local.labels import EfficientNetLabeler
from indexer.video.video_pipeline import segment_choice, with_person_faces
from mediasight.bootstrap import Services
from mediasight.settings import Settings
from services.reprocessing.requests import ReprocessError, ReprocessRequest
from tests.conftest import make_tenant

pytestmark = pytest.mark.video


@pytest.fixture
async def video_services(settings: Settings, labeler: EfficientNetLabeler) -> AsyncIterator[Services]:
    from mediasight.bootstrap import build

    svc = build(settings, labeler=labeler)
    yield svc
    svc.close()


async def test_a_video_is_ingested_analysed_per_shot_and_found_by_label(
    video_services: Services, tmp_path: Path
) -> None:
    services = video_services
    tenant, _ = await make_tenant(services, "acme")
    clip = make_clip(tmp_path / "pets.mp4", [Shot("chelsea", 40), Shot("coffee", 40), Shot("rocket", 40)])
    outcome = await services.ingestor.ingest_file(tenant, clip.path, "pets.mp4")
    assert outcome.status == "new" and outcome.asset is not None
    assert outcome.asset.media_type == "video/mp4" and (outcome.asset.width, outcome.asset.height) == (
        320,
        180,
    )
    assert outcome.asset.size_bytes == clip.path.stat().st_size
    await services.worker().run_until_idle()

    asset = await services.catalog.get_asset(tenant, outcome.asset.id)
    assert asset is not None and asset.status == Stage.INDEXED, asset and asset.error
    kinds = {r.kind: r for r in asset.renditions}
    assert set(kinds) == {"preview", "thumbnail", "strip", "proxy"}
    assert kinds["proxy"].media_type == "video/mp4" and (kinds["proxy"].width, kinds["proxy"].height) == (
        320,
        180,
    )
    proxy = tmp_path / "proxy.mp4"
    await services.blobs.get_file(kinds["proxy"].blob_key, proxy)
    with av.open(str(proxy)) as played:
        assert played.streams.video[0].codec_context.name == "h264"
        assert sum(1 for _ in played.decode(video=0)) == clip.frames
    assert kinds["strip"].width == 3 * 160  # one tile per shot

    run = await services.catalog.get_result(tenant, asset.id, VIDEO)
    assert run is not None and run.findings.video is not None
    video = run.findings.video
    assert video.info.frame_rate == "25" and video.info.duration == pytest.approx(4.8, abs=0.05)
    assert [s.start_frame for s in video.segments] == pytest.approx([0, 40, 80], abs=2)
    assert "Cat" in {lb.name for lb in video.segments[0].labels}
    assert "Cat" not in {lb.name for s in video.segments[1:] for lb in s.labels}
    assert video.segments[1].start_timecode == "00:00:01:15"

    page = await services.index.search(tenant, SearchQuery(labels=("Cat",)))
    assert [h.asset_id for h in page.hits] == [asset.id]
    videos = await services.index.search(tenant, SearchQuery(media_types=("video/mp4",)))
    assert [h.asset_id for h in videos.hits] == [asset.id]

    # Each shot's best keyframe is a FRAME child, at a keyframe time of its shot, with renditions and no
    # analysis or index document of its own.
    frames = (await services.catalog.get_children(tenant, [asset.id]))[asset.id]
    assert [f.relation for f in frames] == [VersionRelation.FRAME] * 3
    assert [f.frame_time in s.keyframes for f, s in zip(frames, video.segments, strict=True)] == [True] * 3
    assert [f.status for f in frames] == [Stage.INDEXED] * 3 and frames[0].filename == "pets-shot001.jpg"
    assert {r.kind for r in frames[0].renditions} == {"preview", "thumbnail"}
    with Image.open(io.BytesIO(await services.blobs.get(frames[0].blob_key))) as still:
        assert still.size == (320, 180)
    assert await services.catalog.get_results(tenant, [f.id for f in frames]) == {}
    assert await services.index.count(tenant) == 1

    # Reprocessing the labels runs the segment analysis again: a new run of the batch, same segments.
    batch = await services.reprocess.start(tenant, [asset.id], ReprocessRequest(analyzers=("labels",)))
    assert isinstance(batch, ReprocessBatch)
    await services.worker().run_until_idle()
    runs = (await services.catalog.runs_of(tenant, [asset.id], VIDEO))[asset.id]
    assert len(runs) == 2 and runs[0].batch_id == batch.id
    assert runs[0].change is not None and not runs[0].change.changed
    assert (await services.catalog.get_children(tenant, [asset.id]))[asset.id] == frames  # the same ones

    # A frame is not analysed on its own (a batch of it is refused, naming the video); deleting the video
    # (no cascade needed) takes its frames along.
    with pytest.raises(ReprocessError) as refused:
        await services.reprocess.start(tenant, [frames[0].id], ReprocessRequest(analyzers=("labels",)))
    assert refused.value.code == "KEYFRAME" and f"keyframe of the video {asset.id}" in str(refused.value)
    assert [b.id for b in await services.catalog.list_batches(tenant, limit=5)] == [batch.id]
    assert await services.catalog.get_results(tenant, [frames[0].id]) == {}
    deleted = await services.versions.delete(tenant, asset.id, cascade=False)
    assert set(deleted) == {asset.id, *(f.id for f in frames)}
    assert await services.catalog.get_assets(tenant, deleted) == {}
    for key in (k for f in frames for k in (f.blob_key, *(r.blob_key for r in f.renditions))):
        with pytest.raises(FileNotFoundError):
            await services.blobs.get(key)


async def test_a_video_uploaded_as_bytes_is_stored_whole(video_services: Services, tmp_path: Path) -> None:
    tenant, _ = await make_tenant(video_services, "acme")
    clip = make_clip(tmp_path / "a.mkv", [Shot("rocket", 20)], container="matroska")
    data = clip.path.read_bytes()
    outcome = await video_services.ingestor.ingest(tenant, data, "a.mkv")
    assert outcome.status == "new" and outcome.asset is not None
    assert outcome.asset.media_type == "video/x-matroska"
    assert await video_services.blobs.get(outcome.asset.blob_key) == data


@pytest.mark.parametrize(
    ("cut", "code"), [(0, "empty"), (3000, "truncated")], ids=["zero-length", "truncated"]
)
async def test_hostile_videos_are_refused_with_their_code_and_leave_nothing(
    video_services: Services, settings: Settings, tmp_path: Path, cut: int, code: str
) -> None:
    tenant, _ = await make_tenant(video_services, "acme")
    clip = make_clip(tmp_path / "a.mp4", [Shot("rocket", 50), Shot("coffee", 50)])
    data = clip.path.read_bytes()
    cut_path = tmp_path / "cut.mp4"
    cut_path.write_bytes(data[: len(data) - cut] if cut else b"")
    outcome = await video_services.ingestor.ingest_file(tenant, cut_path, "cut.mp4")
    assert outcome.status == "rejected" and outcome.code == code, outcome
    assert not [p for p in settings.blob_dir.rglob("*") if p.is_file()]  # nothing stored
    page = await video_services.index.search(tenant, SearchQuery())
    assert page.total == 0


async def test_text_objects_and_moderation_of_each_shot_and_search_by_a_word_read(
    settings: Settings, labeler: EfficientNetLabeler, tmp_path: Path
) -> None:
    """The tenant's text, objects and moderation analyzers (the real local models) see every shot's
    keyframes: a caption read in the second shot finds the video, in that shot's time range only."""
    from mediasight.bootstrap import build

    services = build(
        settings.model_copy(update={"analyzers": "labels,text,objects,moderation"}), labeler=labeler
    )
    try:
        tenant, _ = await make_tenant(services, "acme")
        shots = [Shot("chelsea", 40), Shot("coffee", 40, caption="Harbour news at nine"), Shot("rocket", 40)]
        clip = make_clip(tmp_path / "news.mp4", shots, size=(640, 360))
        outcome = await services.ingestor.ingest_file(tenant, clip.path, "news.mp4")
        assert outcome.asset is not None
        await services.worker().run_until_idle()
        run = await services.catalog.get_result(tenant, outcome.asset.id, VIDEO)
        assert run is not None and run.findings.video is not None
        cat, news, rocket = run.findings.video.segments
        assert news.text == "Harbour news at nine"
        assert (cat.text, rocket.text) == ("", "")  # no stray glyph of the photos counts as text
        assert "Cup" in {lb.name for lb in news.objects}
        assert not any(s.moderation for s in (cat, news, rocket))
        assert set(run.parameters["segments"]) == {"objects", "text", "moderation"}  # type: ignore[arg-type]
        # the rocket shot: nothing is sure of it (neither its keyframes nor the detector), so it is a
        # tentative Missile as the rocket photo is, and the video is found by it in that shot (a guess: by
        # a label filter that asks for guesses)
        assert {"Missile", "Weapon"} <= {lb.name for lb in rocket.labels}
        assert all(lb.confidence < 50 for lb in (*rocket.labels, *rocket.objects))
        missile = await services.index.search(tenant, SearchQuery(labels=("Missile",), include_guesses=True))
        assert [h.asset_id for h in missile.hits] == [outcome.asset.id]
        assert not (await services.index.search(tenant, SearchQuery(labels=("Missile",)))).hits
        shots = matching_segments(run.findings.video.segments, ["Missile"])
        assert [s.index for s, _ in shots] == [rocket.index]
        assert run.parameters["tentative_confidence"] == 25.0

        page = await services.index.search(tenant, SearchQuery(phrase="news at nine"))
        assert [h.asset_id for h in page.hits] == [outcome.asset.id]
        found = matching_segments(run.findings.video.segments, [], phrases=["harbour news"])
        assert [(s.start_frame, s.end_frame) for s, _ in found] == [(news.start_frame, news.end_frame)]
        assert not (await services.index.search(tenant, SearchQuery(phrase="weather"))).hits
    finally:
        services.close()


def test_a_video_analysed_again_runs_its_local_faces_again() -> None:
    """The faces run holds the persons of the current video analysis (person-k is face k-1): when a batch
    analyses the video again, its local faces run follows even if the batch did not ask for faces."""
    tenant = AnalyzerChoice(("labels", "faces"), {})
    labels_only = AnalyzerChoice(("labels",), {"labels": "local"})
    again = with_person_faces(labels_only, segment_choice(tenant, labels_only))
    assert again.analyzers == ("labels", "faces") and again.provider_of("faces") == "local"
    assert with_person_faces(tenant, tenant) == tenant
    cloud = AnalyzerChoice(("labels", "faces"), {"faces": "rekognition"})  # poster faces: not re-run
    assert with_person_faces(labels_only, segment_choice(cloud, labels_only)) == labels_only
    no_faces = AnalyzerChoice(("labels",), {})
    assert with_person_faces(labels_only, no_faces) == labels_only
