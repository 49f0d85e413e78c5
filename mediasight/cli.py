"""The `mediasight` command line: the app, its global options, and where each subcommand lives.

tenant, key and profile groups: mediasight.tenant_cli, mediasight.key_cli,
mediasight.profile_cli; reviewer and review groups:
mediasight.review_cli; serve and worker: mediasight.server_cli;
ingest and reprocess: mediasight.assets_cli; outdated: mediasight.outdated_cli;
search and show: mediasight.browse_cli;
init, reindex, verify, faces-sweep, export-schema: mediasight.admin_cli; concept: mediasight.concept_cli.
What they share (console, opening services, tenants by name): mediasight.shared_cli.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mediasight import admin_cli, assets_cli, browse_cli, export_cli, outdated_cli, server_cli, video_cli
from mediasight.concept_cli import concept_app
from mediasight.key_cli import key_app
from mediasight.profile_cli import profile_app
from mediasight.review_cli import review_app, reviewer_app
from mediasight.settings import Settings, default_data_dir
from mediasight.shared_cli import HelpGroup
from mediasight.tenant_cli import tenant_app
from mediasight.webhook_cli import webhook_app

app = typer.Typer(
    help="Mediasight: register images, enrich them with recognizers, search them over GraphQL.",
    no_args_is_help=True,
    cls=HelpGroup,
    add_completion=False,
    rich_markup_mode=None,  # help text is plain: "[default: x]" must not read as markup
)
app.add_typer(tenant_app, name="tenant")
app.add_typer(key_app, name="key")
app.add_typer(webhook_app, name="webhook")
app.add_typer(concept_app, name="concept")
app.add_typer(profile_app, name="profile")
app.add_typer(reviewer_app, name="reviewer")
app.add_typer(review_app, name="review")
app.command()(server_cli.serve)
app.command("worker")(server_cli.worker)
app.command()(assets_cli.ingest)
app.command()(assets_cli.reprocess)
app.command()(outdated_cli.outdated)
app.command()(browse_cli.search)
app.command()(browse_cli.show)
app.command()(export_cli.export)
app.command()(admin_cli.init)
app.command()(admin_cli.reindex)
app.command()(admin_cli.verify)
app.command("faces-sweep")(admin_cli.faces_sweep)
app.command("export-schema")(admin_cli.export_schema)
app.command()(video_cli.video)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="MEDIASIGHT_DATA_DIR",
        help="Folder with the catalog, index, blobs and model cache; one per user, wherever you run the "
        f"command [default: $XDG_DATA_HOME/mediasight, here {default_data_dir()}].",
        show_default=False,
    ),
]


@app.callback()
def main_options(
    ctx: typer.Context,
    data_dir: DataDir = None,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    logging.basicConfig(
        level=log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    ctx.obj = Settings(**overrides)


def main() -> None:
    app()
