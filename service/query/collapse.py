"""One article per near-duplicate cluster: wire copies of one story are not five sources."""

from __future__ import annotations

import dataclasses
from typing import Any

from haystack import component

from newsdesk.index.store import ReadStore

from ..domain import Passages

__all__ = ["ClusterCollapser"]


@component
class ClusterCollapser:
    """Keeps one article per near-duplicate cluster: the best-ranked copy, listing the others."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store

    @component.output_types(passages=Passages)
    def run(self, passages: Passages, top_k: int | None = None) -> dict[str, Any]:
        """:returns: at most ``top_k`` passages, one article per cluster, each with its ``copies``."""
        chosen: dict[str, str] = {}
        kept = []
        for passage in passages:
            cluster = passage.stored.cluster_id
            if chosen.setdefault(cluster, passage.article_id) != passage.article_id:
                continue
            kept.append(passage)
            if top_k is not None and len(kept) >= top_k:
                break
        members = self.store.clusters(p.stored.cluster_id for p in kept if p.stored.cluster_id)
        copies = {p.chunk_id: tuple(a for a in members.get(p.stored.cluster_id, []) if a != p.article_id) for p in kept}
        return {"passages": Passages(dataclasses.replace(p, copies=copies[p.chunk_id]) if copies[p.chunk_id] != p.copies else p
                                     for p in kept)}
