"""Reads of articles, sentences, entities, passages and clusters from PostgreSQL, as typed records."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np

from ...entities import Entity
from ...records import RowIds, Sentence, StoredArticle, StoredPassage
from ..reads import ArticleSummary, IndexCounts, PassageCalendar
from ..vectorfiles import PASSAGE_SLOT
from .connection import PostgresDatabase

__all__ = ["PostgresReads"]

PASSAGE_COLUMNS = ('c.rowid, c.id, c.article_id, c.seq, c.start, c."end", c.text, c.first_sentence, c.last_sentence, c.n_tokens, '
                   "a.title, a.publisher, a.published_at, a.url, a.cluster_id")
PASSAGE_FROM = "chunks c JOIN articles a ON a.id=c.article_id"


class PostgresReads:
    """What the store returns to readers: the same records, in the same order, as the SQLite store's."""

    db: PostgresDatabase
    dim: int
    _passage_calendar: PassageCalendar | None = None

    @property
    def generation(self) -> int:
        return self.db.generation

    def article_hash(self, article_id: str) -> str | None:
        rows = self.db.query("SELECT content_hash FROM articles WHERE id=%s", (article_id,))
        return rows[0][0] if rows else None

    def article(self, article_id: str) -> StoredArticle | None:
        rows = self.db.query(
            "SELECT id, content_hash, raw_text, coalesce(source_text, raw_text), source, format, title, publisher, published_at, "
            "url, cluster_id, removed, ingested_seq, ingested_at, author, updated_at, fetched_at FROM articles WHERE id=%s", (article_id,))
        if not rows:
            return None
        values = list(rows[0])
        values[11] = tuple((int(s), int(e), str(r)) for s, e, r in json.loads(values[11]))
        return StoredArticle(*values)

    def article_ids(self) -> list[str]:
        return [r[0] for r in self.db.query("SELECT id FROM articles ORDER BY ingested_seq")]

    def list_articles(self, limit: int, after: str | None = None, publishers: Sequence[str] | None = None,
                      published_from: str | None = None, published_to: str | None = None) -> list[ArticleSummary]:
        """Up to ``limit`` articles in id order after ``after``, filtered as :meth:`rowids_where` (keyset paging)."""
        filters, params = _article_filters("", publishers, published_from, published_to)
        where = " AND ".join(['id > %s COLLATE "C"', *filters])  # ids in byte order, as SQLite compares them
        rows = self.db.query("SELECT id, title, publisher, author, published_at, updated_at, url, fetched_at, format, content_hash, "
                             f'ingested_at, cluster_id FROM articles WHERE {where} ORDER BY id COLLATE "C" LIMIT %s',
                             [after or "", *params, limit])
        return [ArticleSummary(*r) for r in rows]

    def cluster_members(self, cluster_id: str) -> list[str]:
        return self.clusters([cluster_id]).get(cluster_id, [])

    def clusters(self, cluster_ids: Iterable[str]) -> dict[str, list[str]]:
        members: dict[str, list[str]] = {}
        for cluster, article in self.db.query("SELECT cluster_id, id FROM articles WHERE cluster_id = ANY(%s) ORDER BY ingested_seq",
                                              (list(dict.fromkeys(cluster_ids)),)):
            members.setdefault(cluster, []).append(article)
        return members

    def sentences(self, article_id: str) -> list[Sentence]:
        return [Sentence(*r) for r in self.db.query('SELECT seq, start, "end", text FROM sentences WHERE article_id=%s ORDER BY seq',
                                                    (article_id,))]

    def entities(self, article_id: str) -> list[Entity]:
        """The article's entities in text order (by start, then end and label)."""
        return [Entity(*r) for r in self.db.query('SELECT start, "end", label, text FROM entities WHERE article_id=%s '
                                                  'ORDER BY start, "end", label COLLATE "C"', (article_id,))]

    def untagged_articles(self, limit: int) -> list[str]:
        """Always empty: every article of this store was tagged when it was written (there is no older schema to backfill)."""
        return []

    def passages_of(self, article_id: str) -> list[StoredPassage]:
        """An article's passages, in order."""
        return [StoredPassage(*r) for r in self.db.query(
            f"SELECT {PASSAGE_COLUMNS} FROM {PASSAGE_FROM} WHERE c.article_id=%s ORDER BY c.seq", (article_id,))]

    def passage(self, chunk_id: str) -> StoredPassage | None:
        rows = self.db.query(f"SELECT {PASSAGE_COLUMNS} FROM {PASSAGE_FROM} WHERE c.id=%s", (chunk_id,))
        return StoredPassage(*rows[0]) if rows else None

    def passages(self, rowids: Iterable[int]) -> dict[int, StoredPassage]:
        """Passages by row id; ids removed since they were found are simply absent."""
        ids = [int(r) for r in rowids]
        if not ids:
            return {}
        rows = self.db.query(f"SELECT {PASSAGE_COLUMNS} FROM {PASSAGE_FROM} WHERE c.rowid = ANY(%s)", (ids,))
        return {r[0]: StoredPassage(*r) for r in rows}

    def sentence_vectors(self, rowid: int) -> np.ndarray:
        """The in-context vectors of one chunk's sentences, in order."""
        rows = self.db.query("SELECT embedding FROM vectors WHERE rowid=%s AND slot < %s ORDER BY slot", (rowid, PASSAGE_SLOT))
        return _rows_of([r[0] for r in rows], self.dim)

    def rowids_where(self, publishers: Sequence[str] | None = None, published_from: str | None = None,
                     published_to: str | None = None, stories: Sequence[str] | None = None,
                     known_by: str | None = None) -> RowIds:
        """Chunks of articles matching every given condition, as the SQLite store's :meth:`rowids_where`
        (an undated article never matches a date range; ``known_by`` keeps it)."""
        if not stories:
            return self._calendar().rowids_where(publishers, published_from, published_to, known_by)
        clauses, params = _article_filters("a.", publishers, published_from, published_to)
        clauses.append("a.cluster_id IN (SELECT cluster_id FROM articles WHERE id = ANY(%s))")
        params.append(list(stories))
        if known_by:
            clauses.append("(a.published_at IS NULL OR substr(a.published_at, 1, 10) <= %s)")
            params.append(known_by[:10])
        where = " AND ".join(clauses)
        rows = self.db.query(f"SELECT coalesce(array_agg(c.rowid), '{{}}') FROM {PASSAGE_FROM} WHERE {where}", params)
        return RowIds(np.asarray(rows[0][0], dtype=np.int64))

    def _calendar(self) -> PassageCalendar:
        """The committed generation's :class:`~..reads.PassageCalendar`, read once per generation: a question's date and
        publisher filters cost a binary search, not a query returning half the archive's row ids."""
        self._passage_calendar = PassageCalendar.current(self._passage_calendar, self.db.generation, self.db.query)
        return self._passage_calendar

    def newest_published(self) -> str | None:
        """The latest publication date (ISO) in the archive; ``None`` when nothing is dated."""
        return self.db.query("SELECT max(substr(published_at, 1, 10)) FROM articles")[0][0]

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
                             "FROM chunks c JOIN vectors v ON v.rowid=c.rowid WHERE c.embed_key = ANY(%s) "
                             "GROUP BY c.embed_key, c.rowid ORDER BY c.embed_key, c.rowid", (list(dict.fromkeys(keys)),))
        for key, embeddings in rows:
            vectors = _rows_of(embeddings, self.dim)  # the sentences by slot, then the passage (slot 1023)
            found[key] = (vectors[-1], vectors[:-1])
        return found

    def lsh_candidates(self, bands: Sequence[tuple[int, int]]) -> list[tuple[str, bytes, str]]:
        """Articles sharing at least one MinHash band: ``(id, minhash, cluster_id)``."""
        if not bands:
            return []
        rows = self.db.query("SELECT a.id, a.minhash, a.cluster_id FROM articles a WHERE a.id IN ("
                             "SELECT l.article_id FROM lsh l JOIN unnest(%s::int[], %s::bigint[]) AS b(band, key) "
                             "ON l.band=b.band AND l.key=b.key)", ([b for b, _ in bands], [k for _, k in bands]))
        return [(r[0], bytes(r[1]), r[2]) for r in rows]


def _rows_of(embeddings: Sequence[object], dim: int) -> np.ndarray:
    """pgvector values (``Vector`` or ``HalfVector``) as ``float32`` rows."""
    if not embeddings:
        return np.empty((0, dim), np.float32)
    return np.stack([np.asarray(e.to_numpy(), dtype=np.float32) for e in embeddings])


def _article_filters(prefix: str, publishers: Sequence[str] | None, published_from: str | None,
                     published_to: str | None) -> tuple[list[str], list[object]]:
    """SQL conditions on the articles table, as the SQLite store's: publisher case-insensitive, dates inclusive,
    an undated article never in a date range."""
    clauses: list[str] = []
    params: list[object] = []
    if publishers:
        clauses.append(f"lower({prefix}publisher) = ANY(%s)")
        params.append([p.lower() for p in publishers])
    if published_from:
        clauses.append(f"substr({prefix}published_at, 1, 10) >= %s")
        params.append(published_from[:10])
    if published_to:
        clauses.append(f"substr({prefix}published_at, 1, 10) <= %s")
        params.append(published_to[:10])
    return clauses, params
