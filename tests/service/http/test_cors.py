"""install_cors on a bare Flask app: allowed origins get their own name back, others a 403 preflight."""

from __future__ import annotations

from flask import Flask

from newsdesk.service.http.cors import ALLOWED_METHODS, install_cors

PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "Content-Type"}


def _app() -> Flask:
    app = Flask(__name__)
    app.add_url_rule("/ask", "ask", lambda: {"ok": True}, methods=["POST"])
    install_cors(app, ("https://news.example",))
    return app


def test_preflight_from_an_allowed_origin() -> None:
    response = _app().test_client().options("/ask", headers={"Origin": "https://news.example", **PREFLIGHT})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://news.example"
    assert response.headers["Access-Control-Allow-Methods"] == ALLOWED_METHODS


def test_preflight_from_another_origin_is_refused_with_json() -> None:
    response = _app().test_client().options("/ask", headers={"Origin": "https://evil.example", **PREFLIGHT})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_simple_requests_name_only_allowed_origins() -> None:
    client = _app().test_client()
    assert client.post("/ask", headers={"Origin": "https://news.example"}).headers["Access-Control-Allow-Origin"] == "https://news.example"
    assert "Access-Control-Allow-Origin" not in client.post("/ask", headers={"Origin": "https://other.example"}).headers
    assert "*" not in str(client.post("/ask").headers)
