"""Turning request bodies and query strings into typed values, or a precise error."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from flask import Request

from ..config import Settings
from ..domain import Filters
from ..errors import BadRequest, InvalidField, UnsupportedMediaType
from ..query.timeframe import parse_as_of

__all__ = ["ASK_FIELDS", "MAX_QUESTION_CHARS", "MAX_TOP_K", "MODES", "AskRequest", "ask_request", "check_mode", "json_body",
           "parse_ask", "parse_conversation_id", "parse_filters", "parse_highlights", "parse_moment"]

MAX_QUESTION_CHARS = 2000
MAX_TOP_K = 20
# as_of lies within these, so every period reckoned from it ("last week", "next year") is a date Python can hold.
AS_OF_RANGE = (datetime(1000, 1, 1, tzinfo=timezone.utc), datetime(9000, 1, 1, tzinfo=timezone.utc))
MAX_JSON_DEPTH = 32  # no request nests beyond 4 levels; a deeper one would only exhaust the stack of whatever reads it
MODES = ("extractive", "llm")
ASK_FIELDS = ("question", "top_k", "filters", "mode", "conversation_id", "as_of")
FILTER_FIELDS = ("publisher", "published_from", "published_to")


@dataclass(frozen=True)
class AskRequest:
    question: str
    top_k: int
    filters: Filters | None
    mode: str | None
    conversation_id: str | None
    as_of: datetime | None


def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object: 415 unless it says JSON, 400 unless it is a JSON object of Unicode text
    nested at most :data:`MAX_JSON_DEPTH` levels (see :func:`_check_tree`)."""
    if not request.is_json:
        raise UnsupportedMediaType(f"send the body as JSON with 'Content-Type: application/json' (got {request.content_type or 'none'!r})")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # the parser ran out of stack
        raise BadRequest(f"the body nests JSON more than {MAX_JSON_DEPTH} levels deep") from None
    if body is None:
        raise BadRequest("the body is not valid JSON")
    _check_tree(body)
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, not {type(body).__name__}")
    return body


def _check_tree(body: Any) -> None:
    """Walked without recursion: 400 for JSON nested deeper than :data:`MAX_JSON_DEPTH`, which every later
    recursive reader (``repr``, the JSON encoder) could fail on, and for an escaped lone surrogate
    (``"\\ud800"``): valid JSON syntax, but no Unicode character, so no tokenizer, database or UTF-8
    response can take it."""
    pending = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise BadRequest(f"the body nests JSON more than {MAX_JSON_DEPTH} levels deep")
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            pending += [(item, depth + 1) for item in items]
        elif isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise BadRequest(f"the body has an escaped lone surrogate (\\u{ord(value[exc.start]):04x}), which is not "
                                 "a Unicode character: send text as UTF-8 or as escaped surrogate pairs") from None


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
    if isinstance(top_k, float) and top_k.is_integer():  # 9.0 is the JSON number 9, as JSON Schema's "integer" has it
        top_k = int(top_k)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise InvalidField(f"'top_k' must be an integer from 1 to {MAX_TOP_K}")
    mode = body.get("mode")
    if mode is not None and mode not in MODES:
        raise InvalidField(f"'mode' must be one of {', '.join(MODES)}")
    return AskRequest(question.strip(), top_k, parse_filters(body.get("filters")), mode,
                      parse_conversation_id(body.get("conversation_id")), parse_moment(body.get("as_of")))


def parse_conversation_id(raw: Any) -> str | None:
    """A ``conversation_id`` as the service makes them (``c_`` and URL-safe base64), or absent."""
    if raw is not None and (not isinstance(raw, str) or not re.fullmatch(r"[\w-]{1,100}", raw, re.ASCII)):
        raise InvalidField("'conversation_id' must be 1-100 letters, digits, '-' or '_'")
    return raw


def ask_request(request: Request, settings: Settings) -> AskRequest:
    """The question a ``POST /ask`` or ``/ask/stream`` body asks, checked against what this service offers."""
    req = parse_ask(json_body(request), settings.top_k)
    check_mode(req.mode, settings)
    return req


def parse_moment(raw: Any, where: str = "as_of") -> datetime | None:
    """``as_of``: an ISO 8601 date or date-time (UTC when no offset is given), or absent (now)."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidField(f"'{where}' must be an ISO 8601 date or date-time string such as 2023-01-13T10:00:00Z")
    try:
        moment = parse_as_of(raw)
    except (ValueError, OverflowError) as exc:  # OverflowError: an offset moves year 1 or 9999 out of range
        raise InvalidField(f"'{where}': {exc}") from None
    if not AS_OF_RANGE[0] <= moment < AS_OF_RANGE[1]:
        raise InvalidField(f"'{where}' must be in the years {AS_OF_RANGE[0].year} to {AS_OF_RANGE[1].year - 1}")
    return moment


def check_mode(mode: str | None, settings: Settings) -> None:
    """``llm`` mode needs a configured LLM server; asking for it without one is the client's error."""
    if mode == "llm" and not settings.llm_base_url:
        raise InvalidField("'mode' llm is not available: this service has no LLM configured (NEWSDESK_LLM_BASE_URL)")


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
    """``"10-42,100-120"`` as ranges inside an article of ``length`` characters; absent is none, empty is an error."""
    if raw is None:
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
