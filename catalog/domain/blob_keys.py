"""Blob keys: what every blob store accepts (safe relative paths), and where originals live in it
(content-addressed keys, per tenant)."""

from __future__ import annotations

import re

_KEY = re.compile(r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-.]+)*$")


class BlobKeyError(ValueError):
    """A key that could leave the store's folder or prefix ("..", a leading "/", odd characters)."""


def validate_key(key: str) -> str:
    """Raise BlobKeyError unless key is a safe relative blob key (no "..", no leading "/"); return it."""
    if not _KEY.match(key) or any(part in {".", ".."} for part in key.split("/")):
        raise BlobKeyError(f"invalid blob key {key!r}")
    return key


def validate_prefix(prefix: str) -> str:
    """Raise BlobKeyError unless prefix is a safe folder of keys ("area/tenant/"); return it."""
    if not prefix.endswith("/"):
        raise BlobKeyError(f"a blob prefix ends with '/': {prefix!r}")
    validate_key(prefix[:-1])
    return prefix


def tenant_prefix(area: str, tenant_id: str) -> str:
    """Where a tenant's blobs of one area live: every blob key is `<area>/<tenant_id>/...` (originals,
    sidecars, renditions, exports), which is what lets a tenant's deletion find all of them."""
    return validate_prefix(f"{area}/{tenant_id}/")


def original_key(tenant_id: str, sha256: str) -> str:
    # Content-addressed: writing the same bytes twice is harmless, so a retried ingest needs no cleanup.
    return f"originals/{tenant_id}/{sha256[:2]}/{sha256}"


def parse_original_key(key: str) -> tuple[str, str] | None:
    """(tenant_id, sha256) of a key made by original_key(); None for any other key."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != "originals" or parts[2] != parts[3][:2]:
        return None
    return parts[1], parts[3]


def sidecar_key(original: str) -> str:
    """Where an original's .xmp sidecar is kept: under its own prefix, named after the original (written
    before the asset is registered, like the original, so a retried ingest writes the same thing)."""
    return "sidecars/" + original.removeprefix("originals/") + ".xmp"
