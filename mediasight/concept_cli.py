"""`mediasight concept ...`: a tenant's custom concepts, from examples to a label on the archive."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from catalog.domain.concepts.model import (
    Concept,
    ConceptError,
    ConceptVersion,
    ExampleSource,
    VersionStatus,
)
from catalog.domain.model import BatchStatus, ReprocessBatch
from catalog.domain.ports import SearchQuery
from mediasight.bootstrap import Services
from mediasight.ingest_files import spinner
from mediasight.reprocess_cli import follow, print_report
from mediasight.shared_cli import err, out, print_table, queued, with_tenant
from services.reprocessing.requests import ReprocessError
from services.search_query import InvalidSearch, SearchSpec

T = TypeVar("T")

concept_app = typer.Typer(
    help="Custom concepts: teach the archive a category of its own from example assets (at least 5), train "
    "it (seconds), activate it (a reprocess batch labels every matching asset; new assets get it at "
    "indexing), and correct it with more examples.",
    no_args_is_help=True,
)

TenantName = Annotated[str, typer.Argument(help="The tenant whose concept this is.")]
ConceptName = Annotated[str, typer.Argument(help="The concept's name (any case).")]
Positives = Annotated[list[str] | None, typer.Option("--positive", help="Asset ID showing it (repeatable).")]
Negatives = Annotated[
    list[str] | None, typer.Option("--negative", help="Asset ID not showing it (repeatable).")
]
FromLabels = Annotated[
    list[str] | None,
    typer.Option("--positive-label", help="Every asset with this label is a positive (repeatable)."),
]
Wait = Annotated[bool, typer.Option("--wait", help="Work on it here, with a progress bar, until it is done.")]


def _run(ctx: typer.Context, tenant: str, action: Callable[[Services, str], Awaitable[T]]) -> T:
    async def guarded(services: Services, tenant_id: str) -> T:
        try:
            return await action(services, tenant_id)
        except (ConceptError, ReprocessError, InvalidSearch) as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}")
            raise typer.Exit(2) from None

    return with_tenant(ctx, tenant, guarded)


async def _from_labels(services: Services, tenant_id: str, labels: list[str] | None) -> SearchQuery | None:
    if not labels:
        return None
    return await services.queries.selection(tenant_id, SearchSpec(labels=tuple(labels)))


async def _example_counts(services: Services, tenant_id: str, concept: Concept) -> str:
    """ "N positive, M negative": a concept's examples as the commands report them."""
    examples = await services.concepts.examples(tenant_id, concept)
    positives = sum(e.positive for e in examples)
    return f"{positives} positive, {len(examples) - positives} negative"


def _metrics(v: ConceptVersion) -> str:
    m = v.metrics
    if m is None:
        return v.error or v.status.value
    return (
        f"precision {m.precision:.2f}, recall {m.recall:.2f}, F1 {m.f1:.2f} at threshold {m.threshold:.2f} "
        f"({m.positives} positives, {m.negatives} negatives, {m.folds}-fold, {m.train_ms:.0f} ms)"
    )


def _percent(probability: float) -> str:
    """A score as a percentage: '81.8'; one too small for a decimal '<0.1', not '0.0' (scores are kept in
    millionths: a far-off asset's is often 0 there)."""
    percent = probability * 100
    return f"{percent:.1f}" if percent >= 0.05 else "<0.1"


Uploads = Annotated[
    list[Path] | None,
    typer.Option(
        "--upload",
        help="An image file to upload as a positive training example (repeatable): hidden from search "
        "unless asked for.",
    ),
]
NegativeUploads = Annotated[
    list[Path] | None,
    typer.Option("--upload-negative", help="An image file to upload as a negative training example."),
]


async def _uploaded(services: Services, tenant_id: str, files: list[Path] | None) -> list[str]:
    """Ingest files as training examples; their asset IDs (a refused file stops the command)."""
    ids = []
    for path in files or []:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConceptError("NOT_FOUND", f"cannot read {path}: {exc.strerror or exc}") from exc
        outcome = await services.ingestor.ingest(tenant_id, data, path.name, training_example=True)
        if outcome.asset is None:
            raise ConceptError("INVALID_UPLOAD", f"{path}: {outcome.error}")
        ids.append(outcome.asset.id)
    return ids


async def _add_given(
    services: Services,
    tenant_id: str,
    name: str,
    positive: list[str] | None,
    negative: list[str] | None,
    positive_label: list[str] | None,
    uploads: tuple[list[Path] | None, list[Path] | None] = (None, None),
) -> None:
    """The examples `create` and `add` take: IDs, a label's assets, then uploads (source UPLOAD)."""
    concept = await services.concepts.add_examples(
        tenant_id,
        name,
        positives=positive or [],
        negatives=negative or [],
        positives_from=await _from_labels(services, tenant_id, positive_label),
    )
    up = await _uploaded(services, tenant_id, uploads[0])
    down = await _uploaded(services, tenant_id, uploads[1])
    if up or down:
        await services.concepts.add_examples(
            tenant_id, name, positives=up, negatives=down, source=ExampleSource.UPLOAD
        )
        err.print(f"{len(up) + len(down)} files uploaded as training examples: a worker indexes them")
    out.print(f"concept {concept.name!r}: {await _example_counts(services, tenant_id, concept)} examples")


@concept_app.command("create")
def concept_create(
    ctx: typer.Context,
    tenant: TenantName,
    name: ConceptName,
    positive: Positives = None,
    negative: Negatives = None,
    positive_label: FromLabels = None,
    parent: Annotated[list[str] | None, typer.Option("--parent", help="A parent name for its label.")] = None,
    synonym: Annotated[
        list[str] | None, typer.Option("--synonym", metavar="NAME", help="Another name search finds it by.")
    ] = None,
) -> None:
    """Define a concept from example assets (train it with `mediasight concept train`)."""

    async def run(services: Services, tenant_id: str) -> None:
        concept = await services.concepts.create(  # with its examples: a refused one creates nothing
            tenant_id,
            name,
            positives=positive or [],
            negatives=negative or [],
            positives_from=await _from_labels(services, tenant_id, positive_label),
            parents=parent or [],
            synonyms=synonym or [],
        )
        out.print(f"concept {concept.name!r}: {await _example_counts(services, tenant_id, concept)} examples")

    _run(ctx, tenant, run)


@concept_app.command("add")
def concept_add(
    ctx: typer.Context,
    tenant: TenantName,
    name: ConceptName,
    positive: Positives = None,
    negative: Negatives = None,
    positive_label: FromLabels = None,
    upload: Uploads = None,
    upload_negative: NegativeUploads = None,
) -> None:
    """Add examples (an asset given again changes sides), or upload files as training examples."""

    async def run(services: Services, tenant_id: str) -> None:
        await _add_given(
            services, tenant_id, name, positive, negative, positive_label, (upload, upload_negative)
        )

    _run(ctx, tenant, run)


@concept_app.command("remove")
def concept_remove(
    ctx: typer.Context,
    tenant: TenantName,
    name: ConceptName,
    asset: Annotated[list[str], typer.Argument(help="Asset IDs to forget as examples.")],
) -> None:
    """Forget examples."""

    async def run(services: Services, tenant_id: str) -> None:
        out.print(f"{await services.concepts.remove_examples(tenant_id, name, asset)} examples removed")

    _run(ctx, tenant, run)


async def _trained(services: Services, version: ConceptVersion, what: str) -> ConceptVersion:
    """Run a worker here until the version's training is done (a spinner: its steps are not counted)."""
    stop = asyncio.Event()
    worker = asyncio.create_task(services.worker().run(stop))
    try:
        with spinner(err) as progress:
            progress.add_task(what, total=None)
            while True:
                current = await services.catalog.get_version(
                    version.tenant_id, version.concept_id, version.number
                )
                if current is None or current.status != VersionStatus.TRAINING:
                    return current or version
                await asyncio.sleep(0.2)
    finally:
        stop.set()
        await worker


@concept_app.command("train")
def concept_train(ctx: typer.Context, tenant: TenantName, name: ConceptName, wait: Wait = False) -> None:
    """Train a new version (queued; a worker trains it). Exit status 1 if the training failed."""

    async def run(services: Services, tenant_id: str) -> int:
        version = await services.concepts.train(tenant_id, name)  # collects review answers first
        if not wait:
            out.print(f"version {version.number} queued for training")
            return 0
        concept = await services.concepts.get(tenant_id, name)
        what = (
            f"training version {version.number} of {concept.name!r} on its "
            f"{await _example_counts(services, tenant_id, concept)} examples, then scoring the archive"
        )
        version = await _trained(services, version, escape(what))
        out.print(f"version {version.number} {version.status.value}: {escape(_metrics(version))}")
        return 0 if version.status == VersionStatus.READY else 1

    raise typer.Exit(_run(ctx, tenant, run))


async def _batch(services: Services, batch: ReprocessBatch | None, wait: bool) -> int:
    if batch is None:
        err.print("no indexed assets to run it over")
        return 0
    typer.echo(batch.id)
    if not wait:
        err.print(queued(batch))
        return 0
    batch = await follow(services, batch, err, work=True)
    await print_report(services, batch, err)
    return 1 if batch.status is not BatchStatus.COMPLETED else 0


@concept_app.command("activate")
def concept_activate(
    ctx: typer.Context,
    tenant: TenantName,
    name: ConceptName,
    version: Annotated[
        int | None,
        typer.Option(
            "--version",
            help="The version to run (`mediasight concept show` lists them) [default: the newest ready].",
        ),
    ] = None,
    wait: Wait = False,
) -> None:
    """Run a trained version on new assets, and over the indexed ones now as a reprocess batch (its ID on
    stdout; --wait prints its change report). Exit status 1 if an asset failed."""

    async def run(services: Services, tenant_id: str) -> int:
        concept, batch = await services.concepts.activate(tenant_id, name, version)
        err.print(f"concept {concept.name!r}: version {concept.active_version} active")
        return await _batch(services, batch, wait)

    raise typer.Exit(_run(ctx, tenant, run))


@concept_app.command("deactivate")
def concept_deactivate(ctx: typer.Context, tenant: TenantName, name: ConceptName) -> None:
    """Stop running the concept: its label comes off the assets (a background job); versions and examples
    stay, and `mediasight concept activate` runs it again."""

    async def run(services: Services, tenant_id: str) -> None:
        concept = await services.concepts.deactivate(tenant_id, name)
        out.print(f"concept {concept.name!r} deactivated: a worker takes its label off the assets")

    _run(ctx, tenant, run)


@concept_app.command("review")
def concept_review(
    ctx: typer.Context,
    tenant: TenantName,
    name: ConceptName,
    first: Annotated[int, typer.Option("--first", help="How many assets to ask about.")] = 20,
) -> None:
    """Ask reviewers about the assets the concept is least sure of (verify tasks); their answers become
    examples at the next `mediasight concept train`."""

    async def run(services: Services, tenant_id: str) -> None:
        made = await services.concepts.request_review(tenant_id, name, first=max(1, min(first, 100)))
        out.print(f"{made} verify tasks for reviewers")

    _run(ctx, tenant, run)


@concept_app.command("backfill")
def concept_backfill(ctx: typer.Context, tenant: TenantName, wait: Wait = False) -> None:
    """Compute feature vectors for indexed assets that have none (assets indexed before concepts existed)."""

    async def run(services: Services, tenant_id: str) -> int:
        return await _batch(services, await services.concepts.backfill(tenant_id), wait)

    raise typer.Exit(_run(ctx, tenant, run))


@concept_app.command("list")
def concept_list(ctx: typer.Context, tenant: TenantName) -> None:
    """The tenant's concepts: active version and its metrics."""

    async def run(services: Services, tenant_id: str) -> None:
        table = Table("name", "active", "versions", "parents", "synonyms", "metrics of the newest")
        for c in await services.concepts.all(tenant_id):
            versions = await services.concepts.versions(tenant_id, c)
            table.add_row(
                c.name,
                str(c.active_version or "-"),
                str(len(versions)),
                ", ".join(c.parents),
                ", ".join(c.synonyms),
                escape(_metrics(versions[0])) if versions else "-",
            )
        print_table(
            table,
            f"No concepts yet: create one with `mediasight concept create {escape(tenant)} NAME "
            "--positive ASSET_ID ...`.",
        )

    _run(ctx, tenant, run)


@concept_app.command("show")
def concept_show(
    ctx: typer.Context,
    tenant: TenantName,
    name: ConceptName,
    suggestions: Annotated[int, typer.Option(help="How many non-examples to suggest.")] = 10,
) -> None:
    """A concept: its versions with metrics, examples, and the highest-scoring non-examples."""

    async def run(services: Services, tenant_id: str) -> None:
        concept = await services.concepts.get(tenant_id, name)
        out.print(
            f"{concept.name} (analyzer {concept.analyzer}), active version {concept.active_version or '-'}"
        )
        for v in await services.concepts.versions(tenant_id, concept):
            out.print(f"  v{v.number} {v.status.value}: {escape(_metrics(v))}")
        out.print(f"examples: {await _example_counts(services, tenant_id, concept)}")
        try:
            found = await services.concepts.suggestions(tenant_id, concept, first=suggestions)
        except ConceptError as exc:
            if exc.code == "PREPARING":  # a worker scores the archive: `show` again in a moment
                out.print(f"suggestions: {escape(str(exc))}")
            return
        if not found:
            out.print("suggestions: none (every scored asset is an example)")
            return
        assets = await services.catalog.get_assets(tenant_id, [s.asset_id for s in found])
        out.print(
            "is this also it? (the highest-scoring assets that are not examples: filename, score 0–100)"
        )
        for s in found:
            filename = assets[s.asset_id].filename if s.asset_id in assets else "(deleted)"
            out.print(f"  {escape(filename)}  {_percent(s.probability)}  {s.asset_id}")

    _run(ctx, tenant, run)


@concept_app.command("delete")
def concept_delete(ctx: typer.Context, tenant: TenantName, name: ConceptName) -> None:
    """Delete a concept with its examples and versions."""

    async def run(services: Services, tenant_id: str) -> None:
        await services.concepts.delete(tenant_id, name)
        out.print(f"concept {name!r} deleted")

    _run(ctx, tenant, run)
