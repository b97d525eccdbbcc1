"""The articles: GET /articles/<id> (the original text, for auditors), GET /passages/<chunk_id>;
GET /articles (a page of the archive's articles); POST /articles and DELETE /articles/<id> (the write API)."""

from __future__ import annotations

import base64
import binascii
import dataclasses

from flask import Blueprint, Response, jsonify, request, url_for

from ...domain import Filters
from ...errors import InvalidField, NotFound
from ...runtime.jobs import report_dict
from ..auth import current_key, requires
from ..context import get_engine
from ..uploads import articles_of, count_lines, json_records, receive, upload_of
from ..validate import parse_filters, parse_highlights
from ..writes import get_writes

__all__ = ["DEFAULT_PAGE", "LIST_PARAMETERS", "MAX_PAGE", "bp"]

bp = Blueprint("articles", __name__)

DEFAULT_PAGE = 50
MAX_PAGE = 500
LIST_PARAMETERS = ("limit", "cursor", "publisher", "published_from", "published_to")


def _cursor(article_id: str) -> str:
    return base64.urlsafe_b64encode(article_id.encode("utf-8")).decode("ascii").rstrip("=")


def _after(cursor: str) -> str:
    try:
        after = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        after = ""
    if not after:
        raise InvalidField("'cursor' is not a cursor this service gave (use next_cursor of the previous page)")
    return after


@bp.get("/articles")
def list_articles() -> Response:
    """A page of articles (metadata, no text) in id order; ``next_cursor`` fetches the next page."""
    unknown = sorted(set(request.args) - set(LIST_PARAMETERS))
    if unknown:
        raise InvalidField(f"unknown parameter {unknown[0]!r}; the parameters are {', '.join(LIST_PARAMETERS)}")
    raw_limit = request.args.get("limit", str(DEFAULT_PAGE))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_PAGE:
        raise InvalidField(f"'limit' must be an integer from 1 to {MAX_PAGE}")
    limit = int(raw_limit)
    after = _after(request.args["cursor"]) if request.args.get("cursor") else None
    raw_filters = {name: request.args[name] for name in ("published_from", "published_to") if name in request.args}
    if "publisher" in request.args:
        raw_filters["publisher"] = request.args.getlist("publisher")
    filters = parse_filters(raw_filters) or Filters()
    rows = get_engine().store.list_articles(limit + 1, after, filters.publishers or None, filters.published_from, filters.published_to)
    page = rows[:limit]
    return jsonify({"articles": [dataclasses.asdict(row) for row in page],
                    "next_cursor": _cursor(page[-1].id) if len(rows) > limit else None})


@bp.post("/articles")
@requires("write")
def add_articles() -> tuple[Response, int, dict[str, str]]:
    """Index the articles of the body as ``newsdesk ingest`` would; a large body (or ``Prefer: respond-async``) as a job."""
    settings = get_engine().settings
    upload = upload_of(request)  # 415 or 422 before the body is read
    body = receive(request, settings)
    queued = False
    try:
        records = json_records(body) if upload.kind == "json" else None  # 400 before anything is indexed
        count = len(records) if records is not None else count_lines(body.lines()) if upload.kind == "jsonl" else 1
        if not count:
            raise InvalidField("the body holds no articles")
        writes = get_writes()
        if body.path is not None or "respond-async" in request.headers.get("Prefer", ""):
            key = current_key()
            job = writes.runner.submit(key.id if key else None, count,
                                       lambda: articles_of(upload, body, settings.max_article_bytes, records), body.discard)
            queued = True
            location = url_for("jobs.job", job_id=job.id)
            return jsonify({**job.to_dict(), "url": location}), 202, {"Location": location}
        items, total = articles_of(upload, body, settings.max_article_bytes, records)
        report = writes.writer.ingest(items, total=total, wait_seconds=settings.write_lock_wait_seconds)
        return jsonify(report_dict(report)), 200, {}
    finally:
        if not queued:
            body.discard()


@bp.delete("/articles/<path:article_id>")
@requires("write")
def delete_article(article_id: str) -> Response:
    settings = get_engine().settings
    generation = get_writes().writer.delete(article_id, wait_seconds=settings.write_lock_wait_seconds)
    if generation is None:
        raise NotFound(f"no article with id {article_id!r}")
    return jsonify({"deleted": article_id, "generation": generation})


@bp.get("/articles/<path:article_id>")
def article(article_id: str) -> Response:
    store = get_engine().store
    record = store.article(article_id)
    if record is None:
        raise NotFound(f"no article with id {article_id!r}")
    text = record.raw_text
    ranges = parse_highlights(request.args.get("highlight"), len(text))
    return jsonify({
        "id": record.id, "title": record.title, "publisher": record.publisher,
        "published_at": record.published_at, "updated_at": record.updated_at, "author": record.author,
        "url": record.url, "fetched_at": record.fetched_at, "text": text,
        "format": record.format, "content_hash": record.content_hash, "ingested_at": record.ingested_at,
        "cluster_id": record.cluster_id,
        "copies": [a for a in store.cluster_members(record.cluster_id) if a != article_id],
        "removed": [{"start": s, "end": e, "reason": r} for s, e, r in record.removed],
        "highlights": [{"start": s, "end": e, "text": text[s:e]} for s, e in ranges],
        "segments": _segments(text, ranges),
    })


def _segments(text: str, ranges: list[tuple[int, int]]) -> list[dict]:
    """The text cut at the highlight boundaries, each piece flagged, for rendering as text nodes."""
    cuts = sorted({0, len(text), *(p for r in ranges for p in r)})
    pieces = []
    for start, end in zip(cuts, cuts[1:]):
        marked = any(s <= start and end <= e for s, e in ranges)
        pieces.append({"start": start, "end": end, "text": text[start:end], "highlighted": marked})
    return pieces


@bp.get("/passages/<chunk_id>")
def passage(chunk_id: str) -> Response:
    store = get_engine().store
    stored = store.passage(chunk_id)
    if stored is None:
        raise NotFound(f"no passage with id {chunk_id!r}")
    sentences = store.sentences(stored.article_id)[stored.first_sentence:stored.last_sentence + 1]
    return jsonify({
        "chunk_id": stored.chunk_id, "article_id": stored.article_id, "start": stored.start, "end": stored.end,
        "text": stored.text, "n_tokens": stored.n_tokens,
        "sentences": [{"start": s.start, "end": s.end, "text": s.text} for s in sentences],
        "title": stored.title, "publisher": stored.publisher, "published_at": stored.published_at, "url": stored.url,
    })
