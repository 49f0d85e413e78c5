"""`mediasight export`: write exports of a tenant's assets (some, or all of them) into a folder."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from catalog.domain.ports import SearchQuery
from mediasight.bootstrap import Services
from mediasight.ingest_files import progress_bar
from mediasight.shared_cli import err, many, with_tenant
from services.exports import MAX_EXPORT_IDS, ExportError, ExportFormat

PAGE = 100
CliFormat = enum.StrEnum("CliFormat", {f.name: f.value for f in ExportFormat} | {"CSV": "csv"})  # type: ignore[misc]


MAX_SEARCH_EXPORT = 100_000


async def _searched(services: Services, tenant_id: str, query: SearchQuery) -> list[str]:
    """Every asset a search finds (its pages walked), at most MAX_SEARCH_EXPORT."""
    out: list[str] = []
    after: str | None = None
    while len(out) < MAX_SEARCH_EXPORT:
        page = await services.index.search(tenant_id, dataclasses.replace(query, first=PAGE, after=after))
        out.extend(h.asset_id for h in page.hits)
        if not page.has_next or page.end_cursor is None:
            break
        after = page.end_cursor
    return out[:MAX_SEARCH_EXPORT]


async def _asset_ids(
    services: Services, tenant_id: str, ids: list[str], every: bool, search: SearchQuery | None
) -> list[str]:
    if search is not None:
        return await _searched(services, tenant_id, search)
    if not every:
        return ids
    out: list[str] = []
    after: str | None = None
    while True:
        page = await services.catalog.list_assets(tenant_id, after=after, limit=PAGE)
        out.extend(a.id for a in page if a.in_archive)
        if len(page) < PAGE:
            return out
        after = page[-1].id


async def _csv(
    services: Services, tenant_id: str, ids: list[str], columns: list[str], out: Path, profile: str | None
) -> int:
    mapping = [(c.split("=", 1)[0], c.split("=", 1)[1] if "=" in c else "") for c in columns]
    parts: list[str] = []
    with progress_bar(err) as progress:
        task = progress.add_task("exporting", total=len(ids))
        for start in range(0, max(len(ids), 1), MAX_EXPORT_IDS):  # no assets: the header alone
            chunk = ids[start : start + MAX_EXPORT_IDS]
            try:
                text = await services.exports.csv(tenant_id, chunk, mapping, profile)
            except ExportError as exc:
                err.print(f"[red]{exc}[/red]")
                return 1
            parts.append(text if not parts else text.split("\n", 1)[1])  # one header row
            progress.advance(task, len(chunk))
    target = out / "export.csv"
    await asyncio.to_thread(target.write_text, "".join(parts) or "", encoding="utf-8")
    err.print(f"{many(len(ids), 'row')} written to {target}")
    return 0


def export(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option("--tenant", help="Name of the tenant whose assets to export.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write into (created if missing).")],
    fmt: Annotated[
        CliFormat,
        typer.Option(
            "--format",
            help="xmp: a sidecar per asset; image: a copy of the original with the metadata embedded (the "
            "original is never changed); json: the metadata as JSON; annotations: W3C Web Annotations of "
            "the boxes (IIIF); csv: one export.csv of all, see --column.",
        ),
    ] = CliFormat.XMP,  # type: ignore[attr-defined]
    column: Annotated[
        list[str] | None,
        typer.Option("--column", help="csv: a column as FIELD or FIELD=Header, in order (repeat)."),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="A tenant's export profile: its filters, and its csv columns."),
    ] = None,
    asset: Annotated[list[str] | None, typer.Option("--asset", help="An asset ID (repeat for more).")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every asset of the tenant.")] = False,
    query: Annotated[
        str | None,
        typer.Option(
            "--query", help="Every asset this search finds (words: labels, captions, keywords, text)."
        ),
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="Every asset with this label (repeat: any of them).")
    ] = None,
) -> None:
    """Export assets' metadata: IPTC Core and Extension, keywords with their hierarchy, faces and objects as
    image regions, machine values marked with their model (files named <assetId>_<filename>[.xmp|.json])."""
    searching = query is not None or bool(label)
    if sum((bool(asset), every, searching)) != 1:
        err.print(
            "[red]name assets with --asset ID, export a search with --query/--label, or all with --all[/red]"
        )
        raise typer.Exit(2)
    search = SearchQuery(text=query, labels=tuple(label or ())) if searching else None

    if out.exists() and not out.is_dir():
        err.print(f"[red]--out {escape(str(out))} is a file[/red]: name a folder (it is made if missing)")
        raise typer.Exit(2)
    if column and fmt != "csv":
        err.print("[red]--column is for --format csv[/red]: the other formats write every field")
        raise typer.Exit(2)

    async def run(services: Services, tenant_id: str) -> int:
        try:  # a profile the tenant lacks fails every asset alike: say it once, before anything is made
            await services.exports.profile(tenant_id, profile)
        except ExportError as exc:
            err.print(f"[red]{escape(str(exc))}[/red]: `mediasight profile list` names the tenant's profiles")
            return 2
        ids = await _asset_ids(services, tenant_id, list(asset or ()), every, search)
        await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
        if fmt == "csv":
            return await _csv(services, tenant_id, ids, column or [], out, profile)
        failed = 0
        with progress_bar(err) as progress:
            task = progress.add_task("exporting", total=len(ids))
            for asset_id in ids:
                try:
                    made = await services.exports.export(tenant_id, asset_id, ExportFormat(fmt), profile)
                except ExportError as exc:
                    err.print(f"[red]{asset_id}: {exc}[/red]")
                    failed += 1
                else:
                    target = out / f"{asset_id}_{made.filename}"
                    await asyncio.to_thread(target.write_bytes, made.data)
                progress.advance(task)
        err.print(f"{len(ids) - failed} exported to {out}" + (f", {failed} failed" if failed else ""))
        return 1 if failed else 0

    raise typer.Exit(with_tenant(ctx, tenant, run))
