"""Request ids, JSON log lines and /metrics, in process (tests/e2e/test_gunicorn.py: the same under gunicorn)."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from newsdesk.service.http.observability import json_handler

from tests.servers import free_port
from tests.service.http.conftest import make_app

LLM_KEY = "sk-llm-secret-0123456789"
CLIENT_TOKEN = "Bearer sk-client-secret-9876543210"
GENERATED = re.compile(r"[0-9a-f]{32}")
ANSWERABLE = "Who said 'we are also prepared for the worst'?"
UNANSWERABLE = "What is the capital of Australia?"


@pytest.fixture(scope="module")
def app(seed_copy_module: Path) -> Iterator[Flask]:
    """The service with an LLM configured that cannot be reached: asking it in LLM mode logs a warning, then answers."""
    app = make_app(seed_copy_module, llm_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_model="absent", llm_api_key=LLM_KEY)
    yield app
    app.extensions["newsdesk"].close()


@pytest.fixture
def http(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict]]]:
    """Every line logged (at INFO and above) while the test runs, through the service's JSON handler, parsed."""
    stream, root = io.StringIO(), logging.getLogger()
    handler, level = json_handler(stream), root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_request_id_is_passed_through_when_sane_else_generated_and_echoed_on_every_response(http: FlaskClient) -> None:
    # buffered: the test client then closes each response, as a WSGI server does
    first, second = (http.get("/healthz", buffered=True).headers["X-Request-ID"] for _ in range(2))
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second) and first != second
    assert http.get("/healthz", headers={"X-Request-ID": "trace-42.a:b_C"}, buffered=True).headers["X-Request-ID"] == "trace-42.a:b_C"
    for forged in ("two words", 'a"b', "a/b", "x" * 129, ""):
        assert GENERATED.fullmatch(http.get("/healthz", headers={"X-Request-ID": forged}, buffered=True).headers["X-Request-ID"])
    same = {"X-Request-ID": "rid-1"}
    responses = [
        http.get("/no/such/route", headers=same, buffered=True),
        http.get("/ask", headers=same, buffered=True),
        http.post("/ask", data="{", headers=same, buffered=True),
        http.post("/ask", json={"question": ""}, headers=same, buffered=True),
        http.options("/ask", headers={**same, "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
                     buffered=True),
        http.post("/ask/stream", json={"question": ANSWERABLE, "mode": "extractive"}, headers=same, buffered=True),
        http.get("/", headers=same, buffered=True),
    ]
    assert [r.status_code for r in responses] == [404, 405, 415, 422, 403, 200, 200]
    assert responses[5].mimetype == "text/event-stream" and "event: done" in responses[5].get_data(as_text=True)
    assert [r.headers.getlist("X-Request-ID") for r in responses] == [["rid-1"]] * len(responses)


def test_every_line_logged_while_handling_a_request_carries_its_id_and_no_secret(http: FlaskClient, log_lines) -> None:
    auth = {"Authorization": CLIENT_TOKEN}
    asked = http.post("/ask", json={"question": ANSWERABLE, "mode": "llm"}, headers={**auth, "X-Request-ID": "ask-1"}, buffered=True)
    streamed = http.post("/ask/stream", json={"question": ANSWERABLE, "mode": "llm"}, headers={**auth, "X-Request-ID": "stream-1"},
                         buffered=True)
    assert asked.status_code == streamed.status_code == 200
    lines = log_lines()
    # The unreachable LLM is logged by the request's thread (/ask) and by the stream's answer thread.
    assert any("LLM call failed" in line["message"] and line["request_id"] == "ask-1" for line in lines)
    assert any("LLM call failed" in line["message"] and line["request_id"] == "stream-1" for line in lines)
    assert {line["request_id"] for line in lines} == {"ask-1", "stream-1"}
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    logged = json.dumps(lines)
    assert LLM_KEY not in logged and "sk-client-secret" not in logged and "Authorization" not in logged
    assert all(c["quote"] not in logged for c in asked.get_json()["citations"])  # no article text either


def test_a_message_quoting_the_llm_key_is_redacted(app: Flask, log_lines) -> None:
    logging.getLogger("newsdesk.test").warning("the LLM server said: bad key %s", LLM_KEY)
    [line] = log_lines()
    assert line["message"] == "the LLM server said: bad key [redacted]" and line["request_id"] is None


def scrape(http: FlaskClient) -> dict[tuple[str, frozenset], float]:
    response = http.get("/metrics", buffered=True)
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def test_metrics_count_requests_by_route_rule_and_status_answers_by_outcome_and_show_the_index(http: FlaskClient) -> None:
    before = scrape(http)
    article_id = http.post("/ask", json={"question": ANSWERABLE, "mode": "extractive"}, buffered=True).get_json()["citations"][0]["article_id"]
    assert http.post("/ask", json={"question": UNANSWERABLE, "mode": "extractive"}, buffered=True).get_json()["abstained"]
    for path in ("/healthz", "/healthz", f"/articles/{article_id}", "/articles/none-such", "/no/such/route"):
        http.get(path, buffered=True)
    after = scrape(http)

    def added(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0) - before.get(key, 0)

    assert added("newsdesk_http_requests_total", method="GET", endpoint="/healthz", status="200") == 2
    assert added("newsdesk_http_requests_total", method="GET", endpoint="/articles/<path:article_id>", status="200") == 1
    assert added("newsdesk_http_requests_total", method="GET", endpoint="/articles/<path:article_id>", status="404") == 1
    assert added("newsdesk_http_requests_total", method="GET", endpoint="unmatched", status="404") == 1
    assert added("newsdesk_http_request_duration_seconds_count", method="POST", endpoint="/ask", status="200") == 2
    assert added("newsdesk_http_request_duration_seconds_sum", method="POST", endpoint="/ask", status="200") > 0
    assert added("newsdesk_answers_total", mode="extractive", outcome="answered") == 1
    assert added("newsdesk_answers_total", mode="extractive", outcome="abstained") == 1
    assert after[("newsdesk_index_articles", frozenset())] == 5
    assert after[("newsdesk_index_chunks", frozenset())] >= 5
    assert after[("newsdesk_index_generation", frozenset())] >= 1
    assert not any(name.startswith("newsdesk_") and "/no/such/route" in dict(labels).values() for name, labels in after)
