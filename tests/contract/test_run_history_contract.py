"""RunHistory contract: immutable runs, current results of every findings type, as-of reads and the change
feed, on every catalog adapter (SQLite, DynamoDB Local)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from catalog.domain.clock import utcnow
from catalog.domain.ids import uuid7
from catalog.domain.model import (
    BoundingBox,
    DominantColor,
    Face,
    FeatureVector,
    Findings,
    ImageProperties,
    Instance,
    Label,
    Landmark,
    ModerationLabel,
    RecognitionResult,
    RunChange,
    RunStatus,
    Stage,
    TextDetection,
)
from catalog.domain.ports import CatalogStore
from catalog.domain.video.findings import VideoFindings
from catalog.domain.video.media import AudioStream, VideoInfo
from catalog.domain.video.segments import Segment
from catalog.domain.video.timecode import FrameRate, to_timecode
from tests.contract.catalogs import T0, backend, catalog, new_asset, tenants

__all__ = ["backend", "catalog"]


def run(asset_id: str, minutes: int, *labels: str, version: str = "1", **changes: Any) -> RecognitionResult:
    fields: dict[str, Any] = {
        "id": uuid7(),
        "asset_id": asset_id,
        "analyzer": "labels",
        "model_name": "m",
        "model_version": version,
        "findings": Findings(labels=tuple(Label(n, 90.0 - i) for i, n in enumerate(labels))),
        "created_at": T0 + timedelta(minutes=minutes),
        "finished_at": T0 + timedelta(minutes=minutes, seconds=1),
    }
    return RecognitionResult(**(fields | changes))


def bare(r: RecognitionResult | None) -> RecognitionResult | None:
    """The run as saved, without the change summary the store computed for it."""
    return dataclasses.replace(r, change=None) if r else None


async def test_an_analysis_saves_its_runs_and_features_at_once(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    asset, _ = await catalog.register_asset(new_asset(a, "4" * 64))
    labels = run(asset.id, 0, "Dog")
    text = run(asset.id, 0, analyzer="text", findings=Findings())
    vector = FeatureVector("fm/1", b"\x01\x02" * 4)
    changes = await catalog.save_analysis(a, asset.id, [labels, text], features=vector, stage=Stage.ANALYZED)
    assert len(changes) == 2 and all(c is not None and c.changed for c in changes)  # first runs: changes
    assert bare(await catalog.get_result(a, asset.id, "labels")) == labels
    assert bare(await catalog.get_result(a, asset.id, "text")) == text
    assert await catalog.get_features(a, [asset.id], "fm/1") == {asset.id: vector.data}
    assert await catalog.get_features(b, [asset.id], "fm/1") == {}  # the tenant's own, in the store
    stored = await catalog.get_asset(a, asset.id)
    assert stored is not None and stored.status == Stage.ANALYZED
    again = await catalog.save_analysis(a, asset.id, [run(asset.id, 10, "Dog")])  # same labels: no change
    assert [c is not None and c.changed for c in again] == [False]
    assert await catalog.save_analysis(a, asset.id, [], stage=Stage.INDEXED) == []
    stored = await catalog.get_asset(a, asset.id)
    assert stored is not None and stored.status == Stage.INDEXED


async def test_runs_are_appended_and_the_latest_success_is_current(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    asset, _ = await catalog.register_asset(new_asset(a, "1" * 64))
    first = run(asset.id, 0, "Dog")
    second = run(asset.id, 10, "Cat", version="2")
    failed = run(asset.id, 20, status=RunStatus.FAILED, error="TimeoutError: slow")
    for r in (first, second, failed):
        await catalog.save_result(a, r)
    assert bare(await catalog.get_result(a, asset.id, "labels")) == second
    assert [r.id for r in (await catalog.runs_of(a, [asset.id])).get(asset.id, [])] == [
        failed.id,
        second.id,
        first.id,
    ]
    assert [r.id for r in (await catalog.runs_of(a, [asset.id], "labels", limit=2)).get(asset.id, [])] == [
        failed.id,
        second.id,
    ]
    assert (await catalog.runs_of(a, [asset.id], "faces")).get(asset.id, []) == []
    found = await catalog.get_runs(a, asset.id, [first.id, failed.id])
    assert {k: bare(v) for k, v in found.items()} == {first.id: first, failed.id: failed}

    late = run(asset.id, 5, "Bird")  # finished before the current one: history only
    await catalog.save_result(a, late)
    assert bare(await catalog.get_result(a, asset.id, "labels")) == second
    assert len((await catalog.runs_of(a, [asset.id])).get(asset.id, [])) == 4

    # another tenant, or another asset, addresses nothing
    other, _ = await catalog.register_asset(new_asset(a, "2" * 64))
    assert await catalog.get_runs(b, asset.id, [first.id]) == {}
    assert await catalog.get_runs(a, other.id, [first.id]) == {}
    assert (await catalog.runs_of(b, [asset.id])).get(asset.id, []) == []
    assert await catalog.get_results(b, [asset.id]) == {}


async def test_results_as_of_a_time(catalog: CatalogStore) -> None:
    [a] = await tenants(catalog, "a")
    asset, _ = await catalog.register_asset(new_asset(a, "1" * 64))
    first, second = run(asset.id, 0, "Dog"), run(asset.id, 10, "Cat")
    await catalog.save_result(a, first)
    await catalog.save_result(a, second)
    await catalog.save_result(a, run(asset.id, 20, status=RunStatus.FAILED, error="x"))

    def labels_at(minutes: int) -> Any:
        return catalog.get_results(a, [asset.id], as_of=T0 + timedelta(minutes=minutes))

    assert await labels_at(-1) == {}
    assert (await labels_at(5))[asset.id]["labels"].id == first.id
    assert (await labels_at(15))[asset.id]["labels"].id == second.id
    assert (await labels_at(30))[asset.id]["labels"].id == second.id
    by_then = await catalog.runs_of(a, [asset.id], limit=1, finished_by=T0 + timedelta(minutes=5))
    assert [r.id for r in by_then[asset.id]] == [first.id]


async def test_change_feed(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    one, _ = await catalog.register_asset(new_asset(a, "1" * 64))
    two, _ = await catalog.register_asset(new_asset(a, "2" * 64))
    start = utcnow()
    first = await catalog.save_result(a, run(one.id, 0, "Dog"))
    assert first is not None and first.changed and first.previous_run_id is None
    between = utcnow()
    await catalog.save_result(a, run(two.id, 1, "Cat"))
    # a rerun that found the same changes nothing and does not move the asset
    same = await catalog.save_result(a, run(one.id, 2, "Dog"))
    assert same is not None and not same.changed

    feed = await catalog.changed_assets(a, start, after=None, limit=10)
    assert [c.asset_id for c in feed] == [one.id, two.id]
    assert start <= feed[0].changed_at <= between <= feed[1].changed_at  # stamped when written
    assert await catalog.changed_assets(b, start, after=None, limit=10) == []
    assert [c.asset_id for c in await catalog.changed_assets(a, between, after=None, limit=10)] == [two.id]
    page = await catalog.changed_assets(a, start, after=None, limit=1)
    rest = await catalog.changed_assets(a, start, after=(page[0].changed_at, page[0].asset_id), limit=10)
    assert [c.asset_id for c in page + rest] == [one.id, two.id]

    # a real change moves the asset to the end, once
    await catalog.save_result(a, run(one.id, 3, "Cat"))
    assert [c.asset_id for c in await catalog.changed_assets(a, start, after=None, limit=10)] == [
        two.id,
        one.id,
    ]
    await catalog.mark_changed(a, [two.id])
    assert [c.asset_id for c in await catalog.changed_assets(a, start, after=None, limit=10)] == [
        one.id,
        two.id,
    ]
    await catalog.mark_changed(b, [one.id])  # another tenant's asset: nothing happens
    assert await catalog.changed_assets(b, start, after=None, limit=10) == []


async def test_change_feed_newest_first(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    start = utcnow()
    assets = [(await catalog.register_asset(new_asset(a, f"{i}" * 64)))[0] for i in range(4)]
    for i, asset in enumerate(assets):
        await catalog.save_result(a, run(asset.id, i, "Dog"))
    between = utcnow()
    await catalog.mark_changed(a, [assets[0].id])  # moves to the head: its older entry is superseded
    await catalog.delete_asset(a, assets[2].id)  # a tombstone, newest of all

    async def newest(
        since: datetime, after: tuple[datetime, str] | None = None, limit: int = 10
    ) -> list[str]:
        found = await catalog.changed_assets(a, since, after=after, limit=limit, newest_first=True)
        return [c.asset_id for c in found]

    expected = [assets[2].id, assets[0].id, assets[3].id, assets[1].id]
    assert await newest(start) == expected
    oldest = await catalog.changed_assets(a, start, after=None, limit=10)
    assert [c.asset_id for c in oldest] == expected[::-1]  # the same entries, the other way round
    assert [c.deleted for c in oldest[::-1]] == [True, False, False, False]
    assert await newest(between) == expected[:2]  # down to `since`, not past it
    seen: list[str] = []
    after = None
    while page := await catalog.changed_assets(a, start, after=after, limit=1, newest_first=True):
        seen += [c.asset_id for c in page]
        after = (page[-1].changed_at, page[-1].asset_id)
    assert seen == expected  # cursor-paged, each once
    assert await catalog.changed_assets(b, start, after=None, limit=10, newest_first=True) == []


async def test_change_records_by_batch_and_by_model_change(catalog: CatalogStore) -> None:
    [a] = await tenants(catalog, "a")
    one, _ = await catalog.register_asset(new_asset(a, "1" * 64))
    old = run(one.id, 0, "Dog", version="1")
    await catalog.save_result(a, old)
    new = run(one.id, 5, "Cat", version="2", batch_id="B1")
    change = await catalog.save_result(a, new)
    assert change == RunChange(old.id, "1", True, ("Cat",), ("Dog",), "Dog", "Cat")
    [record] = await catalog.change_records(a, batch_id="B1")
    assert (record.asset_id, record.run_id, record.model_version) == (one.id, new.id, "2")
    assert record.change == change
    late = run(one.id, 4, "Wolf", version="2", batch_id="B1")  # finished before the current run
    assert await catalog.save_result(a, late) is None
    assert await catalog.change_records(a, batch_id="B1") == [record]  # history only: no change record
    [same] = await catalog.change_records(a, analyzer="labels", from_version="1", to_version="2")
    assert same == record
    assert await catalog.change_records(a, analyzer="labels", from_version="2", to_version="1") == []
    assert await catalog.change_records(a, batch_id="B2") == []


async def test_deleting_an_asset_deletes_its_runs(catalog: CatalogStore) -> None:
    [a] = await tenants(catalog, "a")
    asset, _ = await catalog.register_asset(new_asset(a, "1" * 64))
    for minutes in range(3):
        await catalog.save_result(a, run(asset.id, minutes, "Dog"))
    await catalog.save_result(a, run(asset.id, 4, "Cat", version="2", batch_id="B9"))
    assert len(await catalog.change_records(a, batch_id="B9")) == 1
    other, _ = await catalog.register_asset(new_asset(a, "2" * 64))
    await catalog.save_result(a, run(other.id, 5, "Cat"))
    await catalog.delete_asset(a, asset.id)
    assert (await catalog.runs_of(a, [asset.id])).get(asset.id, []) == []
    assert await catalog.get_results(a, [asset.id]) == {}
    assert await catalog.change_records(a, batch_id="B9") == []
    assert await catalog.change_records(a, analyzer="labels", from_version="1", to_version="2") == []
    # the feed keeps a tombstone, after the other asset's change, so downstream apps learn of the deletion
    feed = await catalog.changed_assets(a, T0, after=None, limit=10)
    assert [(c.asset_id, c.deleted) for c in feed] == [(other.id, False), (asset.id, True)]


def every_findings() -> dict[str, Findings]:
    box = BoundingBox(0.125, 0.25, 0.5, 0.375)
    return {
        "labels": Findings(labels=(Label("Cat", 97.5, ("Animal", "Pet")), Label("Sofa", 61.25))),
        "faces": Findings(
            faces=(
                Face(
                    box, 99.9, (Landmark("eyeLeft", 0.3, 0.4), Landmark("nose", 0.35, 0.5)), (0.1, -0.2, 0.3)
                ),
                Face(box, 88.0, person_id="p-1"),
            )
        ),
        "people": Findings(people=(Instance(box, 76.5),)),
        "objects": Findings(
            labels=(
                Label(
                    "Kite",
                    81.5,
                    ("Plaything",),
                    (Instance(box, 81.5), Instance(BoundingBox(0, 0, 1, 1), 30.25)),
                ),
                Label("Plaything", 81.5),
            )
        ),
        "text": Findings(
            text=(
                TextDetection("HELLO WORLD", 98.0, "LINE", box),
                TextDetection("HELLO", 97.0, "WORD", box, parent_index=0),
            )
        ),
        "moderation": Findings(
            moderation=(
                ModerationLabel("Suggestive", 55.5, ""),
                ModerationLabel("Swimwear", 55.5, "Suggestive"),
            )
        ),
        "properties": Findings(
            properties=ImageProperties(
                41.5, 72.25, 33.0, 80.125, (DominantColor(12, 34, 56, "#0c2238", 42.5),)
            )
        ),
        "embedding": Findings(embedding=(0.1, 0.2, 1e-7, -3.5)),
        "video": Findings(video=video_findings(3)),
    }


def video_findings(shots: int) -> VideoFindings:
    """A 29.97 drop-frame video of `shots` shots of 100 frames, each with labels, a person and text."""
    rate = FrameRate(Fraction(30000, 1001))
    info = VideoInfo(
        media_type="video/mp4",
        container="mov,mp4,m4a,3gp,3g2,mj2",
        codec="h264",
        width=1920,
        height=1080,
        duration=rate.seconds(shots * 100),
        frame_rate="30000/1001",
        frames=shots * 100,
        drop_frame=True,
        start_timecode="01:00:00;00",
        audio=(AudioStream("aac", 2, 48000, "eng"),),
    )
    segments = tuple(
        Segment(
            index=i,
            start_frame=i * 100,
            end_frame=(i + 1) * 100,
            start=rate.seconds(i * 100),
            end=rate.seconds((i + 1) * 100),
            start_timecode=to_timecode(107892 + i * 100, rate),
            end_timecode=to_timecode(107892 + (i + 1) * 100, rate),
            labels=(Label(f"Label {i % 50}", 90.5, ("Animal",)), Label("Sky", 61.25)),
            faces=(f"person-{i % 7 + 1}",),
            text="EXIT" if i % 2 else "",
            keyframes=(rate.seconds(i * 100 + 10), rate.seconds(i * 100 + 60)),
        )
        for i in range(shots)
    )
    return VideoFindings(info, segments, people=min(shots, 7))


async def test_results_roundtrip_every_findings_type(catalog: CatalogStore) -> None:
    [tenant] = await tenants(catalog, "acme")
    one, _ = await catalog.register_asset(new_asset(tenant, "1" * 64))
    two, _ = await catalog.register_asset(new_asset(tenant, "2" * 64))
    results = {
        analyzer: RecognitionResult(
            one.id,
            analyzer,
            f"{analyzer}-model",
            "1.0",
            findings,
            "local",
            {"threshold": 0.5},
            12.5,
            T0,
            id=uuid7(),
            finished_at=T0,
        )
        for analyzer, findings in every_findings().items()
    }
    for result in results.values():
        await catalog.save_result(tenant, result)
    found = await catalog.get_results(tenant, [one.id, two.id])
    assert {
        a: {k: dataclasses.replace(v, change=None) for k, v in by.items()} for a, by in found.items()
    } == {one.id: results}
    text = await catalog.get_result(tenant, one.id, "text")
    assert text is not None and dataclasses.replace(text, change=None) == results["text"]
    assert await catalog.get_result(tenant, two.id, "text") is None
    assert await catalog.get_labels(tenant, [one.id, two.id]) == {one.id: results["labels"].findings.labels}

    rerun = RecognitionResult(
        one.id, "labels", "labels-model", "2.0", Findings(labels=(Label("Dog", 50.0),)), id=uuid7()
    )
    await catalog.save_result(tenant, rerun)
    current = await catalog.get_result(tenant, one.id, "labels")
    assert current is not None and current.model_version == "2.0" and current.created_at is not None
    assert (await catalog.get_labels(tenant, [one.id]))[one.id] == (Label("Dog", 50.0),)
    assert len((await catalog.get_results(tenant, [one.id]))[one.id]) == len(results)


async def test_a_long_videos_segments_are_stored_whole(catalog: CatalogStore) -> None:
    """2,000 shots (over an hour of fast cutting): one run, read back segment for segment (DynamoDB
    items hold 400 KB: the findings are compressed)."""
    [tenant] = await tenants(catalog, "acme")
    asset, _ = await catalog.register_asset(new_asset(tenant, "3" * 64))
    video = video_findings(2000)
    saved = RecognitionResult(asset.id, "video", "transnetv2", "1", Findings(video=video), id=uuid7())
    await catalog.save_result(tenant, saved)
    found = await catalog.get_result(tenant, asset.id, "video")
    assert found is not None and found.findings.video == video
    assert found.findings.video.segments[1].start_timecode == "01:00:03;10"
