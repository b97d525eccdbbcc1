"""Server-Sent Events for answers: ``/ask/stream`` and the OpenAI endpoint's streaming share them.

Events, in order: ``meta`` (conversation id, mode), then for each sentence of the answer
the ``citation`` events it introduces followed by the ``text`` that uses them, then
``done`` (the same object ``POST /ask`` returns, including what was searched). A failure after
the stream has started arrives as an ``error`` event; a bad request or a missing index
is refused before it starts, with the usual JSON error and status.

Only verified sentences are ever sent: in LLM mode each generated sentence is verified
the moment the next one begins, and only then sent; an extractive answer is complete in
milliseconds and is sent sentence by sentence.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Response, stream_with_context

from ..domain import AnswerSentence, Citation, Filters
from ..errors import ApiError
from ..runtime import Conversation, Engine, Reply
from .errors import error_body
from .serialize import to_json

__all__ = ["answer_events", "event_stream", "live_events", "sse"]

logger = logging.getLogger(__name__)


def sse(event: str, data: Any) -> str:
    """One SSE event, its data as HTML-safe JSON."""
    return f"event: {event}\ndata: {to_json(data)}\n\n"


def answer_events(reply: Reply) -> Iterator[tuple[str, Any]]:
    """The ``citation`` and ``text`` events of a finished answer: text pieces concatenate to exactly the answer."""
    answer = reply.result.answer
    citations = {c.n: c.to_dict() for c in answer.citations}
    pieces = [(f"{s.text} [{s.citations[0]}]", s.citations) for s in answer.sentences if s.supported and s.citations]
    if answer.abstained or " ".join(p for p, _ in pieces) != answer.answer:
        pieces = [(answer.answer, tuple(citations))]
    sent: set[int] = set()
    for i, (text, numbers) in enumerate(pieces):
        for n in numbers:
            if n not in sent and n in citations:
                sent.add(n)
                yield "citation", citations[n]
        yield "text", {"text": text if i == 0 else " " + text}


def live_events(engine: Engine, question: str, conversation: Conversation, *, mode: str | None = None,
                top_k: int | None = None, filters: Filters | None = None, as_of: datetime | None = None) -> Iterator[tuple[str, Any]]:
    """``meta``, then the answer's events as it is produced, then ``done``.

    The answer is worked out on a thread. In LLM mode each generated sentence is sent as soon
    as it is verified; otherwise (or when the LLM's answer is replaced by the extractive
    fallback before any sentence was sent) the finished answer is sent sentence by sentence.
    """
    yield "meta", {"conversation_id": conversation.id, "mode": "llm" if engine.pipeline.uses_llm(mode) else "extractive"}
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    streamed: list[str] = []

    def on_sentence(sentence: AnswerSentence, citations: list[Citation]) -> None:
        for citation in citations:
            events.put(("citation", citation.to_dict()))
        streamed.append(f"{sentence.text} [{sentence.citations[0]}]")
        events.put(("text", {"text": streamed[-1] if len(streamed) == 1 else " " + streamed[-1]}))

    def work() -> None:
        try:
            events.put(("reply", engine.ask(question, conversation, top_k=top_k, filters=filters, mode=mode, as_of=as_of,
                                            on_sentence=on_sentence)))
        except ApiError as exc:
            events.put(("error", error_body(exc.code, exc.message)))
        except Exception:  # the status line has gone: the reader still learns that it failed
            logger.exception("stream failed")
            events.put(("error", error_body("internal_error", "unexpected error; see the server log")))

    threading.Thread(target=work, name="newsdesk-answer", daemon=True).start()
    while True:
        event, data = events.get()
        if event == "reply":
            if not streamed:
                yield from answer_events(data)
            yield "done", data.to_dict()
            return
        yield event, data
        if event == "error":
            return


def event_stream(engine: Engine, body: Iterator[str]) -> Response:
    """An SSE response, refused (503) before it starts if there is no index: the status line cannot change later."""
    engine.pipeline
    return Response(stream_with_context(body), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
