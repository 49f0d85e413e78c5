"""backfillFeatures: assets indexed before the classifier gave feature vectors get them from one
reprocess batch of the `features` analyzer; a second call has nothing to do; another tenant is untouched."""

from __future__ import annotations

from pathlib import Path

from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from tests.api.concepts.graphql import run
from tests.conftest import jpeg_bytes, make_tenant
from tests.fakes import ColorFeatureLabeler, ColorLabeler

BACKFILL = "mutation { backfillFeatures { batch { id total analyzers } error { code message } } }"
BATCH = "query ($id: ID!) { reprocessBatch(id: $id) { status total done failed } }"


async def ingest(services: Services, tenant: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes((200, 20 * i, 10)), f"old-{i}.jpg")
        assert outcome.asset is not None
        ids.append(outcome.asset.id)
    return ids


async def test_backfill_gives_vectors_to_the_assets_that_lack_them(
    settings: Settings, tmp_path: Path
) -> None:
    # indexed by a classifier without features (as before concepts existed): no vectors
    before = build(settings, labeler=ColorLabeler())
    try:
        tenant, _ = await make_tenant(before, "acme")
        other, _ = await make_tenant(before, "other")
        old = await ingest(before, tenant, 4)
        theirs = await ingest(before, other, 2)
        await before.worker().run_until_idle()
    finally:
        before.close()

    services = build(settings, labeler=ColorFeatureLabeler())
    try:
        model = ColorFeatureLabeler.feature_version
        assert await services.catalog.get_features(tenant, old, model) == {}
        new = (await ingest(services, tenant, 5))[4:]  # one more, indexed with features in the labels pass
        await services.worker().run_until_idle()
        assert set(await services.catalog.get_features(tenant, new, model)) == set(new)

        payload = (await run(services, tenant, BACKFILL))["backfillFeatures"]
        assert payload["error"] is None
        batch = payload["batch"]
        assert batch["total"] == len(old) and batch["analyzers"] == ["features"]  # only those lacking one
        await services.worker().run_until_idle()
        done = (await run(services, tenant, BATCH, id=batch["id"]))["reprocessBatch"]
        assert done == {"status": "COMPLETED", "total": 4, "done": 4, "failed": 0}
        vectors = await services.catalog.get_features(tenant, old, model)
        assert set(vectors) == set(old) and all(len(v) == 6 * 2 for v in vectors.values())  # 6 float16s

        assert (await run(services, tenant, BACKFILL))["backfillFeatures"] == {"batch": None, "error": None}
        assert await services.catalog.get_features(other, theirs, model) == {}  # the other tenant: untouched
        assert await services.catalog.get_features(tenant, theirs, model) == {}  # and not readable as ours
    finally:
        services.close()
