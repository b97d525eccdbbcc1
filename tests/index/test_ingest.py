"""Ingestion end to end on the seeds: idempotent, incremental, replace and delete."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from newsdesk.index.entities import EntityTagger
from newsdesk.index.ingest import ingest
from newsdesk.index.store import ArticleStore

from tests.conftest import SEEDS, ingest_options, open_store


def test_seed_ingest_is_consistent(seed_store: ArticleStore) -> None:
    counts = seed_store.counts()
    assert counts.articles == 5
    assert counts.chunks >= 5
    assert seed_store.integrity_problems() == []
    assert seed_store.vectors().ntotal == counts.vectors


def test_reingesting_seeds_embeds_and_tags_nothing(seed_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tagged: list[object] = []
    original = EntityTagger.tag_many

    def spy(self: EntityTagger, items: list) -> list:
        tagged.extend(items)
        return original(self, items)

    monkeypatch.setattr(EntityTagger, "tag_many", spy)
    with open_store(seed_copy, writer=True) as store:
        before = store.generation
        report = ingest([SEEDS], store, ingest_options(), progress=False)
        assert report.chunks_embedded == 0 and tagged == [] and report.entities_backfilled == 0
        assert report.added == [] and report.replaced == []
        assert sorted(report.unchanged) == sorted(p.stem for p in SEEDS.glob("*.txt"))
        assert store.generation == before  # nothing was written


def test_changed_article_replaces_old_version_and_reuses_unchanged_chunks(seed_copy: Path, tmp_path: Path) -> None:
    folder = tmp_path / "edited"
    shutil.copytree(SEEDS, folder)
    target = folder / "002_45b39b5889d0e37c.txt"
    target.write_text(target.read_text(encoding="utf-8") + "\n\nKremlin officials added a late comment on Friday.\n", encoding="utf-8")
    with open_store(seed_copy, writer=True) as store:
        old_chunks = store.passages_of("002_45b39b5889d0e37c")
        report = ingest([folder], store, ingest_options(), progress=False)
        assert report.replaced == ["002_45b39b5889d0e37c"]
        assert len(report.unchanged) == 4
        # Only the chunk(s) whose text changed are embedded again.
        assert 1 <= report.chunks_embedded < len(old_chunks)
        assert report.chunks_reused >= len(old_chunks) - 2
        article = store.article("002_45b39b5889d0e37c")
        assert article.raw_text.endswith("late comment on Friday.\n")
        assert any("late comment on Friday" in c.text for c in store.passages_of("002_45b39b5889d0e37c"))
        friday = article.raw_text.rindex("Friday")
        assert any((e.start, e.text, e.label) == (friday, "Friday", "DATE") for e in store.entities("002_45b39b5889d0e37c"))
        assert store.counts().articles == 5
        assert store.integrity_problems() == []
        assert store.vectors().ntotal == store.counts().vectors


def test_delete_removes_article_everywhere(seed_copy: Path) -> None:
    with open_store(seed_copy, writer=True) as store:
        rowids = [c.rowid for c in store.passages_of("003_f9095a6aa4cb8e46")]
        assert store.delete("003_f9095a6aa4cb8e46")
        assert not store.delete("003_f9095a6aa4cb8e46")
        store.save_vectors()
        assert store.article("003_f9095a6aa4cb8e46") is None
        assert store.sentences("003_f9095a6aa4cb8e46") == [] and store.entities("003_f9095a6aa4cb8e46") == []
        assert not set(rowids) & store.indexed_chunk_rowids()
        assert all(r not in rowids for r, _ in store.bm25_search("OHCHR civilian casualties 16,150", 10))
    with open_store(seed_copy) as reopened:
        assert reopened.counts().articles == 4
        assert reopened.vectors().ntotal == reopened.counts().vectors


def test_jsonl_export_with_metadata(writer: ArticleStore, tmp_path: Path) -> None:
    lines = [
        {"id": "wire-1", "title": "Dam breaks in the north", "url": "https://example.org/dam", "publisher": "Example Wire",
         "published_at": "2024-03-05", "text": "A dam broke on Tuesday. Villages downstream were evacuated by the army."},
        {"id": "wire-2", "title": None, "url": None, "publisher": None, "published_at": None,
         "text": "The harvest was the largest in a decade. Farmers said prices fell."},
    ]
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    report = ingest([path], writer, ingest_options(), progress=False)
    assert report.added == ["wire-1", "wire-2"] and not report.skipped
    first = writer.article("wire-1")
    assert (first.title, first.publisher, first.published_at, first.url) == (
        "Dam breaks in the north", "Example Wire", "2024-03-05", "https://example.org/dam")
    second = writer.article("wire-2")
    assert second.title is None and second.publisher is None and second.published_at is None


def test_ingest_works_where_an_event_loop_already_runs(tmp_path: Path, seed_store: ArticleStore) -> None:
    """The pipeline runs its entity and vector branches with ``run_async``; a caller inside an event loop (a notebook,
    Playwright's synchronous API) gets the same index as anyone else, not "asyncio.run() cannot be called"."""
    import asyncio

    async def inside_a_loop() -> list[str]:
        with open_store(tmp_path / "data", writer=True) as store:
            return ingest([SEEDS], store, ingest_options(), progress=False).added

    assert sorted(asyncio.run(inside_a_loop())) == sorted(seed_store.article_ids())
    with open_store(tmp_path / "data") as store:
        assert all(store.entities(i) == seed_store.entities(i) for i in seed_store.article_ids())
