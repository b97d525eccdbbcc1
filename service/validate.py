"""Turning request bodies and query strings into typed values, or a precise error."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Request

from .errors import BadRequest, InvalidField, UnsupportedMediaType
from .retrieve import Filters

MAX_QUESTION_CHARS = 2000
MAX_TOP_K = 20
MODES = ("extractive", "llm")
ASK_FIELDS = ("question", "top_k", "filters", "mode", "conversation_id")
FILTER_FIELDS = ("publisher", "published_from", "published_to")


@dataclass(frozen=True)
class AskRequest:
    question: str
    top_k: int
    filters: Filters | None
    mode: str | None
    conversation_id: str | None


def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object: 415 unless it says JSON, 400 unless it is a JSON object."""
    if not request.is_json:
        raise UnsupportedMediaType(f"send the body as JSON with 'Content-Type: application/json' (got {request.content_type or 'none'!r})")
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequest("the body is not valid JSON")
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, not {type(body).__name__}")
    return body


def parse_ask(body: dict[str, Any], default_top_k: int) -> AskRequest:
    unknown = sorted(set(body) - set(ASK_FIELDS))
    if unknown:
        raise InvalidField(f"unknown field {unknown[0]!r}; the fields are {', '.join(ASK_FIELDS)}")
    question = body.get("question")
    if not isinstance(question, str):
        raise InvalidField("'question' is required and must be a string")
    if not question.strip():
        raise InvalidField("'question' is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidField(f"'question' is {len(question)} characters; the limit is {MAX_QUESTION_CHARS}")
    top_k = body.get("top_k", default_top_k)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise InvalidField(f"'top_k' must be an integer from 1 to {MAX_TOP_K}")
    mode = body.get("mode")
    if mode is not None and mode not in MODES:
        raise InvalidField(f"'mode' must be one of {', '.join(MODES)}")
    conversation_id = body.get("conversation_id")
    if conversation_id is not None and (not isinstance(conversation_id, str) or not re.fullmatch(r"[\w-]{1,100}", conversation_id)):
        raise InvalidField("'conversation_id' must be 1-100 letters, digits, '-' or '_'")
    return AskRequest(question.strip(), top_k, parse_filters(body.get("filters")), mode, conversation_id)


def parse_filters(raw: Any) -> Filters | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidField("'filters' must be an object")
    unknown = sorted(set(raw) - set(FILTER_FIELDS))
    if unknown:
        raise InvalidField(f"unknown filter {unknown[0]!r}; the filters are {', '.join(FILTER_FIELDS)}")
    publisher = raw.get("publisher")
    publishers: tuple[str, ...] = ()
    if publisher is not None:
        items = [publisher] if isinstance(publisher, str) else publisher
        if not isinstance(items, list) or not items or not all(isinstance(p, str) and p.strip() for p in items):
            raise InvalidField("'filters.publisher' must be a non-empty string or a list of them")
        publishers = tuple(p.strip() for p in items)
    dates = {}
    for name in ("published_from", "published_to"):
        value = raw.get(name)
        if value is not None:
            try:
                dates[name] = date.fromisoformat(value).isoformat() if isinstance(value, str) else None
            except ValueError:
                dates[name] = None
            if dates[name] is None:
                raise InvalidField(f"'filters.{name}' must be an ISO date such as 2022-01-31")
    if dates.get("published_from") and dates.get("published_to") and dates["published_from"] > dates["published_to"]:
        raise InvalidField("'filters.published_from' is after 'filters.published_to'")
    return Filters(publishers, dates.get("published_from"), dates.get("published_to"))


def parse_highlights(raw: str | None, length: int) -> list[tuple[int, int]]:
    """``"10-42,100-120"`` as ranges inside an article of ``length`` characters."""
    if not raw:
        return []
    ranges = []
    for part in raw.split(","):
        match = re.fullmatch(r"\s*(\d+)-(\d+)\s*", part)
        if not match:
            raise InvalidField(f"'highlight' takes ranges like 10-42,100-120; got {part!r}")
        start, end = int(match[1]), int(match[2])
        if not start < end <= length:
            raise InvalidField(f"highlight {start}-{end} is not a range inside the article's {length} characters")
        ranges.append((start, end))
    return sorted(ranges)
