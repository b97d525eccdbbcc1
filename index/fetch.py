"""Fetch web pages, RSS/Atom feeds and sitemaps for ``newsdesk ingest https://...``, politely.

What a URL is gets decided by its content, not its name: a feed yields the pages its items
link to, a sitemap (a sitemap index, gzipped or not) the pages it lists, a web page itself.
A URL that yields nothing is reported as a :class:`Skipped` with the reason; no bad URL or
server raises, and one bad item never stops the others.

Politeness rules:

- Every request, robots.txt included, sends ``FetchOptions.user_agent``.
- robots.txt is fetched once per origin (scheme, host, port) and kept for the run, following
  RFC 9309 and Google's conventions: a 2xx gives the rules for our user agent; any other 4xx
  (a missing file) means no rules; a **5xx or 429 disallows the whole host for this run** (the
  server is struggling, and a robots.txt it could not serve may forbid what we would fetch);
  an unreachable host skips its pages with the network reason; more than 500 KiB is cut there;
  a redirect problem counts as a missing file.
- Requests to one host (hostname) are spaced at least ``min_interval_seconds`` apart, or the
  host's ``Crawl-delay`` if that is longer, measured on the monotonic clock from the end of one
  response to the start of the next. Hosts never wait on one another.
- Each request has ``timeout_seconds`` to connect and for each read, and each document (its
  redirects and body together) has ``timeout_seconds`` in all, the politeness waits above not
  counted: a server dripping bytes cannot hold the ingest (the deadline is checked between reads,
  so a document overruns it by at most one read timeout).
- Bodies are streamed and abandoned past ``max_bytes`` (refused unread when Content-Length is
  larger); a gzip sitemap is decompressed to at most ``max_bytes`` too. Content types that can
  be neither a page nor a feed (images, PDF, JSON, ...) are refused before their body is read.
- Redirects are followed by hand, at most ``max_redirects``, each hop checked against its own
  host's robots.txt and rate limit; loops are reported as such.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import math
import re
import socket
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Literal, NamedTuple
from urllib.parse import urldefrag, urljoin, urlsplit
from xml.parsers import expat

import feedparser
import httpx
from protego import Protego

from .records import Skipped

__all__ = ["FetchOptions", "FetchedDocument", "fetch_sources", "is_url", "url_article_id"]

_Kind = Literal["page", "feed", "sitemap"]

_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
# Sniffed for a gzip file or a feed: gzip sitemaps are served as these.
_OPAQUE_TYPES = frozenset({"application/gzip", "application/x-gzip", "application/octet-stream"})
_FEED_ROOTS = frozenset({"rss", "feed", "rdf"})  # RSS 2.0, Atom, RSS 1.0 (rdf:RDF)
_SITEMAP_ROOTS = frozenset({"urlset", "sitemapindex"})
_ACCEPT = ("text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
           "application/xml;q=0.9,text/plain;q=0.8,*/*;q=0.5")
_ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309: parse at least 500 KiB; what follows may be ignored
# Sitemap files in one chain: index -> index -> urlset. The protocol allows no nested indexes;
# one level is tolerated, and the bound stops an index that lists itself through another.
_MAX_SITEMAP_DEPTH = 3
_SNIFF_BYTES = 4096
# The first element after the XML declaration, comments, processing instructions and doctype.
_ROOT_RE = re.compile(r"(?:\s|<\?.*?\?>|<!--.*?-->|<!doctype[^>\[]*(?:\[.*?\])?\s*>)*<([A-Za-z_][\w.:-]*)",
                      re.IGNORECASE | re.DOTALL)
_ID_UNSAFE_RE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\]")
_MAX_ID_CHARS = 200
_ID_HASH_CHARS = 12


@dataclass(frozen=True)
class FetchedDocument:
    url: str  # the final URL after redirects
    requested_url: str  # what was asked for (the feed item link, the CLI argument)
    data: bytes  # the body exactly as received (only a Content-Encoding undone)
    content_type: str | None  # the Content-Type header as sent
    fetched_at: str  # UTC ISO 8601, when the body had arrived


@dataclass(frozen=True)
class FetchOptions:
    """How to fetch. No defaults here: every value comes from ``newsdesk.service.config.Settings``
    (``Settings.fetch_options()``, the ``NEWSDESK_FETCH_*`` variables), the one place defaults live."""

    user_agent: str
    timeout_seconds: float  # connect and each read; also the total per document
    max_bytes: int  # larger bodies are skipped, never read to the end
    max_redirects: int
    min_interval_seconds: float  # between requests to one host
    respect_robots: bool
    max_feed_items: int  # pages fetched per feed or per sitemap (index included)


def is_url(text: str) -> bool:
    """Whether ``text`` is an absolute http(s) URL with a host: what ``newsdesk ingest`` fetches
    rather than reads from disk."""
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host) \
        and not any(ch.isspace() or ch < " " for ch in host)


def url_article_id(url: str) -> str:
    """A stable article id for ``url``: host and path with ``/`` as ``_``, the query kept.

    Safe as an id and a file name (1-200 characters, no ``/``, ``\\`` or control characters);
    longer ones are cut and end in a short SHA-256 of the whole, so they stay distinct.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.netloc.rpartition("@")[2].lower() if parts.hostname else ""
    except ValueError:
        host = ""
    if host:
        name = (host + parts.path).rstrip("/") + (f"?{parts.query}" if parts.query else "")
    else:
        name = url
    name = _ID_UNSAFE_RE.sub("_", name)
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:_ID_HASH_CHARS]
    if not name:
        return digest
    if len(name) > _MAX_ID_CHARS:
        return f"{name[:_MAX_ID_CHARS - _ID_HASH_CHARS - 1]}-{digest}"
    return name


def fetch_sources(urls: Iterable[str], options: FetchOptions) -> Iterator[FetchedDocument | Skipped]:
    """Every page behind ``urls`` (pages, feeds, sitemaps), lazily and in order, or why not.

    Each URL is fetched at most once per call; one HTTP client and one robots.txt cache serve
    the whole call.
    """
    headers = {"User-Agent": options.user_agent, "Accept": _ACCEPT}
    with httpx.Client(headers=headers, follow_redirects=False) as client:
        fetcher = _Fetcher(options, client)
        for url in urls:
            yield from fetcher.source(url)


class _Failed(Exception):
    """A request gave no usable answer; ``reason`` says why, for a :class:`Skipped`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _RedirectFailed(_Failed):
    """Too many redirects, a loop, or a redirect away from http(s): for robots.txt, no file."""


@dataclass(frozen=True)
class _Reply:
    url: str
    status: int
    phrase: str
    content_type: str | None
    location: str | None  # set on a redirect
    data: bytes  # read for 2xx answers only

    @property
    def status_text(self) -> str:
        return f"HTTP {self.status} {self.phrase}".rstrip()


class _Typed(NamedTuple):
    document: FetchedDocument
    kind: _Kind
    payload: bytes  # the body, gunzipped for a gzip sitemap


_Robots = Protego | str | None  # rules; a reason the whole host is off limits; or no rules


class _Fetcher:
    """One call's state: the client, robots.txt per origin, the last request per host, what was fetched."""

    def __init__(self, options: FetchOptions, client: httpx.Client) -> None:
        self._options = options
        self._client = client
        self._robots: dict[str, _Robots] = {}
        self._last_request: dict[str, float] = {}
        self._fetched: set[str] = set()

    def source(self, url: str) -> Iterator[FetchedDocument | Skipped]:
        """A page given on the command line, or the pages of a feed or sitemap."""
        typed = self._fetch_typed(url)
        if isinstance(typed, Skipped):
            yield typed
        elif typed.kind == "page":
            yield typed.document
        elif typed.kind == "feed":
            links = _feed_links(typed.document, typed.payload)
            if isinstance(links, str):
                yield Skipped(url, links)
            else:
                yield from self._pages(url, "feed", links)
        else:
            yield from self._pages(url, "sitemap", self._sitemap_links(typed, 1))

    def _pages(self, source: str, kind: _Kind, links: Iterable[str | Skipped]) -> Iterator[FetchedDocument | Skipped]:
        """The pages a feed or sitemap lists: each once, in order, at most ``max_feed_items``."""
        cap = self._options.max_feed_items
        seen: set[str] = set()
        told = False  # why a listing yielded nothing, when a Skipped already said so
        for link in links:
            if isinstance(link, Skipped):
                told = True
                yield link
                continue
            key = urldefrag(link).url
            if key in seen:
                continue
            if len(seen) == cap:
                yield Skipped(source, f"lists more pages than max_feed_items ({cap:,}); the rest were not fetched")
                return
            seen.add(key)
            yield self._page(link, kind)
        if not seen and not told:
            yield Skipped(source, f"the {kind} lists no pages")

    def _page(self, url: str, listed_in: _Kind) -> FetchedDocument | Skipped:
        typed = self._fetch_typed(url)
        if isinstance(typed, Skipped):
            return typed
        if typed.kind != "page":
            return Skipped(url, f"is a {typed.kind}, not a web page (a {listed_in} must list pages)")
        return typed.document

    def _sitemap_links(self, sitemap: _Typed, depth: int) -> Iterator[str | Skipped]:
        """The page URLs of a sitemap; an index's sitemaps are fetched only as their pages are wanted."""
        document = sitemap.document
        try:
            root, locs = _sitemap_locs(sitemap.payload)
        except ValueError as exc:
            yield Skipped(document.requested_url, f"malformed sitemap: {exc}")
            return
        if root != "sitemapindex":
            yield from (urljoin(document.url, loc) for loc in locs)
            return
        if depth == _MAX_SITEMAP_DEPTH:
            yield Skipped(document.requested_url, f"a sitemap index {depth} levels down is not followed")
            return
        for loc in locs:
            child = urljoin(document.url, loc)
            typed = self._fetch_typed(child)
            if isinstance(typed, Skipped):
                yield typed
            elif typed.kind != "sitemap":
                yield Skipped(child, f"is a {typed.kind}, not a sitemap (a sitemap index must list sitemaps)")
            else:
                yield from self._sitemap_links(typed, depth + 1)

    def _fetch_typed(self, url: str) -> _Typed | Skipped:
        """Fetch ``url`` once per call and tell what it is."""
        if not is_url(url):
            return Skipped(url, "not an http(s) URL")
        key = urldefrag(url).url
        if key in self._fetched:
            return Skipped(url, "already fetched in this run")
        self._fetched.add(key)
        try:
            reply = self._follow(url, self._options.max_bytes, robots_file=False)
        except _Failed as exc:
            return Skipped(url, exc.reason)
        if not 200 <= reply.status < 300:
            return Skipped(url, reply.status_text)
        document = FetchedDocument(url=reply.url, requested_url=url, data=reply.data,
                                   content_type=reply.content_type, fetched_at=_now())
        kind = _classify(document, self._options.max_bytes)
        if isinstance(kind, str):
            return Skipped(url, kind)
        return _Typed(document, *kind)

    def _follow(self, url: str, limit: int, *, robots_file: bool) -> _Reply:
        """GET ``url`` through at most ``max_redirects`` redirects, every hop polite.

        Raises :class:`_Failed`. The document's deadline leaves out the time spent on
        politeness (robots.txt, waiting for the host's turn), which is ours, not the server's.
        """
        deadline = time.monotonic() + self._options.timeout_seconds
        chain = [urldefrag(url).url]
        while True:
            polite_since = time.monotonic()
            if not robots_file:
                self._check_robots(url)
            self._wait_turn(url)
            deadline += time.monotonic() - polite_since
            try:
                reply = self._exchange(url, deadline, limit, robots_file=robots_file)
            finally:
                self._last_request[_host(url)] = time.monotonic()
            if reply.location is None:
                return reply
            url = urljoin(url, reply.location)
            if not is_url(url):
                raise _RedirectFailed(f"redirected to {url!r}, not an http(s) URL")
            if urldefrag(url).url in chain:
                raise _RedirectFailed("redirect loop")
            if len(chain) > self._options.max_redirects:
                raise _RedirectFailed(f"too many redirects (more than {self._options.max_redirects})")
            chain.append(urldefrag(url).url)

    def _exchange(self, url: str, deadline: float, limit: int, *, robots_file: bool) -> _Reply:
        """One request. A robots.txt body is cut at ``limit``; a document's is refused past it."""
        timeout = min(self._options.timeout_seconds, deadline - time.monotonic())
        if timeout <= 0:
            raise _Failed(self._timed_out)
        try:
            with self._client.stream("GET", url, timeout=timeout) as response:
                content_type = response.headers.get("content-type")
                reply = _Reply(str(response.url), response.status_code, response.reason_phrase, content_type,
                               response.headers.get("location") if response.is_redirect else None, b"")
                if not response.is_success:
                    return reply
                if not robots_file and not _may_be_document(_media_type(content_type)):
                    raise _Failed(_not_a_document(_media_type(content_type)))
                return replace(reply, data=self._read_body(response, deadline, limit, truncate=robots_file))
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:  # UnicodeError: an invalid IDNA host
            raise _Failed(_network_reason(exc, self._timed_out)) from exc

    def _read_body(self, response: httpx.Response, deadline: float, limit: int, *, truncate: bool) -> bytes:
        if not truncate and _content_length(response) > limit:
            raise _Failed(_too_large(limit))
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                if truncate:
                    return bytes(body[:limit])
                raise _Failed(_too_large(limit))
            if time.monotonic() > deadline:
                raise _Failed(self._timed_out)
        return bytes(body)

    @property
    def _timed_out(self) -> str:
        return f"timed out after {self._options.timeout_seconds:g} s"

    def _check_robots(self, url: str) -> None:
        """Raise :class:`_Failed` if robots.txt keeps us from ``url``."""
        if not self._options.respect_robots:
            return
        robots = self._robots_for(url)
        if isinstance(robots, str):
            raise _Failed(robots)
        if robots is not None and not robots.can_fetch(url, self._options.user_agent):
            raise _Failed("disallowed by robots.txt")

    def _robots_for(self, url: str) -> _Robots:
        origin = _origin(url)
        if origin not in self._robots:
            self._robots[origin] = self._fetch_robots(origin)
        return self._robots[origin]

    def _fetch_robots(self, origin: str) -> _Robots:
        """The rules of ``origin``'s robots.txt, read as the module docstring says."""
        try:
            reply = self._follow(f"{origin}/robots.txt", _ROBOTS_MAX_BYTES, robots_file=True)
        except _RedirectFailed:
            return None
        except _Failed as exc:
            return exc.reason
        if reply.status >= 500 or reply.status == 429:
            return f"robots.txt answered {reply.status_text}: the host is off limits for this run"
        if not 200 <= reply.status < 300:
            return None
        return Protego.parse(reply.data.decode("utf-8-sig", errors="replace"))

    def _wait_turn(self, url: str) -> None:
        """Sleep until ``url``'s host may be asked again."""
        interval = self._options.min_interval_seconds
        robots = self._robots.get(_origin(url)) if self._options.respect_robots else None
        if isinstance(robots, Protego):
            interval = max(interval, robots.crawl_delay(self._options.user_agent) or 0.0)
        wait = self._last_request.get(_host(url), -math.inf) + interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)


def _classify(document: FetchedDocument, limit: int) -> tuple[_Kind, bytes] | str:
    """What a document is, by its content (the Content-Type only tells a page from nothing);
    a reason instead if it is none of the three. A gzip file can only be a feed or sitemap."""
    payload = document.data
    gzipped = payload.startswith(b"\x1f\x8b")
    if gzipped:
        try:
            payload = _gunzip(payload, limit)
        except ValueError as exc:
            return str(exc)
    root = _root_element(payload)
    if root in _FEED_ROOTS:
        return "feed", payload
    if root in _SITEMAP_ROOTS:
        return "sitemap", payload
    if gzipped:
        return "the gzip file holds neither a feed nor a sitemap"
    media = _media_type(document.content_type)
    if media in _PAGE_TYPES or root == "html":
        return "page", payload
    return _not_a_document(media)


def _may_be_document(media: str | None) -> bool:
    """Whether a body of this media type is worth reading to find out what it is."""
    return media is None or media in _PAGE_TYPES or media in _OPAQUE_TYPES \
        or media.endswith("/xml") or media.endswith("+xml")


def _not_a_document(media: str | None) -> str:
    return f"content type {media or '(none)'} is not a web page or feed"


def _too_large(limit: int) -> str:
    return f"larger than {limit:,} bytes"


def _media_type(content_type: str | None) -> str | None:
    return (content_type or "").split(";")[0].strip().lower() or None


def _content_length(response: httpx.Response) -> int:
    try:
        return int(response.headers.get("content-length", "0"))
    except ValueError:
        return 0


def _root_element(data: bytes) -> str | None:
    """The local name of the document's first element, lowercased (``rdf:RDF`` -> ``rdf``)."""
    head = data[:_SNIFF_BYTES]
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if head.startswith(bom):
            text = head.decode(codec, errors="ignore")
            break
    else:
        text = head.decode("latin-1")
    match = _ROOT_RE.match(text)
    return match.group(1).rpartition(":")[2].lower() if match else None


def _gunzip(data: bytes, limit: int) -> bytes:
    """Decompress at most ``limit`` bytes: a gzip bomb stops there."""
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"broken gzip data: {exc}") from exc
    if len(out) > limit:
        raise ValueError(f"{_too_large(limit)} when decompressed")
    return out


def _sitemap_locs(data: bytes) -> tuple[str, list[str]]:
    """The root's local name and the ``<loc>`` of each ``<url>`` or ``<sitemap>``.

    Image and video ``loc``s (inside ``<image:image>``...) are not pages, hence the parent
    check. Entity declarations are refused, as defusedxml does: a sitemap never needs them,
    and they are how XML bombs work (expat never loads external entities).
    """
    parser = expat.ParserCreate()
    root = ""
    stack: list[str] = []
    locs: list[str] = []
    text: list[str] | None = None

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal root, text
        local = name.rpartition(":")[2]
        root = root or local.lower()
        if local == "loc" and stack and stack[-1] in ("url", "sitemap"):
            text = []
        stack.append(local)

    def end(name: str) -> None:
        nonlocal text
        stack.pop()
        if text is not None:
            locs.append("".join(text).strip())
            text = None

    def characters(data: str) -> None:
        if text is not None:
            text.append(data)

    def refuse(*args: object) -> None:
        raise ValueError("entity declarations are not allowed in a sitemap")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise ValueError(str(exc)) from exc
    return root, [loc for loc in locs if loc]


def _feed_links(document: FetchedDocument, payload: bytes) -> list[str] | str:
    """The absolute link of every item, in feed order; a reason if the feed cannot be read."""
    headers = {"content-location": document.url}
    if document.content_type and _media_type(document.content_type) not in _OPAQUE_TYPES:
        headers["content-type"] = document.content_type
    # A BytesIO: given bytes or a str, feedparser may take them for a file name or URL and open it.
    parsed = feedparser.parse(io.BytesIO(payload), response_headers=headers, sanitize_html=False)
    if parsed.bozo and not parsed.entries:
        return f"malformed feed: {parsed.get('bozo_exception')}"
    return [urljoin(document.url, entry.link.strip()) for entry in parsed.entries if entry.get("link", "").strip()]


def _network_reason(exc: Exception, timed_out: str) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return timed_out
    causes = []
    cause: BaseException | None = exc
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "connection refused"
    if any(isinstance(c, socket.gaierror) for c in causes):
        return "host not found"
    if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeError)):
        return f"invalid URL: {exc}"
    return f"request failed: {exc or type(exc).__name__}"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.rpartition('@')[2].lower()}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
