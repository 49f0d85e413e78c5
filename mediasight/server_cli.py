"""`mediasight serve` and `mediasight worker`: the long-running processes."""

from __future__ import annotations

import asyncio
import functools
import signal
from typing import Annotated

import typer
from rich.markup import escape

from mediasight.bootstrap import Services
from mediasight.processes import background, freeze_startup_objects, serving
from mediasight.settings import Settings
from mediasight.shared_cli import err, with_services


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(help="Interface to bind (MEDIASIGHT_HOST) [default: 127.0.0.1].", show_default=False),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (MEDIASIGHT_PORT) [default: 8000].", show_default=False)
    ] = None,
    worker: Annotated[
        bool,
        typer.Option(
            help="Run the indexer worker (and S3 event ingest, when configured) in this process too."
        ),
    ] = True,
) -> None:
    """Serve the GraphQL API (GraphiQL at /graphql in a browser) and run the indexer worker.

    It uses the data dir of `mediasight --data-dir` (default: $XDG_DATA_HOME/mediasight, i.e.
    ~/.local/share/mediasight), and prints it when it starts: run `tenant create` and `ingest` with the
    same data dir.
    """
    import uvicorn

    from api.app import create_app

    settings: Settings = ctx.obj
    bind_host, bind_port = host or settings.host, port or settings.port
    err.print(f"GraphiQL: http://{bind_host}:{bind_port}/graphql   data dir: {settings.data_dir.resolve()}")
    # The app opens its services in its lifespan: cloud clients must belong to uvicorn's event loop.
    app = create_app(open_services=functools.partial(serving, settings, worker=worker))
    uvicorn.run(app, host=bind_host, port=bind_port, log_config=None)


def worker(ctx: typer.Context) -> None:
    """Run the indexer worker alone: renditions, recognition and indexing of queued assets.

    With MEDIASIGHT_S3_EVENTS_QUEUE set it also registers the objects S3 announces on that queue, as
    assets of the tenants MEDIASIGHT_S3_EVENTS_TENANTS maps their bucket/prefix to.
    """

    async def run(services: Services) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            work = await background(services)
        except ValueError as exc:  # a bad mapping, an unknown tenant or queue
            err.print(f"[red]S3 event ingest: {escape(str(exc))}[/]")
            raise typer.Exit(2) from exc
        freeze_startup_objects()
        await work.run(stop)

    with_services(ctx, run)
