"""Face collection API: matches of a face, naming faces, search by an uploaded face photo."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.file_uploads import Upload
from strawberry.types import Info

from api.auth import CanRead, CanWrite
from api.context import Context
from api.recognition_types import Person
from api.types import Asset
from catalog.domain.faces.identity import SAME_PERSON_SIMILARITY
from indexer.recognizers.ports import RemoteUnavailable
from services.faces import FaceError
from services.faces import FaceMatch as DomainFaceMatch

Threshold = Annotated[
    float,
    strawberry.argument(
        description=f"Minimum similarity 0–100; {SAME_PERSON_SIMILARITY:g} means the same person."
    ),
]


@strawberry.enum
class FaceErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    NO_SUCH_FACE = "NO_SUCH_FACE"
    INVALID_NAME = "INVALID_NAME"
    REJECTED_IMAGE = "REJECTED_IMAGE"
    NO_FACE = "NO_FACE"
    INVALID_THRESHOLD = "INVALID_THRESHOLD"
    REMOTE_UNAVAILABLE = strawberry.enum_value(
        "REMOTE_UNAVAILABLE",
        description="The faces' remote collection (Rekognition) cannot answer now: the message says why.",
    )


@strawberry.type(name="FaceError")
class FaceProblem:
    code: FaceErrorCode
    message: str


@strawberry.type
class FaceMatch:
    face_index: int
    similarity: float
    asset_id: strawberry.Private[str]

    @strawberry.field
    async def asset(self, info: Info[Context, None]) -> Asset | None:
        found = await info.context.assets.load(self.asset_id)
        return Asset.from_domain(found) if found else None


def _matches(found: list[DomainFaceMatch]) -> list[FaceMatch]:
    return [
        FaceMatch(face_index=m.face.face_index, similarity=m.similarity, asset_id=m.face.asset_id)
        for m in found
    ]


def _error(exc: FaceError | RemoteUnavailable) -> FaceProblem:
    if isinstance(exc, RemoteUnavailable):
        return FaceProblem(code=FaceErrorCode.REMOTE_UNAVAILABLE, message=str(exc))
    return FaceProblem(code=FaceErrorCode(exc.code), message=str(exc))


@strawberry.type
class FaceMatchesPayload:
    matches: list[FaceMatch]
    error: FaceProblem | None


@strawberry.type
class NameFacePayload:
    person: Person | None
    faces_named: int = strawberry.field(
        description="Faces that carry the name now: this one and its matches."
    )
    error: FaceProblem | None


@strawberry.type
class FaceQuery:
    @strawberry.field(
        permission_classes=[CanRead],
        description="Faces in your tenant that match one face of an asset, most similar first. Errors carry "
        "a FaceErrorCode in extensions.code: NOT_FOUND (no such asset analyzed for faces in your tenant), "
        "NO_SUCH_FACE, INVALID_THRESHOLD, REMOTE_UNAVAILABLE.",
    )
    async def face_matches(
        self, info: Info[Context, None], asset_id: strawberry.ID, face_index: int, threshold: Threshold = 80.0
    ) -> list[FaceMatch]:
        try:
            found = await info.context.services.face_service.matches(
                info.context.tenant_id, str(asset_id), face_index, threshold
            )
        except (FaceError, RemoteUnavailable) as exc:
            problem = _error(exc)
            raise GraphQLError(problem.message, extensions={"code": problem.code.value}) from exc
        return _matches(found)


@strawberry.type
class FaceMutation:
    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Name a face: every unnamed matching face in your tenant gets the name too.",
    )
    async def name_face(
        self, info: Info[Context, None], asset_id: strawberry.ID, face_index: int, name: str
    ) -> NameFacePayload:
        try:
            person, count = await info.context.services.face_service.name_face(
                info.context.tenant_id, str(asset_id), face_index, name
            )
        except (FaceError, RemoteUnavailable) as exc:
            return NameFacePayload(person=None, faces_named=0, error=_error(exc))
        return NameFacePayload(person=Person.from_domain(person), faces_named=count, error=None)

    @strawberry.mutation(
        permission_classes=[CanRead],
        description="Faces in your tenant matching the largest face of an uploaded photo.",
    )
    async def search_faces_by_image(
        self, info: Info[Context, None], file: Upload, threshold: Threshold = 80.0
    ) -> FaceMatchesPayload:
        limit = info.context.services.max_upload_bytes
        data = await file.read(limit + 1)  # type: ignore[attr-defined]
        if len(data) > limit:
            return FaceMatchesPayload(
                matches=[],
                error=FaceProblem(code=FaceErrorCode.REJECTED_IMAGE, message="the file is too large"),
            )
        try:
            found = await info.context.services.face_service.search_by_image(
                info.context.tenant_id, data, threshold
            )
        except (FaceError, RemoteUnavailable) as exc:
            return FaceMatchesPayload(matches=[], error=_error(exc))
        return FaceMatchesPayload(matches=_matches(found), error=None)
