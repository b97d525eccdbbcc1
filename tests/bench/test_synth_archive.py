"""bench/synth_archive.py: a small synthetic archive is a sound index whose entities point at their words, whose wire
copies cluster, and whose text is fixed by its seed (the latency figures on it must be reproducible)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, open_store

sys.path.insert(0, str(ROOT / "bench"))
import synth_archive  # noqa: E402

PASSAGES = 40


def build(out: Path) -> dict:
    # A wire copy in every other article, so that 40 passages (about six articles) surely hold one.
    return synth_archive.main(["--passages", str(PASSAGES), "--out", str(out), "--vectors", "hashed", "--batch", "3",
                               "--wire-copies", "0.5", "--no-write"])


def contents(data_dir: Path) -> list[tuple]:
    with open_store(data_dir) as store:
        articles = [store.article(i) for i in store.article_ids()]
        return [(a.id, a.content_hash, a.raw_text, a.title, a.publisher, a.published_at, a.url, a.cluster_id,
                 tuple(store.entities(a.id))) for a in articles]


def test_a_small_archive_is_sound_exact_clustered_and_reproducible(tmp_path: Path) -> None:
    summary = build(tmp_path / "one")
    with open_store(tmp_path / "one") as store:
        store.check_pages()
        assert store.integrity_problems() == []
        counts = store.counts()
        assert counts.chunks >= PASSAGES and counts.chunks == summary["passages"]
        assert len(store.indexed_chunk_rowids()) == counts.chunks  # the FAISS file was built
        n_entities = 0
        for article_id in store.article_ids():
            raw = store.article(article_id).raw_text
            for entity in store.entities(article_id):
                assert entity.text == raw[entity.start:entity.end]
                n_entities += 1
        assert n_entities > 0
        clusters = store.clusters({store.article(i).cluster_id for i in store.article_ids()})
        assert any(len(members) > 1 for members in clusters.values())

    build(tmp_path / "two")
    assert contents(tmp_path / "one") == contents(tmp_path / "two")


def test_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "something").write_text("x")
    with pytest.raises(SystemExit) as refused:
        build(tmp_path / "data")
    assert refused.value.code == 2
