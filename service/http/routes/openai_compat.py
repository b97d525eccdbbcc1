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
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ...config import Settings
from ...domain import Turn
from ...errors import InvalidField
from ..context import get_engine
from ..serialize import to_json
from ..sse import event_stream, live_events
from ..validate import MAX_QUESTION_CHARS, json_body, parse_moment

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
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        return " ".join(p.get("text", "") for p in content if p.get("type") == "text")
    raise InvalidField(f"'{where}.content' must be a string or a list of content parts")


@dataclass(frozen=True)
class ChatRequest:
    question: str
    mode: str | None
    history: list[Turn]
    conversation_id: str | None
    model: str
    as_of: datetime | None  # ``metadata.as_of``: when the question is asked (default: now)


def _parse(body: dict[str, Any], settings: Settings) -> ChatRequest:
    model = body.get("model", "newsdesk")
    if model not in available_models(settings):
        raise InvalidField(f"unknown model {model!r}; the models are {', '.join(available_models(settings))}")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise InvalidField("'messages' must be a non-empty list of message objects")
    turns = [(m.get("role"), _text(m.get("content"), f"messages[{i}]")) for i, m in enumerate(messages)]
    if turns[-1][0] != "user":
        raise InvalidField("the last message must have role 'user': it is the question")
    question = turns[-1][1].strip()
    if not question:
        raise InvalidField("the last user message is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidField(f"the question is {len(question)} characters; the limit is {MAX_QUESTION_CHARS}")
    history = [Turn(q, q, a) for (r1, q), (r2, a) in zip(turns[:-1], turns[1:-1]) if r1 == "user" and r2 == "assistant"]
    conversation_id = body.get("conversation_id")
    if conversation_id is not None and not isinstance(conversation_id, str):
        raise InvalidField("'conversation_id' must be a string")
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise InvalidField("'metadata' must be an object of strings")
    return ChatRequest(question, MODELS[model], history, conversation_id, model, parse_moment(metadata.get("as_of"), "metadata.as_of"))


@bp.post("/v1/chat/completions")
def chat_completions() -> Response:
    engine = get_engine()
    body = json_body(request)
    req = _parse(body, engine.settings)
    conversation = engine.conversation(req.conversation_id, req.history)
    completion_id, created = "chatcmpl-" + secrets.token_hex(12), int(time.time())
    if body.get("stream"):
        events = live_events(engine, req.question, conversation, mode=req.mode, as_of=req.as_of)
        return event_stream(engine, _chunks(events, completion_id, created, req.model))
    data = engine.ask(req.question, conversation, mode=req.mode, as_of=req.as_of).to_dict()
    return jsonify({
        "id": completion_id, "object": "chat.completion", "created": created, "model": req.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": data["answer"]}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "citations": data["citations"], "newsdesk": _extra(data),
    })


def _extra(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in ("abstained", "mode", "warnings", "closest", "conversation_id", "query", "timings", "as_of",
                                 "timeframe", "short_answer", "sources") if k in data}


def _chunks(events: Iterator[tuple[str, Any]], completion_id: str, created: int, model: str) -> Iterator[str]:
    """The stream's events as chat.completion.chunk objects (citations ride with the text that uses them)."""
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        payload = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {to_json(payload)}\n\n"

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
        elif event == "error":
            yield f"data: {to_json(data)}\n\n"
    yield "data: [DONE]\n\n"
