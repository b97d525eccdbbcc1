"""The long-lived parts of a running service: the index and the query pipeline.

Built on first use (never at import), once per process, and shared by the requests of
that process; :func:`create_app` closes them when the process ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
from datetime import datetime
from dataclasses import dataclass, field
from typing import Any

from newsdesk.index.errors import IndexDamaged, IndexError_, IndexIncompatible, IndexNotBuilt
from newsdesk.index.store import ReadStore

from ..config import Settings
from ..domain import AskResult, Filters, Turn
from ..errors import IndexUnavailable
from ..metrics import ANSWERS
from ..query.llm import OnSentence
from ..query.pipeline import QueryPipeline
from .conversations import ConversationStore

__all__ = ["Conversation", "Engine", "Reply", "index_unavailable"]

logger = logging.getLogger(__name__)


PAGE_CHECK_INLINE_BYTES = 64 * 2**20  # a database up to this size is checked before its first answer (well under 0.1 s)

def index_unavailable(exc: IndexError_) -> IndexUnavailable:
    """What a client is told when the index fails: which part failed and what to do, never a server path.
    The operator's detail (the file, SQLite's own words) goes to the log."""
    if isinstance(exc, IndexNotBuilt):
        return IndexUnavailable("there is no index yet: run `newsdesk ingest` first")
    logger.error("the index is unavailable: %s", exc)
    if isinstance(exc, IndexDamaged):
        return IndexUnavailable("the index database is damaged: restore it from a backup, or rebuild it with "
                                "`newsdesk ingest` into an empty data directory")
    if isinstance(exc, IndexIncompatible):
        return IndexUnavailable(str(exc))  # schema versions and model names, no path
    return IndexUnavailable("the index database cannot be read; the server log says why")


@dataclass(frozen=True)
class Conversation:
    id: str
    history: list[Turn]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Reply:
    """An answer within its conversation: what ``/ask``, the stream and the OpenAI endpoint return."""

    result: AskResult
    conversation_id: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.result.answer.to_dict(), "conversation_id": self.conversation_id, **self.result.context_dict()}


class Engine:
    """The index, the query pipeline and the conversations of one process (see module doc)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._store: ReadStore | None = None
        self._damaged: IndexError_ | None = None  # what the page check behind the first answers found
        self.page_check: threading.Thread | None = None  # that check, while it runs (a large index's first opening)
        self._pipeline: QueryPipeline | None = None
        self.conversations = ConversationStore(settings.data_dir, settings.conversation_ttl_seconds, database_url=settings.database_url,
                                               max_turns=settings.conversation_max_turns, answer_chars=settings.conversation_answer_chars)

    @property
    def store(self) -> ReadStore:
        """The index, opened read-only on first use; 503 while there is none, or once its pages were found damaged."""
        if self._damaged is not None:
            raise index_unavailable(self._damaged)
        if self._store is None:
            with self._lock:
                if self._store is None:
                    try:
                        self._store = self._open_store()
                    except IndexError_ as exc:
                        raise index_unavailable(exc) from exc
        return self._store

    def _open_store(self) -> ReadStore:
        """The index with its pages checked once, so a damaged file is refused (503) rather than half-read. A large
        database is checked behind the first answers (SQLite's check reads the whole file: 2.7 s for 100k passages),
        on a connection of its own; a damage found then takes the index out of service from that moment."""
        store = self.settings.open_store()
        try:
            if store.database_bytes() <= PAGE_CHECK_INLINE_BYTES:
                store.check_pages()
            else:
                self.page_check = threading.Thread(target=self._check_pages_behind, name="newsdesk-page-check", daemon=True)
                self.page_check.start()
        except IndexError_:
            store.close()
            raise
        return store

    def _check_pages_behind(self) -> None:
        """The page check at the lowest CPU priority (this thread only, as Linux schedules threads): it takes what
        loading the model and the vectors and answering leave; at the same priority, two workers' checks held a
        100k-passage server's start from 2.8 s to 3.5 s (docs/benchmarks.md, "Cold start")."""
        with contextlib.suppress(AttributeError, OSError):  # no per-thread priority on this system: full speed
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        try:
            with self.settings.open_store() as checking:
                checking.check_pages()
        except IndexError_ as exc:
            self._damaged = exc
            logger.error("the index failed its page check while serving: %s", exc)

    @property
    def pipeline(self) -> QueryPipeline:
        if self._pipeline is None:
            store = self.store
            with self._lock:
                if self._pipeline is None:
                    try:
                        self._pipeline = QueryPipeline.from_settings(store, self.settings.embedder(store), self.settings)
                    except IndexError_ as exc:
                        raise index_unavailable(exc) from exc
        return self._pipeline

    def conversation(self, conversation_id: str | None, history: list[Turn] | None = None) -> Conversation:
        """The conversation a question belongs to, before it is answered.

        No ``conversation_id`` starts a new conversation; an unknown or expired one starts a new
        one too, under a new id, with a warning (nothing the reader typed is lost). ``history``
        (e.g. the messages of an OpenAI request) is used when the server keeps none.
        """
        self.store  # no index, no conversation: 503 before anything is written beside it
        if conversation_id is not None and self.conversations.exists(conversation_id):
            return Conversation(conversation_id, self.conversations.history(conversation_id))
        warnings = [f"conversation {conversation_id!r} is unknown or expired; this question starts a new one"] if conversation_id else []
        return Conversation(self.conversations.new_id(), history or [], warnings)

    def ask(self, question: str, conversation: Conversation, *, top_k: int | None = None, filters: Filters | None = None,
            mode: str | None = None, on_sentence: OnSentence | None = None, as_of: datetime | None = None) -> Reply:
        """Answer within ``conversation``: its history resolves follow-ups, and the turn is saved to it."""
        try:
            result = self.pipeline.ask(question, top_k=top_k, filters=filters, mode=mode,
                                       history=conversation.history, on_sentence=on_sentence, as_of=as_of)
        except IndexError_ as exc:
            raise index_unavailable(exc) from exc
        answer = result.answer
        ANSWERS.labels(mode=answer.mode, outcome="abstained" if answer.abstained else "answered").inc()
        if conversation.warnings:
            result = dataclasses.replace(result, answer=dataclasses.replace(answer, warnings=conversation.warnings + answer.warnings))
        cited = tuple(dict.fromkeys(c.article_id for c in answer.citations))
        self.conversations.add_turn(conversation.id, Turn(question, answer.answer, cited))
        return Reply(result, conversation.id)

    def close(self) -> None:
        self.conversations.close()
        if self._store is not None:
            self._store.close()
            self._store = None
            self._pipeline = None
