"""The catalog adapters every catalog contract suite runs on (SQLite, DynamoDB Local), and helpers to fill
them."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from catalog.domain.ids import uuid7
from catalog.domain.model import (
    Asset,
    ReprocessBatch,
)
from catalog.domain.ports import CatalogStore
from catalog.dynamodb.catalog import DynamoCatalog
from catalog.dynamodb.requests import Conflict
from catalog.sqlite.catalog import SCHEMA, SqliteCatalog
from catalog.sqlite.db import SqliteDb
from tests.contract.dynamodb_server import fresh_table

CONFLICT = (sqlite3.IntegrityError, Conflict)


T0 = datetime(2024, 5, 17, 8, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("dynamodb", marks=pytest.mark.dynamodb)])
def backend(request: pytest.FixtureRequest) -> tuple[str, Any]:
    """The adapter's name and, for DynamoDB, the session's client (set up here, outside the event loop)."""
    if request.param == "dynamodb":
        return "dynamodb", request.getfixturevalue("dynamodb_client")
    return "sqlite", None


@pytest.fixture
async def catalog(backend: tuple[str, Any], tmp_path: Path) -> AsyncIterator[CatalogStore]:
    name, client = backend
    if name == "sqlite":
        db = SqliteDb(tmp_path / "catalog.db", SCHEMA)
        try:
            yield SqliteCatalog(db)
        finally:
            db.close()
    else:
        async with fresh_table(client) as table:
            yield DynamoCatalog(client, table)


def new_asset(tenant_id: str, sha: str, **changes: Any) -> Asset:
    fields: dict[str, Any] = {
        "id": uuid7(),
        "tenant_id": tenant_id,
        "sha256": sha,
        "size_bytes": 123_456,
        "media_type": "image/jpeg",
        "width": 640,
        "height": 480,
        "filename": "beach.jpg",
        "blob_key": f"{tenant_id}/originals/{sha}",
        "created_at": T0,
        "updated_at": T0,
    }
    return Asset(**(fields | changes))


async def tenants(catalog: CatalogStore, *names: str) -> list[str]:
    return [(await catalog.create_tenant(n)).id for n in names]


def new_batch(tenant_id: str, **changes: Any) -> ReprocessBatch:
    """A batch not started yet, of the tenant's analyzers (fields: as given)."""
    fields: dict[str, Any] = {
        "analyzers": (),
        "provider": None,
        "parameters": {},
        "created_at": T0,
        "total": 0,
    }
    return ReprocessBatch(id=uuid7(), tenant_id=tenant_id, done=0, failed=0, **(fields | changes))
