"""The dense retriever embeds a query with the model its index was built with, or refuses to run."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsdesk.index.embed import Embedder
from newsdesk.index.errors import IndexIncompatible
from newsdesk.index.store import ArticleStore
from newsdesk.service.query.retrievers import DenseRetriever

from tests.conftest import DEFAULTS


def test_query_vectors_of_another_precision_are_refused(seed_index: Path) -> None:
    with ArticleStore(seed_index, index_type=DEFAULTS.index_type, vector_storage=DEFAULTS.vector_storage) as store:
        other = "fp32" if DEFAULTS.embedder(store).precision == "int8" else "int8"
        with pytest.raises(IndexIncompatible, match="cannot be embedded"):
            DenseRetriever(store, Embedder(precision=other, cache_dir=DEFAULTS.model_cache_dir.expanduser()), top_k=5)
        retriever = DenseRetriever(store, DEFAULTS.embedder(store), top_k=5)
        assert retriever.run("Ukraine talks")["passages"]
