"""Rate limits on every endpoint (Flask-Limiter), per API key and per client address.

A request that carries a valid API key is counted against that key (``NEWSDESK_RATE_LIMIT_PER_KEY``),
any other against its client address (``NEWSDESK_RATE_LIMIT_PER_ADDRESS``): all endpoints together,
in a moving window. ``POST`` and ``DELETE /articles`` also count against ``NEWSDESK_RATE_LIMIT_WRITES``.
Beyond a limit: 429 ``rate_limited`` in the one error shape, with ``Retry-After`` (seconds until a
request would be allowed again). Every limited response carries ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (epoch seconds) for the tightest limit that applied.

Counts live in ``NEWSDESK_RATE_LIMIT_STORAGE``: ``memory://`` by default, one count per worker process
(``NEWSDESK_WORKERS`` workers let a client make up to that many times a limit), or a store the workers
share (``redis://``, ``memcached://``; its client package must be installed). The client address is
the connection's peer: behind a reverse proxy, every client is the proxy's address.
"""

from __future__ import annotations

import math
import time

from flask import Flask, Response, jsonify, request
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded

from ..config import Settings
from .auth import current_key
from .errors import error_body

__all__ = ["install_rate_limits"]

WRITE_METHODS = ("POST", "DELETE")
LIMITED_WRITES = "articles"  # the blueprint whose POST and DELETE are writes


def _address() -> str:
    return "address:" + (request.remote_addr or "unknown")


def _caller() -> str:
    """Whom a request is counted against: its key (by id, never the secret), else its address."""
    key = current_key()
    return f"key:{key.id}" if key else _address()


def install_rate_limits(app: Flask, settings: Settings) -> Limiter:
    """Install the limits; call before the key check is installed, so that requests refused 401 are counted too."""
    limiter = Limiter(
        _caller,
        application_limits=[
            ApplicationLimit(settings.rate_limit_per_address, key_function=_address, scope="address",
                             exempt_when=lambda: current_key() is not None),
            ApplicationLimit(settings.rate_limit_per_key, key_function=_caller, scope="key",
                             exempt_when=lambda: current_key() is None),
        ],
        storage_uri=settings.rate_limit_storage,
        strategy="moving-window",
        headers_enabled=False,  # set below: Flask-Limiter's own would put Retry-After on every response
    )
    limiter.init_app(app)
    if settings.rate_limit_writes.strip():
        limiter.shared_limit(settings.rate_limit_writes, scope="writes", methods=list(WRITE_METHODS),
                             error_message=f"{settings.rate_limit_writes} for POST and DELETE /articles")(app.blueprints[LIMITED_WRITES])

    @app.errorhandler(RateLimitExceeded)
    def too_many(exc: RateLimitExceeded) -> tuple[Response, int, dict[str, str]]:
        breached = limiter.current_limit
        # the moving window's reset is rounded up a second; never ask for more than the window itself
        retry = max(1, min(math.ceil(breached.reset_at - time.time()), breached.limit.get_expiry())) if breached else 1
        who = f"API key {current_key().id}" if current_key() else "this client address"  # type: ignore[union-attr]
        message = f"too many requests from {who}: the limit is {exc.description}; retry in {retry} s"
        return jsonify(error_body("rate_limited", message)), 429, {"Retry-After": str(retry)}

    @app.after_request
    def limit_headers(response: Response) -> Response:
        current = limiter.current_limit
        if current is not None:
            response.headers.setdefault("X-RateLimit-Limit", str(current.limit.amount))
            response.headers.setdefault("X-RateLimit-Remaining", str(current.remaining))
            response.headers.setdefault("X-RateLimit-Reset", str(int(current.reset_at)))
        return response

    return limiter
