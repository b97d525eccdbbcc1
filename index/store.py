"""The persistent index: SQLite (articles, sentences, chunks, vectors, BM25) plus FAISS.

Every write is one SQLite transaction that bumps the *generation*; a crash at any moment
leaves the last committed generation, complete. SQLite (WAL mode, ``synchronous=FULL``)
holds everything, including each chunk's vector, so the FAISS file (see
:mod:`.vectors`) can always be repaired from it. BM25 is SQLite's FTS5 (Porter-stemmed),
committed in the same transaction as the rows it indexes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .errors import IndexIncompatible, IndexLocked, IndexNotBuilt, StoreError
from .records import Draft
from .vectors import VectorIndex

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
# FAISS ids: a chunk's row id shifted left, plus a slot: its sentences 0..1022, the passage 1023.
SLOT_BITS = 10
PASSAGE_SLOT = (1 << SLOT_BITS) - 1
DB_NAME = "newsdesk.sqlite3"

# Numbered migrations: MIGRATIONS[n] takes a database from version n to n + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE articles(
        id TEXT PRIMARY KEY,
        content_hash TEXT NOT NULL,
        raw_text TEXT NOT NULL,
        source_text TEXT,            -- the file as read when it differs from raw_text (HTML)
        source TEXT NOT NULL,
        format TEXT NOT NULL,
        title TEXT, publisher TEXT, published_at TEXT, url TEXT,
        cluster_id TEXT NOT NULL,    -- the canonical article id of its near-duplicate cluster
        minhash BLOB NOT NULL,
        removed TEXT NOT NULL,       -- JSON [[start, end, reason], ...] of boilerplate spans
        ingested_seq INTEGER NOT NULL,
        ingested_at TEXT NOT NULL
    );
    CREATE INDEX articles_hash ON articles(content_hash);
    CREATE INDEX articles_cluster ON articles(cluster_id);
    CREATE TABLE sentences(
        article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
        PRIMARY KEY(article_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE chunks(
        rowid INTEGER PRIMARY KEY AUTOINCREMENT,   -- the FAISS id, never reused
        id TEXT NOT NULL UNIQUE,
        article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
        first_sentence INTEGER NOT NULL, last_sentence INTEGER NOT NULL, n_tokens INTEGER NOT NULL,
        embed_key TEXT NOT NULL,
        vector BLOB NOT NULL,             -- float32[dim], the passage
        sentence_vectors BLOB NOT NULL    -- float32[n_sentences, dim], its sentences in context
    );
    CREATE INDEX chunks_article ON chunks(article_id, seq);
    CREATE INDEX chunks_embed_key ON chunks(embed_key);
    CREATE VIRTUAL TABLE chunks_fts USING fts5(title, text, tokenize='porter unicode61 remove_diacritics 2');
    CREATE TABLE lsh(band INTEGER NOT NULL, key INTEGER NOT NULL, article_id TEXT NOT NULL,
                     PRIMARY KEY(band, key, article_id)) WITHOUT ROWID;
    CREATE INDEX lsh_article ON lsh(article_id);
    """,
)

# What a chunk row reads as (table alias ``c``), wherever chunks are read.
_CHUNK_COLUMNS = 'c.rowid, c.id, c.article_id, c.seq, c.start, c."end", c.text, c.first_sentence, c.last_sentence, c.n_tokens'
STOPWORDS = frozenset(
    "a an and are as at be been but by did do does for from had has have he her his how i if in into is it its "
    "of on or she that the their them they this to was were what when where which who whom whose why will with "
    "would you your said says about after also than then there these those".split()
)


def vector_id(rowid: int, slot: int) -> int:
    return (rowid << SLOT_BITS) | slot


@dataclass(frozen=True)
class WriteResult:
    generation: int
    articles: int
    chunks: int


class ArticleStore:
    """Articles, sentences, chunks and their vectors under one data directory.

    Open with ``writer=True`` to ingest or delete (an exclusive lock on the folder);
    readers never block the writer and always see the last committed generation.
    """

    def __init__(self, data_dir: str | Path, *, writer: bool = False, index_type: str = "flat",
                 model_name: str = "", dim: int = 384) -> None:
        self.data_dir = Path(data_dir)
        self.writer = writer
        self.index_type = index_type
        self.model_name = model_name
        self.dim = dim
        self._lock = threading.RLock()
        self._lock_file = None
        self._vectors: VectorIndex | None = None
        self._vectors_generation = -1
        self._vectors_file: Path | None = None  # the saved file that matches the index in memory
        self._closed = False
        db_path = self.data_dir / DB_NAME
        if not writer and not db_path.exists():
            raise IndexNotBuilt(f"no index in {self.data_dir}: run `newsdesk ingest` first")
        if writer:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._acquire_writer_lock()
        try:
            self._db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the index database {db_path}: {exc}") from exc
        self._check_model()
        if writer:
            self._remove_stale_files()

    # ---- lifecycle -------------------------------------------------------------------
    def _acquire_writer_lock(self) -> None:
        handle = open(self.data_dir / "writer.lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise IndexLocked(f"another process is writing to {self.data_dir}") from exc
        self._lock_file = handle

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._db.close()
            if self._lock_file:
                self._lock_file.close()
                self._lock_file = None

    def __enter__(self) -> "ArticleStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        has_meta = self._db.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone()
        version = int(self._meta("schema_version") or 0) if has_meta else 0
        if version > SCHEMA_VERSION:
            raise IndexIncompatible(f"index schema version {version} is newer than this newsdesk ({SCHEMA_VERSION}); upgrade newsdesk")
        if version == 0 and not self.writer:
            raise IndexNotBuilt(f"no index in {self.data_dir} (an empty database): run `newsdesk ingest` first")
        if version < SCHEMA_VERSION:
            if not self.writer:
                raise IndexIncompatible(f"index schema version {version} is older than {SCHEMA_VERSION}; run `newsdesk ingest` to migrate it")
            with self.transaction():
                for step in range(version, SCHEMA_VERSION):
                    for statement in MIGRATIONS[step].split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                self._set_meta("schema_version", str(SCHEMA_VERSION))
                if version == 0:
                    self._set_meta("generation", "0")

    def _check_model(self) -> None:
        stored = self._meta("embedding_model")
        if stored is None and self.writer and self.model_name:
            with self.transaction():
                self._set_meta("embedding_model", self.model_name)
                self._set_meta("embedding_dim", str(self.dim))
        elif stored and self.model_name and stored != self.model_name:
            raise IndexIncompatible(f"index was built with embedding model {stored!r}, not {self.model_name!r}; rebuild it in a new data directory")

    def _remove_stale_files(self) -> None:
        for path in self.data_dir.glob("vectors-*.npz.tmp"):
            path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside commits together or not at all."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                cursor = self._db.execute(sql, params)
                cursor.row_factory = sqlite3.Row
                return cursor.fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"index query failed: {exc}") from exc

    # ---- reads -----------------------------------------------------------------------
    @property
    def generation(self) -> int:
        with self._lock:
            return int(self._meta("generation") or 0)

    def article_hash(self, article_id: str) -> str | None:
        rows = self._query("SELECT content_hash FROM articles WHERE id=?", (article_id,))
        return rows[0][0] if rows else None

    def article(self, article_id: str) -> dict | None:
        rows = self._query("SELECT * FROM articles WHERE id=?", (article_id,))
        if not rows:
            return None
        record = dict(rows[0])
        record.pop("minhash")
        record["removed"] = json.loads(record["removed"])
        record["source_text"] = record["source_text"] if record["source_text"] is not None else record["raw_text"]
        return record

    def article_ids(self) -> list[str]:
        return [r[0] for r in self._query("SELECT id FROM articles ORDER BY ingested_seq")]

    def cluster_members(self, cluster_id: str) -> list[str]:
        return [r[0] for r in self._query("SELECT id FROM articles WHERE cluster_id=? ORDER BY ingested_seq", (cluster_id,))]

    def sentences(self, article_id: str) -> list[dict]:
        return [dict(r) for r in self._query('SELECT seq, start, "end", text FROM sentences WHERE article_id=? ORDER BY seq', (article_id,))]

    def chunks(self, article_id: str) -> list[dict]:
        return [dict(r) for r in self._query(f"SELECT {_CHUNK_COLUMNS} FROM chunks c WHERE c.article_id=? ORDER BY c.seq", (article_id,))]

    def chunk(self, chunk_id: str) -> dict | None:
        rows = self._query(f"SELECT {_CHUNK_COLUMNS} FROM chunks c WHERE c.id=?", (chunk_id,))
        return dict(rows[0]) if rows else None

    def chunks_by_rowid(self, rowids: Iterable[int]) -> dict[int, dict]:
        ids = list(rowids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._query(
            f"SELECT {_CHUNK_COLUMNS}, a.title, a.publisher, a.published_at, a.url, a.cluster_id "
            f"FROM chunks c JOIN articles a ON a.id=c.article_id WHERE c.rowid IN ({marks})", ids)
        return {r["rowid"]: dict(r) for r in rows}

    def chunk_rowids_where(self, publishers: Sequence[str] | None = None, published_from: str | None = None,
                           published_to: str | None = None, stories: Sequence[str] | None = None) -> set[int]:
        """Chunks of articles matching every given condition (publisher case-insensitive; dates inclusive;
        ``stories``: the near-duplicate clusters of these article ids).

        An article that states no date never matches a date condition: absent is not guessed.
        """
        clauses, params = [], []
        if stories:
            clauses.append(f"a.cluster_id IN (SELECT cluster_id FROM articles WHERE id IN ({','.join('?' * len(stories))}))")
            params += list(stories)
        if publishers:
            clauses.append(f"lower(a.publisher) IN ({','.join('?' * len(publishers))})")
            params += [p.lower() for p in publishers]
        if published_from:
            clauses.append("substr(a.published_at, 1, 10) >= ?")
            params.append(published_from[:10])
        if published_to:
            clauses.append("substr(a.published_at, 1, 10) <= ?")
            params.append(published_to[:10])
        where = " AND ".join(clauses) or "1"
        return {r[0] for r in self._query(f"SELECT c.rowid FROM chunks c JOIN articles a ON a.id=c.article_id WHERE {where}", params)}

    def counts(self) -> dict[str, int]:
        row = self._query(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM sentences), (SELECT count(*) FROM chunks), "
            "(SELECT count(DISTINCT cluster_id) FROM articles), (SELECT coalesce(sum(last_sentence - first_sentence + 2), 0) FROM chunks)")[0]
        return {"articles": row[0], "sentences": row[1], "chunks": row[2], "clusters": row[3], "vectors": row[4],
                "generation": self.generation}

    def cached_vectors(self, keys: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``(passage, sentences)`` vectors already computed for these embedding inputs, so
        unchanged text is never embedded again."""
        found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), 500):
            part = unique[i:i + 500]
            for key, blob, sentences in self._query(
                    f"SELECT embed_key, vector, sentence_vectors FROM chunks WHERE embed_key IN ({','.join('?' * len(part))})", part):
                found[key] = (np.frombuffer(blob, dtype=np.float32), np.frombuffer(sentences, dtype=np.float32).reshape(-1, self.dim))
        return found

    def lsh_candidates(self, bands: Sequence[tuple[int, int]]) -> list[tuple[str, bytes, str]]:
        """Articles sharing at least one MinHash band: ``(id, minhash, cluster_id)``."""
        if not bands:
            return []
        clause = " OR ".join("(band=? AND key=?)" for _ in bands)
        params = [v for pair in bands for v in pair]
        return [tuple(r) for r in self._query(
            f"SELECT a.id, a.minhash, a.cluster_id FROM articles a WHERE a.id IN (SELECT article_id FROM lsh WHERE {clause})", params)]

    # ---- writes ----------------------------------------------------------------------
    def write(self, drafts: Sequence[Draft]) -> WriteResult:
        """Insert or replace these articles in one transaction, and bump the generation."""
        if not self.writer:
            raise StoreError("this store was opened read-only")
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        n_chunks = 0
        try:
            with self.transaction() as db:
                seq = int(self._meta("ingested_seq") or 0)
                for draft in drafts:
                    article, meta = draft.article, draft.metadata
                    self._delete_rows(db, article.id)
                    seq += 1
                    db.execute(
                        "INSERT INTO articles VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (article.id, article.content_hash, article.raw_text,
                         article.source_text if article.source_text not in (None, article.raw_text) else None,
                         article.source, article.format, meta.title, meta.publisher, meta.published_at, meta.url,
                         draft.duplicate_of or article.id, np.asarray(draft.minhash, dtype=np.uint32).tobytes(),
                         json.dumps([[s.start, s.end, r] for s, r in draft.removed]), seq, now))
                    db.executemany('INSERT INTO sentences VALUES(?,?,?,?,?)',
                                   [(article.id, s.seq, s.start, s.end, s.text) for s in draft.sentences])
                    for chunk, key, vector, sentences in zip(draft.chunks, draft.embed_keys, draft.vectors, draft.sentence_vectors):
                        cursor = db.execute(
                            'INSERT INTO chunks(id, article_id, seq, start, "end", text, first_sentence, last_sentence, n_tokens, '
                            "embed_key, vector, sentence_vectors) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                            (chunk.id, article.id, chunk.seq, chunk.start, chunk.end, chunk.text, chunk.first_sentence,
                             chunk.last_sentence, chunk.n_tokens, key, np.asarray(vector, dtype=np.float32).tobytes(),
                             np.asarray(sentences, dtype=np.float32).tobytes()))
                        db.execute("INSERT INTO chunks_fts(rowid, title, text) VALUES(?,?,?)", (cursor.lastrowid, meta.title or "", chunk.text))
                    db.executemany("INSERT OR IGNORE INTO lsh VALUES(?,?,?)", [(b, k, article.id) for b, k in draft.bands])
                    n_chunks += len(draft.chunks)
                self._set_meta("ingested_seq", str(seq))
                generation = int(self._meta("generation") or 0) + 1
                self._set_meta("generation", str(generation))
        except sqlite3.Error as exc:
            raise StoreError(f"writing {len(drafts)} article(s) failed, nothing was changed: {exc}") from exc
        return WriteResult(generation, len(drafts), n_chunks)

    def delete(self, article_id: str) -> bool:
        """Remove one article (and its chunks, vectors, BM25 rows); ``False`` if unknown."""
        try:
            with self.transaction() as db:
                if not self._delete_rows(db, article_id):
                    return False
                self._set_meta("generation", str(int(self._meta("generation") or 0) + 1))
        except sqlite3.Error as exc:
            raise StoreError(f"deleting {article_id!r} failed, nothing was changed: {exc}") from exc
        return True

    def _delete_rows(self, db: sqlite3.Connection, article_id: str) -> bool:
        row = db.execute("SELECT cluster_id FROM articles WHERE id=?", (article_id,)).fetchone()
        if row is None:
            return False
        db.execute("DELETE FROM chunks_fts WHERE rowid IN (SELECT rowid FROM chunks WHERE article_id=?)", (article_id,))
        db.execute("DELETE FROM lsh WHERE article_id=?", (article_id,))
        db.execute("DELETE FROM articles WHERE id=?", (article_id,))  # cascades to sentences and chunks
        if row[0] == article_id:  # it was canonical: the earliest remaining copy takes over
            heir = db.execute("SELECT id FROM articles WHERE cluster_id=? ORDER BY ingested_seq LIMIT 1", (article_id,)).fetchone()
            if heir:
                db.execute("UPDATE articles SET cluster_id=? WHERE cluster_id=?", (heir[0], article_id))
        return True

    # ---- vectors ---------------------------------------------------------------------
    def _vector_path(self, generation: int) -> Path:
        return self.data_dir / f"vectors-{generation:09d}.npz"

    def _wanted_vector_ids(self) -> np.ndarray:
        """Every FAISS id the committed chunks call for: one per passage, one per sentence in it."""
        ids: list[int] = []
        for rowid, n in self._query("SELECT rowid, last_sentence - first_sentence + 1 FROM chunks ORDER BY rowid"):
            ids.append(vector_id(rowid, PASSAGE_SLOT))
            ids.extend(vector_id(rowid, j) for j in range(n))
        return np.array(sorted(ids), dtype=np.int64)

    def _fetch_vectors(self, wanted: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        by_chunk: dict[int, list[int]] = {}
        for vid in wanted:
            by_chunk.setdefault(vid >> SLOT_BITS, []).append(vid & PASSAGE_SLOT)
        rowids = list(by_chunk)
        out_ids: list[int] = []
        rows: list[np.ndarray] = []
        for i in range(0, len(rowids), 900):
            part = rowids[i:i + 900]
            for rowid, blob, sentences in self._query(
                    f"SELECT rowid, vector, sentence_vectors FROM chunks WHERE rowid IN ({','.join('?' * len(part))})", part):
                passage = np.frombuffer(blob, dtype=np.float32)
                per_sentence = np.frombuffer(sentences, dtype=np.float32).reshape(-1, self.dim)
                for slot in by_chunk[rowid]:
                    out_ids.append(vector_id(rowid, slot))
                    rows.append(passage if slot == PASSAGE_SLOT else per_sentence[slot])
        vectors = np.stack(rows).astype(np.float32) if rows else np.empty((0, self.dim), np.float32)
        return np.array(out_ids, dtype=np.int64), vectors

    def vectors(self) -> VectorIndex:
        """The FAISS index for the current generation, loaded (or repaired) on first use."""
        with self._lock:
            generation = self.generation
            if self._vectors is not None and self._vectors_generation == generation:
                return self._vectors
            if self._vectors is None:
                self._vectors = self._load_saved_vectors()
            changed = self._vectors.sync(self._wanted_vector_ids(), self._fetch_vectors)
            if changed:
                self._vectors_file = None  # what is in memory is no longer what is on disk
            self._vectors_generation = generation
            return self._vectors

    def _load_saved_vectors(self) -> VectorIndex:
        """The newest saved FAISS file, or an empty index when there is none or it is damaged."""
        saved = sorted(self.data_dir.glob("vectors-*.npz"))
        if saved:
            try:
                index, _ = VectorIndex.load(saved[-1], self.dim)
                if index.index_type == self.index_type:
                    self._vectors_file = saved[-1]
                    return index
            except Exception as exc:  # any damage at all: SQLite holds every vector, rebuild from it
                logger.warning("FAISS file %s is unreadable (%s); rebuilding it from SQLite", saved[-1], exc)
        self._vectors_file = None
        return VectorIndex(self.index_type, self.dim)

    def save_vectors(self) -> Path:
        """Persist the FAISS index for the committed generation, then drop older files."""
        index = self.vectors()
        path = self._vector_path(self._vectors_generation)
        if self._vectors_file != path:
            index.save(path, self._vectors_generation)
            self._vectors_file = path
        for old in self.data_dir.glob("vectors-*.npz"):
            if old != path:
                old.unlink(missing_ok=True)
        return path

    # ---- search ----------------------------------------------------------------------
    def dense_search(self, query_vector: np.ndarray, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """Top chunks by cosine similarity of the passage or its best sentence: ``(rowid, score)``.

        With ``allowed``, only those chunk row ids count; the search widens until it has ``k``.
        """
        vectors = self.vectors()
        wanted = 4 * k
        while True:
            best: dict[int, float] = {}
            hits = vectors.search(query_vector, wanted)
            for vid, score in hits:
                rowid = vid >> SLOT_BITS
                if allowed is None or rowid in allowed:
                    best[rowid] = max(best.get(rowid, -1.0), score)
            if len(best) >= k or len(hits) < wanted:
                return sorted(best.items(), key=lambda item: -item[1])[:k]
            wanted *= 4

    def indexed_chunk_rowids(self) -> set[int]:
        """The chunks the FAISS index holds vectors for (tests and integrity checks)."""
        return {int(v) >> SLOT_BITS for v in self.vectors().ids}

    def dense_sentence_search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, int, float]]:
        """Top sentences in context: ``(chunk rowid, sentence index within the chunk, score)``."""
        hits = self.vectors().search(query_vector, k)
        return [(vid >> SLOT_BITS, vid & PASSAGE_SLOT, score) for vid, score in hits if vid & PASSAGE_SLOT != PASSAGE_SLOT]

    def sentence_vectors(self, rowid: int) -> np.ndarray:
        """The in-context vectors of one chunk's sentences, in order."""
        rows = self._query("SELECT sentence_vectors FROM chunks WHERE rowid=?", (rowid,))
        return np.frombuffer(rows[0][0], dtype=np.float32).reshape(-1, self.dim) if rows else np.empty((0, self.dim), np.float32)

    def bm25_search(self, query: str, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """FTS5 BM25 over chunk text and title; scores are positive, higher is better."""
        terms = [t for t in dict.fromkeys(re.findall(r"\w+", query.lower())) if t not in STOPWORDS]
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        wanted = k if allowed is None else 4 * k
        while True:
            rows = self._query(
                "SELECT rowid, -bm25(chunks_fts, 1.0, 1.0) AS score FROM chunks_fts WHERE chunks_fts MATCH ? "
                "ORDER BY bm25(chunks_fts, 1.0, 1.0) LIMIT ?", (match, wanted))
            hits = [(int(r[0]), float(r[1])) for r in rows if allowed is None or r[0] in allowed]
            if len(hits) >= k or len(rows) < wanted:
                return hits[:k]
            wanted *= 4

    def integrity_problems(self) -> list[str]:
        """Everything that would make the index inconsistent; empty when it is sound."""
        problems = [r[0] for r in self._query("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [f"chunk {r[0]} text differs from its article at [{r[1]}, {r[2]})" for r in self._query(
            'SELECT c.id, c.start, c."end" FROM chunks c JOIN articles a ON a.id=c.article_id WHERE substr(a.raw_text, c.start + 1, c."end" - c.start) != c.text')]
        problems += [f"sentence {r[0]}#{r[1]} text differs from its article" for r in self._query(
            'SELECT s.article_id, s.seq FROM sentences s JOIN articles a ON a.id=s.article_id WHERE substr(a.raw_text, s.start + 1, s."end" - s.start) != s.text')]
        problems += [f"chunk {r[0]} has a vector of {r[1]} bytes" for r in self._query(
            "SELECT id, length(vector) FROM chunks WHERE length(vector) != ?", (4 * self.dim,))]
        problems += [f"chunk {r[0]} has sentence vectors of {r[1]} bytes" for r in self._query(
            "SELECT id, length(sentence_vectors) FROM chunks WHERE length(sentence_vectors) != (last_sentence - first_sentence + 1) * ?",
            (4 * self.dim,))]
        n_fts = self._query("SELECT count(*) FROM chunks_fts")[0][0]
        n_chunks = self._query("SELECT count(*) FROM chunks")[0][0]
        if n_fts != n_chunks:
            problems.append(f"BM25 index has {n_fts} rows for {n_chunks} chunks")
        problems += [f"article {r[0]} has no chunks" for r in self._query(
            "SELECT id FROM articles WHERE NOT EXISTS (SELECT 1 FROM chunks WHERE article_id=articles.id)")]
        return problems
