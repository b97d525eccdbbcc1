"""An embedded (SQLite + FAISS) index copied into an empty PostgreSQL database, without embedding anything again.

``newsdesk copy-index postgresql://...``: for the archive that outgrew one machine. Every row is read
from SQLite in id order and sent with ``COPY`` (vectors in binary), in one transaction: a copy that
is killed or fails leaves the database as empty as it was. The text-search column is computed by
PostgreSQL as a write computes it, and the two indexes that are slow to maintain row by row (HNSW
over the vectors, GIN over the text) are built once at the end, which is several times faster.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import psycopg
from pgvector import HalfVector, Vector

from ...embed import same_model
from ...errors import IndexIncompatible, StoreError
from .. import ArticleStore
from ..vectorfiles import PASSAGE_SLOT
from . import PostgresStore
from .connection import first_line

__all__ = ["copy_index"]

ROWS_PER_READ = 2000
BUILT_AFTER = ("vectors_hnsw", "chunks_search")  # built once the rows are in, not row by row


def copy_index(source: ArticleStore, target: PostgresStore, progress: Callable[[str], None] = lambda _: None,
               maintenance_work_mem: str = "1GB") -> float:
    """Copy ``source`` (an :class:`~newsdesk.index.store.ArticleStore`) into ``target`` (a writer on an empty
    database); returns the seconds it took. ``maintenance_work_mem`` is PostgreSQL's memory for the index builds."""
    started = time.perf_counter()
    if not target.writer:
        raise StoreError("copying an index needs the target opened as the writer")
    if target.counts().articles:
        raise StoreError(f"{target.url} already holds an index; copy into an empty database")
    if not same_model(source.model_name, target.model_name):
        raise IndexIncompatible(f"the index was built with {source.model_name!r}, the target expects {target.model_name!r}")
    if source.db.query("SELECT count(*) FROM entities_pending")[0][0]:
        raise StoreError("some articles of the source were never tagged with entities: run `newsdesk ingest` on it first")
    wrap = HalfVector if target.vector_type == "halfvec" else Vector
    try:
        with target.db.transaction() as db:
            db.execute("SELECT set_config('maintenance_work_mem', %s, true)", (maintenance_work_mem,))
            definitions = [db.execute("SELECT pg_get_indexdef(%s::regclass)", (name,)).fetchone()[0] for name in BUILT_AFTER]
            for name in BUILT_AFTER:
                db.execute(f"DROP INDEX {name}")
            _copy(db, "articles(id, content_hash, raw_text, source_text, source, format, title, publisher, published_at, url, "
                      "cluster_id, minhash, removed, ingested_seq, ingested_at, author, updated_at, fetched_at)",
                  _rows(source, "SELECT id, content_hash, raw_text, source_text, source, format, title, publisher, published_at, url, "
                                "cluster_id, minhash, removed, ingested_seq, ingested_at, author, updated_at, fetched_at FROM articles "
                                "ORDER BY id"), progress, "articles")
            _copy(db, 'sentences(article_id, seq, start, "end", text)',
                  _rows(source, 'SELECT article_id, seq, start, "end", text FROM sentences ORDER BY article_id, seq'), progress, "sentences")
            _copy(db, 'entities(article_id, start, "end", label, text)',
                  _rows(source, 'SELECT article_id, start, "end", label, text FROM entities ORDER BY article_id, start'), progress, "entities")
            _copy(db, "lsh(band, key, article_id)", _rows(source, "SELECT band, key, article_id FROM lsh ORDER BY band, key"), progress, "lsh")
            _copy(db, 'chunks(rowid, id, article_id, seq, start, "end", text, first_sentence, last_sentence, n_tokens, embed_key, search)',
                  (row + ("",) for row in _rows(source, 'SELECT rowid, id, article_id, seq, start, "end", text, first_sentence, last_sentence, '
                                                        "n_tokens, embed_key FROM chunks ORDER BY rowid")), progress, "chunks")
            n = 0
            with db.cursor().copy("COPY vectors(rowid, slot, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["bigint", "integer", target.vector_type])
                for rowid, passage, sentences in _rows(source, "SELECT rowid, vector, sentence_vectors FROM chunks ORDER BY rowid"):
                    copy.write_row((rowid, PASSAGE_SLOT, wrap(source.vectors_of(passage)[0])))
                    for slot, vector in enumerate(source.vectors_of(sentences)):
                        copy.write_row((rowid, slot, wrap(vector)))
                    n += 1 + len(sentences) // (source.vector_dtype.itemsize * source.dim)
            progress(f"vectors: {n:,}")
            db.execute("UPDATE chunks c SET search = to_tsvector('english', coalesce(a.title, '') || E'\\n' || c.text) "
                       "FROM articles a WHERE a.id = c.article_id")
            db.execute("SELECT setval(pg_get_serial_sequence('chunks', 'rowid'), greatest(1, (SELECT max(rowid) FROM chunks)))")
            for name, definition in zip(BUILT_AFTER, definitions):
                progress(f"building {name}")
                db.execute(definition)
            for key in ("generation", "ingested_seq", "embedding_model"):
                value = source.db.meta(key)
                if value is not None:
                    target.db.set_meta(key, value)
    except psycopg.Error as exc:
        raise StoreError(f"copying the index into {target.url} failed, nothing was copied: {first_line(exc)}") from exc
    return time.perf_counter() - started


def _rows(source: ArticleStore, sql: str) -> Iterator[tuple]:
    """Every row of a SQLite query, read ``ROWS_PER_READ`` at a time from one cursor."""
    with source.db.lock:
        cursor = source.db.connection.execute(sql)
        while rows := cursor.fetchmany(ROWS_PER_READ):
            yield from rows


def _copy(db: psycopg.Connection, table: str, rows: Iterator[tuple], progress: Callable[[str], None], name: str) -> None:
    n = 0
    with db.cursor().copy(f"COPY {table} FROM STDIN") as copy:
        for n, row in enumerate(rows, 1):
            copy.write_row(row)
    progress(f"{name}: {n:,}")
