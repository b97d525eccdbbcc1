"""Search in PostgreSQL: full-text search over a GIN index and dense search over pgvector's HNSW index.

Text search ranks with ``ts_rank`` normalised by document length (flag 1), not BM25: PostgreSQL keeps no
document frequencies, so a rare term weighs no more than a common one (the SQLite store's BM25 weighs each term by its
inverse document frequency). The effect on XQuAD and SciFact is measured in docs/benchmarks.md.

A question's filters (``allowed``, often half the archive for an ``as_of``) are applied to the hits, not sent
to the server: a list of 50,000 row ids in every query cost more than the search itself (100k passages:
230 ms a question for the vectors, 210 ms for the text). Each search asks for as many more hits as the
filter's share of the archive calls for, and asks again for more while too few pass. A filter that keeps
only a few passages is searched exactly, over those passages' vectors alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ...records import RowIds
from ...text import search_terms
from ..reads import PassageCalendar
from .connection import PostgresDatabase

__all__ = ["PostgresSearch"]

EXACT_FILTERED = 2_000  # passages: a filter keeping at most this many is searched exactly over their vectors
MOST_HITS = 20_000  # vectors or text hits asked for at once; beyond it a filtered dense search is done exactly


class PostgresSearch:
    """Top passages for a query; with ``allowed``, only those chunk row ids count."""

    db: PostgresDatabase
    vector_type: str  # "halfvec" or "vector": the column's type, which the query vector is cast to
    _calendar: Callable[[], PassageCalendar]  # the store's :class:`~.reads.PostgresReads`
    _passage_calendar: PassageCalendar | None

    def _share(self, allowed: RowIds | None) -> float:
        """The filter's share of the archive's passages (1 without one)."""
        if allowed is None:
            return 1.0
        calendar = self._passage_calendar or self._calendar()  # ``allowed`` was just made from it: no second trip to the primary
        return min(1.0, max(len(allowed), 1) / max(len(calendar.rowids), 1))

    def bm25_search(self, query: str, k: int, allowed: RowIds | None = None) -> list[tuple[int, float]]:
        """Full-text search over chunk text and title, any term (stemmed by the ``english`` configuration);
        scores are positive, higher is better."""
        terms = search_terms(query)
        if not terms:
            return []
        tsquery = " | ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms)
        wanted = min(MOST_HITS, math.ceil(k / self._share(allowed)))
        while True:
            rows = self.db.query(
                "SELECT c.rowid, ts_rank(c.search, q, 1) AS score FROM chunks c, to_tsquery('english', %s) q "
                "WHERE c.search @@ q ORDER BY score DESC, c.rowid LIMIT %s", [tsquery, wanted])
            hits = [(int(r), float(s)) for r, s in rows if s > 0 and (allowed is None or r in allowed)]
            if len(hits) >= k or len(rows) < wanted:
                return hits[:k]
            wanted *= 4

    def dense_search(self, query_vector: np.ndarray, k: int, allowed: RowIds | None = None) -> list[tuple[int, float]]:
        """Top chunks by cosine similarity of the passage or its best sentence: ``(rowid, score)``.

        The HNSW index returns vectors (a passage's and its sentences'); it asks for more while fewer than ``k``
        distinct allowed passages come back.
        """
        vector = "[" + ",".join(f"{x:.7g}" for x in np.asarray(query_vector, dtype=np.float32).ravel()) + "]"
        if allowed is not None and len(allowed) <= EXACT_FILTERED:
            return self._exact(vector, k, allowed)
        wanted = math.ceil(4 * k / self._share(allowed))
        while wanted <= MOST_HITS:
            rows = self.db.query(f"SELECT rowid, -(embedding <#> %s::{self.vector_type}) FROM vectors "
                                 f"ORDER BY embedding <#> %s::{self.vector_type} LIMIT %s", [vector, vector, wanted])
            best = _best_per_passage(rows, allowed)
            if len(best) >= k or len(rows) < wanted:
                return best[:k]
            wanted *= 4
        return self._exact(vector, k, allowed)

    def _exact(self, vector: str, k: int, allowed: RowIds | None) -> list[tuple[int, float]]:
        """Every vector of the allowed passages compared (no index: the planner may not pick the HNSW scan)."""
        rows = self.db.query(
            f"WITH v AS MATERIALIZED (SELECT rowid, embedding FROM vectors WHERE rowid = ANY(%s)) "
            f"SELECT rowid, -(embedding <#> %s::{self.vector_type}) AS score FROM v ORDER BY score DESC LIMIT %s",
            [allowed.array().tolist() if allowed is not None else [], vector, 64 * k])
        return _best_per_passage(rows, None)[:k]


def _best_per_passage(rows: list[tuple], allowed: RowIds | None) -> list[tuple[int, float]]:
    """Each allowed passage once, at its best vector's score (rows come best first)."""
    best: dict[int, float] = {}
    for rowid, score in rows:
        if allowed is None or rowid in allowed:
            best.setdefault(int(rowid), float(score))
    return list(best.items())
