"""The query side as one Haystack ``Pipeline``: retrieve → answer → verify.

    bm25 ─┐
          ├─ fusion ─ collapse ─ answerer (extractive) ─ verifier
    dense ┘         (query embedding) ┘
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from haystack import Pipeline

from newsdesk.index.embed import Embedder
from newsdesk.index.store import ArticleStore

from .answer import Answer
from .answer_extractive import ExtractiveAnswerer
from .retrieve import Filters, add_retrieval
from .verify import CitationVerifier


@dataclass
class AskResult:
    answer: Answer
    timings: dict[str, float] = field(default_factory=dict)


class QueryPipeline:
    """Builds the pipeline once; ``ask`` runs it for one question."""

    def __init__(self, store: ArticleStore, embedder: Embedder, *, candidates: int = 50, fusion: str = "rrf",
                 abstain_below: float = 0.45) -> None:
        self.store = store
        self.pipeline = Pipeline()
        add_retrieval(self.pipeline, store, embedder, candidates, fusion)
        self.retrieval = Pipeline()  # the same retrieval alone, for search and evaluation
        add_retrieval(self.retrieval, store, embedder, candidates, fusion)
        self.pipeline.add_component("answerer", ExtractiveAnswerer(store, abstain_below=abstain_below))
        self.pipeline.connect("collapse.documents", "answerer.passages")
        self.pipeline.connect("dense.query_embedding", "answerer.query_embedding")
        self.pipeline.add_component("verifier", CitationVerifier(store))
        self.pipeline.connect("answerer.answer", "verifier.answer")

    def warm_up(self) -> None:
        self.pipeline.warm_up()

    def ask(self, question: str, top_k: int = 5, filters: Filters | None = None) -> AskResult:
        started = time.perf_counter()
        result = self.pipeline.run({"bm25": {"query": question, "filters": filters},
                                    "dense": {"query": question, "filters": filters},
                                    "collapse": {"top_k": top_k}, "answerer": {"question": question}})
        return AskResult(result["verifier"]["answer"], {"total_ms": 1000 * (time.perf_counter() - started)})
