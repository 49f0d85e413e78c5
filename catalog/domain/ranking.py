"""How search ranks and summarises, whatever index answers: both search adapters share these numbers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from catalog.domain.labels.detections import GUESS_BELOW
from catalog.domain.metadata import MEANING_MIN_CONFIDENCE
from catalog.domain.ports import IndexDocument

# A full-text hit (filename, label or person words) ranks like a 50 % label match:
# below confident labels, above weak ones.
FILENAME_SCORE = 50.0
# Facet values returned per facet, most frequent first.
FACET_LIMIT = 25
# Semantic neighbours below this cosine similarity are noise for MiniLM-sized text embeddings.
SEMANTIC_FLOOR = 0.3
# Over the floor, closeness is relative: MiniLM puts "animal" at 0.51 from a cat photo and 0.35 from an
# astronaut. A neighbour counts when it is within MEANING_MARGIN of the query's best neighbour in the tenant,
# or at MEANING_SURE and over whatever the best (a query several photos fit well: "a person" at 0.66, 0.46).
MEANING_MARGIN = 0.1
MEANING_SURE = 0.45
# Words of a free-text query that name nothing a filename, label or person name holds ("a person": "a"
# would be a prefix of every Animal); a query of nothing else keeps them.
FUNCTION_WORDS = frozenset({"a", "an", "the", "of", "in", "on", "at", "with", "and", "for"})
# A text query's score: mostly keyword (label confidence / full-text), partly meaning.
KEYWORD_WEIGHT, SEMANTIC_WEIGHT = 0.7, 0.3
# A label under MEANING_MIN_CONFIDENCE that a text query finds by its name (a guess: the detector's "Dog" 32
# on a bus) counts for this share of its confidence: under what a hit at meaning MEANING_SURE scores, so it
# ranks below every hit whose meaning is sure; where its meaning counts too, both add. On the meaning bench
# and on 33 other photos, 1 of 11 such hits was right, against 14 of 27 hits by meaning alone at 0.45 or more.
WEAK_NAME_WEIGHT = SEMANTIC_WEIGHT * 100 * MEANING_SURE / (KEYWORD_WEIGHT * MEANING_MIN_CONFIDENCE)


def meaning_cut(best: float | None) -> float:
    """The least cosine similarity a neighbour of a query needs to count, given the best any document of the
    tenant (the archive, or its training examples) has with it; filters only narrow what passes."""
    if best is None:
        return SEMANTIC_FLOOR
    return max(SEMANTIC_FLOOR, min(best - MEANING_MARGIN, MEANING_SURE))


def meaning(similarity: float, cut: float = SEMANTIC_FLOOR) -> float | None:
    """A hit's explanation by meaning: its cosine similarity when that counted (at or over the cut)."""
    return round(similarity, 4) if similarity >= cut else None


def query_words(words: Sequence[str]) -> list[str]:
    """The words of a free-text query that must each be found: its FUNCTION_WORDS dropped, unless nothing
    else is left. Each is found as a prefix of a word of the filenames, persons or the image's text
    (`document_words`, IndexDocument.text), or as a whole word of a label name (`label_words`, by
    query_terms.word_forms: "cars" finds Car, "car" does not find Carnivore)."""
    kept = [w for w in words if w.lower() not in FUNCTION_WORDS]
    return kept or list(words)


def document_words(doc: IndexDocument) -> str:
    """The words a text query finds a document by as prefixes ("IMG_00" finds IMG_0001.jpg), besides the
    text in its image: its filenames and its persons."""
    return " ".join([doc.filename, *doc.persons])


def label_words(doc: IndexDocument) -> str:
    """The words a text query finds a document by as whole words: the names of its labels at
    MEANING_MIN_CONFIDENCE or more. A weaker label (the detector's "Dog" 32 on a bus) is found by its name
    at its own confidence, explained by `matches`, not as a word scored like FILENAME_SCORE."""
    return " ".join(lb.name for lb in doc.labels if lb.confidence >= MEANING_MIN_CONFIDENCE)


def document_terms(doc: IndexDocument) -> dict[str, tuple[float, str]]:
    """Each name a label condition may use (a label or a parent, lower-cased) → (the best confidence of the
    labels reaching it, that label's name): what both indexes store and match label conditions against."""
    best: dict[str, tuple[float, str]] = {}
    for label in doc.labels:
        for name in (label.name, *label.parents):
            term = name.lower()
            if term not in best or label.confidence > best[term][0]:
                best[term] = (label.confidence, label.name)
    return best


def facet_labels(doc: IndexDocument, terms: dict[str, tuple[float, str]] | None = None) -> dict[str, float]:
    """The label facet values the document counts under, each with the confidence a label condition on its
    name reaches: its labels whose name is a finding, reached at GUESS_BELOW or more (the label itself, or a
    label beneath it: a reviewer's confirmed Missile 100 makes its parent Weapon, a guess at 42 on its own,
    a finding). A model's guess is no finding: the label facets leave it out, so a facet's count is what a
    label filter on it finds (SearchQuery.threshold). `terms`: document_terms(doc), when already made."""
    reached = document_terms(doc) if terms is None else terms
    out: dict[str, float] = {}
    for label in doc.labels:
        confidence = reached[label.name.lower()][0]
        if confidence >= GUESS_BELOW:
            out[label.name] = confidence
    return out


def one_spelling(counts: Mapping[str, int]) -> Counter[str]:
    """Label facet counts with the spellings of one name counted as one ("Big Cat" from the model, "Big cat"
    from a custom concept), as a label filter matches them (case-insensitive), under the spelling most
    documents have (a tie: the first in code-point order). A document has a name once (merge_labels)."""
    by_name: dict[str, Counter[str]] = {}
    for value, n in counts.items():
        if n > 0:
            by_name.setdefault(value.casefold(), Counter())[value] += n
    return Counter(
        {
            min(spellings, key=lambda v: (-spellings[v], v)): spellings.total()
            for spellings in by_name.values()
        }
    )
