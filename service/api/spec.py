"""GET /openapi.json."""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..openapi import spec

bp = Blueprint("spec", __name__)


@bp.get("/openapi.json")
def openapi():
    return jsonify(spec())
