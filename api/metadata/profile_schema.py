"""Export profiles in GraphQL: a tenant's named mappings used by exportAssets and exportCsv."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.auth import CanRead, IsAdmin
from api.context import Context
from api.metadata.export_schema import CsvColumn
from catalog.domain.export_profile import ExportProfile as DomainProfile
from catalog.domain.field_names import DEFAULT_LANGUAGE, LANGUAGES
from catalog.domain.labels.detections import GUESS_BELOW
from services.exports import ExportError

LANGUAGE_HELP = (
    f"The language of the field names (CSV headers without a header of their own, JSON keys): "
    f"{', '.join(LANGUAGES)}. Values go out as the archive holds them."
)


@strawberry.type(description="A CSV column of a profile.")
class ProfileColumn:
    field: str
    header: str


@strawberry.type(description="A named export mapping: CSV columns and which machine values go out.")
class ExportProfile:
    name: str
    columns: list[ProfileColumn]
    labels: list[str] = strawberry.field(description="Machine labels kept (empty: all).")
    min_confidence: float = strawberry.field(
        description="Machine labels and regions below are left out (50 by default: a model's guesses)."
    )
    human_only: bool = strawberry.field(description="Only what people wrote: no machine values at all.")
    language: str = strawberry.field(description=LANGUAGE_HELP)

    @staticmethod
    def from_domain(p: DomainProfile) -> ExportProfile:
        return ExportProfile(
            name=p.name,
            columns=[ProfileColumn(field=f, header=h) for f, h in p.columns],
            labels=list(p.labels),
            min_confidence=p.min_confidence,
            human_only=p.human_only,
            language=p.language,
        )


@strawberry.input
class ExportProfileInput:
    name: str
    columns: list[CsvColumn] | None = None
    labels: list[str] | None = None
    min_confidence: float = strawberry.field(
        default=GUESS_BELOW,
        description="Machine labels and regions below this are left out; the default leaves out the guesses "
        "(under 50), 0 keeps every machine value.",
    )
    human_only: bool = False
    language: str = strawberry.field(default=DEFAULT_LANGUAGE, description=LANGUAGE_HELP)


@strawberry.type
class ExportProfileProblem:
    code: str = strawberry.field(description="BAD_PROFILE, BAD_COLUMNS, TOO_MANY or NO_SUCH_PROFILE.")
    message: str


@strawberry.type
class ExportProfilePayload:
    profile: ExportProfile | None
    error: ExportProfileProblem | None


@strawberry.type
class ProfileQuery:
    @strawberry.field(permission_classes=[CanRead], description="Your tenant's export profiles.")
    async def export_profiles(self, info: Info[Context, None]) -> list[ExportProfile]:
        ctx = info.context
        return [ExportProfile.from_domain(p) for p in await ctx.services.exports.profiles(ctx.tenant_id)]


@strawberry.type
class ProfileMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Create or replace an export profile.")
    async def save_export_profile(
        self, info: Info[Context, None], profile: ExportProfileInput
    ) -> ExportProfilePayload:
        ctx = info.context
        wanted = DomainProfile(
            name=profile.name,
            columns=tuple((c.field, c.header) for c in profile.columns or []),
            labels=tuple(profile.labels or ()),
            min_confidence=profile.min_confidence,
            human_only=profile.human_only,
            language=profile.language,
        )
        try:
            saved = await ctx.services.exports.save_profile(ctx.tenant_id, wanted)
        except ExportError as exc:
            return ExportProfilePayload(
                profile=None, error=ExportProfileProblem(code=exc.code, message=str(exc))
            )
        return ExportProfilePayload(profile=ExportProfile.from_domain(saved), error=None)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Delete an export profile.")
    async def delete_export_profile(self, info: Info[Context, None], name: str) -> ExportProfilePayload:
        ctx = info.context
        try:
            await ctx.services.exports.delete_profile(ctx.tenant_id, name)
        except ExportError as exc:
            return ExportProfilePayload(
                profile=None, error=ExportProfileProblem(code=exc.code, message=str(exc))
            )
        return ExportProfilePayload(profile=None, error=None)
