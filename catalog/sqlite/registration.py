"""A new asset and its first job in one SQLite transaction (catalog and queue share the database): a crash
leaves both or neither, never a registered asset that nothing will process."""

from __future__ import annotations

import sqlite3

from catalog.domain.model import Asset
from catalog.sqlite.catalog import insert_asset
from catalog.sqlite.queue import SqliteJobQueue, insert_job


class SqliteRegistration:
    def __init__(self, queue: SqliteJobQueue) -> None:
        self._queue = queue

    async def register_queued(self, asset: Asset, kind: str) -> tuple[Asset, bool]:
        def both(conn: sqlite3.Connection) -> tuple[Asset, bool]:
            registered, created = insert_asset(conn, asset)
            if created:
                insert_job(conn, kind, asset.tenant_id, asset.id)
            return registered, created

        registered, created = await self._queue.db.write(both)
        if created:
            self._queue.new_jobs.fire()
        return registered, created
