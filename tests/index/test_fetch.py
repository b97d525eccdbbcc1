"""Fetching from the web, against a real HTTP server on 127.0.0.1: pages, RSS and Atom feeds,
sitemaps (an index, a gzipped one), and every way a server can fail or be impolite to ask.

The server records each request (path, Host, User-Agent, arrival time), so politeness is
checked as behaviour: robots.txt read once and obeyed, the User-Agent on every request, and
the gap between two requests to one host. Timeouts, sizes and intervals are small so the
file runs in seconds.
"""

from __future__ import annotations

import gzip
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsdesk.index.fetch import FetchedDocument, FetchOptions, fetch_sources, is_url, url_article_id
from newsdesk.index.records import Skipped

from tests.servers import free_port, send_body

UA = "NewsdeskTest/0.1 (+https://example.org/newsdesk-test)"
OPTIONS = FetchOptions(user_agent=UA, timeout_seconds=1.0, max_bytes=4096, max_redirects=5, min_interval_seconds=0.0,
                       respect_robots=True, max_feed_items=1000)

# Saved pages, as a newsroom's site serves them: one in windows-1252, so bytes must arrive untouched.
PAGE1 = (b"<!DOCTYPE html>\n<html><head><meta charset=\"windows-1252\"><title>Caf\xe9 reopens</title></head>"
         b"<body><article><h1>Caf\xe9 reopens</h1><p>The caf\xe9 on Main Street reopened on Monday.</p>"
         b"</article></body></html>\n")
PAGE2 = (b"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Bridge closed</title></head>"
         b"<body><article><h1>Bridge closed</h1><p>The river bridge closes for a month of repairs.</p>"
         b"</article></body></html>\n")
PAGE3 = (b"<html><head><title>Council votes</title></head><body><p>The council voted 7 to 2 on Tuesday "
         b"to fund the library.</p></body></html>\n")
PLAIN = b"Election results will be certified on Friday, the county clerk said.\n"

ROBOTS = b"User-agent: *\nDisallow: /private/\n"

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Desk</title><link>{base}/</link><description>News</description>
<item><title>Cafe</title><link>{base}/page1.html</link></item>
<item><title>Bridge (a relative link)</title><link>page2.html</link></item>
<item><title>Gone</title><link>{base}/missing.html</link></item>
<item><title>Cafe again, its comments</title><link>{base}/page1.html#comments</link></item>
<item><title>No link at all</title><description>A note.</description></item>
</channel></rss>
"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Desk</title><id>urn:desk</id>
<updated>2026-12-01T00:00:00Z</updated>
<entry><title>Bridge</title><id>urn:2</id><updated>2026-12-01T00:00:00Z</updated>
  <link rel="alternate" type="text/html" href="{base}/page2.html"/><link rel="edit" href="{base}/edit/2"/></entry>
<entry><title>Council</title><id>urn:3</id><updated>2026-12-01T00:00:00Z</updated><link href="{base}/page3.html"/></entry>
<entry><title>Gone</title><id>urn:4</id><updated>2026-12-01T00:00:00Z</updated><link href="{base}/gone.html"/></entry>
</feed>
"""

SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc>{base}/page1.html</loc>
    <image:image><image:loc>{base}/photo.jpg</image:loc></image:image></url>
  <url><loc> {base}/page2.html?a=1&amp;b=2 </loc><lastmod>2026-12-01</lastmod></url>
</urlset>
"""

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{base}/page3.html</loc></url></urlset>
"""

SITEMAP_INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>{base}/sitemap.xml</loc></sitemap>
  <sitemap><loc>{base}/news.xml.gz</loc></sitemap>
  <sitemap><loc>{base}/plain.txt</loc></sitemap>
</sitemapindex>
"""

XML_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{base}/page1.html?&b;</loc></url></urlset>
"""

Route = Callable[[BaseHTTPRequestHandler, str], None]  # (request, base URL as the client addressed us)


def reply(body: bytes | Callable[[str], bytes] = b"", status: int = 200, content_type: str | None = "text/html",
          **headers: str) -> Route:
    """A route answering ``body`` (``{base}`` filled in) with a Content-Length."""
    def route(request: BaseHTTPRequestHandler, base: str) -> None:
        data = body(base) if callable(body) else body.replace(b"{base}", base.encode())
        send_body(request, status, data, content_type, {name.replace("_", "-"): value for name, value in headers.items()})
    return route


def redirect(location: str, status: int = 302) -> Route:
    return reply(b"", status, None, Location=location)


def slow(request: BaseHTTPRequestHandler, base: str) -> None:
    """Says nothing for longer than the client's timeout."""
    time.sleep(2.5)
    reply(PAGE1)(request, base)


def drip(request: BaseHTTPRequestHandler, base: str) -> None:
    """Answers at once, then a byte every 0.2 s: no read ever times out, only the deadline can help."""
    request.send_response(200)
    request.send_header("Content-Type", "text/html")
    request.send_header("Content-Length", "40")
    request.end_headers()
    for _ in range(40):
        request.wfile.write(b"x")
        request.wfile.flush()
        time.sleep(0.2)


def endless_hops(request: BaseHTTPRequestHandler, base: str) -> None:
    """/hop/0 -> /hop/1 -> ... for ever."""
    number = int(request.path.rsplit("/", 1)[1])
    redirect(f"/hop/{number + 1}")(request, base)


@dataclass
class Site:
    """A real HTTP server on 127.0.0.1 with a port of its own, recording what it was asked."""

    routes: dict[str, Route]
    seen: list[tuple[str, str, str, float]] = field(default_factory=list)  # (path, Host, User-Agent, monotonic)
    complete: dict[str, bool] = field(default_factory=dict)  # a streamed body, once done: was all of it sent?
    port: int = 0

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [path for path, *_ in self.seen]

    def times(self, path: str, host: str = "127.0.0.1") -> list[float]:
        return [at for p, h, _, at in self.seen if p == path and h.startswith(host)]


def handler_for(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.seen.append((self.path, self.headers.get("Host", ""), self.headers.get("User-Agent", ""),
                              time.monotonic()))
            route = site.routes.get(urlsplit(self.path).path) \
                or next((r for prefix, r in site.routes.items() if prefix.endswith("/") and self.path.startswith(prefix)),
                        reply(b"not found", 404, "text/plain"))
            route(self, f"http://{self.headers.get('Host')}")

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, Route]], Site]]:
    """Start sites on demand; all are shut down after the test."""
    servers: list[ThreadingHTTPServer] = []

    def start(routes: dict[str, Route]) -> Site:
        site = Site(routes)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(site))
        server.daemon_threads = True
        site.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return site

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def huge_stream(site: Site) -> Route:
    """32 MB with no Content-Length: only reading stops it; records whether it all went out."""
    def route(request: BaseHTTPRequestHandler, base: str) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/html")
        request.end_headers()
        try:
            for _ in range(512):
                request.wfile.write(b"<p>" + b"x" * 65530 + b"</p>")
        except OSError:
            site.complete[request.path] = False
        else:
            site.complete[request.path] = True
    return route


@pytest.fixture
def site(serve: Callable[[dict[str, Route]], Site]) -> Site:
    """The newsroom's site: pages, feeds, sitemaps, and its failures."""
    routes: dict[str, Route] = {
        "/robots.txt": reply(ROBOTS, content_type="text/plain"),
        "/page1.html": reply(PAGE1, content_type="text/html; charset=windows-1252"),
        "/page2.html": reply(PAGE2, content_type="text/html; charset=utf-8"),
        "/page3.html": reply(PAGE3, content_type="application/xhtml+xml"),
        "/plain.txt": reply(PLAIN, content_type="text/plain; charset=utf-8"),
        "/bare.html": reply(PAGE2, content_type=None),
        "/compressed.html": reply(gzip.compress(PAGE2), content_type="text/html", Content_Encoding="gzip"),
        "/feed.rss": reply(RSS, content_type="application/rss+xml"),
        "/atom": reply(ATOM, content_type="text/xml; charset=utf-8"),  # no telling name: the content decides
        "/sitemap.xml": reply(SITEMAP, content_type="application/xml"),
        "/news.xml.gz": reply(lambda base: gzip.compress(NEWS_SITEMAP.replace(b"{base}", base.encode())),
                              content_type="application/x-gzip"),
        "/sitemap_index.xml": reply(SITEMAP_INDEX, content_type="text/xml"),
        "/bomb.xml": reply(XML_BOMB, content_type="application/xml"),
        "/bomb.xml.gz": reply(gzip.compress(b"<urlset>" + b" " * 1_000_000 + b"</urlset>"), content_type="application/gzip"),
        "/private/secret.html": reply(PAGE1),
        "/error": reply(b"oops", 500, "text/plain"),
        "/slow": slow,
        "/drip": drip,
        "/huge": reply(b"<p>" + b"x" * 10_000 + b"</p>"),
        "/doc.pdf": reply(b"%PDF-1.4\n" + b"0" * 100, content_type="application/pdf"),
        "/photo.jpg": reply(b"\xff\xd8\xff\xe0" + b"0" * 100, content_type="image/jpeg"),
        "/r1": redirect("/r2", 301),
        "/r3": redirect("/page1.html", 307),
        "/loop-a": redirect("/loop-b"),
        "/loop-b": redirect("/loop-a"),
        "/hop/": endless_hops,
    }
    site = serve(routes)
    routes["/r2"] = redirect(site.url("/r3"), 302)  # an absolute Location
    routes["/huge-stream"] = huge_stream(site)
    return site


def fetch(urls: list[str], **overrides: object) -> list[FetchedDocument | Skipped]:
    options = FetchOptions(**{**OPTIONS.__dict__, **overrides})
    return list(fetch_sources(urls, options))


def summary(results: list[FetchedDocument | Skipped]) -> list[tuple[str, str]]:
    """``("page", requested path)`` or ``("skipped", path: reason)`` per result, ports left out."""
    def path(url: str) -> str:
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return [("page", path(r.requested_url)) if isinstance(r, FetchedDocument) else ("skipped", f"{path(r.source)}: {r.reason}")
            for r in results]


def test_a_page_arrives_exactly_as_served(site: Site) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    [doc] = fetch([site.url("/page1.html")])
    assert doc == FetchedDocument(url=site.url("/page1.html"), requested_url=site.url("/page1.html"), data=PAGE1,
                                  content_type="text/html; charset=windows-1252", fetched_at=doc.fetched_at)
    fetched_at = datetime.fromisoformat(doc.fetched_at)
    assert fetched_at.tzinfo == timezone.utc and before <= fetched_at <= datetime.now(timezone.utc)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", doc.fetched_at)


def test_plain_text_xhtml_untyped_html_and_content_encoding_are_pages(site: Site) -> None:
    docs = fetch([site.url(p) for p in ("/plain.txt", "/page3.html", "/bare.html", "/compressed.html")])
    assert [(d.data, d.content_type) for d in docs] == [
        (PLAIN, "text/plain; charset=utf-8"), (PAGE3, "application/xhtml+xml"), (PAGE2, None), (PAGE2, "text/html")]


def test_rss_feed_yields_its_items_pages_once_each_in_order(site: Site) -> None:
    results = fetch([site.url("/feed.rss")])
    assert summary(results) == [("page", "/page1.html"), ("page", "/page2.html"),
                                ("skipped", "/missing.html: HTTP 404 Not Found")]
    assert [r.data for r in results[:2]] == [PAGE1, PAGE2]
    assert results[1].requested_url == site.url("/page2.html")  # the relative link, resolved against the feed
    assert site.paths().count("/page1.html") == 1


def test_atom_feed_is_known_by_its_content_and_follows_alternate_links(site: Site) -> None:
    results = fetch([site.url("/atom")])
    assert summary(results) == [("page", "/page2.html"), ("page", "/page3.html"),
                                ("skipped", "/gone.html: HTTP 404 Not Found")]
    assert "/edit/2" not in site.paths()


def test_max_feed_items_caps_the_pages_fetched(site: Site) -> None:
    results = fetch([site.url("/feed.rss")], max_feed_items=1)
    assert summary(results) == [
        ("page", "/page1.html"),
        ("skipped", "/feed.rss: lists more pages than max_feed_items (1); the rest were not fetched")]
    assert "/page2.html" not in site.paths()


def test_sitemap_yields_its_pages_not_its_images(site: Site) -> None:
    results = fetch([site.url("/sitemap.xml")])
    assert summary(results) == [("page", "/page1.html"), ("page", "/page2.html?a=1&b=2")]
    assert "/photo.jpg" not in site.paths()


def test_sitemap_index_recurses_into_plain_and_gzip_sitemaps(site: Site) -> None:
    results = fetch([site.url("/sitemap_index.xml")])
    assert summary(results) == [
        ("page", "/page1.html"), ("page", "/page2.html?a=1&b=2"), ("page", "/page3.html"),
        ("skipped", "/plain.txt: is a page, not a sitemap (a sitemap index must list sitemaps)")]


def test_a_sitemap_declaring_entities_is_refused(site: Site) -> None:
    [skipped] = fetch([site.url("/bomb.xml")])
    assert skipped == Skipped(site.url("/bomb.xml"), "malformed sitemap: entity declarations are not allowed in a sitemap")


@pytest.mark.parametrize("path, reason", [
    ("/missing.html", "HTTP 404 Not Found"),
    ("/error", "HTTP 500 Internal Server Error"),
    ("/doc.pdf", "content type application/pdf is not a web page or feed"),
    ("/photo.jpg", "content type image/jpeg is not a web page or feed"),
    ("/huge", "larger than 4,096 bytes"),
    ("/bomb.xml.gz", "larger than 4,096 bytes when decompressed"),
    ("/loop-a", "redirect loop"),
    ("/hop/0", "too many redirects (more than 5)"),
    ("/private/secret.html", "disallowed by robots.txt"),
])
def test_each_failure_is_skipped_with_its_reason(site: Site, path: str, reason: str) -> None:
    assert fetch([site.url(path)]) == [Skipped(site.url(path), reason)]


def test_a_refused_body_is_never_read(site: Site) -> None:
    assert fetch([site.url("/doc.pdf")]) == [Skipped(site.url("/doc.pdf"), "content type application/pdf is not a web page or feed")]
    started = time.monotonic()
    assert fetch([site.url("/huge-stream")]) == [Skipped(site.url("/huge-stream"), "larger than 4,096 bytes")]
    while "/huge-stream" not in site.complete and time.monotonic() < started + 10:
        time.sleep(0.05)
    assert site.complete["/huge-stream"] is False  # the client hung up long before 32 MB


def test_redirects_within_the_bound_are_followed(site: Site) -> None:
    [doc] = fetch([site.url("/r1")])
    assert (doc.requested_url, doc.url, doc.data) == (site.url("/r1"), site.url("/page1.html"), PAGE1)
    assert fetch([site.url("/r1")], max_redirects=2) == [Skipped(site.url("/r1"), "too many redirects (more than 2)")]


def test_redirect_bound_stops_the_requests(site: Site) -> None:
    fetch([site.url("/hop/0")], max_redirects=3)
    assert [p for p in site.paths() if p.startswith("/hop/")] == ["/hop/0", "/hop/1", "/hop/2", "/hop/3"]


@pytest.mark.parametrize("path", ["/slow", "/drip"])
def test_a_slow_server_times_out(site: Site, path: str) -> None:
    started = time.monotonic()
    assert fetch([site.url(path)]) == [Skipped(site.url(path), "timed out after 1 s")]
    assert time.monotonic() - started < 2.0  # the drip never lets a read time out: the deadline ends it


def test_bad_urls_and_dead_hosts_are_skipped_never_raised(site: Site) -> None:
    dead = f"http://127.0.0.1:{free_port()}/page.html"
    urls = ["not a url", "ftp://example.org/file.txt", "/etc/passwd", dead, "http://a..b/", site.url("/page2.html")]
    *skipped, page = fetch(urls)
    assert [(s.source, s.reason) for s in skipped[:4]] == [
        ("not a url", "not an http(s) URL"), ("ftp://example.org/file.txt", "not an http(s) URL"),
        ("/etc/passwd", "not an http(s) URL"), (dead, "connection refused")]
    assert skipped[4].source == "http://a..b/" and skipped[4].reason.startswith("invalid URL: ")
    assert page.data == PAGE2


def test_robots_txt_is_read_once_per_host_with_the_user_agent_on_every_request(site: Site) -> None:
    urls = [site.url(p) for p in ("/page1.html", "/private/secret.html", "/feed.rss", "/sitemap.xml")]
    fetch(urls + [site.url("/page3.html", host="localhost")])
    assert site.paths().count("/robots.txt") == 2  # 127.0.0.1 and localhost
    assert "/private/secret.html" not in site.paths()
    assert {ua for _, _, ua, _ in site.seen} == {UA}


def test_robots_txt_404_allows_and_5xx_disallows_the_host(serve: Callable[[dict[str, Route]], Site]) -> None:
    missing = serve({"/page.html": reply(PAGE1)})
    failing = serve({"/robots.txt": reply(b"busy", 503, "text/plain"), "/page.html": reply(PAGE1)})
    results = fetch([missing.url("/page.html"), failing.url("/page.html")])
    assert summary(results) == [
        ("page", "/page.html"),
        ("skipped", "/page.html: robots.txt answered HTTP 503 Service Unavailable: the host is off limits for this run")]
    assert failing.paths() == ["/robots.txt"]


def test_robots_txt_can_be_ignored(site: Site) -> None:
    [doc] = fetch([site.url("/private/secret.html")], respect_robots=False)
    assert doc.data == PAGE1 and "/robots.txt" not in site.paths()


def test_requests_to_one_host_keep_the_interval_other_hosts_do_not_wait(site: Site) -> None:
    interval = 0.4
    fetch([site.url("/page1.html"), site.url("/page2.html", host="localhost"), site.url("/page2.html")],
          min_interval_seconds=interval)
    robots, page1, page2 = (site.times(p)[0] for p in ("/robots.txt", "/page1.html", "/page2.html"))
    assert page1 - robots >= interval - 0.01
    assert page2 - page1 >= interval - 0.01
    other_robots = site.times("/robots.txt", host="localhost")[0]
    assert other_robots - page1 < interval  # localhost did not wait for 127.0.0.1's turn


def test_crawl_delay_longer_than_the_interval_is_honoured(serve: Callable[[dict[str, Route]], Site]) -> None:
    site = serve({"/robots.txt": reply(b"User-agent: newsdesktest\nCrawl-delay: 0.5\n", content_type="text/plain"),
                  "/a.html": reply(PAGE1), "/b.html": reply(PAGE2)})
    assert len(fetch([site.url("/a.html"), site.url("/b.html")], min_interval_seconds=0.05)) == 2
    assert site.times("/b.html")[0] - site.times("/a.html")[0] >= 0.5 - 0.01


def test_one_bad_item_never_stops_the_others(site: Site) -> None:
    paths = ["/error", "/slow", "/page1.html", "/doc.pdf", "/loop-a", "/feed.rss", "/plain.txt"]
    assert summary(fetch([site.url(p) for p in paths])) == [
        ("skipped", "/error: HTTP 500 Internal Server Error"), ("skipped", "/slow: timed out after 1 s"),
        ("page", "/page1.html"), ("skipped", "/doc.pdf: content type application/pdf is not a web page or feed"),
        ("skipped", "/loop-a: redirect loop"),
        ("skipped", "/page1.html: already fetched in this run"), ("page", "/page2.html"),
        ("skipped", "/missing.html: HTTP 404 Not Found"), ("page", "/plain.txt")]


def test_is_url() -> None:
    assert is_url("https://example.org/a.html") and is_url("http://127.0.0.1:8000")
    assert not any(is_url(text) for text in ("example.org/a.html", "file:///etc/passwd", "ftp://example.org/",
                                             "https://", "seeds/article.txt", "http://[::1/", ""))


@pytest.mark.parametrize("url, expected", [
    ("https://www.Example.org/2026/12/02/story.html", "www.example.org_2026_12_02_story.html"),
    ("https://example.org/news/?id=7&page=2#top", "example.org_news?id=7&page=2"),
    ("http://example.org:8080/", "example.org:8080"),
    ("https://example.org/a\\b", "example.org_a_b"),
])
def test_url_article_id(url: str, expected: str) -> None:
    assert url_article_id(url) == expected


def test_a_long_url_gets_a_short_distinct_id() -> None:
    first, second = (url_article_id(f"https://example.org/{'x' * 300}{n}") for n in (1, 2))
    assert len(first) == len(second) == 200 and first != second and first[:150] == second[:150]


@given(st.text())
def test_every_url_article_id_is_safe_and_stable(text: str) -> None:
    article_id = url_article_id(text)
    assert re.fullmatch(r"[^\x00-\x1f\x7f-\x9f/\\]{1,200}", article_id) and url_article_id(text) == article_id
