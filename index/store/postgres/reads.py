"""Reads from PostgreSQL, as typed records: the SQLite store's reads wherever the SQL is the same.

:class:`~..reads.ArticleReads` is written in SQL both engines run alike (``?`` placeholders, which
:meth:`.connection.PostgresDatabase.query` turns into psycopg's); what differs is here: the vectors
(rows of their own table, not blobs), an ordering that must not depend on the database's collation,
and what PostgreSQL has no schema history for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ...entities import Entity
from ..reads import PAST_ANY_OFFSET, ArticleReads, ArticleSummary, IndexCounts, article_filters
from ..vectorfiles import PASSAGE_SLOT
from .connection import PostgresDatabase

__all__ = ["PostgresReads"]


class PostgresReads(ArticleReads):
    """What the store returns to readers: the same records, in the same order, as the SQLite store's."""

    db: PostgresDatabase  # type: ignore[assignment]

    def list_articles(self, limit: int, after: str | None = None, publishers: Sequence[str] | None = None,
                      published_from: str | None = None, published_to: str | None = None) -> list[ArticleSummary]:
        """As :meth:`ArticleReads.list_articles`, ids compared byte by byte (as SQLite does) whatever the database's collation."""
        filters, params = article_filters("", publishers, published_from, published_to)
        where = " AND ".join(['id > ? COLLATE "C"', *filters])
        rows = self.db.query("SELECT id, title, publisher, author, published_at, updated_at, url, fetched_at, format, content_hash, "
                             f'ingested_at, cluster_id FROM articles WHERE {where} ORDER BY id COLLATE "C" LIMIT ?',
                             [after or "", *params, limit])
        return [ArticleSummary(*r) for r in rows]

    def entities(self, article_id: str, start: int = 0, end: int | None = None) -> list[Entity]:
        """As :meth:`ArticleReads.entities`, labels ordered byte by byte."""
        return [Entity(*r) for r in self.db.query('SELECT start, "end", label, text FROM entities WHERE article_id=? AND start>=? '
                                                  'AND start<? ORDER BY start, "end", label COLLATE "C"',
                                                  (article_id, start, PAST_ANY_OFFSET if end is None else end))]

    def untagged_articles(self, limit: int) -> list[str]:
        """Always empty: every article of this store was tagged when it was written (there is no older schema to backfill)."""
        return []

    def sentence_vectors(self, rowid: int) -> np.ndarray:
        """The in-context vectors of one chunk's sentences, in order."""
        rows = self.db.query("SELECT embedding FROM vectors WHERE rowid=? AND slot < ? ORDER BY slot", (rowid, PASSAGE_SLOT))
        return _rows_of([r[0] for r in rows], self.dim)

    def counts(self) -> IndexCounts:
        row = self.db.query(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM sentences), (SELECT count(*) FROM chunks), "
            "(SELECT count(DISTINCT cluster_id) FROM articles), (SELECT count(*) FROM vectors), "
            "(SELECT value::bigint FROM meta WHERE key='generation')")[0]
        return IndexCounts(*row)

    def cached_vectors(self, keys: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``(passage, sentences)`` vectors already computed for these embedding inputs, so unchanged text is never
        embedded again."""
        found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        rows = self.db.query("SELECT DISTINCT ON (c.embed_key) c.embed_key, array_agg(v.embedding ORDER BY v.slot) "
                             "FROM chunks c JOIN vectors v ON v.rowid=c.rowid WHERE c.embed_key = ANY(?) "
                             "GROUP BY c.embed_key, c.rowid ORDER BY c.embed_key, c.rowid", (list(dict.fromkeys(keys)),))
        for key, embeddings in rows:
            vectors = _rows_of(embeddings, self.dim)  # the sentences by slot, then the passage (slot 1023)
            found[key] = (vectors[-1], vectors[:-1])
        return found


def _rows_of(embeddings: Sequence[object], dim: int) -> np.ndarray:
    """pgvector values (``Vector`` or ``HalfVector``) as ``float32`` rows."""
    if not embeddings:
        return np.empty((0, dim), np.float32)
    return np.stack([np.asarray(e.to_numpy(), dtype=np.float32) for e in embeddings])
