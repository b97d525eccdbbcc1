"""API keys: created by ``newsdesk keys``, checked by the HTTP layer, stored hashed beside the index.

A key is ``nd_`` and 43 URL-safe characters: 256 random bits from :mod:`secrets`. Only its
SHA-256 is stored (``keys.sqlite3`` in the data folder, apart from the index, so rebuilding or
migrating the index never touches the keys; with the index in PostgreSQL, the ``api_keys`` table of
that database, so that every service node knows every key). A fast unsalted hash is the right tool for a secret
of this entropy: salts and slow hashes (bcrypt, scrypt, Argon2) exist to make guessing *low*-entropy
passwords expensive, and nobody can enumerate 2^256 candidates however fast each guess is; a fast
hash also lets every request find its key with one indexed lookup of the hash (no scan, no
per-request key-stretching cost), and what is looked up is a hash of the presented key, so response
timing reveals nothing about stored keys. The key itself is shown once, by ``newsdesk keys create``,
and is never stored, logged or returned again; listings show its id, name, scope and first
characters (``nd_AbCd``) only.

Scopes are ordered: ``read`` < ``write`` < ``admin``; a key may do what its scope and every lower
scope allow. Revoking a key takes effect on the next request of every worker (each looks keys up
in the file; nothing is cached).
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .shared_tables import SharedTables

__all__ = ["KEYS_DB", "SCOPES", "ApiKey", "KeyStore", "has_scope"]

KEYS_DB = "keys.sqlite3"
SCOPES = ("read", "write", "admin")  # each includes the ones before it
_TOKEN_PREFIX = "nd_"
_SHOWN_CHARS = 7  # "nd_" and 4 random characters: enough to tell keys apart in a listing, 24 of 256 bits

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys(
    id TEXT PRIMARY KEY,
    name TEXT,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    key_hash TEXT NOT NULL UNIQUE,   -- hex SHA-256 of the whole key
    key_start TEXT NOT NULL,         -- its first characters, for listings
    created_at TEXT NOT NULL,
    revoked_at TEXT
)
"""


def has_scope(scope: str, needed: str) -> bool:
    """Whether a key of ``scope`` may do what needs ``needed``."""
    return SCOPES.index(scope) >= SCOPES.index(needed)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """A key as listed: never the secret itself."""

    id: str
    name: str | None
    scope: str
    key_start: str
    created_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, str | None]:
        return {"id": self.id, "name": self.name, "scope": self.scope, "key_start": self.key_start,
                "created_at": self.created_at, "revoked_at": self.revoked_at}


class KeyStore:
    """The keys of one data folder, or of the PostgreSQL database at ``database_url``. The file is created by the
    first ``create``; until then no key is valid, and a serving process that only checks keys never creates it
    (nor the data folder)."""

    def __init__(self, data_dir: Path, database_url: str = "") -> None:
        self.path = Path(data_dir) / KEYS_DB
        self._lock = threading.Lock()
        self._shared = SharedTables(database_url, _SCHEMA, "keys") if database_url else None

    def _run(self, sql: str, params: Sequence[object], *, create: bool) -> list[tuple[Any, ...]] | None:
        """Rows of one statement (``None`` when there is no key store yet and ``create`` is false)."""
        if self._shared is not None:
            return self._shared.fetch(sql, params)
        connection = self._connect(create=create)
        if connection is None:
            return None
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def _connect(self, *, create: bool) -> sqlite3.Connection | None:
        if not create and not self.path.exists():
            return None
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        if create:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(_SCHEMA)
        return connection

    def create(self, scope: str, name: str | None = None) -> tuple[ApiKey, str]:
        """A new key of ``scope``: its record and the key itself (show it once; only its hash is kept)."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
        token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock:
            while True:  # an id already taken (one chance in 2^48): draw another
                key_id = "key_" + secrets.token_hex(6)
                if self._run("INSERT INTO api_keys(id, name, scope, key_hash, key_start, created_at) VALUES(?,?,?,?,?,?) "
                             "ON CONFLICT(id) DO NOTHING RETURNING id",
                             (key_id, name, scope, _hash(token), token[:_SHOWN_CHARS], now), create=True):
                    break
        return ApiKey(key_id, name, scope, token[:_SHOWN_CHARS], now, None), token

    def keys(self) -> list[ApiKey]:
        """Every key, oldest first, revoked ones included."""
        rows = self._run("SELECT id, name, scope, key_start, created_at, revoked_at FROM api_keys ORDER BY created_at, id", (),
                         create=False)
        return [ApiKey(*row) for row in rows or []]

    def revoke(self, key_id: str) -> ApiKey | None:
        """Revoke a key (from the next request on); ``None`` if there is no such key. Revoking twice keeps the first time."""
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock:
            rows = self._run("UPDATE api_keys SET revoked_at=coalesce(revoked_at, ?) WHERE id=? "
                             "RETURNING id, name, scope, key_start, created_at, revoked_at", (now, key_id), create=False)
        return ApiKey(*rows[0]) if rows else None

    def close(self) -> None:
        """Release the database connection (with the index in PostgreSQL; a file is opened per call)."""
        if self._shared is not None:
            self._shared.close()

    def check(self, token: str) -> ApiKey | None:
        """The active key ``token`` is, or ``None`` (unknown, malformed or revoked)."""
        if not token.startswith(_TOKEN_PREFIX) or len(token) > 200:
            return None
        try:
            rows = self._run("SELECT id, name, scope, key_start, created_at, revoked_at FROM api_keys "
                             "WHERE key_hash=? AND revoked_at IS NULL", (_hash(token),), create=False)
        except sqlite3.OperationalError:  # a file that is not (yet) a key store: no key is valid
            return None
        return ApiKey(*rows[0]) if rows else None
