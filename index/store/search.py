"""Search: BM25 over FTS5 and dense search over FAISS, both as ``(chunk rowid, score)`` hits."""

from __future__ import annotations

from collections.abc import Callable, Set as AbstractSet

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
    _passage_count: tuple[tuple[int, int], int] = ((0, -1), 0)  # ((id of the index, generation), passages)

    def dense_search(self, query_vector: np.ndarray, k: int, allowed: AbstractSet[int] | None = None) -> list[tuple[int, float]]:
        """Top chunks by cosine similarity of the passage or its best sentence: ``(rowid, score)``.

        With ``allowed``, only those chunk row ids count: the first search asks for as many more
        vectors as the filter keeps fewer passages, and widens until it has ``k``.
        """
        vectors = self.vectors()
        wanted = 4 * k
        if allowed is not None:
            wanted = int(wanted * min(100.0, max(1.0, self._passages_in(vectors) / max(1, len(allowed)))))
        while True:
            ids, scores = vectors.search(query_vector, wanted)
            rowids = ids >> SLOT_BITS
            _, first = np.unique(rowids, return_index=True)  # each passage's best vector (hits come best first)
            first.sort()
            best = [(rowid, score) for rowid, score in zip(rowids[first].tolist(), scores[first].tolist())
                    if allowed is None or rowid in allowed]
            if len(best) >= k or len(ids) < wanted:
                return best[:k]
            wanted *= 4

    def _passages_in(self, vectors: VectorIndex) -> int:
        """How many passages ``vectors`` holds (one passage vector each), counted once per generation, not per query."""
        key = (id(vectors), self.db.generation)
        if self._passage_count[0] != key:
            self._passage_count = (key, int(np.count_nonzero((vectors.ids & PASSAGE_SLOT) == PASSAGE_SLOT)))
        return self._passage_count[1]

    def dense_sentence_search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, int, float]]:
        """Top sentences in context: ``(chunk rowid, sentence index within the chunk, score)``."""
        ids, scores = self.vectors().search(query_vector, k)
        return [(vid >> SLOT_BITS, vid & PASSAGE_SLOT, score) for vid, score in zip(ids.tolist(), scores.tolist())
                if vid & PASSAGE_SLOT != PASSAGE_SLOT]

    def bm25_search(self, query: str, k: int, allowed: AbstractSet[int] | None = None) -> list[tuple[int, float]]:
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
