"""What a search answers: a Relay connection of hits (score, matches, asset), facets and paging."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from api.context import Context
from api.types import Asset
from api.video.video_types import VideoSegment, named_video, segments_of


@strawberry.type
class LabelMatch:
    label: str = strawberry.field(description="The asset's label that matched.")
    confidence: float
    via: str = strawberry.field(description="The name the query asked for (the label itself or a parent).")
    guess: bool = strawberry.field(
        default=False,
        description="The label that matched is a model's guess (a machine label under 50, `Label.guess`): "
        "found by its name in a text query, or by a label filter with includeGuesses.",
    )


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
    _persons: strawberry.Private[tuple[str, ...]] = ()  # the persons filter's names and the query

    @strawberry.field(
        description="A video hit's segments: those whose labels matched the search, in which its words "
        "were read or that show a person it asked for (by name), or all."
    )
    async def segments(
        self,
        info: Info[Context, None],
        matching: Annotated[
            bool,
            strawberry.argument(
                description="Only the segments with a label that matched, the words read or a person asked "
                "for."
            ),
        ] = True,
    ) -> list[VideoSegment]:
        if not self.node.media_type.startswith("video/"):  # an image has no segments: nothing to read
            return []
        asset_id = str(self.node.id)
        results = await info.context.results.load(asset_id)
        video = await named_video(results, lambda: info.context.face_persons.load(asset_id))
        return segments_of(asset_id, video, self._matched if matching else None, self._phrases, self._persons)


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
    labels: list[FacetValue] = strawberry.field(
        description="Label names, each with how many hits have it as a finding: the label, or a label "
        "beneath it, at 50 or more (or confirmed by review). A model's guess (`Label.guess`) is not "
        "counted, so a label filter on a value finds its count (without includeGuesses, at a "
        "minConfidence up to 50)."
    )
    persons: list[FacetValue]
    media_types: list[FacetValue]
    capture_years: list[FacetValue]


@strawberry.type
class SearchConnection:
    total_count: int
    edges: list[SearchEdge]
    page_info: PageInfo
    facets: SearchFacets
