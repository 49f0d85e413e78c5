"""The scale-out job queue: an SQS standard queue, where the visibility timeout is the lease.

claim = ReceiveMessage with VisibilityTimeout=lease; the Job's lease_token is the receipt handle and its
attempts the ApproximateReceiveCount; extend/retry = ChangeMessageVisibility; complete = DeleteMessage;
dead = a copy to the dead-letter queue (the error in a message attribute), then DeleteMessage.

Why a standard queue and not FIFO with MessageDeduplicationId=kind:asset_id:
- FIFO deduplicates by *time* (5 minutes), not "while unfinished" like the embedded queue. It would silently
  drop a legitimate second `refresh` of an asset enqueued within 5 minutes of a completed one (a face named
  twice in a row leaves a stale index), and it still lets duplicates through after 5 minutes.
- Every SQS queue is at-least-once anyway (a lease that runs out redelivers), so the pipeline must be and is
  idempotent: each step persists its stage and re-running a finished step is a no-op. A duplicate message
  costs one receive and a catalog read; a dropped one loses work.
- S3 event notifications, which the scale-out design feeds into this queue, cannot target FIFO queues.
So `enqueue` is not idempotent here: the same (kind, asset) may be queued more than once, harmlessly.

Stale lease tokens: SQS has no compare-and-set. A receipt handle of a message that is gone makes extend
return False and complete/retry/dead no-ops, as in the embedded queue. AWS documents that a *superseded*
handle (the message was received again by someone else) "might not" delete it; moto accepts such handles
in full. Either way the outcome is safe, because only a worker that finished (complete) or gave up (dead)
uses one, and the steps are idempotent.

Malformed messages (not JSON {kind, tenant_id, asset_id}; e.g. an S3 test event) are moved to the
dead-letter queue with the reason and never returned by claim: they cannot crash or stall a worker.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from botocore.exceptions import ClientError

from catalog.domain.ports import Job, Signal

log = logging.getLogger(__name__)

MAX_BATCH = 10  # ReceiveMessage returns at most 10 messages per call
MAX_VISIBILITY = 12 * 3600  # SQS's limit for a visibility timeout
MAX_ERROR_CHARS = 4096  # a message attribute counts toward the 256 KiB message size
DEAD_GRACE_SECONDS = 30  # how long a message being dead-lettered stays hidden while we copy it
# Codes SQS (or moto) gives for a receipt handle we no longer own: deleted, expired, or not in flight.
_NOT_OWNED = {
    "ReceiptHandleIsInvalid",
    "InvalidParameterValue",  # "Message does not exist or is not available for visibility timeout change"
    "MessageNotInflight",
    "AWS.SimpleQueueService.MessageNotInflight",
}
_COUNT_ATTRIBUTES = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


class MalformedJobError(ValueError):
    pass


def _error_code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _not_owned(exc: Any) -> bool:
    return _error_code(exc) in _NOT_OWNED


def _whole_seconds(seconds: float, *, minimum: int) -> int:
    """SQS timeouts are whole seconds: round up (a lease never ends early) and clamp to SQS's range."""
    return min(MAX_VISIBILITY, max(minimum, math.ceil(seconds)))


def encode_job(kind: str, tenant_id: str, asset_id: str) -> str:
    return json.dumps({"kind": kind, "tenant_id": tenant_id, "asset_id": asset_id}, separators=(",", ":"))


def decode_job(message: dict[str, Any]) -> Job:
    """The Job in an SQS message; MalformedJobError if the body is not one of ours."""
    try:
        body = json.loads(message["Body"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedJobError(f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise MalformedJobError("body is not a JSON object")
    fields = [body.get(name) for name in ("kind", "tenant_id", "asset_id")]
    if not all(isinstance(value, str) and value for value in fields):
        raise MalformedJobError("body needs non-empty string fields kind, tenant_id, asset_id")
    kind, tenant_id, asset_id = (str(value) for value in fields)
    attempts = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1))
    return Job(str(message["MessageId"]), kind, tenant_id, asset_id, attempts, str(message["ReceiptHandle"]))


class SqsJobQueue:
    dedupes = False  # standard queues cannot tell a repeated message; pipeline steps are idempotent

    def __init__(
        self,
        client: Any,  # an entered aiobotocore SQS client (types-aiobotocore is not installed)
        queue_url: str,
        *,
        dead_letter_url: str | None = None,
        wait_seconds: int = 0,
    ) -> None:
        """wait_seconds > 0 (≤ 20) long-polls the first receive of a claim: fewer empty (billed) receives."""
        if not 0 <= wait_seconds <= 20:
            raise ValueError("wait_seconds must be 0..20")
        self._client = client
        self.queue_url = queue_url
        self.dead_letter_url = dead_letter_url
        self._wait_seconds = wait_seconds
        self.new_jobs = Signal()

    async def enqueue(self, kind: str, tenant_id: str, asset_id: str, *, background: bool = False) -> None:
        """Not deduplicated (see the module docstring): a duplicate is harmless, processing is idempotent.
        One queue: `background` jobs are not deprioritised here (a second queue would do it)."""
        await self._client.send_message(
            QueueUrl=self.queue_url, MessageBody=encode_job(kind, tenant_id, asset_id)
        )
        self.new_jobs.fire()

    async def claim(self, limit: int, lease_seconds: float) -> list[Job]:
        visibility = _whole_seconds(lease_seconds, minimum=1)
        jobs: list[Job] = []
        wait = self._wait_seconds
        while len(jobs) < limit:
            response = await self._client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(MAX_BATCH, limit - len(jobs)),
                VisibilityTimeout=visibility,
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
            wait = 0  # only the first receive waits; the rest take what is there
            messages = response.get("Messages", [])
            # Stop at an empty answer, not at a short one: a short poll samples only some SQS servers.
            if not messages:
                break
            for message in messages:
                try:
                    jobs.append(decode_job(message))
                except MalformedJobError as exc:
                    await self._reject(message, str(exc))
        return jobs

    async def extend(self, job: Job, lease_seconds: float) -> bool:
        try:
            await self._change_visibility(job, _whole_seconds(lease_seconds, minimum=1))
        except ClientError as exc:
            if _not_owned(exc):
                return False
            raise
        return True

    async def complete(self, job: Job) -> None:
        await self._delete(self.queue_url, job.lease_token)

    async def retry(self, job: Job, error: str, delay_seconds: float) -> None:
        """The message reappears after the delay; attempts come from its receive count (SQS has no fields)."""
        try:
            await self._change_visibility(job, _whole_seconds(delay_seconds, minimum=0))
        except ClientError as exc:
            if not _not_owned(exc):
                raise

    async def dead(self, job: Job, error: str) -> None:
        # Check we still own the message (and keep it hidden while we copy it), so a worker with a gone
        # handle does not put a second copy into the dead-letter queue.
        if not await self.extend(job, DEAD_GRACE_SECONDS):
            return
        body = encode_job(job.kind, job.tenant_id, job.asset_id)  # same body: a DLQ redrive re-runs it
        await self._dead_letter(body, error, attempts=job.attempts, message_id=job.id)
        await self._delete(self.queue_url, job.lease_token)

    async def pending(self) -> int:
        """Queued, in flight and delayed messages (SQS's counts are approximate and lag by up to a minute)."""
        response = await self._client.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=_COUNT_ATTRIBUTES
        )
        attributes = response.get("Attributes", {})
        return sum(int(attributes.get(name, 0)) for name in _COUNT_ATTRIBUTES)

    async def _change_visibility(self, job: Job, seconds: int) -> None:
        await self._client.change_message_visibility(
            QueueUrl=self.queue_url, ReceiptHandle=job.lease_token, VisibilityTimeout=seconds
        )

    async def _delete(self, queue_url: str, receipt_handle: str) -> None:
        try:
            await self._client.delete_message(QueueUrl=queue_url, ReceiptHandle=receipt_handle)
        except ClientError as exc:
            if not _not_owned(exc):
                raise

    async def _dead_letter(self, body: str, error: str, *, attempts: int, message_id: str) -> None:
        if self.dead_letter_url is None:
            log.error("no dead-letter queue: dropping message %s (%s): %.500s", message_id, error, body)
            return
        await self._client.send_message(
            QueueUrl=self.dead_letter_url,
            MessageBody=body,
            MessageAttributes={
                "error": {"DataType": "String", "StringValue": (error or "unknown")[:MAX_ERROR_CHARS]},
                "attempts": {"DataType": "Number", "StringValue": str(attempts)},
                "source_message_id": {"DataType": "String", "StringValue": message_id},
            },
        )

    async def _reject(self, message: dict[str, Any], reason: str) -> None:
        """Move a malformed message to the dead-letter queue. Never raises: a worker must carry on."""
        message_id = str(message.get("MessageId", "?"))
        log.warning("malformed job message %s: %s", message_id, reason)
        try:
            body = str(message.get("Body", "")) or "(empty)"
            attempts = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1))
            await self._dead_letter(
                body, f"malformed job message: {reason}", attempts=attempts, message_id=message_id
            )
            await self._delete(self.queue_url, str(message["ReceiptHandle"]))
        except (ClientError, KeyError, ValueError):
            # It stays hidden for this lease and comes back; the queue's redrive policy is the backstop.
            log.exception("could not dead-letter malformed message %s", message_id)


async def ensure_queues(client: Any, name: str, *, max_receives: int) -> tuple[str, str]:
    """Create (or update) the job queue and its dead-letter queue `<name>-dlq`; returns (queue_url, dlq_url).

    The redrive policy moves a message to the DLQ after `max_receives` receives: the backstop for jobs that
    kill their worker (the worker dead-letters ordinary failures itself, with the error). Keep max_receives
    above the worker's max_attempts so ordinary failures end with a reason. Safe to run repeatedly.
    """
    if not 1 <= max_receives <= 1000:
        raise ValueError("max_receives must be 1..1000")
    dlq_url = await _ensure_queue(client, f"{name}-dlq")
    await client.set_queue_attributes(
        QueueUrl=dlq_url,
        Attributes={"MessageRetentionPeriod": str(14 * 24 * 3600)},  # the maximum
    )
    arn = await client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
    queue_url = await _ensure_queue(client, name)
    redrive = {"deadLetterTargetArn": arn["Attributes"]["QueueArn"], "maxReceiveCount": str(max_receives)}
    await client.set_queue_attributes(QueueUrl=queue_url, Attributes={"RedrivePolicy": json.dumps(redrive)})
    return queue_url, dlq_url


async def _ensure_queue(client: Any, name: str) -> str:
    # Look up first: CreateQueue fails for an existing queue whose attributes differ from the request's.
    try:
        found = await client.get_queue_url(QueueName=name)
    except ClientError as exc:
        if not _error_code(exc).endswith("NonExistentQueue") and _error_code(exc) != "QueueDoesNotExist":
            raise
        found = await client.create_queue(QueueName=name)
    return str(found["QueueUrl"])
