"""Query-side fixtures: passages built directly (no store) and a warmed retrieval over the seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsdesk.index.embed import Embedder
from newsdesk.index.records import StoredPassage
from newsdesk.index.store import ArticleStore
from newsdesk.service.domain import Passage
from newsdesk.service.query import QueryPipeline

from tests.conftest import DEFAULTS


def stored(chunk_id: str, article_id: str | None = None, cluster_id: str | None = None, rowid: int = 1) -> StoredPassage:
    """A stored passage with made-up text: enough for components that rank and group."""
    article = article_id or f"a-{chunk_id}"
    return StoredPassage(rowid=rowid, chunk_id=chunk_id, article_id=article, seq=0, start=0, end=10, text=f"text of {chunk_id}",
                         first_sentence=0, last_sentence=0, n_tokens=3, title=None, publisher=None, published_at=None, url=None,
                         cluster_id=cluster_id or article)


def hit(chunk_id: str, score: float, retriever: str, rank: int, **kwargs: object) -> Passage:
    return Passage(stored(chunk_id, **kwargs), score=score, **{f"{retriever}_score": score, f"{retriever}_rank": rank})


@pytest.fixture(scope="module")
def seed_pipeline(seed_index: Path, embedder: Embedder) -> QueryPipeline:
    store = ArticleStore(seed_index, index_type=DEFAULTS.index_type, vector_storage=DEFAULTS.vector_storage)
    return QueryPipeline.from_settings(store, embedder, DEFAULTS, llm=None)
