"""POST /ask: a question in, an answer with verified citations out."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from ..context import get_engine
from ..validate import ask_request

bp = Blueprint("ask", __name__)


@bp.post("/ask")
def ask() -> Response:
    engine = get_engine()
    req = ask_request(request, engine.settings)
    reply = engine.ask(req.question, engine.conversation(req.conversation_id), top_k=req.top_k, filters=req.filters, mode=req.mode,
                       as_of=req.as_of)
    return jsonify(reply.to_dict())
