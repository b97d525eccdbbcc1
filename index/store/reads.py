"""Reads of articles, sentences, entities, passages and clusters, as typed records."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..entities import Entity
from ..records import RowIds, Sentence, StoredArticle, StoredPassage
from .database import Database

__all__ = ["ArticleReads", "ArticleSummary", "IndexCounts", "PassageCalendar"]

# A chunk row joined with its article (aliases ``c`` and ``a``), wherever passages are read.
PASSAGE_COLUMNS = ('c.rowid, c.id, c.article_id, c.seq, c.start, c."end", c.text, c.first_sentence, c.last_sentence, c.n_tokens, '
                   "a.title, a.publisher, a.published_at, a.url, a.cluster_id")
PASSAGE_FROM = "chunks c JOIN articles a ON a.id=c.article_id"
PAST_ANY_OFFSET = 2**62  # an end beyond any code-point offset: "to the end of the text" in a range query


@dataclass(frozen=True)
class IndexCounts:
    articles: int
    sentences: int
    chunks: int
    clusters: int
    vectors: int
    generation: int


@dataclass(frozen=True)
class ArticleSummary:
    """An article's metadata without its text: one row of a listing."""

    id: str
    title: str | None
    publisher: str | None
    author: str | None
    published_at: str | None
    updated_at: str | None
    url: str | None
    fetched_at: str | None
    format: str
    content_hash: str
    ingested_at: str
    cluster_id: str


def passage_of(row: sqlite3.Row) -> StoredPassage:
    return StoredPassage(*row)


@dataclass(frozen=True)
class PassageCalendar:
    """Every passage's publication day and publisher, sorted by day, as arrays: a question's date and publisher
    filters become a binary search and a mask instead of a scan of the joined tables (SQLite has no index on
    the day: 100k passages cost 230-390 ms a query, and an ``as_of`` differs from question to question)."""

    generation: int
    days: np.ndarray  # ISO dates, sorted; "" for an article that states none (first)
    rowids: np.ndarray
    publishers: np.ndarray  # lower-cased; "" when not stated

    @classmethod
    def of(cls, generation: int, rows: Sequence[tuple[int, str, str]]) -> "PassageCalendar":
        rowids = np.array([r[0] for r in rows], dtype=np.int64)
        days = np.array([r[1] for r in rows], dtype="<U10")
        order = np.argsort(days, kind="stable")
        return cls(generation, days[order], rowids[order], np.array([r[2] for r in rows], dtype=object)[order])

    @classmethod
    def current(cls, cached: "PassageCalendar | None", generation: int, query: Callable[[str], Sequence]) -> "PassageCalendar":
        """``cached`` if it is of ``generation``, else the calendar read again with ``query`` (SQL both stores run alike)."""
        if cached is not None and cached.generation == generation:
            return cached
        return cls.of(generation, query("SELECT c.rowid, coalesce(substr(a.published_at, 1, 10), ''), "
                                        f"lower(coalesce(a.publisher, '')) FROM {PASSAGE_FROM}"))

    def rowids_where(self, publishers: Sequence[str] | None, published_from: str | None, published_to: str | None,
                     known_by: str | None) -> RowIds:
        """As :meth:`ArticleReads.rowids_where` without stories: a date range never holds an undated article
        (``""`` sorts before every date), ``known_by`` keeps them."""
        lo = int(np.searchsorted(self.days, published_from[:10], "left")) if published_from else 0
        if published_to and not published_from:
            lo = int(np.searchsorted(self.days, "", "right"))
        ends = [int(np.searchsorted(self.days, d[:10], "right")) for d in (published_to, known_by) if d]
        hi = min(ends, default=len(self.days))
        found = self.rowids[lo:hi]
        if publishers:
            found = found[np.isin(self.publishers[lo:hi], [p.lower() for p in publishers])]
        return RowIds(found)


class ArticleReads:
    """What the store returns to readers; every method is one or two indexed queries."""

    db: Database
    dim: int
    vector_dtype: np.dtype
    _passage_calendar: PassageCalendar | None = None

    @property
    def generation(self) -> int:
        return self.db.generation

    def article_hash(self, article_id: str) -> str | None:
        rows = self.db.query("SELECT content_hash FROM articles WHERE id=?", (article_id,))
        return rows[0][0] if rows else None

    def article(self, article_id: str) -> StoredArticle | None:
        rows = self.db.query(
            "SELECT id, content_hash, raw_text, coalesce(source_text, raw_text), source, format, title, publisher, published_at, "
            "url, cluster_id, removed, ingested_seq, ingested_at, author, updated_at, fetched_at FROM articles WHERE id=?", (article_id,))
        if not rows:
            return None
        values = list(rows[0])
        values[11] = tuple((int(s), int(e), str(r)) for s, e, r in json.loads(values[11]))
        return StoredArticle(*values)

    def article_ids(self) -> list[str]:
        return [r[0] for r in self.db.query("SELECT id FROM articles ORDER BY ingested_seq")]

    def list_articles(self, limit: int, after: str | None = None, publishers: Sequence[str] | None = None,
                      published_from: str | None = None, published_to: str | None = None) -> list[ArticleSummary]:
        """Up to ``limit`` articles in id order, from the first id after ``after`` (keyset paging: stable while
        articles come and go), matching every given filter as :meth:`rowids_where` does (publisher
        case-insensitive, dates inclusive; an undated article never matches a date range)."""
        filters, filter_params = article_filters("", publishers, published_from, published_to)
        clauses, params = ["id > ?", *filters], [after or "", *filter_params]
        rows = self.db.query("SELECT id, title, publisher, author, published_at, updated_at, url, fetched_at, format, content_hash, "
                             f"ingested_at, cluster_id FROM articles WHERE {' AND '.join(clauses)} ORDER BY id LIMIT ?",
                             [*params, limit])
        return [ArticleSummary(*r) for r in rows]

    def cluster_members(self, cluster_id: str) -> list[str]:
        return self.clusters([cluster_id]).get(cluster_id, [])

    def clusters(self, cluster_ids: Iterable[str]) -> dict[str, list[str]]:
        ids = list(dict.fromkeys(cluster_ids))
        members: dict[str, list[str]] = {}
        for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
            batch = ids[start:start + 500]
            rows = self.db.query(f"SELECT cluster_id, id FROM articles WHERE cluster_id IN ({','.join('?' * len(batch))}) "
                                 "ORDER BY ingested_seq", batch)
            for cluster, article in rows:
                members.setdefault(cluster, []).append(article)
        return members

    def sentences(self, article_id: str) -> list[Sentence]:
        return [Sentence(*r) for r in self.db.query('SELECT seq, start, "end", text FROM sentences WHERE article_id=? ORDER BY seq',
                                                    (article_id,))]

    def entities(self, article_id: str, start: int = 0, end: int | None = None) -> list[Entity]:
        """The article's entities in text order (by start, then end and label); with ``start``/``end``, only those
        beginning inside ``[start, end)`` (the primary key's range: a question reads the passages it weighs, not
        a long article's every entity)."""
        return [Entity(*r) for r in self.db.query('SELECT start, "end", label, text FROM entities WHERE article_id=? AND start>=? '
                                                  'AND start<? ORDER BY start, "end", label', (article_id, start, PAST_ANY_OFFSET if end is None else end))]

    def untagged_articles(self, limit: int) -> list[str]:
        """Up to ``limit`` ids of articles stored before entities were (schema version 1), oldest first."""
        return [r[0] for r in self.db.query("SELECT p.article_id FROM entities_pending p JOIN articles a ON a.id=p.article_id "
                                            "ORDER BY a.ingested_seq LIMIT ?", (limit,))]

    def passages_of(self, article_id: str) -> list[StoredPassage]:
        """An article's passages, in order."""
        return [passage_of(r) for r in self.db.query(f"SELECT {PASSAGE_COLUMNS} FROM {PASSAGE_FROM} WHERE c.article_id=? ORDER BY c.seq",
                                                     (article_id,))]

    def passage(self, chunk_id: str) -> StoredPassage | None:
        rows = self.db.query(f"SELECT {PASSAGE_COLUMNS} FROM {PASSAGE_FROM} WHERE c.id=?", (chunk_id,))
        return passage_of(rows[0]) if rows else None

    def passages(self, rowids: Iterable[int]) -> dict[int, StoredPassage]:
        """Passages by FAISS row id; ids removed since the vectors were read are simply absent."""
        ids = list(rowids)
        if not ids:
            return {}
        rows = self.db.query(f"SELECT {PASSAGE_COLUMNS} FROM {PASSAGE_FROM} WHERE c.rowid IN ({','.join('?' * len(ids))})", ids)
        return {r[0]: passage_of(r) for r in rows}

    def sentence_vectors(self, rowid: int) -> np.ndarray:
        """The in-context vectors of one chunk's sentences, in order."""
        rows = self.db.query("SELECT sentence_vectors FROM chunks WHERE rowid=?", (rowid,))
        return self.vectors_of(rows[0][0]) if rows else np.empty((0, self.dim), np.float32)

    def vectors_of(self, blob: bytes) -> np.ndarray:
        """A stored vector blob as ``float32`` rows (the index's ``vector_storage`` says how wide each number is)."""
        return np.frombuffer(blob, dtype=self.vector_dtype).reshape(-1, self.dim).astype(np.float32)

    def rowids_where(self, publishers: Sequence[str] | None = None, published_from: str | None = None,
                     published_to: str | None = None, stories: Sequence[str] | None = None,
                     known_by: str | None = None) -> RowIds:
        """Chunks of articles matching every given condition (publisher case-insensitive; dates inclusive;
        ``stories``: the near-duplicate clusters of these article ids; ``known_by``: an ISO date, the
        moment a question is asked: articles published after it did not exist yet).

        An article that states no date never matches a date range (absent is not guessed), and is
        kept by ``known_by`` (nothing says it came later).
        """
        if not stories:
            return self._calendar().rowids_where(publishers, published_from, published_to, known_by)
        clauses = [f"a.cluster_id IN (SELECT cluster_id FROM articles WHERE id IN ({','.join('?' * len(stories))}))"]
        params: list[object] = list(stories)
        filters, filter_params = article_filters("a.", publishers, published_from, published_to)
        clauses += filters
        params += filter_params
        if known_by:
            clauses.append("(a.published_at IS NULL OR substr(a.published_at, 1, 10) <= ?)")
            params.append(known_by[:10])
        where = " AND ".join(clauses) or "1"
        return RowIds(r[0] for r in self.db.query(f"SELECT c.rowid FROM {PASSAGE_FROM} WHERE {where}", params))

    def _calendar(self) -> "PassageCalendar":
        """The committed generation's :class:`PassageCalendar`, read once per generation."""
        self._passage_calendar = PassageCalendar.current(self._passage_calendar, self.db.generation, self.db.query)
        return self._passage_calendar

    def newest_published(self) -> str | None:
        """The latest publication date (ISO) in the archive; ``None`` when nothing is dated."""
        return self.db.query("SELECT max(substr(published_at, 1, 10)) FROM articles")[0][0]

    def counts(self) -> IndexCounts:
        row = self.db.query(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM sentences), (SELECT count(*) FROM chunks), "
            "(SELECT count(DISTINCT cluster_id) FROM articles), (SELECT coalesce(sum(last_sentence - first_sentence + 2), 0) FROM chunks)")[0]
        return IndexCounts(*row, generation=self.generation)

    def cached_vectors(self, keys: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``(passage, sentences)`` vectors already computed for these embedding inputs, so
        unchanged text is never embedded again."""
        found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), 500):
            part = unique[i:i + 500]
            for key, blob, sentences in self.db.query(
                    f"SELECT embed_key, vector, sentence_vectors FROM chunks WHERE embed_key IN ({','.join('?' * len(part))})", part):
                found[key] = (self.vectors_of(blob)[0], self.vectors_of(sentences))
        return found

    def lsh_candidates(self, bands: Sequence[tuple[int, int]]) -> list[tuple[str, bytes, str]]:
        """Articles sharing at least one MinHash band: ``(id, minhash, cluster_id)``."""
        if not bands:
            return []
        clause = " OR ".join("(band=? AND key=?)" for _ in bands)
        params = [v for pair in bands for v in pair]
        return [tuple(r) for r in self.db.query(
            f"SELECT a.id, a.minhash, a.cluster_id FROM articles a WHERE a.id IN (SELECT article_id FROM lsh WHERE {clause})", params)]


def article_filters(prefix: str, publishers: Sequence[str] | None, published_from: str | None,
                     published_to: str | None) -> tuple[list[str], list[object]]:
    """SQL conditions on the articles table (columns named ``prefix + column``): publisher case-insensitive,
    dates inclusive, an undated article never in a date range; shared by passage filters and article listing."""
    clauses: list[str] = []
    params: list[object] = []
    if publishers:
        clauses.append(f"lower({prefix}publisher) IN ({','.join('?' * len(publishers))})")
        params += [p.lower() for p in publishers]
    if published_from:
        clauses.append(f"substr({prefix}published_at, 1, 10) >= ?")
        params.append(published_from[:10])
    if published_to:
        clauses.append(f"substr({prefix}published_at, 1, 10) <= ?")
        params.append(published_to[:10])
    return clauses, params
