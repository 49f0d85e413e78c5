"""current_models on every catalog adapter (SQLite, DynamoDB Local): the model of each asset's current run,
tenant-scoped, without failed or older runs; and the census and outdated walk over it."""

from __future__ import annotations

from dataclasses import astuple
from datetime import timedelta
from typing import Any

from catalog.domain.concepts.model import Concept
from catalog.domain.ids import uuid7
from catalog.domain.model import Findings, Label, RecognitionResult, RunStatus, Stage
from catalog.domain.model_census import ModelRef, model_record
from catalog.domain.ports import CatalogStore
from catalog.domain.video.findings import VIDEO
from indexer.analyzers import AnalyzerChoice
from services.reprocessing.model_versions import ModelVersions
from services.reprocessing.server_models import ServerModels
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
    def __init__(self, name: str, model: ModelRef) -> None:
        self.name, self.provider, self.model_name, self.model_version = name, *astuple(model)


class _Registry:
    """The registry's get() at its port: the models this fake server runs."""

    def __init__(self, versions: dict[str, str]) -> None:
        self.models = {name: ModelRef("local", "m", version) for name, version in versions.items()}

    def get(self, name: str, provider: str) -> _Analyzer:
        return _Analyzer(name, self.models[name])


async def test_census_and_outdated_walk_the_archive_in_pages(catalog: CatalogStore, monkeypatch: Any) -> None:
    monkeypatch.setattr(
        "services.reprocessing.model_versions.CENSUS_PAGE", 2
    )  # several pages of a few assets
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

    server = ServerModels(catalog, _Registry({"labels": "2", "objects": "o1"}))  # type: ignore[arg-type]
    versions = ModelVersions(catalog, server, choose)
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


def video_run(asset_id: str, minutes: int, version: str, objects: str) -> RecognitionResult:
    """A video run as indexer.video.video_pipeline records it: its shots were read by a detector."""
    detector = model_record(ModelRef("local", "det", objects), {"min_confidence": 50})
    return run(
        asset_id, minutes, VIDEO, version, model_name="shots", parameters={"segments": {"objects": detector}}
    )


async def test_a_video_runs_models_include_those_its_shots_were_read_with(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    video, _ = await catalog.register_asset(new_asset(a, "1" * 64, media_type="video/mp4"))
    await catalog.save_result(a, video_run(video.id, 0, "s1", "d1"))
    await catalog.save_result(a, video_run(video.id, 5, "s2", "d2"))  # the current one
    await catalog.save_result(a, run(video.id, 0, "labels", "2"))
    both = await catalog.current_models(a, [video.id], ["labels", VIDEO])
    assert both == {
        video.id: {
            "labels": ModelRef("local", "m", "2"),
            VIDEO: ModelRef("local", "shots", "s2"),
            "video.objects": ModelRef("local", "det", "d2"),
        }
    }
    assert await catalog.current_models(a, [video.id], ["labels"]) == {
        video.id: {"labels": ModelRef("local", "m", "2")}
    }
    assert await catalog.current_models(b, [video.id], ["labels", VIDEO]) == {}  # another tenant's


class _Embedder:
    name, version = "minilm", "e2"


async def test_census_judges_videos_shots_the_embedding_and_concepts(catalog: CatalogStore) -> None:
    """After an upgrade: a video whose shots an older detector read is outdated in objects (though its
    poster's objects run is current), one whose shot model changed in labels; embeddings by another
    embedder, and concept runs of a version that is no longer the active one, are outdated too."""
    (a,) = await tenants(catalog, "a")
    concept = Concept(uuid7(), a, "Sunset", (), (), T0, active_version=2, versions=2)
    assert await catalog.create_concept(concept)
    assets = []
    for i, (shots, detector, embedder, probe) in enumerate(
        [("s2", "d2", "e2", "v2"), ("s2", "d1", "e1", "v1"), ("s1", "d2", "e2", "v2")]
    ):
        asset, _ = await catalog.register_asset(new_asset(a, f"{i}" * 64, media_type="video/mp4"))
        await catalog.save_result(a, video_run(asset.id, 0, shots, detector))
        await catalog.save_result(a, run(asset.id, 0, "labels", "2"))
        await catalog.save_result(a, run(asset.id, 0, "objects", "d2", model_name="det"))
        await catalog.save_result(a, run(asset.id, 0, "embedding", embedder, model_name="minilm"))
        await catalog.save_result(a, run(asset.id, 0, concept.analyzer, probe, model_name="logistic-probe"))
        await catalog.set_stage(a, asset.id, Stage.INDEXED)
        assets.append(asset)
    photo, _ = await catalog.register_asset(new_asset(a, "f" * 64))  # an image has no video run to read
    await catalog.save_result(a, run(photo.id, 0, "objects", "d2", model_name="det"))
    await catalog.set_stage(a, photo.id, Stage.INDEXED)

    async def choose(tenant_id: str) -> AnalyzerChoice:
        return AnalyzerChoice(("labels", "objects"), {})

    async def shots_model() -> ModelRef:
        return ModelRef("local", "shots", "s2")

    registry = _Registry({"labels": "2", "objects": "o1"})
    registry.models["objects"] = ModelRef("local", "det", "d2")  # the detector reads photos and shots alike
    server = ServerModels(catalog, registry, video=shots_model, embedder=_Embedder())  # type: ignore[arg-type]
    census = {c.analyzer: c for c in await ModelVersions(catalog, server, choose).census(a)}
    assert list(census) == ["labels", "objects", "embedding", concept.analyzer]
    assert census["labels"].shots == ModelRef("local", "shots", "s2")
    assert (census["labels"].current, dict(census["labels"].older)) == (
        2,
        {ModelRef("local", "shots", "s1"): 1},
    )
    assert (census["objects"].current, dict(census["objects"].older)) == (
        3,
        {ModelRef("local", "det", "d1"): 1},
    )
    assert (census["embedding"].current, census["embedding"].outdated) == (2, 1)
    assert (census[concept.analyzer].current, census[concept.analyzer].outdated) == (2, 1)
    narrowed = await server.outdated_of(
        assets[1], AnalyzerChoice(("labels", "objects", "embedding", concept.analyzer), {})
    )
    assert narrowed.analyzers == ("objects", "embedding", concept.analyzer)
    narrowed = await server.outdated_of(assets[2], AnalyzerChoice(("labels", "objects"), {}))
    assert narrowed.analyzers == ("labels",)  # its shot model: a labels reprocess analyses its shots again
    assert (
        await server.outdated_of(assets[0], AnalyzerChoice(("labels", "objects", "embedding"), {}))
    ).analyzers == ()
