"""Every exception the service raises, in one place.

::

    ConfigError(ValueError)      a NEWSDESK_* setting has a value it cannot take
    LLMUnavailable               the LLM server failed; answerers fall back, readers never see it
    ApiError                     carries its HTTP status; one handler renders {"error": {"code", "message"}}
    ├── BadRequest               400
    ├── Unauthorized             401 (no API key, or not a valid one, where one is needed)
    ├── Forbidden                403 (a valid key whose scope is too low)
    ├── NotFound                 404
    ├── PayloadTooLarge          413
    ├── UnsupportedMediaType     415
    ├── InvalidField             422
    ├── IndexUnavailable         503 (no index yet, or it cannot be opened)
    └── IndexBusy                503 + Retry-After (another process, e.g. `newsdesk ingest`, holds the writer lock)
"""

from __future__ import annotations

__all__ = ["ApiError", "BadRequest", "ConfigError", "Forbidden", "IndexBusy", "IndexUnavailable", "InvalidField", "LLMUnavailable",
           "NotFound", "PayloadTooLarge", "Unauthorized", "UnsupportedMediaType"]


class ConfigError(ValueError):
    """A setting has a value it cannot take; the message names the variable."""


class LLMUnavailable(Exception):
    """The LLM server could not be reached, timed out, or returned nothing usable."""


class ApiError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}  # sent with the error (WWW-Authenticate, Retry-After)


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


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


class IndexBusy(ApiError):
    status, code = 503, "index_busy"
