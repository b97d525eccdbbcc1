"""The SQLite connection under a data directory: locking, numbered migrations, transactions.

Migrations are the files ``schema/NNN_*.sql``: file N takes a database from schema
version N - 1 to N, inside one transaction, so an index built by an older Newsdesk opens
after a migration, and one built by a newer Newsdesk is refused with a clear message.
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import IO

from ..errors import IndexDamaged, IndexIncompatible, IndexLocked, IndexNotBuilt, StoreError

__all__ = ["DB_NAME", "SCHEMA_VERSION", "Database", "migrations"]

DB_NAME = "newsdesk.sqlite3"


def migrations() -> list[str]:
    """The migration scripts in order: ``migrations()[n]`` takes version n to n + 1."""
    folder = resources.files("newsdesk.index.store") / "schema"
    return [f.read_text(encoding="utf-8") for f in sorted(folder.iterdir(), key=lambda f: f.name) if f.name.endswith(".sql")]


SCHEMA_VERSION = len(migrations())


class Database:
    """One SQLite connection (WAL, ``synchronous=FULL``), shared by a store's threads under a lock.

    A writer holds an exclusive ``flock`` on ``writer.lock`` for as long as it is open;
    readers never block it and always see the last committed transaction.
    """

    def __init__(self, data_dir: Path, *, writer: bool) -> None:
        self.data_dir = data_dir
        self.writer = writer
        self.lock = threading.RLock()
        self._lock_file: IO[str] | None = None
        self.closed = False
        self.path = path = data_dir / DB_NAME
        if not writer and not path.exists():
            raise IndexNotBuilt(f"no index in {data_dir}: run `newsdesk ingest` first")
        if writer:
            data_dir.mkdir(parents=True, exist_ok=True)
            self._acquire_writer_lock()
        try:
            self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=FULL")
            self.connection.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.Error as exc:
            raise self._failure(exc, f"cannot open the index database {path}: {exc}") from exc

    def _acquire_writer_lock(self) -> None:
        handle = open(self.data_dir / "writer.lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise IndexLocked(f"another process is writing to {self.data_dir}") from exc
        self._lock_file = handle

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.connection.close()
            if self._lock_file:
                self._lock_file.close()
                self._lock_file = None

    def _migrate(self) -> None:
        has_meta = self.connection.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone()
        version = int(self.meta("schema_version") or 0) if has_meta else 0
        if version > SCHEMA_VERSION:
            raise IndexIncompatible(f"index schema version {version} is newer than this newsdesk ({SCHEMA_VERSION}); upgrade newsdesk")
        if version == 0 and not self.writer:
            raise IndexNotBuilt(f"no index in {self.data_dir} (an empty database): run `newsdesk ingest` first")
        if version < SCHEMA_VERSION:
            if not self.writer:
                raise IndexIncompatible(f"index schema version {version} is older than {SCHEMA_VERSION}; run `newsdesk ingest` to migrate it")
            with self.transaction():
                for script in migrations()[version:SCHEMA_VERSION]:
                    for statement in script.split(";\n"):
                        if statement.strip():
                            self.connection.execute(statement)
                self.set_meta("schema_version", str(SCHEMA_VERSION))
                if version == 0:
                    self.set_meta("generation", "0")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside commits together or not at all."""
        with self.lock:
            try:
                self.connection.execute("BEGIN IMMEDIATE")
                yield self.connection
                self.connection.execute("COMMIT")
            except BaseException:
                if self.connection.in_transaction:
                    self.connection.execute("ROLLBACK")
                raise

    def meta(self, key: str) -> str | None:
        row = self.connection.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.connection.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                                (key, value))

    def query(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        """Rows of a read; a failure underneath becomes :class:`StoreError`."""
        with self.lock:
            try:
                cursor = self.connection.execute(sql, params)
                cursor.row_factory = sqlite3.Row
                return cursor.fetchall()
            except sqlite3.Error as exc:
                raise self._failure(exc, f"index query failed: {exc}") from exc

    def _failure(self, exc: sqlite3.Error, message: str) -> StoreError:
        """``message`` as a :class:`StoreError`; a corrupt file as :class:`IndexDamaged` naming it, since no retry heals that."""
        if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            return IndexDamaged(f"the index database {self.path} is damaged: {exc}")
        return StoreError(message)

    @property
    def generation(self) -> int:
        with self.lock:
            return int(self.meta("generation") or 0)
