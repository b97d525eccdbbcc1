"""Sources beside every answer, and citation labels, through the HTTP API in process over the seed index."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx
import pytest

from newsdesk.service.query.sources import MAX_SOURCES, MIN_SOURCES

from tests.service.http.test_api import ask, validate
from tests.service.http.test_conversation_api import events

ANSWERED = "What did Peskov say about the talks?"
UNANSWERABLE = "What is the capital of Australia?"



def answer(server: httpx.Client, body: dict) -> dict:
    response = ask(server, body)
    assert response.status_code == 200, response.text
    data = response.json()
    validate(data, "AskResponse")
    return data


def assert_sound_sources(server: httpx.Client, body: dict, count: range = range(MIN_SOURCES, MAX_SOURCES + 1)) -> None:
    """Distinct stories, each quote the article's text at its offsets; cited stories first by their first
    citation's sentence, in citation order, then the others by score."""
    sources = body["sources"]
    ids = [s["article_id"] for s in sources]
    assert len(sources) in count and len(set(ids)) == len(ids), ids
    for source in sources:
        text = server.get(f"/articles/{quote(source['article_id'], safe='')}", timeout=30).json()["text"]
        assert text[source["start"]:source["end"]] == source["quote"]
    first_citation = {}
    for citation in sorted(body["citations"], key=lambda c: c["n"]):
        first_citation.setdefault(citation["article_id"], citation)
    assert ids[:len(first_citation)] == list(first_citation)
    for source, citation in zip(sources, first_citation.values()):
        assert (source["start"], source["end"], source["quote"]) == (citation["start"], citation["end"], citation["quote"])
    rest = [s["score"] for s in sources[len(first_citation):]]
    assert rest == sorted(rest, reverse=True)


def test_an_answer_lists_its_sources(server: httpx.Client) -> None:
    body = answer(server, {"question": ANSWERED})
    assert not body["abstained"] and body["citations"]
    assert_sound_sources(server, body)


def test_an_abstention_lists_the_closest_stories_as_sources(server: httpx.Client) -> None:
    body = answer(server, {"question": UNANSWERABLE})
    assert body["abstained"] and body["citations"] == [] and body["closest"]
    assert_sound_sources(server, body)
    assert {s["article_id"] for s in body["sources"]} >= {c["article_id"] for c in body["closest"]}


def test_an_answer_from_one_passage_still_lists_several_stories(server: httpx.Client) -> None:
    body = answer(server, {"question": ANSWERED, "top_k": 1})
    assert len({c["article_id"] for c in body["citations"]}) == 1
    assert_sound_sources(server, body)


def test_an_archive_narrowed_to_one_story_lists_one_source(server: httpx.Client) -> None:
    body = answer(server, {"question": ANSWERED, "filters": {"publisher": "Press TV"}})
    assert_sound_sources(server, body, count=range(1, 2))
    assert body["sources"][0]["publisher"] == "Press TV"


def test_a_citation_is_labelled_with_its_publisher_and_date(server: httpx.Client) -> None:
    dated = answer(server, {"question": "What did Lavrov say?", "filters": {"published_from": "2022-10-01"}})
    assert {c["label"] for c in dated["citations"]} == {"publisher not stated, 30 Oct 2022"}  # 003 states a date, no publisher
    undated = answer(server, {"question": ANSWERED})
    assert {c["label"] for c in undated["citations"]} == {f"{c['publisher']}, date not stated" for c in undated["citations"]}


def test_the_stream_and_the_openai_endpoint_carry_the_sources(server: httpx.Client) -> None:
    expected = answer(server, {"question": ANSWERED})["sources"]
    with server.stream("POST", "/ask/stream", json={"question": ANSWERED}, timeout=60) as response:
        response.read()
    done = next(data for name, data in events(response) if name == "done")
    validate(done, "AskResponse")
    assert done["sources"] == expected
    chat = {"model": "newsdesk", "messages": [{"role": "user", "content": ANSWERED}]}
    completion = server.post("/v1/chat/completions", json=chat, timeout=60).json()
    assert completion["newsdesk"]["sources"] == expected
    with server.stream("POST", "/v1/chat/completions", json={**chat, "stream": True}, timeout=60) as response:
        response.read()
    chunks = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: {")]
    assert chunks[-1]["newsdesk"]["sources"] == expected
