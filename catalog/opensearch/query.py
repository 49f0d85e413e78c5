"""OpenSearch request bodies with the embedded index's search semantics, and the page read back from them.

The rules are those of `catalog.sqlite.search.index` (the contract); here is how each maps onto the query DSL:

- tenant: a `term` filter on every request.
- label query: a `nested` query on `terms` (label and parent names, lower-cased, each with the confidence
  of the best label reaching it) with `score_mode: max` around a `function_score` that replaces the score
  by the confidence: the hit's score *is* the best confidence reached, at each label's own threshold.
  A `label_match` inner hit (the best term) explains it.
- text query: `dis_max` (the larger wins) of that nested query on the whole text, lower-cased (a label under
  MEANING_MIN_CONFIDENCE scored WEAK_NAME_WEIGHT of its confidence: a second `function_score` function), and a
  `constant_score` of FILENAME_SCORE for all of its words: each a prefix in `meta` or `ocr`, or a whole
  word of `label_words` in any of its word_forms ("cars": car or cars).
- labels and text together: the label query becomes a filter (restricts), the text ranks.
- a tone the text named (query.tone): a `term` filter on `tone`; named with nothing else, every document of
  the tone scores FILENAME_SCORE as a match of the words (`constant_score`, named like them).
- no query: every document, scored by its top confidence (`function_score` on `top_confidence`).
- a label ceiling (max_confidence < 100, labelSource MACHINE): every label condition's range gets it as its
  upper bound; with no query, a `nested` max of the confidences under it scores each document.
- semantic blend (text + embedding): `bool.should` of the keyword query (boost KEYWORD_WEIGHT) and a
  radial k-NN query (`min_score` at the query's meaning_cut), re-scored as SEMANTIC_WEIGHT·100·cosine. The
  cut needs the best neighbour in the tenant's partition first: a k=1 k-NN request (`best_meaning_body`).
- order: `sort` on (key desc, asset_id desc), `search_after` from the opaque cursor; the key is the score,
  or a date (epoch milliseconds) for the date orders.

Score parity: real OpenSearch keeps scores as 32-bit floats, so a confidence like 87.3 ranks and
paginates exactly but a blended score differs from SQLite's (rounded to 4 decimals) past the 7th
significant digit. Order and membership match; no caller should compare blended scores for equality.
In confidence order a blended text query ranks by the query score, so there a label-ranked hit reports
its label's confidence as its score (the embedded index reports the blend). `roots_only` is answered by
`opensearch_roots`, on top of this builder.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from catalog.domain.cursor import SortKey, encode_cursor
from catalog.domain.labels.detections import GUESS_BELOW
from catalog.domain.labels.query_terms import word_forms
from catalog.domain.metadata import MEANING_MIN_CONFIDENCE
from catalog.domain.ports import (
    FacetValue,
    LabelMatch,
    SearchHit,
    SearchPage,
    SearchQuery,
    SortOrder,
    TrainingExamples,
)
from catalog.domain.ranking import (
    FACET_LIMIT,
    FILENAME_SCORE,
    KEYWORD_WEIGHT,
    SEMANTIC_FLOOR,
    SEMANTIC_WEIGHT,
    WEAK_NAME_WEIGHT,
    meaning,
    meaning_cut,
    one_spelling,
    query_words,
)

# What the index analyzer (`words`: pattern tokenizer, lowercase, asciifolding) makes of a word, in
# Python: prefix queries are not analyzed, so the query side must cut and fold words the same way.
TOKEN_PATTERN = r"[\p{L}\p{N}]+"  # Java regex of the index's pattern tokenizer: each match is a token
_WORD = re.compile(r"\w+", re.UNICODE)  # the user's words, as the embedded index finds them
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "þ": "th"})
# A word the analyzer cuts in several tokens ("img_0042") is a phrase whose last token is a prefix;
# that prefix expands to at most this many terms (a single-token word has no such limit).
PHRASE_PREFIX_EXPANSIONS = 1000
MAX_PAGE = 9_999  # index.max_result_window (10 000) less the look-ahead hit
LABEL_MATCH = "label_match"  # inner hit and query names
TEXT_MATCH = "text"
Thresholds = list[tuple[str, float]]  # (lower-cased label or parent name, minimum confidence)


def iso(value: datetime) -> str:
    """A date as OpenSearch reads it; a naive datetime is UTC (as the embedded index takes it)."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def tokens(text: str) -> list[str]:
    """Lower-cased, diacritics stripped (the `lowercase` + `asciifolding` filters), cut into tokens."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_FOLD))
    return _TOKEN.findall("".join(c for c in decomposed if not unicodedata.combining(c)))


def _word_query(field: str, word_tokens: list[str]) -> dict[str, Any]:
    if len(word_tokens) == 1:
        return {"prefix": {field: {"value": word_tokens[0]}}}
    phrase = {"query": " ".join(word_tokens), "max_expansions": PHRASE_PREFIX_EXPANSIONS}
    return {"match_phrase_prefix": {field: phrase}}


def _whole_word_query(field: str, word: str) -> dict[str, Any]:
    """Any of the word's word_forms as a whole word of `field` (a form the analyzer cuts in several tokens:
    those tokens next to each other)."""
    single: list[str] = []
    clauses: list[dict[str, Any]] = []
    for form in word_forms(word):
        form_tokens = tokens(form)
        if len(form_tokens) == 1:
            single.append(form_tokens[0])
        elif form_tokens:
            clauses.append({"match_phrase": {field: {"query": " ".join(form_tokens)}}})
    if single:
        clauses.insert(0, {"terms": {field: list(dict.fromkeys(single))}})
    return {"bool": {"should": clauses, "minimum_should_match": 1}} if clauses else {"match_none": {}}


def words_query(text: str) -> dict[str, Any] | None:
    """Every word of the user's text: as a prefix in `meta` or `ocr`, or as a whole word of `label_words`
    (FTS5's `({meta ocr} : "w"* OR labels : ("w" ...)) AND ...`: search_sql.fts_match).

    No query syntax of the user reaches OpenSearch: words become term-level queries. Function words ("a",
    "the") count only in a query of nothing else (ranking.query_words)."""
    clauses = []
    for word in query_words(_WORD.findall(text)):
        word_tokens = tokens(word)
        if word_tokens:
            either = [_word_query(field, word_tokens) for field in ("meta", "ocr")]
            either.append(_whole_word_query("label_words", word))
            clauses.append({"bool": {"should": either, "minimum_should_match": 1}})
    return {"bool": {"filter": clauses}} if clauses else None


def phrase_query(field: str, text: str) -> dict[str, Any] | None:
    """The words of `text` next to each other in this order; None for a phrase of no words."""
    found = _WORD.findall(text)
    return {"match_phrase": {field: {"query": " ".join(found)}}} if found else None


def thresholds(query: SearchQuery, names: tuple[str, ...]) -> Thresholds:
    return [(name.lower(), query.threshold(name)) for name in names]


def _range(minimum: float, ceiling: float) -> dict[str, Any]:
    """Confidences from `minimum`, up to `ceiling` when it is below 100 (labelSource MACHINE)."""
    bounds = {"gte": minimum, **({"lte": ceiling} if ceiling < 100 else {})}
    return {"range": {"terms.confidence": bounds}}


def _terms_at(names: Thresholds, ceiling: float = 100.0) -> dict[str, Any]:
    """Any of these terms at its own threshold (one `terms` clause per distinct threshold)."""
    by_threshold: dict[float, list[str]] = {}
    for name, minimum in names:
        by_threshold.setdefault(minimum, []).append(name)
    clauses = [
        {"bool": {"filter": [{"terms": {"terms.term": group}}, _range(t, ceiling)]}}
        for t, group in by_threshold.items()
    ]
    return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses, "minimum_should_match": 1}}


def label_filter(names: Thresholds, ceiling: float = 100.0) -> dict[str, Any]:
    return {"nested": {"path": "terms", "query": _terms_at(names, ceiling)}}


def label_scored(names: Thresholds, ceiling: float = 100.0, *, by_name: bool = False) -> dict[str, Any]:
    """Score = the best confidence reached through any of `names`, explained by a `label_match` hit.
    `by_name` (a text query naming the label): WEAK_NAME_WEIGHT of it under MEANING_MIN_CONFIDENCE."""
    confidence = {"field_value_factor": {"field": "terms.confidence"}}
    scored: dict[str, Any] = {"query": _terms_at(names, ceiling), **confidence, "boost_mode": "replace"}
    if by_name:
        sure = {"range": {"terms.confidence": {"gte": MEANING_MIN_CONFIDENCE}}}
        weak = {"field_value_factor": {"field": "terms.confidence", "factor": WEAK_NAME_WEIGHT}}
        del scored["field_value_factor"]
        scored["functions"] = [
            {"filter": sure, **confidence},
            {"filter": {"bool": {"must_not": [sure]}}, **weak},
        ]
        scored["score_mode"] = "first"
    return {
        "nested": {
            "path": "terms",
            "score_mode": "max",
            "_name": LABEL_MATCH,
            "query": {"function_score": scored},
            "inner_hits": {
                "name": LABEL_MATCH,
                "size": 1,
                "_source": False,
                "sort": [{"terms.confidence": "desc"}],
                "docvalue_fields": ["terms.term", "terms.label", "terms.confidence"],
            },
        }
    }


def _text_scored(found: dict[str, Any], boost: float) -> dict[str, Any]:
    return {"constant_score": {"filter": found, "boost": boost, "_name": TEXT_MATCH}}


def semantic_query(
    tenant_id: str, embedding: tuple[float, ...], cut: float = SEMANTIC_FLOOR
) -> dict[str, Any]:
    """Neighbours at cosine ≥ cut (meaning_cut), scored SEMANTIC_WEIGHT·100·cosine.

    The k-NN plugin scores cosinesimil as (1 + cos) / 2; radial search (`min_score`) returns every
    neighbour over the cut, the tenant filter runs inside the graph search (efficient filtering)."""
    knn = {
        "vector": list(embedding),
        "min_score": (1.0 + cut) / 2.0,
        "filter": {"term": {"tenant_id": tenant_id}},
    }
    return {
        "function_score": {
            "query": {"knn": {"embedding": knn}},
            "script_score": {
                "script": {
                    "source": "params.w * (2.0 * _score - 1.0)",
                    "params": {"w": 100 * SEMANTIC_WEIGHT},
                }
            },
            "boost_mode": "replace",
        }
    }


def _confidence_blend(
    label: dict[str, Any], text: str, query: SearchQuery, meaning: dict[str, Any]
) -> dict[str, Any]:
    """Confidence order of a blended text query: the label's own confidence where the label ranked the
    hit in the keyword part (sort key COALESCE(confidence, score) of the embedded index), else the blend.

    The label ranks the keyword part when it reaches FILENAME_SCORE, or when the words do not match."""
    terms, floor, ceiling = query.text_label_terms(), query.min_confidence, query.max_confidence
    found = words_query(text)
    if found is None:
        label_wins = label_filter([(t, floor) for t in terms], ceiling)
    else:
        alone = {
            "bool": {"filter": [label_filter([(t, floor) for t in terms], ceiling)], "must_not": [found]}
        }
        strong = label_filter([(t, max(floor, FILENAME_SCORE)) for t in terms], ceiling)
        label_wins = {"bool": {"should": [strong, alone], "minimum_should_match": 1}}
    should = [{"bool": {"must": [label], "filter": [label_wins]}}]
    if found is not None:
        text_part = _text_scored(found, KEYWORD_WEIGHT * FILENAME_SCORE)
        should.append({"bool": {"must": [text_part], "must_not": [label_wins]}})
    should.append({"bool": {"must": [meaning], "must_not": [label_wins]}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def meaning_vector(query: SearchQuery, *, dimension: int, semantic: bool) -> tuple[float, ...] | None:
    """The query's embedding when its meaning joins the ranking (a text query, semantic search on)."""
    vector = query.text_embedding or ()
    usable = semantic and (query.text or "").strip() and len(vector) == dimension and any(vector)
    return vector if usable else None


def partition(query: SearchQuery) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(filter, must_not) of the tenant's partition the query reads: its training examples, or the archive
    (documents without the field)."""
    example = {"term": {"training_example": True}}
    return ([example], []) if query.training_examples is TrainingExamples.ONLY else ([], [example])


def best_meaning_body(tenant_id: str, query: SearchQuery, vector: tuple[float, ...]) -> dict[str, Any]:
    """The request for the query's nearest neighbour in the tenant's partition (its score sets the cut)."""
    keep, drop = partition(query)
    within = {"bool": {"filter": [{"term": {"tenant_id": tenant_id}}, *keep], "must_not": drop}}
    return {
        "query": {"knn": {"embedding": {"vector": list(vector), "k": 1, "filter": within}}},
        "size": 1,
        "_source": False,
        "track_total_hits": False,
    }


def read_meaning_cut(response: dict[str, Any]) -> float:
    """The meaning_cut of a `best_meaning_body` response (cosinesimil scores are (1 + cos) / 2)."""
    found = response["hits"]["hits"]
    return meaning_cut(2.0 * float(found[0]["_score"]) - 1.0 if found else None)


def scoring(
    tenant_id: str, query: SearchQuery, *, dimension: int, semantic: bool, cut: float = SEMANTIC_FLOOR
) -> dict[str, Any]:
    """The part of the query that finds and ranks; filters come on top."""
    text = (query.text or "").strip()
    if text:
        named = [(t, query.min_confidence) for t in query.text_label_terms()]
        label = label_scored(named, query.max_confidence, by_name=True)
        found = words_query(text)
        keyword = [label] if found is None else [label, _text_scored(found, FILENAME_SCORE)]
        vector = meaning_vector(query, dimension=dimension, semantic=semantic)
        if vector is None:
            return {"dis_max": {"queries": keyword}}
        meaning = semantic_query(tenant_id, vector, cut)
        if query.sort == SortOrder.CONFIDENCE:  # ranked by the label's own confidence
            return _confidence_blend(label_scored(named, query.max_confidence), text, query, meaning)
        blend = [{"dis_max": {"queries": keyword, "boost": KEYWORD_WEIGHT}}, meaning]
        return {"bool": {"should": blend, "minimum_should_match": 1}}
    if query.labels:
        return label_scored(thresholds(query, query.labels), query.max_confidence)
    if query.tone:  # the query named a tone and nothing else: its words match the tone's documents
        return _text_scored({"term": {"tone": query.tone}}, FILENAME_SCORE)
    if query.max_confidence < 100:  # every document with a label under the ceiling, at the best of those
        return {
            "nested": {
                "path": "terms",
                "score_mode": "max",
                "query": {
                    "function_score": {
                        "query": {"bool": {"filter": [_range(query.min_confidence, query.max_confidence)]}},
                        "field_value_factor": {"field": "terms.confidence"},
                        "boost_mode": "replace",
                    }
                },
            }
        }
    return {
        "function_score": {
            "query": {"range": {"top_confidence": {"gte": query.min_confidence}}},
            "field_value_factor": {"field": "top_confidence"},
            "boost_mode": "replace",
        }
    }


def narrowing(query: SearchQuery) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
    """(filter, must_not) clauses of the filters that only narrow; None when nothing can match."""
    ceiling = query.max_confidence
    keep: list[dict[str, Any]] = [
        label_filter(thresholds(query, query.any_of(n)), ceiling) for n in query.all_labels
    ]
    drop = [label_filter(thresholds(query, query.not_labels), ceiling)] if query.not_labels else []
    if query.text and query.text.strip() and query.labels:
        keep.append(
            label_filter(thresholds(query, query.labels), ceiling)
        )  # the labels restrict, the text ranks
    if query.media_types:
        keep.append({"terms": {"media_type": list(query.media_types)}})
    for field, op, value in (
        ("created_at", "gte", query.created_after),
        ("created_at", "lt", query.created_before),
        ("captured_at", "gte", query.captured_after),
        ("captured_at", "lt", query.captured_before),
    ):
        if value is not None:
            keep.append({"range": {field: {op: iso(value)}}})
    for op, seconds in (("gte", query.min_duration), ("lte", query.max_duration)):
        if seconds is not None:
            keep.append({"range": {"duration": {op: seconds}}})  # a document without one: an image
    if query.exclude_moderation:
        keep.append({"term": {"moderated": False}})
    if query.tone:
        keep.append({"term": {"tone": query.tone}})
    examples, archive = partition(query)
    keep += examples
    drop += archive
    if query.persons:
        keep.append({"terms": {"persons.lc": [p.lower() for p in query.persons]}})
    if query.phrase is not None:
        phrase = phrase_query("ocr", query.phrase)
        if phrase is None:
            return None  # a phrase of no words matches nothing
        keep.append(phrase)
    return keep, drop


def _facet(
    field: str, order: list[dict[str, str]] | None = None, *, size: int = FACET_LIMIT
) -> dict[str, Any]:
    order = order or [{"_count": "desc"}, {"_key": "asc"}]
    return {"terms": {"field": field, "size": size, "order": order}}


# Label spellings read to make FACET_LIMIT names: a name's other spelling ("Big cat" beside "Big Cat") is
# counted unless it is rarer than this many others.
SPELLINGS = FACET_LIMIT * 4


# A label counts where it is a finding: documents written before fingerprint v7 hold their guesses too,
# at their own confidence (catalog.domain.ranking.facet_labels).
_FINDINGS = {"range": {"labels.confidence": {"gte": GUESS_BELOW}}}
FACETS: dict[str, Any] = {
    "labels": {
        "nested": {"path": "labels"},
        # each spelling, merged by facets() as a label filter matches them (ranking.one_spelling)
        "aggs": {"found": {"filter": _FINDINGS, "aggs": {"names": _facet("labels.name", size=SPELLINGS)}}},
    },
    "persons": _facet("persons"),
    "media_types": _facet("media_type"),
    "capture_years": _facet("captured_year", [{"_key": "desc"}]),  # newest year first
}
SORT_KEYS: dict[SortOrder, dict[str, Any]] = {
    SortOrder.RELEVANCE: {"_score": {"order": "desc"}},
    SortOrder.CONFIDENCE: {"_score": {"order": "desc"}},
    SortOrder.CREATED: {"created_at": {"order": "desc"}},
    SortOrder.CAPTURED: {"captured_at": {"order": "desc", "missing": "_last"}},  # undated last
}


def page_size(query: SearchQuery) -> int:
    """Hits per page: `first`, within what one OpenSearch request may return."""
    return min(max(query.first, 0), MAX_PAGE)


def search_body(
    tenant_id: str,
    query: SearchQuery,
    after: tuple[SortKey, str] | None,
    *,
    dimension: int,
    semantic: bool = True,
    cut: float = SEMANTIC_FLOOR,
) -> dict[str, Any] | None:
    """The whole request for one page, its meaning neighbours at or over `cut` (`read_meaning_cut`); None
    when the query can match nothing."""
    narrow = narrowing(query)
    if narrow is None:
        return None
    keep, drop = narrow
    ranked = scoring(tenant_id, query, dimension=dimension, semantic=semantic, cut=cut)
    body: dict[str, Any] = {
        "query": {
            "bool": {
                "filter": [{"term": {"tenant_id": tenant_id}}, *keep],
                "must": [ranked],
                "must_not": drop,
            }
        },
        "sort": [SORT_KEYS[query.sort], {"asset_id": {"order": "desc"}}],
        "track_scores": True,  # the date orders still report each hit's relevance
        "size": page_size(query) + 1,
        "track_total_hits": True,
        # the stored vectors of the page, to explain each hit's meaning (embeddings are unit length)
        "_source": ["embedding"] if meaning_vector(query, dimension=dimension, semantic=semantic) else False,
        "aggs": FACETS,
    }
    if after is not None:
        body["search_after"] = [after[0], after[1]]
    return body


def explain(hit: dict[str, Any]) -> tuple[LabelMatch, ...]:
    """The label behind the score; none when the words (or meaning alone) ranked the hit."""
    inner = hit.get("inner_hits", {}).get(LABEL_MATCH, {}).get("hits", {}).get("hits", [])
    if not inner:
        return ()
    fields = inner[0].get("fields", {})
    confidence = float(fields["terms.confidence"][0])
    if TEXT_MATCH in hit.get("matched_queries", ()) and confidence < FILENAME_SCORE:
        return ()
    return (LabelMatch(fields["terms.label"][0], confidence, fields["terms.term"][0]),)


def text_matched(hit: dict[str, Any]) -> bool:
    """Whether the words (not a label) set the hit's keyword score."""
    return not explain(hit) and TEXT_MATCH in hit.get("matched_queries", ())


def facets(aggregations: dict[str, Any], name: str) -> tuple[FacetValue, ...]:
    agg = aggregations.get(name, {})
    agg = agg.get("found", agg)  # the label facet: its findings (FACETS)
    buckets = agg.get("names", agg).get("buckets", [])
    counts = Counter({str(b["key"]): int(b["doc_count"]) for b in buckets})
    if name == "labels":  # one value per name in any case, most frequent first as terms aggs order
        ranked = sorted(one_spelling(counts).items(), key=lambda vn: (-vn[1], vn[0].casefold(), vn[0]))
        return tuple(FacetValue(v, n) for v, n in ranked[:FACET_LIMIT])
    return tuple(FacetValue(v, n) for v, n in counts.items())


def _meaning(hit: dict[str, Any], vector: tuple[float, ...] | None, cut: float) -> float | None:
    stored = (hit.get("_source") or {}).get("embedding")
    if vector is None or not stored or len(stored) != len(vector):
        return None
    return meaning(sum(a * b for a, b in zip(stored, vector, strict=True)), cut)


def read_page(
    response: dict[str, Any], first: int, vector: tuple[float, ...] | None = None, cut: float = SEMANTIC_FLOOR
) -> SearchPage:
    """The page of a `search_body` response; `first` is `page_size` of its query, `vector` its
    meaning_vector and `cut` the body's (to explain the hits by meaning)."""
    found = response["hits"]["hits"]
    hits = tuple(
        SearchHit(
            asset_id=h["sort"][1],
            score=float(h["_score"] or 0.0),
            matches=explain(h),
            cursor=encode_cursor(h["sort"][0], h["sort"][1]),
            meaning=_meaning(h, vector, cut),
            text_match=text_matched(h),
        )
        for h in found[:first]
    )
    aggregations = response.get("aggregations", {})
    return SearchPage(
        total=int(response["hits"]["total"]["value"]),
        hits=hits,
        end_cursor=hits[-1].cursor if hits else None,
        has_next=len(found) > first,
        label_facets=facets(aggregations, "labels"),
        person_facets=facets(aggregations, "persons"),
        media_type_facets=facets(aggregations, "media_types"),
        capture_year_facets=facets(aggregations, "capture_years"),
    )


EMPTY_PAGE = SearchPage(total=0, hits=(), end_cursor=None, has_next=False)


def fingerprints_body(tenant_id: str | None, after: str | None, limit: int) -> dict[str, Any]:
    """(tenant, asset, fingerprint) of documents after `after` in asset-ID order; keyword order is the
    UTF-8 byte order, the catalog's and SQLite's too. No scoring, no total: a plain sorted walk."""
    filters: list[dict[str, Any]] = []
    if tenant_id is not None:
        filters.append({"term": {"tenant_id": tenant_id}})
    if after is not None:
        filters.append({"range": {"asset_id": {"gt": after}}})
    return {
        "query": {"bool": {"filter": filters}} if filters else {"match_all": {}},
        "sort": [{"asset_id": "asc"}, {"tenant_id": "asc"}],
        "size": min(limit, MAX_PAGE),
        "_source": ["tenant_id", "asset_id", "fingerprint"],
        "track_total_hits": False,
    }


def read_fingerprints(response: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for hit in response["hits"]["hits"]:
        source = hit["_source"]
        out.append((source["tenant_id"], source["asset_id"], source.get("fingerprint") or ""))
    return out
