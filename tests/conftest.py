from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image

import mediasight  # noqa: F401 - first: it limits BLAS threads before numpy loads
from catalog.keys import hash_api_key, new_api_key
from mediasight.settings import Settings

if TYPE_CHECKING:
    from mediasight.bootstrap import Services


def jpeg_bytes(color: tuple[int, int, int], size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", **save)
    return buf.getvalue()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Unit tests run the labels analyzer only, with a fake model; real models have tests of their own.
    return Settings(
        data_dir=tmp_path / "data",
        job_retry_base_seconds=0.0,
        worker_concurrency=4,
        analyzers="labels",
        semantic_search=False,
    )


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    from mediasight.bootstrap import build
    from tests.fakes import ColorLabeler

    svc = build(settings, labeler=ColorLabeler())
    yield svc
    svc.close()


async def make_tenant(services: Services, name: str) -> tuple[str, str]:
    """(tenant_id, api_key)"""
    tenant = await services.catalog.create_tenant(name)
    key = new_api_key()
    await services.catalog.add_api_key(tenant.id, hash_api_key(key))
    return tenant.id, key
