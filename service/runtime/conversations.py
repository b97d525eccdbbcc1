"""Conversation history, persisted beside the index, bounded, and deleted after a time-to-live.

A conversation is a list of turns (question, the beginning of the answer, cited articles):
what a follow-up leans on, and no more (not the search query, which carried the
conversation before it). With the embedded index it lives in its own database file
(``conversations.sqlite3`` in the data folder), so the index stays read-only for the service;
with the index in PostgreSQL (``NEWSDESK_DATABASE_URL``) it lives in two tables of that
database's primary, so that every service node sees every conversation. Every gunicorn worker
opens it; one short transaction per write (SQLite's ``BEGIN IMMEDIATE``; PostgreSQL's row lock on
the conversation) keeps them consistent, and keeps these bounds whichever workers or nodes write
to a conversation at once:

* a conversation holds its newest ``max_turns`` turns: the write of one more deletes the oldest;
* a turn holds the first ``answer_chars`` characters of its answer (cut at a word); its
  question is at most the API's 2,000 characters, its cited ids at most ``top_k``;
* a conversation whose last turn is older than the TTL is unknown from then on, and is
  deleted with its turns by the next write to any conversation.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..domain import Turn
from .shared_tables import Execute, SharedTables

__all__ = ["DB_NAME", "ConversationStore"]

DB_NAME = "conversations.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations(id TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS turns(
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
    cited TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY(conversation_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS conversations_updated ON conversations(updated);
"""


PG_SCHEMA = SCHEMA.replace(" WITHOUT ROWID", "").replace("REAL", "DOUBLE PRECISION")


class ConversationStore:
    """The conversations of a data folder (SQLite), or of a PostgreSQL database when ``database_url`` is set."""

    def __init__(self, data_dir: Path, ttl_seconds: float, *, max_turns: int, answer_chars: int,
                 clock: Callable[[], float] = time.time, database_url: str = "") -> None:
        self.path = Path(data_dir) / DB_NAME
        self.database_url = database_url
        self.ttl = ttl_seconds
        self.max_turns = max_turns
        self.answer_chars = answer_chars
        self._clock = clock
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._shared = SharedTables(database_url, PG_SCHEMA, "conversations") if database_url else None

    def _fetch(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        """Rows of one read, in whichever database holds the conversations (SQL written with ``?``)."""
        if self._shared is not None:
            return self._shared.fetch(sql, params)
        with self._lock:
            return self._connect().execute(sql, params).fetchall()

    @contextlib.contextmanager
    def _transaction(self, conversation_id: str) -> Iterator[Execute]:
        """One write transaction, serialised with every other write to ``conversation_id``; yields ``execute``."""
        if self._shared is not None:
            with self._shared.transaction(conversation_id) as execute:
                yield execute
            return
        with self._lock:
            db = self._connect()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield lambda sql, params: db.execute(sql, params).fetchall()
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.executescript(SCHEMA)
            db.execute("BEGIN IMMEDIATE")  # the workers open it at once: one of them migrates
            if any(column[1] == "query" for column in db.execute("PRAGMA table_info(turns)")):  # turns kept their search query
                db.execute("ALTER TABLE turns DROP COLUMN query")
            db.execute("COMMIT")
            self._db = db
        return self._db

    def exists(self, conversation_id: str) -> bool:
        """Known and not expired."""
        rows = self._fetch("SELECT updated FROM conversations WHERE id=?", (conversation_id,))
        return bool(rows) and rows[0][0] >= self._clock() - self.ttl

    def history(self, conversation_id: str) -> list[Turn]:
        """The turns so far, oldest first; empty for an unknown or expired conversation."""
        if not self.exists(conversation_id):
            return []
        rows = self._fetch("SELECT question, answer, cited FROM turns WHERE conversation_id=? ORDER BY seq", (conversation_id,))
        return [Turn(question, answer, tuple(json.loads(cited))) for question, answer, cited in rows]

    def new_id(self) -> str:
        return "c_" + secrets.token_urlsafe(16)

    def add_turn(self, conversation_id: str, turn: Turn) -> None:
        """Append a turn (creating the conversation) and delete what falls out of the bounds: the
        conversation's turns before its newest ``max_turns``, and every expired conversation."""
        now = self._clock()
        answer = textwrap.shorten(turn.answer, self.answer_chars, placeholder=" …")
        with self._transaction(conversation_id) as execute:
            execute("DELETE FROM conversations WHERE updated < ?", (now - self.ttl,))
            execute("INSERT INTO conversations(id, created, updated) VALUES(?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET updated=excluded.updated", (conversation_id, now, now))
            seq = execute("SELECT coalesce(max(seq), -1) + 1 FROM turns WHERE conversation_id=?", (conversation_id,))[0][0]
            execute("INSERT INTO turns(conversation_id, seq, question, answer, cited, created) VALUES(?, ?, ?, ?, ?, ?)",
                    (conversation_id, seq, turn.question, answer, json.dumps(list(turn.cited)), now))
            execute("DELETE FROM turns WHERE conversation_id=? AND seq <= ?", (conversation_id, seq - self.max_turns))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
        if self._shared is not None:
            self._shared.close()
