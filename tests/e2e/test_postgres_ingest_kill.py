"""Fault (issue 15): the PostgreSQL primary SIGKILLed while ``newsdesk ingest`` writes to it. The ingest
fails with a clear message; after a restart every batch it reported committed is there, whole, nothing
half-written is; the same command run again resumes (what was committed is unchanged, the rest is added)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import open_pg_store
from tests.e2e.test_write_kill import make_articles
from tests.pg_servers import create_database, start_primary

pytestmark = pytest.mark.slow

ARTICLES = 40
BATCH = 3  # articles per committed write
KILL_AFTER = 4  # commits reported before the primary dies


def _ingest(url: str, source: Path) -> subprocess.Popen:
    env = {**os.environ, "NEWSDESK_DATABASE_URL": url, "NEWSDESK_INGEST_BATCH_ARTICLES": str(BATCH), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "newsdesk.service.cli", "ingest", "--verbose", str(source)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_primary_killed_during_ingest_loses_no_acknowledged_batch_and_the_ingest_resumes(tmp_path: Path) -> None:
    articles = make_articles(ARTICLES, random.Random(15))
    source = tmp_path / "articles.jsonl"
    source.write_text("".join(json.dumps(a) + "\n" for a in articles), encoding="utf-8")
    server = start_primary(tmp_path / "pg")
    try:
        url = create_database(server, "news")
        process = _ingest(url, source)
        acknowledged: list[str] = []
        for line in process.stdout:
            if line.startswith("committed generation"):
                acknowledged += line.split(": ", 1)[1].split()
                if len(acknowledged) >= KILL_AFTER * BATCH:
                    server.kill()
                    break
        process.stdout.read()
        assert process.wait(timeout=120) == 2
        errors = process.stderr.read()
        assert errors.splitlines()[-1].startswith("newsdesk: ") and "Traceback" not in errors, errors
        server.restart()

        with open_pg_store(url) as store:
            stored = {a.id for a in store.list_articles(1000)}
            assert set(acknowledged) <= stored  # nothing acknowledged is lost
            assert len(stored) % BATCH == 0 and store.counts().generation == len(stored) // BATCH  # whole batches only
            for article_id in stored:
                article = store.article(article_id)
                for passage in store.passages(store.rowids_where(stories=[article_id])).values():
                    assert article.raw_text[passage.start:passage.end] == passage.text

        resumed = _ingest(url, source)
        out, err = resumed.communicate(timeout=300)
        assert resumed.returncode == 0, err
        assert f"unchanged {len(stored)}" in out and f"added {ARTICLES - len(stored)}" in out
        with open_pg_store(url) as store:
            assert {a.id for a in store.list_articles(1000)} == {a["id"] for a in articles}
            assert store.counts().articles == ARTICLES
    finally:
        server.stop()
