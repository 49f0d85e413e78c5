"""A real HTTP receiver on 127.0.0.1 (uvicorn + starlette) that verifies Standard Webhooks signatures, and can
be stopped and started again on the same port (a receiver that is down for a while)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Receiver:
    secret: str
    port: int = field(default_factory=free_port)
    received: list[dict[str, Any]] = field(default_factory=list)  # verified payloads, with webhook-id
    rejected: int = 0
    hosts: list[str] = field(default_factory=list)  # the Host header of each verified message
    status: int = 204  # what it answers a verified message
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        try:
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.rejected += 1
            return Response(status_code=401)
        self.received.append({"id": request.headers["webhook-id"], "payload": payload})
        self.hosts.append(request.headers["host"])
        return Response(status_code=self.status)

    async def start(self) -> None:
        app = Starlette(routes=[Route("/hooks", self._hook, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:  # noqa: ASYNC110 - uvicorn offers a flag, no event
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._server, self._task = None, None
