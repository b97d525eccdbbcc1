"""A PostgreSQL connection for the store: the writer's lock, numbered migrations, transactions.

The PostgreSQL counterpart of :mod:`..database`. Migrations are the files ``schema/NNN_*.sql``
(file N takes the database from schema version N - 1 to N, in one transaction); a database
built by a newer Newsdesk is refused. One writer at a time holds a session advisory lock,
as the SQLite store's writer holds ``writer.lock``; readers never wait for it and see the
last committed transaction.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import Any

import psycopg
from pgvector.psycopg import register_vector

from ...errors import IndexIncompatible, IndexLocked, IndexNotBuilt, StoreError

__all__ = ["PG_SCHEMA_VERSION", "PostgresDatabase", "first_line", "pg_migrations", "redact"]

WRITER_LOCK = 0x6E657773  # pg_advisory_lock key of the one writer ("news")
CONNECT_TIMEOUT_SECONDS = 10  # an unreachable server fails a request in this time, not the operating system's minutes


def pg_migrations() -> list[str]:
    """The migration scripts in order: ``pg_migrations()[n]`` takes version n to n + 1."""
    folder = resources.files("newsdesk.index.store.postgres") / "schema"
    return [f.read_text(encoding="utf-8") for f in sorted(folder.iterdir(), key=lambda f: f.name) if f.name.endswith(".sql")]


PG_SCHEMA_VERSION = len(pg_migrations())


def redact(url: str) -> str:
    """A connection URL without its password, for messages and logs."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<an unparseable database URL>"
    return f"postgresql://{info.get('user', '')}@{info.get('host', '')}:{info.get('port', '5432')}/{info.get('dbname', '')}"


class PostgresDatabase:
    """One connection to a PostgreSQL database, shared by a store's threads under a lock.

    ``schema`` fills the placeholders of the first migration (the vector column's type, the HNSW
    build parameters), which only a writer creating the schema uses.
    """

    def __init__(self, url: str, *, writer: bool, schema: dict[str, Any]) -> None:
        self.url = url
        self.writer = writer
        self.lock = threading.RLock()
        self.closed = False
        self.path = redact(url)  # what messages name, as the SQLite store names its file
        try:
            self.connection = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to the index database {self.path}: {first_line(exc)}") from exc
        try:
            if writer:
                locked = self.connection.execute("SELECT pg_try_advisory_lock(%s)", (WRITER_LOCK,)).fetchone()[0]
                if not locked:
                    raise IndexLocked(f"another process is writing to {self.path}")
            self._migrate(schema)
            register_vector(self.connection)
        except BaseException:
            self.connection.close()
            raise

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.connection.close()  # a writer's advisory lock goes with its session

    def _migrate(self, schema: dict[str, Any]) -> None:
        has_meta = self.connection.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()[0]
        version = int(self.meta("schema_version") or 0) if has_meta else 0
        if version > PG_SCHEMA_VERSION:
            raise IndexIncompatible(f"index schema version {version} is newer than this newsdesk ({PG_SCHEMA_VERSION}); upgrade newsdesk")
        if version == 0 and not self.writer:
            raise IndexNotBuilt(f"no index in {self.path} (an empty database): run `newsdesk ingest` first")
        if version < PG_SCHEMA_VERSION:
            if not self.writer:
                raise IndexIncompatible(f"index schema version {version} is older than {PG_SCHEMA_VERSION}; run `newsdesk ingest` to migrate it")
            with self.transaction() as connection:
                for script in pg_migrations()[version:PG_SCHEMA_VERSION]:
                    for statement in script.split(";\n"):
                        lines = [line for line in statement.splitlines() if not line.lstrip().startswith("--")]
                        if "".join(lines).strip():
                            connection.execute("\n".join(lines).format(**schema))
                self.set_meta("schema_version", str(PG_SCHEMA_VERSION))
                if version == 0:
                    self.set_meta("generation", "0")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """One atomic write: everything inside commits together or not at all."""
        with self.lock, self.connection.transaction():
            yield self.connection

    def meta(self, key: str) -> str | None:
        with self.lock:
            row = self.connection.execute("SELECT value FROM meta WHERE key=%s", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.lock:
            self.connection.execute("INSERT INTO meta(key, value) VALUES(%s, %s) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                                    (key, value))

    def bump_generation(self) -> int:
        """Inside a transaction: the next generation, committed with the rows it makes visible."""
        with self.lock:
            return int(self.connection.execute(
                "UPDATE meta SET value=(value::bigint + 1)::text WHERE key='generation' RETURNING value").fetchone()[0])

    def query(self, sql: str, params: Sequence[object] | dict[str, object] = ()) -> list[tuple]:
        """Rows of a read; a failure underneath becomes :class:`StoreError`."""
        with self.lock:
            try:
                return self.connection.execute(sql, params).fetchall()
            except psycopg.Error as exc:
                raise StoreError(f"index query failed on {self.path}: {first_line(exc)}") from exc

    @property
    def generation(self) -> int:
        return int(self.meta("generation") or 0)


def first_line(exc: BaseException) -> str:
    """The first line of a driver error: PostgreSQL's own words without its context lines (which may quote data)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
