"""The one schema assembly point: queries, mutations and the limits that keep the API hard to abuse."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.file_uploads import Upload
from strawberry.types import Info

from api.archive_schema import ArchiveQuery
from api.auth import CanRead, CanWrite
from api.concepts.schema import ConceptMutation, ConceptQuery
from api.context import Context
from api.error_log import MaskServerErrors, Schema
from api.face_schema import FaceMutation, FaceQuery
from api.keys_schema import KeyMutation, KeyQuery
from api.metadata.export_job_schema import ExportJobMutation, ExportJobQuery
from api.metadata.export_schema import CsvExportQuery, ExportQuery
from api.metadata.profile_schema import ProfileMutation, ProfileQuery
from api.metadata.webhook_schema import WebhookMutation, WebhookQuery
from api.query_limits import QueryLimits
from api.review.schema import ReviewMutation, ReviewQuery
from api.runs_schema import RunMutation, RunQuery
from api.search_input import SearchFilter, SearchSort, listed_stages, search_spec
from api.search_types import FacetValue, LabelMatch, PageInfo, SearchConnection, SearchEdge, SearchFacets
from api.stage_listing import list_stages
from api.transfer.uploads import is_video_upload, spill_upload
from api.types import Asset, IngestAssetPayload, IngestError, IngestErrorCode, VersionRelation
from api.version_schema import VersionMutation
from api.viewer_schema import ViewerQuery
from catalog.domain import model
from catalog.domain.cursor import CursorError
from catalog.domain.ids import is_uuid
from catalog.domain.labels.detections import is_guess
from catalog.domain.ports import FacetValue as DomainFacet
from catalog.domain.ports import UnsupportedSearch
from services.ingest import MAX_FILENAME, MAX_SIDECAR_BYTES
from services.search_query import MAX_PAGE, InvalidSearch, as_asked
from services.versions import VersionError


def _facets(values: Sequence[DomainFacet]) -> list[FacetValue]:
    return [FacetValue(value=f.value, count=f.count) for f in values]


@strawberry.type
class Query(
    ArchiveQuery,
    FaceQuery,
    KeyQuery,
    RunQuery,
    ViewerQuery,
    ExportQuery,
    CsvExportQuery,
    ExportJobQuery,
    ProfileQuery,
    WebhookQuery,
    ConceptQuery,
    ReviewQuery,
):
    @strawberry.field(permission_classes=[CanRead], description="One asset of your tenant by ID, or null.")
    async def asset(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        as_of: Annotated[
            datetime | None,
            strawberry.argument(
                description="Answer with the metadata the system held then: each analyzer's latest "
                "successful run finished by this time (a time without zone is UTC)."
            ),
        ] = None,
    ) -> Asset | None:
        if not is_uuid(id):
            return None
        found = await info.context.assets.load(str(id))
        if as_of is not None and as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=UTC)
        return Asset.from_domain(found, as_of) if found else None

    @strawberry.field(
        permission_classes=[CanRead],
        description="Assets of your tenant, ranked by the confidence of the matched label.",
    )
    async def search(
        self,
        info: Info[Context, None],
        query: Annotated[
            str | None, strawberry.argument(description="A label or parent name, or words of a filename.")
        ] = None,
        filter: SearchFilter | None = None,
        sort: SearchSort = SearchSort.RELEVANCE,
        first: Annotated[int, strawberry.argument(description=f"Page size, at most {MAX_PAGE}.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="`pageInfo.endCursor` of the last page.")
        ] = None,
    ) -> SearchConnection:
        ctx = info.context
        if (stages := listed_stages(filter)) is not None:
            if query:
                raise GraphQLError("`query` searches INDEXED assets: leave it out when listing other stages.")
            return await list_stages(ctx, stages, first, after)
        queries = ctx.services.queries
        try:
            spec = search_spec(query, filter, sort, first, after)
            request = await queries.build(ctx.tenant_id, spec)
            page = await ctx.services.index.search(ctx.tenant_id, await queries.with_meaning(request))
            page = as_asked(page, spec, request)
        except CursorError as exc:
            raise GraphQLError(str(exc), extensions={"code": "BAD_CURSOR"}) from exc
        except (InvalidSearch, UnsupportedSearch) as exc:
            raise GraphQLError(str(exc)) from exc
        assets = await ctx.assets.load_many([h.asset_id for h in page.hits])
        phrases = tuple(
            p for p in (query, filter.text if filter is not None else None) if isinstance(p, str) and p
        )
        asked = filter.persons if filter is not None and filter.persons else []
        persons = (*asked, *((query,) if query else ()))  # a query may be a person's name
        edges = [
            SearchEdge(
                cursor=hit.cursor,
                score=hit.score,
                matches=[
                    LabelMatch(
                        label=m.label, confidence=m.confidence, via=m.via, guess=is_guess(m.confidence)
                    )
                    for m in hit.matches
                ],
                node=Asset.from_domain(asset),
                meaning=hit.meaning,
                text_match=hit.text_match,
                # the asset's labels that matched and the names asked (a segment may have either)
                _matched=tuple(dict.fromkeys(n for m in hit.matches for n in (m.label, m.via))),
                _phrases=phrases,
                _persons=persons,
            )
            for hit, asset in zip(page.hits, assets, strict=True)
            if asset is not None
        ]
        return SearchConnection(
            total_count=page.total,
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor),
            facets=SearchFacets(
                labels=_facets(page.label_facets),
                persons=_facets(page.person_facets),
                media_types=_facets(page.media_type_facets),
                capture_years=_facets(page.capture_year_facets),
            ),
        )


@strawberry.type
class Mutation(
    FaceMutation,
    VersionMutation,
    KeyMutation,
    RunMutation,
    WebhookMutation,
    ProfileMutation,
    ExportJobMutation,
    ConceptMutation,
    ReviewMutation,
):
    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Upload an image (GraphQL multipart request). Same bytes → same asset.",
    )
    async def ingest_asset(
        self,
        info: Info[Context, None],
        file: Upload,
        parent_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Register the file as a version of this asset."),
        ] = None,
        relation: VersionRelation = VersionRelation.OTHER,
        sidecar: Annotated[
            Upload | None,
            strawberry.argument(
                description="The file's .xmp sidecar (from Lightroom, darktable, digiKam...): read with the "
                "file's own metadata, its fields winning. The original is never changed."
            ),
        ] = None,
        training_example: Annotated[
            bool,
            strawberry.argument(
                description="Only to teach a custom concept (add it with addConceptExamples): analysed, but "
                "left out of searches unless filter.trainingExamples asks. The same file ingested without "
                "it joins the archive."
            ),
        ] = False,
    ) -> IngestAssetPayload:
        ctx = info.context
        side = await sidecar.read(MAX_SIDECAR_BYTES + 1) if sidecar is not None else None  # type: ignore[attr-defined]
        name = getattr(file, "filename", None) or "upload"
        if len(name) > MAX_FILENAME:
            return IngestAssetPayload(
                asset=None,
                duplicate=False,
                error=IngestError(
                    code=IngestErrorCode.FILENAME_TOO_LONG,
                    message=f"the filename is {len(name):,} characters; filenames may have at most "
                    f"{MAX_FILENAME}: rename the file",
                ),
            )
        parent = str(parent_id) if parent_id is not None else None
        if parent is not None and not is_uuid(parent):
            return IngestAssetPayload(
                asset=None,
                duplicate=False,
                error=IngestError(
                    code=IngestErrorCode.INVALID_PARENT, message=f"no asset {parent} in your tenant"
                ),
            )
        if parent is not None:
            try:
                await ctx.services.versions.check_parent(ctx.tenant_id, parent)
            except VersionError as exc:  # NOT_FOUND is the ingestor's to say (before reading the file)
                if exc.code == "KEYFRAME":
                    return IngestAssetPayload(
                        asset=None,
                        duplicate=False,
                        error=IngestError(code=IngestErrorCode.KEYFRAME_PARENT, message=str(exc)),
                    )
        kind = model.VersionRelation(relation.value) if parent else None
        if await is_video_upload(file):
            # streamed from a temporary file: a video may be gigabytes
            path = await spill_upload(file)
            try:
                outcome = await ctx.services.ingestor.ingest_file(
                    ctx.tenant_id,
                    path,
                    name,
                    parent_id=parent,
                    relation=kind,
                    sidecar=side,
                    training_example=training_example,
                )
            finally:
                await asyncio.to_thread(path.unlink, missing_ok=True)
        else:
            limit = ctx.services.max_upload_bytes
            outcome = await ctx.services.ingestor.ingest(
                ctx.tenant_id,
                await file.read(limit + 1),  # type: ignore[attr-defined]
                name,
                parent_id=parent,
                relation=kind,
                size_bytes=getattr(file, "size", None),  # starlette counted the whole part; we read limit+1
                sidecar=side,
                training_example=training_example,
            )
        if outcome.status == "rejected":
            code = IngestErrorCode(outcome.code or "corrupt")
            return IngestAssetPayload(
                asset=None, duplicate=False, error=IngestError(code=code, message=outcome.error or "")
            )
        assert outcome.asset is not None
        return IngestAssetPayload(
            asset=Asset.from_domain(outcome.asset), duplicate=outcome.status == "duplicate", error=None
        )


schema = Schema(query=Query, mutation=Mutation, extensions=[QueryLimits, MaskServerErrors])
