"""Read replicas (issue 15), on real servers: a PostgreSQL primary and streaming replicas on other loopback
addresses. Reads go to a replica that has replayed the newest generation; one that lags or dies is passed
over (a warning in the log), never an error to the reader; a process reads its own writes."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from newsdesk.index.ingest import ingest
from newsdesk.index.store.postgres import PostgresStore, redact

from tests.conftest import DEFAULTS, SEEDS, ingest_options, open_pg_store
from tests.pg_servers import PostgresServer, create_database, start_replica


@pytest.fixture(scope="module")
def replica(pg_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = start_replica(pg_server, tmp_path_factory.mktemp("replica"), host="127.0.0.2")
    yield server
    server.stop()


def _database(primary: PostgresServer) -> str:
    url = create_database(primary, f"r{uuid.uuid4().hex[:12]}")
    with open_pg_store(url, writer=True) as store:
        ingest([SEEDS], store, ingest_options(), progress=False)
    return url


def _on(server: PostgresServer, url: str) -> str:
    """The same database's URL on another server."""
    return server.url(url.rsplit("/", 1)[1])


def _reader(url: str, *replicas: str) -> PostgresStore:
    return PostgresStore(url, data_dir=Path("unused"), vector_storage=DEFAULTS.vector_storage, replica_urls=replicas)


def _wait_for_replay(replica_url: str, generation: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with psycopg.connect(replica_url) as db:
            row = db.execute("SELECT value FROM meta WHERE key='generation'").fetchone() if \
                db.execute("SELECT to_regclass('meta')").fetchone()[0] else None
        if row and int(row[0]) >= generation:
            return
        time.sleep(0.1)
    raise AssertionError(f"the replica did not replay generation {generation} in 30 s")


def test_reads_go_to_the_replica_and_answer_as_the_primary(pg_server: PostgresServer, replica: PostgresServer) -> None:
    url = _database(pg_server)
    _wait_for_replay(_on(replica, url), 1)
    with _reader(url) as alone, _reader(url, _on(replica, url)) as spread:
        assert spread.generation == alone.generation == 1
        ids = [a.id for a in alone.list_articles(10)]
        assert [a.id for a in spread.list_articles(10)] == ids
        assert spread.bm25_search("Stoltenberg prepared worst", 5) == alone.bm25_search("Stoltenberg prepared worst", 5)
        assert spread.passages(spread.rowids_where()) == alone.passages(alone.rowids_where())
        assert spread.db.reads[redact(_on(replica, url))] >= 4 and spread.db.reads[redact(url)] == 0


def test_a_lagging_replica_is_passed_over_and_a_process_reads_its_own_writes(
        pg_server: PostgresServer, replica: PostgresServer, caplog: pytest.LogCaptureFixture) -> None:
    url = _database(pg_server)
    replica_url = _on(replica, url)
    _wait_for_replay(replica_url, 1)
    with _reader(url, replica_url) as reader:
        gone = reader.list_articles(1)[0].id
        with psycopg.connect(replica.url(), autocommit=True) as admin:
            admin.execute("SELECT pg_wal_replay_pause()")  # a replica that falls behind, for real
            try:
                with open_pg_store(url, writer=True) as writer:
                    assert writer.delete(gone)
                caplog.set_level(logging.WARNING)
                assert reader.generation == 2  # from the primary: from now on no replica behind 2 is read
                assert reader.article(gone) is None and all(a.id != gone for a in reader.list_articles(10))
                assert "is behind" in caplog.text and reader.db.reads[redact(url)] >= 2
            finally:
                admin.execute("SELECT pg_wal_replay_resume()")
        _wait_for_replay(replica_url, 2)
        before = reader.db.reads[redact(replica_url)]
        assert reader.article(gone) is None
        assert reader.db.reads[redact(replica_url)] == before + 1  # caught up: the replica answers again


def test_a_replica_killed_while_serving_costs_no_read(pg_server: PostgresServer, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    url = _database(pg_server)
    doomed = start_replica(pg_server, tmp_path, host="127.0.0.3")
    try:
        _wait_for_replay(_on(doomed, url), 1)
        with _reader(url, _on(doomed, url)) as reader:
            expected = reader.passages(reader.rowids_where())
            assert reader.db.reads[redact(_on(doomed, url))] >= 1 and reader.db.reads[redact(url)] == 0
            caplog.set_level(logging.WARNING)
            doomed.kill()
            for _ in range(5):
                assert reader.passages(reader.rowids_where()) == expected
            assert "passed over" in caplog.text and reader.db.reads[redact(url)] >= 5  # each read now from the primary
    finally:
        doomed.stop()
