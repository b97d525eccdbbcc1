"""The service's errors. Each carries its HTTP status; one handler turns any of them, and
any HTTP error Flask raises itself, into ``{"error": {"code", "message"}}``."""

from __future__ import annotations


class ApiError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class NotFound(ApiError):
    status, code = 404, "not_found"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class InvalidField(ApiError):
    status, code = 422, "invalid_field"


class IndexUnavailable(ApiError):
    status, code = 503, "index_unavailable"
