"""POST /ask: a question in, an answer with verified citations out."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ..errors import InvalidField
from ..validate import json_body, parse_ask

bp = Blueprint("ask", __name__)


@bp.post("/ask")
def ask():
    engine = current_app.extensions["newsdesk"]
    req = parse_ask(json_body(request), engine.settings.top_k)
    if req.mode == "llm" and not engine.settings.llm_base_url:
        raise InvalidField("'mode' llm is not available: this service has no LLM configured (NEWSDESK_LLM_BASE_URL)")
    result = engine.pipeline.ask(req.question, top_k=req.top_k, filters=req.filters, mode=req.mode)
    return jsonify({**result.answer.to_dict(), "timings": result.timings})
