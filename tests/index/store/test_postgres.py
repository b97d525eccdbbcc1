"""The PostgreSQL store's own guarantees, on a real server: one writer, transactions that bump the
generation, a killed server that loses nothing committed, schema versions, no password in any message.
(What it shares with the SQLite store is in test_contract.py.)"""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from newsdesk.index.errors import IndexIncompatible, IndexLocked, IndexNotBuilt, StoreError
from newsdesk.index.ingest import ingest
from newsdesk.index.store.postgres import PG_SCHEMA_VERSION

from tests.conftest import SEEDS, ingest_options, open_pg_store
from tests.pg_servers import PostgresServer, create_database


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    return create_database(pg_server, f"t{uuid.uuid4().hex[:12]}")


def _ingest(url: str, paths: list[Path]):
    with open_pg_store(url, writer=True) as store:
        return ingest(paths, store, ingest_options(), progress=False)


def test_an_empty_database_is_no_index_until_a_writer_creates_it(pg_url: str) -> None:
    with pytest.raises(IndexNotBuilt):
        open_pg_store(pg_url)
    with open_pg_store(pg_url, writer=True) as store:
        assert store.generation == 0 and store.counts().articles == 0
    with open_pg_store(pg_url) as reader:
        assert reader.generation == 0


def test_one_writer_at_a_time_and_readers_never_write(pg_url: str) -> None:
    with open_pg_store(pg_url, writer=True):
        with pytest.raises(IndexLocked):
            open_pg_store(pg_url, writer=True)
        with open_pg_store(pg_url) as reader:
            with pytest.raises(StoreError, match="read-only"):
                reader.write([])
    with open_pg_store(pg_url, writer=True):  # the lock went with the first writer's session
        pass


def test_writes_replace_and_delete_in_transactions_that_bump_the_generation(pg_url: str, tmp_path: Path) -> None:
    first = SEEDS / sorted(p.name for p in SEEDS.iterdir())[0]
    report = _ingest(pg_url, [SEEDS])
    assert report.generation == 1 and len(report.added) == 5
    again = _ingest(pg_url, [SEEDS])
    assert len(again.unchanged) == 5 and again.generation == 1  # an unchanged re-ingest writes nothing
    changed = tmp_path / first.name
    changed.write_text(first.read_text(encoding="utf-8") + "\n\nA correction was added on Friday.\n", encoding="utf-8")
    replaced = _ingest(pg_url, [changed])
    assert replaced.replaced and replaced.generation == 2
    with open_pg_store(pg_url, writer=True) as store:
        article_id = replaced.replaced[0]
        assert store.article(article_id).raw_text.endswith("A correction was added on Friday.\n")
        before = store.counts()
        assert store.delete(article_id) and not store.delete(article_id)
        after = store.counts()
        assert after.generation == 3 and after.articles == before.articles - 1
        assert after.vectors < before.vectors and after.sentences < before.sentences
        assert store.article(article_id) is None and store.sentences(article_id) == [] and store.entities(article_id) == []
        assert store.rowids_where(stories=[article_id]) == set()


def test_a_killed_server_keeps_every_committed_write_and_no_half_written_one(pg_server: PostgresServer, pg_url: str) -> None:
    _ingest(pg_url, [SEEDS])
    with open_pg_store(pg_url) as store:
        committed = store.counts()
    half = psycopg.connect(pg_url)  # a write in flight when the machine dies: begun, never committed
    half.execute("UPDATE meta SET value='99' WHERE key='generation'")
    half.execute("DELETE FROM articles")
    pg_server.kill()
    half.close()
    pg_server.restart()
    with open_pg_store(pg_url) as store:
        assert store.counts() == committed
        assert all(store.article(s.id) is not None for s in store.list_articles(10))


def test_a_newer_schema_is_refused_and_an_unreachable_server_named_without_its_password(pg_url: str) -> None:
    with open_pg_store(pg_url, writer=True):
        pass
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute("UPDATE meta SET value=%s WHERE key='schema_version'", (str(PG_SCHEMA_VERSION + 1),))
    with pytest.raises(IndexIncompatible, match="newer"):
        open_pg_store(pg_url)
    with pytest.raises(StoreError) as failure:
        open_pg_store("postgresql://reader:s3cret-pw@127.0.0.1:1/news")
    assert "s3cret-pw" not in str(failure.value) and "127.0.0.1:1" in str(failure.value)
