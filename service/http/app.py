"""The Flask app factory: the only place an app is built. Importing builds nothing."""

from __future__ import annotations

import atexit
from typing import Any

from flask import Flask, Response

from ..config import Settings
from ..runtime.engine import Engine
from .auth import install_auth
from .context import EXTENSION
from .cors import install_cors
from .errors import install_error_handlers
from .limits import install_rate_limits
from .observability import install_observability
from .routes import articles_bp, ask_bp, health_bp, jobs_bp, metrics_bp, openai_bp, spec_bp, stream_bp, widget_bp
from .serialize import SafeJSONProvider

__all__ = ["API_CSP", "PAGE_CSP", "create_app"]

# The service's pages run only its own script and style, talk only to itself, and are never framed.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the service: defaults, then ``NEWSDESK_*`` variables, then ``overrides`` (tests)."""
    settings = settings or Settings.from_env(**overrides)
    app = Flask(__name__, static_folder=None)  # the widget's files have their own routes (routes/widget.py)
    app.json = SafeJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    engine = Engine(settings)
    app.extensions[EXTENSION] = engine
    atexit.register(engine.close)  # a gunicorn worker's engine lives as long as the worker
    for blueprint in (ask_bp, stream_bp, openai_bp, articles_bp, jobs_bp, health_bp, metrics_bp, spec_bp, widget_bp):
        app.register_blueprint(blueprint)
    install_cors(app, settings.allowed_origins)
    install_error_handlers(app, settings.max_request_bytes)
    install_observability(app, settings)
    install_rate_limits(app, settings)  # before the key check: refused requests count too
    install_auth(app, settings)

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        html = response.mimetype == "text/html"
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP if html else API_CSP)
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return app
