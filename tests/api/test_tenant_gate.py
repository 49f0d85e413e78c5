"""Per-tenant turns: one tenant's flood waits its turn; another tenant never waits behind it."""

from __future__ import annotations

import asyncio

import pytest

from api.tenant_gate import TenantBusy, TenantGate


async def test_a_tenant_runs_at_most_its_limit_and_others_are_not_held() -> None:
    gate = TenantGate(2)
    running = peak = 0
    release = asyncio.Event()

    async def flood() -> None:
        nonlocal running, peak
        async with gate.turn("noisy"):
            running += 1
            peak = max(peak, running)
            await release.wait()
            running -= 1

    tasks = [asyncio.create_task(flood()) for _ in range(6)]
    await asyncio.sleep(0.01)
    assert (running, peak) == (2, 2)  # four wait, costing nothing
    async with asyncio.timeout(0.5):  # another tenant gets in at once
        async with gate.turn("quiet"):
            pass
    release.set()
    await asyncio.gather(*tasks)
    assert peak == 2
    assert gate.tenants() == 0  # nothing remembered once idle


async def test_a_request_that_waits_too_long_is_refused_and_forgotten() -> None:
    gate = TenantGate(1, wait_seconds=0.05)
    hold = asyncio.Event()

    async def holder() -> None:
        async with gate.turn("t"):
            await hold.wait()

    task = asyncio.create_task(holder())
    await asyncio.sleep(0.01)
    with pytest.raises(TenantBusy, match="MEDIASIGHT_TENANT_CONCURRENCY"):
        async with gate.turn("t"):
            pass
    hold.set()
    await task
    assert gate.tenants() == 0


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        TenantGate(0)
