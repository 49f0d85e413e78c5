"""The scale-out search index: one OpenSearch index for all tenants, one document per asset.

Documents carry a `terms` nested field built like the embedded index's `terms` table (every label and
parent name, lower-cased, with the confidence of the best label reaching it), so a label query is one
nested query ranked by that confidence; `catalog.opensearch.query` builds the requests. The client is
created once by the composition root and injected; this adapter never closes it.

Read-after-write: writes ask for `refresh="wait_for"` by default, so a search right after an upsert sees
it (the contract). That holds each write until the next scheduled refresh (index.refresh_interval, 1 s
by default): `upsert_many` pays it once per batch, single upserts once each, `rebuild` (reindex) once at
the end. A worker that does not need it may pass refresh="false" and rely on the refresh interval.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, Iterable, Sequence
from datetime import UTC
from typing import Any, Literal

from opensearchpy import AsyncOpenSearch, NotFoundError, RequestError

from catalog.domain.cursor import decode_cursor
from catalog.domain.fingerprint import document_fingerprint
from catalog.domain.ports import IndexDocument, SearchPage, SearchQuery
from catalog.domain.ranking import SEMANTIC_FLOOR, document_terms, document_words, facet_labels, label_words
from catalog.opensearch import query as q
from catalog.opensearch.roots import search_roots

Refresh = Literal["wait_for", "true", "false"]
EMBEDDING_DIMENSION = 384  # MiniLM-L6 sentence vectors
# Fields added to the mapping after indexes were first created: ensure_index puts them on an old index.
ADDED_FIELDS: dict[str, Any] = {
    "fingerprint": {
        "type": "keyword",
        "index": False,
    },  # catalog.domain.fingerprint; read back, never queried
    "duration": {"type": "double"},  # a video's length in seconds (absent: an image)
    "training_example": {"type": "boolean"},  # true: uploaded only to teach a concept (absent: false)
    # sure label names (ranking.label_words), found by whole words; `meta` (filenames, persons) and `ocr`
    # by prefixes. Documents written before it hold their label words in `meta` until `verify --repair`.
    "label_words": {"type": "text", "analyzer": "words"},
    # catalog.domain.tone (absent: not measured, or written before it until `verify --repair`)
    "tone": {"type": "keyword"},
}


def index_body(dimension: int, *, shards: int = 1, replicas: int | None = None) -> dict[str, Any]:
    """Settings and mappings. One shard by default: exact facet counts, and an archive's metadata
    (≈1–2 kB a document) stays far below the size where a shard should split."""
    settings: dict[str, Any] = {
        "number_of_shards": shards,
        "knn": True,
        "analysis": {
            "normalizer": {"lowercase": {"type": "custom", "filter": ["lowercase"]}},
            # Like SQLite FTS5's unicode61: letters and digits make words, diacritics are ignored.
            "tokenizer": {"words": {"type": "pattern", "pattern": q.TOKEN_PATTERN, "group": 0}},
            "analyzer": {
                "words": {"type": "custom", "tokenizer": "words", "filter": ["lowercase", "asciifolding"]}
            },
        },
    }
    if replicas is not None:
        settings["number_of_replicas"] = replicas
    lowercase = {"type": "keyword", "normalizer": "lowercase"}
    words = {"type": "text", "analyzer": "words"}
    return {
        "settings": {"index": settings},
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "tenant_id": {"type": "keyword"},
                "asset_id": {"type": "keyword"},
                "filename": {**words, "fields": {"raw": {"type": "keyword"}}},
                "media_type": {"type": "keyword"},
                "created_at": {"type": "date"},
                "captured_at": {"type": "date"},
                "captured_year": {"type": "keyword"},  # UTC year, for the capture-year facet
                "root_id": {"type": "keyword"},
                **ADDED_FIELDS,
                # The label facet's values (ranking.facet_labels: no model's guess), each at the confidence
                # a label filter on it reaches; name keeps its case, as the recognizer wrote it.
                "labels": {
                    "type": "nested",
                    "properties": {
                        "name": {"type": "keyword", "fields": {"lc": lowercase}},
                        "confidence": {"type": "double"},
                    },
                },
                "terms": {
                    "type": "nested",
                    "properties": {
                        "term": lowercase,
                        "confidence": {"type": "double"},
                        "label": {"type": "keyword"},
                    },
                },
                "top_confidence": {"type": "double"},
                "meta": words,
                "ocr": words,
                "persons": {
                    "type": "keyword",
                    "fields": {"lc": lowercase},
                },  # shown as named; matched in any case
                "moderated": {"type": "boolean"},
                "embedding": {
                    "type": "knn_vector",
                    "dimension": dimension,
                    "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"},
                },
            },
        },
    }


def doc_id(tenant_id: str, asset_id: str) -> str:
    return f"{tenant_id}:{asset_id}"


def document(doc: IndexDocument, dimension: int) -> dict[str, Any]:
    """The index document of an asset (the same derivation as the embedded index's rows)."""
    persons: dict[str, str] = {}
    for name in doc.persons:
        persons.setdefault(name.lower(), name)  # one per name in any case; the first spelling is shown
    terms = document_terms(doc)
    # The label facet's values: the findings, at the confidence a label filter on the name reaches.
    labels = facet_labels(doc, terms)
    body: dict[str, Any] = {
        "tenant_id": doc.tenant_id,
        "asset_id": doc.asset_id,
        "filename": doc.filename,
        "media_type": doc.media_type,
        "created_at": q.iso(doc.created_at),
        "captured_at": q.iso(doc.captured_at) if doc.captured_at else None,
        "labels": [{"name": n, "confidence": c} for n, c in labels.items()],
        "terms": [{"term": t, "confidence": c, "label": lb} for t, (c, lb) in terms.items()],
        "top_confidence": max((lb.confidence for lb in doc.labels), default=0.0),
        "meta": document_words(doc),
        "label_words": label_words(doc),
        "ocr": doc.text,
        "persons": list(persons.values()),
        "moderated": doc.moderated,
        "root_id": doc.root_id or doc.asset_id,
        "fingerprint": document_fingerprint(doc),
    }
    if doc.duration is not None:
        body["duration"] = doc.duration
    if doc.training_example:
        body["training_example"] = True
    if doc.tone:
        body["tone"] = doc.tone
    if doc.captured_at:
        captured = doc.captured_at if doc.captured_at.tzinfo else doc.captured_at.replace(tzinfo=UTC)
        body["captured_year"] = f"{captured.astimezone(UTC).year:04d}"
    # A vector of another model's size (or all zeros) is kept out, as the embedded index never matches it.
    if len(doc.embedding) == dimension and any(doc.embedding):
        body["embedding"] = list(doc.embedding)
    return body


class OpenSearchIndexError(RuntimeError):
    pass


class OpenSearchIndex:
    def __init__(
        self,
        client: AsyncOpenSearch,
        index: str,
        *,
        dimension: int = EMBEDDING_DIMENSION,
        refresh: Refresh = "wait_for",
        semantic: bool = True,
    ) -> None:
        """`semantic=False` drops the k-NN part of text queries (for engines without the k-NN plugin)."""
        self._client = client
        self._index = index
        self._dimension = dimension
        self._refresh = refresh
        self._semantic = semantic
        self._ready = False

    async def ensure_index(self, *, shards: int = 1, replicas: int | None = None) -> None:
        """Create the index unless it exists, else add the fields newer than it to its mapping
        (idempotent; safe when several processes race)."""
        created = False
        if not await self._client.indices.exists(index=self._index):
            try:
                body = index_body(self._dimension, shards=shards, replicas=replicas)
                await self._client.indices.create(index=self._index, body=body)
                created = True
            except RequestError as exc:
                if exc.error != "resource_already_exists_exception":
                    raise
        if not created:  # the mapping is strict: a field it lacks would fail every write
            await self._client.indices.put_mapping(index=self._index, body={"properties": ADDED_FIELDS})
        self._ready = True

    async def upsert(self, doc: IndexDocument) -> None:
        await self.upsert_many((doc,))

    async def upsert_many(self, docs: Iterable[IndexDocument]) -> None:
        """Index documents in one bulk request (replacing any earlier version: idempotent)."""
        await self._bulk(docs, self._refresh)

    async def _bulk(self, docs: Iterable[IndexDocument], refresh: Refresh) -> None:
        actions: list[dict[str, Any]] = []
        for doc in docs:
            actions.append({"index": {"_index": self._index, "_id": doc_id(doc.tenant_id, doc.asset_id)}})
            actions.append(document(doc, self._dimension))
        if not actions:
            return
        if not self._ready:
            await self.ensure_index()
        response = await self._client.bulk(body=actions, refresh=refresh)
        if response.get("errors"):
            failed = [i["index"] for i in response["items"] if i["index"].get("error")]
            raise OpenSearchIndexError(f"{len(failed)} document(s) not indexed; first: {failed[0]}")

    async def rebuild(
        self, batches: AsyncIterable[Sequence[IndexDocument]], *, tenant_id: str | None = None
    ) -> int:
        """Delete the tenant's documents (all), bulk-index the batches without waiting for refreshes,
        refresh once. Not atomic: meanwhile searches see part of the documents (counted at query time, so
        totals and facets always match the hits); a rebuild stopped half-way leaves documents missing,
        which `mediasight verify` reports and running it again fixes."""
        if not self._ready:
            await self.ensure_index()
        await self._client.indices.refresh(index=self._index)  # what delete_by_query sees: every write
        await self._delete_matching(
            {"match_all": {}} if tenant_id is None else {"term": {"tenant_id": tenant_id}}
        )
        count = 0
        async for batch in batches:
            if tenant_id is not None and any(d.tenant_id != tenant_id for d in batch):
                raise ValueError(f"rebuilding tenant {tenant_id}: a document of another tenant")
            await self._bulk(batch, "false")
            count += len(batch)
        await self._client.indices.refresh(index=self._index)
        return count

    async def delete(self, tenant_id: str, asset_id: str) -> None:
        with contextlib.suppress(NotFoundError):  # already gone, or never indexed: deleting is idempotent
            await self._client.delete(
                index=self._index, id=doc_id(tenant_id, asset_id), refresh=self._refresh
            )

    async def clear(self) -> None:
        await self._delete_matching({"match_all": {}}, refresh=self._refresh != "false")

    async def _delete_matching(self, query: dict[str, Any], *, refresh: bool = False) -> None:
        with contextlib.suppress(NotFoundError):  # no index: nothing to delete
            await self._client.delete_by_query(
                index=self._index, body={"query": query}, refresh=refresh, conflicts="proceed"
            )

    async def count(self, tenant_id: str) -> int:
        try:
            response = await self._client.count(
                index=self._index, body={"query": {"term": {"tenant_id": tenant_id}}}
            )
        except NotFoundError:
            return 0
        return int(response["count"])

    async def fingerprints(
        self, tenant_id: str | None, *, after: str | None, limit: int
    ) -> list[tuple[str, str, str]]:
        if limit <= 0:
            return []
        body = q.fingerprints_body(tenant_id, after, limit)
        try:
            response = await self._client.search(index=self._index, body=body)
        except NotFoundError:
            return []  # no index: nothing indexed
        return q.read_fingerprints(response)

    async def search(self, tenant_id: str, query: SearchQuery) -> SearchPage:
        after = decode_cursor(query.after) if query.after else None
        vector = q.meaning_vector(query, dimension=self._dimension, semantic=self._semantic)
        try:
            cut = await self._meaning_cut(tenant_id, query, vector)
            if query.roots_only:
                return await search_roots(
                    self._client, self._index, tenant_id, query, after, dimension=self._dimension,
                    semantic=self._semantic, cut=cut,
                )  # fmt: skip
            body = q.search_body(
                tenant_id, query, after, dimension=self._dimension, semantic=self._semantic, cut=cut
            )
            if body is None:
                return q.EMPTY_PAGE
            response = await self._client.search(index=self._index, body=body)
        except NotFoundError:
            return q.EMPTY_PAGE  # nothing indexed yet
        return q.read_page(response, q.page_size(query), vector, cut)

    async def _meaning_cut(
        self, tenant_id: str, query: SearchQuery, vector: tuple[float, ...] | None
    ) -> float:
        """How close to the query's meaning a neighbour must be (ranking.meaning_cut): one k=1 k-NN request
        for the best neighbour in the tenant's partition, when the query's meaning joins the ranking."""
        if vector is None:
            return SEMANTIC_FLOOR
        body = q.best_meaning_body(tenant_id, query, vector)
        return q.read_meaning_cut(await self._client.search(index=self._index, body=body))
