"""The long-lived parts of a running service: the index and the query pipeline.

Built on first use (never at import), once per process, and shared by the requests of
that process; :func:`create_app` closes them when the process ends.
"""

from __future__ import annotations

import threading

from newsdesk.index.embed import MODEL_NAME, Embedder
from newsdesk.index.errors import IndexError_
from newsdesk.index.store import ArticleStore

from .config import Settings
from .errors import IndexUnavailable
from .pipeline import QueryPipeline


class Engine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._store: ArticleStore | None = None
        self._pipeline: QueryPipeline | None = None
        self._embedder = Embedder(batch_size=settings.embed_batch_size)

    @property
    def store(self) -> ArticleStore:
        """The index, opened read-only on first use; 503 while there is none."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    try:
                        self._store = ArticleStore(self.settings.data_dir, index_type=self.settings.index_type, model_name=MODEL_NAME)
                    except IndexError_ as exc:
                        raise IndexUnavailable(str(exc)) from exc
        return self._store

    @property
    def pipeline(self) -> QueryPipeline:
        if self._pipeline is None:
            store = self.store
            with self._lock:
                if self._pipeline is None:
                    self._pipeline = QueryPipeline.from_settings(store, self._embedder, self.settings)
        return self._pipeline

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
            self._pipeline = None
