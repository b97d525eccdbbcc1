"""Bodies of ``POST /articles``: received (in memory, or spooled to a file when large) and read into
articles by the same readers as ``newsdesk ingest`` (``index/sources.py``), so the API and the CLI
accept, refuse and report exactly alike.

=============================================  ===============================================
``Content-Type``                               read as
=============================================  ===============================================
``application/json``                           one article object, or a list of them (the JSON
                                               Lines fields: ``id``, ``text``, ``title``, ...)
``application/x-ndjson`` (``application/       JSON Lines: one article object per line
jsonl``, ``application/x-jsonlines``)
``text/html``, ``application/xhtml+xml``       one web page, read as an ``.html`` file is
                                               (``?id=`` or ``?url=`` names it)
``text/plain``                                 one plain-text article (``?id=`` or ``?url=``)
=============================================  ===============================================
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge

from newsdesk.index.fetch import url_article_id
from newsdesk.index.records import RawArticle, Skipped
from newsdesk.index.sources import PAGE_TYPES, article_from_record, read_document, read_jsonl_lines

from ..config import Settings
from ..errors import BadRequest, InvalidField, PayloadTooLarge, UnsupportedMediaType
from ..runtime.jobs import KEEP_SECONDS

__all__ = ["JSON_LINES_TYPES", "SOURCE", "TEXT_TYPES", "Body", "Upload", "articles_of", "count_lines", "json_records",
           "read_records", "receive", "upload_of"]

JSON_LINES_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/json-lines")
TEXT_TYPES = ("text/plain",)
SOURCE = "body"  # how a report names the body: "body", "body:3" (line 3), "body[2]" (item 2 of a list)
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Upload:
    """What a body is: ``kind`` json, jsonl or document; for a document, its id, URL and media type."""

    kind: str
    content_type: str
    article_id: str | None = None
    url: str | None = None


def upload_of(request: Request) -> Upload:
    """The kind of body from its ``Content-Type`` (415 for any other) and, for a page, its ``?id=``/``?url=`` (422 without)."""
    media_type = (request.mimetype or "").lower()
    if media_type == "application/json":
        return Upload("json", request.content_type or media_type)
    if media_type in JSON_LINES_TYPES:
        return Upload("jsonl", request.content_type or media_type)
    if media_type in PAGE_TYPES or media_type in TEXT_TYPES:
        unknown = sorted(set(request.args) - {"id", "url"})
        if unknown:
            raise InvalidField(f"unknown parameter {unknown[0]!r}; a page or text takes id and url")
        url = request.args.get("url") or None
        if url is not None and not url.startswith(("http://", "https://")):
            raise InvalidField("'url' must be an http(s) URL: where the page was published")
        article_id = request.args.get("id") or (url_article_id(url) if url else None)
        if article_id is None:
            raise InvalidField("name the article: ?id=ARTICLE_ID, or ?url=URL (its id is then made from the URL, "
                               "as `newsdesk ingest URL` makes it)")
        return Upload("document", request.content_type or media_type, article_id, url)
    raise UnsupportedMediaType(f"send articles as application/json (an object or a list), application/x-ndjson (JSON Lines), "
                               f"text/html (a page) or text/plain; got {request.content_type or 'no Content-Type'!r}")


@dataclass
class Body:
    """A received body: in memory (``data``) or, when larger than the job threshold, in a file (``path``)."""

    data: bytes | None
    path: Path | None
    size: int

    def bytes(self) -> bytes:
        return self.data if self.data is not None else self.path.read_bytes()  # type: ignore[union-attr]

    def lines(self) -> Iterator[bytes]:
        with io.BytesIO(self.data) if self.data is not None else open(self.path, "rb") as handle:  # type: ignore[arg-type]
            yield from handle  # split at b"\n" only, as a JSON Lines file is

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def receive(request: Request, settings: Settings) -> Body:
    """Read the body (at most ``NEWSDESK_MAX_UPLOAD_BYTES``, else 413): kept in memory up to
    ``NEWSDESK_WRITE_JOB_BYTES``, spooled to ``uploads/`` in the data folder beyond (a job will read it)."""
    limit = settings.max_upload_bytes
    too_large = PayloadTooLarge(f"the body is larger than {limit} bytes (NEWSDESK_MAX_UPLOAD_BYTES); "
                                "split it into several requests")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    request.max_content_length = limit
    memory = bytearray()
    handle = None
    path = None
    size = 0
    try:
        while chunk := request.stream.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise too_large
            if handle is None and size > settings.write_job_bytes:
                folder = settings.data_dir / "uploads"
                folder.mkdir(parents=True, exist_ok=True)
                _forget_abandoned(folder)
                fd, name = tempfile.mkstemp(prefix=f"body-{secrets.token_hex(4)}-", dir=folder)
                handle, path = os.fdopen(fd, "wb"), Path(name)
                handle.write(memory)
                memory = bytearray()
            if handle is not None:
                handle.write(chunk)
            else:
                memory += chunk
    except RequestEntityTooLarge:
        raise too_large from None
    except BaseException:
        if handle is not None:
            handle.close()
            path.unlink(missing_ok=True)  # type: ignore[union-attr]
        raise
    if handle is not None:
        handle.close()
        return Body(None, path, size)
    return Body(bytes(memory), None, size)


def _forget_abandoned(folder: Path) -> None:
    """Bodies left by workers that died before their job ended (a job's own body is removed when it ends)."""
    oldest = time.time() - KEEP_SECONDS
    for stale in folder.glob("body-*"):
        with contextlib.suppress(OSError):
            if stale.stat().st_mtime < oldest:
                stale.unlink()


def json_records(body: Body) -> list[object]:
    """The articles of a JSON body: one object, or a list of them; 400 if it is not JSON of that shape."""
    try:
        value = json.loads(body.bytes())
    except (ValueError, RecursionError):
        raise BadRequest("the body is not valid JSON (send one article object, or a list of them)") from None
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return value
    raise BadRequest(f"the body must be an article object or a list of them, not {type(value).__name__}")


def read_records(records: list[object], max_article_bytes: int) -> Iterator[RawArticle | Skipped]:
    """The articles of a JSON body's records, each held to the per-article size limit as a JSON line is."""
    single = len(records) == 1
    for n, record in enumerate(records):
        where = SOURCE if single else f"{SOURCE}[{n}]"
        size = len(json.dumps(record, ensure_ascii=False).encode("utf-8"))
        if size > max_article_bytes:
            yield Skipped(where, f"article is {size:,} bytes; the limit is {max_article_bytes:,} bytes per article")
            continue
        yield article_from_record(record, where)


def count_lines(lines: Iterable[bytes]) -> int:
    return sum(1 for line in lines if line.strip())


def articles_of(upload: Upload, body: Body, max_article_bytes: int,
                records: list[object] | None = None) -> tuple[Iterable[RawArticle | Skipped], int]:
    """The articles in a body (read lazily for JSON Lines) and how many inputs there are."""
    if upload.kind == "json":
        records = json_records(body) if records is None else records
        return read_records(records, max_article_bytes), len(records)
    if upload.kind == "jsonl":
        return read_jsonl_lines(body.lines(), SOURCE, max_article_bytes), count_lines(body.lines())
    article = read_document(body.bytes(), upload.article_id or "", SOURCE, upload.content_type, upload.url, max_article_bytes)
    return [article], 1
