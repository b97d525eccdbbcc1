"""One error shape for every failure: ``{"error": {"code", "message"}}`` with the right status.

:class:`~newsdesk.service.errors.ApiError` subclasses carry their status; HTTP errors
Flask raises itself (404 route, 405, 413 body) get the same shape and keep their headers
(405's ``Allow``); the index failing underneath is 503 naming what failed (the log has the
details: no server path reaches a client); anything unexpected is logged and answered 500
without details.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from newsdesk.index.errors import IndexError_

from ..errors import ApiError
from ..runtime.engine import index_unavailable

__all__ = ["error_body", "install_error_handlers"]

logger = logging.getLogger(__name__)

_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
               403: "forbidden", 415: "unsupported_media_type", 422: "invalid_field", 503: "index_unavailable"}


def error_body(code: str, message: str) -> dict[str, Any]:
    """The JSON body of every error response and every stream's ``error`` event."""
    return {"error": {"code": code, "message": message}}


def install_error_handlers(app: Flask, max_request_bytes: int) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> tuple[Response, int, dict[str, str]]:
        return jsonify(error_body(exc.code, exc.message)), exc.status, exc.headers

    @app.errorhandler(IndexError_)
    def index_error(exc: IndexError_) -> tuple[Response, int, dict[str, str]]:
        return api_error(index_unavailable(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int, dict[str, str]]:
        status = exc.code or 500
        message = exc.description or exc.name
        if isinstance(exc, RequestEntityTooLarge):
            message = f"the body is larger than {max_request_bytes} bytes"
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}  # e.g. 405's Allow
        return jsonify(error_body(_HTTP_CODES.get(status, exc.name.lower().replace(" ", "_")), message)), status, headers

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        logger.exception("unexpected error")
        return jsonify(error_body("internal_error", "unexpected error; see the server log")), 500
