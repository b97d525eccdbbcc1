"""POST /ask/stream: the answer as Server-Sent Events, sentence by sentence (events: :mod:`..sse`)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from ..context import get_engine
from ..sse import event_stream, live_events, sse
from ..validate import ask_request

bp = Blueprint("stream", __name__)


@bp.post("/ask/stream")
def ask_stream() -> Response:
    engine = get_engine()
    req = ask_request(request, engine.settings)
    events = live_events(engine, req.question, engine.conversation(req.conversation_id), mode=req.mode, top_k=req.top_k,
                         filters=req.filters, as_of=req.as_of)
    return event_stream(engine, (sse(e, d) for e, d in events))
