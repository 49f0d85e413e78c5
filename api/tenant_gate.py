"""Fair turns between tenants: at most a few GraphQL requests of one tenant run at once.

Every request's parsing, validation and resolvers share one event loop. A tenant sending many expensive
requests at once (a script run wild, or an attacker with a key) would keep the loop busy and make every
other tenant wait behind its queue; with a gate per tenant, its requests past the limit wait their turn
without costing anything (their bodies are not read yet), and another tenant's request waits for at most
the few that run. A request that waits too long gets 429 with Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class TenantBusy(Exception):
    """The tenant's turns stayed taken for the whole wait."""


class TenantGate:
    def __init__(self, limit: int, wait_seconds: float = 30.0) -> None:
        if limit < 1:
            raise ValueError("a tenant must be allowed at least one request at a time")
        self.limit = limit
        self.wait_seconds = wait_seconds
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._users: dict[str, int] = {}  # requests holding or waiting for the tenant's semaphore

    @contextlib.asynccontextmanager
    async def turn(self, tenant_id: str) -> AsyncIterator[None]:
        slots = self._slots.setdefault(tenant_id, asyncio.Semaphore(self.limit))
        self._users[tenant_id] = self._users.get(tenant_id, 0) + 1
        try:
            try:
                await asyncio.wait_for(slots.acquire(), self.wait_seconds)
            except TimeoutError as exc:
                raise TenantBusy(
                    f"this key's tenant has had {self.limit} requests running for {self.wait_seconds:.0f} s: "
                    "send fewer at once (the server's MEDIASIGHT_TENANT_CONCURRENCY) and retry"
                ) from exc
            try:
                yield
            finally:
                slots.release()
        finally:
            self._users[tenant_id] -= 1
            if not self._users[tenant_id]:  # nobody holds or waits: forget the tenant (bounded memory)
                del self._users[tenant_id], self._slots[tenant_id]

    def tenants(self) -> int:
        """Tenants with a request running or waiting (for tests)."""
        return len(self._slots)
