"""`mediasight profile ...`: a tenant's export profiles (the mappings exports and webhooks use)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from catalog.domain.export_profile import ExportProfile
from catalog.domain.field_names import DEFAULT_LANGUAGE, LANGUAGES
from catalog.domain.labels.detections import GUESS_BELOW
from mediasight.bootstrap import Services
from mediasight.shared_cli import err, many, print_table, with_tenant
from services.export_formats import FIELDS
from services.exports import ExportError

profile_app = typer.Typer(
    help="Export profiles: named mappings of fields, labels and field-name language (exports, webhooks).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

Tenant = Annotated[str, typer.Option("--tenant", help="Name of the tenant.")]


@profile_app.command("list")
def profile_list(ctx: typer.Context, tenant: Tenant) -> None:
    """The tenant's export profiles."""

    async def run(services: Services, tenant_id: str) -> tuple[ExportProfile, ...]:
        return await services.exports.profiles(tenant_id)

    profiles = with_tenant(ctx, tenant, run)
    table = Table(title=many(len(profiles), "export profile"))
    for column in ("name", "columns", "labels", "min confidence", "human only", "language"):
        table.add_column(column)
    for p in profiles:
        columns = ", ".join(f"{f}={h}" if h else f for f, h in p.columns) or "default"
        table.add_row(
            escape(p.name), escape(columns), escape(", ".join(p.labels) or "all"),
            f"{p.min_confidence:g}", "yes" if p.human_only else "no", p.language,
        )  # fmt: skip
    print_table(
        table, f"No export profiles yet: save one with `mediasight profile save NAME --tenant {tenant}`."
    )


@profile_app.command("save")
def profile_save(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The profile's name (an existing one is replaced).")],
    tenant: Tenant,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            help=f"A CSV column as FIELD or FIELD=Header, in order (repeat). Fields: {', '.join(FIELDS)}.",
        ),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", help="Keep only these machine labels (repeat); default all."),
    ] = None,
    min_confidence: Annotated[
        float,
        typer.Option(
            "--min-confidence",
            help="Leave out machine labels and regions below this (0-100); the default 50 leaves out the "
            "models' guesses, 0 keeps everything.",
        ),
    ] = GUESS_BELOW,
    human_only: Annotated[
        bool, typer.Option("--human-only", help="Only what people wrote: no machine values at all.")
    ] = False,
    language: Annotated[
        str,
        typer.Option(
            "--language",
            help=f"Field names (CSV headers, JSON keys) in {', '.join(LANGUAGES)}; values stay as they are.",
        ),
    ] = DEFAULT_LANGUAGE,
) -> None:
    """Create or replace an export profile; use it with `mediasight export --profile NAME` and webhooks."""
    mapping = tuple((c.split("=", 1)[0], c.split("=", 1)[1] if "=" in c else "") for c in column or ())
    wanted = ExportProfile(name, mapping, tuple(label or ()), min_confidence, human_only, language)

    async def run(services: Services, tenant_id: str) -> ExportProfile:
        try:
            return await services.exports.save_profile(tenant_id, wanted)
        except ExportError as exc:
            err.print(f"[red]{escape(str(exc))}[/] ({exc.code})")
            raise typer.Exit(2) from exc

    saved = with_tenant(ctx, tenant, run)
    err.print(f"saved export profile {saved.name!r} (field names: {saved.language})")


@profile_app.command("delete")
def profile_delete(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The profile to delete.")], tenant: Tenant
) -> None:
    """Delete an export profile (webhooks that use it then send events without metadata, saying why)."""

    async def run(services: Services, tenant_id: str) -> None:
        try:
            await services.exports.delete_profile(tenant_id, name)
        except ExportError as exc:
            err.print(f"[red]{escape(str(exc))}[/]")
            raise typer.Exit(2) from exc

    with_tenant(ctx, tenant, run)
    err.print(f"deleted export profile {name!r}")
