"""A custom concept end to end through the services, with the real classifier on real photos: defined from
a few examples, refused with too few, trained in the background, activated as a reprocess batch whose runs
label the archive's matches (found by the name, a parent and a synonym), run on new assets at indexing,
and retrained after a wrong hit is named negative."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from catalog.domain.concepts.model import ConceptError, VersionStatus
from catalog.domain.model import BatchStatus
from indexer.recognizers.local.efficientnet_onnx import ensure_onnx_model
from indexer.recognizers.local.labels import EfficientNetLabeler
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from services.concepts import ConceptService
from services.search_query import SearchSpec
from tests.conftest import make_tenant
from tests.indexer.concepts.photos import augmented_crops, others, subject

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("models")
    ensure_onnx_model(cache)
    return cache


@pytest.fixture
async def real(settings: Settings, model_dir: Path) -> AsyncIterator[Services]:
    svc = build(settings, labeler=EfficientNetLabeler(model_dir))
    yield svc
    svc.close()


def jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


async def ingest(services: Services, tenant: str, images: list[Image.Image], prefix: str) -> list[str]:
    ids = []
    for n, img in enumerate(images):
        outcome = await services.ingestor.ingest(tenant, jpeg(img), f"{prefix}-{n}.jpg")
        assert outcome.asset is not None
        ids.append(outcome.asset.id)
    return ids


async def found(services: Services, tenant: str, label: str, *, guesses: bool = True) -> set[str]:
    """The assets a label filter finds; with `guesses`, those where the concept applies under 50 too (its
    calibrated threshold may be lower: any machine label under 50 is a guess, Label.guess)."""
    spec = SearchSpec(labels=(label,), include_guesses=guesses, first=100)
    query = await services.queries.build(tenant, spec)
    return {h.asset_id for h in (await services.index.search(tenant, query)).hits}


async def test_a_concept_learned_from_examples_labels_the_archive(real: Services) -> None:
    services, concepts = real, real.concepts
    assert isinstance(concepts, ConceptService)
    tenant, _ = await make_tenant(services, "acme")
    temple = await ingest(services, tenant, augmented_crops(subject(), 12, seed=1), "temple")
    rest = [c for img in others().values() for c in augmented_crops(img, 2, seed=2)]
    other = await ingest(services, tenant, rest, "other")
    await services.worker().run_until_idle()

    # every asset has its feature vector, from the labels' own forward pass
    model = concepts._current_model()
    assert len(await services.catalog.get_features(tenant, temple + other, model)) == len(temple + other)

    concept = await concepts.create(
        tenant, "Temple garden", positives=temple[:4], parents=["Building"], synonyms=["pagoda"]
    )
    with pytest.raises(ConceptError, match="it has 4: add 1 more"):
        await concepts.train(tenant, "Temple garden")
    with pytest.raises(ConceptError) as exists:
        await concepts.create(tenant, "temple GARDEN", positives=temple[:1])
    assert exists.value.code == "EXISTS"
    await concepts.add_examples(tenant, "Temple garden", positives=temple[4:8], negatives=other[:4])

    first = await concepts.train(tenant, "Temple garden")
    assert (first.number, first.status) == (1, VersionStatus.TRAINING)
    with pytest.raises(ConceptError) as untrained:
        await concepts.activate(tenant, "Temple garden")
    assert untrained.value.code == "NOT_TRAINED"
    await services.worker().run_until_idle()
    v1 = await services.catalog.get_version(tenant, concept.id, 1)
    assert v1 is not None and v1.status == VersionStatus.READY and v1.metrics is not None
    assert v1.metrics.positives == 8 and v1.metrics.negatives >= len(other)  # named + background
    assert v1.metrics.f1 >= 0.9
    assert v1.scored  # every stored vector scored once, in the training job
    kept = await services.catalog.ranked_concept_scores(
        tenant, concept.id, 1, descending=True, start=None, limit=999
    )
    assert {a for a, _ in kept} == set(temple + other)

    active, batch = await concepts.activate(tenant, "Temple garden")
    assert active.active_version == 1 and batch is not None and batch.total == len(temple + other)
    await services.worker().run_until_idle()
    done = await services.catalog.get_batch(tenant, batch.id)
    assert done is not None and done.status == BatchStatus.COMPLETED
    # the batch's runs gained the label on the temple pictures, held-out ones included, and nowhere else
    records = await services.catalog.change_records(tenant, batch_id=batch.id)
    gained = {r.asset_id for r in records if "Temple garden" in r.change.gained}
    assert gained == set(temple)
    assert await found(services, tenant, "Temple garden") == set(temple)
    sure = await found(services, tenant, "Temple garden", guesses=False)
    assert sure <= set(temple) and len(sure) >= len(temple) - 2  # those at 50 or more
    assert await found(services, tenant, "Building") >= set(temple)  # a parent
    assert await found(services, tenant, "pagoda") == set(temple)  # a synonym
    result = await services.catalog.get_result(tenant, temple[10], "concept:Temple garden")
    assert result is not None and result.model_version == "v1"
    label = result.findings.labels[0]
    assert label.parents == ("Building",)
    assert float(result.parameters["threshold"]) <= label.confidence <= 100  # the calibrated probability

    # a new asset is scored at indexing
    (late,) = await ingest(services, tenant, augmented_crops(subject(), 1, seed=7), "late")
    await services.worker().run_until_idle()
    assert late in await found(services, tenant, "Temple garden")
    late_score = await services.catalog.ranked_concept_scores(
        tenant, concept.id, 1, descending=True, start=None, limit=999
    )
    assert late in {a for a, _ in late_score}  # the version's ranking gained it at indexing

    # a wrong hit named negative: a new version with other metrics and examples
    await concepts.add_examples(tenant, "Temple garden", negatives=[late])
    second = await concepts.train(tenant, "Temple garden")
    await services.worker().run_until_idle()
    v2 = await services.catalog.get_version(tenant, concept.id, second.number)
    assert v2 is not None and v2.status == VersionStatus.READY and v2.metrics is not None
    assert second.number == 2 and v2.metrics.positives == 8
    assert v2.metrics != v1.metrics
    ranked = await concepts.suggestions(tenant, active, first=3)
    assert {s.asset_id for s in ranked} <= set(temple[8:]) | {late} | set(other)
    assert ranked[0].asset_id in set(temple[8:])  # the best non-example is a held-out temple crop
