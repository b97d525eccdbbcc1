"""The store's guarantees: index types, locking, schema checks, pipeline serialization."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from newsdesk.index.embed import MODEL_NAME
from newsdesk.index.errors import IndexIncompatible, IndexLocked, IndexNotBuilt
from newsdesk.index.pipeline import build_ingest_pipeline
from newsdesk.index.store import ArticleStore
from newsdesk.index.vectors import IVFPQ_MIN_VECTORS, VectorIndex


def test_reader_on_missing_index_says_so(tmp_path: Path) -> None:
    with pytest.raises(IndexNotBuilt, match="newsdesk ingest"):
        ArticleStore(tmp_path / "nothing")


def test_second_writer_is_refused(writer: ArticleStore) -> None:
    with pytest.raises(IndexLocked):
        ArticleStore(writer.data_dir, writer=True, model_name=MODEL_NAME)


def test_other_embedding_model_is_refused(seed_copy: Path) -> None:
    with pytest.raises(IndexIncompatible, match="all-MiniLM-L6-v2"):
        ArticleStore(seed_copy, model_name="some/other-model")


def test_newer_schema_is_refused(seed_copy: Path) -> None:
    import sqlite3

    db = sqlite3.connect(seed_copy / "newsdesk.sqlite3")
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(IndexIncompatible, match="newer"):
        ArticleStore(seed_copy, model_name=MODEL_NAME)


@pytest.mark.parametrize("index_type", ["flat", "hnsw", "ivfpq"])
def test_index_types_find_the_same_nearest_passage(seed_copy: Path, embedder, index_type: str) -> None:
    with ArticleStore(seed_copy, writer=True, model_name=MODEL_NAME, index_type=index_type) as store:
        query = embedder.embed(["Who said the alliance was prepared for the worst?"])[0]
        hits = store.dense_search(query, 3)
        assert store.vectors().index_type == index_type
        exact = ArticleStore(seed_copy, model_name=MODEL_NAME).dense_search(query, 3)
        assert hits[0][0] == exact[0][0]
        store.save_vectors()
        assert len(list(seed_copy.glob("vectors-*.npz"))) == 1


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
    assert 11 in [i for i, _ in top]


def test_ingest_pipeline_serializes(writer: ArticleStore) -> None:
    pipeline = build_ingest_pipeline(writer)
    text = pipeline.dumps()
    for name in ("changes", "cleaner", "metadata", "dedupe", "chunker", "embedder", "writer"):
        assert f"  {name}:" in text
    assert str(writer.data_dir) in text
    assert "max_tokens: 192" in text


def test_ingest_pipeline_round_trips_through_yaml(data_dir: Path) -> None:
    from haystack import Pipeline

    with ArticleStore(data_dir, writer=True, model_name=MODEL_NAME) as store:
        original = build_ingest_pipeline(store, max_tokens=128, overlap_tokens=32)
        text = original.dumps()
        expected = original.to_dict()
    restored = Pipeline.loads(text, allowed_modules=["newsdesk.index.pipeline"])  # one shared writer for the folder
    try:
        assert restored.get_component("chunker").max_tokens == 128
        assert restored.get_component("writer").store.data_dir == data_dir
        again = restored.to_dict()
        assert again["components"] == expected["components"]
        assert sorted(map(str, again["connections"])) == sorted(map(str, expected["connections"]))
    finally:
        restored.get_component("writer").store.close()
