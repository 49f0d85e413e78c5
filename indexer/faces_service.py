"""Face collection use cases: matches of a face, naming a face (and every match), search by a photo."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.face_identity import SAME_PERSON_DISTANCE, max_distance, similarity
from catalog.model import Face, FaceRef, Person
from catalog.ports import CatalogStore, FaceCollection, JobQueue
from indexer.analyzers import AnalyzerRegistry
from indexer.cpu import CpuPool
from indexer.imaging import ImageRejected, probe
from indexer.ingest import REFRESH_JOB
from indexer.recognizers.ports import AnalysisInput
from indexer.renditions import PREVIEW_MAX, decode

MAX_MATCHES = 500
MAX_NAME = 200


class FaceError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class FaceMatch:
    face: FaceRef
    similarity: float


class FaceService:
    def __init__(
        self,
        catalog: CatalogStore,
        faces: FaceCollection,
        queue: JobQueue,
        analyzers: AnalyzerRegistry,
        cpu: CpuPool,
        *,
        max_pixels: int,
    ) -> None:
        self._catalog = catalog
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
            raise FaceError(
                "NO_SUCH_FACE", f"asset {asset_id} has {len(faces)} faces: faceIndex 0–{len(faces) - 1}"
            )
        return faces[face_index]

    async def _matches(
        self, tenant_id: str, embedding: tuple[float, ...], threshold: float, exclude: FaceRef | None
    ) -> list[FaceMatch]:
        hits = await self._faces.search(
            tenant_id, embedding, max_distance=max_distance(threshold), limit=MAX_MATCHES + 1
        )
        return [FaceMatch(h.face, similarity(h.distance)) for h in hits if h.face != exclude][:MAX_MATCHES]

    async def matches(
        self, tenant_id: str, asset_id: str, face_index: int, threshold: float
    ) -> list[FaceMatch]:
        face = await self._face(tenant_id, asset_id, face_index)
        return await self._matches(tenant_id, face.embedding, threshold, FaceRef(asset_id, face_index))

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
        hits = await self._faces.search(
            tenant_id, face.embedding, max_distance=SAME_PERSON_DISTANCE, limit=10_000
        )
        target = FaceRef(asset_id, face_index)
        # Faces already named as someone else keep their name: only an explicit nameFace changes them.
        chosen = [target, *(h.face for h in hits if h.face != target and h.person_id in (None, person.id))]
        await self._faces.assign(tenant_id, chosen, person.id)
        for asset in dict.fromkeys(ref.asset_id for ref in chosen):
            await self._queue.enqueue(REFRESH_JOB, tenant_id, asset)  # persons are searchable: re-index
        return person, len(chosen)

    async def search_by_image(self, tenant_id: str, data: bytes, threshold: float) -> list[FaceMatch]:
        """Matches of the largest face in an uploaded photo (nothing is stored)."""
        try:
            await self._cpu.run(probe, data, max_pixels=self._max_pixels)
            image = await self._cpu.run(decode, data, target=PREVIEW_MAX, max_pixels=self._max_pixels)
        except ImageRejected as exc:
            raise FaceError("REJECTED_IMAGE", str(exc)) from exc
        analyzer = self._analyzers.get("faces", "local")
        findings = await analyzer.analyze(AnalysisInput(image=image, jpeg=b"", original_key=""), {})
        if not findings.faces:
            raise FaceError(
                "NO_FACE", "no face found in the image: send a photo with a visible, frontal face"
            )
        largest = max(findings.faces, key=lambda f: f.box.width * f.box.height)
        return await self._matches(tenant_id, largest.embedding, threshold, None)
