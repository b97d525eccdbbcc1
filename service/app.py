"""The Flask app factory: the only place an app is built. Importing builds nothing."""

from __future__ import annotations

import atexit
import logging
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .api import (
    articles_bp,
    ask_bp,
    health_bp,
    openai_bp,
    spec_bp,
    stream_bp,
    widget_bp,
)
from .config import Settings
from .cors import install_cors
from .engine import Engine
from .errors import ApiError
from .serialize import SafeJSONProvider

logger = logging.getLogger(__name__)

# The service's pages run only its own script and style, talk only to itself, and are never framed.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
API_CSP = "default-src 'none'; frame-ancestors 'none'"
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
               403: "forbidden", 415: "unsupported_media_type", 422: "invalid_field", 503: "index_unavailable"}


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the service: defaults, then ``NEWSDESK_*`` variables, then ``overrides`` (tests)."""
    settings = settings or Settings.from_env(**overrides)
    app = Flask(__name__)
    app.json = SafeJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    engine = Engine(settings)
    app.extensions["newsdesk"] = engine
    atexit.register(engine.close)
    for blueprint in (ask_bp, stream_bp, openai_bp, articles_bp, health_bp, spec_bp, widget_bp):
        app.register_blueprint(blueprint)
    install_cors(app, settings.allowed_origins)

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
        html = response.mimetype == "text/html"
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP if html else API_CSP)
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return app
