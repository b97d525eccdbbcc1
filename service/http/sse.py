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

import contextvars
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from typing import Any

from flask import Response, stream_with_context

from ..domain import AnswerPart, AnswerSentence, Citation, Filters
from ..errors import ApiError
from ..runtime.engine import Conversation, Engine, Reply
from .errors import error_body
from .serialize import to_json

__all__ = ["answer_events", "event_stream", "live_events", "sse"]

logger = logging.getLogger(__name__)


def sse(event: str, data: Any) -> str:
    """One SSE event, its data as HTML-safe JSON."""
    return f"event: {event}\ndata: {to_json(data)}\n\n"


def _text_event(parts: list[AnswerPart]) -> dict[str, Any]:
    """A ``text`` event: the text, and its ``parts``, where the answer's own markers stand apart from quoted text."""
    return {"text": "".join(p.text for p in parts), "parts": [asdict(p) for p in parts]}


def answer_events(reply: Reply) -> Iterator[tuple[str, Any]]:
    """The ``citation`` and ``text`` events of a finished answer, a text event up to each marker: text pieces
    concatenate to exactly the answer."""
    answer = reply.result.answer
    citations = {c.n: c.to_dict() for c in answer.citations}
    pieces: list[list[AnswerPart]] = [[]]
    for part in answer.parts():
        pieces[-1].append(part)
        if part.n is not None:
            pieces.append([])
    sent: set[int] = set()
    for piece in (p for p in pieces if p):
        for part in piece:
            if part.n in citations and part.n not in sent:
                sent.add(part.n)
                yield "citation", citations[part.n]
        yield "text", _text_event(piece)


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
        event = _text_event(sentence.parts(first=not streamed))
        streamed.append(event["text"])
        events.put(("text", event))

    def work() -> None:
        try:
            events.put(("reply", engine.ask(question, conversation, top_k=top_k, filters=filters, mode=mode, as_of=as_of,
                                            on_sentence=on_sentence)))
        except ApiError as exc:
            events.put(("error", error_body(exc.code, exc.message)))
        except Exception:  # the status line has gone: the reader still learns that it failed
            logger.exception("stream failed")
            events.put(("error", error_body("internal_error", "unexpected error; see the server log")))

    # In the request's context, so what the answer logs carries the request id.
    threading.Thread(target=contextvars.copy_context().run, args=(work,), name="newsdesk-answer", daemon=True).start()
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
