"""The models this server runs now for a tenant, as runs record them: what catalog.domain.model_census
judges current runs by. `mediasight outdated` and modelVersions (ModelVersions), a reprocess(outdated) batch
when it starts (ReprocessService) and each of its assets when its job runs (Pipeline) all ask here.

Judged names: the image analyzers (with the tenant's provider, or the batch's), `embedding` (this server's
text embedder) and `concept:<name>` (the concept's active version); with any image analyzer, the video
analysis's own models too (model_census.VIDEO: TransNetV2 and the keyframe labeler, judged under labels).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence

from catalog.domain.concepts.model import ANALYZER_PREFIX, concept_of
from catalog.domain.model import Asset
from catalog.domain.model_census import EMBEDDING, ModelRef, outdated_analyzers
from catalog.domain.ports import CatalogStore
from catalog.domain.video.findings import VIDEO
from indexer.analyzers import IMAGE_ANALYZERS, AnalyzerChoice, AnalyzerRegistry, UnknownAnalyzerError
from indexer.concepts.stage import concept_model
from indexer.recognizers.ports import TextEmbedder, embedder_model, model_of
from indexer.video.video_pipeline import is_video
from services.reprocessing.requests import ReprocessError


class ServerModels:
    """Builds each analyzer once (the registry's: its weights load on first use, not here); the video
    analysis's models are hashed once per process (`video`: VideoWork.model, off the event loop)."""

    def __init__(
        self,
        catalog: CatalogStore,
        analyzers: AnalyzerRegistry,
        *,
        video: Callable[[], Awaitable[ModelRef]] | None = None,
        embedder: TextEmbedder | None = None,
        features: Callable[[], str | None] | None = None,
    ) -> None:
        self._catalog = catalog
        self._analyzers = analyzers
        self._video = video
        self._embedder = embedder
        self._features = features  # the feature vectors this server makes (None: none)

    def check(self, names: Sequence[str]) -> None:
        """Refuse (UNKNOWN_ANALYZER) a name that is no image analyzer, embedding or concept."""
        known = (*IMAGE_ANALYZERS, *((EMBEDDING,) if self._embedder is not None else ()))
        unknown = [n for n in names if n not in known and concept_of(n) is None]
        if unknown:
            raise ReprocessError(
                "UNKNOWN_ANALYZER",
                f"unknown analyzer(s) {unknown}: choose from {', '.join(known)}, {ANALYZER_PREFIX}<name>",
            )

    async def judged(self, tenant_id: str, tenant: AnalyzerChoice) -> tuple[str, ...]:
        """What an upgrade may leave outdated in the tenant's archive: its analyzers, its embedding (when
        this server embeds) and its active concepts."""
        concepts = [c.analyzer for c in await self._catalog.list_concepts(tenant_id) if c.active_version]
        embedding = (EMBEDDING,) if self._embedder is not None else ()
        return (*tenant.analyzers, *embedding, *concepts)

    async def of(self, tenant_id: str, choice: AnalyzerChoice) -> dict[str, ModelRef]:
        """The model this server makes each of the choice's results with now (with the choice's providers):
        a concept that is not active, or the embedding of a server without an embedder, is left out (none
        of their runs can be judged older). UNKNOWN_PROVIDER: a provider this server does not have."""
        out: dict[str, ModelRef] = {}
        for name in choice.analyzers:
            concept = concept_of(name)
            if name == EMBEDDING:
                if self._embedder is not None:
                    out[name] = embedder_model(self._embedder)
            elif concept is not None:
                found = await self._catalog.get_concept(tenant_id, concept)
                if found is not None and found.active_version is not None:
                    out[name] = concept_model(found.active_version)
            else:
                try:
                    out[name] = model_of(self._analyzers.get(name, choice.provider_of(name)))
                except UnknownAnalyzerError as exc:
                    raise ReprocessError("UNKNOWN_PROVIDER", str(exc)) from exc
        if self._video is not None and any(n in IMAGE_ANALYZERS for n in out):
            out[VIDEO] = await self._video()
        return out

    async def untrained(self, tenant_id: str, names: Sequence[str]) -> dict[str, str]:
        """{concept: why} of the named concepts whose active version learnt from feature vectors this server
        no longer makes (another classifier): reprocessing cannot bring those up to date, a training can."""
        now = self._features() if self._features is not None else None
        if now is None:  # no feature vectors here: nothing to compare a version with
            return {}
        out = {}
        for name in names:
            concept = await self._catalog.get_concept(tenant_id, concept_of(name) or "")
            if concept is None or concept.active_version is None:
                continue
            version = await self._catalog.get_version(tenant_id, concept.id, concept.active_version)
            if version is not None and version.feature_model != now:
                out[name] = (
                    f"its version {version.number} learnt from {version.feature_model} vectors and this "
                    f"server makes {now}: train it again (`mediasight concept train`), then activate it"
                )
        return out

    async def outdated_of(self, asset: Asset, choice: AnalyzerChoice) -> AnalyzerChoice:
        """Of the choice, what another model made on this asset (a batch of reprocess(outdated), when the
        asset's job runs): an asset outdated in its labels only does not run its faces and text again; a
        video whose shots older models read runs again the analyzers that read them."""
        server = await self.of(asset.tenant_id, choice)
        names = list(server) if is_video(asset) else [n for n in server if n != VIDEO]
        made = await self._catalog.current_models(asset.tenant_id, [asset.id], names)
        stale = set(outdated_analyzers(made.get(asset.id, {}), server))
        return dataclasses.replace(
            choice,
            analyzers=tuple(n for n in choice.analyzers if n in stale),
            providers={n: p for n, p in choice.providers.items() if n in stale},
        )
