"""The two retrievers: BM25 (Tantivy, or PostgreSQL's full-text search) and dense (FAISS), each returning typed passages.

The dense retriever also returns the query embedding (a ``float32`` array, which Haystack's
copy of each component input duplicates in one step, not float by float), so the answerer
never embeds the question twice.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from haystack import component

from newsdesk.index.embed import Embedder
from newsdesk.index.errors import IndexIncompatible
from newsdesk.index.records import RowIds
from newsdesk.index.store import ReadStore

from ..domain import Passage, Passages

__all__ = ["BM25Retriever", "DenseRetriever", "passages_of_hits"]


def passages_of_hits(store: ReadStore, hits: list[tuple[int, float]], retriever: str) -> Passages:
    """``(rowid, score)`` hits as passages carrying ``retriever``'s score and rank; rows gone since are skipped."""
    stored = store.passages(h for h, _ in hits)
    return Passages(Passage(stored[rowid], score=score, **{f"{retriever}_score": score, f"{retriever}_rank": rank})
                    for rank, (rowid, score) in enumerate(hits, start=1) if rowid in stored)


@component
class BM25Retriever:
    """Top passages by BM25 over chunk text and headline (the store's: Tantivy with Snowball stems for SQLite)."""

    def __init__(self, store: ReadStore, top_k: int) -> None:
        self.store = store
        self.top_k = top_k

    @component.output_types(passages=Passages)
    def run(self, query: str, allowed: RowIds | None = None) -> dict[str, Any]:
        hits = self.store.bm25_search(query, self.top_k, allowed)
        return {"passages": passages_of_hits(self.store, hits, "bm25")}


@component
class DenseRetriever:
    """Top passages by cosine similarity of all-MiniLM-L6-v2 vectors: the passage's or its best sentence's."""

    def __init__(self, store: ReadStore, embedder: Embedder, top_k: int) -> None:
        if embedder.model_name != store.model_name:  # another model's query vectors would rank nonsense quietly
            raise IndexIncompatible(f"the index was built with embedding model {store.model_name!r}; "
                                    f"its queries cannot be embedded with {embedder.model_name!r}")
        self.store = store
        self.embedder = embedder
        self.top_k = top_k

    def warm_up(self) -> None:
        self.embedder.warm_up()
        self.store.warm_up()

    @component.output_types(passages=Passages, query_embedding=np.ndarray)
    def run(self, query: str, allowed: RowIds | None = None) -> dict[str, Any]:
        vector = self.embedder.embed_query(query)
        hits = self.store.dense_search(vector, self.top_k, allowed)
        return {"passages": passages_of_hits(self.store, hits, "dense"), "query_embedding": vector}
