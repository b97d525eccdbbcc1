"""Search in PostgreSQL: full-text search over a GIN index and dense search over pgvector's HNSW index.

Text search ranks with ``ts_rank`` normalised by document length (flag 1), not BM25: PostgreSQL keeps no
document frequencies, so a rare term weighs no more than a common one (FTS5's BM25 weighs each term by its
inverse document frequency). The effect on XQuAD and SciFact is measured in docs/benchmarks.md.
"""

from __future__ import annotations

import numpy as np

from ...records import RowIds
from ...text import search_terms
from .connection import PostgresDatabase

__all__ = ["PostgresSearch"]


class PostgresSearch:
    """Top passages for a query; with ``allowed``, only those chunk row ids count (filtered inside the query)."""

    db: PostgresDatabase
    vector_type: str  # "halfvec" or "vector": the column's type, which the query vector is cast to

    def bm25_search(self, query: str, k: int, allowed: RowIds | None = None) -> list[tuple[int, float]]:
        """Full-text search over chunk text and title, any term (stemmed by the ``english`` configuration);
        scores are positive, higher is better."""
        terms = search_terms(query)
        if not terms:
            return []
        tsquery = " | ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms)
        where, params = "", [tsquery]
        if allowed is not None:
            where, params = " AND c.rowid = ANY(%s)", [tsquery, allowed.array().tolist()]
        rows = self.db.query(
            "SELECT c.rowid, ts_rank(c.search, q, 1) AS score FROM chunks c, to_tsquery('english', %s) q "
            f"WHERE c.search @@ q{where} ORDER BY score DESC, c.rowid LIMIT %s", [*params, k])
        return [(int(r), float(s)) for r, s in rows if s > 0]

    def dense_search(self, query_vector: np.ndarray, k: int, allowed: RowIds | None = None) -> list[tuple[int, float]]:
        """Top chunks by cosine similarity of the passage or its best sentence: ``(rowid, score)``.

        The HNSW index returns vectors (a passage's and its sentences'); it asks for more while fewer than ``k``
        distinct passages come back. With ``allowed``, pgvector's iterative index scan filters inside the search.
        """
        vector = "[" + ",".join(f"{x:.7g}" for x in np.asarray(query_vector, dtype=np.float32).ravel()) + "]"
        where, params = "", []
        if allowed is not None:
            where, params = "WHERE rowid = ANY(%s)", [allowed.array().tolist()]
        wanted = 4 * k
        while True:
            rows = self.db.query(
                f"SELECT rowid, -(embedding <#> %s::{self.vector_type}) AS score FROM vectors {where} "
                f"ORDER BY embedding <#> %s::{self.vector_type} LIMIT %s", [vector, *params, vector, wanted])
            best: dict[int, float] = {}
            for rowid, score in rows:
                best.setdefault(int(rowid), float(score))  # rows come best first: a passage's first is its best
            if len(best) >= k or len(rows) < wanted:
                return list(best.items())[:k]
            wanted *= 4
