"""The service as users run it: ``newsdesk serve`` (gunicorn) on a real socket.

Most HTTP behaviour is tested in process (tests/service/http); these check what only a
real server shows: it starts, answers over TCP with verified citations, streams, and
refuses to answer without an index while writing nothing.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.servers import newsdesk_server


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
