"""The service's own small tables (conversations, API keys) in the index's PostgreSQL database.

With the index in PostgreSQL (``NEWSDESK_DATABASE_URL``) several service nodes serve it, so what a
node would otherwise keep in a file of its data folder lives in that database's primary, where every
node sees it. The stores that use this (:mod:`.conversations`, :mod:`.keys`) write their SQL once,
with SQLite's ``?`` placeholders, and run it on either backend.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg

from newsdesk.index.store.postgres.connection import CONNECT_TIMEOUT_SECONDS

__all__ = ["Execute", "SharedTables"]

Execute = Callable[[str, Sequence[object]], list[tuple[Any, ...]]]


class SharedTables:
    """One connection per process to ``url``, opened on first use, which creates ``schema`` (``;``-separated,
    ``IF NOT EXISTS``) under a lock so that nodes starting together do not race."""

    def __init__(self, url: str, schema: str, name: str) -> None:
        self.url = url
        self.schema = schema
        self.name = name
        self._lock = threading.Lock()
        self._connection: psycopg.Connection | None = None

    def _connect(self) -> psycopg.Connection:
        if self._connection is None or self._connection.closed:
            connection = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
            with connection.transaction():
                connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"newsdesk {self.name} schema",))
                for statement in self.schema.split(";"):
                    if statement.strip():
                        connection.execute(statement)
            self._connection = connection
        return self._connection

    def fetch(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of one statement (written with ``?``), in a transaction of its own."""
        with self._lock:
            return _execute(self._connect())(sql, params)

    @contextlib.contextmanager
    def transaction(self, serialize_on: str) -> Iterator[Execute]:
        """One transaction, serialised with every other one given the same ``serialize_on`` (in any node)."""
        with self._lock:
            connection = self._connect()
            with connection.transaction():
                connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"newsdesk {self.name} {serialize_on}",))
                yield _execute(connection)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _execute(connection: psycopg.Connection) -> Execute:
    def execute(sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        cursor = connection.execute(sql.replace("?", "%s"), params)
        return cursor.fetchall() if cursor.description else []

    return execute
