"""CORS for the embedded widget: only the configured origins may call the API from a browser.

A request from an allowed origin gets ``Access-Control-Allow-Origin`` naming it (never
``*``); a preflight (``OPTIONS`` with ``Access-Control-Request-Method``) from an allowed
origin is answered 204 with the methods and headers the API uses; from any other origin
it is answered 403 with a JSON error, so the browser refuses the call. The service's own
pages are same-origin and need none of this.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

from .errors import error_body

__all__ = ["ALLOWED_HEADERS", "ALLOWED_METHODS", "install_cors"]

ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Content-Type"


def install_cors(app: Flask, origins: tuple[str, ...]) -> None:
    allowed = frozenset(origins)

    @app.before_request
    def preflight() -> Response | tuple[Response, int] | None:
        if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
            return None
        origin = request.headers.get("Origin", "")
        if origin not in allowed:
            return jsonify(error_body("origin_not_allowed", f"origin {origin or '(none)'!r} may not call this API; "
                                                            "allowed origins are set by NEWSDESK_CORS_ORIGINS")), 403
        response = app.make_default_options_response()
        response.status_code = 204
        response.headers.update({"Access-Control-Allow-Methods": ALLOWED_METHODS,
                                 "Access-Control-Allow-Headers": ALLOWED_HEADERS, "Access-Control-Max-Age": "600"})
        return response

    @app.after_request
    def allow_origin(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin and origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers.add("Vary", "Origin")
        return response
