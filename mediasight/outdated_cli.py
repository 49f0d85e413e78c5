"""`mediasight outdated`: after an upgrade, which analyzers' results in a tenant's archive an older model
made (services.reprocessing.model_versions), and the command that brings them up to date."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from catalog.domain.model_census import AnalyzerCensus, ModelRef
from mediasight.bootstrap import Services
from mediasight.shared_cli import err, out, with_tenant

NOT_COUNTED = (
    "not counted here: an embedding made from an older meaning text (after an upgrade that changed what "
    "labels say, such as their glosses) is embedded again by `mediasight verify --repair`"
)


def model_json(model: ModelRef) -> dict[str, object]:
    return {
        "provider": model.provider,
        "modelName": model.model_name,
        "modelVersion": model.model_version,
        "known": model.known,
    }


def census_json(census: Sequence[AnalyzerCensus]) -> list[dict[str, object]]:
    return [
        {
            "analyzer": c.analyzer,
            "server": model_json(c.server),
            "shots": model_json(c.shots) if c.shots is not None else None,
            "current": c.current,
            "outdated": c.outdated,
            "older": [
                {
                    "provider": m.provider,
                    "modelName": m.model_name,
                    "modelVersion": m.model_version,
                    "assets": n,
                }
                for m, n in sorted(c.older.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
        }
        for c in census
    ]


def print_census(census: Sequence[AnalyzerCensus], console: Console, tenant: str) -> int:
    """One paragraph per analyzer, then what to do; the number of (asset, analyzer) runs to redo."""
    for c in census:
        console.print(f"{c.analyzer}: this server runs {escape(str(c.server))}")
        if c.shots is not None:
            console.print(f"  (a video's shots and their labels: {escape(str(c.shots))})")
        if not c.server.known:
            console.print("  (the provider reports its version only with an answer: runs cannot be judged)")
        console.print(f"  {c.current} assets current, {sum(c.older.values())} made by another model")
        for model, count in sorted(c.older.items(), key=lambda kv: (-kv[1], kv[0])):
            console.print(f"    {count} by {escape(str(model))}")
    todo = sum(c.outdated for c in census)
    if todo == 0:
        console.print("nothing to do: every current run was made by the model this server runs")
    else:
        names = [c.analyzer for c in census if c.outdated]
        console.print(
            f"{todo} runs of {', '.join(names)} are older: `mediasight reprocess --tenant {escape(tenant)} "
            "--outdated --wait` runs them again on those assets only"
        )
    console.print(NOT_COUNTED)
    return todo


def outdated(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option("--tenant", help="Name of the tenant whose archive to check.")],
    analyzer: Annotated[
        list[str] | None,
        typer.Option(
            "--analyzer",
            help="Analyzer to check: an image analyzer, embedding, concept:NAME (repeatable) "
            "[default: the tenant's, its embedding and active concepts].",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print a JSON list: per analyzer the server's model, current, older."),
    ] = False,
) -> None:
    """Which of a tenant's results an older model made than the one this server runs now.

    After an upgrade some analyzers make their results with a new model version (the labels version
    carries the taxonomy's digest, the objects version the calibration's, ...). For each analyzer of the
    tenant, its embedding and its active concepts this prints the model this server runs for it (provider,
    name, version), how many indexed assets' current run that model made, and how many each other model
    made; "nothing to do" when none. A video counts under labels, objects, text and moderation when older
    models read its shots. An embedding made from an older meaning text is `verify --repair`'s.
    `mediasight reprocess --tenant NAME --outdated --wait` then runs only those analyzers on only those
    assets. It reads every indexed asset's current runs (their models, not their findings): a page of 500
    assets at a time, so its time grows with the archive. Exit status 0; 2 for an unknown analyzer.
    """
    from services.reprocessing.requests import ReprocessError

    async def run(services: Services, tenant_id: str) -> int:
        try:
            census = await services.model_versions.census(tenant_id, tuple(analyzer or ()))
        except ReprocessError as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}")
            return 2
        if as_json:
            typer.echo(json.dumps(census_json(census), indent=2))
        else:
            print_census(census, out, tenant)
        return 0

    raise typer.Exit(with_tenant(ctx, tenant, run))
