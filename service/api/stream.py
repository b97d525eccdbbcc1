"""POST /ask/stream: the answer as Server-Sent Events, sentence by sentence.

Events, in order: ``meta`` (conversation id, what was searched, mode), then for each
sentence of the answer the ``citation`` events it introduces followed by the ``text``
that uses them, then ``done`` (the same object ``POST /ask`` returns). A failure after
the stream has started arrives as an ``error`` event; a bad request or a missing index
is refused before it starts, with the usual JSON error and status.

Only verified sentences are ever sent: the answer is checked before its first sentence
leaves the server (an LLM's sentences cannot be trusted until verified).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, request, stream_with_context

from ..engine import Reply
from ..errors import ApiError
from ..serialize import to_json
from ..validate import json_body, parse_ask
from .ask import check_mode

logger = logging.getLogger(__name__)

bp = Blueprint("stream", __name__)


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {to_json(data)}\n\n"


def answer_events(reply: Reply) -> Iterator[tuple[str, Any]]:
    """``(event, data)`` pairs whose ``text`` pieces concatenate to exactly the answer."""
    answer = reply.result.answer
    yield "meta", {"conversation_id": reply.conversation_id, "query": reply.result.query, "mode": answer.mode}
    citations = {c["n"]: c for c in answer.to_dict()["citations"]}
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
    yield "done", reply.to_dict()


@bp.post("/ask/stream")
def ask_stream() -> Response:
    engine = current_app.extensions["newsdesk"]
    req = parse_ask(json_body(request), engine.settings.top_k)
    check_mode(req.mode, engine.settings)
    reply = engine.ask(req.question, top_k=req.top_k, filters=req.filters, mode=req.mode, conversation_id=req.conversation_id)

    def generate() -> Iterator[str]:
        try:
            for event, data in answer_events(reply):
                yield sse(event, data)
        except ApiError as exc:
            yield sse("error", {"error": {"code": exc.code, "message": exc.message}})
        except Exception:  # the status line has gone: the reader still learns that it failed
            logger.exception("stream failed")
            yield sse("error", {"error": {"code": "internal_error", "message": "unexpected error; see the server log"}})

    return Response(stream_with_context(generate()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
