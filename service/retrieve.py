"""Hybrid retrieval: BM25 (FTS5) and dense (FAISS) passages, fused by reciprocal rank.

The query side is a Haystack ``Pipeline``: a BM25 retriever and a dense retriever feed
Haystack's ``DocumentJoiner`` in ``reciprocal_rank_fusion`` mode. Each passage keeps
its BM25 and dense scores in ``meta`` so the fusion can be inspected.
"""

from __future__ import annotations

from typing import Any

from haystack import Document, Pipeline, component
from haystack.components.joiners import DocumentJoiner

from newsdesk.index.embed import Embedder
from newsdesk.index.store import ArticleStore


def _documents(store: ArticleStore, hits: list[tuple[int, float]], score_key: str) -> list[Document]:
    rows = store.chunks_by_rowid(h for h, _ in hits)
    documents = []
    for rank, (rowid, score) in enumerate(hits, start=1):
        row = rows.get(rowid)
        if row is None:
            continue  # removed since the vector index was read
        meta = {k: row[k] for k in ("article_id", "start", "end", "title", "publisher", "published_at", "url", "cluster_id", "seq")}
        meta.update({"chunk_id": row["id"], score_key: score, f"{score_key}_rank": rank})
        documents.append(Document(id=row["id"], content=row["text"], meta=meta, score=score))
    return documents


@component
class BM25Retriever:
    """Top passages by BM25 over chunk text and headline."""

    def __init__(self, store: ArticleStore, top_k: int = 50) -> None:
        self.store = store
        self.top_k = top_k

    @component.output_types(documents=list[Document])
    def run(self, query: str, top_k: int | None = None) -> dict[str, Any]:
        return {"documents": _documents(self.store, self.store.bm25_search(query, top_k or self.top_k), "bm25_score")}


@component
class DenseRetriever:
    """Top passages by cosine similarity of all-MiniLM-L6-v2 embeddings (FAISS)."""

    def __init__(self, store: ArticleStore, embedder: Embedder, top_k: int = 50) -> None:
        self.store = store
        self.embedder = embedder
        self.top_k = top_k

    def warm_up(self) -> None:
        self.embedder.warm_up()

    @component.output_types(documents=list[Document])
    def run(self, query: str, top_k: int | None = None) -> dict[str, Any]:
        vector = self.embedder.embed([query])[0]
        return {"documents": _documents(self.store, self.store.dense_search(vector, top_k or self.top_k), "dense_score")}


def build_retrieval_pipeline(store: ArticleStore, embedder: Embedder, candidates: int = 50) -> Pipeline:
    """BM25 + dense → reciprocal rank fusion; run with ``{"bm25": {"query": q}, "dense": {"query": q}}``."""
    pipeline = Pipeline()
    pipeline.add_component("bm25", BM25Retriever(store, top_k=candidates))
    pipeline.add_component("dense", DenseRetriever(store, embedder, top_k=candidates))
    pipeline.add_component("fusion", DocumentJoiner(join_mode="reciprocal_rank_fusion"))
    pipeline.connect("bm25.documents", "fusion.documents")
    pipeline.connect("dense.documents", "fusion.documents")
    return pipeline


def search(pipeline: Pipeline, query: str, top_k: int = 5) -> list[Document]:
    """The fused top passages, each with ``bm25_score`` and ``dense_score`` in meta where it was found."""
    result = pipeline.run({"bm25": {"query": query}, "dense": {"query": query}}, include_outputs_from={"bm25", "dense"})
    scores: dict[str, dict[str, Any]] = {}
    for name in ("bm25", "dense"):
        for doc in result[name]["documents"]:
            scores.setdefault(doc.id, {}).update({k: v for k, v in doc.meta.items() if k.startswith(name)})
    fused = result["fusion"]["documents"][:top_k]
    return [Document(id=d.id, content=d.content, score=d.score, meta={**d.meta, **scores.get(d.id, {})}) for d in fused]
