"""The read-side store contract: what the query side may rely on, whatever the backend.

Parameterised over the backends: the embedded SQLite + FAISS store and the PostgreSQL + pgvector
store (a real server, ``tests/pg_servers.py``), each holding the five seeds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from newsdesk.index.embed import Embedder
from newsdesk.index.entities import LABELS
from newsdesk.index.store import ReadStore

from tests.conftest import open_pg_store, open_store

ARTICLE = "002_45b39b5889d0e37c"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, seed_index: Path) -> Iterator[ReadStore]:
    if request.param == "sqlite":
        opened = open_store(seed_index)
    else:
        opened = open_pg_store(request.getfixturevalue("pg_seed_url"))
    yield opened
    opened.close()


def test_it_implements_the_protocol(store: ReadStore) -> None:
    assert isinstance(store, ReadStore)


def test_every_sentence_and_passage_is_its_article_text_at_its_offsets(store: ReadStore) -> None:
    article = store.article(ARTICLE)
    assert article is not None and article.id == ARTICLE
    sentences = store.sentences(ARTICLE)
    assert sentences and [s.seq for s in sentences] == list(range(len(sentences)))
    for s in sentences:
        assert article.raw_text[s.start:s.end] == s.text
    rowids = store.rowids_where(stories=[ARTICLE])
    passages = store.passages(rowids)
    assert set(passages) == rowids
    for rowid, p in passages.items():
        assert p.rowid == rowid and p.article_id == ARTICLE and article.raw_text[p.start:p.end] == p.text
        assert (p.title, p.publisher, p.published_at, p.url, p.cluster_id) == (
            article.title, article.publisher, article.published_at, article.url, article.cluster_id)
        assert store.passage(p.chunk_id) == p
        vectors = store.sentence_vectors(rowid)
        assert vectors.shape == (p.last_sentence - p.first_sentence + 1, 384) and vectors.dtype == np.float32


def test_entities_are_exact_typed_spans_of_the_sentences_in_text_order(store: ReadStore) -> None:
    article = store.article(ARTICLE)
    sentences = store.sentences(ARTICLE)
    entities = store.entities(ARTICLE)
    assert entities and entities == sorted(entities, key=lambda e: (e.start, e.end, e.label))
    for e in entities:
        assert article.raw_text[e.start:e.end] == e.text and e.label in LABELS
        assert any(s.start <= e.start < e.end <= s.end for s in sentences), e
    assert {"PERSON", "GPE", "DATE"} <= {e.label for e in entities}
    middle = sentences[len(sentences) // 2]  # a range reads those that begin inside it, as the whole list holds them
    assert store.entities(ARTICLE, middle.start, middle.end) == [e for e in entities if middle.start <= e.start < middle.end]
    assert store.entities(ARTICLE, 0, len(article.raw_text)) == entities and store.entities(ARTICLE, 5, 5) == []


def test_unknown_ids_are_absent_not_errors(store: ReadStore) -> None:
    assert store.article("no-such") is None and store.sentences("no-such") == [] and store.passage("no-such") is None
    assert store.entities("no-such") == []
    assert store.passages([10**9]) == {} and store.passages([]) == {}
    assert store.sentence_vectors(10**9).shape == (0, 384)


def test_searches_return_resolvable_ranked_hits_and_respect_allowed(store: ReadStore, embedder: Embedder) -> None:
    bm25 = store.bm25_search("Stoltenberg prepared worst", 5)
    dense = store.dense_search(embedder.embed(["Who said NATO was prepared for the worst?"])[0], 5)
    for hits in (bm25, dense):
        assert hits and len(hits) <= 5 and set(store.passages(r for r, _ in hits)) == {r for r, _ in hits}
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert all(s > 0 for _, s in bm25)
    allowed = store.rowids_where(stories=[ARTICLE])
    assert {r for r, _ in store.bm25_search("Russia talks", 50, allowed)} <= allowed
    assert {r for r, _ in store.dense_search(embedder.embed(["Russia talks"])[0], 3, allowed)} <= allowed
    assert store.bm25_search("the of and", 5) == []  # nothing but stop words: nothing to search


def test_filters_and_clusters(store: ReadStore) -> None:
    article = store.article(ARTICLE)
    assert store.cluster_members(article.cluster_id)[0] == article.cluster_id
    everything = store.rowids_where()
    assert store.rowids_where(published_from="2999-01-01") == set()
    if article.publisher:
        assert store.rowids_where(publishers=[article.publisher.upper()]) <= everything
    counts = store.counts()
    assert counts.chunks == len(everything) and counts.generation == store.generation >= 1


def test_both_backends_hold_the_same_index_of_the_same_articles(seed_index: Path, pg_seed_url: str) -> None:
    with open_store(seed_index) as sqlite, open_pg_store(pg_seed_url) as postgres:
        a, b = sqlite.counts(), postgres.counts()
        assert (a.articles, a.sentences, a.chunks, a.clusters, a.vectors) == (b.articles, b.sentences, b.chunks, b.clusters, b.vectors)
        def same(records: list) -> list:  # each backend's own ingest: when it was ingested differs
            return [dataclasses.replace(r, ingested_at="") for r in records]

        listed = sqlite.list_articles(100)
        assert same(listed) == same(postgres.list_articles(100)) and len(listed) == a.articles
        assert same(sqlite.list_articles(2, after=listed[1].id)) == same(postgres.list_articles(2, after=listed[1].id))
        for summary in listed:
            assert same([sqlite.article(summary.id)]) == same([postgres.article(summary.id)])
            assert sqlite.sentences(summary.id) == postgres.sentences(summary.id)
            assert sqlite.entities(summary.id) == postgres.entities(summary.id)
            mine, theirs = sqlite.passages_of(summary.id), postgres.passages_of(summary.id)
            assert [dataclasses.replace(p, rowid=0) for p in mine] == [dataclasses.replace(p, rowid=0) for p in theirs]
            for p, q in zip(mine, theirs):  # float16 in both: the same numbers
                assert np.array_equal(sqlite.sentence_vectors(p.rowid), postgres.sentence_vectors(q.rowid))
        assert sqlite.newest_published() == postgres.newest_published()
        dated = listed[0].published_at
        if dated:
            assert len(sqlite.rowids_where(published_to=dated)) == len(postgres.rowids_where(published_to=dated))
