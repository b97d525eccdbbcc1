"""ConversationStore: turns persisted beside the index (a SQLite file, or the PostgreSQL database of the index),
bounded, and deleted after their TTL. Every test runs on both backends; PostgreSQL is a real server."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from newsdesk.service.domain import Turn
from newsdesk.service.query.followup import FollowUpResolver
from newsdesk.service.runtime.conversations import DB_NAME, ConversationStore

from tests.pg_servers import create_database

LIMITS = {"max_turns": 10, "answer_chars": 1000}  # the defaults of NEWSDESK_CONVERSATION_MAX_TURNS / _ANSWER_CHARS


@dataclass
class Backend:
    """Where the conversations are kept, and a way to read its rows behind the store's back."""

    folder: Path
    database_url: str

    def open(self, **settings: Any) -> ConversationStore:
        return ConversationStore(self.folder, database_url=self.database_url, **settings)

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.database_url:
            with psycopg.connect(self.database_url) as db:
                return [tuple(r) for r in db.execute(sql.replace("?", "%s"), params).fetchall()]
        with sqlite3.connect(self.folder / DB_NAME) as db:
            return db.execute(sql, params).fetchall()

    def stored(self, conversation_id: str) -> list[tuple[int, str, str]]:
        """The rows as they are stored: (seq, question, answer), oldest first."""
        return self.rows("SELECT seq, question, answer FROM turns WHERE conversation_id=? ORDER BY seq", (conversation_id,))


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return Backend(tmp_path, "")
    return Backend(tmp_path, create_database(request.getfixturevalue("pg_server"), f"c{uuid.uuid4().hex[:12]}"))


def test_conversations_expire_after_their_ttl(backend: Backend) -> None:
    now = [1000.0]
    store = backend.open(ttl_seconds=60, clock=lambda: now[0], **LIMITS)
    store.add_turn("c_old", Turn("q", "a", ("x",)))
    assert store.exists("c_old") and store.history("c_old")[0].cited == ("x",)
    now[0] += 61
    assert not store.exists("c_old") and store.history("c_old") == []
    store.add_turn("c_new", Turn("q2", "a2"))  # a write deletes every expired conversation, not only hides it
    assert backend.rows("SELECT count(*) FROM turns WHERE conversation_id='c_old'")[0][0] == 0
    assert backend.rows("SELECT id FROM conversations") == [("c_new",)]
    store.close()


def test_turns_come_back_in_order_and_ids_are_fresh(backend: Backend) -> None:
    store = backend.open(ttl_seconds=60, **LIMITS)
    for i in range(3):
        store.add_turn("c_1", Turn(f"q{i}", f"a{i}"))
    assert [t.question for t in store.history("c_1")] == ["q0", "q1", "q2"]
    assert store.history("c_unknown") == [] and not store.exists("c_unknown")
    assert store.new_id() != store.new_id() and store.new_id().startswith("c_")
    store.close()


def test_at_the_cap_each_new_turn_deletes_the_oldest(backend: Backend) -> None:
    """The conversation goes on (a reader is never refused); only turns no follow-up leans on any more go."""
    store = backend.open(ttl_seconds=60, max_turns=3, answer_chars=100)
    for i in range(5):
        store.add_turn("c_1", Turn(f"q{i}", f"a{i}"))
    assert [t.question for t in store.history("c_1")] == ["q2", "q3", "q4"]
    assert [seq for seq, _, _ in backend.stored("c_1")] == [2, 3, 4]
    store.close()


def test_a_hundred_long_follow_ups_stay_bounded_in_query_and_storage(backend: Backend) -> None:
    """Issue 13: each query used to hold the one before (159k characters after 80 turns, 6.4M stored)."""
    store = backend.open(ttl_seconds=3600, **LIMITS)
    resolver = FollowUpResolver(None, context_chars=1000)
    store.add_turn("c_1", Turn("In which city were the January talks between Russia and the United States held?", "Geneva [1]", ("a",)))
    queries = []
    for i in range(100):
        question = f"And what did they say about it, {i}? " + "the talks, the sanctions and the troops " * 50
        question = question[:1991]
        out = resolver.run(question, store.history("c_1"))
        queries.append(out["query"])
        store.add_turn("c_1", Turn(question, "They said that " + "the talks went on " * 300, ("a",)))
    assert max(len(q) for q in queries) <= 1991 + 1 + 1000
    rows = backend.stored("c_1")
    assert [seq for seq, _, _ in rows] == list(range(91, 101))  # the newest ten
    assert all(len(answer) <= 1000 and answer.startswith("They said that the talks went on") for _, _, answer in rows)
    assert sum(len(q) + len(a) for _, q, a in rows) <= 10 * (1991 + 1000)
    store.close()


def test_two_workers_writing_one_conversation_keep_the_bounds(backend: Backend) -> None:
    """Gunicorn workers (or service nodes) each open the database: the cap holds across their connections, and no
    turn is lost to a race."""
    workers = [backend.open(ttl_seconds=60, max_turns=5, answer_chars=100) for _ in range(2)]

    def write(w: int) -> None:
        for i in range(20):
            workers[w].add_turn("c_1", Turn(f"w{w} q{i}", "a"))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [seq for seq, _, _ in backend.stored("c_1")] == list(range(35, 40))  # 40 turns numbered once each, newest 5 kept
    assert len(workers[0].history("c_1")) == len(workers[1].history("c_1")) == 5
    for store in workers:
        store.close()


def test_a_file_from_before_the_bounds_is_migrated(tmp_path: Path) -> None:
    """Turns used to keep their search query (the column that grew); the file of a running service stays usable."""
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.executescript("""
            CREATE TABLE conversations(id TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL);
            CREATE TABLE turns(conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                seq INTEGER NOT NULL, question TEXT NOT NULL, query TEXT NOT NULL, answer TEXT NOT NULL,
                cited TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY(conversation_id, seq)) WITHOUT ROWID;
            INSERT INTO conversations VALUES('c_1', 1e12, 1e12);
            INSERT INTO turns VALUES('c_1', 0, 'q0', 'q0 and more', 'a0', '["x"]', 1e12);
        """)
    db.close()
    store = ConversationStore(tmp_path, ttl_seconds=60, clock=lambda: 1e12, **LIMITS)
    store.add_turn("c_1", Turn("q1", "a1"))
    assert store.history("c_1") == [Turn("q0", "a0", ("x",)), Turn("q1", "a1")]
    store.close()
