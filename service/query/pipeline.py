"""The query side as one Haystack ``Pipeline``, wired here and nowhere else::

    resolve ─ filters ─┬─ bm25 ──┐
     (follow-up)       └─ dense ─┴─ fusion ─┬─ collapse ─ extractive ─ llm (optional; falls back) ─ verifier ─ sources
                         (query embedding) ─┼─────────────────┘                                                   │
                                            └─ stories (collapse without top_k: every story found) ───────────────┘

A question's path: :mod:`.followup` resolves it against the conversation; :mod:`.filters`
turns filters and a follow-up's stories into allowed passages; :mod:`.retrievers` find
passages by BM25 and by meaning; :mod:`.fusion` ranks them together; :mod:`.collapse`
keeps one copy per story; :mod:`.extractive` answers with the archive's own sentences
(always: it is the answer offline and the fallback in LLM mode); :mod:`.llm` generates
and verifies when asked; :mod:`.verify` re-reads every quote from the stored original;
:mod:`.sources` lists the best distinct stories found beside the answer (their quotes verified too).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import faiss
import numpy as np
import threadpoolctl
from haystack import Pipeline
from haystack.core.errors import PipelineRuntimeError

from newsdesk.index.embed import Embedder
from newsdesk.index.errors import IndexError_
from newsdesk.index.store import ReadStore

from ..config import LLMSettings, Settings
from ..domain import AskResult, Filters, Passage, Passages, Turn
from .collapse import ClusterCollapser
from .extractive import ExtractiveAnswerer
from .filters import FilterResolver
from .followup import FollowUpResolver
from .fusion import HybridFusion
from .llm import LLMAnswerer, OnSentence
from .retrievers import BM25Retriever, DenseRetriever
from .scoring import default_model
from .sources import SourceLister
from .verify import CitationVerifier

__all__ = ["QueryPipeline", "Retrieved", "add_retrieval", "retrieve"]


def add_retrieval(pipeline: Pipeline, store: ReadStore, embedder: Embedder, candidates: int, fusion: str) -> None:
    """Add the retrieval components (filters, bm25, dense, fusion, collapse) to ``pipeline``; feed it the
    ``query`` and ``question`` through ``filters``."""
    pipeline.add_component("filters", FilterResolver(store))
    pipeline.add_component("bm25", BM25Retriever(store, top_k=candidates))
    pipeline.add_component("dense", DenseRetriever(store, embedder, top_k=candidates))
    pipeline.add_component("fusion", HybridFusion(mode=fusion))
    pipeline.add_component("collapse", ClusterCollapser(store))
    pipeline.connect("filters.query", "bm25.query")
    pipeline.connect("filters.query", "dense.query")
    pipeline.connect("filters.allowed", "bm25.allowed")
    pipeline.connect("filters.allowed", "dense.allowed")
    pipeline.connect("bm25.passages", "fusion.bm25")
    pipeline.connect("dense.passages", "fusion.dense")
    pipeline.connect("fusion.passages", "collapse.passages")


def _run(pipeline: Pipeline, inputs: dict[str, Any], outputs: set[str]) -> dict[str, Any]:
    """``pipeline.run``, with an index failure in a component raised as itself rather than wrapped by Haystack,
    so that callers can tell the index failing (the service's 503) from a bug."""
    try:
        return pipeline.run(inputs, include_outputs_from=outputs)
    except PipelineRuntimeError as exc:
        if isinstance(exc.__cause__, IndexError_):
            raise exc.__cause__
        raise


@dataclass(frozen=True)
class Retrieved:
    passages: Passages
    query_embedding: np.ndarray


def retrieve(pipeline: Pipeline, query: str, top_k: int, filters: Filters | None = None) -> Retrieved:
    """The fused, collapsed top passages of a retrieval pipeline, with the query embedding the dense side computed."""
    result = _run(pipeline, {"filters": {"filters": filters, "query": query, "question": query}, "collapse": {"top_k": top_k}},
                  {"dense"})
    return Retrieved(result["collapse"]["passages"], result["dense"]["query_embedding"])


class QueryPipeline:
    """Builds the pipeline once; ``ask`` runs it for one question."""

    def __init__(self, store: ReadStore, embedder: Embedder, *, candidates: int, fusion: str, abstain_below: float,
                 top_k: int, llm: LLMSettings | None, followup_context_chars: int) -> None:
        self.store = store
        self.top_k = top_k
        self.llm_configured = llm is not None
        self.pipeline = Pipeline()
        self.pipeline.add_component("resolve", FollowUpResolver(llm, followup_context_chars))
        add_retrieval(self.pipeline, store, embedder, candidates, fusion)
        self.pipeline.add_component("extractive", ExtractiveAnswerer(store, abstain_below=abstain_below, model=default_model()))
        self.pipeline.add_component("llm", LLMAnswerer(store, embedder, llm))
        self.pipeline.add_component("verifier", CitationVerifier(store))
        self.pipeline.add_component("stories", ClusterCollapser(store))  # every story found (no top_k), for the sources
        self.pipeline.add_component("sources", SourceLister(store))
        self.pipeline.connect("resolve.query", "filters.query")
        self.pipeline.connect("resolve.question", "filters.question")
        self.pipeline.connect("filters.question", "extractive.question")
        self.pipeline.connect("resolve.context", "extractive.context")
        self.pipeline.connect("filters.timeframe", "extractive.timeframe")
        self.pipeline.connect("resolve.question", "llm.question")
        self.pipeline.connect("resolve.stories", "filters.stories")
        self.pipeline.connect("collapse.passages", "extractive.passages")
        self.pipeline.connect("dense.query_embedding", "extractive.query_embedding")
        self.pipeline.connect("collapse.passages", "llm.passages")
        self.pipeline.connect("extractive.answer", "llm.fallback")
        self.pipeline.connect("llm.answer", "verifier.answer")
        self.pipeline.connect("verifier.answer", "sources.answer")
        self.pipeline.connect("fusion.passages", "stories.passages")
        self.pipeline.connect("stories.passages", "sources.passages")
        self.pipeline.connect("dense.query_embedding", "sources.query_embedding")
        self.retrieval = Pipeline()  # the same retrieval alone, for search and evaluation
        add_retrieval(self.retrieval, store, embedder, candidates, fusion)

    @classmethod
    def from_settings(cls, store: ReadStore, embedder: Embedder, settings: Settings, **overrides: Any) -> QueryPipeline:
        """The pipeline ``settings`` describe (``overrides`` replace single arguments), warmed up; FAISS in this
        process searches with ``settings.search_threads`` (OpenMP's thread count is per process), and NumPy's BLAS
        runs on the calling thread: its products here are small (a passage's sentences against a question), and
        OpenBLAS's pool (a thread per core) spun after each of them, about 3 ms of CPU a question (100k passages:
        16.2 ms of CPU for 13.1 ms of wall time, 13.4 for 13.4 without the pool; docs/benchmarks.md)."""
        faiss.omp_set_num_threads(settings.search_threads)
        threadpoolctl.threadpool_limits(limits=1, user_api="blas")
        arguments: dict[str, Any] = {"candidates": settings.retrieval_candidates, "fusion": settings.fusion,
                                     "abstain_below": settings.abstain_below, "top_k": settings.top_k, "llm": settings.llm,
                                     "followup_context_chars": settings.followup_context_chars}
        pipeline = cls(store, embedder, **{**arguments, **overrides})
        pipeline.warm_up()
        return pipeline

    def warm_up(self) -> None:
        self.pipeline.warm_up()
        self.retrieval.warm_up()

    def uses_llm(self, mode: str | None) -> bool:
        """Whether ``mode`` (default: ``llm`` when a server is configured, else ``extractive``) asks the LLM."""
        return (mode or ("llm" if self.llm_configured else "extractive")) == "llm"

    def ask(self, question: str, top_k: int | None = None, filters: Filters | None = None, mode: str | None = None,
            history: list[Turn] | None = None, on_sentence: OnSentence | None = None, as_of: datetime | None = None) -> AskResult:
        """Answer in ``mode`` from the ``top_k`` best passages (default: the pipeline's). ``history``: the
        conversation's earlier turns, against which a follow-up is resolved. ``on_sentence``: in LLM mode,
        called with each generated sentence as soon as it is verified. ``as_of``: when the question is asked
        (default: now); nothing published later is used, and "last week" means the week before it."""
        use_llm = self.uses_llm(mode)
        started = time.perf_counter()
        as_of = as_of or datetime.now(timezone.utc)
        inputs = {"resolve": {"question": question, "history": history or [], "use_llm": use_llm},
                  "filters": {"filters": filters, "as_of": as_of}, "collapse": {"top_k": top_k or self.top_k},
                  "extractive": {"as_of": as_of},
                  "llm": {"use_llm": use_llm, "on_sentence": on_sentence}}
        outputs = {"resolve", "filters"}
        result = _run(self.pipeline, inputs, outputs)
        if result["sources"]["answer"].abstained and result["resolve"]["stories"]:
            # The follow-up is not answered by the stories just discussed: look in the whole archive.
            inputs["resolve"]["focus"] = False
            result = _run(self.pipeline, inputs, outputs)
        return AskResult(result["sources"]["answer"], {"total_ms": round(1000 * (time.perf_counter() - started), 2)},
                         query=result["resolve"]["query"], as_of=as_of, timeframe=result["filters"]["timeframe"])
