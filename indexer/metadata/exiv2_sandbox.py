"""exiv2 in a child process (indexer.metadata.exiv2_child) with a timeout, so that a hostile file costs a
restarted child, never the worker: blocking calls, for the CPU pool. Failures are typed errors."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from typing import Any

from catalog.domain.embedded import MetadataError, MetadataTimeout
from indexer.metadata.exiv2_child import HEADER

__all__ = ["Exiv2Sandbox", "MetadataError", "MetadataTimeout"]

MAX_METADATA_INPUT = 512 << 20  # larger files are refused before they reach exiv2


class Exiv2Sandbox:
    """One exiv2 child, started on first use, one request at a time (they take milliseconds)."""

    def __init__(self, *, timeout: float = 10.0, command: tuple[str, ...] = ()) -> None:
        self._timeout = timeout
        self._command = list(command) or [sys.executable, "-m", "indexer.metadata.exiv2_child"]
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The running child's process ID (None before the first request, or after a failure)."""
        child = self._child
        return child.pid if child is not None and child.poll() is None else None

    def request(self, header: dict[str, Any], data: bytes, what: str) -> tuple[dict[str, Any], bytes]:
        """Send one request; MetadataError if exiv2 refused it, the child died or it took too long."""
        if len(data) > MAX_METADATA_INPUT:
            raise MetadataError(f"{what} is over {MAX_METADATA_INPUT >> 20} MiB: its metadata is not handled")
        with self._lock:
            reply, payload = self._ask(header, data, what)
        if "error" in reply:
            raise MetadataError(f"exiv2 could not handle {what}: {reply['error']}")
        return reply, payload

    def _ask(self, header: dict[str, Any], data: bytes, what: str) -> tuple[dict[str, Any], bytes]:
        child = self._start()
        assert child.stdin is not None
        text = json.dumps(header).encode()
        try:
            child.stdin.write(HEADER.pack(len(text)) + text + HEADER.pack(len(data)) + data)
            child.stdin.flush()
            deadline = time.monotonic() + self._timeout
            reply: dict[str, Any] = json.loads(self._frame(child, deadline))
            return reply, self._frame(child, deadline)
        except MetadataTimeout:
            self._stop()
            raise MetadataTimeout(f"exiv2 took over {self._timeout:g} s on {what}: stopped") from None
        except (OSError, EOFError, ValueError) as exc:
            try:
                code: int | None = child.wait(timeout=1)  # closed its end: it is ending, or hung
            except subprocess.TimeoutExpired:
                code = None
            self._stop()
            how = f"exit status {code}" if code is not None else type(exc).__name__
            raise MetadataError(f"the exiv2 process stopped on {what} ({how})") from exc

    def _frame(self, child: subprocess.Popen[bytes], deadline: float) -> bytes:
        return self._receive(child, HEADER.unpack(self._receive(child, HEADER.size, deadline))[0], deadline)

    @staticmethod
    def _receive(child: subprocess.Popen[bytes], size: int, deadline: float) -> bytes:
        assert child.stdout is not None
        fd = child.stdout.fileno()
        chunks: list[bytes] = []
        while size:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise MetadataTimeout
            chunk = os.read(fd, min(size, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _start(self) -> subprocess.Popen[bytes]:
        if self._child is None or self._child.poll() is not None:
            self._stop()
            self._child = subprocess.Popen(
                self._command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                bufsize=0,
            )
        return self._child

    def _stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if child.poll() is None:
            child.kill()
            child.wait()
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()

    def close(self) -> None:
        with self._lock:
            self._stop()
