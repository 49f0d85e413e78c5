"""Exports of many assets (a search, or the whole tenant) as a background job on the queue: its state and
progress, and at the end one zip, are kept in the blob store (so both deployments keep them as they keep
originals). Formats: the per-asset files (xmp, json, annotations, or image copies with the metadata
embedded) or one CSV. The zip is written to a temporary file and streamed to the store (a search's image
copies can be gigabytes): memory holds one asset's file at a time."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from catalog.domain.ids import uuid7
from catalog.domain.ports import BlobStore, CatalogStore, JobQueue, SearchIndex, SearchQuery
from services.exports import MAX_EXPORT_IDS, ExportError, ExportFormat, ExportService

EXPORT_JOB = "export"  # the job's "asset" is the export job's ID
MAX_JOB_ASSETS = 100_000
PAGE = 100
FORMATS = ("xmp", "json", "annotations", "image", "csv")
# Already-compressed files are stored, not deflated again (the CPU would gain nothing on JPEG or PNG).
STORED = (ExportFormat.IMAGE,)


@dataclass(frozen=True)
class ExportJob:
    id: str
    tenant_id: str
    format: str  # one of FORMATS
    created_at: datetime
    query: str | None = None  # search words; None with no labels: every asset of the tenant
    labels: tuple[str, ...] = ()
    profile: str | None = None
    state: str = "queued"  # queued | running | done | failed
    total: int = 0
    done: int = 0
    error: str = ""

    def as_json(self) -> str:
        d = dataclasses.asdict(self)
        d["created_at"] = self.created_at.isoformat()
        d["labels"] = list(self.labels)
        return json.dumps(d)

    @staticmethod
    def from_json(text: str) -> ExportJob:
        d: dict[str, Any] = json.loads(text)
        d["created_at"] = datetime.fromisoformat(d["created_at"])
        d["labels"] = tuple(d["labels"])
        return ExportJob(**d)


def _state_key(tenant_id: str, job_id: str) -> str:
    return f"exports/{tenant_id}/{job_id}/state.json"


def result_key(tenant_id: str, job_id: str) -> str:
    return f"exports/{tenant_id}/{job_id}/export.zip"


class ExportJobs:
    def __init__(
        self,
        blobs: BlobStore,
        queue: JobQueue,
        catalog: CatalogStore,
        index: SearchIndex,
        exports: ExportService,
    ) -> None:
        self._blobs = blobs
        self._queue = queue
        self._catalog = catalog
        self._index = index
        self._exports = exports

    async def start(
        self,
        tenant_id: str,
        fmt: str,
        *,
        query: str | None = None,
        labels: Sequence[str] = (),
        profile: str | None = None,
    ) -> ExportJob:
        if fmt not in FORMATS:
            raise ExportError("BAD_FORMAT", f"a background export is one of {', '.join(FORMATS)}")
        await self._exports.profile(tenant_id, profile)  # NO_SUCH_PROFILE now, not in the job
        job = ExportJob(uuid7(), tenant_id, fmt, datetime.now(UTC), query, tuple(labels), profile)
        await self._save(job)
        await self._queue.enqueue(EXPORT_JOB, tenant_id, job.id, background=True)
        return job

    async def get(self, tenant_id: str, job_id: str) -> ExportJob:
        try:
            return ExportJob.from_json((await self._blobs.get(_state_key(tenant_id, job_id))).decode())
        except (FileNotFoundError, ValueError) as exc:
            raise ExportError("NOT_FOUND", f"no export {job_id} in your tenant") from exc

    async def result(self, tenant_id: str, job_id: str, target: Path) -> None:
        """Write the finished export's zip to `target` (streamed from the store)."""
        job = await self.get(tenant_id, job_id)
        if job.state != "done":
            raise ExportError("NOT_READY", f"export {job_id} is {job.state} ({job.done}/{job.total})")
        await self._blobs.get_file(result_key(tenant_id, job_id), target)

    async def fail(self, tenant_id: str, job_id: str, reason: str) -> None:
        """The worker gave up on the job: say why."""
        job = await self.get(tenant_id, job_id)
        await self._save(dataclasses.replace(job, state="failed", error=reason))

    async def _save(self, job: ExportJob) -> None:
        await self._blobs.put(_state_key(job.tenant_id, job.id), job.as_json().encode(), "application/json")

    async def _asset_ids(self, job: ExportJob) -> list[str]:
        out: list[str] = []
        if job.query is None and not job.labels:
            after: str | None = None
            while len(out) < MAX_JOB_ASSETS:
                page = await self._catalog.list_assets(job.tenant_id, after=after, limit=PAGE)
                out.extend(a.id for a in page if a.in_archive)
                if len(page) < PAGE:
                    break
                after = page[-1].id
            return out[:MAX_JOB_ASSETS]
        cursor: str | None = None
        query = SearchQuery(text=job.query, labels=job.labels, first=PAGE)
        while len(out) < MAX_JOB_ASSETS:
            found = await self._index.search(job.tenant_id, dataclasses.replace(query, after=cursor))
            out.extend(h.asset_id for h in found.hits)
            if not found.has_next or found.end_cursor is None:
                break
            cursor = found.end_cursor
        return out[:MAX_JOB_ASSETS]

    async def run(self, tenant_id: str, job_id: str) -> None:
        """The job: export every asset into one zip, saving progress as it goes. Run again after a crash, it
        starts over (the result is written only at the end)."""
        job = await self.get(tenant_id, job_id)
        if job.state in ("done", "failed"):
            return
        ids = await self._asset_ids(job)
        job = dataclasses.replace(job, state="running", total=len(ids), done=0)
        await self._save(job)
        with tempfile.TemporaryDirectory(prefix="mediasight-export-") as folder:
            path = Path(folder) / "export.zip"
            archive = await asyncio.to_thread(zipfile.ZipFile, path, "w", zipfile.ZIP_DEFLATED)
            try:
                if job.format == "csv":
                    await self._csv(job, ids, archive)
                else:
                    await self._files(job, ids, archive)
            except ExportError as exc:
                await self._save(dataclasses.replace(job, state="failed", error=str(exc)))
                return
            finally:
                await asyncio.to_thread(archive.close)
            await self._blobs.put_file(result_key(tenant_id, job_id), path, "application/zip")
        await self._save(dataclasses.replace(job, state="done", done=len(ids)))

    async def _files(self, job: ExportJob, ids: list[str], archive: zipfile.ZipFile) -> None:
        fmt = ExportFormat(job.format)
        for n, asset_id in enumerate(ids, start=1):
            try:
                made = await self._exports.export(job.tenant_id, asset_id, fmt, job.profile)
            except ExportError as exc:
                if exc.code != "NOT_FOUND":  # deleted since the job started: left out
                    raise
            else:
                compress = zipfile.ZIP_STORED if fmt in STORED else zipfile.ZIP_DEFLATED
                name = f"{asset_id}_{made.filename}"
                # blocking writes and deflate: off the event loop (one at a time: a ZipFile is not shared)
                await asyncio.to_thread(archive.writestr, name, made.data, compress)
            if n % PAGE == 0:
                await self._save(dataclasses.replace(job, state="running", done=n))

    async def _csv(self, job: ExportJob, ids: list[str], archive: zipfile.ZipFile) -> None:
        parts: list[str] = []
        for start in range(0, max(len(ids), 1), MAX_EXPORT_IDS):
            chunk = ids[start : start + MAX_EXPORT_IDS]
            present = await self._catalog.get_assets(job.tenant_id, chunk)
            text = await self._exports.csv(job.tenant_id, [i for i in chunk if i in present], (), job.profile)
            parts.append(text if not parts else text.split("\n", 1)[1])
            await self._save(
                dataclasses.replace(job, state="running", done=min(start + len(chunk), len(ids)))
            )
        await asyncio.to_thread(archive.writestr, "export.csv", "".join(parts))
