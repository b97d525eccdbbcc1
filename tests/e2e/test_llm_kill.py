"""Fault: the LLM server SIGKILLed while Newsdesk streams its answer.

A real llama.cpp server (llama-cpp-python, SmolLM2-135M) in its own process, always on the same
port, behind a real ``newsdesk serve`` over a copy of the seed index. A stream in LLM mode is opened
(``POST /ask/stream``, ``POST /v1/chat/completions`` with ``stream: true``) and the LLM server is
SIGKILLed: once its first verified sentence has reached the reader, or at a random (seeded) moment
from before its first token to the end of its reply. Each time the stream must end, well within the
LLM timeout, with ``done`` (``[DONE]``) or an ``error`` event in the JSON error shape; what was
streamed must be exactly the final answer; every citation must still quote its article; and the
server must go on answering. The LLM server is started again for the next kill.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port, llama_server, newsdesk_server

pytestmark = pytest.mark.slow

SEED = 20261202
LLM_TIMEOUT = 30.0  # the default; prompt processing alone can take 10 s here when the machine is busy
BOUND = LLM_TIMEOUT + 5  # seconds from the kill to the end of the stream
# SmolLM2-135M cites passages only when told to copy them: asked this with three passages it copies them
# (greedy decoding: the same reply every time) and three of its sentences verify, the first ~4-8 s after the
# request, the reply going on ~5 s longer, to its 200 tokens.
QUESTION = "What total civilian casualty figure did the OHCHR report? Repeat passage [1] word for word, writing [1] after every sentence."
PLAIN_QUESTION = "What total civilian casualty figure did the OHCHR report?"
# Random kills: (endpoint, anchor, longest delay). From the request: retrieval, prompt processing, the first
# tokens; from the first verified sentence the reader gets: the rest of the reply being generated.
RANDOM_KILLS = (("ask", "request", 4.0), ("chat", "request", 4.0), ("ask", "text", 4.0))


@dataclass
class Stream:
    """What a client read from one stream: events with their arrival time, and how the stream ended."""

    events: list[tuple[float, str, dict | str]] = field(default_factory=list)
    killed_at: float | None = None
    ended_at: float | None = None

    def before_kill(self, kind: str) -> list[dict]:
        return [d for t, e, d in self.events if e == kind and self.killed_at is not None and t < self.killed_at]


@pytest.fixture(scope="module")
def llm_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def newsdesk(seed_copy_module: Path, llm_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("newsdesk") / "server.log"
    with newsdesk_server(seed_copy_module, log, llm_base_url=f"http://127.0.0.1:{llm_port}/v1", llm_model="smollm2",
                         llm_timeout=str(LLM_TIMEOUT), llm_max_tokens="200", top_k="3") as base:
        assert httpx.get(base + "/readyz", timeout=120).status_code == 200  # models loaded before the first stream
        yield base


class Killer:
    """SIGKILLs the LLM server ``delay`` seconds after ``anchor``: the request (``"request"``) or the first answer
    text the reader gets (``"text"``); records the moment in ``stream.killed_at``. With no delay the reader's own
    thread kills, before it reads on."""

    def __init__(self, proc: subprocess.Popen, stream: Stream, anchor: str = "text", delay: float = 0.0) -> None:
        self.proc, self.stream, self.anchor, self.delay = proc, stream, anchor, delay
        self.armed = False
        self.thread: threading.Thread | None = None

    def request_sent(self) -> None:
        if self.anchor == "request":
            self._arm()

    def text_received(self) -> None:
        if self.anchor == "text":
            self._arm()

    def join(self) -> None:
        if self.thread:
            self.thread.join()

    def _arm(self) -> None:
        if self.armed:
            return
        self.armed = True
        if self.delay:
            self.thread = threading.Thread(target=self._kill, daemon=True)
            self.thread.start()
        else:
            self._kill()

    def _kill(self) -> None:
        time.sleep(self.delay)
        self.stream.killed_at = time.monotonic()
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


def _read_ask_stream(base: str, proc: subprocess.Popen, anchor: str = "text", delay: float = 0.0) -> Stream:
    """``POST /ask/stream`` in LLM mode, the LLM server killed as :class:`Killer` says."""
    stream = Stream()
    killer = Killer(proc, stream, anchor, delay)
    killer.request_sent()
    with httpx.stream("POST", base + "/ask/stream", json={"question": QUESTION, "mode": "llm"},
                      timeout=httpx.Timeout(BOUND + 30, read=BOUND)) as response:
        assert response.status_code == 200
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                stream.events.append((time.monotonic(), event, json.loads(line.removeprefix("data: "))))
                if event == "text":  # a verified LLM sentence, or the fallback's text just before ``done``
                    killer.text_received()
    stream.ended_at = time.monotonic()
    killer.join()
    return stream


def _read_chat_stream(base: str, proc: subprocess.Popen, anchor: str = "text", delay: float = 0.0) -> Stream:
    """``POST /v1/chat/completions`` with ``stream: true`` on ``newsdesk-llm``, the LLM server killed as
    :class:`Killer` says (text: a chunk with answer content)."""
    stream = Stream()
    killer = Killer(proc, stream, anchor, delay)
    killer.request_sent()
    body = {"model": "newsdesk-llm", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    with httpx.stream("POST", base + "/v1/chat/completions", json=body,
                      timeout=httpx.Timeout(BOUND + 30, read=BOUND)) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if not line.startswith("data: "):
                continue
            data = line.removeprefix("data: ")
            if data == "[DONE]":
                stream.events.append((time.monotonic(), "[DONE]", data))
                continue
            chunk = json.loads(data)
            if "error" in chunk:
                stream.events.append((time.monotonic(), "error", chunk))
                continue
            stream.events.append((time.monotonic(), "chunk", chunk))
            content = chunk["choices"][0]["delta"].get("content") if chunk["choices"] else None
            if content:
                killer.text_received()
    stream.ended_at = time.monotonic()
    killer.join()
    return stream


def _assert_quotes_verify(base: str, citations: list[dict]) -> None:
    for c in citations:
        text = httpx.get(f"{base}/articles/{c['article_id']}", timeout=30).json()["text"]
        assert text[c["start"]:c["end"]] == c["quote"], c


def _assert_error_shape(data: dict) -> None:
    assert set(data) == {"error"} and isinstance(data["error"]["code"], str) and isinstance(data["error"]["message"], str)


def _assert_ask_stream_ended_well(base: str, stream: Stream) -> dict | None:
    """Bounded, terminated by ``done`` or ``error``, streamed text == the answer, quotes verified. :returns: done."""
    assert stream.killed_at is not None
    assert stream.ended_at - stream.killed_at < BOUND, "the stream outlived the LLM server by too long"
    kinds = [e for _, e, _ in stream.events]
    assert kinds[0] == "meta" and kinds[-1] in ("done", "error") and kinds.count("done") + kinds.count("error") == 1, kinds
    last = stream.events[-1][2]
    if kinds[-1] == "error":
        _assert_error_shape(last)
        return None
    texts = [d["text"] for _, e, d in stream.events if e == "text"]
    assert "".join(texts) == last["answer"], "the reader was sent text that is not the final answer"
    sent = {d["n"] for _, e, d in stream.events if e == "citation"}
    assert sent == {c["n"] for c in last["citations"]}
    _assert_quotes_verify(base, last["citations"])
    return last


def _assert_chat_stream_ended_well(base: str, stream: Stream) -> dict | None:
    """Bounded, ``[DONE]`` last, a stop chunk (or an error chunk) before it, every cited marker's quote verified.
    :returns: the stop chunk."""
    assert stream.killed_at is not None
    assert stream.ended_at - stream.killed_at < BOUND, "the stream outlived the LLM server by too long"
    kinds = [e for _, e, _ in stream.events]
    assert kinds[-1] == "[DONE]" and kinds.count("[DONE]") == 1, kinds
    if kinds[-2] == "error":
        _assert_error_shape(stream.events[-2][2])
        return None
    final = stream.events[-2][2]
    assert final["choices"][0]["finish_reason"] == "stop"
    content = "".join(c["choices"][0]["delta"].get("content", "") for _, e, c in stream.events if e == "chunk")
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", content)}
    assert {c["n"] for c in final["citations"]} <= markers, (content, final["citations"])  # each one used in the text
    _assert_quotes_verify(base, final["citations"])
    return final


def _assert_still_serving(base: str) -> None:
    response = httpx.post(base + "/ask", json={"question": PLAIN_QUESTION, "mode": "llm"}, timeout=BOUND + 30)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["mode"] == "extractive" and any("LLM unavailable" in w for w in answer["warnings"])  # the LLM is dead
    _assert_quotes_verify(base, answer["citations"])
    assert httpx.get(base + "/readyz", timeout=30).status_code == 200


def test_ask_stream_survives_the_llm_killed_mid_answer(newsdesk: str, llm_port: int, tmp_path: Path) -> None:
    with llama_server(tmp_path / "llama.log", port=llm_port) as (_, proc):
        stream = _read_ask_stream(newsdesk, proc)
    assert stream.before_kill("text"), "the LLM never streamed a verified sentence"
    done = _assert_ask_stream_ended_well(newsdesk, stream)
    assert done is not None and done["mode"] == "llm", done and done["warnings"]  # what the reader has seen is the answer
    assert any("LLM" in w and "mid-answer" in w for w in done["warnings"]), done["warnings"]
    _assert_still_serving(newsdesk)


def test_chat_completions_stream_survives_the_llm_killed_mid_answer(newsdesk: str, llm_port: int, tmp_path: Path) -> None:
    with llama_server(tmp_path / "llama.log", port=llm_port) as (_, proc):
        stream = _read_chat_stream(newsdesk, proc)
    assert any(c["choices"] and c["choices"][0]["delta"].get("content") for c in stream.before_kill("chunk"))
    final = _assert_chat_stream_ended_well(newsdesk, stream)
    assert final is not None and final["newsdesk"]["mode"] == "llm"
    assert any("LLM" in w and "mid-answer" in w for w in final["newsdesk"]["warnings"]), final["newsdesk"]["warnings"]
    _assert_still_serving(newsdesk)


def test_streams_survive_the_llm_killed_at_random_moments(newsdesk: str, llm_port: int, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    for i, (endpoint, anchor, longest) in enumerate(RANDOM_KILLS):
        delay = rng.uniform(0, longest)
        with llama_server(tmp_path / f"llama-{i}.log", port=llm_port) as (_, proc):
            stream = (_read_chat_stream if endpoint == "chat" else _read_ask_stream)(newsdesk, proc, anchor, delay)
        if endpoint == "chat":
            final = _assert_chat_stream_ended_well(newsdesk, stream)
            answer = final["newsdesk"] if final else None
            streamed = any(c["choices"] and c["choices"][0]["delta"].get("content") for c in stream.before_kill("chunk"))
        else:
            answer = _assert_ask_stream_ended_well(newsdesk, stream)
            streamed = bool(stream.before_kill("text"))
        where = f"kill {i}: {endpoint}, {delay:.2f} s after the {anchor}; LLM sentences streamed before it: {streamed}"
        if answer is not None and stream.events[-1][0] > stream.killed_at:  # else an error event, or a finished stream
            if streamed:  # what the reader was sent stays the answer
                assert answer["mode"] == "llm", where
            elif answer["mode"] == "extractive":  # the fallback says why
                assert any("LLM" in w for w in answer["warnings"]), (where, answer["warnings"])
        _assert_still_serving(newsdesk)
