"""``usage`` of the OpenAI-compatible endpoint (issue 13), through Flask's test client over a copy of the seed
index: filled with ``cl100k_base`` token counts (the messages' text, the answer), and with
``stream_options.include_usage`` a stream ends with a chunk of empty ``choices`` carrying it, as OpenAI's does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from flask.testing import FlaskClient

from newsdesk.index.chunk import count_tokens

from tests.service.http.conftest import BASE_URL, in_process, make_app
from tests.service.http.test_api import validate

QUESTION = "Who said 'we are also prepared for the worst'?"
SYSTEM = "You answer from the news archive."


@pytest.fixture(scope="module")
def app(seed_copy_module: Path):
    app = make_app(seed_copy_module)
    yield app
    app.extensions["newsdesk"].close()


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


def chat(client: FlaskClient, **fields):
    body = {"model": "newsdesk", "messages": [{"role": "user", "content": QUESTION}], **fields}
    return client.post("/v1/chat/completions", json=body)


def chunks(response) -> list[dict | str]:
    """The ``data:`` payloads of a streamed completion: chunk objects, and ``"[DONE]"``."""
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    found: list[dict | str] = []
    for block in response.get_data(as_text=True).split("\n\n"):
        if block.strip():
            assert block.startswith("data: ")
            data = block.removeprefix("data: ")
            found.append(data if data == "[DONE]" else json.loads(data))
    return found


def expected_usage(prompt: str, answer: str) -> dict[str, int]:
    p, c = count_tokens(prompt), count_tokens(answer)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def test_usage_counts_the_messages_and_the_answer(client: FlaskClient) -> None:
    response = chat(client)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    validate(body, "ChatCompletion")
    answer = body["choices"][0]["message"]["content"]
    assert "Stoltenberg" in answer
    assert body["usage"] == expected_usage(QUESTION, answer)
    assert body["usage"]["prompt_tokens"] > 5 and body["usage"]["completion_tokens"] > 10

    # Every message's text is the prompt (a system message and content parts too), not only the question.
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": [{"type": "text", "text": QUESTION}]}]
    longer = client.post("/v1/chat/completions", json={"model": "newsdesk", "messages": messages}).get_json()
    assert longer["usage"]["prompt_tokens"] == count_tokens(f"{SYSTEM}\n{QUESTION}") > body["usage"]["prompt_tokens"]
    assert longer["usage"]["total_tokens"] == longer["usage"]["prompt_tokens"] + longer["usage"]["completion_tokens"]


@pytest.mark.parametrize("fields", [{}, {"stream_options": None}, {"stream_options": {}}, {"stream_options": {"include_usage": False}}])
def test_a_stream_carries_no_usage_unless_asked(client: FlaskClient, fields: dict) -> None:
    found = chunks(chat(client, stream=True, **fields))
    assert found[-1] == "[DONE]"
    assert all("usage" not in c for c in found[:-1])
    assert all(len(c["choices"]) == 1 for c in found[:-1])


def test_include_usage_ends_the_stream_with_a_usage_chunk(client: FlaskClient) -> None:
    whole = chat(client).get_json()
    found = chunks(chat(client, stream=True, stream_options={"include_usage": True}))
    assert found[-1] == "[DONE]"
    *content, last = found[:-1]
    for c in found[:-1]:
        validate(c, "ChatCompletionChunk")
    # Every chunk before the last has usage null; the last has no choices and the usage, as OpenAI sends it.
    assert content and all(c["usage"] is None and len(c["choices"]) == 1 for c in content)
    assert content[-1]["choices"][0]["finish_reason"] == "stop"
    assert last["choices"] == [] and last["object"] == "chat.completion.chunk" and last["id"] == content[0]["id"]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in content)
    assert text == whole["choices"][0]["message"]["content"]
    assert last["usage"] == expected_usage(QUESTION, text) == whole["usage"]


def test_the_openai_client_reads_the_usage(app) -> None:
    with in_process(app) as http:
        client = openai.OpenAI(base_url=f"{BASE_URL}/v1", api_key="not-needed", max_retries=0, http_client=http)
        completion = client.chat.completions.create(model="newsdesk", messages=[{"role": "user", "content": QUESTION}])
        assert completion.usage is not None and completion.usage.total_tokens == \
            completion.usage.prompt_tokens + completion.usage.completion_tokens > 0
        stream = client.chat.completions.create(model="newsdesk", messages=[{"role": "user", "content": QUESTION}], stream=True,
                                                stream_options={"include_usage": True})
        received = list(stream)
    assert received[-1].choices == [] and received[-1].usage is not None
    assert received[-1].usage.model_dump() == completion.usage.model_dump()
    assert all(c.usage is None for c in received[:-1])


@pytest.mark.parametrize("stream_options, fragment", [
    ("yes", "'stream_options'"), ([], "'stream_options'"), ({"include_usage": "yes"}, "'stream_options.include_usage'"),
    ({"include_usage": 1}, "'stream_options.include_usage'"),
])
def test_mistyped_stream_options_are_refused(client: FlaskClient, stream_options: object, fragment: str) -> None:
    response = chat(client, stream=True, stream_options=stream_options)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "invalid_field" and fragment in response.get_json()["error"]["message"]
