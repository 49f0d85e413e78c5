"""S3 event ingest against moto's server: real S3 buckets whose notification configuration sends
ObjectCreated events to a real SQS queue (moto delivers them inside its server, as S3 would), consumed by
the S3EventIngestor into the embedded catalog.

moto's events are S3's format (Records[].s3.bucket.name, URL-encoded s3.object.key, size, eTag) without a
`sequencer`, and moto encodes '/' in keys too (quote_plus) where S3 keeps it; the parser takes both.
Where a test needs a message S3 would send but moto cannot be made to (a redelivered copy, several records
in one message, garbage), it sends that body to the queue itself, and says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioboto3
import pytest

from bench.clips import Shot, make_clip
from catalog.domain.model import Asset, Stage
from indexer.s3_events import S3EventIngestor, TenantMapping, UnknownTenantError
from mediasight.bootstrap import Services, open_services
from mediasight.processes import background
from mediasight.settings import Settings
from services.ingest import Ingestor, IngestOutcome
from tests.conftest import jpeg_bytes, make_tenant
from tests.contract.servers import aws_client_kwargs
from tests.fakes import ColorLabeler

pytestmark = [pytest.mark.s3, pytest.mark.sqs]

RED, GREEN, BLUE = jpeg_bytes((240, 20, 20)), jpeg_bytes((20, 230, 20)), jpeg_bytes((20, 20, 200))


@dataclass
class Aws:
    s3: Any
    sqs: Any

    async def queue(self, name: str) -> tuple[str, str]:
        """A standard queue whose policy lets S3 send to it (as AWS requires); (url, arn)."""
        url = (await self.sqs.create_queue(QueueName=name))["QueueUrl"]
        attrs = await self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        arn = attrs["Attributes"]["QueueArn"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": arn,
                    "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}},
                }
            ],
        }
        await self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        return url, arn

    async def bucket_to(self, bucket: str, queue_arn: str) -> None:
        """A bucket that notifies the queue of every created object."""
        await self.s3.create_bucket(Bucket=bucket)
        await self.s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {"Id": "mediasight", "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}
                ]
            },
        )

    async def count(self, url: str) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attrs = (await self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names))["Attributes"]
        return sum(int(attrs[n]) for n in names)

    async def take(self, url: str) -> list[dict[str, Any]]:
        """Every message in a queue (received, so hidden for a minute), with its attributes."""
        found: list[dict[str, Any]] = []
        while True:
            response = await self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60, MessageAttributeNames=["All"]
            )
            if not response.get("Messages"):
                return found
            found += response["Messages"]


@pytest.fixture
async def aws(aws_env: None, moto_endpoint: str) -> AsyncIterator[Aws]:
    session = aioboto3.Session()
    kwargs = aws_client_kwargs(moto_endpoint)
    async with session.client("s3", **kwargs) as s3, session.client("sqs", **kwargs) as sqs:
        yield Aws(s3, sqs)


@dataclass
class World:
    aws: Aws
    services: Services
    bucket: str
    queue_url: str
    queue_arn: str
    acme: str
    beta: str

    def consumer(self, mapping: str, *, ingestor: Ingestor | None = None, **kwargs: Any) -> S3EventIngestor:
        return S3EventIngestor(
            self.aws.sqs,
            self.aws.s3,
            self.queue_url,
            ingestor or self.services.ingestor,
            self.services.catalog,
            TenantMapping.parse(mapping),
            max_bytes=max(self.services.settings.max_upload_bytes, self.services.settings.max_video_bytes),
            **kwargs,
        )

    async def put(self, key: str, data: bytes, bucket: str | None = None) -> None:
        await self.aws.s3.put_object(Bucket=bucket or self.bucket, Key=key, Body=data)

    async def assets(self, tenant_id: str) -> list[Asset]:
        return await self.services.catalog.list_assets(tenant_id, after=None, limit=100)


@pytest.fixture
async def world(aws: Aws, services: Services) -> World:
    unique = uuid.uuid4().hex[:10]
    url, arn = await aws.queue(f"s3-events-{unique}")
    bucket = f"media-{unique}"
    await aws.bucket_to(bucket, arn)
    acme, _ = await make_tenant(services, "acme")
    beta, _ = await make_tenant(services, "beta")
    return World(aws, services, bucket, url, arn, acme, beta)


async def drain(consumer: S3EventIngestor) -> int:
    """poll_once (short polls) until a receive comes back empty; the number of messages handled."""
    total = 0
    while count := await consumer.poll_once(wait_seconds=0):
        total += count
    return total


async def test_created_objects_become_assets_of_the_mapped_tenant(world: World) -> None:
    consumer = world.consumer(f"{world.bucket}/acme/=acme,{world.bucket}/beta/=beta")
    await world.put("acme/red flower.jpg", RED)
    await world.put("acme/2024/green.jpg", GREEN)
    await world.put("beta/blue.jpg", BLUE)
    await world.put("gamma/blue.jpg", BLUE)  # no tenant for this prefix
    # The three objects and the one outside any prefix, plus moto's s3:TestEvent for the configuration.
    assert await drain(consumer) == 5
    acme = await world.assets(world.acme)
    assert sorted(a.filename for a in acme) == ["green.jpg", "red flower.jpg"]
    assert {a.sha256 for a in acme} == {hashlib.sha256(RED).hexdigest(), hashlib.sha256(GREEN).hexdigest()}
    assert [a.filename for a in await world.assets(world.beta)] == ["blue.jpg"]
    assert (consumer.stats.new, consumer.stats.unmapped, consumer.stats.malformed) == (3, 1, 0)
    assert await world.aws.count(world.queue_url) == 0  # every message deleted once handled
    # The pipeline jobs are queued as for any other ingest: the worker indexes them.
    await world.services.worker().run_until_idle()
    assert {a.status.value for a in await world.assets(world.acme)} == {"indexed"}


async def test_a_redelivered_or_repeated_event_makes_one_asset(world: World) -> None:
    consumer = world.consumer(f"{world.bucket}=acme")
    await world.put("cat.jpg", RED)
    # SQS is at-least-once: deliver the very same S3 message a second time (sent by the test: moto's own
    # notifications reach the queue once).
    taken = await world.aws.take(world.queue_url)  # the object's event and moto's s3:TestEvent
    [body] = [m["Body"] for m in taken if "Records" in m["Body"]]
    await world.aws.sqs.send_message(QueueUrl=world.queue_url, MessageBody=body)
    for m in taken:  # visible again
        await world.aws.sqs.change_message_visibility(
            QueueUrl=world.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
        )
    await world.put("copy-of-cat.jpg", RED)  # the same bytes under another key
    await drain(consumer)
    [asset] = await world.assets(world.acme)
    assert asset.filename in {"cat.jpg", "copy-of-cat.jpg"}  # whichever the batch handled first
    assert (consumer.stats.new, consumer.stats.duplicate) == (1, 2)
    assert await world.aws.count(world.queue_url) == 0


async def test_stale_events_of_an_overwritten_object_are_harmless(world: World) -> None:
    consumer = world.consumer(f"{world.bucket}=acme")
    await world.put("photo.jpg", RED)
    await world.put("photo.jpg", GREEN)  # overwritten before we read it: both events read GREEN
    await drain(consumer)
    [asset] = await world.assets(world.acme)
    assert asset.sha256 == hashlib.sha256(GREEN).hexdigest()
    assert (consumer.stats.new, consumer.stats.duplicate) == (1, 1)


async def test_an_unmapped_bucket_is_ignored(world: World) -> None:
    other = f"{world.bucket}-other"
    await world.aws.bucket_to(other, world.queue_arn)  # notifies the same queue; not in the mapping
    consumer = world.consumer(f"{world.bucket}/acme/=acme")
    await world.put("acme/cat.jpg", RED, bucket=other)
    await world.put("acme/dog.jpg", GREEN, bucket=other)
    await drain(consumer)
    assert await world.assets(world.acme) == []
    assert consumer.stats.unmapped == 2
    assert await world.aws.count(world.queue_url) == 0


async def test_an_object_deleted_before_processing_is_skipped(world: World) -> None:
    consumer = world.consumer(f"{world.bucket}=acme")
    await world.put("gone.jpg", RED)
    await world.put("kept.jpg", GREEN)
    await world.aws.s3.delete_object(Bucket=world.bucket, Key="gone.jpg")
    await drain(consumer)
    assert [a.filename for a in await world.assets(world.acme)] == ["kept.jpg"]
    assert (consumer.stats.missing, consumer.stats.new) == (1, 1)
    assert await world.aws.count(world.queue_url) == 0


async def test_objects_that_are_not_images_or_too_large_are_rejected_and_removed(world: World) -> None:
    consumer = world.consumer(f"{world.bucket}=acme", wait_seconds=0)
    consumer._max_bytes = len(RED) + 10
    await world.put("notes.txt", b"not an image")
    await world.put("empty.jpg", b"")
    await world.put("folder/", b"")  # a console "folder": ignored
    await world.put("big.jpg", jpeg_bytes((1, 2, 3), size=(640, 480), quality=100))
    await drain(consumer)
    assert await world.assets(world.acme) == []
    assert (consumer.stats.rejected, consumer.stats.ignored) == (3, 1)
    assert await world.aws.count(world.queue_url) == 0


@pytest.mark.parametrize("with_dlq", [True, False])
async def test_malformed_messages_are_dead_lettered_or_dropped(world: World, with_dlq: bool) -> None:
    dlq_url = (await world.aws.queue(f"s3-events-dlq-{uuid.uuid4().hex[:10]}"))[0] if with_dlq else None
    consumer = world.consumer(f"{world.bucket}=acme", dead_letter_url=dlq_url)
    # Garbage sent by the test (S3 never sends it): it must not stop the events around it.
    garbage = ["not json {", '{"hello": "world"}', json.dumps({"Records": [{"eventSource": "aws:s3"}]})]
    for body in garbage:
        await world.aws.sqs.send_message(QueueUrl=world.queue_url, MessageBody=body)
    await world.put("cat.jpg", RED)
    await drain(consumer)
    assert [a.filename for a in await world.assets(world.acme)] == ["cat.jpg"]
    assert consumer.stats.malformed == 3
    assert await world.aws.count(world.queue_url) == 0
    if dlq_url is not None:
        dead = await world.aws.take(dlq_url)
        assert sorted(m["Body"] for m in dead) == sorted(garbage)  # as they were, for inspection
        assert all(m["MessageAttributes"]["error"]["StringValue"] for m in dead)


class FlakyIngestor(Ingestor):
    """The real Ingestor, but the n-th call raises (a catalog or network hiccup)."""

    def __init__(self, real: Ingestor, fail_on: int) -> None:
        self.__dict__.update(real.__dict__)
        self.calls = 0
        self.fail_on = fail_on

    async def ingest_file(self, tenant_id: str, path: Path, filename: str, **kwargs: Any) -> IngestOutcome:
        self.calls += 1
        if self.calls == self.fail_on:
            raise ConnectionError("catalog unreachable")
        return await super().ingest_file(tenant_id, path, filename, **kwargs)


async def test_a_transient_error_leaves_the_whole_message_for_redelivery(world: World) -> None:
    flaky = FlakyIngestor(world.services.ingestor, fail_on=2)
    consumer = world.consumer(f"{world.bucket}=acme", ingestor=flaky, retry_base_seconds=0)
    await world.put("a.jpg", RED)
    await world.put("b.jpg", GREEN)
    # One message with both records (S3 itself sends one per message; the format allows several): built
    # by the test from moto's two notifications.
    messages = await world.aws.take(world.queue_url)  # the objects' events and moto's s3:TestEvent
    records = [r for m in messages for r in json.loads(m["Body"]).get("Records", [])]
    assert len(records) == 2
    for m in messages:
        await world.aws.sqs.delete_message(QueueUrl=world.queue_url, ReceiptHandle=m["ReceiptHandle"])
    await world.aws.sqs.send_message(QueueUrl=world.queue_url, MessageBody=json.dumps({"Records": records}))

    assert await consumer.poll_once(wait_seconds=0) == 1  # a.jpg registered, b.jpg failed
    assert consumer.stats.retried == 1
    assert await world.aws.count(world.queue_url) == 1  # not deleted: it comes back (here at once)
    await drain(consumer)  # both records again: a.jpg is a duplicate now
    assert sorted(a.filename for a in await world.assets(world.acme)) == ["a.jpg", "b.jpg"]
    assert (consumer.stats.new, consumer.stats.duplicate) == (2, 1)
    assert await world.aws.count(world.queue_url) == 0


async def test_run_consumes_until_stopped(world: World) -> None:
    consumer = world.consumer(f"{world.bucket}=acme", wait_seconds=10)
    stop = asyncio.Event()
    runner = asyncio.create_task(consumer.run(stop))
    await world.put("cat.jpg", RED)
    async with asyncio.timeout(20):
        while not await world.assets(world.acme):  # noqa: ASYNC110 - another task fills the catalog
            await asyncio.sleep(0.1)
    stop.set()
    async with asyncio.timeout(2):  # a long poll in progress is abandoned, not waited out
        await runner
    assert consumer.stats.new == 1


async def test_run_refuses_a_mapping_to_an_unknown_tenant(world: World) -> None:
    consumer = world.consumer(f"{world.bucket}=nobody")
    with pytest.raises(UnknownTenantError, match="nobody"):
        await consumer.run(asyncio.Event())
    with pytest.raises(UnknownTenantError, match="empty"):
        await world.consumer("").check()


async def test_the_worker_services_wire_it_from_settings(
    world: World, settings: Settings, moto_endpoint: str
) -> None:
    queue_name = world.queue_url.rsplit("/", 1)[-1]
    configured = settings.model_copy(
        update={
            "sqs_endpoint_url": moto_endpoint,
            "s3_endpoint_url": moto_endpoint,
            "s3_events_queue": queue_name,  # a name is looked up; a URL is taken as it is
            "s3_events_tenants": f"{world.bucket}=acme",
        }
    )
    services = await open_services(configured, labeler=ColorLabeler())  # the same data dir as `world`
    try:
        consumer = await services.s3_event_ingestor()
        assert consumer is not None
        assert consumer.queue_url == world.queue_url
        await world.put("cat.jpg", RED)
        await drain(consumer)
        assert [a.filename for a in await world.assets(world.acme)] == ["cat.jpg"]
    finally:
        await services.aclose()
    for update, error in (
        ({"s3_events_queue": f"no-such-queue-{uuid.uuid4().hex[:8]}"}, "no SQS queue"),
        ({"s3_events_tenants": "=acme"}, "mapping"),
    ):
        broken = await open_services(configured.model_copy(update=update), labeler=ColorLabeler())
        try:
            with pytest.raises(ValueError, match=error):
                await broken.s3_event_ingestor()
        finally:
            await broken.aclose()
    plain = await open_services(settings, labeler=ColorLabeler())
    try:
        assert await plain.s3_event_ingestor() is None  # not configured: the worker runs alone
    finally:
        await plain.aclose()


async def test_serve_and_worker_run_the_same_background_work_with_s3_events(
    world: World, settings: Settings, moto_endpoint: str
) -> None:
    """mediasight.processes.background: what `mediasight worker` runs and `mediasight serve` runs beside
    the API (the API's lifespan used to start a worker without the S3 consumer)."""
    configured = settings.model_copy(
        update={
            "sqs_endpoint_url": moto_endpoint,
            "s3_endpoint_url": moto_endpoint,
            "s3_events_queue": world.queue_url,
            "s3_events_tenants": f"{world.bucket}=acme",
        }
    )
    services = await open_services(configured, labeler=ColorLabeler())  # the same data dir as `world`
    try:
        work = await background(services)
        assert work.events is not None and work.events.queue_url == world.queue_url
        stop = asyncio.Event()
        running = asyncio.create_task(work.run(stop))
        await world.put("dog.jpg", RED)
        deadline = asyncio.get_running_loop().time() + 60
        while not (found := await world.assets(world.acme)) or found[0].status != Stage.INDEXED:
            assert asyncio.get_running_loop().time() < deadline, found
            await asyncio.sleep(0.1)
        stop.set()
        await running
    finally:
        await services.aclose()
    unmapped = settings.model_copy(update={"s3_events_queue": world.queue_url, "s3_events_tenants": "=acme"})
    broken = await open_services(unmapped.model_copy(update={"sqs_endpoint_url": moto_endpoint}))
    try:
        with pytest.raises(ValueError, match="mapping"):
            await background(broken)  # serve logs it and does not start; worker exits with status 2
    finally:
        await broken.aclose()


class SlowIngestor(Ingestor):
    """The real Ingestor, slower than the message's visibility timeout."""

    def __init__(self, real: Ingestor, seconds: float) -> None:
        self.__dict__.update(real.__dict__)
        self.seconds = seconds

    async def ingest_file(self, tenant_id: str, path: Path, filename: str, **kwargs: Any) -> IngestOutcome:
        await asyncio.sleep(self.seconds)
        return await super().ingest_file(tenant_id, path, filename, **kwargs)


async def test_a_message_stays_hidden_while_it_is_handled(world: World) -> None:
    slow = world.consumer(
        f"{world.bucket}=acme", ingestor=SlowIngestor(world.services.ingestor, 4.5), visibility_seconds=3
    )
    other = world.consumer(f"{world.bucket}=acme")  # a second worker polling the same queue
    await world.put("cat.jpg", RED)
    handling = asyncio.create_task(drain(slow))
    await asyncio.sleep(3.5)  # past the 3 s visibility timeout: without extensions it would be visible
    assert await other.poll_once(wait_seconds=0) == 0
    await handling
    assert [a.filename for a in await world.assets(world.acme)] == ["cat.jpg"]
    assert await world.aws.count(world.queue_url) == 0


async def test_run_survives_receive_errors(world: World) -> None:
    consumer = world.consumer(f"{world.bucket}=acme", wait_seconds=0)
    consumer.queue_url = world.queue_url + "-gone"  # every receive fails
    stop = asyncio.Event()
    runner = asyncio.create_task(consumer.run(stop))
    await asyncio.sleep(0.5)
    assert not runner.done()
    stop.set()
    async with asyncio.timeout(2):  # the back-off sleep ends when asked to stop
        await runner


async def test_videos_arrive_by_s3_event_and_a_truncated_one_is_refused(world: World, tmp_path: Path) -> None:
    consumer = world.consumer(f"{world.bucket}=acme")
    clip = make_clip(tmp_path / "clip.mp4", [Shot("rocket", 40), Shot("coffee", 40)])
    data = clip.path.read_bytes()
    await world.put("reels/clip.mp4", data)
    await world.put("reels/cut.mp4", data[: len(data) - 3000])
    await drain(consumer)
    [asset] = await world.assets(world.acme)
    assert (asset.filename, asset.media_type, asset.size_bytes) == ("clip.mp4", "video/mp4", len(data))
    assert consumer.stats.rejected == 1
