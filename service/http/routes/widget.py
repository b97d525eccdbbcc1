"""The reader's doors: the chat page at ``/`` and the embeddable ``/widget.js`` (+ its CSS).

Everything is served from ``service/static``: no CDN, nothing fetched from elsewhere, so
the widget works offline. HTML pages carry a strict Content-Security-Policy (set in the
app factory); the script and stylesheet may be loaded by any page that embeds the widget,
but only the configured origins may then call the API (CORS, see :mod:`..cors`).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

STATIC = Path(__file__).resolve().parent.parent / "static"

bp = Blueprint("widget", __name__)


def _static(name: str, mimetype: str) -> Response:
    response = send_from_directory(STATIC, name, mimetype=mimetype, max_age=300)
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"  # embeddable from any page
    return response


@bp.get("/")
def chat_page() -> Response:
    return send_from_directory(STATIC, "index.html", mimetype="text/html", max_age=0)


@bp.get("/widget.js")
def widget_js() -> Response:
    return _static("widget.js", "text/javascript")


@bp.get("/widget.css")
def widget_css() -> Response:
    return _static("widget.css", "text/css")
