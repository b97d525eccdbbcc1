"""BM25 over Tantivy: in step with SQLite after every write, followed by readers, repaired after a crash."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from newsdesk.index.ingest import ingest
from newsdesk.index.records import RowIds
from newsdesk.index.store import ArticleStore
from newsdesk.index.store import lexical
from newsdesk.index.store.lexical import LEXICAL_DIR
from tests.conftest import ingest_options, open_store

ZORVAN = "The Zorvan bridge will reopen in March 2025, the city's mayor Olena Petrenko said on Monday.\n"
QUILLON = "Fishermen in Quillon harbour protested against the new quotas on Tuesday.\n"
ZURICH = "Zürich's voters approved the new tram lines in Sunday's elections.\n"


def _ingest(store: ArticleStore, folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    report = ingest([folder / name], store, ingest_options(), progress=False)
    assert not report.skipped


def _rowids(store: ArticleStore, query: str) -> set[int]:
    return {rowid for rowid, _ in store.bm25_search(query, 10)}


def _chunk_rowids(store: ArticleStore) -> set[int]:
    return {r[0] for r in store.db.query("SELECT rowid FROM chunks")}


def test_a_write_replacement_and_deletion_reach_bm25_with_their_commit(tmp_path: Path) -> None:
    with open_store(tmp_path / "data", writer=True) as store:
        _ingest(store, tmp_path / "in", "bridge.txt", ZORVAN)
        first = _chunk_rowids(store)
        assert _rowids(store, "Zorvan bridge") == first
        _ingest(store, tmp_path / "in", "bridge.txt", QUILLON)  # the same source, new text: the article is replaced
        assert _rowids(store, "Zorvan bridge") == set() and _rowids(store, "Quillon harbour") == _chunk_rowids(store) != first
        assert store.lexical_generation() == store.generation and store.lexical_count() == store.counts().chunks
        assert store.delete(store.article_ids()[0])
        assert _rowids(store, "Quillon harbour") == set() and store.lexical_count() == 0
        assert store.lexical_generation() == store.generation and store.integrity_problems() == []


def test_words_meet_across_case_accents_and_endings(tmp_path: Path) -> None:
    with open_store(tmp_path / "data", writer=True) as store:
        _ingest(store, tmp_path / "in", "zurich.txt", ZURICH)
        assert _rowids(store, "zurich election approves") == _chunk_rowids(store)
        assert store.bm25_search("the of and", 10) == []  # stop words alone ask nothing


def test_a_reader_follows_the_writers_commits_without_reopening(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with open_store(data, writer=True) as writer:
        _ingest(writer, tmp_path / "in", "bridge.txt", ZORVAN)
        with open_store(data) as reader:
            assert _rowids(reader, "Zorvan") and not _rowids(reader, "Quillon")
            _ingest(writer, tmp_path / "in", "harbour.txt", QUILLON)
            assert _rowids(reader, "Quillon") == _rowids(writer, "Quillon") != set()


def test_a_folder_left_behind_by_a_crash_is_searched_then_rebuilt_by_the_next_writer(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with open_store(data, writer=True) as store:
        _ingest(store, tmp_path / "in", "bridge.txt", ZORVAN)
    shutil.copytree(data / LEXICAL_DIR, tmp_path / "before")
    with open_store(data, writer=True) as store:
        _ingest(store, tmp_path / "in", "harbour.txt", QUILLON)
    # what a writer killed after SQLite's commit and before Tantivy's leaves on disk: the folder one write behind
    shutil.rmtree(data / LEXICAL_DIR)
    shutil.copytree(tmp_path / "before", data / LEXICAL_DIR)
    with open_store(data) as reader:
        assert reader.lexical_generation() == reader.generation - 1
        assert _rowids(reader, "Zorvan") and not _rowids(reader, "Quillon")  # searched as it is; SQLite lost nothing
    with open_store(data, writer=True) as store:
        assert store.lexical_generation() == store.generation and store.integrity_problems() == []
        assert _rowids(store, "Quillon") and store.lexical_count() == store.counts().chunks


@pytest.mark.parametrize("folder", ["missing", "unusable"])
def test_a_reader_without_a_usable_folder_builds_one_in_memory_until_a_writer_makes_one(tmp_path: Path, folder: str) -> None:
    data = tmp_path / "data"
    with open_store(data, writer=True) as store:
        _ingest(store, tmp_path / "in", "bridge.txt", ZORVAN)
    marker = data / LEXICAL_DIR / "newsdesk.json"
    if folder == "missing":
        shutil.rmtree(data / LEXICAL_DIR)
    else:  # as a release with another analyzer leaves it
        marker.write_text(marker.read_text().replace('"analyzer": "', '"analyzer": "older|'))
    before = marker.read_bytes() if folder == "unusable" else None
    with open_store(data) as reader:
        assert _rowids(reader, "Zorvan bridge") == _chunk_rowids(reader)
        assert _rowids(reader, "Zorvan bridge")  # asked again: still the in-memory index
        assert (marker.read_bytes() if marker.exists() else None) == before  # a reader writes nothing
        with open_store(data, writer=True) as store:  # a writer builds the folder, then writes to it
            _ingest(store, tmp_path / "in", "harbour.txt", QUILLON)
        assert _rowids(reader, "Quillon harbour") == _rowids(reader, "Quillon harbour") != set()  # the reader moved to it


def test_a_damaged_folder_is_rebuilt_by_the_writer(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with open_store(data, writer=True) as store:
        _ingest(store, tmp_path / "in", "bridge.txt", ZORVAN)
    for path in (data / LEXICAL_DIR).iterdir():
        path.write_bytes(b"\0" * 16)  # every file, the marker too
    with open_store(data, writer=True) as store:
        assert store.lexical_generation() == store.generation and _rowids(store, "Zorvan bridge") == _chunk_rowids(store)


@pytest.mark.parametrize("where", ["inside", "after"])
@pytest.mark.parametrize("share", ["narrow", "wide"])
def test_a_filter_keeps_the_unfiltered_ranking_of_what_it_allows(seed_store: ArticleStore, monkeypatch: pytest.MonkeyPatch,
                                                                 share: str, where: str) -> None:
    # inside the search as a set of row ids, or after it on more hits: the choice is a cost, never a ranking
    monkeypatch.setattr(lexical, "_TERM_SET_SQUARED", 10**9 if where == "inside" else 0)
    query = "Biden Russia Ukraine talks president"
    full = seed_store.bm25_search(query, 1000)
    everything = sorted(_chunk_rowids(seed_store))
    allowed = set(everything[::5]) if share == "narrow" else set(everything[2:])
    expected = [hit for hit in full if hit[0] in allowed][:3]
    found = seed_store.bm25_search(query, 3, RowIds(allowed))
    assert len(expected) == 3 and [r for r, _ in found] == [r for r, _ in expected]
    assert [s for _, s in found] == pytest.approx([s for _, s in expected])
