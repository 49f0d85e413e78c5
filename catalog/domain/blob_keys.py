"""Where originals live in the blob store: content-addressed keys, per tenant."""

from __future__ import annotations


def original_key(tenant_id: str, sha256: str) -> str:
    # Content-addressed: writing the same bytes twice is harmless, so a retried ingest needs no cleanup.
    return f"originals/{tenant_id}/{sha256[:2]}/{sha256}"


def parse_original_key(key: str) -> tuple[str, str] | None:
    """(tenant_id, sha256) of a key made by original_key(); None for any other key."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != "originals" or parts[2] != parts[3][:2]:
        return None
    return parts[1], parts[3]
