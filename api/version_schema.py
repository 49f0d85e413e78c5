"""Version-tree mutations: link an existing asset as a version, delete (with cascade)."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.auth import CanWrite
from api.context import Context
from api.types import Asset, VersionRelation
from catalog.domain import model
from catalog.domain.ids import is_uuid
from indexer.recognizers.ports import RemoteUnavailable
from services.versions import VersionError


@strawberry.enum
class VersionErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    CYCLE = "CYCLE"
    HAS_CHILDREN = "HAS_CHILDREN"
    TOO_MANY = "TOO_MANY"
    KEYFRAME = strawberry.enum_value(
        "KEYFRAME",
        description="A video's keyframe (made by its analysis) takes no versions and is not moved: link "
        "versions to the video.",
    )
    REMOTE_UNAVAILABLE = strawberry.enum_value(
        "REMOTE_UNAVAILABLE",
        description="The asset's faces are in a remote collection (Rekognition) that cannot answer now.",
    )


@strawberry.type(name="VersionError")
class VersionProblem:
    code: VersionErrorCode
    message: str

    @staticmethod
    def from_error(exc: VersionError | RemoteUnavailable) -> VersionProblem:
        if isinstance(exc, RemoteUnavailable):
            return VersionProblem(code=VersionErrorCode.REMOTE_UNAVAILABLE, message=str(exc))
        return VersionProblem(code=VersionErrorCode(exc.code), message=str(exc))


@strawberry.type
class CreateVersionPayload:
    asset: Asset | None
    error: VersionProblem | None


@strawberry.type
class DeleteAssetPayload:
    deleted_ids: list[strawberry.ID]
    error: VersionProblem | None


def _not_found(*ids: str) -> VersionError | None:
    bad = next((i for i in ids if not is_uuid(i)), None)
    return VersionError("NOT_FOUND", f"no asset {bad} in your tenant") if bad is not None else None


@strawberry.type
class VersionMutation:
    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Make an existing asset a version of another (no cycles, same tenant; a video's "
        "keyframe neither takes versions nor moves).",
    )
    async def create_version(
        self,
        info: Info[Context, None],
        asset_id: strawberry.ID,
        parent_id: strawberry.ID,
        relation: VersionRelation,
    ) -> CreateVersionPayload:
        ctx = info.context
        try:
            if error := _not_found(str(asset_id), str(parent_id)):
                raise error
            asset = await ctx.services.versions.link(
                ctx.tenant_id, str(asset_id), str(parent_id), model.VersionRelation(relation.value)
            )
        except VersionError as exc:
            return CreateVersionPayload(asset=None, error=VersionProblem.from_error(exc))
        return CreateVersionPayload(asset=Asset.from_domain(asset), error=None)

    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Delete an asset from catalog, index, blobs and face collection.",
    )
    async def delete_asset(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        cascade: Annotated[
            bool, strawberry.argument(description="Also delete every descendant version.")
        ] = False,
    ) -> DeleteAssetPayload:
        ctx = info.context
        try:
            if error := _not_found(str(id)):
                raise error
            deleted = await ctx.services.versions.delete(ctx.tenant_id, str(id), cascade=cascade)
        except (VersionError, RemoteUnavailable) as exc:  # the latter: deleting again later completes it
            return DeleteAssetPayload(deleted_ids=[], error=VersionProblem.from_error(exc))
        return DeleteAssetPayload(deleted_ids=[strawberry.ID(i) for i in deleted], error=None)
