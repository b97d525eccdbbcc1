"""Writes: a batch of articles, or one deletion, in one transaction that bumps the generation."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from ..entities import Entity
from ..errors import StoreError
from ..records import Draft
from .database import Database

__all__ = ["ARTICLE_COLUMNS", "ArticleWrites", "WriteResult", "article_row"]


@dataclass(frozen=True)
class WriteResult:
    generation: int
    articles: int
    chunks: int


class ArticleWrites:
    """Inserts, replacements and deletions; a crash at any moment leaves the last committed generation."""

    db: Database
    vector_dtype: np.dtype
    index_lexical: Callable[[Sequence[int], Sequence[int], int], None]  # the store's :class:`~.lexical.LexicalFiles`

    def write(self, drafts: Sequence[Draft]) -> WriteResult:
        """Insert or replace these articles in one transaction, and bump the generation."""
        if not self.db.writer:
            raise StoreError("this store was opened read-only")
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        added: list[int] = []
        removed: list[int] = []
        try:
            with self.db.transaction() as db:
                seq = int(self.db.meta("ingested_seq") or 0)
                for draft in drafts:
                    article, meta = draft.article, draft.metadata
                    removed += _delete_rows(db, article.id) or []
                    seq += 1
                    db.execute(f"INSERT INTO articles({ARTICLE_COLUMNS}) VALUES({','.join('?' * len(ARTICLE_COLUMNS.split(',')))})",
                               article_row(draft, seq, now))
                    db.executemany('INSERT INTO sentences VALUES(?,?,?,?,?)',
                                   [(article.id, s.seq, s.start, s.end, s.text) for s in draft.sentences])
                    _insert_entities(db, article.id, draft.entities)
                    for chunk, key, vector, sentences in zip(draft.chunks, draft.embed_keys, draft.vectors, draft.sentence_vectors):
                        cursor = db.execute(
                            'INSERT INTO chunks(id, article_id, seq, start, "end", text, first_sentence, last_sentence, n_tokens, '
                            "embed_key, vector, sentence_vectors) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                            (chunk.id, article.id, chunk.seq, chunk.start, chunk.end, chunk.text, chunk.first_sentence,
                             chunk.last_sentence, chunk.n_tokens, key, np.asarray(vector, dtype=self.vector_dtype).tobytes(),
                             np.asarray(sentences, dtype=self.vector_dtype).tobytes()))
                        added.append(cursor.lastrowid)
                    db.executemany("INSERT OR IGNORE INTO lsh VALUES(?,?,?)", [(b, k, article.id) for b, k in draft.bands])
                self.db.set_meta("ingested_seq", str(seq))
                generation = int(self.db.meta("generation") or 0) + 1
                self.db.set_meta("generation", str(generation))
        except sqlite3.Error as exc:
            raise StoreError(f"writing {len(drafts)} article(s) failed, nothing was changed: {exc}") from exc
        self.index_lexical(added, removed, generation)
        return WriteResult(generation, len(drafts), len(added))

    def write_entities(self, found: Mapping[str, Sequence[Entity]]) -> int:
        """Store the entities of articles a schema-1 index holds untagged (``entities_pending``), in one
        transaction that takes them off that list and bumps the generation; returns the generation."""
        if not self.db.writer:
            raise StoreError("this store was opened read-only")
        try:
            with self.db.transaction() as db:
                for article_id, entities in found.items():
                    if db.execute("DELETE FROM entities_pending WHERE article_id=?", (article_id,)).rowcount:
                        _insert_entities(db, article_id, entities)
                generation = int(self.db.meta("generation") or 0) + 1
                self.db.set_meta("generation", str(generation))
        except sqlite3.Error as exc:
            raise StoreError(f"writing the entities of {len(found)} article(s) failed, nothing was changed: {exc}") from exc
        self.index_lexical((), (), generation)
        return generation

    def delete(self, article_id: str) -> bool:
        """Remove one article (and its sentences, entities, chunks, vectors, BM25 rows); ``False`` if unknown."""
        try:
            with self.db.transaction() as db:
                removed = _delete_rows(db, article_id)
                if removed is None:
                    return False
                generation = int(self.db.meta("generation") or 0) + 1
                self.db.set_meta("generation", str(generation))
        except sqlite3.Error as exc:
            raise StoreError(f"deleting {article_id!r} failed, nothing was changed: {exc}") from exc
        self.index_lexical((), removed, generation)
        return True


ARTICLE_COLUMNS = ("id, content_hash, raw_text, source_text, source, format, title, publisher, published_at, url, cluster_id, minhash, "
                   "removed, ingested_seq, ingested_at, author, updated_at, fetched_at")


def article_row(draft: Draft, seq: int, now: str) -> tuple:
    """A draft's ``articles`` row, in :data:`ARTICLE_COLUMNS` order: what both stores write (the source text only
    where it differs from the text; the MinHash signature as bytes; the removed spans as JSON)."""
    article, meta = draft.article, draft.metadata
    return (article.id, article.content_hash, article.raw_text,
            article.source_text if article.source_text not in (None, article.raw_text) else None,
            article.source, article.format, meta.title, meta.publisher, meta.published_at, meta.url,
            draft.duplicate_of or article.id, np.asarray(draft.minhash, dtype=np.uint32).tobytes(),
            json.dumps([[s.start, s.end, r] for s, r in draft.removed]), seq, now, meta.author, meta.updated_at, meta.fetched_at)


def _insert_entities(db: sqlite3.Connection, article_id: str, entities: Sequence[Entity]) -> None:
    db.executemany('INSERT INTO entities VALUES(?,?,?,?,?)', [(article_id, e.start, e.end, e.label, e.text) for e in entities])


def _delete_rows(db: sqlite3.Connection, article_id: str) -> list[int] | None:
    """Delete one article's rows; the row ids of its chunks (for the BM25 index), ``None`` if there is no such article."""
    row = db.execute("SELECT cluster_id FROM articles WHERE id=?", (article_id,)).fetchone()
    if row is None:
        return None
    chunks = [r[0] for r in db.execute("SELECT rowid FROM chunks WHERE article_id=?", (article_id,))]
    db.execute("DELETE FROM lsh WHERE article_id=?", (article_id,))
    db.execute("DELETE FROM articles WHERE id=?", (article_id,))  # cascades to sentences, entities and chunks
    if row[0] == article_id:  # it was canonical: the earliest remaining copy takes over
        heir = db.execute("SELECT id FROM articles WHERE cluster_id=? ORDER BY ingested_seq LIMIT 1", (article_id,)).fetchone()
        if heir:
            db.execute("UPDATE articles SET cluster_id=? WHERE cluster_id=?", (heir[0], article_id))
    return chunks
