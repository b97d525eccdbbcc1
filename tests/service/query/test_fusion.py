"""HybridFusion: one ranking from BM25 and dense lists, each passage keeping both retrievers' scores."""

from __future__ import annotations

import pytest

from newsdesk.service.query.fusion import CONVEX_BM25_WEIGHT, RRF_K, HybridFusion

from tests.service.query.conftest import hit


def test_convex_fusion_min_max_scales_each_list() -> None:
    bm25 = [hit("a", 12.0, "bm25", 1), hit("b", 6.0, "bm25", 2), hit("c", 2.0, "bm25", 3)]
    dense = [hit("c", 0.9, "dense", 1), hit("a", 0.5, "dense", 2), hit("d", 0.1, "dense", 3)]
    fused = HybridFusion("convex").run(bm25, dense)["passages"]
    scores = {p.chunk_id: p.score for p in fused}
    w = CONVEX_BM25_WEIGHT
    assert scores["a"] == pytest.approx(w * 1.0 + (1 - w) * 0.5)
    assert scores["b"] == pytest.approx(w * 0.4)  # missing from the dense list: 0 there
    assert scores["c"] == pytest.approx(w * 0.0 + (1 - w) * 1.0)
    assert scores["d"] == pytest.approx(0.0)
    assert [p.chunk_id for p in fused] == sorted(scores, key=lambda k: -scores[k])


def test_a_single_hit_is_the_best_of_its_list() -> None:
    # One passage found (a one-article archive, a rare word): it is its list's best, not its worst.
    (only,) = HybridFusion("convex").run([hit("a", 3.0, "bm25", 1)], [hit("a", 0.7, "dense", 1)])["passages"]
    assert only.score == pytest.approx(1.0)


def test_a_passage_found_by_both_keeps_both_scores_and_ranks() -> None:
    fused = HybridFusion("convex").run([hit("a", 3.0, "bm25", 1)], [hit("a", 0.7, "dense", 4)])["passages"]
    (a,) = fused
    assert (a.bm25_score, a.bm25_rank, a.dense_score, a.dense_rank) == (3.0, 1, 0.7, 4)


def test_rrf_sums_reciprocal_ranks() -> None:
    fused = HybridFusion("rrf").run([hit("a", 9.0, "bm25", 1), hit("b", 1.0, "bm25", 2)],
                                    [hit("b", 0.9, "dense", 1)])["passages"]
    scores = {p.chunk_id: p.score for p in fused}
    assert scores == pytest.approx({"a": 1 / (RRF_K + 1), "b": 1 / (RRF_K + 2) + 1 / (RRF_K + 1)})
    assert fused[0].chunk_id == "b"


def test_empty_lists_fuse_to_nothing_and_one_list_alone_still_ranks() -> None:
    assert HybridFusion("convex").run([], [])["passages"] == []
    only = HybridFusion("convex").run([], [hit("x", 0.3, "dense", 1), hit("y", 0.2, "dense", 2)])["passages"]
    assert [p.chunk_id for p in only] == ["x", "y"]


def test_unknown_mode_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="rrf, convex"):
        HybridFusion("sum")
