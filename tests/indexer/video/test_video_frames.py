"""A video's keyframes as FRAME children: registered once (content-addressed), replaced when an analysis
picks other keyframes, kept when someone hung versions under them."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.domain.model import Asset, VersionRelation
from indexer.video.video_frames import VideoFrames
from indexer.video.video_work import Keyframe
from mediasight.bootstrap import Services
from services.versions import VersionError
from tests.conftest import jpeg_bytes, make_tenant


def still(folder: Path, shot: int, time: float, grey: int) -> Keyframe:
    path = folder / f"{shot}-{grey}.jpg"
    path.write_bytes(jpeg_bytes((grey, grey, grey), (64, 36)))
    return Keyframe(shot, time, path)


@pytest.fixture
async def video(services: Services) -> Asset:
    """An asset of a tenant to hang frames under (its bytes do not matter to VideoFrames)."""
    tenant, _ = await make_tenant(services, "acme")
    outcome = await services.ingestor.ingest(tenant, jpeg_bytes((10, 200, 10)), "interview.mp4")
    assert outcome.asset is not None
    return outcome.asset


async def test_analysing_again_keeps_unchanged_frames_and_replaces_the_others(
    services: Services, video: Asset, tmp_path: Path
) -> None:
    tenant = video.tenant_id
    frames = VideoFrames(services.catalog, services.blobs, services.cpu)
    first = await frames.store(video, [still(tmp_path, 0, 0.4, 40), still(tmp_path, 1, 2.2, 80)])
    assert [(f.filename, f.frame_time, f.relation) for f in first] == [
        ("interview-shot001.jpg", 0.4, VersionRelation.FRAME),
        ("interview-shot002.jpg", 2.2, VersionRelation.FRAME),
    ]
    assert await frames.store(video, [still(tmp_path, 0, 0.4, 40), still(tmp_path, 1, 2.2, 80)]) == first

    again = await frames.store(video, [still(tmp_path, 0, 0.4, 40), still(tmp_path, 1, 2.6, 120)])
    assert again[0] == first[0] and again[1].id != first[1].id and again[1].frame_time == 2.6
    children = (await services.catalog.get_children(tenant, [video.id]))[video.id]
    assert [c.id for c in children] == [a.id for a in again]
    gone = first[1]
    for key in (gone.blob_key, *(r.blob_key for r in gone.renditions)):
        with pytest.raises(FileNotFoundError):
            await services.blobs.get(key)
    assert await services.blobs.get(again[0].blob_key)


async def test_a_frame_with_versions_of_its_own_stays_and_needs_a_cascade(
    services: Services, video: Asset, tmp_path: Path
) -> None:
    tenant = video.tenant_id
    frames = VideoFrames(services.catalog, services.blobs, services.cpu)
    (frame,) = await frames.store(video, [still(tmp_path, 0, 0.4, 40)])
    # A crop under a keyframe, as an older release let one be made (ingest and createVersion now refuse
    # a keyframe as the parent): linked in the catalog directly.
    crop = await services.ingestor.ingest(tenant, jpeg_bytes((5, 5, 250)), "crop.jpg")
    assert crop.asset is not None
    await services.catalog.set_parent(tenant, crop.asset.id, frame.id, VersionRelation.CROP)
    assert await frames.store(video, [still(tmp_path, 0, 0.8, 90)])  # another keyframe for the shot
    children = (await services.catalog.get_children(tenant, [video.id]))[video.id]
    assert frame.id in {c.id for c in children} and len(children) == 2

    # Deleting the video: its other frame goes along on its own, the one with a crop under it needs cascade.
    with pytest.raises(VersionError) as refused:
        await services.versions.delete(tenant, video.id, cascade=False)
    assert refused.value.code == "HAS_CHILDREN" and "2 descendant versions" in str(refused.value)
    deleted = await services.versions.delete(tenant, video.id, cascade=True)
    assert set(deleted) == {video.id, crop.asset.id, *(c.id for c in children)}
