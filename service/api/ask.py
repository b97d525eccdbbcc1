"""POST /ask: a question in, an answer with verified citations out."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ..config import Settings
from ..errors import InvalidField
from ..validate import json_body, parse_ask

bp = Blueprint("ask", __name__)


def check_mode(mode: str | None, settings: Settings) -> None:
    if mode == "llm" and not settings.llm_base_url:
        raise InvalidField("'mode' llm is not available: this service has no LLM configured (NEWSDESK_LLM_BASE_URL)")


@bp.post("/ask")
def ask():
    engine = current_app.extensions["newsdesk"]
    req = parse_ask(json_body(request), engine.settings.top_k)
    check_mode(req.mode, engine.settings)
    reply = engine.ask(req.question, engine.conversation(req.conversation_id), top_k=req.top_k, filters=req.filters, mode=req.mode)
    return jsonify(reply.to_dict())
