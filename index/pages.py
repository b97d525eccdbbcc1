"""A web page's article text and what the page states about it, by trafilatura.

trafilatura (the extractor Haystack's own HTML converter is built on) keeps the article
body and drops menus, cookie banners, link lists and comments; with ``favor_precision``
it scored shingle F1 0.966 on the development half of the article-extraction benchmark,
above its default (0.954), newspaper4k (0.961) and the hand-written reader this module
replaced (0.803; ``bench/extraction.py``). Its text becomes the article's ``raw_text``
(what readers and auditors see, and what every offset points into); the page itself is
kept as ``source_text``. Newsdesk's furniture rules (:mod:`.clean`) still run on top.

Metadata comes from the page's structured statements (JSON-LD, OpenGraph, meta tags,
``<time>``): title, site name, author and canonical URL from trafilatura, the published
and updated date-times from htmldate (which trafilatura itself uses), normalised by
:func:`.dates.parse_date`.
"""

from __future__ import annotations

from dataclasses import dataclass

import htmldate
import trafilatura

from .dates import parse_date
from .records import Metadata

__all__ = ["Page", "read_page"]

# htmldate writes the time and zone when the page states them ("2022-02-18T06:42:11+0000"),
# and a bare date as midnight without a zone, which would invent a time: that is cut back.
_DATETIME = "%Y-%m-%dT%H:%M:%S%z"
_INVENTED_TIME = "T00:00:00"


@dataclass(frozen=True)
class Page:
    """What a page holds: its article text (``""`` when it has none), metadata, and warnings."""

    text: str
    metadata: Metadata
    warnings: tuple[str, ...] = ()


def read_page(html: str, url: str | None = None) -> Page:
    """The article text and stated metadata of one HTML page (``url``: where it was fetched from)."""
    document = trafilatura.bare_extraction(
        html, url=url, favor_precision=True, include_comments=False, include_tables=True,
        with_metadata=True, deduplicate=False)
    text = (document.text or "") if document else ""
    warnings: list[str] = []
    published = _page_date(html, url, original=True, warnings=warnings)
    updated = _page_date(html, url, original=False, warnings=warnings)
    metadata = Metadata(
        title=_clean(document.title) if document else None,
        publisher=_clean(document.sitename) if document else None,
        published_at=published,
        url=_clean(document.url) if document else url,
        author=_clean(document.author) if document else None,
        updated_at=updated if updated and updated != published else None,
    )
    return Page(text=text, metadata=metadata, warnings=tuple(warnings))


def _page_date(html: str, url: str | None, *, original: bool, warnings: list[str]) -> str | None:
    """The page's publication (``original``) or last-update date-time, as htmldate finds it in
    the page's markup and URL (not in its running text: ``extensive_search`` would take any
    date a story mentions for its own)."""
    found = htmldate.find_date(html, url=url, original_date=original, extensive_search=False, outputformat=_DATETIME)
    if not found:
        return None
    if found.endswith(_INVENTED_TIME):
        found = found[:10]
    parsed = parse_date(found)
    if parsed.warning:
        warnings.append(f"{'published' if original else 'updated'} date: {parsed.warning}")
    return parsed.value


def _clean(value: str | None) -> str | None:
    return " ".join(value.split()) or None if value else None
