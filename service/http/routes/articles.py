"""GET /articles/<id> (the original text, for auditors) and GET /passages/<chunk_id>."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from ...errors import NotFound
from ..context import get_engine
from ..validate import parse_highlights

bp = Blueprint("articles", __name__)


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
