"""POST /ask: a question in, an answer with verified citations out."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from ..context import get_engine
from ..validate import check_mode, json_body, parse_ask

bp = Blueprint("ask", __name__)


@bp.post("/ask")
def ask() -> Response:
    engine = get_engine()
    req = parse_ask(json_body(request), engine.settings.top_k)
    check_mode(req.mode, engine.settings)
    reply = engine.ask(req.question, engine.conversation(req.conversation_id), top_k=req.top_k, filters=req.filters, mode=req.mode,
                       as_of=req.as_of)
    return jsonify(reply.to_dict())
