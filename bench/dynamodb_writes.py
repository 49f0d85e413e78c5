"""Bulk writes on the scale-out catalog: BatchWriteItem puts and a tenant purge on DynamoDB Local.

--items items of one tenant (about 200 bytes each, in --partitions partitions as an archive's assets are)
are put with `batch_put`, then the tenant's data is deleted with `delete_tenant_data` (one Scan finds the
tenant's keys, `batch_delete` removes them). Per round: items/s of each, and the CPU of this process per
1,000 items (DynamoDB Local's own CPU is not in it), with the load average. DynamoDB Local runs in a private
network namespace (root), as in the contract tests. Last line:
    dynamodb_writes items=N put_items_per_s=.. put_cpu_ms_per_1000=.. purge_items_per_s=..
      purge_cpu_ms_per_1000=.. load=..
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

import mediasight  # noqa: F401 - first: limits BLAS threads before numpy loads
from bench.backfill import dynamodb_local_table
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.catalog import DynamoCatalog
from catalog.dynamodb.requests import batch_put
from catalog.dynamodb.values import Item, s


def tenant_items(tenant_id: str, count: int, partitions: int) -> list[Item]:
    return [
        {
            **ddb.key(ddb.result_pk(tenant_id, f"asset-{i % partitions:06d}"), f"BENCH#{i:08d}"),
            "payload": s("x" * 160),
        }
        for i in range(count)
    ]


async def measure(client: Any, table: str, args: argparse.Namespace) -> dict[str, list[float]]:
    catalog = DynamoCatalog(client, table)
    out: dict[str, list[float]] = {k: [] for k in ("put", "put_cpu", "purge", "purge_cpu")}
    for round_ in range(args.rounds):
        tenant = (await catalog.create_tenant(f"bench-{round_}")).id
        items = tenant_items(tenant, args.items, args.partitions)
        wall, cpu = time.perf_counter(), time.process_time()
        await batch_put(client, table, items)
        out["put"].append(args.items / (time.perf_counter() - wall))
        out["put_cpu"].append((time.process_time() - cpu) * 1e6 / args.items)
        wall, cpu = time.perf_counter(), time.process_time()
        deleted = await catalog.delete_tenant_data(tenant)
        out["purge"].append(deleted / (time.perf_counter() - wall))
        out["purge_cpu"].append((time.process_time() - cpu) * 1e6 / deleted)
        assert deleted >= args.items, f"the purge found {deleted} of {args.items} items"
        print(
            f"round {round_ + 1}: put {out['put'][-1]:,.0f} items/s "
            f"({out['put_cpu'][-1]:.0f} ms CPU per 1000), purge {out['purge'][-1]:,.0f} items/s "
            f"({out['purge_cpu'][-1]:.0f} ms CPU per 1000, Scan included)"
        )
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=20_000, help="items written and purged (default 20000)")
    parser.add_argument("--partitions", type=int, default=2_000, help="partitions they are in (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each measurement (median)")
    args = parser.parse_args()
    async with dynamodb_local_table() as (client, table):
        out = await measure(client, table, args)

    def median(name: str) -> str:
        return f"{statistics.median(out[name]):.0f}"

    print(
        f"dynamodb_writes items={args.items} put_items_per_s={median('put')} "
        f"put_cpu_ms_per_1000={median('put_cpu')} purge_items_per_s={median('purge')} "
        f"purge_cpu_ms_per_1000={median('purge_cpu')} load={os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
