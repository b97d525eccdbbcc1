"""GET /openapi.json."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from ..openapi import spec

bp = Blueprint("spec", __name__)


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(spec())
