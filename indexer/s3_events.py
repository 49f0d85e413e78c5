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
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from catalog.ports import CatalogStore
from indexer.ingest import Ingestor

log = logging.getLogger(__name__)

MAX_BATCH = 10  # ReceiveMessage returns at most 10 messages per call
MAX_ERROR_CHARS = 4096
CHUNK = 1024 * 1024
_MISSING = {"NoSuchKey", "404", "NotFound"}
_NOT_OWNED = {"ReceiptHandleIsInvalid", "InvalidParameterValue", "MessageNotInflight"}
_UNMAPPED_LOG_LIMIT = 1000  # distinct buckets we remember having warned about


class MalformedEventError(ValueError):
    """The message is not an S3 event notification we understand."""


class UnknownTenantError(ValueError):
    """The mapping names a tenant the catalog does not have."""


class _TooLarge(Exception):
    pass


@dataclass(frozen=True)
class ObjectEvent:
    """One record of an S3 event notification; `key` is decoded (S3 sends it URL-encoded)."""

    name: str  # e.g. "ObjectCreated:Put", "ObjectRemoved:Delete"
    bucket: str
    key: str
    size: int | None = None
    etag: str | None = None
    sequencer: str | None = None
    time: str | None = None

    @property
    def created(self) -> bool:
        return self.name.startswith("ObjectCreated:")


@dataclass(frozen=True)
class TestEvent:
    """S3's `s3:TestEvent`, sent when a bucket's notification configuration is saved."""

    __test__ = False  # not a pytest test class
    bucket: str


def parse_message(body: str) -> TestEvent | tuple[ObjectEvent, ...]:
    """The S3 notification in an SQS message body (raw, or wrapped in an SNS envelope)."""
    try:
        doc = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise MalformedEventError(f"body is not JSON: {exc}") from exc
    if isinstance(doc, dict) and doc.get("Type") == "Notification" and isinstance(doc.get("Message"), str):
        try:  # delivered through SNS without raw message delivery: the S3 event is a string inside
            doc = json.loads(doc["Message"])
        except ValueError as exc:
            raise MalformedEventError(f"SNS message is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise MalformedEventError("body is not a JSON object")
    if doc.get("Event") == "s3:TestEvent":
        return TestEvent(str(doc.get("Bucket", "")))
    records = doc.get("Records")
    if not isinstance(records, list) or not records:
        raise MalformedEventError("not an S3 event notification (no Records)")
    return tuple(_record(record) for record in records)


def _record(record: Any) -> ObjectEvent:
    if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
        raise MalformedEventError("a record is not an aws:s3 event")
    s3 = record.get("s3")
    name = record.get("eventName")
    bucket = s3.get("bucket", {}).get("name") if isinstance(s3, dict) else None
    obj = s3.get("object") if isinstance(s3, dict) else None
    key = obj.get("key") if isinstance(obj, dict) else None
    if not (isinstance(name, str) and isinstance(bucket, str) and bucket and isinstance(key, str) and key):
        raise MalformedEventError("a record lacks eventName, s3.bucket.name or s3.object.key")
    assert isinstance(obj, dict)
    size = obj.get("size")
    return ObjectEvent(
        name=name.removeprefix("s3:"),
        bucket=bucket,
        key=unquote_plus(key),  # S3 encodes keys like a form: "red flower.jpg" arrives as "red+flower.jpg"
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        etag=_text(obj.get("eTag")),
        sequencer=_text(obj.get("sequencer")),
        time=_text(record.get("eventTime")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


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


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


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
        self._slots = asyncio.Semaphore(concurrency)  # each holds up to max_bytes in memory
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
        response = await self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=MAX_BATCH,
            WaitTimeSeconds=wait,
            VisibilityTimeout=self._visibility,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        return list(response.get("Messages", []))

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
            await self._reject(message, str(exc))
            return
        if isinstance(parsed, TestEvent):
            log.info("S3 test event for bucket %r: notifications reach %s", parsed.bucket, self.queue_url)
            await self._delete(receipt)
            return
        async with self._slots:
            keeper = asyncio.create_task(self._keep_hidden(receipt, message_id))
            try:
                for event in parsed:
                    self.stats.count(await self._handle_event(event))
            except Exception as exc:
                self.stats.retried += 1
                log.warning("S3 event message %s left for redelivery: %r", message_id, exc)
                await self._retry_later(message)
                return
            finally:
                keeper.cancel()
        await self._delete(receipt)

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
            data = await self._read(event.bucket, event.key)
        except _TooLarge:
            log.warning("%s is over the limit of %d bytes: skipped", where, self._max_bytes)
            return "rejected"
        if data is None:
            log.info("%s is gone (deleted since the event): skipped", where)
            return "missing"
        filename = event.key.rsplit("/", 1)[-1]
        outcome = await self._ingestor.ingest(self._tenant_ids[tenant], data, filename=filename)
        if outcome.status == "rejected":
            log.warning("%s rejected (%s): %s", where, outcome.code, outcome.error)
        else:
            asset_id = outcome.asset.id if outcome.asset else "?"
            log.info("%s → %s asset %s of tenant %r", where, outcome.status, asset_id, tenant)
        return outcome.status

    async def _read(self, bucket: str, key: str) -> bytes | None:
        """The object's bytes; None if it is gone; at most max_bytes + 1 bytes are read."""
        try:
            response = await self._s3.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            # Without s3:ListBucket, S3 answers 403 for a missing key: that stays an error (redelivery).
            if _error_code(exc) in _MISSING:
                return None
            raise
        body = response["Body"]
        async with body:
            if int(response.get("ContentLength") or 0) > self._max_bytes:
                raise _TooLarge
            data = bytearray()
            async for chunk in body.iter_chunks(CHUNK):
                data += chunk
                if len(data) > self._max_bytes:
                    raise _TooLarge  # the size in the event was stale (overwritten since): stop reading
            return bytes(data)

    async def _keep_hidden(self, receipt: str, message_id: str) -> None:
        """Extend the message's visibility while it is handled (a large object can take a while)."""
        while True:
            await asyncio.sleep(self._visibility / 3)
            try:
                await self._sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=receipt, VisibilityTimeout=self._visibility
                )
            except Exception as exc:  # a task nobody awaits must not end with an exception
                log.warning("could not extend S3 event message %s: %r", message_id, exc)
                return

    async def _retry_later(self, message: dict[str, Any]) -> None:
        """Show the message again after a backoff that grows with its receive count (SQS's redrive policy,
        if the queue has one, dead-letters it after maxReceiveCount)."""
        receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1))
        delay = min(self._visibility, self._retry_base * 2 ** min(receives - 1, 16))
        try:
            await self._sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=delay
            )
        except (ClientError, KeyError):
            log.debug("could not shorten the visibility of %s", message.get("MessageId"), exc_info=True)

    async def _delete(self, receipt: str) -> None:
        try:
            await self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)
        except ClientError as exc:
            # A handle whose visibility ran out: the message comes back, and is handled again harmlessly.
            if _error_code(exc) not in _NOT_OWNED:
                log.warning("could not delete S3 event message: %s", _error_code(exc))

    async def _reject(self, message: dict[str, Any], reason: str) -> None:
        """Dead-letter (or drop, with a log line) a message that is not an S3 notification."""
        message_id = str(message.get("MessageId", "?"))
        body = str(message.get("Body", "")) or "(empty)"
        try:
            if self.dead_letter_url is None:
                log.error("not an S3 event, dropped: message %s (%s): %.500s", message_id, reason, body)
            else:
                log.warning("not an S3 event, dead-lettered: message %s (%s)", message_id, reason)
                await self._sqs.send_message(
                    QueueUrl=self.dead_letter_url,
                    MessageBody=body,
                    MessageAttributes={
                        "error": {"DataType": "String", "StringValue": reason[:MAX_ERROR_CHARS] or "?"},
                        "source_message_id": {"DataType": "String", "StringValue": message_id},
                    },
                )
            await self._delete(str(message["ReceiptHandle"]))
        except (ClientError, KeyError):
            # It comes back after the visibility timeout; the queue's redrive policy is the backstop.
            log.exception("could not dead-letter S3 event message %s", message_id)
