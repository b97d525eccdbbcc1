"""PostgreSQL connections for the store: the writer's lock, numbered migrations, transactions, read replicas.

The PostgreSQL counterpart of :mod:`..database`. Migrations are the files ``schema/NNN_*.sql``
(file N takes the database from schema version N - 1 to N, in one transaction); a database
built by a newer Newsdesk is refused. One writer at a time holds a session advisory lock,
as the SQLite store's writer holds ``writer.lock``; readers never wait for it and see the
last committed transaction.

A reader given streaming replicas (``NEWSDESK_DATABASE_REPLICA_URLS``) sends its reads to them in turn;
the generation (one row) always comes from the primary. A replica is used only once it has replayed the
newest generation this process has seen, so a process reads its own writes and never an index older than
the one it last answered from; one that lags is passed over for that read, one that fails is passed over
for :data:`REPLICA_RETRY_SECONDS`, each with a warning in the log, and the primary answers instead: a
reader never sees a replica's failure.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from pgvector.psycopg import register_vector

from ...errors import IndexIncompatible, IndexLocked, IndexNotBuilt, StoreError

__all__ = ["PG_SCHEMA_VERSION", "PostgresDatabase", "first_line", "pg_migrations", "redact"]

logger = logging.getLogger(__name__)

WRITER_LOCK = 0x6E657773  # pg_advisory_lock key of the one writer ("news")
CONNECT_TIMEOUT_SECONDS = 10  # an unreachable server fails a request in this time, not the operating system's minutes
REPLICA_CONNECT_TIMEOUT_SECONDS = 2  # a replica that does not answer this fast is passed over: the primary is there
REPLICA_RETRY_SECONDS = 30.0  # a failed replica is tried again after this long


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


@dataclass
class _Replica:
    url: str
    connection: psycopg.Connection | None = None
    down_until: float = 0.0
    replayed: int = -1  # the newest generation seen on it


class PostgresDatabase:
    """One connection to the primary, and one to each read replica, shared by a store's threads under a lock.

    ``schema`` fills the placeholders of the first migration (the vector column's type, the HNSW
    build parameters), which only a writer creating the schema uses; ``session`` holds the
    settings (``SET``) of every connection. A writer reads from the primary only.
    """

    def __init__(self, url: str, *, writer: bool, schema: dict[str, Any], session: dict[str, str] | None = None,
                 replica_urls: Sequence[str] = ()) -> None:
        self.url = url
        self.writer = writer
        self.lock = threading.RLock()
        self.closed = False
        self.path = redact(url)  # what messages name, as the SQLite store names its file
        self.session = dict(session or {})
        self.replicas = [] if writer else [_Replica(u) for u in replica_urls]
        self.reads: Counter[str] = Counter()  # reads answered, by server (redacted URL): where the load went
        self._required = -1  # the newest generation this process has seen: no replica behind it is read
        self._turn = 0
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
            self._prepare(self.connection)
        except BaseException:
            self.connection.close()
            raise

    def _prepare(self, connection: psycopg.Connection) -> None:
        register_vector(connection)
        for name, value in self.session.items():
            connection.execute("SELECT set_config(%s, %s, false)", (name, value))

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.connection.close()  # a writer's advisory lock goes with its session
            for replica in self.replicas:
                if replica.connection is not None:
                    replica.connection.close()

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
            generation = int(self.connection.execute(
                "UPDATE meta SET value=(value::bigint + 1)::text WHERE key='generation' RETURNING value").fetchone()[0])
            self._required = max(self._required, generation)
            return generation

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        """Rows of a read, from a replica that is up and caught up, else from the primary; a failure of the
        primary becomes :class:`StoreError`. Placeholders are SQLite's ``?`` (the reads both stores share) or
        psycopg's ``%s``."""
        sql = sql.replace("?", "%s")
        with self.lock:
            for replica in self._usable_replicas():
                try:
                    rows = replica.connection.execute(sql, params).fetchall()
                except psycopg.Error as exc:
                    self._pass_over(replica, f"failed a read ({first_line(exc)})")
                    continue
                self.reads[redact(replica.url)] += 1
                return rows
            try:
                rows = self.connection.execute(sql, params).fetchall()
            except psycopg.Error as exc:
                raise StoreError(f"index query failed on {self.path}: {first_line(exc)}") from exc
            self.reads[self.path] += 1
            return rows

    def _usable_replicas(self) -> Iterator[_Replica]:
        """The replicas to try for one read, each in turn first: connected, not failed lately, not behind."""
        if not self.replicas:
            return
        self._turn = (self._turn + 1) % len(self.replicas)
        for replica in self.replicas[self._turn:] + self.replicas[:self._turn]:
            if replica.down_until > time.monotonic():
                continue
            try:
                if replica.connection is None or replica.connection.closed:
                    replica.connection = psycopg.connect(replica.url, autocommit=True, connect_timeout=REPLICA_CONNECT_TIMEOUT_SECONDS)
                    self._prepare(replica.connection)
                if replica.replayed < self._required:
                    row = replica.connection.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
                    replica.replayed = int(row[0]) if row else -1
            except psycopg.Error as exc:
                self._pass_over(replica, f"cannot be reached ({first_line(exc)})")
                continue
            if replica.replayed < self._required:
                logger.warning("read replica %s is behind (generation %d, the primary's %d): reading from the primary",
                               redact(replica.url), replica.replayed, self._required)
                continue
            yield replica

    def _pass_over(self, replica: _Replica, why: str) -> None:
        logger.warning("read replica %s %s: passed over for %.0f s, the primary answers", redact(replica.url), why, REPLICA_RETRY_SECONDS)
        replica.down_until = time.monotonic() + REPLICA_RETRY_SECONDS
        if replica.connection is not None:
            replica.connection.close()
            replica.connection = None

    @property
    def generation(self) -> int:
        """The primary's committed generation (and, from now on, the least a replica must have replayed to be read)."""
        generation = int(self.meta("generation") or 0)
        with self.lock:
            self._required = max(self._required, generation)
        return generation


def first_line(exc: BaseException) -> str:
    """The first line of a driver error: PostgreSQL's own words without its context lines (which may quote data)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
