"""`mediasight search` and `mediasight show`: look at a tenant's results without writing GraphQL.

Both go through the service layer as the API does (the search index for hits, the catalog for assets and
their current runs), on this data dir; no server needs to run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from catalog.domain.clock import offset_text
from catalog.domain.embedded import EmbeddedMetadata
from catalog.domain.ids import is_uuid
from catalog.domain.labels.detections import said
from catalog.domain.labels.order import top_labels
from catalog.domain.metadata import current_labels, embedded_of, taken_at, video_findings
from catalog.domain.model import Asset, Label, RecognitionResult
from catalog.domain.ports import SearchHit, UnsupportedSearch
from mediasight.bootstrap import Services
from mediasight.shared_cli import err, many, out, print_table, with_tenant
from services.search_query import InvalidSearch, SearchSpec, as_asked

TOP_LABELS = 3
MAX_FIRST = 100

Tenant = Annotated[str, typer.Option("--tenant", help="Name of the tenant whose assets to look at.")]


def _labels(labels: Sequence[Label]) -> str:
    """'Cat 93.4, Missile? 42.0': a model's guess (under 50) with a question mark, as the pages show it."""
    return ", ".join(f"{said(label)} {label.confidence:.1f}" for label in labels)


def _top_labels(results: Mapping[str, RecognitionResult]) -> str:
    """What the asset shows, as the API's topLabels says it: the specific labels, not their parents."""
    return _labels(top_labels(current_labels(results), TOP_LABELS))


def _why(hit: SearchHit) -> str:
    """Why a hit scored, as the API's edge says it (matches, textMatch, meaning) and the search page shows
    it: 'Person 98.0 as human; meaning 0.73', 'words'."""
    parts = [
        f"{said(Label(m.label, m.confidence))} {m.confidence:.1f}"
        + ("" if m.via.casefold() == m.label.casefold() else f" as {m.via}")
        for m in hit.matches
    ]
    if hit.text_match:
        parts.append("words")  # in the filename, names, the image's text or label names
    if hit.meaning is not None:
        parts.append(f"meaning {hit.meaning:.2f}")
    return "; ".join(parts)


async def _nothing_found(services: Services, tenant_id: str, spec: SearchSpec) -> str:
    """'No assets match.'; for a label search that leaves out guesses and would find some with them, how
    many and the option that shows them: 'No asset is surely labelled Missile; 2 have it as a guess: ...'."""
    if not spec.labels or spec.include_guesses:
        return "No assets match."
    wider = dataclasses.replace(spec, include_guesses=True, first=1)
    request = await services.queries.with_meaning(await services.queries.build(tenant_id, wider))
    page = await services.index.search(tenant_id, request)
    if not page.total:
        return "No assets match."
    matched = [m.label for hit in page.hits for m in hit.matches]
    names = escape(" or ".join(dict.fromkeys(matched or spec.labels)))
    if spec.text:
        return f"No assets match; {many(page.total, 'asset')} would with {names} as a guess: add --guesses."
    have = "1 has" if page.total == 1 else f"{page.total:,} have"
    return f"No asset is surely labelled {names}; {have} it as a guess: add --guesses to see them."


def _matching(total: int) -> str:
    return f"{total} asset matches" if total == 1 else f"{total} assets match"


def search(
    ctx: typer.Context,
    tenant: Tenant,
    query: Annotated[
        str | None,
        typer.Argument(
            help="Words: labels and their parents, filenames, names, text; and their meaning. A photo's tone "
            '("black and white photo of a ship", "sepia", "colour photo") keeps only photos of that tone.'
        ),
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="Assets with any of these labels (repeatable).")
    ] = None,
    min_confidence: Annotated[
        float, typer.Option("--min-confidence", min=0, max=100, help="Lowest label confidence that counts.")
    ] = 0.0,
    guesses: Annotated[
        bool,
        typer.Option(
            "--guesses",
            help="--label matches a model's guesses (labels under 50) too; they print with a '?'.",
        ),
    ] = False,
    first: Annotated[int, typer.Option("--first", min=1, max=MAX_FIRST, help="How many hits to show.")] = 20,
) -> None:
    """Search a tenant's assets as the GraphQL `search` does; prints a table: ID, filename, top labels,
    score (most relevant first) and why it scored (a label that matched, as what the query asked for;
    words found; its meaning's similarity)."""
    if not query and not label:
        err.print("[red]give a QUERY, a --label, or both[/]: e.g. `mediasight search cat --tenant acme`")
        raise typer.Exit(2)

    async def run(services: Services, tenant_id: str) -> int:
        spec = SearchSpec(
            text=query,
            labels=label or (),
            min_confidence=min_confidence,
            include_guesses=guesses,
            first=first,
        )
        try:  # the same query building as the API's: validation, synonyms, meaning
            request = await services.queries.with_meaning(await services.queries.build(tenant_id, spec))
            page = as_asked(await services.index.search(tenant_id, request), spec, request)
        except (InvalidSearch, UnsupportedSearch) as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}")
            return 2
        ids = [hit.asset_id for hit in page.hits]
        assets = await services.catalog.get_assets(tenant_id, ids)
        results = await services.catalog.get_results(tenant_id, ids)
        table = Table(title=_matching(page.total))
        table.add_column("asset ID", no_wrap=True, min_width=36)
        for column in ("filename", "top labels", "score", "why"):
            table.add_column(column)
        for hit in page.hits:
            asset = assets.get(hit.asset_id)
            name = asset.filename if asset else "(deleted)"
            top = _top_labels(results.get(hit.asset_id, {}))
            table.add_row(hit.asset_id, escape(name), escape(top), f"{hit.score:.1f}", escape(_why(hit)))
        print_table(table, await _nothing_found(services, tenant_id, spec) if not page.hits else "")
        if page.has_next:
            err.print(f"showing the first {len(page.hits)}; pass --first (up to {MAX_FIRST}) for more")
        return 0

    raise typer.Exit(with_tenant(ctx, tenant, run))


def show(
    ctx: typer.Context,
    asset_id: Annotated[
        str, typer.Argument(metavar="ASSET_ID", help="The asset's ID (from ingest or search).")
    ],
    tenant: Tenant,
) -> None:
    """Everything the catalog holds on one asset: its file and other names, what its embedded metadata
    says (title, caption, keywords, creators, place), labels, faces, text, moderation, a video's shots,
    renditions (where their files are) and its recognition runs (the latest 100)."""
    if not is_uuid(asset_id):
        err.print(f"[red]{escape(asset_id)} is not an asset ID[/] (they look like 01a2494d-9f0a-701f-...)")
        raise typer.Exit(2)

    async def run(services: Services, tenant_id: str) -> int:
        asset = await services.catalog.get_asset(tenant_id, asset_id)
        if asset is None:
            err.print(f"[red]no asset {asset_id} in tenant {escape(tenant)!r}[/]")
            return 1
        current = (await services.catalog.get_results(tenant_id, [asset_id])).get(asset_id, {})
        runs = (await services.catalog.runs_of(tenant_id, [asset_id], limit=100)).get(asset_id, [])
        persons = await _face_names(services, tenant_id, asset_id)
        _print_asset(services, asset, current, runs, persons)
        return 0

    raise typer.Exit(with_tenant(ctx, tenant, run))


def _print_embedded(found: EmbeddedMetadata | None) -> None:
    """What the file (or its sidecar) said of itself, as a cataloguer wrote it."""
    if found is None or (found.empty and not found.problem):
        return
    place = ", ".join(p for p in (found.city, found.country) if p)
    for name, value in (
        ("title", found.title),
        ("caption", found.caption),
        ("keywords", "; ".join(found.keywords)),
        ("keyword paths", "; ".join(" › ".join(path) for path in found.hierarchy)),
        ("creators", "; ".join(found.creators)),
        ("credit", found.credit),
        ("copyright", found.copyright),
        ("place", place),
        ("persons", "; ".join(found.persons)),
    ):
        if value:
            out.print(f"[bold]{name}[/]  {escape(value)}")
    if found.problem:
        out.print(f"[bold]embedded metadata[/]  [red]{escape(found.problem)}[/]")


async def _face_names(services: Services, tenant_id: str, asset_id: str) -> dict[int, str]:
    linked = await services.faces.face_persons(tenant_id, [asset_id])
    persons = await services.faces.persons(tenant_id, list(linked.values()))
    return {ref.face_index: persons[pid].name for ref, pid in linked.items() if pid in persons}


def _print_asset(
    services: Services,
    asset: Asset,
    current: dict[str, RecognitionResult],
    runs: list[RecognitionResult],
    persons: dict[int, str],
) -> None:
    out.print(f"[bold]{escape(asset.filename)}[/]  {asset.id}")
    size = f"{asset.media_type}, {asset.width}×{asset.height}, {asset.size_bytes:,} bytes"
    out.print(f"  {size}; {asset.status.value}" + (f": {escape(asset.error)}" if asset.error else ""))
    out.print(f"  registered {asset.created_at:%Y-%m-%d %H:%M:%S} UTC")
    out.print(f"  original: {services.blobs.location(asset.blob_key)}")
    if taken := taken_at(asset, current):
        found = embedded_of(current)
        partial = found.captured_partial if found is not None and asset.captured_at is None else ""
        out.print(f"  captured {partial or f'{taken:%Y-%m-%d %H:%M:%S}{offset_text(taken)}'}")
    if asset.other_filenames:
        out.print(f"  also ingested as {escape(', '.join(asset.other_filenames))}")
    for rendition in asset.renditions:
        where = services.blobs.location(rendition.blob_key)
        out.print(f"  {rendition.kind} {rendition.width}×{rendition.height}: {where}")
    _print_embedded(embedded_of(current))
    video = video_findings(current)
    if video is not None:
        shots = ", ".join(f"{s.start_timecode} {_labels(s.shown_labels()[:2])}" for s in video.segments[:8])
        more = f" (+{len(video.segments) - 8} more)" if len(video.segments) > 8 else ""
        length = f"{video.info.duration:.1f} s, {many(len(video.segments), 'shot')}"
        out.print(f"[bold]video[/]  {length}: {escape(shots)}{more}")
    # every analyzer's labels merged, with the human verdicts, the specific first (as the API shows them)
    out.print(f"[bold]labels[/]  {escape(_labels(current_labels(current))) or '(none)'}")
    faces = current.get("faces")
    for index, face in enumerate(faces.findings.faces if faces else ()):
        box = face.box
        who = persons.get(index, "unnamed")
        out.print(
            f"[bold]face {index}[/]  {escape(who)}, {face.confidence:.1f}%, "
            f"box left {box.left:.2f} top {box.top:.2f} width {box.width:.2f} height {box.height:.2f}"
        )
    text = current.get("text")
    lines = [t.text for t in (text.findings.text if text else ()) if t.type == "LINE"]
    out.print(f"[bold]text[/]  {escape(' / '.join(lines)) if lines else '(none)'}")
    moderation = current.get("moderation")
    flagged = ", ".join(
        f"{m.name} {m.confidence:.1f}" for m in (moderation.findings.moderation if moderation else ())
    )
    out.print(f"[bold]moderation[/]  {escape(flagged) or '(none)'}")
    table = Table(title="runs (newest first)")
    table.add_column("run", no_wrap=True, min_width=36)
    for column in ("analyzer", "provider", "model", "started", "status"):
        table.add_column(column)
    for run in runs:
        started = f"{run.created_at:%Y-%m-%d %H:%M:%S}" if run.created_at else ""
        status = run.status.value + (f": {run.error}" if run.error else "")
        model = f"{run.model_name} {run.model_version}"
        table.add_row(run.id, run.analyzer, run.provider, escape(model), started, escape(status))
    print_table(table, "[bold]runs[/]  (none yet)")
