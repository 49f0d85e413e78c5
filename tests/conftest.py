from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image

import mediasight  # noqa: F401 - first: it limits BLAS threads before numpy loads
from mediasight.settings import Settings
from services.keys import hash_api_key, new_api_key

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


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, no config files, no instance metadata: no AWS setting of the host leaks in."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-such-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-such-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
