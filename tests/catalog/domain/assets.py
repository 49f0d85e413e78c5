"""A domain Asset for pure-function tests (no storage)."""

from __future__ import annotations

from datetime import UTC, datetime

from catalog.domain.model import Asset, Stage

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def an_asset(filename: str = "x.jpg") -> Asset:
    return Asset(
        id="a1", tenant_id="t1", sha256="0" * 64, size_bytes=1, media_type="image/jpeg", width=1, height=1,
        filename=filename, blob_key="k", created_at=NOW, updated_at=NOW, status=Stage.INDEXED,
    )  # fmt: skip
