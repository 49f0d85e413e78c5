"""The recognition suite with every real local model, through the GraphQL schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import ImageOps

from api.context import Context
from api.schema import schema
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from tests.conftest import make_tenant
from tests.e2e.photos import ingest_all, jpeg, photo, recognition_photos

World = tuple[Services, str, dict[str, str]]  # services, tenant ID, asset IDs by filename


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    data = tmp_path_factory.mktemp("recognition") / "data"
    services = build(Settings(data_dir=data, job_retry_base_seconds=0.0))
    tenant, _ = await make_tenant(services, "acme")
    ids = await ingest_all(services, tenant, recognition_photos())
    await services.worker().run_until_idle()
    yield services, tenant, ids
    services.close()


async def gql(services: Services, tenant: str, document: str, **variables: Any) -> dict[str, Any]:
    result = await schema.execute(
        document, variable_values=variables, context_value=Context(services, tenant)
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


ASSET = """query ($id: ID!) { asset(id: $id) {
  status labels { name confidence parents instances { confidence boundingBox { left top width height } } }
  topLabels(first: 3) { name }
  faces { faceIndex confidence boundingBox { left top width height } landmarks { type } person { name } }
  textDetections { text type confidence parentIndex }
  moderationLabels { name confidence }
  properties { brightness sharpness contrast quality dominantColors { hex pixelPercent } }
  runs { analyzer provider modelName modelVersion }
} }"""
SEARCH = """query ($q: String, $f: SearchFilter) { search(query: $q, filter: $f) {
  totalCount edges { score meaning textMatch matches { label } node { filename } }
} }"""


def filenames(data: dict[str, Any]) -> list[str]:
    return [e["node"]["filename"] for e in data["search"]["edges"]]


async def test_every_analyzer_leaves_its_result(world: World) -> None:
    services, tenant, ids = world
    asset = (await gql(services, tenant, ASSET, id=ids["astronaut.jpg"]))["asset"]
    assert asset["status"] == "INDEXED"
    assert {r["analyzer"] for r in asset["runs"]} == {
        "labels", "objects", "faces", "people", "text", "moderation", "properties", "embedded", "embedding"
    }  # fmt: skip
    assert all(r["modelVersion"] for r in asset["runs"])
    assert {r["provider"] for r in asset["runs"]} == {"local", "embedded"}  # the file's own metadata
    assert [r["analyzer"] for r in asset["runs"] if r["provider"] == "embedded"] == ["embedded"]
    [face] = asset["faces"]
    assert face["confidence"] > 50
    assert {m["type"] for m in face["landmarks"]} >= {"eyeLeft", "eyeRight", "nose"}
    box = face["boundingBox"]
    assert 0 <= box["left"] < 1 and 0 < box["width"] < 0.5
    person = asset["labels"][0]  # the detector's Person, with her box: the first thing named
    assert person["name"] == "Person" and person["parents"] == ["Human"]
    [body] = person["instances"]
    assert body["boundingBox"]["width"] > 0.5 and body["boundingBox"]["height"] > 0.8
    assert asset["topLabels"][0]["name"] == "Person"
    assert asset["moderationLabels"] == []
    props = asset["properties"]
    assert 0 < props["brightness"] < 100 and props["dominantColors"]


async def test_labels_say_what_the_image_shows(world: World) -> None:
    services, tenant, ids = world
    cat = (await gql(services, tenant, ASSET, id=ids["chelsea.jpg"]))["asset"]
    names = [lb["name"] for lb in cat["labels"]]
    assert names[0] == "Cat" and cat["topLabels"][0]["name"] == "Cat"
    # a parent never comes before a label beneath it
    for i, lb in enumerate(cat["labels"]):
        assert not any(lb["name"] in later["parents"] for later in cat["labels"][i + 1 :]), names
    coffee = (await gql(services, tenant, ASSET, id=ids["coffee.jpg"]))["asset"]
    cup = next(lb for lb in coffee["labels"] if lb["name"] == "Cup")  # classifier and detector: one label
    assert len(cup["instances"]) == 1 and cup["parents"][:1] == ["Crockery"]
    assert [lb["name"] for lb in coffee["labels"]].count("Cup") == 1


async def test_same_person_matches_and_naming_spreads(world: World) -> None:
    services, tenant, ids = world
    matches = await gql(
        services,
        tenant,
        "query ($id: ID!) { faceMatches(assetId: $id, faceIndex: 0) {"
        " faceIndex similarity asset { filename } } }",
        id=ids["astronaut.jpg"],
    )
    names = [m["asset"]["filename"] for m in matches["faceMatches"]]
    assert names == ["collins_again.jpg"], names  # the cameraman is someone else
    named = await gql(
        services,
        tenant,
        "mutation ($id: ID!, $name: String!) { nameFace(assetId: $id, faceIndex: 0, name: $name) {"
        " person { name } facesNamed error { code } } }",
        id=ids["astronaut.jpg"],
        name="Eileen Collins",
    )
    assert named["nameFace"] == {"person": {"name": "Eileen Collins"}, "facesNamed": 2, "error": None}
    await services.worker().run_until_idle()  # refresh jobs re-index the named assets
    by_person = await gql(services, tenant, SEARCH, f={"persons": ["eileen collins"]})
    assert sorted(filenames(by_person)) == ["astronaut.jpg", "collins_again.jpg"]
    assert "astronaut.jpg" in filenames(await gql(services, tenant, SEARCH, q="Collins"))
    # A new photo of her gets the name when it is indexed.
    later = ImageOps.mirror(photo("astronaut")).resize((400, 400))
    outcome = await services.ingestor.ingest(tenant, jpeg(later), "later.jpg")
    assert outcome.asset is not None
    await services.worker().run_until_idle()
    asset = (await gql(services, tenant, ASSET, id=outcome.asset.id))["asset"]
    assert [f["person"] for f in asset["faces"]] == [{"name": "Eileen Collins"}]
    bad = await gql(
        services, tenant, 'mutation { nameFace(assetId: "nope", faceIndex: 0, name: "X") { error { code } } }'
    )
    assert bad["nameFace"]["error"]["code"] == "NOT_FOUND"


async def test_people_search_and_text_search(world: World) -> None:
    services, tenant, ids = world
    humans = filenames(await gql(services, tenant, SEARCH, f={"labels": ["human"]}))
    assert {"astronaut.jpg", "collins_again.jpg"} <= set(humans) and "chelsea.jpg" not in humans
    memo = (await gql(services, tenant, ASSET, id=ids["memo.png"]))["asset"]
    lines = [t["text"] for t in memo["textDetections"] if t["type"] == "LINE"]
    assert lines == ["Mediasight Archive 2026", "Quarterly report"]
    words = [t for t in memo["textDetections"] if t["type"] == "WORD"]
    assert [w["text"] for w in words[:3]] == ["Mediasight", "Archive", "2026"]
    assert words[0]["parentIndex"] == 0
    assert filenames(await gql(services, tenant, SEARCH, q="quarterly")) == ["memo.png"]
    assert filenames(await gql(services, tenant, SEARCH, f={"text": "archive 2026"})) == ["memo.png"]
    assert filenames(await gql(services, tenant, SEARCH, f={"text": "2026 archive"})) == []
    # a typed page is a Document (labels.documents): no ImageNet or COCO class says so
    assert [lb["name"] for lb in memo["labels"]][:2] == ["Document", "Text"]
    assert [lb["name"] for lb in memo["topLabels"]] == ["Document"]
    documents = await gql(services, tenant, SEARCH, q="document")
    assert filenames(documents)[0] == "memo.png" and documents["search"]["edges"][0]["matches"]


async def test_semantic_query_and_moderation(world: World) -> None:
    services, tenant, _ = world
    found = await gql(services, tenant, SEARCH, q="kitten")  # no label says kitten
    assert filenames(found)[0] == "chelsea.jpg"
    top = found["search"]["edges"][0]
    assert top["matches"] == [] and top["meaning"] > 0.3  # found by meaning, and it says so
    latte = filenames(await gql(services, tenant, SEARCH, q="latte"))
    assert latte and latte[0] == "coffee.jpg"
    clean = await gql(services, tenant, SEARCH, f={"excludeModeration": True})
    assert clean["search"]["totalCount"] >= 6  # benign photos carry no moderation label


async def test_meaning_alone_lists_only_what_is_near_the_best_meaning(world: World) -> None:
    services, tenant, _ = world
    found = (await gql(services, tenant, SEARCH, q="animal"))["search"]
    names = [e["node"]["filename"] for e in found["edges"]]
    # MiniLM puts the astronaut's description ("Person, Human ...") at ~0.35 from "animal", over the floor
    # but far under the cat's: no loose hit
    assert names[0] == "chelsea.jpg" and not {"astronaut.jpg", "collins_again.jpg"} & set(names)
    assert found["totalCount"] == len(names)
    assert all(e["matches"] or e["textMatch"] or e["meaning"] for e in found["edges"])  # each says why
    # no file name or image text here says "dog": a weak label (the detector's guess on the cat) is
    # explained as the label it is, at its confidence, not as a word
    dogs = (await gql(services, tenant, SEARCH, q="dog"))["search"]["edges"]
    assert dogs and not any(e["textMatch"] for e in dogs)


async def test_a_query_that_names_the_tone_finds_only_photos_of_that_tone(world: World) -> None:
    services, tenant, ids = world
    tone = "query ($id: ID!) { asset(id: $id) { properties { tone offTonePercent medianChroma } } }"
    tones = {n: (await gql(services, tenant, tone, id=i))["asset"]["properties"] for n, i in ids.items()}
    assert tones["cameraman.jpg"]["tone"] == "monochrome" and tones["cameraman.jpg"]["offTonePercent"] == 0
    assert {tones[n]["tone"] for n in ("astronaut.jpg", "chelsea.jpg", "coffee.jpg")} == {"colour"}
    monochrome = {n for n, p in tones.items() if p["tone"] == "monochrome"}
    for query in ("black and white photo", "monochrome", "B&W pictures"):
        found = (await gql(services, tenant, SEARCH, q=query))["search"]
        assert set(filenames({"search": found})) == monochrome and found["totalCount"] == len(monochrome)
        assert all(e["textMatch"] for e in found["edges"]), query  # the words named the tone
    people = (await gql(services, tenant, SEARCH, q="black and white photo of a person"))["search"]
    assert filenames({"search": people}) == ["cameraman.jpg"]  # the astronaut is a person in colour
    cats = filenames(await gql(services, tenant, SEARCH, q="colour photo of a cat"))
    assert cats[0] == "chelsea.jpg" and not monochrome & set(cats)


def test_model_files_come_from_packages(tmp_path: Path) -> None:
    from indexer.recognizers.local.faces import default_models_dir
    from indexer.recognizers.local.minilm_weights import default_model_dir

    assert (default_models_dir() / "dlib_face_recognition_resnet_model_v1.dat").is_file()
    assert default_model_dir().is_dir()
