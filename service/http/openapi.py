"""The OpenAPI 3.1 description of every endpoint: the registry tests check routes and responses against."""

from __future__ import annotations

from typing import Any

from ..query.sources import MAX_SOURCES, MIN_SOURCES
from .validate import ASK_FIELDS, MAX_QUESTION_CHARS, MAX_TOP_K, MODES

__all__ = ["SCHEMAS", "spec"]

_NULLABLE_STR = {"type": ["string", "null"]}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _ok(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"], "additionalProperties": False,
        "properties": {"error": {"type": "object", "required": ["code", "message"], "additionalProperties": False,
                                 "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}},
    },
    "Filters": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "publisher": {"oneOf": [{"type": "string", "minLength": 1}, {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}]},
            "published_from": {"type": "string", "format": "date"},
            "published_to": {"type": "string", "format": "date"},
        },
    },
    "AskRequest": {
        "type": "object", "required": ["question"], "additionalProperties": False,
        "properties": {
            "question": {"type": "string", "minLength": 1, "maxLength": MAX_QUESTION_CHARS},
            "top_k": {"type": "integer", "minimum": 1, "maximum": MAX_TOP_K},
            "filters": {"$ref": "#/components/schemas/Filters"},
            "mode": {"type": "string", "enum": list(MODES)},
            "conversation_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,100}$"},
            "as_of": {"type": "string", "description": "When the question is asked: an ISO 8601 date or date-time (default: now). "
                                                       "Articles published later are not used; 'last week' is the week before it."},
        },
    },
    "Citation": {
        "type": "object", "additionalProperties": False,
        "required": ["n", "article_id", "chunk_id", "start", "end", "quote", "title", "publisher", "published_at", "url", "copies",
                     "label"],
        "description": "quote is exactly the article's original text[start:end].",
        "properties": {
            "n": {"type": "integer", "minimum": 1}, "article_id": {"type": "string"}, "chunk_id": {"type": "string"},
            "start": {"type": "integer", "minimum": 0}, "end": {"type": "integer", "minimum": 0}, "quote": {"type": "string"},
            "title": _NULLABLE_STR, "publisher": _NULLABLE_STR, "published_at": _NULLABLE_STR, "url": _NULLABLE_STR,
            "copies": {"type": "array", "items": {"type": "string"}},
            "label": {"type": "string", "description": "Publisher and date as the article states them, e.g. 'CNN, 10 Jan 2023' "
                                                       "('publisher not stated', 'date not stated' when missing)."},
        },
    },
    "Source": {
        "type": "object", "additionalProperties": False,
        "required": ["article_id", "title", "publisher", "published_at", "url", "quote", "start", "end", "score"],
        "description": "A distinct story beside the answer, shown by its best sentence: the one the answer cites, else the one "
                       "closest to the question. quote is exactly the article's original text[start:end]; score is the story's "
                       "retrieval score.",
        "properties": {"article_id": {"type": "string"}, "title": _NULLABLE_STR, "publisher": _NULLABLE_STR,
                       "published_at": _NULLABLE_STR, "url": _NULLABLE_STR, "quote": {"type": "string"},
                       "start": {"type": "integer", "minimum": 0}, "end": {"type": "integer", "minimum": 0}, "score": {"type": "number"}},
    },
    "AnswerSentence": {
        "type": "object", "required": ["text", "citations", "supported", "reason"], "additionalProperties": False,
        "properties": {"text": {"type": "string"}, "citations": {"type": "array", "items": {"type": "integer"}},
                       "supported": {"type": "boolean"}, "reason": _NULLABLE_STR},
    },
    "ClosestArticle": {
        "type": "object", "required": ["article_id", "title", "publisher", "published_at", "url", "score"], "additionalProperties": False,
        "properties": {"article_id": {"type": "string"}, "title": _NULLABLE_STR, "publisher": _NULLABLE_STR,
                       "published_at": _NULLABLE_STR, "url": _NULLABLE_STR, "score": {"type": "number"}},
    },
    "ShortAnswer": {
        "type": "object", "required": ["text", "start", "end", "article_id", "n", "label"], "additionalProperties": False,
        "description": "The few words that answer a factoid question: text is exactly the article's original text[start:end], "
                       "inside citation n; label is the entity type (PERSON, GPE, DATE, ...).",
        "properties": {"text": {"type": "string"}, "start": {"type": "integer", "minimum": 0}, "end": {"type": "integer", "minimum": 0},
                       "article_id": {"type": "string"}, "n": {"type": "integer", "minimum": 1}, "label": {"type": "string"}},
    },
    "AskResponse": {
        "type": "object", "additionalProperties": False,
        "required": ["answer", "citations", "abstained", "mode", "warnings", "timings", "sentences", "closest", "evidence_score",
                     "short_answer", "sources", "conversation_id", "query", "as_of", "timeframe"],
        "properties": {
            "answer": {"type": "string", "description": "The answer, each sentence followed by [n] markers."},
            "citations": {"type": "array", "items": {"$ref": "#/components/schemas/Citation"}},
            "abstained": {"type": "boolean"},
            "mode": {"type": "string", "enum": list(MODES)},
            "warnings": {"type": "array", "items": {"type": "string"}},
            "timings": {"type": "object", "additionalProperties": {"type": "number"}},
            "sentences": {"type": "array", "items": {"$ref": "#/components/schemas/AnswerSentence"}},
            "closest": {"type": "array", "items": {"$ref": "#/components/schemas/ClosestArticle"}},
            "evidence_score": {"type": "number"},
            "sources": {"type": "array", "items": {"$ref": "#/components/schemas/Source"}, "maxItems": MAX_SOURCES,
                        "description": f"The best distinct stories ({MIN_SOURCES} to {MAX_SOURCES} when retrieval found that many): "
                                       "the cited ones first, in citation order, then the others by score; the closest stories "
                                       "when abstaining."},
            "short_answer": {"oneOf": [{"$ref": "#/components/schemas/ShortAnswer"}, {"type": "null"}],
                             "description": "For a factoid question (who, where, when, how many, which country...), the entity "
                                            "of the cited sentences that answers it; null otherwise."},
            "conversation_id": {"type": "string", "description": "Send it with the next question to ask a follow-up."},
            "query": {"type": "string", "description": "What was searched: the question, or a follow-up resolved against the conversation."},
            "as_of": {"type": "string", "format": "date-time",
                      "description": "When the question was asked (UTC): nothing published later was used."},
            "timeframe": {"oneOf": [{"$ref": "#/components/schemas/TimeFrame"}, {"type": "null"}],
                          "description": "The period a time expression of the question named, relative to as_of; null if none."},
        },
    },
    "TimeFrame": {
        "type": "object", "additionalProperties": False, "required": ["start", "end", "expression"],
        "properties": {"start": {"type": ["string", "null"], "format": "date"}, "end": {"type": ["string", "null"], "format": "date"},
                       "expression": {"type": ["string", "null"]}},
    },
    "ChatRequest": {
        "type": "object", "required": ["messages"],
        "description": "The OpenAI chat request; fields other than these are accepted and ignored.",
        "properties": {
            "model": {"type": "string", "enum": ["newsdesk", "newsdesk-extractive", "newsdesk-llm"]},
            "messages": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["role", "content"]}},
            "stream": {"type": "boolean"},
            "conversation_id": {"type": "string", "description": "Newsdesk extra: use the history the server keeps."},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"},
                         "properties": {"as_of": {"type": "string", "description": "When the question is asked (ISO 8601), as in /ask."}}},
        },
    },
    "ChatCompletion": {
        "type": "object", "required": ["id", "object", "created", "model", "choices", "citations", "newsdesk"],
        "properties": {
            "id": {"type": "string"}, "object": {"const": "chat.completion"}, "created": {"type": "integer"},
            "model": {"type": "string"}, "choices": {"type": "array"}, "usage": {"type": "object"},
            "citations": {"type": "array", "items": {"$ref": "#/components/schemas/Citation"},
                          "description": "Newsdesk extra: the citations behind the [n] markers of the message content."},
            "newsdesk": {"type": "object", "description": "Newsdesk extra: abstained, mode, warnings, closest, conversation_id, query, timings, as_of, timeframe, short_answer, sources."},
        },
    },
    "ModelList": {"type": "object", "required": ["object", "data"],
                  "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": {"type": "object", "required": ["id", "object"]}}}},
    "Article": {
        "type": "object", "additionalProperties": False,
        "required": ["id", "title", "publisher", "published_at", "updated_at", "author", "url", "fetched_at", "text", "format",
                     "content_hash", "ingested_at", "cluster_id", "copies", "removed", "highlights", "segments"],
        "properties": {
            "id": {"type": "string"}, "title": _NULLABLE_STR, "publisher": _NULLABLE_STR,
            "published_at": {**_NULLABLE_STR, "description": "ISO 8601: a date, or a date-time in UTC; null when the article does not say."},
            "updated_at": {**_NULLABLE_STR, "description": "As published_at: when the page says it was last updated."},
            "author": _NULLABLE_STR,
            "url": _NULLABLE_STR, "fetched_at": {**_NULLABLE_STR, "description": "UTC date-time a web page was fetched; null for files."},
            "text": {"type": "string", "description": "The original article text, unchanged."},
            "format": {"type": "string"}, "content_hash": {"type": "string"}, "ingested_at": {"type": "string"},
            "cluster_id": {"type": "string"}, "copies": {"type": "array", "items": {"type": "string"}},
            "removed": {"type": "array", "items": {"type": "object", "required": ["start", "end", "reason"],
                                                   "properties": {"start": {"type": "integer"}, "end": {"type": "integer"}, "reason": {"type": "string"}}}},
            "highlights": {"type": "array", "items": {"$ref": "#/components/schemas/Span"}},
            "segments": {"type": "array", "items": {"type": "object", "required": ["start", "end", "text", "highlighted"],
                                                    "properties": {"start": {"type": "integer"}, "end": {"type": "integer"},
                                                                   "text": {"type": "string"}, "highlighted": {"type": "boolean"}}}},
        },
    },
    "Span": {"type": "object", "required": ["start", "end", "text"], "additionalProperties": False,
             "properties": {"start": {"type": "integer"}, "end": {"type": "integer"}, "text": {"type": "string"}}},
    "Passage": {
        "type": "object", "additionalProperties": False,
        "required": ["chunk_id", "article_id", "start", "end", "text", "n_tokens", "sentences", "title", "publisher", "published_at", "url"],
        "properties": {
            "chunk_id": {"type": "string"}, "article_id": {"type": "string"}, "start": {"type": "integer"}, "end": {"type": "integer"},
            "text": {"type": "string"}, "n_tokens": {"type": "integer"},
            "sentences": {"type": "array", "items": {"$ref": "#/components/schemas/Span"}},
            "title": _NULLABLE_STR, "publisher": _NULLABLE_STR, "published_at": _NULLABLE_STR, "url": _NULLABLE_STR,
        },
    },
    "Health": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}},
    "Ready": {"type": "object", "required": ["status", "articles", "chunks"],
              "properties": {"status": {"const": "ready"}, "articles": {"type": "integer"}, "chunks": {"type": "integer"}}},
}

PATHS: dict[str, Any] = {
    "/ask": {"post": {
        "summary": "Answer a question from the archive, with citations to the exact words of the source.",
        "operationId": "ask",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AskRequest"}}}},
        "responses": {
            "200": _ok("AskResponse", "An answer (or an abstention) with verified citations."),
            "400": _error("The body is not valid JSON, or not an object."),
            "413": _error("The body is larger than NEWSDESK_MAX_REQUEST_BYTES."),
            "415": _error("The body is not sent as application/json."),
            "422": _error(f"A field is invalid: unknown field, empty or over-long question, bad top_k, mode or filter. Fields: {', '.join(ASK_FIELDS)}."),
            "503": _error("No index has been built yet."),
        },
    }},
    "/ask/stream": {"post": {
        "summary": "The same answer as /ask, streamed as Server-Sent Events.",
        "description": "Events: `meta` {conversation_id, query, mode}; `citation` (a Citation, sent just before the text that "
                       "uses it); `text` {text} (pieces that concatenate to the answer); `done` (the AskResponse); `error` "
                       "({error: {code, message}}, ends the stream). Bad requests are refused before the stream starts.",
        "operationId": "askStream",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AskRequest"}}}},
        "responses": {
            "200": {"description": "An event stream.", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            "400": _error("The body is not valid JSON, or not an object."), "413": _error("The body is too large."),
            "415": _error("The body is not sent as application/json."), "422": _error("A field is invalid."),
            "503": _error("No index has been built yet."),
        },
    }},
    "/v1/chat/completions": {"post": {
        "summary": "OpenAI-compatible chat completion (streaming with stream=true); citations in the extra `citations` field.",
        "operationId": "chatCompletions",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChatRequest"}}}},
        "responses": {
            "200": {"description": "A chat.completion, or with stream=true chat.completion.chunk events ending with [DONE]; "
                                   "each chunk carries the citations its text introduces, the last one all of them.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChatCompletion"}},
                                "text/event-stream": {"schema": {"type": "string"}}}},
            "400": _error("The body is not valid JSON, or not an object."), "413": _error("The body is too large."),
            "415": _error("The body is not sent as application/json."),
            "422": _error("Unknown model, no messages, or the last message is not a non-empty user question."),
            "503": _error("No index has been built yet."),
        },
    }},
    "/v1/models": {"get": {"summary": "The models /v1/chat/completions accepts.", "operationId": "listModels",
                           "responses": {"200": _ok("ModelList", "The models.")}}},
    "/": {"get": {"summary": "The chat page (the widget, full page).", "operationId": "chatPage",
                  "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}}},
    "/widget.js": {"get": {"summary": "The embeddable widget: <script src=\"HOST/widget.js\" data-newsdesk-url=\"HOST\">.",
                           "operationId": "widgetScript",
                           "responses": {"200": {"description": "JavaScript", "content": {"text/javascript": {"schema": {"type": "string"}}}}}}},
    "/widget.css": {"get": {"summary": "The widget's styles (loaded inside its shadow root).", "operationId": "widgetStyles",
                            "responses": {"200": {"description": "CSS", "content": {"text/css": {"schema": {"type": "string"}}}}}}},
    "/articles/{article_id}": {"get": {
        "summary": "The original article, its metadata and near-duplicate copies; ?highlight=start-end,... marks spans.",
        "operationId": "getArticle",
        "parameters": [{"name": "article_id", "in": "path", "required": True, "schema": {"type": "string"}},
                       {"name": "highlight", "in": "query", "required": False, "schema": {"type": "string", "pattern": r"^\d+-\d+(,\d+-\d+)*$"}}],
        "responses": {"200": _ok("Article", "The article."), "404": _error("No article with that id."),
                      "422": _error("A highlight range is malformed or outside the article."), "503": _error("No index.")},
    }},
    "/passages/{chunk_id}": {"get": {
        "summary": "One indexed passage (chunk) with its sentences and offsets.",
        "operationId": "getPassage",
        "parameters": [{"name": "chunk_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _ok("Passage", "The passage."), "404": _error("No passage with that id."), "503": _error("No index.")},
    }},
    "/healthz": {"get": {"summary": "The process is up.", "operationId": "healthz",
                         "responses": {"200": _ok("Health", "Alive.")}}},
    "/readyz": {"get": {"summary": "The index is loaded and searchable.", "operationId": "readyz",
                        "responses": {"200": _ok("Ready", "Ready, with index counts."), "503": _error("No index yet.")}}},
    "/openapi.json": {"get": {"summary": "This document.", "operationId": "openapi",
                              "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
}


def spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Newsdesk", "version": "0.1.0",
                 "description": "Question answering over a news archive; every citation quotes the original article exactly. "
                                "Every start/end is a half-open range of Unicode code points of the article's original text "
                                "(Python text[start:end]; not UTF-16 units or bytes: in JavaScript, Array.from(text))."},
        "paths": PATHS,
        "components": {"schemas": SCHEMAS},
    }
