"""The service as users run it: ``newsdesk serve`` (gunicorn) on a real socket.

Most HTTP behaviour is tested in process (tests/service/http); these check what only a
real server shows: it starts, answers over TCP with verified citations, streams, and
refuses to answer without an index while writing nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.servers import newsdesk_process, newsdesk_server


def test_served_answers_cite_the_served_originals(seed_copy: Path, tmp_path: Path) -> None:
    with newsdesk_server(seed_copy, tmp_path / "server.log") as base:
        assert httpx.get(base + "/readyz", timeout=120).status_code == 200
        body = httpx.post(base + "/ask", json={"question": "Who said 'we are also prepared for the worst'?"}, timeout=60).json()
        assert not body["abstained"] and body["citations"]
        for c in body["citations"]:
            text = httpx.get(f"{base}/articles/{c['article_id']}", timeout=30).json()["text"]
            assert text[c["start"]:c["end"]] == c["quote"]
        with httpx.stream("POST", base + "/ask/stream", json={"question": "What did Peskov say?"}, timeout=60) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            received = stream.read().decode()
        assert received.startswith("event: meta") and "event: done" in received


def test_no_index_is_503_and_nothing_is_written(tmp_path: Path) -> None:
    with newsdesk_server(tmp_path / "empty", tmp_path / "server.log") as base:
        assert httpx.get(base + "/healthz", timeout=30).status_code == 200
        response = httpx.post(base + "/ask", json={"question": "Who?"}, timeout=30)
        assert response.status_code == 503 and response.json()["error"]["code"] == "index_unavailable"
        assert not (tmp_path / "empty").exists()


def test_two_workers_write_json_lines_with_request_ids_and_share_their_metrics(seed_copy: Path, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with newsdesk_server(seed_copy, log, workers="2") as base:
        for i in range(20):
            response = httpx.get(base + "/v1/models", headers={"X-Request-ID": f"e2e-{i}", "Authorization": "Bearer sk-client-secret"},
                                 timeout=30)
            assert response.status_code == 200 and response.headers["X-Request-ID"] == f"e2e-{i}"
        scrapes = [httpx.get(base + "/metrics", headers={"X-Request-ID": f"scrape-{i}"}, timeout=30).text for i in range(30)]
    models = 'newsdesk_http_requests_total{endpoint="/v1/models",method="GET",status="200"} 20.0'
    assert all(models in text and "\nnewsdesk_index_articles 5.0\n" in text for text in scrapes)
    lines = [json.loads(line) for line in log.read_text().splitlines()]  # every line, gunicorn's and the app's, is JSON
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert {line["request_id"] for line in access if line["path"] == "/v1/models"} == {f"e2e-{i}" for i in range(20)}
    # Scrapes answered by different workers all counted every worker's requests: the samples are shared.
    assert len({line["process"] for line in access if line["path"] == "/metrics"}) == 2
    assert "sk-client-secret" not in log.read_text()


def test_a_killed_servers_metrics_are_removed_by_the_next_start(seed_copy: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A graceful stop removes the server's temporary metrics directory; SIGKILL cannot, so the next start does."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))  # the servers' temporary folder (their environment is this one's)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with newsdesk_process(seed_copy, tmp_path / "first.log") as (_, first):
        [killed] = temp.glob("newsdesk-metrics-*")
        assert (killed / "owner.pid").read_text() == str(first.pid)
        first.kill()
        first.wait()
    foreign = temp / "newsdesk-metrics-foreign"  # not a server's (no owner file): left alone
    foreign.mkdir()
    assert killed.exists()
    with newsdesk_process(seed_copy, tmp_path / "second.log") as (_, second):
        [own] = [d for d in temp.glob("newsdesk-metrics-*") if d != foreign]
        assert own != killed and (own / "owner.pid").read_text() == str(second.pid)
    assert list(temp.glob("newsdesk-metrics-*")) == [foreign]  # the first by the second's start, the second by its stop
