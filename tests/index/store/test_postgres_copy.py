"""``newsdesk copy-index``: the embedded seed index copied into PostgreSQL holds what an ingest into
PostgreSQL holds, finds what it finds, and a database that already holds an index is refused."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np

from tests.conftest import open_pg_store
from tests.pg_servers import PostgresServer, create_database


def _copy(data_dir: Path, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "newsdesk.service.cli", "copy-index", url], env=env, capture_output=True, text=True,
                          timeout=300)


def test_a_copied_index_equals_an_ingested_one_and_a_full_database_is_refused(
        seed_index: Path, pg_server: PostgresServer, pg_seed_url: str, embedder) -> None:
    url = create_database(pg_server, f"copy{uuid.uuid4().hex[:8]}")
    done = _copy(seed_index, url)
    assert done.returncode == 0, done.stderr
    assert "copied 5 articles, 30 chunks, 176 vectors" in done.stdout and "(generation 1)" in done.stdout
    with open_pg_store(pg_seed_url) as ingested, open_pg_store(url) as copied:
        assert dataclasses.replace(copied.counts()) == ingested.counts()
        for summary in ingested.list_articles(100):
            assert dataclasses.replace(copied.article(summary.id), ingested_at="") == \
                dataclasses.replace(ingested.article(summary.id), ingested_at="")
            assert copied.sentences(summary.id) == ingested.sentences(summary.id)
            assert copied.entities(summary.id) == ingested.entities(summary.id)
            for p, q in zip(copied.passages_of(summary.id), ingested.passages_of(summary.id)):
                assert p == q and np.array_equal(copied.sentence_vectors(p.rowid), ingested.sentence_vectors(q.rowid))
        question = embedder.embed(["Who said NATO was prepared for the worst?"])[0]
        assert copied.dense_search(question, 5) == ingested.dense_search(question, 5)
        assert copied.bm25_search("Stoltenberg prepared worst", 5) == ingested.bm25_search("Stoltenberg prepared worst", 5)
    again = _copy(seed_index, url)
    assert again.returncode == 2 and "already holds an index" in again.stderr and "Traceback" not in again.stderr
