"""Face collection use cases: matches of a face, naming a face (and every match), search by a photo.

A face is matched where it was indexed (its embedding locally, its FaceId in the tenant's Rekognition
collection: see services.face_collection); a photo is searched with the tenant's faces provider.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from catalog.domain.faces.identity import SAME_PERSON_SIMILARITY
from catalog.domain.model import Face, FaceRef, Person
from catalog.domain.ports import CatalogStore, FaceMatch, JobQueue
from indexer.analyzers import AnalyzerChoice, AnalyzerRegistry
from indexer.cpu import CpuPool
from indexer.image_errors import ImageRejected
from indexer.imaging import probe
from indexer.recognizers.ports import AnalysisInput, AnalyzerInputError, NoFaceFound
from indexer.renditions import PREVIEW_MAX, decode
from services.face_collection import RoutedFaceCollection
from services.ingest import REFRESH_JOB

__all__ = ["MAX_MATCHES", "MAX_NAME", "FaceError", "FaceMatch", "FaceService"]

MAX_MATCHES = 500
MAX_NAME = 200


class FaceError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _check_threshold(threshold: float) -> None:
    if not 0 <= threshold <= 100:
        raise FaceError(
            "INVALID_THRESHOLD", f"threshold is a similarity from 0 to 100 (80: same person), got {threshold}"
        )


class FaceService:
    def __init__(
        self,
        catalog: CatalogStore,
        faces: RoutedFaceCollection,
        queue: JobQueue,
        analyzers: AnalyzerRegistry,
        cpu: CpuPool,
        *,
        max_pixels: int,
        choose: Callable[[str], Awaitable[AnalyzerChoice]] | None = None,
    ) -> None:
        self._catalog = catalog
        self._choose = choose  # the tenant's providers (search by photo); None: local
        self._faces = faces
        self._queue = queue
        self._analyzers = analyzers
        self._cpu = cpu
        self._max_pixels = max_pixels

    async def _face(self, tenant_id: str, asset_id: str, face_index: int) -> Face:
        result = await self._catalog.get_result(tenant_id, asset_id, "faces")
        if result is None:  # no such asset in this tenant, or not analyzed for faces: the same answer
            raise FaceError("NOT_FOUND", f"asset {asset_id} has no analyzed faces in your tenant")
        faces = result.findings.faces
        if not 0 <= face_index < len(faces):
            if not faces:
                indexes = "no faces"
            elif len(faces) == 1:
                indexes = "1 face: faceIndex 0"
            else:
                indexes = f"{len(faces)} faces: faceIndex 0–{len(faces) - 1}"
            raise FaceError("NO_SUCH_FACE", f"asset {asset_id} has {indexes}")
        return faces[face_index]

    async def matches(
        self, tenant_id: str, asset_id: str, face_index: int, threshold: float
    ) -> list[FaceMatch]:
        _check_threshold(threshold)
        face = await self._face(tenant_id, asset_id, face_index)
        found = await self._faces.matches(tenant_id, face, min_similarity=threshold, limit=MAX_MATCHES + 1)
        return [m for m in found if m.face != FaceRef(asset_id, face_index)][:MAX_MATCHES]

    async def name_face(
        self, tenant_id: str, asset_id: str, face_index: int, name: str
    ) -> tuple[Person, int]:
        """Name a face; every unnamed face of the same person in the tenant gets the name too.

        Returns the person and how many faces now carry it from this call.
        """
        clean = " ".join(name.split())
        if not clean or len(clean) > MAX_NAME:
            raise FaceError("INVALID_NAME", f"a name needs 1–{MAX_NAME} characters")
        face = await self._face(tenant_id, asset_id, face_index)
        person = await self._faces.person_by_name(tenant_id, clean) or await self._faces.create_person(
            tenant_id, clean
        )
        hits = await self._faces.matches(tenant_id, face, min_similarity=SAME_PERSON_SIMILARITY, limit=10_000)
        target = FaceRef(asset_id, face_index)
        # Faces already named as someone else keep their name: only an explicit nameFace changes them.
        chosen = [target, *(h.face for h in hits if h.face != target and h.person_id in (None, person.id))]
        await self._faces.assign(tenant_id, chosen, person.id)
        for asset in dict.fromkeys(ref.asset_id for ref in chosen):
            await self._queue.enqueue(REFRESH_JOB, tenant_id, asset)  # persons are searchable: re-index
        return person, len(chosen)

    async def search_by_image(self, tenant_id: str, data: bytes, threshold: float) -> list[FaceMatch]:
        """Matches of the largest face in an uploaded photo (nothing is stored)."""
        _check_threshold(threshold)
        try:
            await self._cpu.run(probe, data, max_pixels=self._max_pixels)
            image = await self._cpu.run(decode, data, target=PREVIEW_MAX, max_pixels=self._max_pixels)
        except ImageRejected as exc:
            raise FaceError("REJECTED_IMAGE", str(exc)) from exc
        provider = (await self._choose(tenant_id)).provider_of("faces") if self._choose else "local"
        if provider != "local":
            try:
                return await self._faces.image_matches(
                    tenant_id, image, min_similarity=threshold, limit=MAX_MATCHES
                )
            except NoFaceFound as exc:
                raise FaceError("NO_FACE", f"{exc}: send a photo with a visible, frontal face") from exc
            except AnalyzerInputError as exc:
                raise FaceError("REJECTED_IMAGE", str(exc)) from exc
        analyzer = self._analyzers.get("faces", "local")
        findings = await analyzer.analyze(AnalysisInput(image=image, jpeg=b"", original_key=""), {})
        if not findings.faces:
            raise FaceError(
                "NO_FACE", "no face found in the image: send a photo with a visible, frontal face"
            )
        largest = max(findings.faces, key=lambda f: f.box.width * f.box.height)
        found = await self._faces.matches(tenant_id, largest, min_similarity=threshold, limit=MAX_MATCHES)
        return found[:MAX_MATCHES]
