"""What a search answers: a Relay connection of hits (score, matches, asset), facets and paging."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from api.context import Context
from api.types import Asset
from api.video.video_types import VideoSegment, segments_of
from catalog.domain.video.findings import VIDEO


@strawberry.type
class LabelMatch:
    label: str = strawberry.field(description="The asset's label that matched.")
    confidence: float
    via: str = strawberry.field(description="The name the query asked for (the label itself or a parent).")


@strawberry.type
class SearchEdge:
    cursor: str
    score: float
    matches: list[LabelMatch]
    node: Asset
    meaning: float | None = strawberry.field(
        default=None,
        description="For a text query: how close its meaning is to the asset's metadata (cosine similarity, "
        "0–1), when that added to the score; null otherwise.",
    )
    text_match: bool = strawberry.field(
        default=False,
        description="For a text query: its words were found in the filename, label or person names, or the "
        "text in the image (and no label set the score). A hit with no `matches` and no `textMatch` was "
        "found by meaning alone.",
    )
    _matched: strawberry.Private[tuple[str, ...]] = ()
    _phrases: strawberry.Private[tuple[str, ...]] = ()  # the query's words and the text filter's phrase

    @strawberry.field(
        description="A video hit's segments: those whose labels matched the search or in which its words "
        "were read, or all."
    )
    async def segments(
        self,
        info: Info[Context, None],
        matching: Annotated[
            bool,
            strawberry.argument(description="Only the segments with a label that matched or the words read."),
        ] = True,
    ) -> list[VideoSegment]:
        found = (await info.context.results.load(str(self.node.id))).get(VIDEO)
        video = found.findings.video if found is not None else None
        return segments_of(video, self._matched if matching else None, self._phrases)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class FacetValue:
    value: str
    count: int


@strawberry.type
class SearchFacets:
    labels: list[FacetValue]
    persons: list[FacetValue]
    media_types: list[FacetValue]
    capture_years: list[FacetValue]


@strawberry.type
class SearchConnection:
    total_count: int
    edges: list[SearchEdge]
    page_info: PageInfo
    facets: SearchFacets
