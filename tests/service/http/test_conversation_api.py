"""Streaming, conversations, the OpenAI-compatible endpoint, CORS and CSP, in process over the
seed index (offline: extractive mode, no LLM)."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from newsdesk.service.runtime.conversations import DB_NAME

from tests.service.http.conftest import BASE_URL, in_process, make_app

ALLOWED = "http://news.example"


@pytest.fixture(scope="module")
def server(seed_copy_module: Path) -> Iterator[httpx.Client]:
    app = make_app(seed_copy_module, cors_origins=ALLOWED)
    with in_process(app) as client:
        assert client.get("/readyz").status_code == 200
        yield client
    app.extensions["newsdesk"].close()


def events(response: httpx.Response) -> list[tuple[str, dict]]:
    """Parse a text/event-stream body into (event, data) pairs."""
    parsed = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((fields["event"], json.loads(fields["data"])))
    return parsed


def ask(base: httpx.Client, question: str, conversation_id: str | None = None) -> dict:
    body = {"question": question, **({"conversation_id": conversation_id} if conversation_id else {})}
    response = base.post("/ask", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


# ---- streaming ---------------------------------------------------------------------------

def test_stream_sends_citations_with_the_text_that_uses_them(server: httpx.Client) -> None:
    question = "What did Biden say a Russian attack on Ukraine could do to the world?"
    with server.stream("POST", "/ask/stream", json={"question": question}, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        response.read()
    stream = events(response)
    names = [e for e, _ in stream]
    assert names[0] == "meta" and names[-1] == "done" and "text" in names
    done = stream[-1][1]
    assert "".join(d["text"] for e, d in stream if e == "text") == done["answer"]
    seen: set[int] = set()
    for event, data in stream:
        if event == "citation":
            seen.add(data["n"])
        elif event == "text":
            used = {int(n) for n in re.findall(r"\[(\d+)\]", data["text"])}
            assert used <= seen  # every marker's citation arrived before (or with) its text
    assert [c["n"] for c in done["citations"]] == sorted(seen)
    assert stream[0][1]["conversation_id"] == done["conversation_id"]


def test_stream_refuses_bad_requests_before_streaming(server: httpx.Client) -> None:
    response = server.post("/ask/stream", json={"question": ""}, timeout=30)
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_field"
    response = server.post("/ask/stream", content=b"hi", headers={"content-type": "text/plain"}, timeout=30)
    assert response.status_code == 415


def test_stream_of_an_abstention(server: httpx.Client) -> None:
    response = server.post("/ask/stream", json={"question": "What is the capital of Australia?"}, timeout=60)
    stream = events(response)
    assert not any(e == "citation" for e, _ in stream)
    done = stream[-1][1]
    assert done["abstained"] and done["closest"]


# ---- conversations -----------------------------------------------------------------------

@pytest.mark.parametrize("first, follow_up, expected", [
    ("What total civilian casualty figure did the OHCHR report?", "How many of them were injured?", "9,776"),
    ("In which city were the January talks between Russia and the United States held?", "And who led it for the US?", None),
])
def test_follow_up_is_resolved_against_the_conversation(server: httpx.Client, first: str, follow_up: str,
                                                        expected: str | None) -> None:
    opening = ask(server, first)
    reply = ask(server, follow_up, opening["conversation_id"])
    assert reply["conversation_id"] == opening["conversation_id"]
    assert not reply["abstained"] and (expected is None or expected in reply["answer"]), reply["answer"]
    assert reply["query"] != follow_up  # what was searched carries the conversation
    for c in reply["citations"]:
        text = server.get(f"/articles/{c['article_id']}", timeout=30).json()["text"]
        assert text[c["start"]:c["end"]] == c["quote"]


def test_a_new_conversation_starts_clean(server: httpx.Client) -> None:
    opening = ask(server, "What total civilian casualty figure did the OHCHR report?")
    fresh = ask(server, "How many of them were injured?")  # no conversation_id: nothing to lean on
    assert fresh["conversation_id"] != opening["conversation_id"]
    assert fresh["query"] == "How many of them were injured?"


def test_unknown_conversation_starts_a_new_one_with_a_warning(server: httpx.Client) -> None:
    reply = ask(server, "Who said 'we are also prepared for the worst'?", "c_never-issued")
    assert reply["conversation_id"] != "c_never-issued"
    assert any("unknown or expired" in w for w in reply["warnings"])
    assert "Stoltenberg" in reply["answer"]


def test_conversation_history_persists_in_sqlite(server: httpx.Client, seed_copy_module: Path) -> None:
    opening = ask(server, "Whose initiative was the Biden-Putin call, according to Peskov?")
    ask(server, "And what did he say about it?", opening["conversation_id"])
    with sqlite3.connect(seed_copy_module / DB_NAME) as db:
        rows = db.execute("SELECT question FROM turns WHERE conversation_id=? ORDER BY seq", (opening["conversation_id"],)).fetchall()
    assert [r[0] for r in rows] == ["Whose initiative was the Biden-Putin call, according to Peskov?", "And what did he say about it?"]


# ---- OpenAI-compatible endpoint ------------------------------------------------------------

def test_openai_client_non_streaming(server: httpx.Client) -> None:
    client = openai.OpenAI(base_url=f"{BASE_URL}/v1", api_key="not-needed", max_retries=0, http_client=server)
    assert {"newsdesk", "newsdesk-extractive"} <= {m.id for m in client.models.list()}
    completion = client.chat.completions.create(
        model="newsdesk", messages=[{"role": "user", "content": "Which news agency quoted Peskov saying 'That would be very cool'?"}])
    content = completion.choices[0].message.content
    citations = completion.model_extra["citations"]
    assert "TASS" in content and "[1]" in content and citations
    for c in citations:
        text = server.get(f"/articles/{c['article_id']}", timeout=30).json()["text"]
        assert text[c["start"]:c["end"]] == c["quote"]
    assert completion.model_extra["newsdesk"]["abstained"] is False


def test_openai_client_streaming_keeps_the_citations(server: httpx.Client) -> None:
    client = openai.OpenAI(base_url=f"{BASE_URL}/v1", api_key="not-needed", max_retries=0, http_client=server)
    stream = client.chat.completions.create(
        model="newsdesk", stream=True,
        messages=[{"role": "user", "content": "Who said 'we are also prepared for the worst'?"}])
    text, streamed, final = "", [], None
    for chunk in stream:
        text += chunk.choices[0].delta.content or ""
        streamed += (chunk.model_extra or {}).get("citations") or []
        if chunk.choices[0].finish_reason == "stop":
            final = chunk.model_extra
    assert "Stoltenberg" in text and "[1]" in text
    assert final is not None and final["citations"] and {c["n"] for c in streamed} >= {c["n"] for c in final["citations"]}


def test_openai_messages_carry_the_conversation(server: httpx.Client) -> None:
    client = openai.OpenAI(base_url=f"{BASE_URL}/v1", api_key="not-needed", max_retries=0, http_client=server)
    first = "What total civilian casualty figure did the OHCHR report?"
    answer = client.chat.completions.create(model="newsdesk", messages=[{"role": "user", "content": first}]).choices[0].message.content
    follow = client.chat.completions.create(model="newsdesk", messages=[
        {"role": "user", "content": first}, {"role": "assistant", "content": answer},
        {"role": "user", "content": "How many of them were injured?"}])
    assert "9,776" in follow.choices[0].message.content


@pytest.mark.parametrize("body, fragment", [
    ({"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}, "unknown model"),
    ({"model": "newsdesk", "messages": []}, "'messages'"),
    ({"model": "newsdesk", "messages": [{"role": "assistant", "content": "hi"}]}, "role 'user'"),
    ({"model": "newsdesk", "messages": [{"role": "user", "content": "   "}]}, "empty"),
    ({"model": "newsdesk-llm", "messages": [{"role": "user", "content": "hi"}]}, "unknown model"),  # no LLM configured
])
def test_openai_endpoint_refuses_bad_requests(server: httpx.Client, body: dict, fragment: str) -> None:
    client = openai.OpenAI(base_url=f"{BASE_URL}/v1", api_key="not-needed", max_retries=0, http_client=server)
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.chat.completions.create(**body)
    assert caught.value.response.json()["error"]["code"] == "invalid_field"
    assert fragment in caught.value.response.json()["error"]["message"]


@pytest.mark.parametrize("fields, fragment", [
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}, "'text'"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": None}]}]}, "'text'"),
    ({"messages": [{"role": "user", "content": [{"type": "text"}]}]}, "'text'"),
    ({"messages": [{"role": ["user"], "content": "Hi"}, {"role": "user", "content": "Who?"}]}, "'role'"),
    ({"stream": "yes"}, "'stream'"),
    ({"metadata": []}, "'metadata'"),
    ({"metadata": {"as_of": "2023-01-13", "user": 5}}, "'metadata'"),
    ({"conversation_id": "../x"}, "'conversation_id'"),  # as /ask has it
])
def test_openai_endpoint_refuses_mistyped_fields(server: httpx.Client, fields: dict, fragment: str) -> None:
    """A wrong JSON type anywhere in the request is the client's mistake (422), never a 500 or a silent guess."""
    body = {"model": "newsdesk", "messages": [{"role": "user", "content": "Who said it?"}], **fields}
    response = server.post("/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_field" and fragment in response.json()["error"]["message"]


# ---- CORS and CSP --------------------------------------------------------------------------

def test_cors_allows_only_configured_origins(server: httpx.Client) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = server.options("/ask/stream", headers={"Origin": ALLOWED, **preflight}, timeout=30)
    assert allowed.status_code == 204 and allowed.headers["access-control-allow-origin"] == ALLOWED
    refused = server.options("/ask/stream", headers={"Origin": "http://evil.example", **preflight}, timeout=30)
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    assert refused.json()["error"]["code"] == "origin_not_allowed"
    reply = server.post("/ask", json={"question": "Who said 'we are also prepared for the worst'?"},
                       headers={"Origin": "http://evil.example"}, timeout=60)
    assert "access-control-allow-origin" not in reply.headers  # the browser will not hand the answer to that page


def test_pages_carry_a_strict_content_security_policy(server: httpx.Client) -> None:
    page = server.get("/", timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    script = server.get("/widget.js", timeout=30)
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert server.get("/widget.css", timeout=30).headers["content-type"].startswith("text/css")


def test_the_widget_needs_nothing_from_elsewhere(server: httpx.Client) -> None:
    for path in ("/", "/widget.js", "/widget.css"):
        body = re.sub(r"/\*.*?\*/|<!--.*?-->", "", server.get(path, timeout=30).text, flags=re.S)  # code, not comments
        assert not re.search(r"""(src|href)\s*=\s*["']https?://""", body), path
        assert not re.search(r"@import\s+url\(\s*['\"]?https?://", body), path
