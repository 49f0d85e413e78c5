"""`search(filter: {status: [...]})` for stages other than INDEXED: a catalog listing in search's shape."""

from __future__ import annotations

from graphql import GraphQLError

from api.context import Context
from api.search_types import PageInfo, SearchConnection, SearchEdge, SearchFacets
from api.types import Asset
from catalog.domain.cursor import CursorError, decode_cursor, encode_cursor
from catalog.domain.ids import is_uuid
from catalog.domain.model import Stage
from services.search_query import MAX_PAGE


async def list_stages(ctx: Context, stages: list[Stage], first: int, after: str | None) -> SearchConnection:
    """Newest first; exact totalCount; no facets (they describe recognized metadata)."""
    if not 1 <= first <= MAX_PAGE:
        raise GraphQLError(
            f"`first` must be between 1 and {MAX_PAGE}; page with `after: endCursor` for more."
        )
    last = None
    if after:
        try:
            _, last = decode_cursor(after)
        except CursorError as exc:
            raise GraphQLError(str(exc)) from exc
        if not is_uuid(last):
            raise GraphQLError("invalid cursor: pass the endCursor of a previous page with the same filter")
    catalog = ctx.services.catalog
    found = await catalog.assets_in_stages(ctx.tenant_id, stages, after=last, limit=first + 1)
    counts = await catalog.stage_counts(ctx.tenant_id)
    page = found[:first]
    edges = [
        SearchEdge(cursor=encode_cursor(0, a.id), score=0.0, matches=[], node=Asset.from_domain(a))
        for a in page
    ]
    return SearchConnection(
        total_count=sum(counts.get(st, 0) for st in stages),
        edges=edges,
        page_info=PageInfo(has_next_page=len(found) > first, end_cursor=edges[-1].cursor if edges else after),
        facets=SearchFacets(labels=[], persons=[], media_types=[], capture_years=[]),
    )
