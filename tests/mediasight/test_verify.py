"""`mediasight verify`: drift between the catalog (the truth) and the search index, found and repaired."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from rich.console import Console
from typer.testing import CliRunner

from catalog.domain.clock import utcnow
from catalog.domain.fingerprint import document_fingerprint
from catalog.domain.ids import uuid7
from catalog.domain.model import Label, Stage
from catalog.domain.ports import IndexDocument, SearchQuery
from catalog.sqlite.db import SqliteDb
from catalog.sqlite.search import index as sqlite_search
from catalog.sqlite.search.index import SqliteSearchIndex
from mediasight.bootstrap import Services, build
from mediasight.cli import app
from mediasight.settings import Settings
from mediasight.verify import EXAMPLES, DriftReport, verify
from tests.conftest import jpeg_bytes, make_tenant
from tests.fakes import ColorLabeler

QUIET = Console(quiet=True)
COLORS = [(250, 0, 0), (0, 250, 0), (0, 0, 250), (200, 40, 40), (40, 200, 40)]


def doc(**changes: object) -> IndexDocument:
    base = IndexDocument(
        "t",
        "a",
        "x.jpg",
        "image/jpeg",
        datetime(2026, 1, 1, tzinfo=UTC),
        None,
        (Label("Dog", 92.5, ("Animal",)),),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_fingerprint_sees_every_field_but_not_noise() -> None:
    fp = document_fingerprint(doc())
    assert fp == document_fingerprint(doc()) and fp.startswith("v7:")
    same = [
        doc(labels=(Label("Dog", 92.500001, ("Animal",)),)),  # float noise below 4 decimals
        doc(created_at=datetime(2026, 1, 1)),  # naive is UTC, as the adapters take it
        doc(created_at=datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))),  # the same instant
        doc(root_id="a"),  # no root and its own ID are the same
    ]
    assert all(document_fingerprint(d) == fp for d in same)
    different = [
        doc(tenant_id="u"), doc(asset_id="b"), doc(filename="y.jpg"), doc(media_type="image/png"),
        doc(created_at=datetime(2026, 1, 2, tzinfo=UTC)), doc(captured_at=datetime(2025, 1, 1, tzinfo=UTC)),
        doc(labels=(Label("Dog", 92.6, ("Animal",)),)), doc(labels=(Label("Dog", 92.5, ("Mammal",)),)),
        doc(labels=()), doc(text="hello"), doc(persons=("Ada",)), doc(moderated=True),
        doc(embedding=(0.1, 0.2)), doc(root_id="r"), doc(tone="monochrome"), doc(tone="colour"),
    ]  # fmt: skip
    prints = {document_fingerprint(d) for d in different}
    assert len(prints) == len(different) and fp not in prints
    assert document_fingerprint(doc(embedding=(0.12341,))) == document_fingerprint(doc(embedding=(0.12342,)))
    assert document_fingerprint(doc(embedding=(-0.0,))) == document_fingerprint(doc(embedding=(0.0,)))
    nan = document_fingerprint(doc(embedding=(float("nan"), 0.5)))  # no warning, still a fingerprint
    assert nan == document_fingerprint(doc(embedding=(float("nan"), 0.5))) != fp
    as_int, as_float = (Label("Dog", 92, ("Animal",)),), (Label("Dog", 92.0, ("Animal",)),)
    assert document_fingerprint(doc(labels=as_int)) == document_fingerprint(doc(labels=as_float))


async def ingest_archive(services: Services) -> tuple[str, str, list[str]]:
    """Tenants acme (4 assets) and other (1), all indexed; returns (acme, other, acme's asset IDs)."""
    acme, _ = await make_tenant(services, "acme")
    other, _ = await make_tenant(services, "other")
    for i, color in enumerate(COLORS):
        outcome = await services.ingestor.ingest(acme if i < 4 else other, jpeg_bytes(color), f"p{i}.jpg")
        assert outcome.status == "new", outcome.error
    await services.worker().run_until_idle()
    assets = await services.catalog.list_assets(acme, after=None, limit=10)
    assert [a.status for a in assets] == [Stage.INDEXED] * 4
    return acme, other, [a.id for a in assets]


async def make_drift(services: Services, acme: str, ids: list[str]) -> tuple[str, str, str]:
    """Delete one document, add one for no asset, make one stale; returns (missing, extra, stale)."""
    await services.index.delete(acme, ids[0])
    extra = uuid7()
    await services.index.upsert(doc(tenant_id=acme, asset_id=extra, labels=(Label("Ghost", 99),)))
    asset = await services.catalog.get_asset(acme, ids[2])
    assert asset is not None
    expected = (await services.pipeline.expected_documents([asset]))[0]
    await services.index.upsert(dataclasses.replace(expected, labels=(Label("Zebra", 97, ("Animal",)),)))
    return ids[0], extra, ids[2]


def assert_drift(report: DriftReport, missing: str, extra: str, stale: str) -> None:
    assert (report.missing.count, report.extra.count, report.stale.count) == (1, 1, 1), report
    assert (report.missing.examples, report.extra.examples, report.stale.examples) == (
        [missing],
        [extra],
        [stale],
    )


async def drift_scenario(services: Services) -> None:
    """Verify on a clean archive, make drift, verify finds exactly it, repair fixes it (any stack)."""
    acme, other, ids = await ingest_archive(services)
    before = await services.index.search(acme, SearchQuery(labels=("color",)))
    clean = await verify(services, tenant_id=None, repair=False, console=QUIET)
    assert (clean.assets, clean.documents, clean.drift, clean.remaining) == (5, 5, 0, 0)

    missing, extra, stale = await make_drift(services, acme, ids)
    found = await verify(services, tenant_id=None, repair=False, console=QUIET)
    assert_drift(found, missing, extra, stale)
    assert (found.assets, found.documents, found.remaining, found.repaired) == (5, 5, 3, 0)
    assert (await services.index.search(acme, SearchQuery(labels=("zebra",)))).total == 1  # read-only
    scoped = await verify(services, tenant_id=acme, repair=False, console=QUIET)
    assert_drift(scoped, missing, extra, stale)
    assert (scoped.assets, scoped.documents) == (4, 4)
    assert (await verify(services, tenant_id=other, repair=False, console=QUIET)).drift == 0

    repaired = await verify(services, tenant_id=None, repair=True, console=QUIET)
    assert_drift(repaired, missing, extra, stale)
    assert (repaired.repaired, repaired.deferred, repaired.failed, repaired.remaining) == (3, 0, 0, 0)
    again = await verify(services, tenant_id=None, repair=False, console=QUIET)
    assert (again.assets, again.documents, again.drift) == (5, 5, 0)
    assert await services.index.search(acme, SearchQuery(labels=("color",))) == before


async def test_verify_finds_and_repairs_missing_extra_and_stale(services: Services) -> None:
    await drift_scenario(services)


async def test_repair_leaves_assets_in_flight_to_the_worker_and_drops_failed_ones(services: Services) -> None:
    acme, _, ids = await ingest_archive(services)
    await services.catalog.set_stage(acme, ids[1], Stage.FAILED, "gave up")  # its document stays behind
    waiting = await services.ingestor.ingest(acme, jpeg_bytes((90, 90, 10)), "new.jpg")
    assert waiting.asset is not None
    asset = await services.catalog.get_asset(acme, waiting.asset.id)
    assert asset is not None and asset.status == Stage.STORED
    await services.index.upsert((await services.pipeline.expected_documents([asset]))[0])  # as mid-pipeline

    report = await verify(services, tenant_id=acme, repair=True, console=QUIET)
    assert report.extra.count == 2 and set(report.extra.examples) == {ids[1], asset.id}
    assert (report.repaired, report.deferred, report.remaining) == (1, 1, 1)
    assert "1 in flight left to the worker" in report.summary("acme")
    await services.worker().run_until_idle()  # the worker finishes it: nothing left
    assert (await verify(services, tenant_id=acme, repair=False, console=QUIET)).drift == 0


async def test_examples_are_capped_and_counts_are_not(services: Services) -> None:
    acme, _ = await make_tenant(services, "acme")
    for _ in range(EXAMPLES + 5):
        await services.index.upsert(doc(tenant_id=acme, asset_id=uuid7()))
    report = await verify(services, tenant_id=None, repair=False, console=QUIET)
    assert report.extra.count == EXAMPLES + 5 and len(report.extra.examples) == EXAMPLES
    assert "..." in report.summary()


async def test_an_index_file_from_before_fingerprints_reads_as_stale(tmp_path: Path) -> None:
    old_schema = re.sub(r"\n\s*fingerprint TEXT,[^\n]*", "", sqlite_search.SCHEMA)
    assert "fingerprint" not in old_schema
    db = SqliteDb(tmp_path / "old.db", old_schema)
    try:
        index = SqliteSearchIndex(db)  # adds the column
        await index.upsert(doc())
        assert await index.fingerprints(None, after=None, limit=10) == [
            ("t", "a", document_fingerprint(doc()))
        ]
        await db.write(lambda c: c.execute("UPDATE docs SET fingerprint = NULL"))  # as written before
        assert await index.fingerprints("t", after=None, limit=10) == [("t", "a", "")]
        SqliteSearchIndex(db)  # opening again changes nothing
    finally:
        db.close()


class HashEmbedder:
    """A TextEmbedder: a unit vector from the text's digest (equal texts, equal vectors), instantly."""

    name, version = "fake-hash", "1"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = [
            np.frombuffer(hashlib.sha256(t.encode()).digest(), np.uint8).astype(np.float32) for t in texts
        ]
        return np.array([r / np.linalg.norm(r) for r in rows], np.float32).reshape(len(texts), 32)


async def test_repair_embeds_again_an_asset_whose_meaning_text_changed(settings: Settings) -> None:
    embedder, older = HashEmbedder(), "Red, in older words. p0"
    services = build(settings, labeler=ColorLabeler(), embedder=embedder)
    try:
        acme, _, ids = await ingest_archive(services)
        old, kept = ids[0], ids[1]
        current = await services.catalog.get_result(acme, old, "embedding")
        assert current is not None and current.parameters["text"] != older
        # embedded by an older release, whose meaning text said less (before label glosses)
        vector = tuple(float(v) for v in embedder.embed([older])[0])
        findings = dataclasses.replace(current.findings, embedding=vector)
        before = dataclasses.replace(
            current, id=uuid7(), parameters={"text": older}, findings=findings, finished_at=utcnow()
        )
        await services.catalog.save_result(acme, before)
        assets = [
            a for a in await services.catalog.list_assets(acme, after=None, limit=10) if a.id in (old, kept)
        ]
        # the fingerprint sees the stored vector, not the code that made it: a new VERSION makes every
        # document stale, as upgrading to it does
        for expected in await services.pipeline.expected_documents(assets):
            await services.index.upsert(dataclasses.replace(expected, labels=()))
        kept_run = await services.catalog.get_result(acme, kept, "embedding")

        report = await verify(services, tenant_id=acme, repair=True, console=QUIET)
        assert (report.stale.count, report.repaired, report.remaining) == (2, 2, 0)
        again = await services.catalog.get_result(acme, old, "embedding")
        assert again is not None and again.id not in (before.id, current.id)
        assert again.parameters == current.parameters  # the text of now, embedded again
        assert again.findings.embedding == current.findings.embedding != vector
        assert await services.catalog.get_result(acme, kept, "embedding") == kept_run  # only reindexed
        assert (await verify(services, tenant_id=acme, repair=False, console=QUIET)).drift == 0  # new vector
    finally:
        services.close()


def test_cli_exit_status_json_and_summary(settings: Settings) -> None:
    async def setup() -> tuple[str, str, str]:
        services = build(settings, labeler=ColorLabeler())
        try:
            acme, _, ids = await ingest_archive(services)
            return await make_drift(services, acme, ids)
        finally:
            services.close()

    missing, extra, stale = asyncio.run(setup())
    runner = CliRunner()
    env = {
        "MEDIASIGHT_DATA_DIR": str(settings.data_dir),
        "MEDIASIGHT_ANALYZERS": "labels",
        "MEDIASIGHT_SEMANTIC_SEARCH": "false",
    }

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["verify", *args], env=env)
        return result.exit_code, result.stdout

    code, out = run("--json", "--tenant", "acme")
    body = json.loads(out)
    assert code == 1 and body["tenant"] == "acme" and body["remaining"] == 3
    assert (body["missing"]["examples"], body["extra"]["examples"], body["stale"]["examples"]) == (
        [missing],
        [extra],
        [stale],
    )
    assert run("--tenant", "nobody")[0] == 2
    code, out = run()
    assert code == 1 and "missing 1" in " ".join(out.split()) and "--repair" in out
    code, out = run("--repair")
    assert code == 0 and "repaired 3 of 3" in out, out
    code, out = run()
    assert code == 0 and "no drift" in out
