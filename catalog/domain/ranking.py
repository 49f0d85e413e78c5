"""How search ranks and summarises, whatever index answers: both search adapters share these numbers."""

from __future__ import annotations

# A full-text hit (filename, label or person words) ranks like a 50 % label match:
# below confident labels, above weak ones.
FILENAME_SCORE = 50.0
# Facet values returned per facet, most frequent first.
FACET_LIMIT = 25
# Semantic neighbours below this cosine similarity are noise for MiniLM-sized text embeddings.
SEMANTIC_FLOOR = 0.3
# A text query's score: mostly keyword (label confidence / full-text), partly meaning.
KEYWORD_WEIGHT, SEMANTIC_WEIGHT = 0.7, 0.3


def meaning(similarity: float) -> float | None:
    """A hit's explanation by meaning: its cosine similarity when that counted (at or over the floor)."""
    return round(similarity, 4) if similarity >= SEMANTIC_FLOOR else None
