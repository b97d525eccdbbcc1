"""Every offset Newsdesk returns counts code points: ``article_text[start:end] == quote`` on every surface.

One article in every hard script (:mod:`tests.hard_text`: ZWJ emoji, flags, CJK, combining
marks, right-to-left text with bidi marks, before and inside the sentence that answers and
inside the removed furniture) is indexed once; the same question is then asked through
``POST /ask``, ``POST /ask/stream``, ``/v1/chat/completions`` (plain and streamed) and the
``newsdesk`` command (``ask --json``, ``ask``, ``search``), and every ``start``/``end`` that
comes back is checked against the stored text, as are ``GET /articles/<id>`` (highlights,
segments, removed spans) and ``GET /passages/<chunk_id>``. Each cited span's UTF-16 index
differs from its code-point index, so a UTF-16 (or UTF-8, or grapheme) offset would fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote as urlquote

import httpx
import pytest

from newsdesk.index.ingest import ingest
from newsdesk.service.cli import main as newsdesk
from tests.conftest import ingest_options, open_store
from tests.hard_text import ANSWER_SENTENCE, ARTICLE, FURNITURE, QUESTION, SHORT_ANSWER, utf16_index
from tests.service.http.conftest import in_process, make_app

TEXT = ARTICLE["text"]
ARTICLE_PATH = f"/articles/{urlquote(ARTICLE['id'], safe='')}"


@pytest.fixture(scope="module")
def hard_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose archive is the hard-script article alone (ingested from a JSON line)."""
    work = tmp_path_factory.mktemp("hard-text")
    source = work / "article.jsonl"
    source.write_text(json.dumps(ARTICLE) + "\n", encoding="utf-8")
    with open_store(work / "data", writer=True) as store:
        assert not ingest([source], store, ingest_options(), progress=False).skipped
    return work / "data"


@pytest.fixture(scope="module")
def hard_server(hard_index: Path) -> Iterator[httpx.Client]:
    app = make_app(hard_index)
    with in_process(app) as client:
        assert client.get("/readyz").status_code == 200
        yield client
    app.extensions["newsdesk"].close()


def assert_span(item: dict[str, Any], quote_key: str, where: str) -> None:
    """``item``'s ``start``/``end`` cut exactly its quote out of the stored article, by code points."""
    start, end = item["start"], item["end"]
    assert isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(TEXT), (where, item)
    assert TEXT[start:end] == item[quote_key], f"{where}: text[{start}:{end}] is {TEXT[start:end]!r}, not {item[quote_key]!r}"


def assert_not_utf16(item: dict[str, Any], quote_key: str) -> None:
    """The span's UTF-16 indices differ from its code-point ones, and cutting by them gives other text."""
    start, end = item["start"], item["end"]
    assert utf16_index(TEXT, start) > start and utf16_index(TEXT, end) > end
    units = TEXT.encode("utf-16-le")
    assert units[2 * start:2 * end].decode("utf-16-le", errors="replace") != item[quote_key]


def assert_reply(reply: dict[str, Any], where: str) -> None:
    """Every offset of an /ask reply (or the same object elsewhere): citations, short answer, sources."""
    assert not reply["abstained"], reply
    assert reply["citations"], reply
    for citation in reply["citations"]:
        assert citation["article_id"] == ARTICLE["id"]
        assert_span(citation, "quote", f"{where} citation [{citation['n']}]")
    answering = next(c for c in reply["citations"] if c["quote"] == ANSWER_SENTENCE)  # hard text before and inside it
    assert_not_utf16(answering, "quote")
    short = reply["short_answer"]
    assert short is not None and short["text"] == SHORT_ANSWER and short["n"] == answering["n"], short
    assert_span(short, "text", f"{where} short_answer")
    assert answering["start"] <= short["start"] < short["end"] <= answering["end"]
    assert_not_utf16(short, "text")
    assert reply["sources"], reply
    for source in reply["sources"]:
        assert_span(source, "quote", f"{where} source")
    assert any(s["quote"] == ANSWER_SENTENCE for s in reply["sources"])


def assert_article_marks(client: httpx.Client, item: dict[str, Any], quote_key: str) -> None:
    """``GET /articles/<id>?highlight=start-end`` marks exactly the quote; the segments rebuild the text."""
    article = client.get(ARTICLE_PATH, params={"highlight": f"{item['start']}-{item['end']}"}).json()
    assert article["text"] == TEXT
    assert article["highlights"] == [{"start": item["start"], "end": item["end"], "text": item[quote_key]}]
    assert "".join(s["text"] for s in article["segments"]) == TEXT
    for segment in article["segments"]:
        assert_span(segment, "text", "segment")
    assert [s["text"] for s in article["segments"] if s["highlighted"]] == [item[quote_key]]


def sse_events(body: str) -> list[tuple[str, Any]]:
    """``(event, data)`` of a finished SSE body (``message`` when a block names no event)."""
    found = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        data = fields["data"]
        found.append((fields.get("event", "message"), data if data == "[DONE]" else json.loads(data)))
    return found


def test_ask_reply_offsets_are_code_points(hard_server: httpx.Client) -> None:
    reply = hard_server.post("/ask", json={"question": QUESTION}, timeout=120).json()
    assert_reply(reply, "/ask")
    spans = [(c, "quote") for c in reply["citations"]] + [(reply["short_answer"], "text")] + [(s, "quote") for s in reply["sources"]]
    for item, key in spans:
        assert_article_marks(hard_server, item, key)


def test_stream_events_offsets_are_code_points(hard_server: httpx.Client) -> None:
    response = hard_server.post("/ask/stream", json={"question": QUESTION}, timeout=120)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    streamed = [data for name, data in events if name == "citation"]
    assert streamed
    for citation in streamed:
        assert_span(citation, "quote", f"citation event [{citation['n']}]")
    done = next(data for name, data in events if name == "done")
    assert_reply(done, "done event")
    assert "".join(data["text"] for name, data in events if name == "text") == done["answer"]
    assert {c["n"]: c for c in streamed} == {c["n"]: c for c in done["citations"]}


def test_openai_extras_offsets_are_code_points(hard_server: httpx.Client) -> None:
    body = {"model": "newsdesk", "messages": [{"role": "user", "content": QUESTION}]}
    reply = hard_server.post("/v1/chat/completions", json=body, timeout=120).json()
    assert_reply({**reply["newsdesk"], "citations": reply["citations"]}, "chat.completion")

    response = hard_server.post("/v1/chat/completions", json={**body, "stream": True}, timeout=120)
    chunks = [data for _, data in sse_events(response.text)]
    assert chunks[-1] == "[DONE]"
    for chunk in chunks[:-1]:
        for citation in chunk.get("citations", []):
            assert_span(citation, "quote", "chat.completion.chunk citation")
    final = chunks[-2]
    assert final["choices"][0]["finish_reason"] == "stop"
    assert_reply({**final["newsdesk"], "citations": final["citations"]}, "last chat.completion.chunk")


def test_article_and_passage_offsets_are_code_points(hard_server: httpx.Client) -> None:
    article = hard_server.get(ARTICLE_PATH).json()
    assert article["text"] == TEXT
    assert article["highlights"] == [] and article["segments"] == [{"start": 0, "end": len(TEXT), "text": TEXT, "highlighted": False}]
    removed = [TEXT[r["start"]:r["end"]] for r in article["removed"]]
    assert removed == FURNITURE  # the greyed spans are exactly the furniture lines, emoji, RTL and all
    assert all(utf16_index(TEXT, r["start"]) > r["start"] for r in article["removed"][1:])

    cited = hard_server.post("/ask", json={"question": QUESTION}, timeout=120).json()["citations"]
    for chunk_id in {c["chunk_id"] for c in cited}:
        passage = hard_server.get(f"/passages/{chunk_id}").json()
        assert passage["article_id"] == ARTICLE["id"]
        assert_span(passage, "text", f"passage {chunk_id}")
        for sentence in passage["sentences"]:
            assert_span(sentence, "text", f"passage {chunk_id} sentence")
            assert passage["start"] <= sentence["start"] < sentence["end"] <= passage["end"]
        assert any(s["text"] == ANSWER_SENTENCE for s in passage["sentences"]) or ANSWER_SENTENCE not in passage["text"]


def test_cli_offsets_are_code_points(hard_index: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``newsdesk ask --json`` (the /ask reply), ``newsdesk ask`` and ``newsdesk search`` (their ``chars START-END``)."""
    monkeypatch.setenv("NEWSDESK_DATA_DIR", str(hard_index))
    assert newsdesk(["ask", "--json", QUESTION]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert_reply(reply, "newsdesk ask --json")

    assert newsdesk(["ask", QUESTION]) == 0
    printed = re.findall(r"^  \[(\d+)\] (\S+) chars (\d+)-(\d+) \|", capsys.readouterr().out, re.M)
    assert printed
    quotes = {c["n"]: c["quote"] for c in reply["citations"]}
    for n, article_id, start, end in printed:
        assert article_id == ARTICLE["id"] and TEXT[int(start):int(end)] == quotes[int(n)]

    assert newsdesk(["search", "-k", "3", QUESTION]) == 0
    lines = capsys.readouterr().out.splitlines()
    heads = [(i, re.search(r" \| chars (\d+)-(\d+) \| ", line)) for i, line in enumerate(lines) if re.match(r"^\d+\. \[", line)]
    assert heads
    for i, found in heads:
        start, end = int(found[1]), int(found[2])
        assert lines[i + 1] == "   " + " ".join(TEXT[start:end].split())[:300]
    assert any(ANSWER_SENTENCE in TEXT[int(f[1]):int(f[2])] for _, f in heads)
