"""The SearchIndex contract, run against every adapter: the embedded SQLite index and OpenSearch.

The OpenSearch param runs on osmem-server (in memory, started once per session) unless
MEDIASIGHT_TEST_OPENSEARCH_URL points at a real node. A case osmem cannot run is skipped for that param
only, with the reason; against a real node nothing is skipped.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from opensearchpy import AsyncOpenSearch

from catalog.domain.cursor import CursorError
from catalog.domain.fingerprint import document_fingerprint
from catalog.domain.model import Label
from catalog.domain.ports import (
    IndexDocument,
    LabelMatch,
    SearchIndex,
    SearchPage,
    SearchQuery,
    SortOrder,
    TrainingExamples,
)
from catalog.domain.ranking import KEYWORD_WEIGHT, MEANING_SURE, SEMANTIC_WEIGHT, WEAK_NAME_WEIGHT
from catalog.domain.tone import COLOUR, MONOCHROME
from catalog.opensearch.index import OpenSearchIndex, index_body
from catalog.sqlite.db import SqliteDb
from catalog.sqlite.search import index as sqlite_search
from catalog.sqlite.search.index import SqliteSearchIndex
from tests.contract.opensearch_server import OpenSearchServer

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DOG = ("Dog", "Canine", "Carnivore", "Mammal", "Animal")


def doc(
    tenant: str,
    asset: str,
    *labels: Label,
    filename: str = "photo.jpg",
    media_type: str = "image/jpeg",
    created: datetime = NOW,
    captured: datetime | None = None,
    text: str = "",
    persons: tuple[str, ...] = (),
    moderated: bool = False,
    embedding: tuple[float, ...] = (),
    root_id: str = "",
    duration: float | None = None,
    training: bool = False,
    tone: str = "",
) -> IndexDocument:
    return IndexDocument(
        tenant, asset, filename, media_type, created, captured, labels, text, persons, moderated, embedding,
        root_id, duration, training, tone,
    )  # fmt: skip


def ids(page: SearchPage) -> list[str]:
    return [h.asset_id for h in page.hits]


@pytest.fixture(params=["sqlite", pytest.param("opensearch", marks=pytest.mark.opensearch)])
async def index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SearchIndex]:
    if request.param == "sqlite":
        db = SqliteDb(tmp_path / "s.db", sqlite_search.SCHEMA)
        yield SqliteSearchIndex(db)
        db.close()
        return
    server: OpenSearchServer = request.getfixturevalue("opensearch")
    client = AsyncOpenSearch(hosts=[server.url])
    name = f"contract-{uuid.uuid4().hex}"  # a fresh index per test
    adapter = OpenSearchIndex(client, name, dimension=3)
    await adapter.ensure_index()
    try:
        yield adapter
    finally:
        await client.indices.delete(index=name, ignore_unavailable=True)
        await client.close()


@pytest.fixture
def unless_osmem(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Skip the OpenSearch param on osmem for a feature it lacks (the case still runs on a real node)."""

    def check(lacks: str) -> None:
        if request.node.callspec.params["index"] == "opensearch":
            server: OpenSearchServer = request.getfixturevalue("opensearch")
            if server.osmem:
                pytest.skip(f"osmem lacks {lacks}: runs against real OpenSearch")

    return check


@pytest.fixture
async def archive(index: SearchIndex) -> SearchIndex:
    await index.upsert(doc("t1", "a1", Label("Golden Retriever", 80, DOG), Label("Dog", 92, DOG[1:])))
    await index.upsert(
        doc("t1", "a2", Label("Tabby Cat", 70, ("Cat", "Feline", "Animal")), filename="kitty.png")
    )
    await index.upsert(
        doc("t1", "a3", Label("Espresso", 88, ("Coffee", "Beverage")), filename="IMG_0042.jpg")
    )
    await index.upsert(doc("t2", "b1", Label("Dog", 99, DOG[1:])))
    return index


async def test_label_query_matches_parents_any_case_ranked_by_confidence(archive: SearchIndex) -> None:
    page = await archive.search("t1", SearchQuery(labels=("ANIMAL",)))
    assert ids(page) == ["a1", "a2"] and page.total == 2
    assert [h.score for h in page.hits] == [92, 70]  # the best label reachable through "animal"
    assert page.hits[0].matches == (LabelMatch("Dog", 92, "animal"),)
    assert page.hits[1].matches == (LabelMatch("Tabby Cat", 70, "animal"),)


async def test_no_query_lists_everything_by_top_confidence(archive: SearchIndex) -> None:
    page = await archive.search("t1", SearchQuery())
    assert ids(page) == ["a1", "a3", "a2"] and [h.score for h in page.hits] == [92, 88, 70]
    assert all(h.matches == () for h in page.hits)
    assert ids(await archive.search("t1", SearchQuery(min_confidence=80))) == ["a1", "a3"]


async def test_min_confidence_and_text_query(archive: SearchIndex) -> None:
    page = await archive.search("t1", SearchQuery(labels=("Animal",), min_confidence=75))
    assert ids(page) == ["a1"]
    for words in ("img_0042", "IMG", "0042", "img 0042"):
        assert ids(await archive.search("t1", SearchQuery(text=words))) == ["a3"], words
    by_label = await archive.search("t1", SearchQuery(text="Coffee"))
    assert ids(by_label) == ["a3"] and by_label.hits[0].score == 88
    assert by_label.hits[0].matches == (LabelMatch("Espresso", 88, "coffee"),)


async def test_a_query_as_people_type_it_names_the_label(archive: SearchIndex) -> None:
    """ "animals", "a dog", "the cats" mean Animal, Dog, Cat (label_terms): the label explains the hit."""
    await archive.upsert(doc("t1", "a4", Label("Car", 76, ("Vehicle",)), Label("Carnivore", 30)))
    page = await archive.search("t1", SearchQuery(text="Animals"))
    assert ids(page) == ["a1", "a2"] and [h.score for h in page.hits] == [92, 70]
    assert page.hits[0].matches == (LabelMatch("Dog", 92, "animal"),)
    by_article = await archive.search("t1", SearchQuery(text="a car"))
    assert ids(by_article)[0] == "a4" and by_article.hits[0].matches == (LabelMatch("Car", 76, "car"),)
    assert ids(await archive.search("t1", SearchQuery(text="the cats"))) == ["a2"]
    assert ids(await archive.search("t1", SearchQuery(text="the zebras"))) == []


async def test_label_filter_restricts_while_text_ranks(archive: SearchIndex) -> None:
    page = await archive.search("t1", SearchQuery(text="animal", labels=("cat",)))
    assert ids(page) == ["a2"] and page.total == 1
    assert page.hits[0].matches == (LabelMatch("Tabby Cat", 70, "animal"),)


async def test_words_rank_like_a_half_sure_label(index: SearchIndex) -> None:
    await index.upsert(doc("t1", "b1", Label("Oolong", 40, ("Beverage",)), filename="x.jpg"))
    await index.upsert(doc("t1", "b2", Label("Menu", 90), filename="beverage-menu.jpg"))
    await index.upsert(doc("t1", "b3", Label("Cola", 45, ("Beverage",)), filename="Beverage.jpg"))
    await index.upsert(doc("t1", "b4", Label("Tea", 60, ("Beverage",)), filename="y.jpg"))
    page = await index.search("t1", SearchQuery(text="beverage"))
    # Filename words score 50: above the 40 % and 45 % labels, below the 60 % one; ties by asset ID. A label
    # under 50 % found by its name scores WEAK_NAME_WEIGHT of its confidence.
    assert ids(page) == ["b4", "b3", "b2", "b1"]
    assert [h.score for h in page.hits] == pytest.approx([60, 50, 50, 40 * WEAK_NAME_WEIGHT])
    assert [h.matches for h in page.hits] == [
        (LabelMatch("Tea", 60, "beverage"),),
        (),
        (),
        (LabelMatch("Oolong", 40, "beverage"),),
    ]
    # the filename hits say so: the words, not a label, set their score
    assert [h.text_match for h in page.hits] == [False, True, True, False]


async def test_facets_count_labels_over_the_filtered_set(archive: SearchIndex) -> None:
    page = await archive.search("t1", SearchQuery(labels=("animal",)))
    assert {f.value: f.count for f in page.label_facets} == {"Golden Retriever": 1, "Dog": 1, "Tabby Cat": 1}
    await archive.upsert(doc("t1", "a4", Label("Dog", 60, DOG[1:])))
    page = await archive.search("t1", SearchQuery(labels=("animal",), first=1))
    assert [(f.value, f.count) for f in page.label_facets] == [
        ("Dog", 2),
        ("Golden Retriever", 1),
        ("Tabby Cat", 1),
    ]  # over every hit, not the page; most frequent first, then by name


async def test_tenants_never_see_each_other(archive: SearchIndex) -> None:
    page = await archive.search("t2", SearchQuery(labels=("animal",)))
    assert ids(page) == ["b1"] and page.total == 1
    assert {f.value for f in page.label_facets} == {"Dog"}
    assert (await archive.search("t3", SearchQuery())).total == 0
    assert [await archive.count(t) for t in ("t1", "t2", "t3")] == [3, 1, 0]
    assert ids(await archive.search("t2", SearchQuery(text="kitty"))) == []


async def test_cursor_pagination_is_stable_while_new_assets_arrive(index: SearchIndex) -> None:
    for i in range(10):
        await index.upsert(doc("t1", f"a{i:02d}", Label("Dog", 50 + i, DOG[1:])))
    await index.upsert(doc("t1", "tie", Label("Dog", 55, DOG[1:])))  # same score as a05: asset ID decides
    first = await index.search("t1", SearchQuery(labels=("dog",), first=4))
    assert first.has_next and ids(first) == ["a09", "a08", "a07", "a06"] and first.total == 11
    await index.upsert(doc("t1", "new", Label("Dog", 99, DOG[1:])))  # ranks first, lands on no later page
    second = await index.search("t1", SearchQuery(labels=("dog",), first=4, after=first.end_cursor))
    assert ids(second) == ["tie", "a05", "a04", "a03"] and second.has_next
    third = await index.search("t1", SearchQuery(labels=("dog",), first=4, after=second.end_cursor))
    assert ids(third) == ["a02", "a01", "a00"] and not third.has_next


async def test_upsert_replaces_and_delete_removes(archive: SearchIndex) -> None:
    await archive.upsert(doc("t1", "a1", Label("Teapot", 60, ("Pot",))))
    assert ids(await archive.search("t1", SearchQuery(labels=("dog",)))) == []
    assert ids(await archive.search("t1", SearchQuery(labels=("pot",)))) == ["a1"]
    await archive.upsert(doc("t1", "a1", Label("Teapot", 60, ("Pot",))))  # idempotent
    assert await archive.count("t1") == 3
    await archive.delete("t1", "a1")
    assert await archive.count("t1") == 2
    await archive.delete("t1", "a1")  # deleting twice is harmless
    await archive.delete("t2", "a2")  # another tenant's delete cannot touch t1's document
    assert await archive.count("t1") == 2 and await archive.count("t2") == 1
    await archive.clear()
    assert [await archive.count(t) for t in ("t1", "t2")] == [0, 0]


async def test_fingerprints_walk_documents_in_asset_order(index: SearchIndex) -> None:
    docs = {
        "a2": doc("t1", "a2", Label("Dog", 92, DOG[1:]), text="woof", persons=("Ada",), embedding=(1, 0, 0)),
        "a0": doc("t1", "a0", Label("Cat", 70), captured=NOW, root_id="a2"),
        "a1": doc("t2", "a1", Label("Dog", 99, DOG[1:]), moderated=True),
        "a3": doc("t1", "a3"),
    }
    for d in docs.values():
        await index.upsert(d)
    assert await index.fingerprints(None, after=None, limit=0) == []
    every = await index.fingerprints(None, after=None, limit=10)  # all tenants: by asset ID alone
    assert every == [(d.tenant_id, a, document_fingerprint(d)) for a, d in sorted(docs.items())]
    t1 = [(t, a) for t, a, _ in await index.fingerprints("t1", after=None, limit=2)]
    assert t1 == [("t1", "a0"), ("t1", "a2")]
    assert [a for _, a, _ in await index.fingerprints("t1", after="a2", limit=2)] == ["a3"]
    assert await index.fingerprints("t1", after="a3", limit=2) == []
    assert [a for _, a, _ in await index.fingerprints(None, after="a0", limit=2)] == ["a1", "a2"]
    assert await index.fingerprints("t3", after=None, limit=10) == []

    before = {a: fp for _, a, fp in every}
    await index.upsert(docs["a2"])  # the same document again: the same fingerprint
    await index.upsert(doc("t1", "a3", Label("Teapot", 60)))  # another one: another fingerprint
    await index.delete("t2", "a1")
    after = {a: fp for _, a, fp in await index.fingerprints(None, after=None, limit=10)}
    assert after.keys() == {"a0", "a2", "a3"} and after["a2"] == before["a2"]
    assert after["a3"] == document_fingerprint(doc("t1", "a3", Label("Teapot", 60))) != before["a3"]


async def test_bad_cursor_is_a_clear_error(archive: SearchIndex) -> None:
    for cursor in ("garbage", "W10=", "WzEsMiwzXQ=="):  # not base64 JSON; []; [1, 2, 3]
        with pytest.raises(CursorError, match="endCursor"):
            await archive.search("t1", SearchQuery(after=cursor))


async def test_query_syntax_in_user_text_is_harmless(archive: SearchIndex) -> None:
    for text in ['"', "AND OR NOT", "kitty*", "a:b", "(((", "NEAR(x y)", "*:*", "kitty~2", "{meta}: x", "\\"]:
        await archive.search("t1", SearchQuery(text=text))
        await archive.search("t1", SearchQuery(phrase=text))
    assert ids(await archive.search("t1", SearchQuery(text="kitty"))) == ["a2"]
    assert ids(await archive.search("t1", SearchQuery(text="kitty*"))) == ["a2"]
    assert ids(await archive.search("t1", SearchQuery(text="*:*"))) == []


async def test_words_ignore_case_and_accents(index: SearchIndex) -> None:
    await index.upsert(doc("t1", "c1", filename="Café_Müller.jpg"))
    for text in ("cafe", "CAFÉ", "müll", "Mull"):
        assert ids(await index.search("t1", SearchQuery(text=text))) == ["c1"], text


async def test_persons_phrase_and_moderation_filters(index: SearchIndex) -> None:
    await index.upsert(
        doc("t1", "p1", Label("Person", 99, ("Human",)), filename="a.jpg",
            text="Grand Hotel Budapest", persons=("Ada Lovelace",))
    )  # fmt: skip
    await index.upsert(
        doc("t1", "p2", Label("Person", 90, ("Human",)), filename="b.jpg",
            text="Hotel Grand", persons=("Alan Turing",), moderated=True)
    )  # fmt: skip
    assert ids(await index.search("t1", SearchQuery(persons=("ada lovelace",)))) == ["p1"]
    assert ids(await index.search("t1", SearchQuery(persons=("ADA LOVELACE", "alan turing")))) == ["p1", "p2"]
    assert ids(await index.search("t1", SearchQuery(text="turing"))) == ["p2"]
    assert ids(await index.search("t1", SearchQuery(text="budapest"))) == ["p1"]  # words in the image
    assert ids(await index.search("t1", SearchQuery(phrase="grand hotel"))) == ["p1"]
    assert ids(await index.search("t1", SearchQuery(phrase="hotel grand"))) == ["p2"]
    assert ids(await index.search("t1", SearchQuery(phrase='"'))) == []
    assert ids(await index.search("t1", SearchQuery(labels=("human",), exclude_moderation=True))) == ["p1"]
    assert ids(await index.search("t2", SearchQuery(persons=("ada lovelace",)))) == []


async def test_semantic_neighbours_join_text_queries(
    index: SearchIndex, unless_osmem: Callable[[str], None]
) -> None:
    unless_osmem("k-NN queries")
    dog, coffee = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)
    retriever = (Label("Golden Retriever", 90, DOG),)
    espresso = (Label("Espresso", 90, ("Coffee",)),)
    await index.upsert(doc("t1", "d1", *retriever, filename="x.jpg", embedding=dog))
    await index.upsert(doc("t1", "c1", *espresso, filename="puppy.jpg", embedding=coffee))
    await index.upsert(doc("t2", "x1", *retriever, filename="y.jpg", embedding=dog))
    puppy = (0.96, 0.28, 0.0)  # "puppy" means dog-ish (unit length, as real embeddings are)
    page = await index.search("t1", SearchQuery(text="puppy", text_embedding=puppy))
    # c1 has the word in its filename; d1 matches only by meaning; t2's asset never shows.
    assert set(ids(page)) == {"d1", "c1"} and page.total == 2
    # 0.7 · 50 (filename word) + 30 · cos 0.28 (below the floor: no meaning) against 30 · cos 0.96
    assert ids(page) == ["c1", "d1"] and page.hits[1].matches == ()
    assert [h.score for h in page.hits] == pytest.approx([35, 28.8], abs=1e-3)
    # each hit says what found it: c1 its filename word (its meaning, 0.28, is under the floor), d1 meaning
    assert [h.meaning for h in page.hits] == [None, pytest.approx(0.96, abs=1e-3)]
    assert [h.text_match for h in page.hits] == [True, False]
    assert all(h.meaning is None for h in (await index.search("t1", SearchQuery(labels=("dog",)))).hits)
    assert ids(await index.search("t1", SearchQuery(text="puppy"))) == ["c1"]
    dogs_only = await index.search("t1", SearchQuery(text="puppy", labels=("dog",), text_embedding=puppy))
    assert ids(dogs_only) == ["d1"]


def at_cosine(cos: float) -> tuple[float, float, float]:
    """A unit vector at this cosine from ANIMAL (below)."""
    side = (1 - cos * cos) ** 0.5
    return (cos * ANIMAL[0], cos * ANIMAL[1], side)


ANIMAL = (0.51, (1 - 0.51 * 0.51) ** 0.5, 0.0)  # "animal": 0.51 from a cat photo's vector (1, 0, 0)


async def test_meaning_alone_finds_only_what_is_near_the_best_meaning(
    index: SearchIndex, unless_osmem: Callable[[str], None]
) -> None:
    unless_osmem("k-NN queries")
    await index.upsert(doc("t1", "cat", Label("Tabby", 93), embedding=(1.0, 0.0, 0.0)))
    await index.upsert(doc("t1", "near", Label("Person", 90), embedding=at_cosine(0.42)))
    await index.upsert(doc("t1", "astro", Label("Person", 95), embedding=at_cosine(0.35)))  # loose
    await index.upsert(
        doc("t1", "park", Label("Sign", 80), filename="animal-park.jpg", embedding=at_cosine(0.33))
    )
    # nearer vectors of another tenant and of t1's training examples set no cut for t1's archive
    await index.upsert(doc("t2", "x1", Label("Tabby", 93), embedding=ANIMAL))
    await index.upsert(doc("t1", "ex", Label("Tabby", 93), embedding=ANIMAL, training=True))
    ask = SearchQuery(text="animal", text_embedding=ANIMAL, first=2)
    # the cut: 0.51 - MEANING_MARGIN = 0.41; the astronaut (0.35) is over the floor but far from the best
    first = await index.search("t1", ask)
    rest = await index.search("t1", dataclasses.replace(ask, after=first.end_cursor))
    assert ids(first) + ids(rest) == ["park", "cat", "near"] and first.has_next and not rest.has_next
    assert first.total == rest.total == 3  # the total counts exactly the hits the pages give
    # park: its filename word alone (0.7 · 50; its meaning 0.33 is under the cut: no meaning, no points)
    hits = [*first.hits, *rest.hits]
    assert [h.score for h in hits] == pytest.approx([35, 30 * 0.51, 30 * 0.42], abs=1e-3)
    assert [h.meaning for h in hits] == [None, pytest.approx(0.51, abs=1e-3), pytest.approx(0.42, abs=1e-3)]
    assert [h.text_match for h in hits] == [True, False, False]
    # the labels narrow; the cut stays the tenant's (the astronaut does not come back among persons)
    persons = await index.search("t1", dataclasses.replace(ask, labels=("person",), first=10))
    assert ids(persons) == ["near"] and persons.total == 1
    examples = await index.search(
        "t1", dataclasses.replace(ask, training_examples=TrainingExamples.ONLY, first=10)
    )
    assert ids(examples) == ["ex"]  # in its own partition, its own best


async def test_words_find_sure_labels_and_skip_function_words(index: SearchIndex) -> None:
    weak_dog = Label("Dog", 32, DOG[1:])  # the detector's guess on a bus photo
    await index.upsert(doc("t1", "bus", Label("Person", 77, ("Human",)), weak_dog, filename="IMG_0015.jpg"))
    await index.upsert(doc("t1", "who", Label("Stage", 80), filename="the-who.jpg"))
    # "a person": the word person (a prefix "a" would ask for some word starting with a); the label Person
    # (label_terms: the query without its article) explains the hit at its confidence
    person = await index.search("t1", SearchQuery(text="a person"))
    assert ids(person) == ["bus"] and person.total == 1
    assert person.hits[0].matches == (LabelMatch("Person", 77, "person"),)
    who = await index.search("t1", SearchQuery(text="a who"))  # no label "who": the filename's word
    assert ids(who) == ["who"] and who.total == 1 and who.hits[0].text_match
    # a label under MEANING_MIN_CONFIDENCE is no word of the document: its name finds it at its confidence
    dog = await index.search("t1", SearchQuery(text="dog"))
    assert ids(dog) == ["bus"] and not dog.hits[0].text_match
    assert dog.hits[0].score == pytest.approx(32 * WEAK_NAME_WEIGHT)
    assert dog.hits[0].matches == (LabelMatch("Dog", 32, "dog"),)
    assert ids(await index.search("t1", SearchQuery(text="do"))) == []
    assert ids(await index.search("t1", SearchQuery(text="the"))) == ["who"]  # nothing but function words


async def test_label_words_are_whole_words_while_names_and_image_text_take_prefixes(
    index: SearchIndex,
) -> None:
    cat = ("Cat", "Feline", "Carnivore", "Mammal", "Animal")
    await index.upsert(doc("t1", "cat", Label("Tabby Cat", 93, cat), Label("Carnivore", 93, cat[3:]),
                           filename="IMG_0001.jpg"))  # fmt: skip
    await index.upsert(
        doc("t1", "plant", Label("Carnivorous Plant", 80, ("Plant",)), filename="IMG_0002.jpg")
    )
    await index.upsert(doc("t1", "car", Label("Car", 76, ("Vehicle",)), filename="IMG_0003.jpg"))
    await index.upsert(doc("t1", "dog", Label("Golden Retriever", 88, DOG), filename="DSC_7.jpg",
                           persons=("Ada Lovelace",)))  # fmt: skip
    await index.upsert(doc("t1", "sign", Label("Street Sign", 70), filename="DSC_8.jpg", text="CARWASH open"))
    # "car" is a prefix of Carnivore and Carnivorous: no word of a label name; the image's text keeps prefixes
    for text in ("car", "a car", "cars", "the cars"):  # "cars" is no prefix of CARWASH
        page = await index.search("t1", SearchQuery(text=text))
        assert ids(page) == ["car", "sign"][: 2 if text.endswith("car") else 1], text
        assert page.total == len(page.hits) and page.hits[0].matches == (LabelMatch("Car", 76, "car"),), text
        assert [h.text_match for h in page.hits[1:]] == [True] * (len(page.hits) - 1), text
    animals_named_car = await index.search("t1", SearchQuery(text="car", labels=("animal",)))
    assert ids(animals_named_car) == [] and animals_named_car.total == 0
    for text in ("carn", "carnivo", "retriev", "IMG_0001 tab"):
        assert ids(await index.search("t1", SearchQuery(text=text))) == [], text
    # a word of a label name, whole, in the singular or the plural: the words, not the name, found it
    for text in ("retriever", "retrievers", "golden", "cats tabby"):
        page = await index.search("t1", SearchQuery(text=text))
        assert len(page.hits) == 1 and page.hits[0].text_match and page.hits[0].score == 50, text
    assert ids(await index.search("t1", SearchQuery(text="retrievers"))) == ["dog"]
    # filenames, persons and the image's text: prefixes
    assert ids(await index.search("t1", SearchQuery(text="lovelac"))) == ["dog"]
    assert ids(await index.search("t1", SearchQuery(text="IMG_00"))) == ["plant", "cat", "car"]
    assert ids(await index.search("t1", SearchQuery(text="img_0001 tabby"))) == ["cat"]
    assert ids(await index.search("t1", SearchQuery(text="carwa"))) == ["sign"]
    assert ids(await index.search("t1", SearchQuery(text="carwash op"))) == ["sign"]


async def test_a_guess_found_by_name_scores_a_share_of_its_confidence(index: SearchIndex) -> None:
    """A label under 50 % that a text query names (the detector's Dog 32 on a bus) scores WEAK_NAME_WEIGHT of
    its confidence; `matches` and a label query keep the confidence; min_confidence still decides what
    matches."""
    await index.upsert(doc("t1", "bus", Label("Bus", 90), Label("Dog", 49.9, DOG[1:])))
    await index.upsert(doc("t1", "pup", Label("Dog", 45, DOG[1:])))
    await index.upsert(doc("t1", "dog", Label("Dog", 50, DOG[1:])))
    page = await index.search("t1", SearchQuery(text="a dog"))
    assert ids(page) == ["dog", "bus", "pup"]
    assert [h.score for h in page.hits] == pytest.approx([50, 49.9 * WEAK_NAME_WEIGHT, 45 * WEAK_NAME_WEIGHT])
    assert [h.matches[0].confidence for h in page.hits] == [50, 49.9, 45]
    # restricted by a label filter that counts guesses (include_guesses): the same hits and scores
    among = SearchQuery(text="a dog", labels=("animal",), include_guesses=True)
    among_animals = await index.search("t1", among)
    assert [(h.asset_id, h.score) for h in among_animals.hits] == [(h.asset_id, h.score) for h in page.hits]
    # a label filter alone needs a finding: the guesses' Animal is none
    assert ids(await index.search("t1", dataclasses.replace(among, include_guesses=False))) == ["dog"]
    by_confidence = await index.search("t1", SearchQuery(text="a dog", sort=SortOrder.CONFIDENCE))
    assert ids(by_confidence) == ["dog", "bus", "pup"]
    assert ids(await index.search("t1", SearchQuery(text="dog", min_confidence=46))) == ["dog", "bus"]
    labelled = await index.search("t1", SearchQuery(labels=("dog",), include_guesses=True))
    assert [h.score for h in labelled.hits] == [50, 49.9, 45]
    assert ids(await index.search("t1", SearchQuery(labels=("dog",)))) == ["dog"]  # a finding only


async def test_a_guess_found_by_name_ranks_below_a_sure_meaning(
    index: SearchIndex, unless_osmem: Callable[[str], None]
) -> None:
    unless_osmem("k-NN queries")
    dog = (1.0, 0.0, 0.0)  # the query's meaning
    sure = (MEANING_SURE, (1 - MEANING_SURE**2) ** 0.5, 0.0)  # at MEANING_SURE from it
    await index.upsert(
        doc("t1", "bus", Label("Bus", 90), Label("Dog", 49.9, DOG[1:]), embedding=(0.0, 0.0, 1.0))
    )
    await index.upsert(doc("t1", "wolf", Label("Wolf", 90, ("Canine",)), embedding=sure))
    await index.upsert(doc("t1", "pup", Label("Dog", 45, DOG[1:]), embedding=(0.5, 0.0, 0.75**0.5)))
    page = await index.search("t1", SearchQuery(text="a dog", text_embedding=dog))
    # the guess whose meaning counts too (pup: both add), the sure meaning (wolf), the guess alone (bus)
    assert ids(page) == ["pup", "wolf", "bus"]
    weak = KEYWORD_WEIGHT * WEAK_NAME_WEIGHT
    want = [weak * 45 + SEMANTIC_WEIGHT * 100 * 0.5, SEMANTIC_WEIGHT * 100 * MEANING_SURE, weak * 49.9]
    assert [h.score for h in page.hits] == pytest.approx(want, abs=1e-3)
    assert [h.meaning is not None for h in page.hits] == [True, True, False]
    assert page.hits[2].matches == (LabelMatch("Dog", 49.9, "dog"),)


async def test_a_tone_the_query_named_keeps_only_its_documents_and_the_rest_ranks_them(
    index: SearchIndex,
) -> None:
    """ "black and white photo of a ship" is tone MONOCHROME, text "ship" (tone.named_tone): a colour photo is
    no hit, whatever its labels or words; named alone, every document of the tone is a hit by the words."""
    vessel = ("Vessel", "Craft")
    await index.upsert(doc("t1", "bw-ship", Label("Ship", 80, vessel), tone=MONOCHROME, filename="a.jpg"))
    await index.upsert(doc("t1", "ship", Label("Ship", 95, vessel), tone=COLOUR, filename="ship.jpg"))
    await index.upsert(doc("t1", "bw-cat", Label("Tabby Cat", 90), tone=MONOCHROME, filename="ship_cat.jpg"))
    await index.upsert(doc("t1", "old", Label("Ship", 70, vessel)))  # not measured (a video): neither tone
    await index.upsert(doc("t2", "other", Label("Ship", 99, vessel), tone=MONOCHROME))
    alone = await index.search("t1", SearchQuery(tone=MONOCHROME))
    assert sorted(ids(alone)) == ["bw-cat", "bw-ship"] and alone.total == 2
    assert all(h.text_match and h.score == 50 and h.matches == () for h in alone.hits)
    assert ids(await index.search("t1", SearchQuery(tone=COLOUR))) == ["ship"]
    # the rest of the query ranks the tone's documents: the label, then the filename's word
    ships = await index.search("t1", SearchQuery(text="ship", tone=MONOCHROME))
    assert ids(ships) == ["bw-ship", "bw-cat"] and ships.total == 2
    assert ships.hits[0].matches == (LabelMatch("Ship", 80, "ship"),) and ships.hits[1].text_match
    assert ids(await index.search("t1", SearchQuery(text="ship", tone=COLOUR))) == ["ship"]
    # with the other filters: labels restrict (the label explains), all_labels, moderation, dates
    vessels = await index.search("t1", SearchQuery(labels=("vessel",), tone=MONOCHROME))
    assert ids(vessels) == ["bw-ship"] and vessels.hits[0].matches == (LabelMatch("Ship", 80, "vessel"),)
    for query in (
        SearchQuery(tone=MONOCHROME, all_labels=("craft",)),
        SearchQuery(text="ship", tone=MONOCHROME, all_labels=("craft",), exclude_moderation=True),
        SearchQuery(tone=MONOCHROME, not_labels=("tabby cat",), created_before=NOW.replace(year=2027)),
    ):
        page = await index.search("t1", query)
        assert ids(page) == ["bw-ship"] and page.total == 1, query
    by_date = await index.search("t1", SearchQuery(tone=MONOCHROME, sort=SortOrder.CREATED, first=1))
    more = await index.search(
        "t1", SearchQuery(tone=MONOCHROME, sort=SortOrder.CREATED, after=by_date.end_cursor)
    )
    assert sorted(ids(by_date) + ids(more)) == ["bw-cat", "bw-ship"] and by_date.total == 2
    roots = await index.search("t1", SearchQuery(tone=MONOCHROME, roots_only=True))
    assert sorted(ids(roots)) == ["bw-cat", "bw-ship"] and all(h.text_match for h in roots.hits)


async def test_a_tone_the_query_named_keeps_out_what_its_meaning_is_near(
    index: SearchIndex, unless_osmem: Callable[[str], None]
) -> None:
    """A colour photo whose meaning is nearest the query's is no hit for a monochrome query; the monochrome
    ones near it are, explained by meaning (the cut is the tenant's, as for any filter)."""
    unless_osmem("k-NN queries")
    await index.upsert(doc("t1", "colour", Label("Ship", 95), tone=COLOUR, embedding=(1.0, 0.0, 0.0)))
    await index.upsert(doc("t1", "bw", Label("Harbour", 90), tone=MONOCHROME, embedding=(0.6, 0.8, 0.0)))
    await index.upsert(doc("t1", "far", Label("Tabby Cat", 90), tone=MONOCHROME, embedding=(0.0, 0.0, 1.0)))
    page = await index.search(
        "t1", SearchQuery(text="a sailing boat", tone=MONOCHROME, text_embedding=(1.0, 0.0, 0.0))
    )
    assert ids(page) == ["bw"] and page.total == 1
    assert page.hits[0].meaning == pytest.approx(0.6, abs=1e-4) and page.hits[0].matches == ()
    everything = await index.search("t1", SearchQuery(text="a sailing boat", text_embedding=(1.0, 0.0, 0.0)))
    assert ids(everything) == ["colour", "bw"]


async def test_boolean_label_filters_per_label_thresholds_media_types_and_dates(index: SearchIndex) -> None:
    jan = NOW.replace
    await index.upsert(
        doc(
            "t1",
            "dog_cat",
            Label("Dog", 90, DOG[1:]),
            Label("Cat", 60),
            created=jan(day=1),
            captured=jan(year=2010),
        )
    )
    await index.upsert(
        doc(
            "t1",
            "dog",
            Label("Dog", 70, DOG[1:]),
            media_type="image/png",
            created=jan(day=2),
            captured=jan(year=2020),
        )
    )
    await index.upsert(doc("t1", "cat", Label("Cat", 95), created=jan(day=3)))
    assert ids(await index.search("t1", SearchQuery(all_labels=("dog", "CAT")))) == ["dog_cat"]
    assert ids(await index.search("t1", SearchQuery(labels=("dog",), not_labels=("cat",)))) == ["dog"]
    strict_dog = SearchQuery(labels=("dog", "cat"), label_confidence={"dog": 80})
    assert ids(await index.search("t1", strict_dog)) == ["cat", "dog_cat"]
    not_sure_cat = SearchQuery(labels=("dog",), not_labels=("cat",), label_confidence={"cat": 80})
    assert ids(await index.search("t1", not_sure_cat)) == ["dog_cat", "dog"]  # a 60 % cat is no cat here
    assert ids(await index.search("t1", SearchQuery(all_labels=("dog",), min_confidence=80))) == ["dog_cat"]
    assert ids(await index.search("t1", SearchQuery(media_types=("image/png",)))) == ["dog"]
    window = SearchQuery(created_after=jan(day=2), created_before=jan(day=3))
    assert ids(await index.search("t1", window)) == ["dog"]
    captured = SearchQuery(captured_after=jan(year=2015))  # undated assets never match a capture window
    assert ids(await index.search("t1", captured)) == ["dog"]
    page = await index.search("t1", SearchQuery())
    assert {f.value: f.count for f in page.media_type_facets} == {"image/jpeg": 2, "image/png": 1}
    assert [(f.value, f.count) for f in page.capture_year_facets] == [("2020", 1), ("2010", 1)]


async def test_all_and_none_of_labels_count_facet_and_page_in_every_order(index: SearchIndex) -> None:
    ball, cat = ("Toy",), ("Feline", "Animal")
    for day, labels, extra in (
        (1, [Label("Dog", 90, DOG[1:]), Label("Ball", 70, ball)], {"captured": NOW.replace(year=2010)}),
        (2, [Label("Dog", 80, DOG[1:]), Label("Ball", 50, ball)], {"media_type": "image/png"}),
        (3, [Label("Dog", 70, DOG[1:]), Label("Ball", 65, ball), Label("Cat", 60, cat)], {}),
        (4, [Label("Cat", 95, cat), Label("Ball", 90, ball)], {"captured": NOW.replace(year=2010)}),
        (5, [Label("Dog", 85, DOG[1:]), Label("Ball", 75, ball)], {"moderated": True}),
        (6, [Label("Dog", 60, DOG[1:]), Label("Ball", 61, ball)],
         {"media_type": "image/png", "captured": NOW.replace(year=2015)}),
    ):  # fmt: skip
        await index.upsert(doc("t1", f"d{day}", *labels, created=NOW.replace(day=day), **extra))
    await index.upsert(doc("t2", "x1", Label("Dog", 99, DOG[1:]), Label("Ball", 99, ball)))
    # d2's ball is too unsure, d4 is a cat (d3's 60 % cat is not), d5 is moderated
    sets = SearchQuery(all_labels=("animal", "BALL"), not_labels=("cat",), label_confidence={"ball": 60,
                       "cat": 65}, exclude_moderation=True, first=2)  # fmt: skip
    dogs = dataclasses.replace(sets, labels=("dog",), all_labels=("ball",))  # ranked by the dog label
    expected = {
        SortOrder.RELEVANCE: ["d1", "d3", "d6"],  # by top confidence: 90, 70, 61
        SortOrder.CONFIDENCE: ["d1", "d3", "d6"],
        SortOrder.CREATED: ["d6", "d3", "d1"],
        SortOrder.CAPTURED: ["d6", "d1", "d3"],  # no capture time: last
    }
    facets = (
        [("Ball", 3), ("Dog", 3), ("Cat", 1)],
        [("image/jpeg", 2), ("image/png", 1)],
        [("2015", 1), ("2010", 1)],
    )
    for query in (sets, dogs):
        for sort, order in expected.items():
            first = await index.search("t1", dataclasses.replace(query, sort=sort))
            rest = await index.search("t1", dataclasses.replace(query, sort=sort, after=first.end_cursor))
            assert (ids(first), first.has_next, ids(rest), rest.has_next) == (
                order[:2],
                True,
                order[2:],
                False,
            )
            for page in (first, rest):  # every page has the total and facets of the whole result
                found = page.label_facets, page.media_type_facets, page.capture_year_facets
                assert page.total == 3 and tuple([(f.value, f.count) for f in fs] for fs in found) == facets
    first = await index.search("t1", sets)
    assert [h.score for h in first.hits] == [90, 70] and all(h.matches == () for h in first.hits)
    first = await index.search("t1", dogs)
    assert [h.score for h in first.hits] == [90, 70]
    assert first.hits[0].matches == (LabelMatch("Dog", 90, "dog"),)


async def test_all_labels_take_the_tenants_synonyms(index: SearchIndex) -> None:
    """allLabels ["muffin", "tea"] with Muffin ↔ Cupcake: each name, or one of its synonyms, must hold."""
    cupcake, muffin, tea = Label("Cupcake", 80, ("Baked goods",)), Label("Muffin", 70), Label("Tea", 90)
    await index.upsert(doc("t1", "a1", cupcake, tea, created=NOW.replace(day=1)))
    await index.upsert(doc("t1", "a2", muffin, tea, created=NOW.replace(day=2)))
    await index.upsert(doc("t1", "a3", cupcake, created=NOW.replace(day=3)))  # no tea
    await index.upsert(doc("t1", "a4", Label("Tea", 95), Label("Scone", 90), created=NOW.replace(day=4)))
    await index.upsert(doc("t2", "x1", cupcake, tea))
    synonyms = (("Muffin", "Cupcake"),)
    both = SearchQuery(all_labels=("muffin", "TEA"), synonyms=synonyms, sort=SortOrder.CREATED)
    page = await index.search("t1", both)
    assert ids(page) == ["a2", "a1"] and page.total == 2
    facets = {f.value: f.count for f in page.label_facets}
    assert facets == {"Tea": 2, "Cupcake": 1, "Muffin": 1}
    assert ids(await index.search("t1", dataclasses.replace(both, synonyms=()))) == ["a2"]
    sure = dataclasses.replace(both, label_confidence={"muffin": 75, "cupcake": 75})
    assert ids(await index.search("t1", sure)) == ["a1"]  # a2's muffin is too unsure
    paged = dataclasses.replace(both, first=1)
    first = await index.search("t1", paged)
    rest = await index.search("t1", dataclasses.replace(paged, after=first.end_cursor))
    assert (ids(first), ids(rest), rest.has_next) == (["a2"], ["a1"], False)


async def test_a_text_query_naming_a_synonym_finds_the_label(index: SearchIndex) -> None:
    """The tenant made Kaffee ↔ Espresso one group: typing "Kaffee" finds the espressos, as the label
    filter does, explained by the asset's label; without the group it finds nothing."""
    await index.upsert(doc("t1", "a1", Label("Espresso", 90, ("Beverage",))))
    await index.upsert(doc("t1", "a2", Label("Tea", 95, ("Beverage",))))
    await index.upsert(doc("t2", "x1", Label("Espresso", 99)))
    query = SearchQuery(text="Kaffee", synonyms=(("Kaffee", "Espresso"),))
    for sort in (SortOrder.RELEVANCE, SortOrder.CONFIDENCE):
        page = await index.search("t1", dataclasses.replace(query, sort=sort))
        assert ids(page) == ["a1"]
        assert page.hits[0].matches == (LabelMatch("Espresso", 90, "espresso"),)
    assert ids(await index.search("t1", dataclasses.replace(query, synonyms=()))) == []


async def test_label_facets_count_the_spellings_of_a_name_as_one(index: SearchIndex) -> None:
    """The model's "Big Cat" and a custom concept's "Big cat" are one facet value, as a label filter on
    either finds both, shown as most documents spell it."""
    await index.upsert(doc("t1", "a1", Label("Big Cat", 90)))
    await index.upsert(doc("t1", "a2", Label("Big cat", 80), Label("apple", 70)))
    await index.upsert(doc("t1", "a3", Label("Big cat", 85), Label("Apple", 60)))
    page = await index.search("t1", SearchQuery(sort=SortOrder.CREATED))
    assert [(f.value, f.count) for f in page.label_facets] == [("Big cat", 3), ("Apple", 2)]
    assert page.total == 3
    assert len(ids(await index.search("t1", SearchQuery(labels=("BIG CAT",))))) == 3


async def test_person_facets_over_the_filtered_set(index: SearchIndex) -> None:
    await index.upsert(doc("t1", "p1", Label("Person", 99), persons=("Ada Lovelace", "Alan Turing")))
    await index.upsert(doc("t1", "p2", Label("Person", 90), persons=("Ada Lovelace",)))
    await index.upsert(doc("t1", "p3", Label("Tree", 90)))
    page = await index.search("t1", SearchQuery(labels=("person",)))
    assert [(f.value, f.count) for f in page.person_facets] == [("Ada Lovelace", 2), ("Alan Turing", 1)]
    page = await index.search("t1", SearchQuery(persons=("alan turing",)))
    assert [(f.value, f.count) for f in page.person_facets] == [("Ada Lovelace", 1), ("Alan Turing", 1)]


async def test_sort_orders_page_with_their_own_cursors(index: SearchIndex) -> None:
    for day, conf, year in ((1, 50, 2015), (2, 90, None), (3, 70, 2012), (4, 60, None)):
        captured = NOW.replace(year=year) if year else None
        await index.upsert(
            doc("t1", f"a{day}", Label("Dog", conf, DOG[1:]), created=NOW.replace(day=day), captured=captured)
        )

    async def all_pages(sort: SortOrder) -> list[str]:
        out: list[str] = []
        after = None
        while True:
            page = await index.search("t1", SearchQuery(labels=("dog",), sort=sort, first=1, after=after))
            out += ids(page)
            assert page.total == 4
            if not page.has_next:
                return out
            after = page.end_cursor

    assert await all_pages(SortOrder.RELEVANCE) == ["a2", "a3", "a4", "a1"]
    assert await all_pages(SortOrder.CONFIDENCE) == ["a2", "a3", "a4", "a1"]
    assert await all_pages(SortOrder.CREATED) == ["a4", "a3", "a2", "a1"]
    assert await all_pages(SortOrder.CAPTURED) == ["a1", "a3", "a4", "a2"]  # no capture time: last
    by_date = await index.search("t1", SearchQuery(labels=("dog",), sort=SortOrder.CREATED))
    assert [h.score for h in by_date.hits] == [60, 70, 90, 50]  # date order, still scored
    after_a4 = SearchQuery(labels=("dog",), sort=SortOrder.CREATED, after=by_date.hits[0].cursor)
    assert ids(await index.search("t1", after_a4)) == ["a3", "a2", "a1"]  # a hit's cursor resumes after it


async def test_roots_only_rolls_a_versions_match_up_to_its_root(index: SearchIndex) -> None:
    await index.upsert(doc("t1", "root", Label("Cat", 80), created=NOW.replace(day=1)))
    await index.upsert(
        doc("t1", "edit", Label("Dog", 90, DOG[1:]), root_id="root", created=NOW.replace(day=2))
    )
    await index.upsert(
        doc("t1", "crop", Label("Dog", 60, DOG[1:]), root_id="root", created=NOW.replace(day=3))
    )
    await index.upsert(doc("t1", "lone", Label("Dog", 70, DOG[1:]), created=NOW.replace(day=5)))
    query = SearchQuery(labels=("dog",), roots_only=True)
    page = await index.search("t1", query)
    assert ids(page) == ["root", "lone"] and page.total == 2
    assert page.hits[0].score == 90 and page.hits[0].matches == (LabelMatch("Dog", 90, "dog"),)
    assert {f.value for f in page.label_facets} == {"Cat", "Dog"}  # facets of the roots themselves
    assert ids(await index.search("t1", SearchQuery(labels=("dog",)))) == ["edit", "lone", "crop"]
    first = await index.search("t1", SearchQuery(labels=("dog",), roots_only=True, first=1))
    rest = await index.search("t1", SearchQuery(labels=("dog",), roots_only=True, after=first.end_cursor))
    assert ids(first) == ["root"] and first.has_next and ids(rest) == ["lone"] and not rest.has_next
    newest = await index.search("t1", SearchQuery(labels=("dog",), roots_only=True, sort=SortOrder.CREATED))
    assert ids(newest) == ["lone", "root"]  # by the roots' own creation time


async def test_confidence_order_of_a_blended_text_query(
    index: SearchIndex, unless_osmem: Callable[[str], None]
) -> None:
    unless_osmem("k-NN queries")
    dog, other = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)
    await index.upsert(doc("t1", "e1", Label("Dog", 70, DOG[1:]), filename="x.jpg", embedding=dog))
    await index.upsert(doc("t1", "e2", Label("Wolf", 95, ("Canine",)), filename="y.jpg", embedding=other))
    await index.upsert(doc("t1", "e3", Label("Sign", 80), filename="canine-club.jpg", embedding=dog))
    ask = SearchQuery(text="canine", text_embedding=(0.96, 0.28, 0.0))
    # relevance: e1 0.7·70 + 30·0.96 = 77.8; e2 0.7·95 = 66.5 (cos 0.28: no meaning); e3 0.7·50 + 28.8
    assert ids(await index.search("t1", ask)) == ["e1", "e2", "e3"]
    # confidence: the label's own where a label ranked the hit (e2 95, e1 70), else the blend (e3 63.8)
    by_confidence = await index.search("t1", SearchQuery(text="canine", text_embedding=ask.text_embedding,
                                                         sort=SortOrder.CONFIDENCE))  # fmt: skip
    assert ids(by_confidence) == ["e2", "e1", "e3"]
    assert [h.matches for h in by_confidence.hits] == [
        (LabelMatch("Wolf", 95, "canine"),),
        (LabelMatch("Dog", 70, "canine"),),
        (),
    ]


async def test_totals_and_facets_of_one_label_follow_writes_at_any_threshold(index: SearchIndex) -> None:
    year = NOW.replace(year=2010)
    await index.upsert(doc("t1", "d1", Label("Dog", 60.4, DOG[1:]), persons=("Ada",), captured=year))
    await index.upsert(
        doc("t1", "d2", Label("Dog", 60.6, DOG[1:]), Label("Ball", 70), media_type="image/png")
    )
    await index.upsert(doc("t1", "d3", Label("Dog", 80, DOG[1:]), moderated=True, captured=year))
    await index.upsert(doc("t2", "x1", Label("Dog", 99, DOG[1:])))

    async def summary(query: SearchQuery) -> tuple[int, dict[str, int], list[str]]:
        page = await index.search("t1", query)
        return page.total, {f.value: f.count for f in page.label_facets}, ids(page)

    dog = SearchQuery(labels=("dog",), min_confidence=60)
    assert await summary(dog) == (3, {"Dog": 3, "Ball": 1}, ["d3", "d2", "d1"])
    assert await summary(SearchQuery(labels=("dog",), min_confidence=60.5)) == (
        2,
        {"Dog": 2, "Ball": 1},
        ["d3", "d2"],
    )
    assert await summary(SearchQuery(labels=("animal",), min_confidence=60.41, exclude_moderation=True)) == (
        1, {"Dog": 1, "Ball": 1}, ["d2"],
    )  # fmt: skip
    page = await index.search("t1", dog)
    assert [(f.value, f.count) for f in page.media_type_facets] == [("image/jpeg", 2), ("image/png", 1)]
    assert [(f.value, f.count) for f in page.capture_year_facets] == [("2010", 2)]
    assert [(f.value, f.count) for f in page.person_facets] == [("Ada", 1)]
    await index.upsert(doc("t1", "d2", Label("Cat", 90)))  # no longer a dog
    await index.delete("t1", "d3")
    assert await summary(dog) == (1, {"Dog": 1}, ["d1"])
    everything = await index.search("t1", SearchQuery(min_confidence=61))
    assert everything.total == 1 and {f.value: f.count for f in everything.label_facets} == {"Cat": 1}


async def test_newest_first_of_a_common_label_without_moderated_pages(index: SearchIndex) -> None:
    for day in range(1, 11):
        labels = (Label("Dog", 70, DOG[1:]),) if day != 4 else (Label("Cat", 70),)
        await index.upsert(
            doc("t1", f"a{day:02d}", *labels, created=NOW.replace(day=day), moderated=day == 9)
        )
    query = SearchQuery(labels=("dog",), sort=SortOrder.CREATED, exclude_moderation=True, first=3)
    seen: list[str] = []
    while True:
        page = await index.search("t1", query)
        seen += ids(page)
        assert page.total == 8
        if not page.has_next:
            break
        query = dataclasses.replace(query, after=page.end_cursor)
    assert seen == ["a10", "a08", "a07", "a06", "a05", "a03", "a02", "a01"]


async def test_videos_filter_by_duration_and_media_type(index: SearchIndex) -> None:
    await index.upsert(doc("t1", "short", Label("Cat", 90), media_type="video/mp4", duration=4.2))
    await index.upsert(doc("t1", "long", Label("Cat", 80), media_type="video/webm", duration=3600.0))
    await index.upsert(doc("t1", "photo", Label("Cat", 95)))
    await index.upsert(doc("t2", "other", Label("Cat", 95), media_type="video/mp4", duration=10.0))
    assert ids(await index.search("t1", SearchQuery(labels=("cat",), min_duration=4.2))) == ["short", "long"]
    assert ids(await index.search("t1", SearchQuery(max_duration=60))) == ["short"]
    assert ids(await index.search("t1", SearchQuery(min_duration=0, max_duration=1e9))) == ["short", "long"]
    between = SearchQuery(labels=("cat",), min_duration=5, max_duration=3600, media_types=("video/webm",))
    assert ids(await index.search("t1", between)) == ["long"]
    assert ids(await index.search("t1", SearchQuery(labels=("cat",)))) == ["photo", "short", "long"]
    page = await index.search("t1", SearchQuery(min_duration=1))
    assert page.total == 2
    assert {f.value: f.count for f in page.media_type_facets} == {"video/mp4": 1, "video/webm": 1}


ONLY = TrainingExamples.ONLY


def counted(page: SearchPage) -> dict[str, int]:
    return {f.value: f.count for f in page.label_facets}


async def test_training_examples_are_searched_only_when_asked_for(index: SearchIndex) -> None:
    cat = ("Cat", "Feline", "Animal")
    await index.upsert(
        doc("t1", "a1", Label("Dog", 90, DOG[1:]), Label("Cat", 55, cat[1:]), persons=("Ada",))
    )
    await index.upsert(doc("t1", "a2", Label("Cat", 70, cat[1:]), filename="kitty.jpg", text="harbour"))
    for n, conf in enumerate((95, 85, 75)):  # training examples: the commonest label, the best scores
        await index.upsert(
            doc("t1", f"e{n}", Label("Cat", conf, cat[1:]), Label("Dog", 60, DOG[1:]), filename="kitty.jpg",
                text="harbour", persons=("Ada",), moderated=n == 2, training=True)
        )  # fmt: skip
    await index.upsert(doc("t2", "x1", Label("Cat", 99, cat[1:]), training=True))
    # Every shape of query (each search path of the embedded index) sees the archive alone, with totals
    # and facets that count its hits only.
    shapes = {
        "every": (SearchQuery(), ["a1", "a2"]),
        "label": (SearchQuery(labels=("cat",)), ["a2", "a1"]),
        "labels at a threshold": (SearchQuery(labels=("cat", "dog"), min_confidence=50.5), ["a1", "a2"]),
        "moderation": (SearchQuery(labels=("animal",), exclude_moderation=True), ["a1", "a2"]),
        "all labels": (SearchQuery(all_labels=("cat", "dog")), ["a1"]),
        "none of": (SearchQuery(not_labels=("dog",)), ["a2"]),
        "words": (SearchQuery(text="kitty"), ["a2"]),
        "person": (SearchQuery(persons=("Ada",)), ["a1"]),
        "phrase": (SearchQuery(phrase="harbour"), ["a2"]),
        "newest": (SearchQuery(labels=("cat",), sort=SortOrder.CREATED), ["a2", "a1"]),
        "roots": (SearchQuery(labels=("cat",), roots_only=True), ["a2", "a1"]),
    }
    for name, (query, expected) in shapes.items():
        page = await index.search("t1", query)
        assert sorted(ids(page)) == sorted(expected) and page.total == len(expected), name
        assert all(c <= len(expected) for c in counted(page).values()), name
    every = await index.search("t1", SearchQuery())
    assert counted(every)["Cat"] == 2 and counted(every)["Dog"] == 1
    assert [f.count for f in every.person_facets] == [1]

    # Asked for, the training examples alone, on every path too (and never another tenant's).
    page = await index.search("t1", SearchQuery(training_examples=ONLY))
    assert ids(page) == ["e0", "e1", "e2"] and page.total == 3
    assert counted(page)["Cat"] == 3 and counted(page)["Dog"] == 3
    sure = SearchQuery(labels=("cat",), min_confidence=80, training_examples=ONLY)
    assert ids(await index.search("t1", sure)) == ["e0", "e1"]
    moderated = SearchQuery(labels=("cat",), exclude_moderation=True, training_examples=ONLY)
    assert ids(await index.search("t1", moderated)) == ["e0", "e1"]
    for query in (
        SearchQuery(text="kitty"),
        SearchQuery(all_labels=("cat", "dog")),
        SearchQuery(persons=("Ada",)),
    ):
        found = await index.search("t1", dataclasses.replace(query, training_examples=ONLY))
        assert sorted(ids(found)) == ["e0", "e1", "e2"] and found.total == 3, query
    assert ids(await index.search("t2", SearchQuery(training_examples=ONLY))) == ["x1"]
    assert ids(await index.search("t2", SearchQuery())) == []

    # Counted, listed and removed like any document; one that joins the archive moves over.
    assert await index.count("t1") == 5
    listed = await index.fingerprints("t1", after=None, limit=10)
    assert [(t, a) for t, a, _ in listed] == [("t1", a) for a in ("a1", "a2", "e0", "e1", "e2")]
    assert [(t, a) for t, a, _ in await index.fingerprints("t1", after="a2", limit=2)] == [
        ("t1", "e0"),
        ("t1", "e1"),
    ]
    example = doc("t1", "e0", Label("Cat", 95, cat[1:]), training=True)
    await index.upsert(example)
    (found,) = [fp for _, a, fp in await index.fingerprints("t1", after="a2", limit=1)]
    assert (
        found
        == document_fingerprint(example)
        != document_fingerprint(dataclasses.replace(example, training_example=False))
    )
    await index.upsert(dataclasses.replace(example, training_example=False))
    assert ids(await index.search("t1", SearchQuery(labels=("cat",)))) == ["e0", "a2", "a1"]
    assert ids(await index.search("t1", SearchQuery(training_examples=ONLY))) == ["e1", "e2"]
    await index.delete("t1", "e1")
    assert ids(await index.search("t1", SearchQuery(training_examples=ONLY))) == ["e2"]
    assert await index.count("t1") == 4


@pytest.mark.opensearch
async def test_an_index_made_before_training_examples_label_words_and_tones_gets_the_fields_from_init(
    opensearch: OpenSearchServer,
) -> None:
    client = AsyncOpenSearch(hosts=[opensearch.url])
    name = f"contract-{uuid.uuid4().hex}"
    old = index_body(3)
    for added in ("training_example", "label_words", "tone"):  # as releases before them made the index
        del old["mappings"]["properties"][added]
    await client.indices.create(index=name, body=old)
    try:
        adapter = OpenSearchIndex(client, name, dimension=3)
        await adapter.ensure_index()  # what `mediasight init` runs
        mapping = (await client.indices.get_mapping(index=name))[name]["mappings"]["properties"]
        assert mapping["training_example"] == {"type": "boolean"}
        assert mapping["label_words"] == {"type": "text", "analyzer": "words"}
        assert mapping["tone"] == {"type": "keyword"}
        await adapter.upsert(doc("t1", "e1", Label("Cat", 90), training=True))
        await adapter.upsert(doc("t1", "a1", Label("Carnivore", 80), tone=MONOCHROME))
        await adapter.upsert(doc("t1", "a2", Label("Sports Car", 70)))
        assert ids(await adapter.search("t1", SearchQuery())) == ["a1", "a2"]
        assert ids(await adapter.search("t1", SearchQuery(training_examples=ONLY))) == ["e1"]
        assert ids(await adapter.search("t1", SearchQuery(text="cars"))) == ["a2"]
        assert ids(await adapter.search("t1", SearchQuery(tone=MONOCHROME))) == ["a1"]
    finally:
        await client.indices.delete(index=name, ignore_unavailable=True)
        await client.close()


async def test_a_guess_is_no_finding_for_label_facets_and_label_filters(index: SearchIndex) -> None:
    """A model's guess (a machine label under 50) is not counted by the label facets, and label filters do
    not match it unless include_guesses: a facet value counted N refines to N hits, on every search path. A
    name reached at 50 or more by a label beneath it (a reviewer's Missile 100 under a guessed Weapon 42) is
    a finding of that name."""
    weapon = ("Weapon",)
    await index.upsert(doc("t1", "sure", Label("Missile", 80, weapon), Label("Weapon", 80), persons=("Ada",)))
    await index.upsert(doc("t1", "guess", Label("Missile", 42, weapon), Label("Weapon", 42)))
    await index.upsert(
        doc("t1", "plane", Label("Airliner", 90, ("Airplane",)), Label("Airplane", 90),
            Label("Missile", 30, weapon), persons=("Ada",))
    )  # fmt: skip
    await index.upsert(doc("t1", "confirmed", Label("Missile", 100, weapon), Label("Weapon", 42)))
    await index.upsert(doc("t2", "other", Label("Missile", 90, weapon), Label("Weapon", 90)))
    every = await index.search("t1", SearchQuery())
    assert every.total == 4
    assert counted(every) == {"Missile": 2, "Weapon": 2, "Airliner": 1, "Airplane": 1}
    shapes = {  # each search path of the embedded index
        "every": SearchQuery(),
        "one label": SearchQuery(labels=("weapon",)),
        "any of two": SearchQuery(labels=("weapon", "airplane")),
        "none of": SearchQuery(not_labels=("airliner",)),
        "persons": SearchQuery(persons=("Ada",)),
        "words": SearchQuery(text="missile"),
        "top confidence": SearchQuery(min_confidence=50.5),
    }
    for name, shape in shapes.items():
        page = await index.search("t1", dataclasses.replace(shape, first=50))
        assert counted(page), name
        for value, n in counted(page).items():
            refined = dataclasses.replace(shape, all_labels=(*shape.all_labels, value), first=50)
            found = await index.search("t1", refined)
            assert found.total == len(found.hits) == n, (name, value)
    missile = SearchQuery(labels=("missile",))
    assert ids(await index.search("t1", missile)) == ["confirmed", "sure"]
    assert ids(await index.search("t1", SearchQuery(all_labels=("weapon",)))) == ["confirmed", "sure"]
    assert sorted(ids(await index.search("t1", SearchQuery(not_labels=("missile",))))) == ["guess", "plane"]
    # asked for, guesses match down to min_confidence, explained by their own confidence
    guesses = await index.search("t1", dataclasses.replace(missile, include_guesses=True))
    assert ids(guesses) == ["confirmed", "sure", "guess", "plane"] and guesses.total == 4
    assert guesses.hits[2].matches == (LabelMatch("Missile", 42, "missile"),)
    assert counted(guesses) == {"Missile": 2, "Weapon": 2, "Airliner": 1, "Airplane": 1}  # findings still
    weaker = dataclasses.replace(missile, include_guesses=True, min_confidence=35)
    assert ids(await index.search("t1", weaker)) == ["confirmed", "sure", "guess"]
    no_missile = SearchQuery(not_labels=("missile",), include_guesses=True)
    assert ids(await index.search("t1", no_missile)) == []
