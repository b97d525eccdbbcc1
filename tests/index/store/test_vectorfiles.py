"""A FAISS vectors file is tied to its database: one that is not this index's is rebuilt from SQLite, never searched."""

from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from newsdesk.index.embed import passage_input
from newsdesk.index.ingest import ingest
from newsdesk.index.store import DB_NAME, ArticleStore
from newsdesk.index.store.vectorfiles import saved_folders
from newsdesk.index.vectors import VectorIndex
from tests.conftest import ingest_options, open_store

ZORVAN = ("The Zorvan bridge will reopen in March 2025, the city's mayor Olena Petrenko said on Monday.\n\n"
          "Engineers have already repaired two of the bridge's five spans, and the last will be finished in January.\n")


@pytest.fixture(scope="module")
def other_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another archive: one article that no seed shares, its chunk row ids overlapping the seeds'."""
    root = tmp_path_factory.mktemp("other-index")
    (root / "zorvan-bridge.txt").write_text(ZORVAN, encoding="utf-8")
    with open_store(root / "data", writer=True) as store:
        assert not ingest([root / "zorvan-bridge.txt"], store, ingest_options(), progress=False).skipped
    return root / "data"


def _assert_only_own_vectors(store: ArticleStore, query: np.ndarray, hits: list[tuple[int, float]]) -> None:
    """Each hit scores exactly the query's best similarity to that chunk's own vectors in SQLite."""
    for rowid, score in hits:
        passage, sentences = store.db.query("SELECT vector, sentence_vectors FROM chunks WHERE rowid=?", (rowid,))[0]
        own = np.vstack([store.vectors_of(passage), store.vectors_of(sentences)])
        assert score == pytest.approx(float((own @ query).max()), abs=1e-4)


@pytest.mark.parametrize("case", ["another index's file", "a generation never committed"])
def test_a_vectors_file_not_of_this_database_is_rebuilt_not_searched(seed_copy: Path, other_index: Path, embedder,
                                                                      caplog: pytest.LogCaptureFixture, case: str) -> None:
    with open_store(seed_copy) as store:
        generation = store.generation
    foreign = saved_folders(other_index)[-1]
    planted = seed_copy / f"vectors-{generation + 7:09d}"  # newer by name than the index's own folder
    if case == "another index's file":
        shutil.copytree(foreign, planted)
    else:  # an index from before ids, and a file (without one) claiming a generation this database never reached
        db = sqlite3.connect(seed_copy / DB_NAME)
        db.execute("DELETE FROM meta WHERE key='index_id'")
        db.commit()
        db.close()
        VectorIndex.load(foreign, 384)[0].save(planted, generation + 7)
    with open_store(other_index) as other:
        chunk = other.passages_of(other.article_ids()[0])[0]
        query = embedder.embed([passage_input(other.article(chunk.article_id).title, chunk.text)])[0]

    with caplog.at_level(logging.WARNING, logger="newsdesk.index.store.vectorfiles"), open_store(seed_copy) as store:
        hits = store.dense_search(query, 5)
        assert hits and hits[0][1] < 0.9  # no seed is about the Zorvan bridge: another archive's passage would score ~1
        _assert_only_own_vectors(store, query, hits)
        assert store.indexed_chunk_rowids() == {c.rowid for a in store.article_ids() for c in store.passages_of(a)}
    assert any(planted.name in r.getMessage() and "rebuilding it from SQLite" in r.getMessage() for r in caplog.records)

    with open_store(seed_copy, writer=True) as store:  # the next writer saves this index's own file in its place
        saved = store.save_vectors()
    assert saved_folders(seed_copy)[-1] == saved and planted not in saved_folders(seed_copy)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="newsdesk.index.store.vectorfiles"), open_store(seed_copy) as store:
        _assert_only_own_vectors(store, query, store.dense_search(query, 5))
    assert not caplog.records  # loaded as it is, no rebuild


def test_a_folder_saved_for_the_current_generation_is_used_as_saved_and_an_older_one_is_brought_up_to_date(
        seed_copy: Path, tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_store(seed_copy) as store:
        assert VectorIndex.load(saved_folders(seed_copy)[-1], 384)[1] == store.generation
        with monkeypatch.context() as patched:  # nothing to compare with SQLite: its ids are the chunks'
            patched.setattr(ArticleStore, "_wanted_vector_ids", lambda self: pytest.fail("read the chunk ids"))
            store.warm_up()
        before = store.counts().vectors
    (tmp_path / "zorvan-bridge.txt").write_text(ZORVAN, encoding="utf-8")
    with open_store(seed_copy, writer=True) as store:
        assert not ingest([tmp_path / "zorvan-bridge.txt"], store, ingest_options(), progress=False).skipped
        generation = store.generation
    shutil.rmtree(saved_folders(seed_copy)[-1])  # as if the writer had died between its commit and its save
    assert VectorIndex.load(saved_folders(seed_copy)[-1], 384)[1] < generation
    with open_store(seed_copy) as store:
        store.warm_up()
        assert store.counts().vectors > before
        chunk = next(c for a in store.article_ids() for c in store.passages_of(a) if "Zorvan" in c.text)
        query = embedder.embed([passage_input(store.article(chunk.article_id).title, chunk.text)])[0]
        assert store.dense_search(query, 1)[0] == (chunk.rowid, pytest.approx(1.0, abs=1e-3))
