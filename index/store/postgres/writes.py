"""Writes to PostgreSQL: a batch of articles, or one deletion, in one transaction that bumps the generation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone

import numpy as np
import psycopg
from pgvector import HalfVector, Vector

from ...entities import Entity
from ...errors import StoreError
from ...records import Draft
from ..vectorfiles import PASSAGE_SLOT
from ..writes import ARTICLE_COLUMNS, WriteResult, article_row
from .connection import PostgresDatabase, first_line

__all__ = ["PostgresWrites"]


class PostgresWrites:
    """Inserts, replacements and deletions; a crash (or a killed server) at any moment leaves the last committed generation."""

    db: PostgresDatabase
    vector_type: str

    def write(self, drafts: Sequence[Draft]) -> WriteResult:
        """Insert or replace these articles in one transaction, and bump the generation."""
        if not self.db.writer:
            raise StoreError("this store was opened read-only")
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        wrap = HalfVector if self.vector_type == "halfvec" else Vector
        n_chunks = 0
        try:
            with self.db.transaction() as db:
                seq = int(self.db.meta("ingested_seq") or 0)
                for draft in drafts:
                    article, meta = draft.article, draft.metadata
                    _delete_rows(db, article.id)
                    seq += 1
                    db.execute(f"INSERT INTO articles({ARTICLE_COLUMNS}) VALUES({','.join(['%s'] * len(ARTICLE_COLUMNS.split(',')))})",
                               article_row(draft, seq, now))
                    with db.cursor() as cursor:
                        cursor.executemany("INSERT INTO sentences VALUES(%s,%s,%s,%s,%s)",
                                           [(article.id, s.seq, s.start, s.end, s.text) for s in draft.sentences])
                        _insert_entities(cursor, article.id, draft.entities)
                        for chunk, key, vector, sentences in zip(draft.chunks, draft.embed_keys, draft.vectors, draft.sentence_vectors):
                            rowid = cursor.execute(
                                'INSERT INTO chunks(id, article_id, seq, start, "end", text, first_sentence, last_sentence, n_tokens, '
                                "embed_key, search) VALUES(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s, to_tsvector('english', %s)) RETURNING rowid",
                                (chunk.id, article.id, chunk.seq, chunk.start, chunk.end, chunk.text, chunk.first_sentence,
                                 chunk.last_sentence, chunk.n_tokens, key, f"{meta.title or ''}\n{chunk.text}")).fetchone()[0]
                            rows = [(rowid, slot, wrap(np.asarray(v, dtype=np.float32))) for slot, v in enumerate(np.asarray(sentences))]
                            rows.append((rowid, PASSAGE_SLOT, wrap(np.asarray(vector, dtype=np.float32))))
                            cursor.executemany("INSERT INTO vectors VALUES(%s,%s,%s)", rows)
                        cursor.executemany("INSERT INTO lsh VALUES(%s,%s,%s) ON CONFLICT DO NOTHING",
                                           [(b, k, article.id) for b, k in draft.bands])
                    n_chunks += len(draft.chunks)
                self.db.set_meta("ingested_seq", str(seq))
                generation = self.db.bump_generation()
        except psycopg.Error as exc:
            raise StoreError(f"writing {len(drafts)} article(s) failed, nothing was changed: {first_line(exc)}") from exc
        return WriteResult(generation, len(drafts), n_chunks)

    def write_entities(self, found: Mapping[str, Sequence[Entity]]) -> int:
        """Nothing to backfill in this store (:meth:`untagged_articles` is always empty); returns the generation."""
        return self.db.generation

    def delete(self, article_id: str) -> bool:
        """Remove one article (and its sentences, entities, chunks, vectors, LSH rows); ``False`` if unknown."""
        try:
            with self.db.transaction() as db:
                if not _delete_rows(db, article_id):
                    return False
                self.db.bump_generation()
        except psycopg.Error as exc:
            raise StoreError(f"deleting {article_id!r} failed, nothing was changed: {first_line(exc)}") from exc
        return True

    def save_vectors(self) -> None:
        """Nothing to save: pgvector's HNSW index is updated inside each write's transaction."""

    def remove_stale_files(self) -> None:
        """Nothing to remove: this store keeps no files."""


def _insert_entities(cursor: psycopg.Cursor, article_id: str, entities: Sequence[Entity]) -> None:
    cursor.executemany("INSERT INTO entities VALUES(%s,%s,%s,%s,%s)", [(article_id, e.start, e.end, e.label, e.text) for e in entities])


def _delete_rows(db: psycopg.Connection, article_id: str) -> bool:
    row = db.execute("SELECT cluster_id FROM articles WHERE id=%s FOR UPDATE", (article_id,)).fetchone()
    if row is None:
        return False
    db.execute("DELETE FROM articles WHERE id=%s", (article_id,))  # cascades to sentences, entities, chunks, vectors and lsh
    if row[0] == article_id:  # it was canonical: the earliest remaining copy takes over
        heir = db.execute("SELECT id FROM articles WHERE cluster_id=%s ORDER BY ingested_seq LIMIT 1", (article_id,)).fetchone()
        if heir:
            db.execute("UPDATE articles SET cluster_id=%s WHERE cluster_id=%s", (heir[0], article_id))
    return True
