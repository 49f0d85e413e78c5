"""The concept tests' one way to run GraphQL as a tenant (schema.execute, no HTTP)."""

from __future__ import annotations

from typing import Any

from api.context import Context
from api.schema import schema
from mediasight.bootstrap import Services


async def run(services: Services, tenant: str, document: str, **variables: Any) -> dict[str, Any]:
    result = await schema.execute(
        document, variable_values=variables, context_value=Context(services, tenant)
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data
