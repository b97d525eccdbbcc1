"""A web page's article text and metadata (index/pages.py), on saved pages of the kinds a
newsroom feeds in: a BBC-style page with a cookie banner, menus, "Read more:" and "More on
this story" links, a newsletter line; dates stated only in JSON-LD or only as visible text."""

from __future__ import annotations

from pathlib import Path

from newsdesk.index.ingest import ingest
from newsdesk.index.pages import read_page
from newsdesk.index.store import ArticleStore

from tests.conftest import ingest_options

PAGES = Path(__file__).resolve().parent.parent / "data" / "pages"
STORM = (PAGES / "storm-bbc-style.html").read_text(encoding="utf-8")


def test_article_body_without_the_page_furniture() -> None:
    page = read_page(STORM)
    for furniture in ("cookies", "Yes, I agree", "Home", "Sport", "Read more", "How to prepare for a storm",
                      "newsletter", "More on this story", "Storm Dudley", "Ministers under fire", "All rights reserved"):
        assert furniture not in page.text, furniture
    for body in ("Millions of people have been told to stay at home as Storm Eunice brings winds of up to 100mph to parts of the UK.",
                 '"We must be prepared for the worst," the environment secretary said on Friday morning, urging people to follow the advice.',
                 "Train operators have cancelled services across the country, and the Severn Bridge has been closed to traffic."):
        assert body in page.text


def test_metadata_from_json_ld_and_meta_tags() -> None:
    meta = read_page(STORM).metadata
    assert (meta.title, meta.publisher, meta.author) == ("Storm Eunice: Millions told to stay at home", "BBC News", "Jane Doe")
    assert meta.published_at == "2022-02-18T06:42:11+00:00"
    assert meta.updated_at == "2022-02-18T18:42:00+00:00"


def _page(head: str, body: str) -> str:
    story = "".join(f"<p>Officials in the harbour district said on Tuesday that repairs to pier {n} would take a month "
                    f"and cost more than the council had planned.</p>" for n in range(1, 6))
    return f"<!DOCTYPE html><html><head><title>Harbour repairs</title>{head}</head><body><article><h1>Harbour repairs</h1>{body}{story}</article></body></html>"


def test_date_only_in_json_ld_is_converted_to_utc() -> None:
    ld = '<script type="application/ld+json">{"@type":"NewsArticle","datePublished":"2023-01-05T23:30:00-05:00"}</script>'
    assert read_page(_page(ld, "")).metadata.published_at == "2023-01-06T04:30:00+00:00"


def test_visible_date_with_time_zone_is_read() -> None:
    visible = '<div class="date">10 January 2022, 18:42 GMT</div>'
    assert read_page(_page("", visible)).metadata.published_at[:10] == "2022-01-10"


def test_a_stated_date_alone_gets_no_invented_time() -> None:
    meta = '<meta property="article:published_time" content="2022-02-18">'
    assert read_page(_page(meta, "")).metadata.published_at == "2022-02-18"


def test_a_page_without_a_date_stays_undated() -> None:
    # A date inside the story is not the page's date.
    page = read_page(_page("", "<p>The pier was built on March 3, 1921, by the old harbour board.</p>"))
    assert page.metadata.published_at is None and page.metadata.updated_at is None


def test_the_storm_page_through_ingest(writer: ArticleStore, tmp_path: Path) -> None:
    """Text, metadata and offsets as stored: the page is the source, trafilatura's text the article."""
    path = tmp_path / "storm.html"
    path.write_text(STORM, encoding="utf-8")
    report = ingest([path], writer, ingest_options(), progress=False)
    assert report.added == ["storm"] and not report.skipped and not report.warnings
    article = writer.article("storm")
    assert article.source_text == STORM and article.raw_text == read_page(STORM).text
    assert (article.publisher, article.author, article.published_at) == ("BBC News", "Jane Doe", "2022-02-18T06:42:11+00:00")
    quoted = [s.text for s in writer.sentences("storm")]
    assert not [s for s in quoted if "prepared for the worst?" in s]  # the link to another story is not quotable
    for s in writer.sentences("storm"):
        assert article.raw_text[s.start:s.end] == s.text
