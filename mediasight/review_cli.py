"""`mediasight reviewer ...` and `mediasight review ...`: reviewers and their keys, the tenant's review
rules, sweeping the archive, manual and gold tasks, statistics."""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated

import typer
from rich.markup import escape

from catalog.domain.model import BatchStatus, ReprocessBatch
from catalog.domain.review.tasks import Question, QuestionKind, ReviewInputError, ReviewRules, TaskStatus
from mediasight.bootstrap import Services
from mediasight.reprocess_cli import follow
from mediasight.shared_cli import err, with_tenant

reviewer_app = typer.Typer(
    help="People who answer review tasks: each has a key of scope 'review' for the /review page.",
    no_args_is_help=True,
)
review_app = typer.Typer(
    help="Human review: the tenant's rules, sweeping the archive, manual and gold tasks, statistics.",
    no_args_is_help=True,
)
Tenant = Annotated[str, typer.Option("--tenant", help="The tenant (by name).")]
ReviewerName = Annotated[
    str, typer.Argument(help="The reviewer's name, as `mediasight reviewer list --tenant NAME` shows it.")
]


def _fail(exc: ReviewInputError) -> typer.Exit:
    err.print(f"[red]{exc.code}[/]: {exc}")
    return typer.Exit(1)


@reviewer_app.command("add")
def reviewer_add(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The reviewer's name.")], tenant: Tenant
) -> None:
    """Add a reviewer; its key is printed alone on stdout, once (open /review and sign in with it)."""
    try:
        secret, reviewer = with_tenant(ctx, tenant, lambda s, t: s.review.reviewers.add(t, name))
    except ReviewInputError as exc:
        raise _fail(exc) from exc
    err.print(f"reviewer {reviewer.name!r} of {tenant!r}; the key is shown only this once.")
    print(secret)


@reviewer_app.command("list")
def reviewer_list(
    ctx: typer.Context,
    tenant: Tenant,
    refresh: Annotated[bool, typer.Option(help="Run the quality pass first (ratings, pauses).")] = False,
) -> None:
    """Reviewers with rating, gold accuracy, agreement with consensus, answers and pace."""

    async def run(s: Services, t: str) -> list[list[str]]:
        found = await s.review.quality.refresh(t) if refresh else await s.review.store.list_reviewers(t)
        return [
            [
                r.name,
                _pct(r.rating),
                _pct(r.accuracy),
                _pct(r.agreement),
                str(r.answered),
                f"{r.items_per_minute:.1f}" if r.items_per_minute is not None else "-",
                "paused" if r.paused else "active",
            ]
            for r in found
        ]

    rows = with_tenant(ctx, tenant, run)
    if not rows:
        err.print(f"No reviewers yet: add one with `mediasight reviewer add NAME --tenant {tenant}`.")
        return
    print("name\trating\tgold accuracy\tagreement\tanswered\titems/min\tstate")
    for row in rows:
        print("\t".join(row))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _set_paused(ctx: typer.Context, name: str, tenant: str, paused: bool) -> None:
    try:
        with_tenant(ctx, tenant, lambda s, t: s.review.reviewers.set_paused(t, name, paused))
    except ReviewInputError as exc:
        raise _fail(exc) from exc
    err.print(f"{name!r} {'paused' if paused else 'resumed'}")


@reviewer_app.command("pause")
def reviewer_pause(ctx: typer.Context, name: ReviewerName, tenant: Tenant) -> None:
    """Pause a reviewer: no more tasks, and its answers stop counting."""
    _set_paused(ctx, name, tenant, True)


@reviewer_app.command("resume")
def reviewer_resume(ctx: typer.Context, name: ReviewerName, tenant: Tenant) -> None:
    """Resume a paused reviewer."""
    _set_paused(ctx, name, tenant, False)


@review_app.command("rules")
def review_rules(
    ctx: typer.Context,
    tenant: Tenant,
    watch: Annotated[
        list[str] | None, typer.Option(help="A label whose assets are always verified (repeat).")
    ] = None,
    unwatch_all: Annotated[bool, typer.Option(help="Clear the watched labels first.")] = False,
    low_confidence: Annotated[
        float | None,
        typer.Option(help="Best specific label below this (0–100) → choose among the top-k; 0: off."),
    ] = None,
    band: Annotated[
        str | None, typer.Option(help="LOW-HIGH, e.g. 40-70: verify labels in the band; 'off' clears.")
    ] = None,
    no_labels: Annotated[
        bool | None, typer.Option("--no-labels/--skip-unlabelled", help="Ask about assets with no labels.")
    ] = None,
    audit: Annotated[
        float | None, typer.Option(help="Percent of new assets whose top label is verified.")
    ] = None,
    answers: Annotated[int | None, typer.Option(help="Answers per task (k).")] = None,
    max_answers: Annotated[
        int | None, typer.Option(help="Cap when low agreement asks more reviewers.")
    ] = None,
    gold_rate: Annotated[
        float | None, typer.Option(help="Share of each queue drawn from gold tasks (0–0.5).")
    ] = None,
    floor: Annotated[
        float | None, typer.Option(help="Rating (0–1) under which reviewers are paused.")
    ] = None,
) -> None:
    """Show the tenant's review rules, or change the options given (the others stay)."""

    async def run(s: Services, t: str) -> ReviewRules:
        rules = await s.review.store.get_review_rules(t)
        changes: dict[str, object] = {}
        if watch or unwatch_all:
            kept = () if unwatch_all else rules.watched_labels
            changes["watched_labels"] = tuple(
                dict.fromkeys([*kept, *(" ".join(w.split()) for w in watch or ())])
            )
        if low_confidence is not None:
            if low_confidence < 0:
                raise ReviewInputError("BAD_RULES", "--low-confidence is a confidence 0–100 (0: off)")
            changes["low_confidence_below"] = low_confidence if low_confidence > 0 else None
        if band is not None:
            changes["band"] = _band(band)
        for name, value in (
            ("no_labels", no_labels), ("audit_percent", audit), ("answers_per_task", answers),
            ("max_answers", max_answers), ("gold_rate", gold_rate), ("rating_floor", floor),
        ):  # fmt: skip
            if value is not None:
                changes[name] = value
        if changes:
            rules = dataclasses.replace(rules, **changes).check()  # type: ignore[arg-type]
            await s.review.store.set_review_rules(t, rules)
        return rules

    try:
        rules = with_tenant(ctx, tenant, run)
    except ReviewInputError as exc:
        err.print(
            f"[red]{escape(in_option_names(str(exc)))}[/]. Nothing changed: give it again corrected "
            "(`mediasight review rules --help` says what each option takes)"
        )
        raise typer.Exit(2) from None
    for line in describe_rules(rules):
        print(line)


# the API's field names in ReviewRules.check()'s messages → the `review rules` option that sets each
_OPTION_OF = {
    "lowConfidenceBelow": "--low-confidence",
    "auditPercent": "--audit",
    "answersPerTask": "--answers",
    "maxAnswers": "--max-answers",
    "goldRate": "--gold-rate",
    "ratingFloor": "--floor",
    "watchedLabels": "--watch",
    "band": "--band",
}
_FIELD = re.compile(r"(?<![\w-])(" + "|".join(_OPTION_OF) + r")\b")


def _num(value: float) -> str:
    """40.0 → '40', 12.5 → '12.5'."""
    return f"{value:g}"


def _share(share: float) -> str:
    return f"{share * 100:g}%"


def describe_rules(rules: ReviewRules) -> list[str]:
    """One line per rule: what creates tasks, then how answers become results; the option that sets it."""
    watched = ", ".join(rules.watched_labels)
    band = rules.band
    return [
        "What asks reviewers:",
        f"  watched labels (--watch): {watched or 'none'}",
        "  low confidence (--low-confidence): "
        + (
            f"an asset whose best specific label is below {_num(rules.low_confidence_below)}: "
            f"choose among its top {rules.top_k}"
            if rules.low_confidence_below is not None
            else "off"
        ),
        "  band (--band): "
        + (f"verify labels with confidence {_num(band[0])}–{_num(band[1])}" if band is not None else "off"),
        f"  assets with no labels (--no-labels / --skip-unlabelled): {'ask' if rules.no_labels else 'skip'}",
        f"  audit (--audit): verify the top label of {_num(rules.audit_percent)}% of new assets",
        "How answers become results:",
        f"  answers per task (--answers): {rules.answers_per_task}, "
        f"up to {rules.max_answers} when reviewers disagree (--max-answers)",
        f"  agreement needed: {_share(rules.min_agreement)}",
        f"  gold tasks (--gold-rate): {_share(rules.gold_rate)} of each queue",
        f"  reviewers paused below a rating of {_share(rules.rating_floor)} (--floor), "
        f"after {rules.min_gold_for_rating} gold answers",
    ]


def in_option_names(message: str) -> str:
    """'need 1 ≤ answersPerTask ≤ maxAnswers ≤ 9' → 'need 1 ≤ --answers ≤ --max-answers ≤ 9'."""
    return _FIELD.sub(lambda m: _OPTION_OF[m.group(1)], message)


def _band(text: str) -> tuple[float, float] | None:
    if text.strip().lower() == "off":
        return None
    try:
        lo, hi = (float(x) for x in text.split("-", 1))
    except ValueError:
        raise ReviewInputError(
            "BAD_RULES", f"--band takes LOW-HIGH such as 40-70, or off; got {text!r}"
        ) from None
    return lo, hi


@review_app.command("apply")
def review_apply(
    ctx: typer.Context,
    tenant: Tenant,
    wait: Annotated[
        bool, typer.Option("--wait", help="Work on the sweep here with a progress bar until it finishes.")
    ] = False,
) -> None:
    """Apply the rules to every indexed asset of the tenant as a tracked batch (nothing is asked twice).

    Prints the batch ID; a running `serve` or `worker` works on it (follow it with the reprocessBatch
    GraphQL query), or --wait works on it here."""

    async def go(services: Services, tenant_id: str) -> ReprocessBatch:
        batch = await services.review.tasks.sweep(tenant_id)
        typer.echo(batch.id)
        if wait:
            batch = await follow(services, batch, err, work=True, what="applying review rules")
        return batch

    try:
        batch = with_tenant(ctx, tenant, go)
    except ReviewInputError as exc:
        raise _fail(exc) from exc
    if not wait:
        err.print(f"sweep {batch.id}: queued for the workers")
        return
    made = with_tenant(ctx, tenant, lambda s, t: s.review.store.count_tasks(t))
    err.print(
        f"sweep {batch.id}: {batch.status.value}, {batch.done} assets, {batch.failed} failed; "
        f"{made[TaskStatus.OPEN]} open tasks"
    )
    if batch.failed or batch.status is BatchStatus.FAILED:
        raise typer.Exit(1)


@review_app.command("request")
def review_request(
    ctx: typer.Context,
    tenant: Tenant,
    asset: Annotated[list[str], typer.Option(help="An asset ID (repeat).")],
    label: Annotated[
        str | None, typer.Option(help="Verify this label; without it, choose among the top-k.")
    ] = None,
) -> None:
    """Ask reviewers about these assets now; prints the task IDs."""
    kind = QuestionKind.VERIFY if label else QuestionKind.CHOOSE
    try:
        tasks = with_tenant(ctx, tenant, lambda s, t: s.review.tasks.request(t, asset, kind, label))
    except ReviewInputError as exc:
        raise _fail(exc) from exc
    for task in tasks:
        print(task.id)


@review_app.command("gold")
def review_gold(
    ctx: typer.Context,
    tenant: Tenant,
    asset: Annotated[str, typer.Option(help="The asset ID.")],
    label: Annotated[str, typer.Option(help="The label asked about (a verify question).")],
    answer: Annotated[str, typer.Option(help="The known answer: yes or no.")],
) -> None:
    """Add a gold task: a known answer mixed into queues to measure reviewers."""
    question = Question(QuestionKind.VERIFY, label=" ".join(label.split()))
    try:
        task = with_tenant(ctx, tenant, lambda s, t: s.review.tasks.add_gold(t, asset, question, answer))
    except ReviewInputError as exc:
        raise _fail(exc) from exc
    print(task.id)


@review_app.command("stats")
def review_stats(ctx: typer.Context, tenant: Tenant) -> None:
    """Open, done and gold tasks."""
    counts = with_tenant(ctx, tenant, lambda s, t: s.review.store.count_tasks(t))
    for status, n in counts.items():
        print(f"{status}\t{n}")
