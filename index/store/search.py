"""Search: BM25 over Tantivy and dense search over FAISS, both as ``(chunk rowid, score)`` hits."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..records import RowIds
from ..text import search_terms
from ..vectors import GroupFilter, VectorIndex
from .database import Database
from .reads import PassageCalendar
from .vectorfiles import PASSAGE_SLOT, SLOT_BITS

__all__ = ["PassageSearch"]


class PassageSearch:
    """Top passages for a query; with ``allowed``, only those chunk row ids count."""

    db: Database
    vectors: Callable[[], VectorIndex]  # the store's :class:`~.vectorfiles.VectorFiles`
    _calendar: Callable[[], PassageCalendar]  # the store's :class:`~.reads.ArticleReads`
    bm25_hits: Callable[[Sequence[str], int, RowIds | None, int], list[tuple[int, float]]]  # :class:`~.lexical.LexicalFiles`

    def dense_search(self, query_vector: np.ndarray, k: int, allowed: RowIds | None = None) -> list[tuple[int, float]]:
        """Top chunks by cosine similarity of the passage or its best sentence: ``(rowid, score)``.

        With ``allowed``, only those chunk row ids count, filtered inside the vector search
        (:meth:`~newsdesk.index.vectors.VectorIndex.search`); it asks for more vectors while
        fewer than ``k`` distinct passages come back (a passage's sentences are near each other).
        """
        vectors = self.vectors()
        keep = None
        if allowed is not None:
            rowids = allowed.array()
            flags = np.zeros(int(rowids[-1]) + 1 if len(rowids) else 1, dtype=bool)  # sorted: the last is the largest
            flags[rowids] = True
            keep = GroupFilter(flags, SLOT_BITS)  # a passage's vectors share its row id
        wanted = 4 * k
        while True:
            ids, scores = vectors.search(query_vector, wanted, keep)
            rowids = ids >> SLOT_BITS
            _, first = np.unique(rowids, return_index=True)  # each passage's best vector (hits come best first)
            first.sort()
            if len(first) >= k or len(ids) < wanted:
                return list(zip(rowids[first].tolist(), scores[first].tolist()))[:k]
            wanted *= 4

    def dense_sentence_search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, int, float]]:
        """Top sentences in context: ``(chunk rowid, sentence index within the chunk, score)``."""
        ids, scores = self.vectors().search(query_vector, k)
        return [(vid >> SLOT_BITS, vid & PASSAGE_SLOT, score) for vid, score in zip(ids.tolist(), scores.tolist())
                if vid & PASSAGE_SLOT != PASSAGE_SLOT]

    def bm25_search(self, query: str, k: int, allowed: RowIds | None = None) -> list[tuple[int, float]]:
        """BM25 over chunk text and title (:mod:`.lexical`); scores are positive, higher is better."""
        terms = search_terms(query)
        if not terms:
            return []
        return self.bm25_hits(terms, k, allowed, len(self._calendar().rowids))
