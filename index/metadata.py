"""Title, publisher, publication date and URL: only what the article itself states.

Structured statements (JSON Lines fields, HTML meta tags) win; otherwise the text is
read for explicit statements ("Published October 30,2022", a headline line, the
outlet naming itself in its own furniture). Nothing is inferred: absent stays absent.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

from .records import Metadata, RawArticle, Span

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"], 1)}
_MONTH_RE = r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DATE_PATTERNS = (
    re.compile(_MONTH_RE + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\s*,?\s*(?P<year>\d{4})", re.I),
    re.compile(r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH_RE + r"\s*,?\s*(?P<year>\d{4})", re.I),
    re.compile(r"(?P<year>\d{4})-(?P<mon>\d{2})-(?P<day>\d{2})"),
)
_DATELINE = re.compile(r"^(?:published|posted|first published|date)\b[\s:]*(?:on\s+)?(?P<rest>.+)$", re.I)
_URL_LINE = re.compile(r"^(?:source|url|link|original(?: article)?|canonical)\s*:\s*(?P<url>https?://\S+)$", re.I)
_NAME = r"(?P<name>(?:The\s+)?[A-Z][\w’'&.-]*(?:\s+[A-Z][\w’'&.-]*){0,4})"
_PUBLISHER_PATTERNS = (
    re.compile(r"^Support\s+" + _NAME + r"\s*!$"),
    re.compile(r"^A message from\s+" + _NAME + r"\s*:?$", re.I),
    re.compile(r"\bjournalists of\s+" + _NAME + r"\b"),
    re.compile(r"^" + _NAME + r"[’']s? (?:website|site|app)\b"),
    re.compile(r"\bedited by\s+" + _NAME + r"\s+staff\b"),
    re.compile(r"^©\s*(?:\d{4}\s+)?" + _NAME),
)


def parse_stated_date(text: str) -> str | None:
    """An ISO date from a written date such as ``October 30,2022``; ``None`` if there is none."""
    for pattern in _DATE_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        parts = match.groupdict()
        month = int(parts["mon"]) if parts.get("mon") else _MONTHS[next(m for m in _MONTHS if m.startswith(parts["month"].lower().rstrip(".")[:3]))]
        try:
            return date(int(parts["year"]), month, int(parts["day"])).isoformat()
        except ValueError:
            return None
    return None


def extract_metadata(article: RawArticle, kept: tuple[Span, ...], removed: tuple[tuple[Span, str], ...]) -> Metadata:
    """Metadata the article states, preferring structured fields over what its text says."""
    raw = article.raw_text
    stated = article.stated
    return replace(
        stated,
        title=stated.title or _title(article, kept),
        publisher=stated.publisher or _publisher(raw, removed),
        published_at=stated.published_at or _published(raw, removed),
        url=stated.url or _url(raw, removed),
    )


def _title(article: RawArticle, kept: tuple[Span, ...]) -> str | None:
    raw = article.raw_text
    if article.format == "md":
        match = re.search(r"^#\s+(.+?)\s*#*\s*$", raw, re.M)
        if match:
            return match.group(1).strip() or None
    if not kept:
        return None
    first = raw[kept[0].start:kept[0].end]
    # A headline is a short first line that does not end like a sentence.
    words = len(first.split())
    if 3 <= words <= 25 and not re.search(r"[.,;:]$", first) and len(kept) > 1:
        return first
    return None


def _published(raw: str, removed: tuple[tuple[Span, str], ...]) -> str | None:
    for span, reason in removed:
        if reason == "dateline":
            match = _DATELINE.match(raw[span.start:span.end])
            if match:
                found = parse_stated_date(match.group("rest"))
                if found:
                    return found
    return None


def _publisher(raw: str, removed: tuple[tuple[Span, str], ...]) -> str | None:
    # An outlet names itself in its own furniture (appeals, footers, notes), not in the story.
    for span, _ in removed:
        text = raw[span.start:span.end]
        for pattern in _PUBLISHER_PATTERNS:
            match = pattern.search(text)
            if match:
                return match.group("name").strip()
    return None


def _url(raw: str, removed: tuple[tuple[Span, str], ...]) -> str | None:
    for span, _ in removed:
        match = _URL_LINE.match(raw[span.start:span.end])
        if match:
            return match.group("url")
    return None
