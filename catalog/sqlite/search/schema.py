"""Tables of the embedded search index, and the migration of index files made by older versions.

`terms` holds, per asset, every name a label query may use — the label itself and each of its parents,
lower-cased — with the confidence of the best label reachable through it. `facet_counts` keeps, per
tenant, term and whole confidence point, how many documents have each facet value: the total and the
facets of a one-label query are read from it instead of from the matching documents (`search_counts`).

Versions (PRAGMA user_version): 0 = before versions (maybe without fingerprints; vectors in docs,
labels in doc_labels); 2 = facet counts, packed facet IDs, the ranked indexes, vectors in their own
table; 3 = video durations; 4 = label words apart in the full-text table (whole words, not prefixes);
5 = the image's tone (catalog.domain.tone: '' in documents written before, until `mediasight verify
--repair` rewrites them; catalog.domain.fingerprint v5 marks them stale); 6 = a model's guess is no facet
value (ranking.facet_labels): the label IDs of docs.facet_ids whose name no label reaches at GUESS_BELOW
(per its `terms` row) are dropped and the counts made again, exact from the rows.
Opening an older file adds what is missing, moves the vectors and derives
IDs and counts from its rows, once (minutes for a million documents; `mediasight reindex`, from the
catalog, is the other way). Version 4 copies the full-text rows as they are: the label words of documents
written before it stay in `meta` (found as prefixes) until `mediasight verify --repair` rewrites them
(catalog.domain.fingerprint v3 marks them stale).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator

from catalog.domain.labels.detections import GUESS_BELOW
from catalog.sqlite.db import SqliteDb
from catalog.sqlite.search import columns as search_columns
from catalog.sqlite.search import recount as search_recount
from catalog.sqlite.search import vocab as search_vocab
from catalog.sqlite.search.counts import LABEL, PERSON

log = logging.getLogger(__name__)
VERSION = 6
_CHUNK = 2000  # documents per step of a migration

# Words of a document (ranking.document_words and label_words): meta (filenames, persons) and ocr (the
# image's text, what the file says of itself) are found by word prefixes, labels (sure label names) by
# whole words (search_sql.fts_match).
_FTS = """CREATE VIRTUAL TABLE IF NOT EXISTS {name} USING fts5 (
    meta, ocr, labels, tenant_id UNINDEXED, asset_id UNINDEXED, tokenize = 'unicode61'
);"""

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS docs (
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    created_at TEXT NOT NULL,
    captured_at TEXT,
    top_confidence REAL NOT NULL,
    moderated INTEGER NOT NULL DEFAULT 0,
    root_id TEXT NOT NULL,          -- top of the version tree (the asset itself without a parent)
    fts_id INTEGER NOT NULL,        -- rowid of the asset's row in docs_fts
    fingerprint TEXT,               -- catalog.domain.fingerprint of the document (NULL: written before them)
    facet_ids BLOB,                 -- search_vocab IDs of its label names and persons (int32 LE)
    duration REAL,                  -- a video's length in seconds (NULL: an image)
    tone TEXT NOT NULL DEFAULT '',  -- catalog.domain.tone ('': not measured)
    PRIMARY KEY (tenant_id, asset_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS docs_by_asset ON docs (asset_id);  -- all tenants in asset-ID order (verify)
-- Pages in each sort order straight from an index (keyset cursors), moderation checked in the index.
CREATE INDEX IF NOT EXISTS docs_ranked ON docs (tenant_id, top_confidence, asset_id, moderated);
CREATE INDEX IF NOT EXISTS docs_by_created ON docs (tenant_id, created_at, asset_id, moderated);
CREATE INDEX IF NOT EXISTS docs_by_captured
    ON docs (tenant_id, COALESCE(captured_at, ''), asset_id, moderated);
-- Vectors apart: 1.5 kB each, they would push every other column of docs into overflow pages.
CREATE TABLE IF NOT EXISTS doc_vectors (
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    embedding BLOB NOT NULL,        -- float32 little-endian, L2-normalised
    PRIMARY KEY (tenant_id, asset_id)
);
CREATE TABLE IF NOT EXISTS doc_persons (
    tenant_id TEXT NOT NULL,
    person_lc TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (tenant_id, person_lc, asset_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS doc_persons_by_asset ON doc_persons (tenant_id, asset_id);
CREATE TABLE IF NOT EXISTS terms (
    tenant_id TEXT NOT NULL,
    term TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    confidence REAL NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (tenant_id, term, asset_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS terms_by_asset ON terms (tenant_id, asset_id);
CREATE INDEX IF NOT EXISTS terms_ranked ON terms (tenant_id, term, confidence, asset_id, label);
{fts}
CREATE TABLE IF NOT EXISTS facet_values (
    id INTEGER PRIMARY KEY,
    facet INTEGER NOT NULL,         -- search_counts.LABEL or PERSON
    value TEXT NOT NULL,
    UNIQUE (facet, value)
);
CREATE TABLE IF NOT EXISTS search_tenants (
    key INTEGER PRIMARY KEY,        -- the tenant in facet_counts (short keys keep that table small)
    tenant_id TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS facet_counts (
    tenant INTEGER NOT NULL,        -- search_tenants.key
    term TEXT NOT NULL,             -- '' = every document, at its top confidence
    facet INTEGER NOT NULL,         -- search_counts.LABEL, PERSON, MEDIA_TYPE, CAPTURE_YEAR
    value TEXT NOT NULL,            -- label name, lower-cased person name, media type, capture year
    moderated INTEGER NOT NULL,
    counts BLOB NOT NULL,           -- documents per confidence slot (search_counts.SLOTS int32 LE)
    PRIMARY KEY (tenant, term, facet, value, moderated)
) WITHOUT ROWID;
""".format(fts=_FTS.format(name="docs_fts"))
    + search_columns.SCHEMA
)  # and the generations the text path's columns follow

TABLES = ("docs", "doc_vectors", "doc_persons", "terms", "docs_fts", "facet_counts")


def migrate(db: SqliteDb) -> None:
    """Bring an index file to VERSION; a no-op on a current one. SCHEMA (run on open) made the new
    tables and indexes; the rest runs once, under the write lock, checked again there (another process
    may have migrated meanwhile)."""

    def version(conn: sqlite3.Connection) -> int:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def upgrade(conn: sqlite3.Connection) -> None:
        found = version(conn)
        if found >= VERSION:
            return
        if found < 2:
            _upgrade_to_2(conn, db)
        columns = {r[1] for r in conn.execute("PRAGMA table_info(docs)")}
        if "duration" not in columns:  # version 3: video lengths (older files hold images only: NULL)
            conn.execute("ALTER TABLE docs ADD COLUMN duration REAL")
        if "labels" not in {r[1] for r in conn.execute("PRAGMA table_info(docs_fts)")}:
            _upgrade_to_4(conn, db)
        if "tone" not in columns:  # version 5: the tone, unknown ('') until the document is rewritten
            conn.execute("ALTER TABLE docs ADD COLUMN tone TEXT NOT NULL DEFAULT ''")
        if found < 6:  # a model's guess leaves the facets (from version 2 on: a version 0 file was packed)
            _drop_guessed_values(conn, db)
        conn.execute(f"PRAGMA user_version = {VERSION}")

    while db.read_sync(version) < VERSION:
        try:
            db.write_sync(upgrade)
        except sqlite3.OperationalError as exc:  # busy: another process is migrating; wait for it
            if "locked" not in str(exc):
                raise


def _upgrade_to_2(conn: sqlite3.Connection, db: SqliteDb) -> None:
    """Fingerprints, packed facet IDs, vectors in their own table, facet counts (from version 0)."""
    if conn.execute("SELECT 1 FROM docs LIMIT 1").fetchone():
        log.warning("search index %s: migrating to version %d (once; minutes for millions of assets)",
                    db.path, VERSION)  # fmt: skip
    columns = {r[1] for r in conn.execute("PRAGMA table_info(docs)")}
    if "fingerprint" not in columns:
        conn.execute("ALTER TABLE docs ADD COLUMN fingerprint TEXT")  # its rows: never fingerprinted
    if "facet_ids" not in columns:
        conn.execute("ALTER TABLE docs ADD COLUMN facet_ids BLOB")
    if "embedding" in columns:
        conn.execute(
            "INSERT OR REPLACE INTO doc_vectors SELECT tenant_id, asset_id, embedding FROM docs "
            "WHERE embedding IS NOT NULL"
        )
        conn.execute("ALTER TABLE docs DROP COLUMN embedding")
    if conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'doc_labels'").fetchone():
        _pack_facet_ids(conn)
    _recount(conn)


def _upgrade_to_4(conn: sqlite3.Connection, db: SqliteDb) -> None:
    """The full-text table with its labels column: its rows copied under the same rowids (docs.fts_id)."""
    if conn.execute("SELECT 1 FROM docs LIMIT 1").fetchone():
        log.warning("search index %s: adding the label words column (once; `mediasight verify --repair` "
                    "then rewrites the documents indexed before)", db.path)  # fmt: skip
    conn.execute(_FTS.format(name="docs_fts_v4"))
    conn.execute(
        "INSERT INTO docs_fts_v4 (rowid, meta, ocr, labels, tenant_id, asset_id) "
        "SELECT rowid, meta, ocr, '', tenant_id, asset_id FROM docs_fts"
    )
    conn.execute("DROP TABLE docs_fts")
    conn.execute("ALTER TABLE docs_fts_v4 RENAME TO docs_fts")


def _drop_guessed_values(conn: sqlite3.Connection, db: SqliteDb) -> None:
    """Version 6: docs.facet_ids keep the labels that are findings (ranking.facet_labels: the name reached at
    GUESS_BELOW or more, which its `terms` row holds), then the counts are made again from the rows."""
    if conn.execute("SELECT 1 FROM docs LIMIT 1").fetchone():
        log.warning("search index %s: leaving the models' guesses out of the label facets (once; minutes "
                    "for millions of assets)", db.path)  # fmt: skip
    values: dict[int, tuple[int, str]] = {}
    for span in _spans(conn):
        where = "WHERE tenant_id = ? AND asset_id BETWEEN ? AND ?"
        sql = f"SELECT asset_id, term FROM terms {where} AND confidence >= ?"
        sure = {(a, term) for a, term in conn.execute(sql, (*span, GUESS_BELOW))}
        docs = [
            (a, search_vocab.unpack([ids]).tolist())
            for a, ids in conn.execute(
                f"SELECT asset_id, facet_ids FROM docs {where} AND facet_ids IS NOT NULL", span
            )
        ]
        values.update(search_vocab.lookup(conn, sorted({i for _, ids in docs for i in ids} - values.keys())))
        changed = []
        for asset_id, ids in docs:
            kept = [i for i in ids if values[i][0] != LABEL or (asset_id, values[i][1].lower()) in sure]
            if len(kept) < len(ids):
                changed.append((search_vocab.pack(kept), span[0], asset_id))
        conn.executemany("UPDATE docs SET facet_ids = ? WHERE tenant_id = ? AND asset_id = ?", changed)
    _recount(conn)


def _spans(conn: sqlite3.Connection) -> Iterator[tuple[str, str, str]]:
    """(tenant_id, first asset ID, last asset ID) of every stored document, a chunk at a time."""
    last = ("", "")
    while ids := conn.execute(
        "SELECT tenant_id, asset_id FROM docs WHERE (tenant_id, asset_id) > (?, ?) "
        "ORDER BY tenant_id, asset_id LIMIT ?",
        (*last, _CHUNK),
    ).fetchall():
        for tenant_id in dict.fromkeys(t for t, _ in ids):
            span = [a for t, a in ids if t == tenant_id]
            yield tenant_id, span[0], span[-1]
        last = (ids[-1][0], ids[-1][1])


def _pack_facet_ids(conn: sqlite3.Connection) -> None:
    """docs.facet_ids from the doc_labels table of version 0 (and doc_persons), which then goes."""
    known: dict[tuple[int, str], int] = {}
    for span in _spans(conn):
        listed: dict[str, set[tuple[int, str]]] = {}
        for table, column, facet in (("doc_labels", "name", LABEL), ("doc_persons", "person_lc", PERSON)):
            sql = f"SELECT asset_id, {column} FROM {table} WHERE tenant_id = ? AND asset_id BETWEEN ? AND ?"
            for asset_id, value in conn.execute(sql, span):
                listed.setdefault(asset_id, set()).add((facet, value))
        conn.executemany(
            "UPDATE docs SET facet_ids = ? WHERE tenant_id = ? AND asset_id = ?",
            [
                (search_vocab.pack(search_vocab.ids(conn, sorted(values), known)), span[0], a)
                for a, values in listed.items()
            ],
        )
    conn.execute("DROP TABLE doc_labels")


def _recount(conn: sqlite3.Connection) -> None:
    """The counts of every stored document, from its rows."""
    conn.execute("DELETE FROM facet_counts")
    for (tenant_id,) in conn.execute("SELECT DISTINCT tenant_id FROM docs").fetchall():
        search_recount.recount(conn, tenant_id)
