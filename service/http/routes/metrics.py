"""GET /metrics: the Prometheus metrics of every worker, and the index's size (names: docs/api.md, Operations)."""

from __future__ import annotations

from flask import Blueprint, Response

from ...metrics import CONTENT_TYPE, exposition
from ..context import get_engine

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    engine = get_engine()
    return Response(exposition(lambda: engine.store.counts()), content_type=CONTENT_TYPE)
