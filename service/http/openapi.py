"""The OpenAPI 3.1 description of every endpoint: the registry tests check routes and responses against."""

from __future__ import annotations

from typing import Any

from ..query.sources import MAX_SOURCES, MIN_SOURCES
from .validate import ASK_FIELDS, MAX_QUESTION_CHARS, MAX_TOP_K, MODES

__all__ = ["SCHEMAS", "spec"]

_NULLABLE_STR = {"type": ["string", "null"]}
_CONVERSATION_ID = {"type": ["string", "null"], "pattern": "^[A-Za-z0-9_-]{1,100}$"}
_MOMENT = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}, {"type": "null"}]}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _ok(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _event(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """A Server-Sent Event named ``name`` whose data is JSON described by ``data`` (an event stream's schema
    describes each event: {event, data, id, retry}, as OpenAPI 3.2's itemSchema does)."""
    return {"type": "object", "required": ["event", "data"],
            "properties": {"event": {"const": name}, "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": data}}}


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"], "additionalProperties": False,
        "properties": {"error": {"type": "object", "required": ["code", "message"], "additionalProperties": False,
                                 "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}},
    },
    "Filters": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "publisher": {"oneOf": [{"type": "string", "pattern": "\\S"},
                                    {"type": "array", "items": {"type": "string", "pattern": "\\S"}, "minItems": 1}, {"type": "null"}]},
            "published_from": {"type": ["string", "null"], "format": "date"},
            "published_to": {"type": ["string", "null"], "format": "date"},
        },
    },
    "AskRequest": {
        "type": "object", "required": ["question"], "additionalProperties": False,
        "description": "A field that is null is as if it were absent (but top_k, when sent, is a number).",
        "properties": {
            "question": {"type": "string", "minLength": 1, "maxLength": MAX_QUESTION_CHARS, "pattern": "\\S"},
            "top_k": {"type": "integer", "minimum": 1, "maximum": MAX_TOP_K},
            "filters": {"oneOf": [{"$ref": "#/components/schemas/Filters"}, {"type": "null"}]},
            "mode": {"type": ["string", "null"], "enum": [*MODES, None]},
            "conversation_id": _CONVERSATION_ID,
            "as_of": {**_MOMENT, "description": "When the question is asked: an ISO 8601 date or date-time, years 1000-8999 (default: now). "
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
    "AnswerPart": {
        "type": "object", "required": ["text", "n"], "additionalProperties": False,
        "description": "A run of the answer's text: plain text (n null), or the answer's own citation marker [n]. Render "
                       "citations from these, never by finding [n] in the text: a quoted sentence may contain '[2]' itself.",
        "properties": {"text": {"type": "string"}, "n": {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]}},
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
                     "short_answer", "sources", "conversation_id", "query", "as_of", "timeframe", "answer_parts"],
        "properties": {
            "answer": {"type": "string", "description": "The answer, each sentence followed by [n] markers."},
            "answer_parts": {"type": "array", "items": {"$ref": "#/components/schemas/AnswerPart"},
                             "description": "The answer as text runs and its own markers; they concatenate to answer."},
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
            "model": {"type": "string", "enum": ["newsdesk", "newsdesk-extractive", "newsdesk-llm"],
                      "description": "newsdesk-llm only when the service has an LLM configured (GET /v1/models)."},
            "messages": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/ChatMessage"},
                         "description": "The last message is the user's question."},
            "stream": {"type": ["boolean", "null"]},
            "stream_options": {"type": ["object", "null"], "description": "With include_usage, a stream ends with a chunk of "
                               "empty choices and the usage (the chunks before it have usage null).",
                               "properties": {"include_usage": {"type": ["boolean", "null"]}}},
            "conversation_id": {**_CONVERSATION_ID, "description": "Newsdesk extra: use the history the server keeps."},
            "metadata": {"type": ["object", "null"], "additionalProperties": {"type": "string"},
                         "properties": {"as_of": {**_MOMENT, "description": "When the question is asked (ISO 8601), as in /ask."}}},
        },
    },
    "ChatMessage": {
        "type": "object", "required": ["role", "content"],
        "properties": {
            "role": {"type": "string", "description": "user, assistant, system...; only user and assistant turns are the conversation."},
            "content": {"oneOf": [{"type": "string"}, {"type": "array", "items": {
                "type": "object", "description": "A content part; only text parts are read, their text joined by spaces.",
                "properties": {"type": {"type": "string"}, "text": {"type": "string"}},
                "if": {"properties": {"type": {"const": "text"}}, "required": ["type"]}, "then": {"required": ["text"]}}}]},
        },
    },
    "ChatCompletionChunk": {
        "type": "object", "required": ["id", "object", "created", "model", "choices"],
        "properties": {
            "id": {"type": "string"}, "object": {"const": "chat.completion.chunk"}, "created": {"type": "integer"},
            "model": {"type": "string"}, "choices": {"type": "array"},
            "usage": {"oneOf": [{"$ref": "#/components/schemas/Usage"}, {"type": "null"}],
                      "description": "Only with stream_options.include_usage: null, and filled in the last chunk (empty choices)."},
            "citations": {"type": "array", "items": {"$ref": "#/components/schemas/Citation"},
                          "description": "Newsdesk extra: the citations this chunk's text introduces; all of them in the last chunk."},
            "newsdesk": {"type": "object", "description": "Newsdesk extra, in the last chunk: as in ChatCompletion."},
        },
    },
    "AskStreamEvent": {
        "description": "One Server-Sent Event of POST /ask/stream: its name and its JSON data.",
        "oneOf": [_event("meta", {"type": "object", "additionalProperties": False, "required": ["conversation_id", "mode"],
                                  "properties": {"conversation_id": {"type": "string"}, "mode": {"type": "string", "enum": list(MODES)}}}),
                  _event("citation", {"$ref": "#/components/schemas/Citation"}),
                  _event("text", {"type": "object", "additionalProperties": False, "required": ["text", "parts"],
                                  "properties": {"text": {"type": "string"},
                                                 "parts": {"type": "array", "items": {"$ref": "#/components/schemas/AnswerPart"}}}}),
                  _event("done", {"$ref": "#/components/schemas/AskResponse"}),
                  _event("error", {"$ref": "#/components/schemas/Error"})],
    },
    "ChatStreamEvent": {
        "description": "One Server-Sent Event of a streamed chat completion: a chunk, an error, or [DONE] last.",
        "type": "object", "required": ["data"],
        "properties": {"data": {"oneOf": [{"const": "[DONE]"}, {
            "type": "string", "contentMediaType": "application/json",
            "contentSchema": {"oneOf": [{"$ref": "#/components/schemas/ChatCompletionChunk"}, {"$ref": "#/components/schemas/Error"}]}}]}},
    },
    "ChatCompletion": {
        "type": "object", "required": ["id", "object", "created", "model", "choices", "usage", "citations", "newsdesk"],
        "properties": {
            "id": {"type": "string"}, "object": {"const": "chat.completion"}, "created": {"type": "integer"},
            "model": {"type": "string"}, "choices": {"type": "array"}, "usage": {"$ref": "#/components/schemas/Usage"},
            "citations": {"type": "array", "items": {"$ref": "#/components/schemas/Citation"},
                          "description": "Newsdesk extra: the citations behind the [n] markers of the message content."},
            "newsdesk": {"type": "object", "description": "Newsdesk extra: abstained, mode, warnings, closest, conversation_id, query, timings, as_of, timeframe, short_answer, sources."},
        },
    },
    "Usage": {
        "type": "object", "required": ["prompt_tokens", "completion_tokens", "total_tokens"],
        "description": "cl100k_base tokens (tiktoken), in every mode: of the messages' text, of the answer, and both.",
        "properties": {"prompt_tokens": {"type": "integer", "minimum": 0}, "completion_tokens": {"type": "integer", "minimum": 0},
                       "total_tokens": {"type": "integer", "minimum": 0}},
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
        "description": "Events: `meta` {conversation_id, mode}; `citation` (a Citation, sent just before the text that "
                       "uses it); `text` {text, parts} (pieces that concatenate to the answer; parts: the piece as AnswerParts, "
                       "whose markers alone are citations); `done` (the AskResponse); `error` "
                       "({error: {code, message}}, ends the stream). Bad requests are refused before the stream starts.",
        "operationId": "askStream",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AskRequest"}}}},
        "responses": {
            "200": {"description": "An event stream.",
                    "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/AskStreamEvent"}}}},
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
                                "text/event-stream": {"schema": {"$ref": "#/components/schemas/ChatStreamEvent"}}}},
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
    "/metrics": {"get": {"summary": "Prometheus metrics: requests, latency, answers and abstentions, index size (docs/api.md, Operations).",
                         "operationId": "metrics",
                         "responses": {"200": {"description": "The Prometheus text format",
                                               "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    "/openapi.json": {"get": {"summary": "This document.", "operationId": "openapi",
                              "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
}


# The write API, keys and rate limits (docs/api.md, "Writing articles", "API keys", "Rate limits").
_NULLABLE_DATE = {"type": ["string", "number", "null"], "description": "Any common unambiguous date form (ISO 8601, RFC 2822, "
                                                                       "epoch seconds...); stored as ISO 8601. One that does not parse is "
                                                                       "dropped with a warning."}
_SUMMARY_FIELDS = ("id", "title", "publisher", "author", "published_at", "updated_at", "url", "fetched_at", "format", "content_hash",
                   "ingested_at", "cluster_id")
SCHEMAS.update({
    "ArticleInput": {
        "type": "object", "required": ["id", "text"],
        "description": "One article, as a line of a JSON Lines export: id and text required; other fields where known. "
                       "A malformed optional field is dropped with a warning, the article kept.",
        "properties": {"id": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^\\x00-\\x1f/\\\\]+$"},
                       "text": {"type": "string", "minLength": 1}, "title": _NULLABLE_STR, "url": _NULLABLE_STR,
                       "publisher": _NULLABLE_STR, "author": _NULLABLE_STR, "published_at": _NULLABLE_DATE, "updated_at": _NULLABLE_DATE},
    },
    "IngestReport": {
        "type": "object", "additionalProperties": False,
        "required": ["added", "replaced", "unchanged", "skipped", "warnings", "chunks_embedded", "chunks_reused", "generation", "seconds"],
        "description": "What was done with each input, as `newsdesk ingest` reports it. Inputs are named by where they are in the body: "
                       "`body` (the one article), `body[N]` (item N of a JSON list, from 0), `body:N` (line N of JSON Lines, from 1).",
        "properties": {
            "added": {"type": "array", "items": {"type": "string"}},
            "replaced": {"type": "array", "items": {"type": "string"}, "description": "Ids whose text changed: the new version replaced the old."},
            "unchanged": {"type": "array", "items": {"type": "string"}, "description": "Ids already indexed with this exact text (a retry is harmless)."},
            "skipped": {"type": "array", "items": {"type": "object", "required": ["source", "reason"], "additionalProperties": False,
                                                   "properties": {"source": {"type": "string"}, "reason": {"type": "string"}}}},
            "warnings": {"type": "array", "items": {"type": "object", "required": ["source", "message"], "additionalProperties": False,
                                                    "properties": {"source": {"type": "string"}, "message": {"type": "string"}}}},
            "chunks_embedded": {"type": "integer", "minimum": 0}, "chunks_reused": {"type": "integer", "minimum": 0},
            "generation": {"type": "integer", "minimum": 0}, "seconds": {"type": "number", "minimum": 0},
        },
    },
    "Job": {
        "type": "object", "additionalProperties": False,
        "required": ["id", "status", "created_at", "started_at", "finished_at", "inputs_done", "inputs_total", "articles_committed",
                     "report", "error", "url"],
        "properties": {
            "id": {"type": "string"}, "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
            "created_at": {"type": "string"}, "started_at": _NULLABLE_STR, "finished_at": _NULLABLE_STR,
            "inputs_done": {"type": "integer", "minimum": 0}, "inputs_total": {"type": ["integer", "null"], "minimum": 0},
            "articles_committed": {"type": "integer", "minimum": 0},
            "report": {"oneOf": [{"$ref": "#/components/schemas/IngestReport"}, {"type": "null"}], "description": "Once done."},
            "error": {**_NULLABLE_STR, "description": "Why the job failed (batches committed before the failure stay indexed)."},
            "url": {"type": "string", "description": "Where to poll it: GET /jobs/{job_id}."},
        },
    },
    "ArticleSummary": {
        "type": "object", "additionalProperties": False, "required": list(_SUMMARY_FIELDS),
        "properties": {**{name: _NULLABLE_STR for name in _SUMMARY_FIELDS},
                       **{name: {"type": "string"} for name in ("id", "format", "content_hash", "ingested_at", "cluster_id")}},
    },
    "ArticleList": {
        "type": "object", "additionalProperties": False, "required": ["articles", "next_cursor"],
        "properties": {"articles": {"type": "array", "items": {"$ref": "#/components/schemas/ArticleSummary"}},
                       "next_cursor": {**_NULLABLE_STR, "description": "Pass as ?cursor= for the next page; null on the last page."}},
    },
    "Deleted": {"type": "object", "additionalProperties": False, "required": ["deleted", "generation"],
                "properties": {"deleted": {"type": "string"}, "generation": {"type": "integer"}}},
})
_WRITE_ERRORS = {
    "401": _error("No API key, or not a valid one (unknown or revoked)."),
    "403": _error("The API key's scope is read: writing needs write or admin."),
    "503": _error("The index's writer lock is held by another process (`newsdesk ingest`) for longer than "
                  "NEWSDESK_WRITE_LOCK_WAIT_SECONDS (code index_busy; retry after Retry-After seconds), or the index cannot be opened."),
}
PATHS["/articles"] = {
    "get": {
        "summary": "A page of the archive's articles (metadata, no text) in id order, filtered by publisher and publication date.",
        "operationId": "listArticles",
        "parameters": [
            {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
            {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "next_cursor of the previous page."},
            {"name": "publisher", "in": "query", "required": False, "explode": True,
             "schema": {"type": "array", "items": {"type": "string", "minLength": 1}}, "description": "Case-insensitive; repeat for several."},
            {"name": "published_from", "in": "query", "required": False, "schema": {"type": "string", "format": "date"}},
            {"name": "published_to", "in": "query", "required": False, "schema": {"type": "string", "format": "date"}},
        ],
        "responses": {"200": _ok("ArticleList", "The page."), "422": _error("An unknown parameter, or a bad limit, cursor or date."),
                      "503": _error("No index.")},
    },
    "post": {
        "summary": "Add or replace articles, checked and reported as `newsdesk ingest` does; a large body runs as a job (202).",
        "description": "The body is one article object or a list of them (application/json), JSON Lines (application/x-ndjson), "
                       "or one page (text/html) or text (text/plain) named by ?id= or ?url=. Bodies over NEWSDESK_WRITE_JOB_BYTES, "
                       "or sent with `Prefer: respond-async`, are indexed by a background job: 202 with the Job and a Location "
                       "to poll. Re-posting an article with the same id and text changes nothing (reported unchanged).",
        "operationId": "addArticles",
        "parameters": [
            {"name": "id", "in": "query", "required": False, "schema": {"type": "string", "minLength": 1, "maxLength": 200},
             "description": "The article id of a page or text body."},
            {"name": "url", "in": "query", "required": False, "schema": {"type": "string", "format": "uri"},
             "description": "Where a page was published; its id when ?id= is not given (as `newsdesk ingest URL` names it)."},
            {"name": "Prefer", "in": "header", "required": False, "schema": {"type": "string", "enum": ["respond-async"]}},
        ],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/ArticleInput"},
                                                      {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/ArticleInput"}}]}},
            "application/x-ndjson": {"schema": {"type": "string"}, "description": "One ArticleInput per line."},
            "text/html": {"schema": {"type": "string"}}, "text/plain": {"schema": {"type": "string"}},
        }},
        "responses": {
            "200": _ok("IngestReport", "Indexed (every input is in the report: added, replaced, unchanged or skipped with its reason)."),
            "202": {**_ok("Job", "Queued as a background job; poll GET /jobs/{job_id}."),
                    "headers": {"Location": {"schema": {"type": "string"}, "description": "The job's URL."}}},
            "400": _error("The JSON body is not valid JSON, or not an object or a list."),
            "413": _error("The body is larger than NEWSDESK_MAX_UPLOAD_BYTES."),
            "415": _error("Not one of the accepted content types."),
            "422": _error("A page or text without ?id= or ?url=, an unknown parameter, or a body with no articles."),
            **_WRITE_ERRORS,
        },
    },
}
PATHS["/articles/{article_id}"]["delete"] = {
    "summary": "Remove an article (its sentences, passages, vectors and BM25 rows); answers stop citing it at once.",
    "operationId": "deleteArticle",
    "parameters": [{"name": "article_id", "in": "path", "required": True, "schema": {"type": "string"}}],
    "responses": {"200": _ok("Deleted", "Deleted; the index's new generation."), "404": _error("No article with that id."), **_WRITE_ERRORS},
}
PATHS["/jobs/{job_id}"] = {"get": {
    "summary": "A background write's progress and, once done, its report (shown to the key that started it, and to admin keys).",
    "operationId": "getJob",
    "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
    "responses": {"200": _ok("Job", "The job."), "404": _error("No such job (or another key's)."),
                  "401": _WRITE_ERRORS["401"], "403": _WRITE_ERRORS["403"]},
}}
# Who needs a key (service/http/auth.py): writes always; reads when NEWSDESK_READ_REQUIRES_KEY is true.
WRITE_OPERATIONS = {("/articles", "post"), ("/articles/{article_id}", "delete"), ("/jobs/{job_id}", "get")}
READ_OPERATIONS = {("/ask", "post"), ("/ask/stream", "post"), ("/v1/chat/completions", "post"), ("/v1/models", "get"),
                   ("/articles", "get"), ("/articles/{article_id}", "get"), ("/passages/{chunk_id}", "get")}
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "An API key from `newsdesk keys create` (what OpenAI clients send)."},
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "api-key", "description": "The same key in Azure OpenAI's header."},
}


def _with_access(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation with its security and the answers keys and rate limits add (401, 403, 429)."""
    out: dict[str, Any] = {}
    for path, item in paths.items():
        out[path] = {}
        for method, operation in item.items():
            operation = {**operation, "responses": dict(operation["responses"])}
            responses = operation["responses"]
            responses.setdefault("429", {**_error("Too many requests from this API key or client address (code rate_limited)."),
                                         "headers": {"Retry-After": {"schema": {"type": "integer"},
                                                                     "description": "Seconds until a request is allowed again."}}})
            if (path, method) in WRITE_OPERATIONS:
                operation["security"] = [{"bearer": []}, {"apiKeyHeader": []}]
            elif (path, method) in READ_OPERATIONS:
                operation["security"] = [{}, {"bearer": []}, {"apiKeyHeader": []}]  # a key only when NEWSDESK_READ_REQUIRES_KEY
                responses.setdefault("401", _error("NEWSDESK_READ_REQUIRES_KEY is true and no valid API key was sent."))
            out[path][method] = operation
    return out


def spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Newsdesk", "version": "0.1.0",
                 "description": "Question answering over a news archive; every citation quotes the original article exactly. "
                                "Every start/end is a half-open range of Unicode code points of the article's original text "
                                "(Python text[start:end]; not UTF-16 units or bytes: in JavaScript, Array.from(text))."},
        "paths": _with_access(PATHS),
        "components": {"schemas": SCHEMAS, "securitySchemes": SECURITY_SCHEMES},
    }
