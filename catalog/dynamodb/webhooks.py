"""Webhook endpoints and deliveries in the scale-out catalog: one item each in the tenant's webhook
partitions (endpoints: PK T#<tenant>#WEBHOOKS; deliveries: PK T#<tenant>#WH#<endpoint>, SK D#<created>#<ID>
sorting by time, and a marker ID#<ID> that keeps IDs unique), the record as JSON."""

from __future__ import annotations

from datetime import datetime

from catalog.domain.webhook_store import (
    MAX_LISTED_DELIVERIES,
    FeedPosition,
    delivery_from_json,
    delivery_json,
    endpoint_from_json,
    endpoint_json,
)
from catalog.domain.webhooks import WebhookDelivery, WebhookEndpoint
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.base import DynamoTable, put_new
from catalog.dynamodb.requests import ConditionFailed, transact
from catalog.dynamodb.values import s


def _endpoints_pk(tenant_id: str) -> str:
    return f"{ddb.tenant_pk(tenant_id)}#WEBHOOKS"


def _deliveries_pk(tenant_id: str, endpoint_id: str) -> str:
    return f"{ddb.tenant_pk(tenant_id)}#WH#{endpoint_id}"


def _delivery_sk(delivery: WebhookDelivery) -> str:
    return f"D#{delivery.created_at.isoformat()}#{delivery.id}"


def _feed_pk(tenant_id: str) -> str:
    return f"{ddb.tenant_pk(tenant_id)}#WHFEED"


class DynamoWebhooks(DynamoTable):
    async def feed_position(self, tenant_id: str) -> FeedPosition | None:
        item = await self._get(_feed_pk(tenant_id), "POSITION")
        if not item:
            return None
        return datetime.fromisoformat(item["changed_at"]["S"]), item["asset_id"]["S"]

    async def set_feed_position(self, tenant_id: str, position: FeedPosition) -> None:
        item = {
            **ddb.key(_feed_pk(tenant_id), "POSITION"),
            "changed_at": s(position[0].isoformat()),
            "asset_id": s(position[1]),
        }
        await self._client.put_item(TableName=self._table, Item=item)

    async def save_endpoint(self, endpoint: WebhookEndpoint) -> None:
        item = {
            **ddb.key(_endpoints_pk(endpoint.tenant_id), endpoint.id),
            "record": s(endpoint_json(endpoint)),
        }
        await self._client.put_item(TableName=self._table, Item=item)

    async def get_endpoint(self, tenant_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        item = await self._get(_endpoints_pk(tenant_id), endpoint_id)
        return endpoint_from_json(item["record"]["S"]) if item else None

    async def list_endpoints(self, tenant_id: str) -> list[WebhookEndpoint]:
        response = await self._client.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": s(_endpoints_pk(tenant_id))},
            ConsistentRead=True,
        )
        return [endpoint_from_json(i["record"]["S"]) for i in response.get("Items", [])]

    async def delete_endpoint(self, tenant_id: str, endpoint_id: str) -> bool:
        response = await self._client.delete_item(
            TableName=self._table, Key=ddb.key(_endpoints_pk(tenant_id), endpoint_id), ReturnValues="ALL_OLD"
        )
        return "Attributes" in response

    async def add_delivery(self, delivery: WebhookDelivery) -> bool:
        # The delivery sorts by time; a marker item keyed by its ID makes the ID unique and finds it.
        pk = _deliveries_pk(delivery.tenant_id, delivery.endpoint_id)
        sk = _delivery_sk(delivery)
        marker = {**ddb.key(pk, f"ID#{delivery.id}"), "at": s(sk)}
        item = {**ddb.key(pk, sk), "record": s(delivery_json(delivery))}
        try:
            await transact(self._client, [put_new(self._table, marker), put_new(self._table, item)])
        except ConditionFailed:
            return False
        return True

    async def save_delivery(self, delivery: WebhookDelivery) -> None:
        pk = _deliveries_pk(delivery.tenant_id, delivery.endpoint_id)
        item = {**ddb.key(pk, _delivery_sk(delivery)), "record": s(delivery_json(delivery))}
        await self._client.put_item(TableName=self._table, Item=item)

    async def get_delivery(
        self, tenant_id: str, endpoint_id: str, delivery_id: str
    ) -> WebhookDelivery | None:
        pk = _deliveries_pk(tenant_id, endpoint_id)
        marker = await self._get(pk, f"ID#{delivery_id}")
        item = await self._get(pk, marker["at"]["S"]) if marker else None
        return delivery_from_json(item["record"]["S"]) if item else None

    async def list_deliveries(
        self, tenant_id: str, endpoint_id: str, *, limit: int = MAX_LISTED_DELIVERIES
    ) -> list[WebhookDelivery]:
        response = await self._client.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :d)",
            ExpressionAttributeValues={":pk": s(_deliveries_pk(tenant_id, endpoint_id)), ":d": s("D#")},
            ScanIndexForward=False,
            Limit=min(limit, MAX_LISTED_DELIVERIES),
            ConsistentRead=True,
        )
        return [delivery_from_json(i["record"]["S"]) for i in response.get("Items", [])]
