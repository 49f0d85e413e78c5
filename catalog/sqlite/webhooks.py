"""Webhook endpoints and deliveries in the embedded catalog (a mixin of SqliteCatalog, over its SqliteDb)."""

from __future__ import annotations

import sqlite3

from catalog.domain.clock import from_db_time, to_db_time
from catalog.domain.webhook_store import (
    MAX_LISTED_DELIVERIES,
    FeedPosition,
    delivery_from_json,
    delivery_json,
    endpoint_from_json,
    endpoint_json,
)
from catalog.domain.webhooks import WebhookDelivery, WebhookEndpoint
from catalog.sqlite.db import SqliteDb

SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_endpoints (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (tenant_id, endpoint_id, id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_time
    ON webhook_deliveries (tenant_id, endpoint_id, created_at);
CREATE TABLE IF NOT EXISTS webhook_feed_positions (
    tenant_id TEXT PRIMARY KEY,
    changed_at TEXT NOT NULL,
    asset_id TEXT NOT NULL
);
"""


class SqliteWebhooks:
    _db: SqliteDb

    async def feed_position(self, tenant_id: str) -> FeedPosition | None:
        row = await self._db.read(
            lambda c: c.execute(
                "SELECT changed_at, asset_id FROM webhook_feed_positions WHERE tenant_id = ?", (tenant_id,)
            ).fetchone()
        )
        changed_at = from_db_time(row[0]) if row else None
        return (changed_at, row[1]) if row and changed_at else None

    async def set_feed_position(self, tenant_id: str, position: FeedPosition) -> None:
        await self._db.write(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO webhook_feed_positions (tenant_id, changed_at, asset_id) "
                "VALUES (?, ?, ?)",
                (tenant_id, to_db_time(position[0]), position[1]),
            )
        )

    async def save_endpoint(self, endpoint: WebhookEndpoint) -> None:
        await self._db.write(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO webhook_endpoints (tenant_id, id, record) VALUES (?, ?, ?)",
                (endpoint.tenant_id, endpoint.id, endpoint_json(endpoint)),
            )
        )

    async def get_endpoint(self, tenant_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        row = await self._db.read(
            lambda c: c.execute(
                "SELECT record FROM webhook_endpoints WHERE tenant_id = ? AND id = ?",
                (tenant_id, endpoint_id),
            ).fetchone()
        )
        return endpoint_from_json(row[0]) if row else None

    async def list_endpoints(self, tenant_id: str) -> list[WebhookEndpoint]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT record FROM webhook_endpoints WHERE tenant_id = ? ORDER BY id", (tenant_id,)
            ).fetchall()
        )
        return [endpoint_from_json(r[0]) for r in rows]

    async def delete_endpoint(self, tenant_id: str, endpoint_id: str) -> bool:
        def delete(c: sqlite3.Connection) -> bool:
            cur = c.execute(
                "DELETE FROM webhook_endpoints WHERE tenant_id = ? AND id = ?", (tenant_id, endpoint_id)
            )
            return cur.rowcount > 0

        return await self._db.write(delete)

    async def add_delivery(self, delivery: WebhookDelivery) -> bool:
        def insert(c: sqlite3.Connection) -> bool:
            cur = c.execute(
                "INSERT OR IGNORE INTO webhook_deliveries (tenant_id, id, endpoint_id, created_at, record) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    delivery.tenant_id,
                    delivery.id,
                    delivery.endpoint_id,
                    to_db_time(delivery.created_at),
                    delivery_json(delivery),
                ),
            )
            return cur.rowcount > 0

        return await self._db.write(insert)

    async def save_delivery(self, delivery: WebhookDelivery) -> None:
        await self._db.write(
            lambda c: c.execute(
                "UPDATE webhook_deliveries SET record = ? WHERE tenant_id = ? AND endpoint_id = ? AND id = ?",
                (delivery_json(delivery), delivery.tenant_id, delivery.endpoint_id, delivery.id),
            )
        )

    async def get_delivery(
        self, tenant_id: str, endpoint_id: str, delivery_id: str
    ) -> WebhookDelivery | None:
        row = await self._db.read(
            lambda c: c.execute(
                "SELECT record FROM webhook_deliveries WHERE tenant_id = ? AND endpoint_id = ? AND id = ?",
                (tenant_id, endpoint_id, delivery_id),
            ).fetchone()
        )
        return delivery_from_json(row[0]) if row else None

    async def list_deliveries(
        self, tenant_id: str, endpoint_id: str, *, limit: int = MAX_LISTED_DELIVERIES
    ) -> list[WebhookDelivery]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT record FROM webhook_deliveries WHERE tenant_id = ? AND endpoint_id = ? "
                "ORDER BY created_at DESC, id DESC LIMIT ?",
                (tenant_id, endpoint_id, min(limit, MAX_LISTED_DELIVERIES)),
            ).fetchall()
        )
        return [delivery_from_json(r[0]) for r in rows]
