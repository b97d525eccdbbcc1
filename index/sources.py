"""Read articles from files, folders, JSON Lines exports and the web.

Readers never alter the text they read: what they yield as ``raw_text`` is what every
offset in the index refers to. Bad inputs are yielded as :class:`Skipped`, never raised,
so one bad file cannot stop an ingest or touch what is already indexed; every input that
is not indexed is yielded with its reason, unknown file types included. A bad field (a
date that does not parse, a title that is not a string) costs that field, named in the
article's ``warnings``, never the article.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from .charset import DecodeError, decode_document
from .dates import parse_date
from .fetch import FetchedDocument, FetchOptions, fetch_sources, is_url, url_article_id
from .records import Metadata, RawArticle, Skipped

__all__ = ["PAGE_TYPES", "SUFFIX_FORMATS", "article_from_record", "count_inputs", "read_document", "read_jsonl_lines", "read_sources"]

SUFFIX_FORMATS = {
    ".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md",
    ".html": "html", ".htm": "html", ".shtml": "html", ".xhtml": "html",
    ".php": "html", ".asp": "html", ".aspx": "html", ".jsp": "html",
    ".jsonl": "jsonl", ".ndjson": "jsonl",
}
_OPTIONAL_FIELDS = ("title", "url", "publisher", "author")
_DATE_FIELDS = ("published_at", "updated_at")
_ID_RE = re.compile(r"^[^\x00-\x1f/\\]{1,200}$")
_MARKUP_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S)
PAGE_TYPES = ("text/html", "application/xhtml+xml")  # media types read as a web page


def read_sources(paths: Iterable[str | os.PathLike[str]], max_article_bytes: int,
                 fetch: FetchOptions | None = None) -> Iterator[RawArticle | Skipped]:
    """Yield every article found under ``paths`` (files, folders, http(s) URLs of pages, feeds
    and sitemaps), in a stable order, or why it was skipped. ``fetch`` governs web fetching;
    pages larger than ``max_article_bytes`` are not fetched."""
    urls: list[str] = []
    for entry in paths:
        if isinstance(entry, str) and is_url(entry):
            urls.append(entry)
            continue
        path = Path(entry)
        if path.is_dir():
            files = _folder_files(path)
            if not files:
                yield Skipped(str(path), "empty directory: the folder holds no files")
            for file in files:
                yield from _read_file(file, max_article_bytes)
        elif path.exists() or path.is_symlink():
            yield from _read_file(path, max_article_bytes)
        elif "://" in str(entry):
            yield Skipped(str(entry), "not an http(s) URL or a file")
        else:
            yield Skipped(str(path), "no such file or directory")
    if urls and fetch is None:
        yield from (Skipped(url, "web sources need fetch options (newsdesk ingest gives them)") for url in urls)
    elif urls:
        options = replace(fetch, max_bytes=min(fetch.max_bytes, max_article_bytes))
        for item in fetch_sources(urls, options):
            yield item if isinstance(item, Skipped) else _read_fetched(item)


def count_inputs(paths: Iterable[str | os.PathLike[str]]) -> int | None:
    """How many inputs :func:`read_sources` will yield for ``paths`` (files, and the non-blank lines
    of JSON Lines files), for a progress bar's ETA; ``None`` when web sources make it unknowable."""
    total = 0
    for entry in paths:
        if isinstance(entry, str) and is_url(entry):
            return None
        path = Path(entry)
        for file in _folder_files(path) if path.is_dir() else [path]:
            if SUFFIX_FORMATS.get(Path(file.name.split("?", 1)[0]).suffix.lower()) == "jsonl":
                try:
                    with file.open("rb") as handle:
                        total += sum(1 for line in handle if line.strip())
                except OSError:
                    total += 1
            else:
                total += 1
    return total


def _folder_files(folder: Path) -> list[Path]:
    """Every file under ``folder`` but hidden ones, in a stable order: each is read or listed as skipped."""
    return sorted(p for p in folder.rglob("*")
                  if not p.is_dir() and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _format_of(path: Path, head: bytes) -> str | None:
    """The reader for a file: by its extension (a query string after it, as in a saved
    ``index.html?id=42``, is ignored); a file without one is HTML if it starts like a page
    and text otherwise. ``None`` for an extension no reader handles."""
    name = path.name.split("?", 1)[0]
    suffix = Path(name).suffix.lower()
    if suffix in SUFFIX_FORMATS:
        return SUFFIX_FORMATS[suffix]
    if not suffix or not re.fullmatch(r"\.[a-z]{1,5}", suffix):
        return "html" if _MARKUP_START.match(head.lstrip(b"\xef\xbb\xbf")) else "txt"
    return None


def _article_id(path: Path) -> str:
    """A file's name without its extension (keeping any query string: ``index?id=42``)."""
    name, _, query = path.name.partition("?")
    stem = Path(name).stem if Path(name).suffix.lower() in SUFFIX_FORMATS else name
    return f"{stem}?{query}" if query else stem


def _read_file(path: Path, max_article_bytes: int) -> Iterator[RawArticle | Skipped]:
    if not path.exists():
        yield Skipped(str(path), "no such file or directory (a dangling link?)")
        return
    try:
        with path.open("rb") as handle:
            head = handle.read(1024)
    except OSError as exc:
        yield Skipped(str(path), f"unreadable: {exc.strerror or exc}")
        return
    fmt = _format_of(path, head)
    if fmt is None:
        yield Skipped(str(path), f"unsupported file type {Path(path.name.split('?', 1)[0]).suffix}; "
                                 f"expected one of {', '.join(sorted(SUFFIX_FORMATS))} or a file without an extension")
        return
    if fmt == "jsonl":
        yield from _read_jsonl(path, max_article_bytes)
        return
    try:
        size = path.stat().st_size
        if size > max_article_bytes:
            yield Skipped(str(path), f"file is {size:,} bytes; the limit is {max_article_bytes:,} bytes per article")
            return
        data = path.read_bytes()
    except OSError as exc:
        yield Skipped(str(path), f"unreadable: {exc.strerror or exc}")
        return
    try:
        text = decode_document(data, markup=fmt == "html")
    except DecodeError as exc:
        yield Skipped(str(path), str(exc))
        return
    if fmt == "html":
        yield _page_article(_article_id(path), text, str(path), url=None)
    else:
        yield _check_not_empty(RawArticle(_article_id(path), text, str(path), fmt, source_text=text))


def _read_fetched(document: FetchedDocument) -> RawArticle | Skipped:
    """A fetched page, decoded by its Content-Type header or its own declaration."""
    media_type = (document.content_type or "").split(";", 1)[0].strip().lower()
    markup = media_type in PAGE_TYPES or (not media_type and bool(_MARKUP_START.match(document.data[:1024])))
    try:
        text = decode_document(document.data, content_type=document.content_type, markup=markup)
    except DecodeError as exc:
        return Skipped(document.requested_url, str(exc))
    article_id = url_article_id(document.url)
    if not markup:
        stated = Metadata(url=document.url, fetched_at=document.fetched_at)
        return _check_not_empty(RawArticle(article_id, text, document.requested_url, "txt", source_text=text, stated=stated))
    article = _page_article(article_id, text, document.requested_url, url=document.url)
    if isinstance(article, RawArticle):
        article = replace(article, stated=replace(article.stated, url=article.stated.url or document.url,
                                                  fetched_at=document.fetched_at))
    return article


def read_document(data: bytes, article_id: str, source: str, content_type: str | None, url: str | None,
                  max_article_bytes: int) -> RawArticle | Skipped:
    """One document sent whole (the HTTP write API): a page (``content_type`` one of :data:`PAGE_TYPES`)
    read as ``newsdesk ingest`` reads an ``.html`` file, anything else as plain text; decoded by the
    charset it declares (the ``Content-Type`` parameter, a BOM, the page's own declaration), else UTF-8.
    ``url``, when given, is where the page was published (kept unless the page states its own)."""
    if not _ID_RE.match(article_id):
        return Skipped(source, "the article id must be 1-200 characters with no '/', '\\' or control characters")
    if len(data) > max_article_bytes:
        return Skipped(source, f"document is {len(data):,} bytes; the limit is {max_article_bytes:,} bytes per article")
    markup = (content_type or "").split(";", 1)[0].strip().lower() in PAGE_TYPES
    try:
        text = decode_document(data, content_type=content_type, markup=markup)
    except DecodeError as exc:
        return Skipped(source, str(exc))
    if not markup:
        return _check_not_empty(RawArticle(article_id, text, source, "txt", source_text=text, stated=Metadata(url=url)))
    article = _page_article(article_id, text, source, url=url)
    if isinstance(article, RawArticle) and url and not article.stated.url:
        article = replace(article, stated=replace(article.stated, url=url))
    return article


def _page_article(article_id: str, html: str, source: str, url: str | None) -> RawArticle | Skipped:
    from .pages import read_page  # trafilatura and lxml: imported by the first web page, not by every server start

    page = read_page(html, url=url)
    if not page.text.strip():
        return Skipped(source, "no article text found in the page (trafilatura found no article body)")
    return _check_not_empty(RawArticle(article_id, page.text, source, "html", source_text=html,
                                       stated=page.metadata, warnings=page.warnings))


def _check_not_empty(article: RawArticle) -> RawArticle | Skipped:
    if not article.raw_text.strip():
        return Skipped(article.source, "empty article (no text)")
    if "\x00" in article.raw_text:
        # SQLite's string functions stop at NUL, so offsets past one could not be checked.
        return Skipped(article.source, "text contains NUL characters (U+0000)")
    return article


def _read_jsonl(path: Path, max_article_bytes: int) -> Iterator[RawArticle | Skipped]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield Skipped(str(path), f"unreadable: {exc.strerror or exc}")
        return
    with handle:
        yield from read_jsonl_lines(handle, str(path), max_article_bytes)


def read_jsonl_lines(lines: Iterable[bytes], source: str, max_article_bytes: int) -> Iterator[RawArticle | Skipped]:
    """The articles of JSON Lines ``lines`` (a file, or a body sent to the HTTP write API), each reported
    as ``SOURCE:LINE``; blank lines are ignored, every other line is an article or a :class:`Skipped`."""
    for lineno, line in enumerate(lines, start=1):
        where = f"{source}:{lineno}"
        if not line.strip():
            continue
        if len(line) > max_article_bytes:
            yield Skipped(where, f"line is {len(line):,} bytes; the limit is {max_article_bytes:,} bytes per article")
            continue
        try:
            decoded = decode_document(line)
        except DecodeError as exc:
            yield Skipped(where, str(exc))
            continue
        yield _parse_jsonl_record(decoded, where)


def _parse_jsonl_record(line: str, where: str) -> RawArticle | Skipped:
    """One JSON Lines article (see :func:`article_from_record`)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return Skipped(where, f"malformed JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return Skipped(where, "malformed JSON: nested too deeply")
    return article_from_record(record, where)


def article_from_record(record: object, where: str) -> RawArticle | Skipped:
    """One article given as a JSON object (a JSON line, or an object sent to the HTTP write API): ``id`` and
    ``text`` (required strings); ``title``, ``url``, ``publisher``, ``author``, ``published_at`` and
    ``updated_at`` where known. A malformed optional field is dropped with a warning; the article is kept."""
    if not isinstance(record, dict):
        return Skipped(where, "malformed record: expected a JSON object")
    for name in ("id", "text"):
        if name not in record:
            return Skipped(where, f"missing field '{name}'")
        if not isinstance(record[name], str):
            return Skipped(where, f"field '{name}' must be a string")
    if not _ID_RE.match(record["id"]):
        return Skipped(where, "field 'id' must be 1-200 characters with no '/', '\\' or control characters")
    stated: dict[str, str | None] = {}
    warnings: list[str] = []
    for name in _OPTIONAL_FIELDS:
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            warnings.append(f"field '{name}' dropped: expected a string, got {type(value).__name__}")
            value = None
        stated[name] = (value.strip() or None) if value else None
    for name in _DATE_FIELDS:
        value = record.get(name)
        if value is None or value == "":
            stated[name] = None
            continue
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            warnings.append(f"field '{name}' dropped: expected a date, got {type(value).__name__}")
            stated[name] = None
            continue
        parsed = parse_date(value)
        if parsed.warning:
            kept = "; the article is kept undated" if name == "published_at" else ""
            warnings.append(f"field '{name}' dropped: {parsed.warning}{kept}")
        stated[name] = parsed.value
    article = RawArticle(record["id"], record["text"], where, "jsonl", stated=Metadata(**stated), warnings=tuple(warnings))
    if not article.raw_text.strip():
        return Skipped(where, "empty article (field 'text' has no text)")
    return _check_not_empty(article)
