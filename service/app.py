"""The Flask app factory: the only place an app is built. Importing builds nothing."""

from __future__ import annotations

import atexit
import logging
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .api import articles_bp, ask_bp, health_bp, spec_bp
from .config import Settings
from .engine import Engine
from .errors import ApiError

logger = logging.getLogger(__name__)

_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
               415: "unsupported_media_type", 422: "invalid_field", 503: "index_unavailable"}


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the service: defaults, then ``NEWSDESK_*`` variables, then ``overrides`` (tests)."""
    settings = settings or Settings.from_env(**overrides)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    engine = Engine(settings)
    app.extensions["newsdesk"] = engine
    atexit.register(engine.close)
    for blueprint in (ask_bp, articles_bp, health_bp, spec_bp):
        app.register_blueprint(blueprint)

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return jsonify({"error": {"code": exc.code, "message": exc.message}}), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        message = exc.description or exc.name
        if isinstance(exc, RequestEntityTooLarge):
            message = f"the body is larger than {settings.max_request_bytes} bytes"
        return jsonify({"error": {"code": _HTTP_CODES.get(status, exc.name.lower().replace(" ", "_")), "message": message}}), status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        logger.exception("unexpected error")
        return jsonify({"error": {"code": "internal_error", "message": "unexpected error; see the server log"}}), 500

    @app.after_request
    def headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    return app
