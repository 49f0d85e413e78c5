"""Photos carrying IPTC/XMP written by exiftool, through the real pipeline (local face model, SQLite stack):
read into an `embedded` run, found by their words, faces named from person regions, shown in GraphQL."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from api.app import create_app
from api.context import Context
from api.schema import schema
from catalog.domain.blob_keys import sidecar_key
from catalog.domain.embedded import EMBEDDED
from catalog.domain.model import FaceRef, Stage
from catalog.domain.ports import SearchQuery
from mediasight.bootstrap import Services, build
from mediasight.cli import app as cli
from mediasight.ingest_files import ingest_paths, sidecar_of
from mediasight.settings import Settings
from services.ingest import MAX_SIDECAR_BYTES
from tests.conftest import make_tenant
from tests.e2e.photos import write_photo
from tests.fakes import ColorLabeler
from tests.indexer.metadata.exiftool import exiftool_sidecar, exiftool_write, tagged_astronaut


@pytest.fixture
async def meta_services(settings: Settings) -> AsyncIterator[Services]:
    svc = build(settings.model_copy(update={"analyzers": "labels,faces,embedded"}), labeler=ColorLabeler())
    yield svc
    svc.close()


async def _ingest(services: Services, tenant: str, path: Path, sidecar: bytes | None = None) -> str:
    data = await asyncio.to_thread(path.read_bytes)
    outcome = await services.ingestor.ingest(tenant, data, path.name, sidecar=sidecar)
    assert outcome.asset is not None, outcome.error
    await services.worker().run_until_idle()
    asset = await services.catalog.get_asset(tenant, outcome.asset.id)
    assert asset is not None and asset.status == Stage.INDEXED, asset
    return asset.id


async def test_tagged_photo_is_read_found_by_its_words_and_its_face_named(
    tmp_path: Path, meta_services: Services
) -> None:
    services = meta_services
    tenant, _ = await make_tenant(services, "desk")
    original = tagged_astronaut(tmp_path / "astronaut.jpg")
    before = original.read_bytes()
    asset_id = await _ingest(services, tenant, original)
    assert original.read_bytes() == before
    stored = await services.blobs.get((await services.catalog.get_asset(tenant, asset_id)).blob_key)  # type: ignore[union-attr]
    assert stored == before  # the original is kept as it came, metadata and all

    run = await services.catalog.get_result(tenant, asset_id, EMBEDDED)
    assert run is not None and run.provider == "embedded" and run.model_name == "exiv2"
    meta = run.findings.embedded
    assert meta is not None and meta.caption == "Eileen Collins before the STS-93 mission"
    assert ("People", "Astronauts", "Eileen Collins") in meta.hierarchy

    # Found by caption, keyword, hierarchical keyword, place and person.
    for words in ("STS-93 mission", "spaceflight", "Astronauts", "Houston"):
        page = await services.index.search(tenant, SearchQuery(text=words))
        assert [h.asset_id for h in page.hits] == [asset_id], words
    page = await services.index.search(tenant, SearchQuery(persons=("Eileen Collins",)))
    assert [h.asset_id for h in page.hits] == [asset_id]

    # The detected face lies inside the drawn region: it is now Eileen Collins's.
    linked = await services.faces.face_persons(tenant, [asset_id])
    person = await services.faces.person_by_name(tenant, "Eileen Collins")
    assert person is not None and linked == {FaceRef(asset_id, 0): person.id}

    data = await _graphql(
        services,
        tenant,
        """query ($id: ID!) { asset(id: $id) {
            embeddedMetadata { title caption keywords hierarchicalKeywords creators credit copyright
              usageTerms city country gps { latitude longitude } persons capturedAt sources truncated problem
              regions { name kind source boundingBox { left top width height } } }
            faces { person { name } } } }""",
        id=asset_id,
    )
    em = data["asset"]["embeddedMetadata"]
    assert em["title"] == "Astronaut portrait" and em["keywords"] == ["astronaut", "spaceflight"]
    assert em["hierarchicalKeywords"][0] == ["People", "Astronauts", "Eileen Collins"]
    assert (em["credit"], em["copyright"], em["usageTerms"]) == (
        "NASA",
        "Public domain",
        "Free for editorial use",
    )
    assert (em["city"], em["country"], em["creators"]) == ("Houston", "USA", ["NASA photographer"])
    assert em["gps"] == {"latitude": 29.55, "longitude": -95.09}
    assert em["capturedAt"].startswith("1998-07-15T10:30:00")
    assert em["regions"] == [
        {
            "name": "Eileen Collins",
            "kind": "human",
            "source": "iptc",
            "boundingBox": {"left": 0.33, "top": 0.05, "width": 0.25, "height": 0.3},
        }
    ]
    assert em["problem"] == "" and not em["truncated"]
    assert data["asset"]["faces"] == [{"person": {"name": "Eileen Collins"}}]


async def test_a_print_dated_only_by_its_cataloguer_is_found_by_that_date(
    tmp_path: Path, meta_services: Services
) -> None:
    """No EXIF time (a scan), a date in XMP or in IPTC: that is when it was taken, for the asset, its
    capture-date filters and `show`."""
    services = meta_services
    tenant, _ = await make_tenant(services, "desk")
    launch = exiftool_write(
        write_photo(tmp_path / "launch.jpg", "rocket"),
        "-XMP-photoshop:DateCreated=1969-07-16T13:32:00",
        "-XMP-dc:Title=Apollo 11 launch",
        "-XMP-photoshop:City=Merritt Island",
        "-XMP-lr:HierarchicalSubject=Places|USA|Florida",
    )
    harbour = exiftool_write(
        write_photo(tmp_path / "harbour.jpg", "coffee"),
        "-IPTC:DateCreated=1958:05:02",
        "-IPTC:TimeCreated=09:15:00",
    )
    scan = exiftool_write(write_photo(tmp_path / "scan.jpg", "camera"), "-XMP-photoshop:DateCreated=1950")
    ids = {path.name: await _ingest(services, tenant, path) for path in (launch, harbour, scan)}
    query = """query ($after: DateTime, $before: DateTime) {
        search(filter: {capturedAfter: $after, capturedBefore: $before}) {
          edges { node { filename capturedAt } } } }"""
    sixties = await _graphql(
        services, tenant, query, after="1960-01-01T00:00:00Z", before="1970-01-01T00:00:00Z"
    )
    assert [e["node"] for e in sixties["search"]["edges"]] == [  # type: ignore[index]
        {"filename": "launch.jpg", "capturedAt": "1969-07-16T13:32:00+00:00"}
    ]
    fifties = await _graphql(
        services, tenant, query, after="1958-01-01T00:00:00Z", before="1959-01-01T00:00:00Z"
    )
    assert [e["node"] for e in fifties["search"]["edges"]] == [  # type: ignore[index]
        {"filename": "harbour.jpg", "capturedAt": "1958-05-02T09:15:00+00:00"}
    ]
    # a print dated only "1950": found in that year, the date kept as written
    year = await _graphql(
        services, tenant, query, after="1950-01-01T00:00:00Z", before="1951-01-01T00:00:00Z"
    )
    assert [e["node"]["filename"] for e in year["search"]["edges"]] == ["scan.jpg"]  # type: ignore[index]
    written = await _graphql(
        services,
        tenant,
        "query ($id: ID!) { asset(id: $id) { embeddedMetadata { capturedAsWritten } } }",
        id=ids["scan.jpg"],
    )
    assert written["asset"] == {"embeddedMetadata": {"capturedAsWritten": "1950"}}
    assert (await services.catalog.get_asset(tenant, ids["harbour.jpg"])).captured_at is None  # type: ignore[union-attr]
    shown = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["--data-dir", str(services.settings.data_dir), "show", ids["launch.jpg"], "--tenant", "desk"],
    )
    assert shown.exit_code == 0, shown.output
    scan_shown = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["--data-dir", str(services.settings.data_dir), "show", ids["scan.jpg"], "--tenant", "desk"],
    )
    assert "captured 1950\n" in scan_shown.output, scan_shown.output
    for line in (
        "captured 1969-07-16 13:32:00",
        "title  Apollo 11 launch",
        "place  Merritt Island",
        "keyword paths  Places › USA › Florida",
    ):
        assert line in shown.output, shown.output


async def _graphql(services: Services, tenant: str, document: str, **variables: object) -> dict[str, object]:
    result = await schema.execute(
        document, variable_values=variables, context_value=Context(services, tenant)
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def test_a_sidecar_ingested_with_the_file_wins_and_goes_with_the_asset(
    tmp_path: Path, meta_services: Services
) -> None:
    services = meta_services
    tenant, _ = await make_tenant(services, "desk")
    photo = exiftool_write(write_photo(tmp_path / "cup.jpg", "coffee"), "-XMP-dc:Title=From the file")
    source = exiftool_write(
        write_photo(tmp_path / "src.jpg", "coffee"),
        "-XMP-dc:Subject=espresso",
        "-XMP-dc:Title=From the sidecar",
    )
    sidecar = tmp_path / "cup.xmp"
    exiftool_sidecar(source, sidecar)
    asset_id = await _ingest(services, tenant, photo, await asyncio.to_thread(sidecar.read_bytes))
    run = await services.catalog.get_result(tenant, asset_id, EMBEDDED)
    assert run is not None and run.findings.embedded is not None
    assert run.findings.embedded.title == "From the sidecar"
    assert "sidecar" in run.findings.embedded.sources
    page = await services.index.search(tenant, SearchQuery(text="espresso"))
    assert [h.asset_id for h in page.hits] == [asset_id]
    asset = await services.catalog.get_asset(tenant, asset_id)
    assert asset is not None and await services.blobs.exists(sidecar_key(asset.blob_key))
    await services.versions.delete(tenant, asset_id, cascade=False)
    assert not await services.blobs.exists(sidecar_key(asset.blob_key))


async def test_metadata_that_cannot_be_read_is_a_problem_not_a_failed_asset(
    tmp_path: Path, settings: Settings
) -> None:
    services = build(
        settings.model_copy(update={"analyzers": "labels,embedded", "metadata_timeout_seconds": 0.000_001}),
        labeler=ColorLabeler(),
    )
    try:
        tenant, _ = await make_tenant(services, "desk")
        asset_id = await _ingest(services, tenant, tagged_astronaut(tmp_path / "a.jpg"))
        run = await services.catalog.get_result(tenant, asset_id, EMBEDDED)
        assert run is not None and run.findings.embedded is not None
        assert "took over" in run.findings.embedded.problem
        assert await services.catalog.get_result(tenant, asset_id, "labels") is not None
    finally:
        services.close()


async def test_cli_ingest_takes_sidecars_beside_their_files(tmp_path: Path, meta_services: Services) -> None:
    services = meta_services
    tenant, _ = await make_tenant(services, "desk")
    folder = tmp_path / "shoot"
    folder.mkdir()
    write_photo(folder / "one.jpg", "coffee")
    write_photo(folder / "two.jpg", "chelsea")
    source = exiftool_write(write_photo(tmp_path / "src.jpg", "coffee"), "-XMP-dc:Subject=latte art")
    exiftool_sidecar(source, folder / "one.jpg.xmp")
    exiftool_sidecar(source, folder / "two.xmp")
    assert sidecar_of(folder / "one.jpg") == folder / "one.jpg.xmp"
    assert sidecar_of(folder / "two.jpg") == folder / "two.xmp"
    assert sidecar_of(folder / "two.xmp") is None
    results = await ingest_paths(
        services, tenant, [folder], as_json=False, wait=True, console=Console(file=io.StringIO())
    )
    assert sorted(r.path.name for r in results) == ["one.jpg", "two.jpg"]  # the sidecars are no assets
    assert all(r.outcome.status == "new" for r in results)
    page = await services.index.search(tenant, SearchQuery(text="latte art"))
    assert len(page.hits) == 2


async def test_an_upload_brings_its_sidecar_over_graphql(tmp_path: Path, meta_services: Services) -> None:
    services = meta_services
    tenant, key = await make_tenant(services, "desk")
    photo = write_photo(tmp_path / "cup.jpg", "coffee")
    source = exiftool_write(write_photo(tmp_path / "src.jpg", "coffee"), "-XMP-dc:Title=From the sidecar")
    sidecar = tmp_path / "cup.xmp"
    exiftool_sidecar(source, sidecar)
    query = """mutation ($file: Upload!, $sidecar: Upload) { ingestAsset(file: $file, sidecar: $sidecar) {
      asset { id } error { code message } } }"""

    async def upload(side: bytes) -> dict[str, Any]:
        operations = json.dumps({"query": query, "variables": {"file": None, "sidecar": None}})
        files = {
            "0": ("cup.jpg", photo.read_bytes(), "image/jpeg"),
            "1": ("cup.xmp", side, "application/rdf+xml"),
        }
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post(
                "/graphql",
                data={
                    "operations": operations,
                    "map": json.dumps({"0": ["variables.file"], "1": ["variables.sidecar"]}),
                },
                files=files,
                headers={"Authorization": f"Bearer {key}"},
            )
        payload: dict[str, Any] = response.json()["data"]["ingestAsset"]
        return payload

    too_big = await upload(b" " * (MAX_SIDECAR_BYTES + 1))
    assert too_big["asset"] is None and too_big["error"]["code"] == "SIDECAR_TOO_LARGE"
    made = await upload(await asyncio.to_thread(sidecar.read_bytes))
    assert made["error"] is None
    await services.worker().run_until_idle()
    run = await services.catalog.get_result(tenant, made["asset"]["id"], EMBEDDED)
    assert run is not None and run.findings.embedded is not None
    assert run.findings.embedded.title == "From the sidecar"


async def test_an_edited_sidecar_with_the_same_file_is_read_again(
    tmp_path: Path, meta_services: Services
) -> None:
    services = meta_services
    tenant, _ = await make_tenant(services, "desk")
    photo = write_photo(tmp_path / "cup.jpg", "coffee")
    sidecars = []
    for title in ("First caption", "Edited caption"):
        source = exiftool_write(
            write_photo(tmp_path / f"{len(sidecars)}.jpg", "coffee"), f"-XMP-dc:Title={title}"
        )
        exiftool_sidecar(source, tmp_path / f"{len(sidecars)}.xmp")
        sidecars.append(await asyncio.to_thread((tmp_path / f"{len(sidecars)}.xmp").read_bytes))
    asset_id = await _ingest(services, tenant, photo, sidecars[0])

    async def title() -> str:
        run = await services.catalog.get_result(tenant, asset_id, EMBEDDED)
        assert run is not None and run.findings.embedded is not None
        return run.findings.embedded.title

    assert await title() == "First caption"
    data = await asyncio.to_thread(photo.read_bytes)
    again = await services.ingestor.ingest(tenant, data, photo.name, sidecar=sidecars[1])
    assert again.status == "duplicate"
    await services.worker().run_until_idle()
    assert await title() == "Edited caption"  # read again, as a tracked batch of the embedded analyzer
    batches = await services.catalog.list_batches(tenant, limit=10)
    assert [b.analyzers for b in batches] == [("embedded",)]
    await services.ingestor.ingest(tenant, data, photo.name, sidecar=sidecars[1])  # unchanged: nothing to do
    assert len(await services.catalog.list_batches(tenant, limit=10)) == 1
