"""Hybrid retrieval: BM25 (FTS5) and dense (FAISS) passages, fused, filtered, collapsed.

The query side is a Haystack ``Pipeline``::

    bm25 ─┐
          ├─ fusion (RRF or convex) ─ collapse (one article per near-duplicate cluster)
    dense ┘

Each passage keeps its BM25 and dense scores and ranks in ``meta`` so a fused ranking can
be explained. The dense retriever also returns the query embedding, so the answerer never
embeds the question twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from haystack import Document, Pipeline, component

from newsdesk.index.embed import Embedder
from newsdesk.index.store import ArticleStore

FUSION_MODES = ("rrf", "convex")
RRF_K = 60  # the constant of Cormack et al. (2009); Haystack's DocumentJoiner uses the same
CONVEX_BM25_WEIGHT = 0.4


@dataclass(frozen=True)
class Filters:
    """Optional restrictions of a search; every given one must hold."""

    publishers: tuple[str, ...] = ()
    published_from: str | None = None  # ISO date, inclusive
    published_to: str | None = None

    def __bool__(self) -> bool:
        return bool(self.publishers or self.published_from or self.published_to)


@component
class FilterResolver:
    """Turns filters into the set of chunk row ids they allow, once per query, for both retrievers."""

    def __init__(self, store: ArticleStore) -> None:
        self.store = store

    @component.output_types(allowed=set[int] | None)
    def run(self, filters: Filters | None = None, stories: list[str] | None = None) -> dict[str, Any]:
        """``stories``: keep to these articles and their copies (a follow-up's focus).

        :returns: ``allowed`` row ids, or ``None`` when nothing is filtered.
        """
        if not filters and not stories:
            return {"allowed": None}
        filters = filters or Filters()
        return {"allowed": self.store.chunk_rowids_where(list(filters.publishers) or None, filters.published_from,
                                                         filters.published_to, stories or None)}


def _documents(store: ArticleStore, hits: list[tuple[int, float]], retriever: str) -> list[Document]:
    rows = store.chunks_by_rowid(h for h, _ in hits)
    documents = []
    for rank, (rowid, score) in enumerate(hits, start=1):
        row = rows.get(rowid)
        if row is None:
            continue  # removed since the vector index was read
        meta = {k: row[k] for k in ("rowid", "article_id", "seq", "start", "end", "first_sentence", "last_sentence",
                                    "title", "publisher", "published_at", "url", "cluster_id")}
        meta.update({"chunk_id": row["id"], f"{retriever}_score": score, f"{retriever}_rank": rank})
        documents.append(Document(id=row["id"], content=row["text"], meta=meta, score=score))
    return documents


@component
class BM25Retriever:
    """Top passages by BM25 over chunk text and headline (SQLite FTS5, Porter stemming)."""

    def __init__(self, store: ArticleStore, top_k: int = 50) -> None:
        self.store = store
        self.top_k = top_k

    @component.output_types(documents=list[Document])
    def run(self, query: str, allowed: set[int] | None = None) -> dict[str, Any]:
        hits = self.store.bm25_search(query, self.top_k, allowed)
        return {"documents": _documents(self.store, hits, "bm25")}


@component
class DenseRetriever:
    """Top passages by cosine similarity of all-MiniLM-L6-v2 vectors: the passage's or its best sentence's."""

    def __init__(self, store: ArticleStore, embedder: Embedder, top_k: int = 50) -> None:
        self.store = store
        self.embedder = embedder
        self.top_k = top_k

    def warm_up(self) -> None:
        self.embedder.warm_up()

    @component.output_types(documents=list[Document], query_embedding=list[float])
    def run(self, query: str, allowed: set[int] | None = None) -> dict[str, Any]:
        vector = self.embedder.embed([query])[0]
        hits = self.store.dense_search(vector, self.top_k, allowed)
        return {"documents": _documents(self.store, hits, "dense"), "query_embedding": vector.tolist()}


@component
class HybridFusion:
    """Fuses the BM25 and dense lists into one ranking, keeping both scores in ``meta``.

    ``rrf``: sum of 1 / (60 + rank). ``convex``: 0.4 x BM25 + 0.6 x dense, each min-max
    scaled over its own list (a passage missing from a list scores 0 there).
    """

    def __init__(self, mode: str = "convex") -> None:
        if mode not in FUSION_MODES:
            raise ValueError(f"unknown fusion mode {mode!r}; choose one of {', '.join(FUSION_MODES)}")
        self.mode = mode

    @component.output_types(documents=list[Document])
    def run(self, bm25: list[Document], dense: list[Document]) -> dict[str, Any]:
        merged: dict[str, dict[str, Any]] = {}
        contents: dict[str, str] = {}
        for documents in (bm25, dense):
            for doc in documents:
                merged.setdefault(doc.id, {}).update(doc.meta)
                contents[doc.id] = doc.content
        scores = dict.fromkeys(merged, 0.0)
        if self.mode == "rrf":
            for documents in (bm25, dense):
                for rank, doc in enumerate(documents, start=1):
                    scores[doc.id] += 1.0 / (RRF_K + rank)
        else:
            for documents, weight in ((bm25, CONVEX_BM25_WEIGHT), (dense, 1.0 - CONVEX_BM25_WEIGHT)):
                if not documents:
                    continue
                values = [d.score or 0.0 for d in documents]
                low, span = min(values), (max(values) - min(values)) or 1.0
                for doc in documents:
                    scores[doc.id] += weight * ((doc.score or 0.0) - low) / span
        ranked = sorted(merged, key=lambda i: -scores[i])
        return {"documents": [Document(id=i, content=contents[i], meta=merged[i], score=scores[i]) for i in ranked]}


@component
class ClusterCollapser:
    """Keeps one article per near-duplicate cluster: the best-ranked copy, listing the others."""

    def __init__(self, store: ArticleStore) -> None:
        self.store = store

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document], top_k: int | None = None) -> dict[str, Any]:
        """:returns: at most ``top_k`` passages, one article per cluster, with ``copies`` in meta."""
        chosen: dict[str, str] = {}
        kept = []
        for doc in documents:
            cluster = doc.meta["cluster_id"]
            article = chosen.setdefault(cluster, doc.meta["article_id"])
            if article != doc.meta["article_id"]:
                continue
            copies = [a for a in self.store.cluster_members(cluster) if a != article] if cluster else []
            kept.append(Document(id=doc.id, content=doc.content, score=doc.score, meta={**doc.meta, "copies": copies}))
            if top_k is not None and len(kept) >= top_k:
                break
        return {"documents": kept}


def add_retrieval(pipeline: Pipeline, store: ArticleStore, embedder: Embedder, candidates: int = 50, fusion: str = "convex") -> None:
    """Add the retrieval components (filters, bm25, dense, fusion, collapse) to ``pipeline``."""
    pipeline.add_component("filters", FilterResolver(store))
    pipeline.add_component("bm25", BM25Retriever(store, top_k=candidates))
    pipeline.add_component("dense", DenseRetriever(store, embedder, top_k=candidates))
    pipeline.add_component("fusion", HybridFusion(mode=fusion))
    pipeline.add_component("collapse", ClusterCollapser(store))
    pipeline.connect("filters.allowed", "bm25.allowed")
    pipeline.connect("filters.allowed", "dense.allowed")
    pipeline.connect("bm25.documents", "fusion.bm25")
    pipeline.connect("dense.documents", "fusion.dense")
    pipeline.connect("fusion.documents", "collapse.documents")


@dataclass(frozen=True)
class Retrieved:
    passages: list[Document]
    query_embedding: list[float]


def retrieve(pipeline: Pipeline, query: str, top_k: int = 5, filters: Filters | None = None) -> Retrieved:
    """The fused, collapsed top passages, with the query embedding the dense side computed."""
    result = pipeline.run({"filters": {"filters": filters}, "bm25": {"query": query}, "dense": {"query": query},
                           "collapse": {"top_k": top_k}}, include_outputs_from={"dense"})
    return Retrieved(result["collapse"]["documents"], result["dense"]["query_embedding"])
