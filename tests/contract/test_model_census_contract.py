"""current_models on every catalog adapter (SQLite, DynamoDB Local): the model of each asset's current run,
tenant-scoped, without failed or older runs; and the census and outdated walk over it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from catalog.domain.ids import uuid7
from catalog.domain.model import Findings, Label, RecognitionResult, RunStatus, Stage
from catalog.domain.model_census import ModelRef
from catalog.domain.ports import CatalogStore
from indexer.analyzers import AnalyzerChoice
from services.reprocessing.batches import ModelVersions
from tests.contract.catalogs import T0, backend, catalog, new_asset, tenants

__all__ = ["backend", "catalog"]


def run(
    asset_id: str, minutes: int, analyzer: str = "labels", version: str = "1", **more: Any
) -> RecognitionResult:
    fields: dict[str, Any] = {
        "id": uuid7(),
        "asset_id": asset_id,
        "analyzer": analyzer,
        "model_name": "m",
        "model_version": version,
        "findings": Findings(labels=(Label("Dog", 90.0),)),
        "created_at": T0 + timedelta(minutes=minutes),
        "finished_at": T0 + timedelta(minutes=minutes, seconds=1),
    }
    return RecognitionResult(**(fields | more))


async def test_current_models_are_those_of_the_current_runs_of_the_tenant(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    one, _ = await catalog.register_asset(new_asset(a, "1" * 64))
    two, _ = await catalog.register_asset(new_asset(a, "2" * 64))
    bare, _ = await catalog.register_asset(new_asset(a, "3" * 64))
    await catalog.save_result(a, run(one.id, 0, version="1"))
    await catalog.save_result(a, run(one.id, 5, version="2"))  # the current one
    await catalog.save_result(a, run(one.id, 9, version="3", status=RunStatus.FAILED))  # not current
    await catalog.save_result(a, run(one.id, 0, "objects", version="o1", provider="rekognition"))
    await catalog.save_result(a, run(two.id, 5, version="1"))
    await catalog.save_result(a, run(two.id, 1, version="0"))  # finished earlier: history only
    models = await catalog.current_models(a, [one.id, two.id, bare.id, "nope"], ["labels", "objects"])
    assert models == {
        one.id: {"labels": ModelRef("local", "m", "2"), "objects": ModelRef("rekognition", "m", "o1")},
        two.id: {"labels": ModelRef("local", "m", "1")},
    }
    assert await catalog.current_models(a, [one.id], ["objects"]) == {
        one.id: {"objects": ModelRef("rekognition", "m", "o1")}
    }
    assert await catalog.current_models(b, [one.id, two.id], ["labels", "objects"]) == {}  # another tenant's
    assert await catalog.current_models(a, [], ["labels"]) == {}


class _Analyzer:
    def __init__(self, name: str, version: str) -> None:
        self.name, self.provider, self.model_name, self.model_version = name, "local", "m", version


class _Registry:
    """The registry's get() at its port: the models this fake server runs."""

    def __init__(self, versions: dict[str, str]) -> None:
        self._versions = versions

    def get(self, name: str, provider: str) -> _Analyzer:
        return _Analyzer(name, self._versions[name])


async def test_census_and_outdated_walk_the_archive_in_pages(catalog: CatalogStore, monkeypatch: Any) -> None:
    monkeypatch.setattr("services.reprocessing.batches.CENSUS_PAGE", 2)  # several pages of a few assets
    a, b = await tenants(catalog, "a", "b")
    ids = []
    for i, version in enumerate(["2", "1", "2", "1", "0"]):
        asset, _ = await catalog.register_asset(new_asset(a, f"{i}" * 64))
        await catalog.save_result(a, run(asset.id, 0, version=version))
        await catalog.save_result(a, run(asset.id, 0, "objects", version="o1"))
        await catalog.set_stage(a, asset.id, Stage.INDEXED)
        ids.append(asset.id)
    pending, _ = await catalog.register_asset(new_asset(a, "f" * 64))  # not indexed: not counted
    await catalog.save_result(a, run(pending.id, 0, version="0"))
    other, _ = await catalog.register_asset(new_asset(b, "e" * 64))  # another tenant's
    await catalog.save_result(b, run(other.id, 0, version="0"))
    await catalog.set_stage(b, other.id, Stage.INDEXED)

    async def choose(tenant_id: str) -> AnalyzerChoice:
        return AnalyzerChoice(("labels", "objects"), {})

    versions = ModelVersions(catalog, _Registry({"labels": "2", "objects": "o1"}), choose)  # type: ignore[arg-type]
    labels, objects = await versions.census(a)
    assert (labels.analyzer, labels.server, labels.current) == ("labels", ModelRef("local", "m", "2"), 2)
    assert dict(labels.older) == {ModelRef("local", "m", "1"): 2, ModelRef("local", "m", "0"): 1}
    assert labels.outdated == 3
    assert (objects.current, objects.outdated) == (5, 0)
    pages = [page async for page in versions.pages(a, ["labels"])]
    assert [list(p) for p in pages] == [ids[:2], ids[2:4], ids[4:]]  # the pending one is left out
    assert pages[2] == {ids[4]: {"labels": ModelRef("local", "m", "0")}}
    (only_b,) = await versions.census(b, ["labels"])
    assert (only_b.current, only_b.outdated) == (0, 1)
