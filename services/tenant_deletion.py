"""Deleting a tenant and everything it owns: assets, runs, faces and persons, index documents, blobs,
webhooks, its remote face collection, then the tenant and its API keys.

The order makes it safe to stop and run again at any point: keys are revoked first (nobody can add
anything), the remote collection goes next (if the provider is down nothing else is gone yet), then the
catalog's records (a worker holding a queued job of the tenant now finds no asset and drops it), the index
and the blobs (which sweep up anything a worker wrote meanwhile), and the tenant itself last: while it
exists, `mediasight tenant delete` finds it and finishes the job.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from catalog.domain.blob_keys import tenant_prefix
from catalog.domain.model import Tenant
from catalog.domain.ports import BlobStore, CatalogStore, IndexDocument, SearchIndex
from services.face_collection import RoutedFaceCollection

log = logging.getLogger(__name__)

STEPS = ("revoke keys", "remote faces", "catalog", "index", "blobs", "tenant")


@dataclass(frozen=True)
class TenantDeletion:
    """What one deletion removed."""

    tenant: Tenant
    keys_revoked: int
    remote_collection: bool
    records: int
    index_documents: int
    blobs: int


async def _no_documents() -> AsyncIterator[list[IndexDocument]]:
    return
    yield


async def delete_tenant(
    tenant: Tenant,
    *,
    catalog: CatalogStore,
    index: SearchIndex,
    blobs: BlobStore,
    faces: RoutedFaceCollection,
    on_step: Callable[[str], None] = lambda step: None,
) -> TenantDeletion:
    """Delete the tenant and all it owns (see the module's docstring for the order); on_step is told each
    step of STEPS as it starts."""
    tid = tenant.id
    on_step(STEPS[0])
    revoked = 0
    for key in await catalog.list_api_keys(tid):
        revoked += await catalog.revoke_api_key(tid, key.id)
    on_step(STEPS[1])
    used_remote = "rekognition" in tenant.config.providers.values()
    dropped = await faces.drop_remote(tid, used_remote=used_remote)
    on_step(STEPS[2])
    records = await catalog.delete_tenant_data(tid)
    on_step(STEPS[3])
    documents = await index.count(tid)
    await index.rebuild(_no_documents(), tenant_id=tid)
    on_step(STEPS[4])
    removed = 0
    for area in await blobs.areas():
        removed += await blobs.delete_prefix(tenant_prefix(area, tid))
    on_step(STEPS[5])
    await catalog.delete_tenant(tid)
    log.info(
        "deleted tenant %s (%s): %d records, %d index documents, %d blobs, remote collection %s",
        tenant.name, tid, records, documents, removed, "deleted" if dropped else "none",
    )  # fmt: skip
    return TenantDeletion(tenant, revoked, dropped, records, documents, removed)
