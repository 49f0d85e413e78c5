"""S3 event ingest: register objects that land in S3 as assets, from S3's notifications on an SQS queue.

A bucket sends `ObjectCreated:*` notifications to a standard SQS queue (directly, or through SNS); each
message holds one or more records. For each record we find the tenant mapped to the bucket/prefix
(longest prefix wins), read the object and hand its bytes to the Ingestor. The message is deleted only
after every record in it is handled, so a crash or a transient error means redelivery, never loss.

Why duplicates and disorder are harmless: the Ingestor is content-addressed (the same bytes in one tenant
make one asset), and each record is handled on its own, against the object as it is *now*. A record for an
object deleted since is skipped (NoSuchKey); one for an object overwritten since reads the newer bytes,
which its own record would bring anyway. So the `sequencer` is parsed but not needed for ordering. We do
not pin `versionId`: that would need s3:GetObjectVersion, and would ingest objects deleted since.

Messages that are not S3 notifications (bad JSON, unknown shapes) go to the dead-letter queue if one is
configured, or are deleted with a log line; `s3:TestEvent` messages (sent when a bucket's notification
configuration is saved) are deleted. Nothing a message contains can stop the loop.

The message format is parsed in indexer.s3_notifications; the SQS chores are in indexer.s3_event_queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from catalog.domain.ports import CatalogStore
from indexer import s3_event_queue as queue
from indexer.s3_notifications import MalformedEventError, ObjectEvent, TestEvent, parse_message
from services.ingest import Ingestor
from services.spill import SpillTooLarge, spill

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
_MISSING = {"NoSuchKey", "404", "NotFound"}
_UNMAPPED_LOG_LIMIT = 1000  # distinct buckets we remember having warned about


class UnknownTenantError(ValueError):
    """The mapping names a tenant the catalog does not have."""


class _TooLarge(Exception):
    pass


@dataclass(frozen=True)
class TenantMapping:
    """`bucket[/prefix] → tenant name`; the longest matching prefix wins. Prefixes are plain string
    prefixes, as in S3's own notification filters: write `media/acme/` to mean the folder only."""

    routes: tuple[tuple[str, str, str], ...] = ()  # (bucket, prefix, tenant), longest prefix first

    @classmethod
    def parse(cls, spec: str) -> TenantMapping:
        """From "bucket/prefix=tenant,bucket2=tenant2" (a prefix may contain '=', a tenant may not)."""
        routes: dict[tuple[str, str], str] = {}
        for entry in (e.strip() for e in spec.split(",")):
            if not entry:
                continue
            target, sep, tenant = entry.rpartition("=")
            bucket, _, prefix = target.strip().partition("/")
            if not sep or not bucket or not tenant.strip():
                raise ValueError(f"bad S3 event mapping {entry!r}: expected BUCKET[/PREFIX]=TENANT")
            if (bucket, prefix) in routes:
                raise ValueError(f"S3 event mapping names {target.strip()!r} twice")
            routes[(bucket, prefix)] = tenant.strip()
        ordered = sorted(routes.items(), key=lambda item: -len(item[0][1]))
        return cls(tuple((bucket, prefix, tenant) for (bucket, prefix), tenant in ordered))

    @property
    def tenants(self) -> set[str]:
        return {tenant for _, _, tenant in self.routes}

    def tenant_for(self, bucket: str, key: str) -> str | None:
        for route_bucket, prefix, tenant in self.routes:
            if route_bucket == bucket and key.startswith(prefix):
                return tenant
        return None


@dataclass
class S3EventStats:
    """What this process did with the records it saw (for logs and tests)."""

    new: int = 0
    duplicate: int = 0
    rejected: int = 0
    missing: int = 0
    unmapped: int = 0
    ignored: int = 0
    malformed: int = 0  # messages
    retried: int = 0  # messages left for redelivery after a transient error

    def count(self, status: str) -> None:
        setattr(self, status, getattr(self, status) + 1)


class S3EventIngestor:
    def __init__(
        self,
        sqs_client: Any,  # entered aiobotocore clients, created once by the composition root
        s3_client: Any,
        queue_url: str,
        ingestor: Ingestor,
        catalog: CatalogStore,
        mapping: TenantMapping,
        *,
        max_bytes: int,
        dead_letter_url: str | None = None,
        wait_seconds: int = 20,
        visibility_seconds: int = 300,
        retry_base_seconds: int = 10,
        concurrency: int = 4,
    ) -> None:
        if not 0 <= wait_seconds <= 20:
            raise ValueError("wait_seconds must be 0..20")
        self._sqs = sqs_client
        self._s3 = s3_client
        self.queue_url = queue_url
        self.dead_letter_url = dead_letter_url
        self._ingestor = ingestor
        self._catalog = catalog
        self._mapping = mapping
        self._max_bytes = max_bytes
        self._wait = wait_seconds
        self._visibility = max(visibility_seconds, 3)
        self._retry_base = retry_base_seconds
        self._slots = asyncio.Semaphore(concurrency)  # each holds one object being read
        self._tenant_ids: dict[str, str] | None = None
        self._warned: set[str] = set()
        self.stats = S3EventStats()

    async def check(self) -> None:
        """Resolve the mapped tenant names (UnknownTenantError if one is missing): fail at start."""
        if not self._mapping.routes:
            raise UnknownTenantError("the S3 event mapping is empty: every object would be skipped")
        ids: dict[str, str] = {}
        for name in sorted(self._mapping.tenants):
            tenant = await self._catalog.get_tenant_by_name(name)
            if tenant is None:
                raise UnknownTenantError(f"the S3 event mapping names tenant {name!r}, which does not exist")
            ids[name] = tenant.id
        self._tenant_ids = ids

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set. A long poll in progress is abandoned at once (its messages, if any,
        reappear after the visibility timeout); messages being handled are finished first."""
        await self.check()
        log.info("S3 event ingest started on %s", self.queue_url)
        backoff = 1.0
        while not stop.is_set():
            receive = asyncio.create_task(self._receive(self._wait))
            stopped = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait({receive, stopped}, return_when=asyncio.FIRST_COMPLETED)
            finally:  # also when run() itself is cancelled: leave no task behind
                stopped.cancel()
                if not receive.done():
                    receive.cancel()
                    await asyncio.wait({receive})
            if receive.cancelled():
                break
            try:
                messages = receive.result()
            except Exception:  # SQS unreachable, throttled, credentials expired: keep trying, slower
                log.exception(
                    "receiving S3 events from %s failed; retrying in %.0fs", self.queue_url, backoff
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            backoff = 1.0
            await self._handle_all(messages)
        log.info("S3 event ingest stopped")

    async def poll_once(self, wait_seconds: int | None = None) -> int:
        """Receive one batch (long poll unless told otherwise) and handle it; the number of messages."""
        if self._tenant_ids is None:
            await self.check()
        messages = await self._receive(self._wait if wait_seconds is None else wait_seconds)
        await self._handle_all(messages)
        return len(messages)

    async def _receive(self, wait: int) -> list[dict[str, Any]]:
        return await queue.receive(self._sqs, self.queue_url, wait=wait, visibility=self._visibility)

    async def _handle_all(self, messages: list[dict[str, Any]]) -> None:
        await asyncio.gather(*(self._handle_message(m) for m in messages))

    async def _handle_message(self, message: dict[str, Any]) -> None:
        """Never raises (but for cancellation): a message's fate is deleted, dead-lettered or redelivered."""
        try:
            await self._handle(message)
        except Exception:  # e.g. SQS unreachable while deleting: the message comes back, harmlessly
            log.exception("S3 event message %s left for redelivery", message.get("MessageId", "?"))

    async def _handle(self, message: dict[str, Any]) -> None:
        message_id = str(message.get("MessageId", "?"))
        receipt = str(message.get("ReceiptHandle", ""))
        try:
            parsed = parse_message(message.get("Body", ""))
        except MalformedEventError as exc:
            self.stats.malformed += 1
            await queue.reject(self._sqs, self.queue_url, self.dead_letter_url, message, str(exc))
            return
        if isinstance(parsed, TestEvent):
            log.info("S3 test event for bucket %r: notifications reach %s", parsed.bucket, self.queue_url)
            await queue.delete(self._sqs, self.queue_url, receipt)
            return
        async with self._slots:
            keeper = asyncio.create_task(
                queue.keep_hidden(self._sqs, self.queue_url, receipt, message_id, self._visibility)
            )
            try:
                for event in parsed:
                    self.stats.count(await self._handle_event(event))
            except Exception as exc:
                self.stats.retried += 1
                log.warning("S3 event message %s left for redelivery: %r", message_id, exc)
                await queue.retry_later(
                    self._sqs,
                    self.queue_url,
                    message,
                    visibility=self._visibility,
                    retry_base=self._retry_base,
                )
                return
            finally:
                keeper.cancel()
        await queue.delete(self._sqs, self.queue_url, receipt)

    async def _handle_event(self, event: ObjectEvent) -> str:
        where = f"s3://{event.bucket}/{event.key}"
        if not event.created or event.key.endswith("/"):  # deletions etc.; "folder" marker objects
            log.debug("ignoring %s %s", event.name, where)
            return "ignored"
        tenant = self._mapping.tenant_for(event.bucket, event.key)
        if tenant is None:
            if event.bucket not in self._warned and len(self._warned) < _UNMAPPED_LOG_LIMIT:
                self._warned.add(event.bucket)
                log.warning("no tenant mapped for %s: skipped (logged once per bucket)", where)
            return "unmapped"
        assert self._tenant_ids is not None
        if event.size is not None and event.size > self._max_bytes:
            log.warning("%s is %d bytes, over the limit of %d: skipped", where, event.size, self._max_bytes)
            return "rejected"
        try:
            path = await self._download(event.bucket, event.key)
        except _TooLarge:
            log.warning("%s is over the limit of %d bytes: skipped", where, self._max_bytes)
            return "rejected"
        if path is None:
            log.info("%s is gone (deleted since the event): skipped", where)
            return "missing"
        filename = event.key.rsplit("/", 1)[-1]
        try:
            outcome = await self._ingestor.ingest_file(self._tenant_ids[tenant], path, filename)
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        if outcome.status == "rejected":
            log.warning("%s rejected (%s): %s", where, outcome.code, outcome.error)
        else:
            asset_id = outcome.asset.id if outcome.asset else "?"
            log.info("%s → %s asset %s of tenant %r", where, outcome.status, asset_id, tenant)
        return outcome.status

    async def _download(self, bucket: str, key: str) -> Path | None:
        """The object streamed into a private temporary file (a video may be gigabytes; the caller deletes
        it); None if it is gone; at most max_bytes + 1 bytes are read."""
        try:
            response = await self._s3.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            # Without s3:ListBucket, S3 answers 403 for a missing key: that stays an error (redelivery).
            if queue.error_code(exc) in _MISSING:
                return None
            raise
        body = response["Body"]
        async with body:
            if int(response.get("ContentLength") or 0) > self._max_bytes:
                raise _TooLarge
            try:
                # the size in the event may be stale (overwritten since): the limit holds while reading
                return await spill(body.iter_chunks(CHUNK), limit=self._max_bytes, prefix="mediasight-s3-")
            except SpillTooLarge:
                raise _TooLarge from None
