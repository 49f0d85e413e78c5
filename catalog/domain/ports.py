"""Ports: what the service layer needs from storage. Every tenant-owned read and write takes the tenant."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from catalog.domain.concepts.ports import ConceptStore, FeatureStore
from catalog.domain.labels.detections import GUESS_BELOW
from catalog.domain.labels.query_terms import label_terms
from catalog.domain.model import (
    ALL_SCOPES,
    ApiKey,
    Asset,
    BoundingBox,
    Face,
    FaceHit,
    FaceRef,
    Label,
    Person,
    Rendition,
    Scope,
    Stage,
    Tenant,
    TenantConfig,
    VersionRelation,
)
from catalog.domain.run_ports import BatchStore, RunHistory


class TenantStore(Protocol):
    """Tenants, their configuration and their API keys (stored as digests)."""

    async def create_tenant(self, name: str) -> Tenant: ...
    async def get_tenant_by_name(self, name: str) -> Tenant | None: ...
    async def get_tenant(self, tenant_id: str) -> Tenant | None: ...
    async def list_tenants(self) -> list[Tenant]:
        """Every tenant, by name (an administrator's listing: not on any request path)."""
        ...

    async def set_tenant_config(self, tenant_id: str, config: TenantConfig) -> None: ...
    async def add_api_key(
        self, tenant_id: str, key_hash: str, scopes: Sequence[Scope] = ALL_SCOPES, name: str = ""
    ) -> ApiKey: ...
    async def find_api_key(self, key_hash: str) -> ApiKey | None: ...
    async def list_api_keys(self, tenant_id: str) -> list[ApiKey]: ...
    async def revoke_api_key(self, tenant_id: str, key_id: str) -> bool:
        """True if the tenant had that key and it was live."""
        ...

    async def delete_tenant_data(self, tenant_id: str) -> int:
        """Delete every record of the tenant in this catalog (assets, runs, batches, change feed, faces and
        persons kept beside it, webhooks, queued jobs ...) except the tenant and its API keys; returns how
        many. Idempotent: for `tenant delete`, which removes index documents and blobs next."""
        ...

    async def delete_tenant(self, tenant_id: str) -> None:
        """Delete the tenant, its name and its API keys (after delete_tenant_data)."""
        ...


class AssetStore(Protocol):
    """Assets: registration (deduplicated per tenant), version links, pipeline stages, renditions and
    perceptual hashes."""

    async def register_asset(self, asset: Asset) -> tuple[Asset, bool]:
        """Insert the asset unless the tenant already has these bytes; returns (asset, created)."""
        ...

    async def find_asset_by_sha256(self, tenant_id: str, sha256: str) -> Asset | None: ...
    async def get_asset(self, tenant_id: str, asset_id: str) -> Asset | None: ...
    async def get_assets(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[str, Asset]: ...
    async def list_assets(self, tenant_id: str | None, *, after: str | None, limit: int) -> list[Asset]:
        """Assets in ID (= time) order; tenant None only for operator tools (reindex, recovery)."""
        ...

    async def get_children(self, tenant_id: str, parent_ids: Sequence[str]) -> dict[str, list[Asset]]:
        """Direct children (versions) of each parent, in ID order."""
        ...

    async def set_parent(
        self, tenant_id: str, asset_id: str, parent_id: str | None, relation: VersionRelation | None
    ) -> None:
        """Link (or unlink) a version; both assets are the tenant's (the caller checks cycles)."""
        ...

    async def delete_asset(self, tenant_id: str, asset_id: str) -> None:
        """Remove the asset and its results (the caller handles children, index, blobs, faces)."""
        ...

    async def unfinished_assets(self, *, after: str | None, limit: int) -> list[Asset]:
        """Assets not yet indexed nor failed, across tenants (recovery sweep of the worker)."""
        ...

    async def set_stage(
        self, tenant_id: str, asset_id: str, stage: Stage, error: str | None = None
    ) -> None: ...
    async def set_renditions(
        self,
        tenant_id: str,
        asset_id: str,
        renditions: Sequence[Rendition],
        *,
        phash: str | None = None,
        stage: Stage | None = None,
    ) -> None:
        """The asset's renditions and, in the same write, its perceptual hash and the stage it reached
        (which clears any error), when given: one write where the pipeline made three."""
        ...

    async def set_phash(self, tenant_id: str, asset_id: str, phash: str) -> None: ...
    async def add_filename(self, tenant_id: str, asset_id: str, filename: str) -> bool:
        """Remember another name the asset was ingested under; False if it had it (or no such asset)."""
        ...

    async def join_archive(self, tenant_id: str, asset_id: str) -> bool:
        """A training example becomes an asset of the archive (its flag is cleared); False if it was not
        a training example (or no such asset)."""
        ...

    async def similar_assets(
        self, tenant_id: str, phash: str, *, max_distance: int, limit: int
    ) -> list[tuple[str, int]]:
        """(asset ID, Hamming distance) of the tenant's assets hashed this close, nearest first."""
        ...

    async def stages_of(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[str, Stage]:
        """The pipeline stage of each of these assets the tenant has (unknown IDs are left out)."""
        ...

    async def assets_in_stages(
        self, tenant_id: str, stages: Sequence[Stage], *, after: str | None, limit: int
    ) -> list[Asset]:
        """The tenant's assets in any of these pipeline stages, newest first (`after`: the last ID seen).
        A video's keyframes (its FRAME children) are not listed: they are part of their video (see
        Asset.in_archive)."""
        ...

    async def stage_counts(self, tenant_id: str) -> dict[Stage, int]:
        """How many of the tenant's assets are in each stage (a video's keyframes not counted, as listed)."""
        ...


class CatalogStore(TenantStore, AssetStore, RunHistory, BatchStore, FeatureStore, ConceptStore, Protocol):
    """The source of truth, as one store: what the composition root wires and each catalog adapter
    implements (its contract suites: tests/contract/test_{tenant,asset,batch}_store_contract.py and
    test_run_history_contract.py). Services that need only part of it may ask for that port."""


@dataclass(frozen=True)
class FaceMatch:
    """A face of the tenant that matches another, on Rekognition's similarity scale (0–100, 80 = same
    person; local embeddings are mapped onto it by catalog.domain.faces.identity)."""

    face: FaceRef
    similarity: float
    person_id: str | None = None


@dataclass(frozen=True)
class StoredFace:
    """A face as the collection holds it: where, its remote FaceId ("" if matched locally), its person."""

    face: FaceRef
    face_id: str
    person_id: str | None


class FaceCollection(Protocol):
    """Per-tenant faces: identity vectors (local) or remote FaceIds, and the persons they are named as."""

    async def index_faces(
        self,
        tenant_id: str,
        asset_id: str,
        embeddings: Sequence[Sequence[float]],
        *,
        boxes: Sequence[BoundingBox],
        face_ids: Sequence[str] = (),
    ) -> list[str]:
        """Replace the asset's faces (face_index = position), one box per face; each person link moves to
        the new face whose box is the same face (faces.matching.carried_persons), others are dropped.

        `face_ids`, when given, has one entry per face: its FaceId in a remote collection (Rekognition),
        or "" for a face matched by its embedding. A face may have an empty embedding. Returns the remote
        FaceIds this very write replaced (the asset had them, its new faces do not): exactly one of two
        concurrent writers reports each, for deleting from the remote collection."""
        ...

    async def search(
        self, tenant_id: str, embedding: Sequence[float], *, max_distance: float, limit: int
    ) -> list[FaceHit]:
        """The tenant's faces nearest to `embedding`, nearest first, within max_distance (only faces whose
        vectors have the same dimension take part)."""
        ...

    async def matches(
        self, tenant_id: str, face: Face, *, min_similarity: float, limit: int
    ) -> list[FaceMatch]:
        """The tenant's faces matching `face` (a stored finding), most similar first; may include the face
        itself when it is indexed."""
        ...

    async def stored_faces(self, tenant_id: str, asset_ids: Sequence[str]) -> list[StoredFace]:
        """Every face of these assets, in asset then face order."""
        ...

    async def create_person(self, tenant_id: str, name: str) -> Person: ...
    async def person_by_name(self, tenant_id: str, name: str) -> Person | None: ...
    async def persons(self, tenant_id: str, person_ids: Sequence[str]) -> dict[str, Person]: ...
    async def assign(self, tenant_id: str, faces: Sequence[FaceRef], person_id: str) -> None: ...
    async def face_persons(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[FaceRef, str]:
        """person_id of every named face of these assets."""
        ...

    async def delete_asset(self, tenant_id: str, asset_id: str) -> None: ...


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    tenant_id: str
    asset_id: str
    attempts: int
    lease_token: str


class Signal:
    """Listeners called when something happened in this process: a job queue object fires its `new_jobs`
    after each enqueue it made (a worker here claims the new job at once instead of at its next poll), a
    worker its `finished` after each job it handled. Other processes' doings are still found by polling.
    """

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` at each firing from now on; returns the function that stops it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def fire(self) -> None:
        for listener in list(self._listeners):
            listener()


class JobQueue(Protocol):
    """At-least-once jobs with leases: a claimed job comes back when its lease runs out."""

    # True when enqueue() adds nothing while the same job is unfinished (SQLite); SQS cannot tell.
    dedupes: bool
    # Fired after each enqueue through this object (this process only): a worker here claims at once.
    new_jobs: Signal

    async def enqueue(self, kind: str, tenant_id: str, asset_id: str, *, background: bool = False) -> None:
        """Idempotent while a job of that kind for that asset is unfinished. Background jobs (bulk
        reprocessing) are claimed after ready foreground ones where the queue can order them."""
        ...

    async def claim(self, limit: int, lease_seconds: float) -> list[Job]: ...
    async def extend(self, job: Job, lease_seconds: float) -> bool: ...
    async def complete(self, job: Job) -> None: ...
    async def retry(self, job: Job, error: str, delay_seconds: float) -> None: ...
    async def dead(self, job: Job, error: str) -> None: ...
    async def pending(self) -> int: ...


class AssetRegistration(Protocol):
    """A new asset and its first pipeline job. Where the catalog and the queue share a database (SQLite)
    both are written in one transaction, so no crash leaves a registered asset without its job; elsewhere
    the row comes first, then the job (a crash between them is healed by ingesting the same bytes again
    or by the worker's recovery sweep, which queues unfinished assets)."""

    async def register_queued(self, asset: Asset, kind: str) -> tuple[Asset, bool]:
        """register_asset, and when that created the asset, a `kind` job for it; (asset, created)."""
        ...


class BlobStore(Protocol):
    """Originals and renditions, by key. Writes are atomic: a reader sees all of a blob or nothing."""

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...
    async def put_many(self, blobs: Sequence[tuple[str, bytes, str]]) -> None:
        """put() each (key, data, content_type), together (an asset's renditions): one hop of the local
        store's thread, concurrent requests to S3. Each blob is atomic; on an error some may be written."""
        ...

    async def get(self, key: str) -> bytes: ...
    async def exists(self, key: str) -> bool: ...
    async def delete(self, key: str) -> None: ...
    async def areas(self) -> list[str]:
        """The top-level folders of keys ("originals", "renditions", ...)."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every blob under a folder ("area/tenant/"); returns how many. Idempotent."""
        ...

    def location(self, key: str) -> str:
        """Where a person finds the blob: a local path, or an s3:// URL."""
        ...

    # Large blobs (videos) stream between a local file and the store, never whole in memory.
    async def put_file(self, key: str, source: Path, content_type: str) -> None: ...
    async def get_file(self, key: str, target: Path) -> None:
        """Write the blob to target (atomically); FileNotFoundError if it does not exist."""
        ...

    async def size(self, key: str) -> int:
        """The blob's length in bytes; FileNotFoundError if it does not exist."""
        ...

    def read_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes [start, end) of the blob, in chunks (a player's Range request on a long video);
        FileNotFoundError from the first iteration if it does not exist."""
        ...


@dataclass(frozen=True)
class IndexDocument:
    tenant_id: str
    asset_id: str
    filename: str
    media_type: str
    created_at: datetime
    captured_at: datetime | None
    labels: tuple[Label, ...]
    text: str = ""  # text found in the image (OCR lines)
    persons: tuple[str, ...] = ()  # names of the persons whose faces appear
    moderated: bool = False  # any moderation label at or above the analyzer's threshold
    embedding: tuple[float, ...] = ()  # semantic vector of the asset's metadata text
    root_id: str = ""  # top of the asset's version tree ("" or its own ID when it has no parent)
    duration: float | None = None  # a video's length in seconds (None: an image)
    training_example: bool = False  # uploaded only to teach a concept: searched only when asked for
    tone: str = ""  # catalog.domain.tone: "monochrome", "colour", or "" (not measured: a video)


class TrainingExamples(enum.StrEnum):
    """Which assets a search looks at: the archive (assets uploaded only as concept examples left out), or
    those training examples alone."""

    EXCLUDE = "exclude"
    ONLY = "only"


class SortOrder(enum.StrEnum):
    RELEVANCE = "relevance"  # the score: matched label confidence, blended with meaning for text queries
    CONFIDENCE = "confidence"  # the matched label's own confidence
    CREATED = "created"  # newest first
    CAPTURED = "captured"  # newest capture first; assets without a capture time last


# What every search path handles: the page asked for, and the synonym groups (which only widen
# all_labels, a field each path handles or not).
PAGE_FIELDS = frozenset({"sort", "first", "after", "synonyms"})


@dataclass(frozen=True)
class SearchQuery:
    text: str | None = None  # keyword (labels, parents, words) + semantic when text_embedding is given
    labels: tuple[str, ...] = ()  # any of these, through parents
    all_labels: tuple[str, ...] = ()  # every one of these (each, or a synonym of it: any_of)
    not_labels: tuple[str, ...] = ()  # none of these
    min_confidence: float = 0.0
    # Labels above it do not match any label condition (labelSource MACHINE: human labels are at 100).
    max_confidence: float = 100.0
    # Whether the label conditions (labels, all_labels, not_labels) match a model's guesses: a name reached
    # only by labels under GUESS_BELOW. Without it they need a finding (`threshold`); a text query finds
    # guesses by name either way (ranking.WEAK_NAME_WEIGHT), and facets count findings only (`facet_labels`).
    include_guesses: bool = False
    label_confidence: Mapping[str, float] = field(
        default_factory=dict
    )  # per label name, overrides the global
    persons: tuple[str, ...] = ()  # any of these
    phrase: str | None = None  # must appear in the image's text, words in this order
    exclude_moderation: bool = False
    media_types: tuple[str, ...] = ()
    min_duration: float | None = None  # videos at least this many seconds long (images never match)
    max_duration: float | None = None  # videos at most this long
    training_examples: TrainingExamples = TrainingExamples.EXCLUDE
    created_after: datetime | None = None
    created_before: datetime | None = None
    captured_after: datetime | None = None
    captured_before: datetime | None = None
    text_embedding: tuple[float, ...] | None = None
    sort: SortOrder = SortOrder.RELEVANCE
    roots_only: bool = False  # a version's match counts for its root: each tree comes back once, as its root
    first: int = 20
    after: str | None = None
    synonyms: tuple[tuple[str, ...], ...] = ()  # the tenant's synonym groups, for all_labels
    # Only documents of this tone (catalog.domain.tone), which the query's text named (tone.named_tone):
    # `text` holds what else it says. Without text, every document of the tone is a hit by the query's
    # words (text_match, FILENAME_SCORE), or by its labels when `labels` are given.
    tone: str = ""

    def threshold(self, label: str) -> float:
        """The least confidence at which a label condition on `label` matches: its own threshold or
        min_confidence, and never a guess unless include_guesses (a human-confirmed label is 100)."""
        given = self.label_confidence.get(label.lower(), self.min_confidence)
        return given if self.include_guesses else max(given, GUESS_BELOW)

    def fields_set(self) -> frozenset[str]:
        """The fields that decide which assets match and how they rank, set away from their defaults. A
        search path names the fields it handles and answers only queries that set no other: a field added
        later takes the general path until a faster one opts in to it."""
        return frozenset(
            name for name, default in _filter_defaults(type(self)) if getattr(self, name) != default
        )

    def text_label_terms(self) -> tuple[str, ...]:
        """The lower-cased label names the free text may mean (label_terms), each followed by the tenant's
        synonyms of it: "Kaffee" finds the coffees labelled Espresso when the tenant made them one group."""
        text = (self.text or "").strip()
        if not text:
            return ()
        return tuple(dict.fromkeys(n.lower() for n in with_synonyms(label_terms(text), self.synonyms)))

    def any_of(self, name: str) -> tuple[str, ...]:
        """What one all_labels name asks for: the name or any of its synonyms. (`labels` and `not_labels`
        are any-of / none-of lists: callers expand them with with_synonyms before they get here.)"""
        return with_synonyms((name,), self.synonyms)


_DEFAULTS: dict[type, tuple[tuple[str, object], ...]] = {}


def _filter_defaults(cls: type[SearchQuery]) -> tuple[tuple[str, object], ...]:
    """(name, default) of each field of a SearchQuery class but the PAGE_FIELDS, worked out once."""
    if cls not in _DEFAULTS:
        _DEFAULTS[cls] = tuple(
            (f.name, f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
            for f in dataclasses.fields(cls)
            if f.name not in PAGE_FIELDS
        )
    return _DEFAULTS[cls]


def with_synonyms(names: Sequence[str], groups: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """Each name plus every synonym of it (case-insensitive), in order, without repeats."""
    out: dict[str, None] = {}
    for name in names:
        out[name] = None
        for group in groups:
            if name.lower() in (g.lower() for g in group):
                out.update(dict.fromkeys(group))
    return tuple(out)


@dataclass(frozen=True)
class LabelMatch:
    label: str  # the asset's label that matched
    confidence: float
    via: str  # the label or parent name the query asked for


@dataclass(frozen=True)
class SearchHit:
    asset_id: str
    score: float
    matches: tuple[LabelMatch, ...] = ()
    cursor: str = ""  # resume after this hit (the sort key and the asset ID, opaque)
    # cosine similarity (0–1) of a text query's meaning to the asset's metadata, when it added to the score
    meaning: float | None = None
    # a text query's words were found in the filename, label or person names, or the image text, and
    # that (not a label) set the keyword part of the score
    text_match: bool = False


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int


@dataclass(frozen=True)
class SearchPage:
    total: int
    hits: tuple[SearchHit, ...]
    end_cursor: str | None
    has_next: bool
    label_facets: tuple[FacetValue, ...] = field(default_factory=tuple)
    person_facets: tuple[FacetValue, ...] = field(default_factory=tuple)
    media_type_facets: tuple[FacetValue, ...] = field(default_factory=tuple)
    capture_year_facets: tuple[FacetValue, ...] = field(default_factory=tuple)


class UnsupportedSearch(ValueError):
    """A query this adapter cannot answer with the embedded index's semantics: refused, never approximated."""


class SearchTimeout(UnsupportedSearch):
    """A query that ran past the index's time limit: stopped, so one request cannot hold a reader for long."""


class SearchIndex(Protocol):
    """Derived from the catalog; rebuildable; upserts are idempotent."""

    async def upsert(self, doc: IndexDocument) -> None: ...
    async def delete(self, tenant_id: str, asset_id: str) -> None: ...
    async def search(self, tenant_id: str, query: SearchQuery) -> SearchPage: ...
    async def clear(self) -> None: ...
    async def rebuild(
        self, batches: AsyncIterable[Sequence[IndexDocument]], *, tenant_id: str | None = None
    ) -> int:
        """Replace the tenant's documents (every tenant's with None) by those of `batches`, each asset once;
        returns how many. For rebuilding from the catalog (`mediasight reindex`): faster than upserts."""
        ...

    async def count(self, tenant_id: str) -> int: ...
    async def fingerprints(
        self, tenant_id: str | None, *, after: str | None, limit: int
    ) -> list[tuple[str, str, str]]:
        """(tenant_id, asset_id, fingerprint) of the indexed documents in asset-ID order, from after
        the asset `after`; the fingerprint (`catalog.domain.fingerprint`) is the one stored at upsert ("" when
        the document predates fingerprints). Tenant None only for operator tools (verify)."""
        ...
