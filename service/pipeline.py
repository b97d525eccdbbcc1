"""The query side as one Haystack ``Pipeline``: retrieve → answer → verify.

    bm25 ─┐
          ├─ fusion ─ collapse ─ extractive ─ llm (optional; falls back) ─ verifier
    dense ┘          (query embedding)

The extractive answer is always computed (it costs milliseconds): it is the answer in
extractive mode and the fallback when the LLM is down or unverifiable in LLM mode.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from haystack import Pipeline

from newsdesk.index.embed import Embedder
from newsdesk.index.store import ArticleStore

from .answer import Answer
from .answer_extractive import ExtractiveAnswerer
from .answer_llm import LLMAnswerer, LLMSettings, OnSentence
from .config import Settings, llm_settings
from .followup import FollowUpResolver, Turn
from .retrieve import Filters, add_retrieval
from .verify import CitationVerifier


@dataclass
class AskResult:
    answer: Answer
    timings: dict[str, float] = field(default_factory=dict)
    query: str = ""  # what was searched: the question, or a follow-up resolved against the conversation


class QueryPipeline:
    """Builds the pipeline once; ``ask`` runs it for one question."""

    def __init__(self, store: ArticleStore, embedder: Embedder, *, candidates: int = 50, fusion: str = "convex",
                 abstain_below: float = 0.35, llm: LLMSettings | None = None) -> None:
        self.store = store
        self.llm_configured = llm is not None
        self.pipeline = Pipeline()
        self.pipeline.add_component("resolve", FollowUpResolver(llm))
        add_retrieval(self.pipeline, store, embedder, candidates, fusion)
        self.pipeline.add_component("extractive", ExtractiveAnswerer(store, abstain_below=abstain_below))
        self.pipeline.add_component("llm", LLMAnswerer(store, embedder, llm))
        self.pipeline.add_component("verifier", CitationVerifier(store))
        self.pipeline.connect("resolve.query", "bm25.query")
        self.pipeline.connect("resolve.query", "dense.query")
        self.pipeline.connect("resolve.question", "extractive.question")
        self.pipeline.connect("resolve.context", "extractive.context")
        self.pipeline.connect("resolve.question", "llm.question")
        self.pipeline.connect("resolve.stories", "filters.stories")
        self.pipeline.connect("collapse.documents", "extractive.passages")
        self.pipeline.connect("dense.query_embedding", "extractive.query_embedding")
        self.pipeline.connect("collapse.documents", "llm.passages")
        self.pipeline.connect("extractive.answer", "llm.fallback")
        self.pipeline.connect("llm.answer", "verifier.answer")
        self.retrieval = Pipeline()  # the same retrieval alone, for search and evaluation
        add_retrieval(self.retrieval, store, embedder, candidates, fusion)

    @classmethod
    def from_settings(cls, store: ArticleStore, embedder: Embedder, settings: Settings, **overrides: Any) -> "QueryPipeline":
        """The pipeline ``settings`` describe (``overrides`` replace single arguments), warmed up."""
        arguments: dict[str, Any] = {"candidates": settings.retrieval_candidates, "fusion": settings.fusion,
                                     "abstain_below": settings.abstain_below, "llm": llm_settings(settings)}
        pipeline = cls(store, embedder, **{**arguments, **overrides})
        pipeline.warm_up()
        return pipeline

    def warm_up(self) -> None:
        self.pipeline.warm_up()
        self.retrieval.warm_up()

    def uses_llm(self, mode: str | None) -> bool:
        """Whether ``mode`` (default: ``llm`` when a server is configured, else ``extractive``) asks the LLM."""
        return (mode or ("llm" if self.llm_configured else "extractive")) == "llm"

    def ask(self, question: str, top_k: int = 5, filters: Filters | None = None, mode: str | None = None,
            history: list[Turn] | None = None, on_sentence: OnSentence | None = None) -> AskResult:
        """Answer in ``mode``. ``history``: the conversation's earlier turns, against which a follow-up is
        resolved. ``on_sentence``: in LLM mode, called with each generated sentence as soon as it is verified."""
        use_llm = self.uses_llm(mode)
        started = time.perf_counter()
        inputs = {"resolve": {"question": question, "history": history or [], "use_llm": use_llm},
                  "filters": {"filters": filters}, "collapse": {"top_k": top_k},
                  "llm": {"use_llm": use_llm, "on_sentence": on_sentence}}
        result = self.pipeline.run(inputs, include_outputs_from={"resolve"})
        if result["verifier"]["answer"].abstained and result["resolve"]["stories"]:
            # The follow-up is not answered by the stories just discussed: look in the whole archive.
            inputs["resolve"]["focus"] = False
            result = self.pipeline.run(inputs, include_outputs_from={"resolve"})
        return AskResult(result["verifier"]["answer"], {"total_ms": round(1000 * (time.perf_counter() - started), 2)},
                         query=result["resolve"]["query"])
