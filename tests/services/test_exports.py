"""Exports end to end: exportAssets over HTTP with real faces and exiv2, exiftool reading the files back, the
round trip of an exported copy into a second tenant, and `mediasight export`."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from api.app import create_app
from catalog.domain.embedded import EMBEDDED
from catalog.domain.model import BoundingBox
from indexer.video.video_frames import VideoFrames
from indexer.video.video_work import Keyframe
from mediasight.bootstrap import Services, build
from mediasight.cli import app as cli
from mediasight.settings import Settings
from tests.conftest import jpeg_bytes, make_tenant
from tests.fakes import ColorLabeler
from tests.indexer.metadata.exiftool import exiftool_read, tagged_astronaut

EXPORT = """query ($ids: [ID!]!, $format: ExportFormat!) {
  exportAssets(ids: $ids, format: $format) { assetId filename mediaType url content } }"""


@pytest.fixture
async def meta_services(settings: Settings) -> AsyncIterator[Services]:
    svc = build(settings.model_copy(update={"analyzers": "labels,faces,embedded"}), labeler=ColorLabeler())
    yield svc
    svc.close()


@pytest.fixture
async def client(meta_services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(meta_services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def _gql(client: httpx.AsyncClient, key: str, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
    )
    body: dict[str, Any] = response.json()
    return body


async def _ingest(services: Services, tenant: str, data: bytes, name: str) -> str:
    outcome = await services.ingestor.ingest(tenant, data, name)
    assert outcome.asset is not None, outcome.error
    await services.worker().run_until_idle()
    return outcome.asset.id


async def _keyframe_of(services: Services, tenant: str, asset_id: str, tmp_path: Path) -> str:
    """A FRAME child registered under the asset as a video's analysis registers its keyframes."""
    still = tmp_path / f"keyframe-{asset_id}.jpg"
    await asyncio.to_thread(still.write_bytes, jpeg_bytes((200, 20, 20)))
    parent = await services.catalog.get_asset(tenant, asset_id)
    assert parent is not None
    frames = VideoFrames(services.catalog, services.blobs, services.cpu)
    (frame,) = await frames.store(parent, [Keyframe(0, 0.5, still)])
    assert frame.is_keyframe
    return frame.id


def rounded(box: BoundingBox) -> BoundingBox:
    """As exports write boxes: six decimals."""
    return BoundingBox(*(round(v, 6) for v in (box.left, box.top, box.width, box.height)))


async def _tagged(services: Services, tmp_path: Path, tenant_name: str = "first") -> tuple[str, str, str]:
    """(tenant ID, its key, asset ID) of a new tenant that ingested the tagged astronaut."""
    tenant, key = await make_tenant(services, tenant_name)
    photo = await asyncio.to_thread(tagged_astronaut, tmp_path / "astronaut.jpg")
    return tenant, key, await _ingest(services, tenant, await asyncio.to_thread(photo.read_bytes), photo.name)


async def _fetch(client: httpx.AsyncClient, url: str) -> bytes:
    response = await client.get(url.removeprefix("http://testserver"))
    assert response.status_code == 200, response.text
    return response.content


async def test_export_then_ingest_the_copy_in_a_second_tenant_loses_nothing(
    tmp_path: Path, meta_services: Services, client: httpx.AsyncClient
) -> None:
    services = meta_services
    first, key = await make_tenant(services, "first")
    second, _ = await make_tenant(services, "second")
    photo = await asyncio.to_thread(tagged_astronaut, tmp_path / "astronaut.jpg")
    original = await asyncio.to_thread(photo.read_bytes)
    asset_id = await _ingest(services, first, original, photo.name)

    body = await _gql(client, key, EXPORT, ids=[asset_id], format="IMAGE")
    (made,) = body["data"]["exportAssets"]
    assert (made["filename"], made["mediaType"], made["content"]) == ("astronaut.jpg", "image/jpeg", None)
    copy = await _fetch(client, made["url"])
    assert copy != original
    stored = await services.catalog.get_asset(first, asset_id)
    assert stored is not None and await services.blobs.get(stored.blob_key) == original  # never modified

    # exiftool, a reader no one here wrote, sees the machine's face as a region with its model.
    path = tmp_path / "copy.jpg"
    await asyncio.to_thread(path.write_bytes, copy)
    tags = await asyncio.to_thread(exiftool_read, path)
    regions = tags["XMP-iptcExt:ImageRegion"]
    machine = [r for r in regions if "DigitalSourceType" in r]
    faces_run = await services.catalog.get_result(first, asset_id, "faces")
    assert faces_run is not None
    assert [r["XMP-msight:Model"] for r in machine] == [faces_run.model_name]
    assert all(r["Name"] == "Eileen Collins" for r in regions)
    assert "Eileen Collins" in tags["XMP-iptcExt:PersonInImage"]

    # The copy into a second tenant: the same keywords, persons and regions come back.
    (record,) = await services.exports.records(first, [asset_id])
    again_id = await _ingest(services, second, copy, "astronaut-copy.jpg")
    run = await services.catalog.get_result(second, again_id, EMBEDDED)
    assert run is not None and run.findings.embedded is not None
    back = run.findings.embedded
    assert set(back.all_keywords()) == set(record.all_keywords())
    assert set(back.persons) == set(record.persons()) == {"Eileen Collins"}
    boxes = {(r.name, r.box) for r in back.regions}
    assert {(r.name, r.box) for r in record.embedded.regions} <= boxes
    assert {(r.name, rounded(r.box)) for r in record.regions if r.kind == "face"} <= boxes
    assert (back.title, back.caption, back.city, back.gps) == (
        record.embedded.title,
        record.embedded.caption,
        record.embedded.city,
        record.embedded.gps,
    )
    # ... and the second tenant's detected face is named from them, as in the first.
    person = await services.faces.person_by_name(second, "Eileen Collins")
    assert person is not None
    assert set((await services.faces.face_persons(second, [again_id])).values()) == {person.id}


async def test_sidecar_and_json_exports_and_their_errors(
    tmp_path: Path, meta_services: Services, client: httpx.AsyncClient
) -> None:
    services = meta_services
    tenant, key, asset_id = await _tagged(services, tmp_path)
    other, other_key = await make_tenant(services, "other")

    (xmp,) = (await _gql(client, key, EXPORT, ids=[asset_id], format="XMP"))["data"]["exportAssets"]
    assert xmp["filename"] == "astronaut.jpg.xmp"
    sidecar = tmp_path / "a.xmp"
    await asyncio.to_thread(sidecar.write_bytes, await _fetch(client, xmp["url"]))
    tags = await asyncio.to_thread(exiftool_read, sidecar)
    assert tags["XMP-dc:Description"] == "Eileen Collins before the STS-93 mission"
    assert "People|Astronauts|Eileen Collins" in tags["XMP-lr:HierarchicalSubject"]

    (js,) = (await _gql(client, key, EXPORT, ids=[asset_id], format="JSON"))["data"]["exportAssets"]
    data = json.loads(js["content"])
    assert data["embeddedMetadata"]["keywords"] == ["astronaut", "spaceflight"]
    assert json.loads(await _fetch(client, js["url"])) == data

    # Another tenant's key cannot export it, and a tampered URL is refused.
    refused = await _gql(client, other_key, EXPORT, ids=[asset_id], format="XMP")
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    tampered = xmp["url"].replace(f"t={tenant}", f"t={other}")
    assert (await client.get(tampered.removeprefix("http://testserver"))).status_code == 403
    too_many = await _gql(client, key, EXPORT, ids=[asset_id] * 101, format="XMP")
    assert too_many["errors"][0]["extensions"]["code"] == "TOO_MANY"


async def _tagged_in_data_dir(tmp_path: Path, settings: Settings) -> str:
    """The tagged astronaut, ingested as tenant "desk" in the settings' data dir (for the CLI to open)."""
    services = build(settings.model_copy(update={"analyzers": "labels,embedded"}), labeler=ColorLabeler())
    try:
        tenant, _ = await make_tenant(services, "desk")
        photo = await asyncio.to_thread(tagged_astronaut, tmp_path / "astronaut.jpg")
        asset_id = await _ingest(services, tenant, await asyncio.to_thread(photo.read_bytes), photo.name)
        await _keyframe_of(services, tenant, asset_id, tmp_path)  # part of its parent: not exported
        return asset_id
    finally:
        services.close()


async def test_cli_exports_every_asset_of_a_tenant(tmp_path: Path, settings: Settings) -> None:
    asset_id = await _tagged_in_data_dir(tmp_path, settings)
    out = tmp_path / "out"
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["--data-dir", str(settings.data_dir), "export", "--tenant", "desk", "--all", "--out", str(out)],
        env={"MEDIASIGHT_SEMANTIC_SEARCH": "false"},
    )
    assert result.exit_code == 0, result.output
    written = out / f"{asset_id}_astronaut.jpg.xmp"
    assert [p.name for p in out.iterdir()] == [written.name]  # "every asset": not the keyframe
    tags = await asyncio.to_thread(exiftool_read, written)
    assert tags["XMP-dc:Title"] == "Astronaut portrait"
    refused = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["--data-dir", str(settings.data_dir), "export", "--tenant", "desk", "--out", str(out)],
    )
    assert refused.exit_code == 2
    # refused once, before anything is written: a file as --out, a profile the tenant lacks, --column off CSV
    base = ["--data-dir", str(settings.data_dir), "export", "--tenant", "desk", "--all"]
    for extra, says in (
        (["--out", str(written)], "is a file: name a folder"),
        (["--out", str(tmp_path / "p"), "--profile", "nope"], "no export profile 'nope' in your tenant"),
        (["--out", str(tmp_path / "c"), "--column", "city"], "--column is for --format csv"),
    ):
        wrong = await asyncio.to_thread(CliRunner().invoke, cli, [*base, *extra], env={"COLUMNS": "200"})
        assert wrong.exit_code == 2 and says in wrong.output, wrong.output
        assert "Traceback" not in wrong.output
    assert not (tmp_path / "p").exists() and not (tmp_path / "c").exists()


async def test_csv_with_a_column_mapping_and_web_annotations(
    tmp_path: Path, meta_services: Services, client: httpx.AsyncClient
) -> None:
    services = meta_services
    tenant, key, asset_id = await _tagged(services, tmp_path)
    other = await _ingest(services, tenant, jpeg_bytes((200, 20, 20)), "=HYPERLINK(A1).jpg")

    query = """query ($ids: [ID!]!, $columns: [CsvColumn!]) { exportCsv(ids: $ids, columns: $columns) }"""
    columns = [
        {"field": "assetId", "header": "ID"},
        {"field": "filename", "header": "File"},
        {"field": "caption", "header": "Bildunterschrift"},
        {"field": "persons"},
        {"field": "latitude", "header": "Lat"},
    ]
    body = await _gql(client, key, query, ids=[asset_id, other], columns=columns)
    rows = list(csv.reader(io.StringIO(body["data"]["exportCsv"])))
    assert rows == [
        ["ID", "File", "Bildunterschrift", "persons", "Lat"],
        [asset_id, "astronaut.jpg", "Eileen Collins before the STS-93 mission", "Eileen Collins", "29.55"],
        [other, "'=HYPERLINK(A1).jpg", "", "", ""],  # no formula for a spreadsheet to run
    ]
    bad = await _gql(client, key, query, ids=[asset_id], columns=[{"field": "password"}])
    assert bad["errors"][0]["extensions"]["code"] == "BAD_COLUMNS"

    (made,) = (await _gql(client, key, EXPORT, ids=[asset_id], format="ANNOTATIONS"))["data"]["exportAssets"]
    page = json.loads(await _fetch(client, made["url"]))
    assert page["type"] == "AnnotationPage" and "http://www.w3.org/ns/anno.jsonld" in page["@context"]
    drawn, detected = page["items"][0], page["items"][1]
    assert drawn["body"]["value"] == "Eileen Collins" and "creator" not in drawn
    assert drawn["target"]["selector"]["value"] == "xywh=169,26,128,154"  # 0.33, 0.05, 0.25, 0.3 of 512
    assert detected["creator"]["type"] == "Software" and detected["body"]["purpose"] == "identifying"


async def test_cli_writes_one_csv(tmp_path: Path, settings: Settings) -> None:
    asset_id = await _tagged_in_data_dir(tmp_path, settings)
    out = tmp_path / "out"
    args = ["--data-dir", str(settings.data_dir), "export", "--tenant", "desk", "--all", "--out", str(out)]
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        [*args, "--format", "csv", "--column", "assetId=ID", "--column", "city"],
        env={"MEDIASIGHT_SEMANTIC_SEARCH": "false"},
    )
    assert result.exit_code == 0, result.output
    text = await asyncio.to_thread((out / "export.csv").read_text)
    assert text == f"ID,city\n{asset_id},Houston\n"


async def test_cli_exports_what_a_search_finds(tmp_path: Path, settings: Settings) -> None:
    asset_id = await _tagged_in_data_dir(tmp_path, settings)
    base = ["--data-dir", str(settings.data_dir), "export", "--tenant", "desk", "--format", "json"]
    for query, found in (("STS-93", [f"{asset_id}_astronaut.jpg.json"]), ("Lisbon", [])):
        out = tmp_path / query
        result = await asyncio.to_thread(
            CliRunner().invoke,
            cli,
            [*base, "--query", query, "--out", str(out)],
            env={"MEDIASIGHT_SEMANTIC_SEARCH": "false"},
        )
        assert result.exit_code == 0, result.output
        assert sorted(p.name for p in out.iterdir()) == found
    both = await asyncio.to_thread(
        CliRunner().invoke, cli, [*base, "--query", "x", "--all", "--out", str(tmp_path / "o")]
    )
    assert both.exit_code == 2


async def test_export_profiles_filter_exports_and_are_kept_per_tenant(
    tmp_path: Path, meta_services: Services, client: httpx.AsyncClient
) -> None:
    services = meta_services
    tenant, key, asset_id = await _tagged(services, tmp_path)
    other, other_key = await make_tenant(services, "other")
    save = """mutation ($p: ExportProfileInput!) { saveExportProfile(profile: $p) {
      profile { name columns { field header } humanOnly minConfidence } error { code message } } }"""
    human = {"name": "press", "humanOnly": True, "columns": [{"field": "caption", "header": "Caption"}]}
    saved = (await _gql(client, key, save, p=human))["data"]["saveExportProfile"]
    assert saved["error"] is None and saved["profile"]["columns"] == [
        {"field": "caption", "header": "Caption"}
    ]
    bad = (await _gql(client, key, save, p={"name": "x", "columns": [{"field": "secret"}]}))["data"]
    assert bad["saveExportProfile"]["error"]["code"] == "BAD_COLUMNS"
    listed = await _gql(client, key, "{ exportProfiles { name humanOnly } }")
    assert listed["data"]["exportProfiles"] == [{"name": "press", "humanOnly": True}]
    assert (await _gql(client, other_key, "{ exportProfiles { name } }"))["data"]["exportProfiles"] == []

    csv_query = "query ($ids: [ID!]!, $p: String) { exportCsv(ids: $ids, profile: $p) }"
    text = (await _gql(client, key, csv_query, ids=[asset_id], p="press"))["data"]["exportCsv"]
    assert text == "Caption\nEileen Collins before the STS-93 mission\n"
    query = """query ($ids: [ID!]!, $p: String) { exportAssets(ids: $ids, format: JSON, profile: $p) {
      url content } }"""
    (plain,) = (await _gql(client, key, query, ids=[asset_id], p=None))["data"]["exportAssets"]
    (press,) = (await _gql(client, key, query, ids=[asset_id], p="press"))["data"]["exportAssets"]
    assert json.loads(plain["content"])["regions"] and json.loads(plain["content"])["labels"]
    assert json.loads(press["content"])["regions"] == [] and json.loads(press["content"])["labels"] == []
    assert json.loads(await _fetch(client, press["url"]))["regions"] == []  # the URL keeps the profile
    tampered = press["url"].replace("p=press", "p=other")
    assert (await client.get(tampered.removeprefix("http://testserver"))).status_code == 403
    missing = await _gql(client, other_key, csv_query, ids=[], p="press")
    assert missing["errors"][0]["extensions"]["code"] == "NO_SUCH_PROFILE"
    # Configuring analyzers keeps the profiles (one config, both catalogs).
    tenant_row = await services.catalog.get_tenant(tenant)
    assert tenant_row is not None and [p.name for p in tenant_row.config.export_profiles] == ["press"]
    assert other  # the other tenant exists and saw nothing


async def test_a_background_export_of_a_search_and_of_the_tenant(
    tmp_path: Path, meta_services: Services, client: httpx.AsyncClient
) -> None:
    services = meta_services
    tenant, key, tagged = await _tagged(services, tmp_path)
    _, other_key = await make_tenant(services, "other")
    plain = await _ingest(services, tenant, jpeg_bytes((20, 200, 20)), "green.jpg")
    await _keyframe_of(services, tenant, plain, tmp_path)  # a keyframe belongs to its video: not exported
    start = """mutation ($f: BackgroundExportFormat!, $q: String) { startExport(format: $f, query: $q) {
      id state total done url } }"""
    job_query = "query ($id: ID!) { exportJob(id: $id) { state total done error url } }"

    async def finished(job_id: str) -> dict[str, Any]:
        await services.worker().run_until_idle()
        job: dict[str, Any] = (await _gql(client, key, job_query, id=job_id))["data"]["exportJob"]
        return job

    searched = (await _gql(client, key, start, f="XMP", q="STS-93"))["data"]["startExport"]
    assert searched["state"] == "queued" and searched["url"] is None
    done = await finished(searched["id"])
    assert (done["state"], done["total"], done["done"]) == ("done", 1, 1)
    with zipfile.ZipFile(io.BytesIO(await _fetch(client, done["url"]))) as archive:
        assert archive.namelist() == [f"{tagged}_astronaut.jpg.xmp"]
        assert b"STS-93" in archive.read(archive.namelist()[0])

    every = (await _gql(client, key, start, f="CSV", q=None))["data"]["startExport"]
    done = await finished(every["id"])
    assert (done["state"], done["total"]) == ("done", 2)
    with zipfile.ZipFile(io.BytesIO(await _fetch(client, done["url"]))) as archive:
        rows = list(csv.reader(io.StringIO(archive.read("export.csv").decode())))
    assert sorted(r[0] for r in rows[1:]) == sorted([tagged, plain])
    # image copies of a search's assets, the metadata embedded (exiftool reads it), stored uncompressed
    images = (await _gql(client, key, start, f="IMAGE", q="STS-93"))["data"]["startExport"]
    done = await finished(images["id"])
    assert (done["state"], done["done"]) == ("done", 1)
    with zipfile.ZipFile(io.BytesIO(await _fetch(client, done["url"]))) as archive:
        (entry,) = archive.infolist()
        assert entry.filename == f"{tagged}_astronaut.jpg" and entry.compress_type == zipfile.ZIP_STORED
        copy = tmp_path / "copy.jpg"
        await asyncio.to_thread(copy.write_bytes, archive.read(entry))
    tags = await asyncio.to_thread(exiftool_read, copy)
    assert "Eileen Collins" in str(tags)
    # Another tenant cannot see it.
    hidden = await _gql(client, other_key, job_query, id=every["id"])
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_profile_names_fields_in_its_language(
    tmp_path: Path, meta_services: Services, client: httpx.AsyncClient
) -> None:
    services = meta_services
    _, key, asset_id = await _tagged(services, tmp_path)
    save = """mutation ($p: ExportProfileInput!) { saveExportProfile(profile: $p) {
      profile { name language } error { code message } } }"""
    german = {
        "name": "archiv",
        "language": "de",
        "columns": [{"field": "caption"}, {"field": "city", "header": "City"}],
    }
    assert (await _gql(client, key, save, p=german))["data"]["saveExportProfile"]["profile"][
        "language"
    ] == "de"
    bad = (await _gql(client, key, save, p={"name": "x", "language": "tlh"}))["data"]["saveExportProfile"]
    assert bad["error"]["code"] == "BAD_PROFILE" and "de, es, fr, it, nl" in bad["error"]["message"]

    csv_query = "query ($ids: [ID!]!, $p: String) { exportCsv(ids: $ids, profile: $p) }"
    text = (await _gql(client, key, csv_query, ids=[asset_id], p="archiv"))["data"]["exportCsv"]
    assert text.splitlines() == ["Beschreibung,City", "Eileen Collins before the STS-93 mission,Houston"]
    query = """query ($ids: [ID!]!, $p: String) {
      exportAssets(ids: $ids, format: JSON, profile: $p) { content } }"""
    (made,) = (await _gql(client, key, query, ids=[asset_id], p="archiv"))["data"]["exportAssets"]
    shown = json.loads(made["content"])
    assert shown["Dateiname"] == "astronaut.jpg" and "filename" not in shown
    assert shown["Eingebettete Metadaten"]["Beschreibung"] == "Eileen Collins before the STS-93 mission"
    assert "Eileen Collins" in shown["Personen"]  # values as the archive holds them


async def test_cli_manages_profiles(tmp_path: Path, settings: Settings) -> None:
    asset_id = await _tagged_in_data_dir(tmp_path, settings)
    base = ["--data-dir", str(settings.data_dir)]
    env = {"MEDIASIGHT_SEMANTIC_SEARCH": "false"}

    def run(*args: str) -> Any:
        return CliRunner().invoke(cli, [*base, *args], env=env)

    saved = await asyncio.to_thread(
        run, "profile", "save", "presse", "--tenant", "desk", "--language", "fr", "--column", "caption",
        "--column", "persons",
    )  # fmt: skip
    assert saved.exit_code == 0, saved.output
    listed = await asyncio.to_thread(run, "profile", "list", "--tenant", "desk")
    assert "presse" in listed.output and "fr" in listed.output
    refused = await asyncio.to_thread(run, "profile", "save", "x", "--tenant", "desk", "--language", "tlh")
    assert refused.exit_code == 2 and "BAD_PROFILE" in refused.output
    out = tmp_path / "out"
    exported = await asyncio.to_thread(
        run,
        "export",
        "--tenant",
        "desk",
        "--all",
        "--format",
        "csv",
        "--profile",
        "presse",
        "--out",
        str(out),
    )
    assert exported.exit_code == 0, exported.output
    text = await asyncio.to_thread((out / "export.csv").read_text)
    assert text.splitlines()[0] == "Légende,Personnes" and asset_id
    deleted = await asyncio.to_thread(run, "profile", "delete", "presse", "--tenant", "desk")
    assert deleted.exit_code == 0
    assert "presse" not in (await asyncio.to_thread(run, "profile", "list", "--tenant", "desk")).output
