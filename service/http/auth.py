"""API keys on requests: who is calling, and whether the endpoint lets them.

A key is sent as ``Authorization: Bearer KEY`` (what the OpenAI clients send with ``api_key=``) or
as ``api-key: KEY`` (Azure OpenAI's header). Endpoints need, by kind:

* write endpoints (``POST /articles``, ``DELETE /articles/<id>``, ``GET /jobs/<id>``): always a key of
  scope ``write`` or ``admin`` (marked with :func:`requires` on the view);
* read endpoints (``/ask``, ``/ask/stream``, ``/v1/*``, ``GET /articles...``, ``/passages``): a key of any
  scope when ``NEWSDESK_READ_REQUIRES_KEY`` is true; otherwise none, and a key that is not valid is
  then ignored (the OpenAI clients insist on sending one, e.g. ``api_key="not-needed"``);
* everything else (the page, the widget, ``/healthz``, ``/readyz``, ``/openapi.json``): none.

No key or an invalid one where one is needed: 401 ``unauthorized`` with ``WWW-Authenticate``; a valid
key of too low a scope: 403 ``forbidden``; both in the one error shape. Keys are never logged or
echoed: messages and rate-limit counters name a key by its id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request

from ..config import Settings
from ..errors import Forbidden, Unauthorized
from ..runtime.keys import SCOPES, ApiKey, KeyStore, has_scope

__all__ = ["KEYS_EXTENSION", "READ_BLUEPRINTS", "current_key", "install_auth", "presented_key", "requires"]

KEYS_EXTENSION = "newsdesk.keys"
READ_BLUEPRINTS = frozenset({"ask", "stream", "openai", "articles"})  # their views read the archive
_SCOPE_ATTRIBUTE = "newsdesk_scope"
_UNSET = object()

View = TypeVar("View", bound=Callable[..., Any])


def requires(scope: str) -> Callable[[View], View]:
    """Mark a view as needing a key of ``scope`` (or above), whatever the settings."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def mark(view: View) -> View:
        setattr(view, _SCOPE_ATTRIBUTE, scope)
        return view

    return mark


def presented_key() -> str | None:
    """The key the request carries, if any (never logged)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("api-key", "").strip() or None


def current_key() -> ApiKey | None:
    """The valid key this request carries (looked up once per request), or ``None``."""
    found = g.get("newsdesk_key", _UNSET)
    if found is _UNSET:
        token = presented_key()
        found = current_app.extensions[KEYS_EXTENSION].check(token) if token else None
        g.newsdesk_key = found
    return found  # type: ignore[return-value]


def _needed_scope(read_requires_key: bool) -> str | None:
    view = current_app.view_functions.get(request.endpoint or "")
    marked = getattr(view, _SCOPE_ATTRIBUTE, None)
    if marked:
        return marked
    if read_requires_key and request.blueprint in READ_BLUEPRINTS:
        return "read"
    return None


def install_auth(app: Flask, settings: Settings) -> None:
    app.extensions[KEYS_EXTENSION] = KeyStore(settings.data_dir, settings.database_url)

    @app.before_request
    def authorize() -> None:
        if request.method == "OPTIONS":
            return
        needed = _needed_scope(settings.read_requires_key)
        if needed is None:
            return
        key = current_key()
        if key is None:
            presented = presented_key() is not None
            challenge = 'Bearer realm="newsdesk"' + (', error="invalid_token"' if presented else "")
            scope = "" if needed == "read" else f" of scope {needed} or above (`newsdesk keys create --scope {needed}`)"
            reason = ("the API key sent is not valid (unknown or revoked)" if presented else
                      f"this endpoint needs an API key{scope}: send 'Authorization: Bearer KEY'")
            raise Unauthorized(reason, {"WWW-Authenticate": challenge})
        if not has_scope(key.scope, needed):
            raise Forbidden(f"API key {key.id} has scope {key.scope}; this endpoint needs {needed} or above")
