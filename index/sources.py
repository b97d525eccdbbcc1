"""Read articles from .txt, .md, .html files, folders of them, and JSON Lines exports.

Readers never alter the text they read: what they yield as ``raw_text`` is what every
offset in the index refers to. Bad inputs are yielded as :class:`Skipped`, never raised,
so one bad file cannot stop an ingest or touch what is already indexed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path

from .records import Metadata, RawArticle, Skipped

TEXT_SUFFIXES = {".txt": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUPPORTED_SUFFIXES = set(TEXT_SUFFIXES) | JSONL_SUFFIXES
JSONL_FIELDS = ("id", "title", "url", "publisher", "published_at", "text")
_ID_RE = re.compile(r"^[^\x00-\x1f/\\]{1,200}$")


def read_sources(paths: Iterable[str | os.PathLike[str]], max_article_bytes: int) -> Iterator[RawArticle | Skipped]:
    """Yield every article found under ``paths``, in a stable order, or why it was skipped."""
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*")
                if p.suffix.lower() in SUPPORTED_SUFFIXES and not p.is_dir()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not files:
                yield Skipped(str(path), f"folder holds no article files ({', '.join(sorted(SUPPORTED_SUFFIXES))})")
            for file in files:
                yield from _read_file(file, max_article_bytes)
        elif path.exists():
            yield from _read_file(path, max_article_bytes)
        else:
            yield Skipped(str(path), "no such file or directory")


def _read_file(path: Path, max_article_bytes: int) -> Iterator[RawArticle | Skipped]:
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        yield from _read_jsonl(path, max_article_bytes)
        return
    if suffix not in TEXT_SUFFIXES:
        yield Skipped(str(path), f"unsupported file type {suffix or '(none)'}; expected one of {sorted(SUPPORTED_SUFFIXES)}")
        return
    if not path.exists():
        yield Skipped(str(path), "no such file or directory (a dangling link?)")
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
    text = _decode(data)
    if isinstance(text, Skipped):
        yield Skipped(str(path), text.reason)
        return
    fmt = TEXT_SUFFIXES[suffix]
    if fmt == "html":
        raw_text, stated = html_to_text(text)
        article = RawArticle(path.stem, raw_text, str(path), fmt, source_text=text, stated=stated)
    else:
        article = RawArticle(path.stem, text, str(path), fmt, source_text=text)
    yield _check_not_empty(article)


def _decode(data: bytes) -> str | Skipped:
    """Strict decoding: a wrong guess would put mojibake into quotes, so refuse instead."""
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Skipped("", "binary file (contains NUL bytes)")
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Skipped("", f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); convert the file to UTF-8")
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > 0.01 * max(1, min(len(text), 8192)):
        return Skipped("", "binary file (control characters)")
    return text


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
        for lineno, line in enumerate(handle, start=1):
            where = f"{path}:{lineno}"
            if not line.strip():
                continue
            if len(line) > max_article_bytes:
                yield Skipped(where, f"line is {len(line):,} bytes; the limit is {max_article_bytes:,} bytes per article")
                continue
            decoded = _decode(line)
            if isinstance(decoded, Skipped):
                yield Skipped(where, decoded.reason)
                continue
            yield parse_jsonl_record(decoded, where)


def parse_jsonl_record(line: str, where: str) -> RawArticle | Skipped:
    """One JSON Lines article ``{"id","title","url","publisher","published_at","text"}``."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return Skipped(where, f"malformed JSON: {exc.msg} at column {exc.colno}")
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
    for name in ("title", "url", "publisher", "published_at"):
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            return Skipped(where, f"field '{name}' must be a string or null")
        stated[name] = value.strip() or None if isinstance(value, str) else None
    if stated["published_at"] is not None:
        iso = normalize_iso_date(stated["published_at"])
        if iso is None:
            return Skipped(where, f"field 'published_at' is not an ISO 8601 date: {stated['published_at']!r}")
        stated["published_at"] = iso
    article = RawArticle(record["id"], record["text"], where, "jsonl", stated=Metadata(**stated))
    if not article.raw_text.strip():
        return Skipped(where, "empty article (field 'text' has no text)")
    return _check_not_empty(article)


def normalize_iso_date(value: str) -> str | None:
    """``2022-10-30`` or an ISO datetime, returned in ISO form; anything else is ``None``."""
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
        return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return None


class _HTMLText(HTMLParser):
    """Collects the readable text of a page, one block element per paragraph."""

    SKIP = {"script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside", "form", "button", "iframe"}
    BLOCK = {"p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol",
             "blockquote", "figcaption", "figure", "table", "tr", "br", "hr", "pre", "dd", "dt", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.current: list[str] = []
        self.skip_depth = 0
        self.in_title = False
        self.title: str | None = None
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "meta":
            key = attr.get("property") or attr.get("name") or attr.get("itemprop")
            if key and attr.get("content"):
                self.meta.setdefault(key.lower(), attr["content"].strip())
        elif tag == "link" and attr.get("rel", "").lower() == "canonical" and attr.get("href"):
            self.meta.setdefault("canonical", attr["href"].strip())
        elif tag == "time" and attr.get("datetime"):
            self.meta.setdefault("time", attr["datetime"].strip())
        if tag in self.SKIP:
            self.skip_depth += 1
        elif tag == "title":
            self.in_title = True
        elif tag in self.BLOCK:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag == "title":
            self.in_title = False
        elif tag in self.BLOCK:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title = ((self.title or "") + data).strip() or None
        elif not self.skip_depth:
            self.current.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self.current).split())
        if text:
            self.blocks.append(text)
        self.current = []


def html_to_text(html: str) -> tuple[str, Metadata]:
    """The page's readable text (blocks separated by blank lines) and the metadata its tags state."""
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    parser._flush()
    meta = parser.meta
    published = meta.get("article:published_time") or meta.get("datepublished") or meta.get("time")
    stated = Metadata(
        title=meta.get("og:title") or parser.title,
        publisher=meta.get("og:site_name"),
        published_at=normalize_iso_date(published) if published else None,
        url=meta.get("canonical") or meta.get("og:url"),
    )
    return "\n\n".join(parser.blocks), stated
