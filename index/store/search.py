"""Search: BM25 over FTS5 and dense search over FAISS, both as ``(chunk rowid, score)`` hits."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..text import search_terms
from ..vectors import VectorIndex
from .database import Database
from .vectorfiles import PASSAGE_SLOT, SLOT_BITS

__all__ = ["PassageSearch"]


class PassageSearch:
    """Top passages for a query; with ``allowed``, only those chunk row ids count."""

    db: Database
    vectors: Callable[[], VectorIndex]  # the store's :class:`~.vectorfiles.VectorFiles`

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

    def dense_sentence_search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, int, float]]:
        """Top sentences in context: ``(chunk rowid, sentence index within the chunk, score)``."""
        hits = self.vectors().search(query_vector, k)
        return [(vid >> SLOT_BITS, vid & PASSAGE_SLOT, score) for vid, score in hits if vid & PASSAGE_SLOT != PASSAGE_SLOT]

    def bm25_search(self, query: str, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """FTS5 BM25 over chunk text and title; scores are positive, higher is better."""
        terms = search_terms(query)
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        wanted = k if allowed is None else 4 * k
        while True:
            rows = self.db.query(
                "SELECT rowid, -bm25(chunks_fts, 1.0, 1.0) AS score FROM chunks_fts WHERE chunks_fts MATCH ? "
                "ORDER BY bm25(chunks_fts, 1.0, 1.0) LIMIT ?", (match, wanted))
            hits = [(int(r[0]), float(r[1])) for r in rows if allowed is None or r[0] in allowed]
            if len(hits) >= k or len(rows) < wanted:
                return hits[:k]
            wanted *= 4
