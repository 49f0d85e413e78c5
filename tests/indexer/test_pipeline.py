"""The durable pipeline with real storage adapters and a fake recognizer at the port."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
from PIL import Image

from catalog.domain.model import Stage, TenantConfig
from catalog.domain.ports import SearchQuery
from indexer.recognizers.ports import AnalysisInput
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from services.ingest import PROCESS_JOB
from tests.conftest import jpeg_bytes, make_tenant
from tests.fakes import ColorLabeler


async def test_ingest_then_worker_indexes_the_asset(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    outcome = await services.ingestor.ingest(tenant, jpeg_bytes((250, 10, 10)), "../../red.jpg")
    assert outcome.status == "new" and outcome.asset is not None
    assert outcome.asset.filename == "red.jpg"
    assert outcome.asset.media_type == "image/jpeg" and (outcome.asset.width, outcome.asset.height) == (
        64,
        48,
    )
    await services.worker().run_until_idle()
    asset = await services.catalog.get_asset(tenant, outcome.asset.id)
    assert asset is not None and asset.status == Stage.INDEXED
    assert {r.kind for r in asset.renditions} == {"thumbnail", "preview"}
    result = await services.catalog.get_result(tenant, asset.id, "labels")
    assert (
        result is not None and result.model_name == "fake-color" and result.model_version == "1+dct"
    )  # the labels analyzer reads the preview DCT-scaled
    page = await services.index.search(tenant, SearchQuery(labels=("color",)))
    assert [h.asset_id for h in page.hits] == [asset.id]


async def test_the_classifier_reads_at_ingest_the_pixels_a_reprocess_reads(settings: Settings) -> None:
    """The pipeline decodes the classifier's picture from the preview JPEG where it makes the preview (one
    hop); those pixels must equal what AnalysisInput.picture decodes from the stored preview later."""
    seen: list[bytes] = []

    class Recording(ColorLabeler):
        def prepare(self, image: Image.Image) -> np.ndarray:
            seen.append(image.tobytes())
            return super().prepare(image)

    labeler = Recording()
    services = build(settings, labeler=labeler)
    try:
        tenant, _ = await make_tenant(services, "acme")
        noise = np.random.default_rng(3).integers(0, 255, (480, 640, 3), dtype=np.uint8)
        buf = io.BytesIO()
        Image.fromarray(noise).save(buf, "JPEG", quality=85)
        outcome = await services.ingestor.ingest(tenant, buf.getvalue(), "noise.jpg")
        assert outcome.asset is not None
        await services.worker().run_until_idle()
        asset = await services.catalog.get_asset(tenant, outcome.asset.id)
        assert asset is not None and asset.status == Stage.INDEXED
        preview = next(r for r in asset.renditions if r.kind == "preview")
        stored = await services.blobs.get(preview.blob_key)
        later = await AnalysisInput(jpeg=stored, original_key=asset.blob_key).picture(
            None, min_side=labeler.input_size
        )
        assert seen == [later.tobytes()]
    finally:
        services.close()


async def test_the_models_run_while_the_renditions_are_written(settings: Settings) -> None:
    """The renditions' write (disk, then catalog) and the models overlap; the analysis writes nothing
    before the renditions' write has ended, so the stages still come in order."""
    loop = asyncio.get_running_loop()
    inferred = asyncio.Event()
    writes: list[str] = []

    class Signalling(ColorLabeler):
        def predict(self, *args: object, **kwargs: object) -> list:  # type: ignore[override]
            loop.call_soon_threadsafe(inferred.set)
            return super().predict(*args, **kwargs)  # type: ignore[arg-type]

    services = build(settings, labeler=Signalling())
    try:
        tenant, _ = await make_tenant(services, "acme")
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes((250, 10, 10)), "red.jpg")
        assert outcome.asset is not None
        put_many, set_renditions = services.blobs.put_many, services.catalog.set_renditions
        save_analysis = services.catalog.save_analysis

        async def slow_disk(*args: object, **kwargs: object) -> None:
            await asyncio.wait_for(inferred.wait(), 5)  # the model must not wait for this write
            await put_many(*args, **kwargs)  # type: ignore[arg-type]

        async def renditions_written(*args: object, **kwargs: object) -> None:
            writes.append("renditions")
            await set_renditions(*args, **kwargs)  # type: ignore[arg-type]

        async def analysis_written(*args: object, **kwargs: object) -> object:
            writes.append("analysis")
            return await save_analysis(*args, **kwargs)  # type: ignore[arg-type]

        setattr(services.blobs, "put_many", slow_disk)  # noqa: B010 - this instance only
        setattr(services.catalog, "set_renditions", renditions_written)  # noqa: B010
        setattr(services.catalog, "save_analysis", analysis_written)  # noqa: B010
        assert await services.pipeline.process(tenant, outcome.asset.id) == Stage.INDEXED
        assert writes == ["renditions", "analysis"]
    finally:
        services.close()


async def test_a_failed_renditions_write_saves_no_analysis_and_the_retry_starts_over(
    services: Services,
) -> None:
    tenant, _ = await make_tenant(services, "acme")
    outcome = await services.ingestor.ingest(tenant, jpeg_bytes((10, 250, 10)), "green.jpg")
    assert outcome.asset is not None
    put_many = services.blobs.put_many

    async def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    setattr(services.blobs, "put_many", full_disk)  # noqa: B010 - this instance only
    with pytest.raises(OSError, match="No space"):
        await services.pipeline.process(tenant, outcome.asset.id)
    asset = await services.catalog.get_asset(tenant, outcome.asset.id)
    assert asset is not None and asset.status == Stage.STORED and not asset.renditions
    assert await services.catalog.get_results(tenant, [asset.id]) == {}
    setattr(services.blobs, "put_many", put_many)  # noqa: B010 - the disk has room again
    assert await services.pipeline.process(tenant, asset.id) == Stage.INDEXED


async def test_same_bytes_same_asset_per_tenant(services: Services) -> None:
    t1, _ = await make_tenant(services, "one")
    t2, _ = await make_tenant(services, "two")
    data = jpeg_bytes((10, 250, 10))
    first = await services.ingestor.ingest(t1, data, "a.jpg")
    again = await services.ingestor.ingest(t1, data, "b.jpg")
    other = await services.ingestor.ingest(t2, data, "a.jpg")
    assert first.status == "new" and again.status == "duplicate" and other.status == "new"
    assert first.asset and again.asset and other.asset
    assert again.asset.id == first.asset.id != other.asset.id
    results = await asyncio.gather(
        *(services.ingestor.ingest(t1, jpeg_bytes((1, 2, 3)), "c.jpg") for _ in range(5))
    )
    assert len({r.asset.id for r in results if r.asset}) == 1
    assert sorted(r.status for r in results) == ["duplicate"] * 4 + ["new"]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"hello, world", "not_an_image"),
        (jpeg_bytes((1, 1, 1), (300, 200))[:400], "truncated"),
    ],
)
async def test_bad_files_are_rejected_and_leave_nothing(services: Services, data: bytes, code: str) -> None:
    tenant, _ = await make_tenant(services, "acme")
    outcome = await services.ingestor.ingest(tenant, data, "bad.jpg")
    assert outcome.status == "rejected" and outcome.code == code and outcome.error
    assert await services.catalog.list_assets(tenant, after=None, limit=10) == []
    assert not [p for p in services.settings.blob_dir.rglob("*") if p.is_file()]
    assert await services.queue.pending() == 0


async def test_a_step_that_keeps_failing_ends_failed_with_its_reason(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    outcome = await services.ingestor.ingest(tenant, jpeg_bytes((5, 5, 250)), "blue.jpg")
    assert outcome.asset is not None
    await services.blobs.delete(outcome.asset.blob_key)  # the original vanished: every attempt fails
    await services.worker().run_until_idle()
    asset = await services.catalog.get_asset(tenant, outcome.asset.id)
    assert asset is not None and asset.status == Stage.FAILED
    assert asset.error and "gave up after 5 attempts" in asset.error


async def test_resume_from_a_persisted_stage_processes_each_step_once(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    outcome = await services.ingestor.ingest(tenant, jpeg_bytes((250, 250, 5)), "yellow.jpg")
    assert outcome.asset is not None
    await services.worker().run_until_idle()
    # Simulate a crash after analysis: the asset is ANALYZED and its job was lost.
    await services.catalog.set_stage(tenant, outcome.asset.id, Stage.ANALYZED)
    assert await services.worker().recover() == 1
    await services.worker().run_until_idle()
    asset = await services.catalog.get_asset(tenant, outcome.asset.id)
    assert asset is not None and asset.status == Stage.INDEXED
    assert await services.index.count(tenant) == 1


async def test_recovery_requeues_assets_whose_job_was_lost(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    outcome = await services.ingestor.ingest(tenant, jpeg_bytes((9, 99, 199)), "x.jpg")
    assert outcome.asset is not None
    [job] = await services.queue.claim(1, 30)
    await services.queue.complete(job)  # the job is gone but the asset is still STORED
    assert job.kind == PROCESS_JOB
    await services.worker().run_until_idle()  # run() starts with a recovery sweep
    asset = await services.catalog.get_asset(tenant, outcome.asset.id)
    assert asset is not None and asset.status == Stage.INDEXED


async def test_a_tenant_chooses_its_own_analyzers(services: Services) -> None:
    plain, _ = await make_tenant(services, "plain")
    picky, _ = await make_tenant(services, "picky")
    await services.catalog.set_tenant_config(picky, TenantConfig(analyzers=("labels", "properties")))
    a = await services.ingestor.ingest(plain, jpeg_bytes((250, 10, 10)), "a.jpg")
    b = await services.ingestor.ingest(picky, jpeg_bytes((250, 10, 10)), "b.jpg")
    assert a.asset is not None and b.asset is not None
    await services.worker().run_until_idle()
    assert set((await services.catalog.get_results(plain, [a.asset.id]))[a.asset.id]) == {"labels"}
    picked = (await services.catalog.get_results(picky, [b.asset.id]))[b.asset.id]
    assert set(picked) == {"labels", "properties"}
    assert picked["properties"].findings.properties is not None
    assert picked["properties"].model_name == "image-statistics"


async def test_an_unknown_provider_fails_the_asset_with_a_clear_reason(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    await services.catalog.set_tenant_config(tenant, TenantConfig(providers={"labels": "rekognition"}))
    outcome = await services.ingestor.ingest(tenant, jpeg_bytes((1, 250, 1)), "g.jpg")
    assert outcome.asset is not None
    await services.worker().run_until_idle()
    asset = await services.catalog.get_asset(tenant, outcome.asset.id)
    assert asset is not None and asset.status == Stage.FAILED
    assert asset.error and "no 'rekognition' provider configured on this server" in asset.error


async def test_original_info_comes_from_the_catalog_by_content_key(services: Services) -> None:
    from catalog.domain.blob_keys import original_key, parse_original_key
    from indexer.recognizers.rekognition.provider import original_info

    tenant, _ = await make_tenant(services, "acme")
    outcome = await services.ingestor.ingest(tenant, jpeg_bytes((30, 60, 90), (120, 80)), "x.jpg")
    assert outcome.asset is not None
    key = original_key(tenant, outcome.asset.sha256)
    assert parse_original_key(key) == (tenant, outcome.asset.sha256)
    info = await original_info(services.catalog, key)
    assert info is not None and (info.width, info.height, info.media_type) == (120, 80, "image/jpeg")
    assert parse_original_key("renditions/x/y/preview.jpg") is None
    assert await original_info(services.catalog, "originals/nobody/ab/abcd") is None
