"""GET /articles/<id> (the original text, for auditors) and GET /passages/<chunk_id>."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ..errors import NotFound
from ..validate import parse_highlights

bp = Blueprint("articles", __name__)


@bp.get("/articles/<path:article_id>")
def article(article_id: str):
    store = current_app.extensions["newsdesk"].store
    record = store.article(article_id)
    if record is None:
        raise NotFound(f"no article with id {article_id!r}")
    text = record["raw_text"]
    ranges = parse_highlights(request.args.get("highlight"), len(text))
    return jsonify({
        "id": record["id"], "title": record["title"], "publisher": record["publisher"],
        "published_at": record["published_at"], "url": record["url"], "text": text,
        "format": record["format"], "content_hash": record["content_hash"], "ingested_at": record["ingested_at"],
        "cluster_id": record["cluster_id"],
        "copies": [a for a in store.cluster_members(record["cluster_id"]) if a != article_id],
        "removed": [{"start": s, "end": e, "reason": r} for s, e, r in record["removed"]],
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
def passage(chunk_id: str):
    store = current_app.extensions["newsdesk"].store
    chunk = store.chunk(chunk_id)
    if chunk is None:
        raise NotFound(f"no passage with id {chunk_id!r}")
    record = store.article(chunk["article_id"])
    sentences = store.sentences(chunk["article_id"])[chunk["first_sentence"]:chunk["last_sentence"] + 1]
    return jsonify({
        "chunk_id": chunk["id"], "article_id": chunk["article_id"], "start": chunk["start"], "end": chunk["end"],
        "text": chunk["text"], "n_tokens": chunk["n_tokens"],
        "sentences": [{"start": s["start"], "end": s["end"], "text": s["text"]} for s in sentences],
        "title": record["title"], "publisher": record["publisher"], "published_at": record["published_at"], "url": record["url"],
    })
