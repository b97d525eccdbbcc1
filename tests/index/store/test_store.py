"""The store's guarantees: index types, locking, schema checks and migrations, atomic writes, pipeline serialization."""

from __future__ import annotations

import copy

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from newsdesk.index.entities import Entity
from newsdesk.index.errors import IndexIncompatible, IndexLocked, IndexNotBuilt, StoreError
from newsdesk.index.ingest import ingest
from newsdesk.index.pipeline import build_ingest_pipeline, load_ingest_pipeline
from newsdesk.index.records import Draft, RawArticle, Sentence
from newsdesk.index.store import DB_NAME, SCHEMA_VERSION, ArticleStore
from newsdesk.index.records import RowIds
from newsdesk.index.store.lexical import LEXICAL_DIR
from newsdesk.index.store.reads import PassageCalendar
from newsdesk.index.store.vectorfiles import saved_folders
from newsdesk.index.vectors import IVFPQ_MIN_VECTORS, VectorIndex
from tests.conftest import DEFAULTS, SEEDS, ingest_options, open_store


def test_reader_on_missing_index_says_so(tmp_path: Path) -> None:
    with pytest.raises(IndexNotBuilt, match="newsdesk ingest"):
        open_store(tmp_path / "nothing")


def test_second_writer_is_refused(writer: ArticleStore) -> None:
    with pytest.raises(IndexLocked):
        open_store(writer.data_dir, writer=True)


def test_other_embedding_model_is_refused(seed_copy: Path) -> None:
    with pytest.raises(IndexIncompatible, match="all-MiniLM-L6-v2"):
        ArticleStore(seed_copy, index_type="flat", vector_storage="float16", model_name="some/other-model")


def test_newer_schema_is_refused(seed_copy: Path) -> None:
    db = sqlite3.connect(seed_copy / "newsdesk.sqlite3")
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(IndexIncompatible, match="newer"):
        open_store(seed_copy)


def _as_schema_1(data_dir: Path) -> None:
    """Turn an index back into what schema version 1 (before entities, page metadata and Tantivy) left on disk."""
    db = sqlite3.connect(data_dir / DB_NAME)
    db.executescript("DROP TABLE entities; DROP TABLE entities_pending; ALTER TABLE articles DROP COLUMN author; "
                     "ALTER TABLE articles DROP COLUMN updated_at; ALTER TABLE articles DROP COLUMN fetched_at; "
                     "CREATE VIRTUAL TABLE chunks_fts USING fts5(title, text, tokenize='porter unicode61 remove_diacritics 2'); "
                     "INSERT INTO chunks_fts(rowid, title, text) SELECT c.rowid, coalesce(a.title, ''), c.text "
                     "FROM chunks c JOIN articles a ON a.id = c.article_id; "
                     "UPDATE meta SET value='1' WHERE key='schema_version';")
    db.close()
    shutil.rmtree(data_dir / LEXICAL_DIR)


def test_an_index_of_schema_1_is_migrated_and_its_articles_tagged_by_the_next_ingest(seed_copy: Path) -> None:
    with open_store(seed_copy) as current:
        expected = {i: current.entities(i) for i in current.article_ids()}
    assert all(expected.values())
    _as_schema_1(seed_copy)
    with pytest.raises(IndexIncompatible, match="run `newsdesk ingest` to migrate"):
        open_store(seed_copy)
    with open_store(seed_copy, writer=True) as store:  # a writer migrates; the old articles are listed, untagged
        assert store.db.meta("schema_version") == str(SCHEMA_VERSION) == "4"
        assert store.article(next(iter(expected))).author is None  # migration 3: columns added, not stated
        assert not store.db.query("SELECT 1 FROM sqlite_master WHERE name='chunks_fts'")  # migration 4: BM25 left SQLite
        assert store.lexical_generation() == store.generation and store.lexical_count() == store.counts().chunks
        assert store.bm25_search("Kremlin talks", 3)  # the BM25 folder was built from SQLite by the migrating writer
        assert sorted(store.untagged_articles(100)) == sorted(expected) and store.entities(next(iter(expected))) == []
        assert store.integrity_problems() == []
        generation = store.generation
        report = ingest([SEEDS], store, ingest_options(batch_articles=2), progress=False)
        assert sorted(report.unchanged) == sorted(expected) and report.chunks_embedded == 0 and report.entities_backfilled == 5
        assert store.generation == generation + 3  # three committed batches of at most two articles
        assert store.untagged_articles(100) == [] and store.integrity_problems() == []
        assert {i: store.entities(i) for i in expected} == expected  # the same entities as if ingested today
        again = ingest([SEEDS], store, ingest_options(), progress=False)
        assert again.entities_backfilled == 0 and store.generation == generation + 3
    with open_store(seed_copy) as reader:
        assert reader.entities(next(iter(expected))) == expected[next(iter(expected))]


def test_entities_commit_with_their_article_or_not_at_all(writer: ArticleStore) -> None:
    raw = "Angela Merkel visited Paris on Monday."
    article = RawArticle(id="a", raw_text=raw, source="a.txt", format="txt")
    sentence = Sentence(0, 0, len(raw), raw)
    broken = Entity(14, 14, "GPE", "")  # an empty span: refused by the table's CHECK
    with pytest.raises(StoreError, match="nothing was changed"):
        writer.write([Draft(article, sentences=(sentence,), entities=(Entity(0, 13, "PERSON", "Angela Merkel"), broken))])
    assert writer.article("a") is None and writer.entities("a") == [] and writer.generation == 0


@pytest.mark.parametrize("index_type", ["flat", "hnsw", "ivfpq"])
def test_index_types_find_the_same_nearest_passage(seed_copy: Path, embedder, index_type: str) -> None:
    with ArticleStore(seed_copy, writer=True, index_type=index_type, vector_storage="float16") as store:
        query = embedder.embed(["Who said the alliance was prepared for the worst?"])[0]
        hits = store.dense_search(query, 3)
        assert store.vectors().index_type == index_type
        exact = open_store(seed_copy).dense_search(query, 3)
        assert hits[0][0] == exact[0][0]
        store.save_vectors()
        assert 1 <= len(saved_folders(seed_copy)) <= 2


def test_ivfpq_trains_once_the_archive_is_large_enough() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(IVFPQ_MIN_VECTORS + 100, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(len(vectors), dtype=np.int64) + 1
    index = VectorIndex("ivfpq", 384)
    index.sync(ids[:100], lambda want: (np.array(list(want), np.int64), vectors[np.array(list(want)) - 1]))
    assert index.effective_type == "flat"
    index.sync(ids, lambda want: (np.array(list(want), np.int64), vectors[np.array(list(want)) - 1]))
    assert index.effective_type == "ivfpq" and index.ntotal == len(ids)
    top = index.search(vectors[10], 5)
    assert 11 in top[0].tolist()


def test_ingest_pipeline_serializes(writer: ArticleStore) -> None:
    pipeline = build_ingest_pipeline(writer, ingest_options())
    text = pipeline.dumps()
    for name in ("changes", "cleaner", "metadata", "dedupe", "chunker", "entities", "embedder", "writer"):
        assert f"  {name}:" in text
    assert str(writer.data_dir) in text
    assert f"max_tokens: {ingest_options().max_tokens}" in text


def test_ingest_pipeline_round_trips_through_yaml(writer: ArticleStore) -> None:
    original = build_ingest_pipeline(writer, ingest_options(max_tokens=128, overlap_tokens=32))
    text = original.dumps()
    expected = original.to_dict()
    restored = load_ingest_pipeline(text, writer)
    assert restored.get_component("chunker").max_tokens == 128
    assert restored.get_component("writer").store is writer
    again = restored.to_dict()
    assert again["components"] == expected["components"]
    assert sorted(map(str, again["connections"])) == sorted(map(str, expected["connections"]))


def test_a_saved_pipeline_needs_the_open_store(writer: ArticleStore) -> None:
    from haystack import Pipeline

    text = build_ingest_pipeline(writer, ingest_options()).dumps()
    with pytest.raises(Exception, match="load_ingest_pipeline"):
        Pipeline.loads(text, allowed_modules=["newsdesk.index.pipeline"])


def test_an_index_keeps_the_precision_it_was_built_with(tmp_path: Path) -> None:
    """An fp32 index (all indexes before int8) opened by int8 settings stays fp32, for ingest and for queries."""
    from newsdesk.index.embed import MODEL_NAME, model_identity

    with ArticleStore(tmp_path, index_type="flat", vector_storage="float16", writer=True, model_name=model_identity("fp32")) as store:
        assert store.model_name == MODEL_NAME
    with ArticleStore(tmp_path, index_type="flat", vector_storage="float16", model_name=model_identity("int8")) as store:
        assert store.model_name == MODEL_NAME
    with ArticleStore(tmp_path, index_type="flat", vector_storage="float16", writer=True, model_name=model_identity("int8")) as store:
        assert store.model_name == MODEL_NAME and store.db.meta("embedding_model") == MODEL_NAME
        assert DEFAULTS.embedder(store).precision == "fp32" and DEFAULTS.embed_precision == "int8"


def test_the_passage_calendar_filters_as_the_documented_conditions_say() -> None:
    rng = np.random.default_rng(3)
    days = ["", "2021-12-31", "2022-01-01", "2022-01-15", "2022-02-01", "2023-06-30"]
    publishers = ["", "reuters", "ap", "cnn"]
    rows = [(rowid, days[rng.integers(len(days))], publishers[rng.integers(len(publishers))]) for rowid in range(1, 400)]
    calendar = PassageCalendar.of(7, rows)

    def expected(pubs, start, end, known_by):
        return {r for r, day, pub in rows
                if (not pubs or pub in [p.lower() for p in pubs]) and (not start or day and day >= start)
                and (not end or day and day <= end) and (not known_by or not day or day <= known_by)}

    for pubs in (None, ["Reuters"], ["AP", "cnn"]):
        for start in (None, "2022-01-01", "2022-01-02"):
            for end in (None, "2022-01-15", "2021-01-01"):
                for known_by in (None, "2022-01-01", "2022-01-15T10:00:00"):
                    got = calendar.rowids_where(pubs, start, end, known_by)
                    assert set(got) == expected(pubs, start, end, known_by and known_by[:10]), (pubs, start, end, known_by)


@pytest.mark.parametrize("n", [5, 5000])  # sorted by np.unique, and through a table of flags
def test_row_ids_are_a_sorted_read_only_set(n: int) -> None:
    drawn = np.random.default_rng(n).integers(1, 20 * n, size=n)
    ids = RowIds(drawn)
    assert ids.array().tolist() == sorted(set(drawn.tolist())) and len(ids) == len(set(drawn.tolist()))
    assert all(int(i) in ids for i in drawn[:50]) and 0 not in ids and "1" not in ids
    assert set(ids) == set(drawn.tolist()) and ids == RowIds(drawn.tolist()) and copy.deepcopy(ids) is ids
    probes = np.array([0, *drawn[:50], 20 * n + 7, *range(1, 60)], dtype=np.int64)  # below, inside, above, between
    assert ids.isin(probes).tolist() == [int(p) in ids for p in probes] and not RowIds().isin(probes).any()


def test_vectors_are_stored_as_float16_and_an_index_from_before_keeps_float32(seed_copy: Path) -> None:
    with open_store(seed_copy) as store:
        assert store.db.meta("vector_storage") == "float16" and store.vector_dtype == np.float16
        rowid, blob, sentences, n = store.db.query(
            "SELECT rowid, vector, sentence_vectors, last_sentence - first_sentence + 1 FROM chunks LIMIT 1")[0]
        assert len(blob) == 2 * store.dim and len(sentences) == 2 * store.dim * n
        assert store.sentence_vectors(rowid).dtype == np.float32 and store.integrity_problems() == []
    db = sqlite3.connect(seed_copy / DB_NAME)  # as written before the setting existed: float32 blobs, no meta key
    for rowid, blob, sentences in db.execute("SELECT rowid, vector, sentence_vectors FROM chunks").fetchall():
        db.execute("UPDATE chunks SET vector=?, sentence_vectors=? WHERE rowid=?",
                   (np.frombuffer(blob, np.float16).astype(np.float32).tobytes(),
                    np.frombuffer(sentences, np.float16).astype(np.float32).tobytes(), rowid))
    db.execute("DELETE FROM meta WHERE key='vector_storage'")
    db.commit()
    db.close()
    with open_store(seed_copy, writer=True) as store:
        assert store.vector_dtype == np.float32 and store.db.meta("vector_storage") == "float32"
        assert store.integrity_problems() == []
        assert np.allclose(store.sentence_vectors(rowid), np.frombuffer(sentences, np.float16).reshape(-1, store.dim), atol=1e-3)
