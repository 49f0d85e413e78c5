"""Abusive clients against one server: does another tenant's simple query stay fast?

Starts `mediasight serve` on 127.0.0.1 (a fresh data dir, two tenants), times one tenant's simple search
alone, then again while N abusive clients (separate processes, other tenant's key) loop over the requests
that used to stall the server: 12 MB and 4 MB variables lists, 1 MB of tiny JSON values, a list just past
the list cap, the largest list the caps let through (coerced, then refused by the resolver), a query of
1,500 duplicate fields and a query padded with 20,000 characters of comment. Loopback only, bounded by
--seconds. The abusive processes run at nice 10 (real ones would not share the server's cores); the
server's CPU time during the abuse is printed too. `--repo PATH` serves from another checkout (an older
commit, for a before/after).

    python -m bench.abuse --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

VICTIM_QUERY = '{ search(filter: {labels: ["Cat"]}, first: 5) { totalCount edges { node { id } } } }'
SEARCH = "query ($f: SearchFilter) { search(filter: $f) { totalCount } }"


def _thresholds(n: int) -> bytes:
    return json.dumps(
        {"query": SEARCH, "variables": {"f": {"labelConfidence": [{"label": "Cat", "minConfidence": 1}] * n}}}
    ).encode()


def abusive_bodies() -> dict[str, bytes]:
    tiny = "[" + ",".join(["1"] * 400_000) + "]"
    return {
        "12 MB list (300k)": _thresholds(300_000),
        "4 MB list (100k)": _thresholds(100_000),
        "1 MB of tiny values": f'{{"query": "{{ __typename }}", "variables": {{"v": {tiny}}}}}'.encode(),
        "5,001 asset IDs": json.dumps(
            {
                "query": "query ($ids: [ID!]) { reprocess(assetIds: $ids) { error { code } } }",
                "variables": {"ids": ["0190a0b0-0000-7000-8000-000000000000"] * 5_001},
            }
        ).encode(),
        "99 thresholds (allowed)": _thresholds(99),
        # NONCE: a new text each time, as an attacker would send (validation is cached per text)
        "1,500 duplicate fields": json.dumps({"query": "{ " + "__typename " * 1_500 + "}#NONCE"}).encode(),
        "1,500 unknown fields": json.dumps({"query": "{ " + "nope " * 1_500 + "}#NONCE"}).encode(),
        "20k-char comment": json.dumps({"query": "{ __typename }\n#" + "x" * 20_000}).encode(),
    }


def _request(body: bytes, key: str, keep_alive: bool) -> bytes:
    return (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    ).encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    fields = dict(line.lower().split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)
    return head, await reader.readexactly(int(fields.get(b"content-length", b"0")))


async def _abuse(
    port: int, key: str, bodies: dict[str, bytes], names: list[str], until: float
) -> dict[str, Counter[str]]:
    """Loop over the abusive requests until `until`; per kind, how many got which HTTP status."""
    sent = {name: Counter[str]() for name in names}
    i = 0
    while time.monotonic() < until:
        name = names[i % len(names)]
        i += 1
        body = bodies[name].replace(b"#NONCE", f"#{os.getpid()}-{i}".encode())
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(_request(body, key, keep_alive=False))
            head, _ = await asyncio.wait_for(
                _read_response(reader), timeout=max(0.1, until - time.monotonic())
            )
            writer.close()
            status = head.split(b" ", 2)[1].decode()
        except TimeoutError:
            status = "unfinished"  # the run ended while this one was in flight
        except (OSError, EOFError, asyncio.IncompleteReadError):
            status = "closed"  # a server may close on a refused body before reading it all; that is fine
        sent[name][status] += 1
    return sent


def _abuser(
    port: int,
    key: str,
    bodies: dict[str, bytes],
    names: list[str],
    until_wall: float,
    out: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    # Real abusers run on their own machines: here, on the server's cores, they yield to it (building and
    # copying 12 MB bodies in six processes would otherwise measure the clients, not the server).
    os.nice(10)
    until = time.monotonic() + (until_wall - time.time())
    out.put(asyncio.run(_abuse(port, key, bodies, names, until)))


async def victim_latencies(port: int, key: str, seconds: float, gap: float = 0.02) -> list[float]:
    """The simple search over one keep-alive connection, one at a time, every `gap` seconds."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = _request(json.dumps({"query": VICTIM_QUERY}).encode(), key, keep_alive=True)
    out = []
    until = time.monotonic() + seconds
    try:
        while time.monotonic() < until:
            t0 = time.perf_counter()
            writer.write(request)
            head, answer = await _read_response(reader)
            out.append((time.perf_counter() - t0) * 1000)
            assert head.startswith(b"HTTP/1.1 200") and b'"errors"' not in answer, answer[:300]
            await asyncio.sleep(gap)
    finally:
        writer.close()
    return out


def _tenants(data_dir: Path, python: str, cwd: Path) -> tuple[str, str]:
    keys = []
    for name in ("victim", "attacker"):
        done = subprocess.run(
            [python, "-m", "mediasight", "--data-dir", str(data_dir), "tenant", "create", name],
            cwd=cwd, capture_output=True, text=True, check=True,
        )  # fmt: skip
        keys.append(done.stdout.strip().splitlines()[-1])
    return keys[0], keys[1]


async def _wait_listening(port: int, key: str) -> None:
    for _ in range(300):
        try:
            await victim_latencies(port, key, 0.0)
            return
        except (OSError, EOFError, asyncio.IncompleteReadError):
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def summary(values: list[float]) -> str:
    return (
        f"n={len(values)} p50={np.percentile(values, 50):.1f} ms p95={np.percentile(values, 95):.1f} ms "
        f"max={max(values):.1f} ms"
    )


async def run(args: argparse.Namespace, repo: Path) -> tuple[list[float], list[float]]:
    venv_python = repo / ".venv/bin/python"
    python = str(venv_python) if venv_python.exists() else sys.executable
    port = int(args.port)
    with tempfile.TemporaryDirectory(prefix="mediasight-abuse-") as tmp:
        data_dir = Path(tmp) / "data"
        victim, attacker = _tenants(data_dir, python, repo)
        env = {**os.environ, "MEDIASIGHT_SEMANTIC_SEARCH": "false"}
        server = subprocess.Popen(  # noqa: ASYNC220 - started once, before any timing
            [python, "-m", "mediasight", "--log-level", "WARNING", "--data-dir", str(data_dir), "serve",
             "--port", str(port), "--no-worker"],
            cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            await _wait_listening(port, victim)
            alone = await victim_latencies(port, victim, args.seconds / 2)
            print(f"alone:                {summary(alone)}   {load()}", flush=True)
            bodies = abusive_bodies()  # built once, before the clock runs (the children inherit them)
            names = list(bodies)
            cpu_before, until = cpu_seconds(server.pid), time.time() + args.seconds
            fork = multiprocessing.get_context("fork")  # the children share the built bodies, unpickled
            results: multiprocessing.Queue = fork.Queue()  # type: ignore[type-arg]
            abusers = [
                fork.Process(
                    target=_abuser, args=(port, attacker, bodies, names[i:] + names[:i], until, results)
                )
                for i in range(args.abusers)
            ]
            for p in abusers:
                p.start()
            await asyncio.sleep(min(1.0, args.seconds / 4))  # let the abuse get going
            attacked = await victim_latencies(port, victim, max(0.5, until - time.time() - 0.5))
            sent: dict[str, Counter[str]] = {}
            for p in abusers:
                for name, statuses in results.get(timeout=args.seconds + 60).items():
                    sent.setdefault(name, Counter()).update(statuses)
                p.join()
            cpu = cpu_seconds(server.pid) - cpu_before
            print(f"with {args.abusers} abusive clients: {summary(attacked)}   {load()}", flush=True)
            print(f"server CPU during the abuse: {cpu:.1f} s in {args.seconds:.0f} s")
            print("abusive requests sent (HTTP status: count):")
            for name, statuses in sent.items():
                print(f"  {name:<26} " + ", ".join(f"{s}: {c}" for s, c in sorted(statuses.items())))
            return alone, attacked
        finally:
            server.terminate()
            server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the abuse lasts")
    parser.add_argument("--abusers", type=int, default=6, help="abusive client processes")
    parser.add_argument("--repo", default=".", help="serve from this checkout (its .venv)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 [default: a free one]")
    args = parser.parse_args()
    if not args.port:
        from tests.e2e.conftest import free_port

        args.port = free_port()
    _, attacked = asyncio.run(run(args, Path(args.repo).resolve()))
    print(f"abuse p95_ms={np.percentile(attacked, 95):.1f} p50_ms={np.percentile(attacked, 50):.1f}")


if __name__ == "__main__":
    main()
