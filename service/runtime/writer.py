"""Writes from a serving process (the HTTP write API): the index's writer lock, held only while writing.

The index has one writer at a time (a ``flock`` on ``writer.lock``, see ``index/store/database.py``);
``newsdesk ingest`` holds it for its whole run. A serving process opens the store as a writer for
one write and closes it right after, so the CLI and every worker take turns; a write that cannot
get the lock within ``NEWSDESK_WRITE_LOCK_WAIT_SECONDS`` is refused with :class:`IndexBusy`
(503 with ``Retry-After``). Within a process, writes queue on a lock. The ingest pipeline is built
on the first write and kept, so its models (the embedder, spaCy's tagger) load once per process,
not once per write.

What is written becomes answerable everywhere without a restart: every committed write bumps the
index generation, and each worker's read-only store brings its FAISS index up to the committed
generation before its next search (``index/store/vectorfiles.py``); BM25 and metadata are read from
SQLite, which readers see at once.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from haystack import Pipeline

from newsdesk.index.errors import IndexError_, IndexLocked
from newsdesk.index.ingest import BatchCommitted, IngestReport, ingest_items
from newsdesk.index.pipeline import build_ingest_pipeline
from newsdesk.index.records import RawArticle, Skipped
from newsdesk.index.store import DB_NAME, WriteStore

from ..config import Settings
from ..errors import IndexBusy
from .engine import index_unavailable

__all__ = ["ArchiveWriter"]

_POLL_SECONDS = 0.2


class ArchiveWriter:
    """The writes of one process; see the module doc."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._pipeline: Pipeline | None = None

    @contextlib.contextmanager
    def _writer(self, wait_seconds: float | None) -> Iterator[WriteStore]:
        """The store opened as the writer, for one write. ``wait_seconds``: how long to wait for the lock
        (``None``: as long as it takes, for background jobs)."""
        deadline = None if wait_seconds is None else time.monotonic() + wait_seconds
        seconds = str(max(1, math.ceil(self.settings.write_lock_wait_seconds)))
        retry = {"Retry-After": seconds}
        if not self._lock.acquire(timeout=-1 if deadline is None else max(0.0, deadline - time.monotonic())):
            raise IndexBusy(f"earlier writes to this server are still running; nothing was written, retry in {seconds} s", retry)
        try:
            while True:
                try:
                    store = self.settings.open_store(writer=True)
                    break
                except IndexLocked:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise IndexBusy("another process (a `newsdesk ingest` run) is writing to the index; "
                                        f"nothing was written, retry in {seconds} s", retry) from None
                    time.sleep(_POLL_SECONDS)
                except IndexError_ as exc:
                    raise index_unavailable(exc) from exc  # what failed, never the path (the log has it)
            try:
                yield store
            finally:
                store.close()
        finally:
            self._lock.release()

    def ingest(self, items: Iterable[RawArticle | Skipped], *, total: int | None, wait_seconds: float | None,
               on_commit: Callable[[BatchCommitted], None] | None = None) -> IngestReport:
        """Index ``items`` as ``newsdesk ingest`` would (same checks, batches and report)."""
        with self._writer(wait_seconds) as store:
            options = self.settings.ingest_options()
            if self._pipeline is None:
                self._pipeline = build_ingest_pipeline(store, options)
            return ingest_items(items, store, options, total=total, on_commit=on_commit, pipeline=self._pipeline)

    def delete(self, article_id: str, *, wait_seconds: float | None) -> int | None:
        """Remove one article; the new generation, or ``None`` if there is no such article (nor any index)."""
        if not self.settings.database_url and not (self.settings.data_dir / DB_NAME).exists():
            return None
        with self._writer(wait_seconds) as store:
            if not store.delete(article_id):
                return None
            store.save_vectors()
            return store.generation
