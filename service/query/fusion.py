"""One ranking from the BM25 and dense lists, keeping both retrievers' scores on each passage."""

from __future__ import annotations

import dataclasses
from typing import Any

from haystack import component

from ..domain import Passage, Passages

__all__ = ["CONVEX_BM25_WEIGHT", "FUSION_MODES", "RRF_K", "HybridFusion"]

FUSION_MODES = ("rrf", "convex")
RRF_K = 60  # the constant of Cormack et al. (2009); Haystack's DocumentJoiner uses the same
CONVEX_BM25_WEIGHT = 0.4  # measured best on XQuAD and SciFact (docs/benchmarks.md)


@component
class HybridFusion:
    """Fuses the BM25 and dense lists into one ranking.

    ``rrf``: sum of 1 / (60 + rank). ``convex``: 0.4 x BM25 + 0.6 x dense, each min-max
    scaled over its own list (a passage missing from a list scores 0 there; a list whose
    scores are all equal, a single hit say, scores 1).
    """

    def __init__(self, mode: str) -> None:
        if mode not in FUSION_MODES:
            raise ValueError(f"unknown fusion mode {mode!r}; choose one of {', '.join(FUSION_MODES)}")
        self.mode = mode

    @component.output_types(passages=Passages)
    def run(self, bm25: Passages, dense: Passages) -> dict[str, Any]:
        merged: dict[str, Passage] = {}
        for passages in (bm25, dense):
            for passage in passages:
                known = merged.get(passage.chunk_id)
                merged[passage.chunk_id] = known.merged(passage) if known else passage
        scores = dict.fromkeys(merged, 0.0)
        if self.mode == "rrf":
            for passages in (bm25, dense):
                for rank, passage in enumerate(passages, start=1):
                    scores[passage.chunk_id] += 1.0 / (RRF_K + rank)
        else:
            for passages, weight in ((bm25, CONVEX_BM25_WEIGHT), (dense, 1.0 - CONVEX_BM25_WEIGHT)):
                if not passages:
                    continue
                values = [p.score for p in passages]
                low, span = min(values), max(values) - min(values)
                for passage in passages:  # a list of equals (one hit, say) holds only its best: 1
                    scores[passage.chunk_id] += weight * ((passage.score - low) / span if span else 1.0)
        ranked = sorted(merged, key=lambda i: -scores[i])
        return {"passages": Passages(dataclasses.replace(merged[i], score=scores[i]) for i in ranked)}
