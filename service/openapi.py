"""The OpenAPI 3.1 description of every endpoint: the registry tests check routes and responses against."""

from __future__ import annotations

from typing import Any

from .validate import ASK_FIELDS, MAX_QUESTION_CHARS, MAX_TOP_K, MODES

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
        },
    },
    "Citation": {
        "type": "object", "additionalProperties": False,
        "required": ["n", "article_id", "chunk_id", "start", "end", "quote", "title", "publisher", "published_at", "url", "copies"],
        "description": "quote is exactly the article's original text[start:end].",
        "properties": {
            "n": {"type": "integer", "minimum": 1}, "article_id": {"type": "string"}, "chunk_id": {"type": "string"},
            "start": {"type": "integer", "minimum": 0}, "end": {"type": "integer", "minimum": 0}, "quote": {"type": "string"},
            "title": _NULLABLE_STR, "publisher": _NULLABLE_STR, "published_at": _NULLABLE_STR, "url": _NULLABLE_STR,
            "copies": {"type": "array", "items": {"type": "string"}},
        },
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
    "AskResponse": {
        "type": "object", "additionalProperties": False,
        "required": ["answer", "citations", "abstained", "mode", "warnings", "timings", "sentences", "closest", "evidence_score"],
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
        },
    },
    "Article": {
        "type": "object", "additionalProperties": False,
        "required": ["id", "title", "publisher", "published_at", "url", "text", "format", "content_hash", "ingested_at",
                     "cluster_id", "copies", "removed", "highlights", "segments"],
        "properties": {
            "id": {"type": "string"}, "title": _NULLABLE_STR, "publisher": _NULLABLE_STR, "published_at": _NULLABLE_STR,
            "url": _NULLABLE_STR, "text": {"type": "string", "description": "The original article text, unchanged."},
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
                 "description": "Question answering over a news archive; every citation quotes the original article exactly."},
        "paths": PATHS,
        "components": {"schemas": SCHEMAS},
    }
