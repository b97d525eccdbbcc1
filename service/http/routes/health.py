"""GET /healthz (the process answers) and GET /readyz (the index is loaded and searchable).

Ready means there is something to search: an index whose first ingest has not committed a
batch yet (still running, or killed) holds no articles, and is not ready (503).
"""

from __future__ import annotations

import dataclasses

from flask import Blueprint, Response, jsonify

from ...errors import IndexUnavailable
from ..context import get_engine

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    engine = get_engine()
    counts = engine.store.counts()  # raises IndexUnavailable (503) when there is no index
    if not counts.articles:
        raise IndexUnavailable("the index holds no articles yet: run `newsdesk ingest`")
    engine.pipeline  # the model and the vectors are loaded (the pipeline's warm-up), so the first question is fast
    return jsonify({"status": "ready", **dataclasses.asdict(counts)})
