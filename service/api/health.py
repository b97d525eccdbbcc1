"""GET /healthz (the process answers) and GET /readyz (the index is loaded and searchable)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    engine = current_app.extensions["newsdesk"]
    counts = engine.store.counts()  # raises IndexUnavailable (503) when there is no index
    engine.pipeline  # the model and the vectors are loaded, so the first question is fast
    return jsonify({"status": "ready", **counts})
