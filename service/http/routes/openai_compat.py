"""The OpenAI chat protocol: ``POST /v1/chat/completions`` (streaming or not) and ``GET /v1/models``.

The official ``openai`` client and chat front-ends work unchanged. The last user message
is the question; earlier user/assistant messages are the conversation a follow-up is
resolved against (or pass ``conversation_id`` to use one the server keeps). Models:
``newsdesk`` (the default mode), ``newsdesk-extractive``, and ``newsdesk-llm`` when an LLM
is configured.

The answer text carries ``[n]`` markers; the citations travel in an extra top-level field
``citations`` (the objects ``/ask`` returns). Streaming sends each citation in the chunk
whose text first uses it, and the last chunk repeats them all; other Newsdesk fields
(abstained, warnings, closest articles, sources, conversation id, query) are under ``newsdesk``.

``usage`` counts ``cl100k_base`` tokens (tiktoken's offline copy, as ingest sizes chunks) in every
mode, so the numbers mean the same whichever mode answered: ``prompt_tokens`` the text of the
messages sent, ``completion_tokens`` the answer's. With ``stream_options.include_usage`` a stream
ends, as OpenAI's does, with one more chunk whose ``choices`` is empty and whose ``usage`` is filled
(every chunk before it has ``"usage": null``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from newsdesk.index.chunk import count_tokens

from ...config import Settings
from ...domain import Turn
from ...errors import InvalidField
from ..context import get_engine
from ..serialize import to_json
from ..sse import event_stream, live_events
from ..validate import MAX_QUESTION_CHARS, json_body, parse_conversation_id, parse_moment

bp = Blueprint("openai", __name__)

MODELS = {"newsdesk": None, "newsdesk-extractive": "extractive", "newsdesk-llm": "llm"}


def available_models(settings: Settings) -> list[str]:
    return [m for m, mode in MODELS.items() if mode != "llm" or settings.llm_base_url]


@bp.get("/v1/models")
def models() -> Response:
    settings = get_engine().settings
    return jsonify({"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "newsdesk"}
                                               for m in available_models(settings)]})


def _text(content: Any, where: str) -> str:
    """A message's text: a string, or the text parts of a list of content parts (other parts, e.g. images, are skipped)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list) or not all(isinstance(p, dict) for p in content):
        raise InvalidField(f"'{where}.content' must be a string or a list of content parts")
    texts = [p.get("text") for p in content if p.get("type") == "text"]
    if not all(isinstance(text, str) for text in texts):
        raise InvalidField(f"'{where}.content': the 'text' of a text part must be a string")
    return " ".join(texts)


@dataclass(frozen=True)
class ChatRequest:
    question: str
    mode: str | None
    history: list[Turn]
    conversation_id: str | None
    model: str
    as_of: datetime | None  # ``metadata.as_of``: when the question is asked (default: now)
    prompt: str  # the text of every message, for ``usage.prompt_tokens``
    include_usage: bool  # ``stream_options.include_usage``: a stream ends with a usage chunk


def usage(prompt: str, completion: str) -> dict[str, int]:
    """OpenAI's ``usage`` object: ``cl100k_base`` tokens of the prompt and of the answer (see module doc)."""
    prompt_tokens, completion_tokens = count_tokens(prompt), count_tokens(completion)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}


def _parse(body: dict[str, Any], settings: Settings) -> ChatRequest:
    model = body.get("model", "newsdesk")
    if model not in available_models(settings):
        raise InvalidField(f"unknown model {model!r}; the models are {', '.join(available_models(settings))}")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise InvalidField("'messages' must be a non-empty list of message objects")
    if not all(isinstance(m.get("role"), str) for m in messages):
        raise InvalidField("every message needs a 'role' string (user, assistant, system...)")
    turns = [(m["role"], _text(m.get("content"), f"messages[{i}]")) for i, m in enumerate(messages)]
    if turns[-1][0] != "user":
        raise InvalidField("the last message must have role 'user': it is the question")
    question = turns[-1][1].strip()
    if not question:
        raise InvalidField("the last user message is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidField(f"the question is {len(question)} characters; the limit is {MAX_QUESTION_CHARS}")
    history = [Turn(q, a) for (r1, q), (r2, a) in zip(turns[:-1], turns[1:-1]) if r1 == "user" and r2 == "assistant"]
    if body.get("stream") is not None and not isinstance(body["stream"], bool):
        raise InvalidField("'stream' must be true or false")
    stream_options = {} if body.get("stream_options") is None else body["stream_options"]
    if not isinstance(stream_options, dict):
        raise InvalidField("'stream_options' must be an object")
    include_usage = stream_options.get("include_usage")
    if include_usage is not None and not isinstance(include_usage, bool):
        raise InvalidField("'stream_options.include_usage' must be true or false")
    metadata = {} if body.get("metadata") is None else body["metadata"]
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise InvalidField("'metadata' must be an object of strings")
    return ChatRequest(question, MODELS[model], history, parse_conversation_id(body.get("conversation_id")), model,
                       parse_moment(metadata.get("as_of"), "metadata.as_of"), "\n".join(text for _, text in turns),
                       bool(include_usage))


@bp.post("/v1/chat/completions")
def chat_completions() -> Response:
    engine = get_engine()
    body = json_body(request)
    req = _parse(body, engine.settings)
    conversation = engine.conversation(req.conversation_id, req.history)
    completion_id, created = "chatcmpl-" + secrets.token_hex(12), int(time.time())
    if body.get("stream"):
        events = live_events(engine, req.question, conversation, mode=req.mode, as_of=req.as_of)
        return event_stream(engine, _chunks(events, completion_id, created, req))
    data = engine.ask(req.question, conversation, mode=req.mode, as_of=req.as_of).to_dict()
    return jsonify({
        "id": completion_id, "object": "chat.completion", "created": created, "model": req.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": data["answer"]}, "finish_reason": "stop"}],
        "usage": usage(req.prompt, data["answer"]),
        "citations": data["citations"], "newsdesk": _extra(data),
    })


def _extra(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in ("abstained", "mode", "warnings", "closest", "conversation_id", "query", "timings", "as_of",
                                 "timeframe", "short_answer", "sources") if k in data}


def _chunks(events: Iterator[tuple[str, Any]], completion_id: str, created: int, req: ChatRequest) -> Iterator[str]:
    """The stream's events as chat.completion.chunk objects (citations ride with the text that uses them); with
    ``include_usage``, a last chunk with no choices and the usage."""
    def payload(choices: list[dict[str, Any]], **extra: Any) -> str:
        if req.include_usage:
            extra.setdefault("usage", None)
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": req.model,
                "choices": choices, **extra}
        return f"data: {to_json(body)}\n\n"

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return payload([{"index": 0, "delta": delta, "finish_reason": finish}], **extra)

    yield chunk({"role": "assistant", "content": ""})
    pending: list[dict[str, Any]] = []
    for event, data in events:
        if event == "citation":
            pending.append(data)
        elif event == "text":
            yield chunk({"content": data["text"]}, citations=pending)
            pending = []
        elif event == "done":
            yield chunk({}, "stop", citations=data["citations"], newsdesk=_extra(data))
            if req.include_usage:
                yield payload([], usage=usage(req.prompt, data["answer"]))
        elif event == "error":
            yield f"data: {to_json(data)}\n\n"
    yield "data: [DONE]\n\n"
