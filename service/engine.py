"""The long-lived parts of a running service: the index and the query pipeline.

Built on first use (never at import), once per process, and shared by the requests of
that process; :func:`create_app` closes them when the process ends.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

from newsdesk.index.embed import MODEL_NAME, Embedder
from newsdesk.index.errors import IndexError_
from newsdesk.index.store import ArticleStore

from .config import Settings
from .conversations import ConversationStore
from .errors import IndexUnavailable
from .followup import Turn
from .pipeline import AskResult, QueryPipeline
from .retrieve import Filters


@dataclass(frozen=True)
class Reply:
    """An answer within its conversation: what ``/ask``, the stream and the OpenAI endpoint return."""

    result: AskResult
    conversation_id: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.result.answer.to_dict(), "conversation_id": self.conversation_id, "query": self.result.query,
                "timings": self.result.timings}


class Engine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._store: ArticleStore | None = None
        self._pipeline: QueryPipeline | None = None
        self._embedder = Embedder(batch_size=settings.embed_batch_size)
        self.conversations = ConversationStore(settings.data_dir, settings.conversation_ttl_seconds)

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

    def ask(self, question: str, *, top_k: int | None = None, filters: Filters | None = None, mode: str | None = None,
            conversation_id: str | None = None, history: list[Turn] | None = None) -> Reply:
        """Answer within a conversation: its history resolves follow-ups, and the turn is saved to it.

        No ``conversation_id`` starts a new conversation; an unknown or expired one starts a new
        conversation too, under a new id, with a warning (nothing the reader typed is lost).
        ``history`` (e.g. the messages of an OpenAI request) is used when the server keeps none.
        """
        warnings = []
        if conversation_id is not None and not self.conversations.exists(conversation_id):
            warnings.append(f"conversation {conversation_id!r} is unknown or expired; this question starts a new one")
            conversation_id = None
        if conversation_id is not None:
            history = self.conversations.history(conversation_id)
        conversation_id = conversation_id or self.conversations.new_id()
        result = self.pipeline.ask(question, top_k=top_k or self.settings.top_k, filters=filters, mode=mode, history=history)
        answer = result.answer
        if warnings:
            result = dataclasses.replace(result, answer=dataclasses.replace(answer, warnings=warnings + answer.warnings))
        cited = tuple(dict.fromkeys(c.article_id for c in answer.citations))
        self.conversations.add_turn(conversation_id, Turn(question, result.query, answer.answer, cited))
        return Reply(result, conversation_id)

    def close(self) -> None:
        self.conversations.close()
        if self._store is not None:
            self._store.close()
            self._store = None
            self._pipeline = None
