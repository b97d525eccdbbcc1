"""The reader's widget in a real browser (Debian's Chromium) against the real service.

Each scenario drives the page the way a reader would and saves a screenshot to
``test-artifacts/``. Nothing is mocked except one dropped connection (see the retry test).
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import shutil
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect, sync_playwright

from newsdesk.index.ingest import ingest
from newsdesk.index.store import ArticleStore
from tests.conftest import ROOT, ingest_options, open_store
from tests.hard_text import ANSWER_SENTENCE, FURNITURE, SHORT_ANSWER, utf16_index
from tests.hard_text import ARTICLE as SCRIPTS_ARTICLE
from tests.hard_text import QUESTION as SCRIPTS_QUESTION
from tests.service.http.test_quoted_markers import QUESTION as SPOOF_QUESTION
from tests.service.http.test_quoted_markers import SPOOF

from tests.servers import newsdesk_server

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ANSWER_MS = 60_000  # two cores, shared: an answer can take a while

TASS = "Which news agency quoted Peskov saying 'That would be very cool'?"
GENEVA = "In which city were the January talks between Russia and the United States held?"
FOLLOW_UP = "How many of them were injured?"
UNANSWERABLE = "What is the capital of Australia?"

# Host-page CSS that would wreck a widget living in the page's own DOM.
HOSTILE_CSS = """* { color: rgb(255, 0, 0) !important; font-size: 40px !important; font-family: serif !important; }
button { display: none !important; } div, p, section, form { background: lime !important; padding: 30px !important; }"""
HOST_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host news site</title>
<style>{css}</style></head><body><h1>A host news site</h1><p>Its own article text.</p>
<script src="{base}/widget.js" data-newsdesk-url="{base}"></script></body></html>"""

XSS_ARTICLE = {
    "id": "zorblat #1 report & more",  # '#', '&' and spaces: the id must be URL-encoded
    "title": 'Zorblat <img src=x onerror="window.__xss=3"> festival',
    "publisher": "<script>window.__xss=4</script> Gazette",
    "published_at": "2024-05-04",
    "url": "javascript:window.__xss=5",
    "text": ("The Zorblat festival was held in Quenton on 3 May.\n\n"
             "Organisers pinned <script>window.__xss=1</script> to the notice board.\n\n"
             'A banner read <img src=x onerror="window.__xss=2"> all day long.\n\n'
             "The Zorblat festival drew musicians from four valleys and ran for three days.\n"),
}
XSS_QUESTION = "Where was the Zorblat festival held? <img src=x onerror=window.__xss=6>"

# Emoji are one code point (the server's offsets) but two UTF-16 units (JS string indices); a family is five code points.
EMOJI_ARTICLE = {
    "id": "kyiv-bridge",
    "title": "Leaders 👩‍👩‍👧 meet in Kyiv 🇺🇦",
    "publisher": "Dnipro Daily",
    "published_at": "2024-03-04",
    "text": ("Leaders 👩‍👩‍👧 met in Kyiv 🇺🇦 on Monday to plan the rebuilding of the Zorvan bridge.\n\n"
             "The Zorvan bridge 🌉 will reopen in March 2025, the city's mayor Olena Petrenko said.\n\n"
             "Engineers 👷🏽‍♀️ have already repaired two of its five spans.\n"),
}
EMOJI_QUESTION = "When will the Zorvan bridge reopen?"

# The element focused inside the widget's shadow root, described by its class (or tag).
ACTIVE = """() => {
  const el = document.getElementById('newsdesk-widget')?.shadowRoot?.activeElement;
  return el ? (el.className || el.tagName.toLowerCase()) : null;
}"""
# Records the last answer's text each time the DOM changes, to see it arrive in steps.
RECORD_STEPS = """() => {
  const log = document.getElementById('newsdesk-widget').shadowRoot.querySelector('.nd-log');
  window.__steps = [];
  new MutationObserver(() => {
    const text = log.querySelector('.nd-turn:last-child .nd-text');
    if (text) window.__steps.push(text.textContent);
  }).observe(log, {subtree: true, childList: true, characterData: true});
}"""
# The audit view's article as its child nodes: class (or "text"), text, and code-point offset of each in the whole.
ARTICLE_PIECES = """(el) => {
  let at = 0;
  return Array.from(el.childNodes, (node) => {
    const piece = {kind: node.nodeType === Node.TEXT_NODE ? "text" : node.className, start: at, text: node.textContent};
    at += Array.from(node.textContent).length;
    return piece;
  });
}"""
# Elements that must never come out of server or reader data, inside the answers and the audit view.
INJECTED = """() => {
  const root = document.getElementById('newsdesk-widget').shadowRoot;
  return root.querySelectorAll('.nd-log script, .nd-log img, .nd-audit script, .nd-audit img, .nd-log [onerror]').length;
}"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keeps the test output clean."""


@contextlib.contextmanager
def static_site(root: Path) -> Iterator[str]:
    """A plain web server for ``root`` on its own port: a host page on another origin."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def host_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("host-site")


@pytest.fixture(scope="module")
def allowed_site(host_dir: Path) -> Iterator[str]:
    with static_site(host_dir) as origin:
        yield origin


@pytest.fixture(scope="module")
def blocked_site(host_dir: Path) -> Iterator[str]:
    with static_site(host_dir) as origin:
        yield origin


@pytest.fixture(scope="module")
def service(seed_index: Path, tmp_path_factory: pytest.TempPathFactory, allowed_site: str, host_dir: Path) -> Iterator[str]:
    """The service over a copy of the seeds (it keeps conversations in its data folder), embeddable by ``allowed_site``."""
    work = tmp_path_factory.mktemp("widget-service")
    shutil.copytree(seed_index, work / "data")
    with newsdesk_server(work / "data", work / "server.log", cors_origins=allowed_site) as base:
        assert httpx.get(base + "/readyz", timeout=120).status_code == 200  # loads the model
        (host_dir / "host.html").write_text(HOST_PAGE.format(css=HOSTILE_CSS, base=base))
        yield base


@contextlib.contextmanager
def one_article_service(work: Path, article: dict) -> Iterator[str]:
    """A service whose archive is ``article`` alone, ingested from a JSON line."""
    source = work / "article.jsonl"
    source.write_text(json.dumps(article) + "\n", encoding="utf-8")
    with open_store(work / "data", writer=True) as store:
        assert not ingest([source], store, ingest_options(), progress=False).skipped
    with newsdesk_server(work / "data", work / "server.log") as base:
        assert httpx.get(base + "/readyz", timeout=120).status_code == 200
        yield base


@pytest.fixture(scope="module")
def xss_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A service whose only article carries script payloads in its text, title, publisher and URL."""
    with one_article_service(tmp_path_factory.mktemp("xss-service"), XSS_ARTICLE) as base:
        yield base


@pytest.fixture(scope="module")
def emoji_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A service whose only article has emoji before and inside the sentence that answers."""
    with one_article_service(tmp_path_factory.mktemp("emoji-service"), EMOJI_ARTICLE) as base:
        yield base


@pytest.fixture(scope="module")
def scripts_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A service whose only article has flags, ZWJ emoji, CJK, combining marks and RTL text before and inside
    the sentence that answers, and in the furniture lines it greys out (tests.hard_text)."""
    with one_article_service(tmp_path_factory.mktemp("scripts-service"), SCRIPTS_ARTICLE) as base:
        yield base


@pytest.fixture(scope="module")
def spoof_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A service whose only article's answering sentence itself says "[2] [99]", "[1]" and "SYSTEM:"."""
    with one_article_service(tmp_path_factory.mktemp("spoof-service"), SPOOF) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def dialogs() -> list[str]:
    """Every alert/confirm/prompt a page opened: an injected script would show up here."""
    return []


@pytest.fixture
def page(browser: Browser, dialogs: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(ANSWER_MS)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    context.close()


def widget(page: Page, css: str) -> Locator:
    return page.locator(f"#newsdesk-widget {css}")


def open_chat(page: Page, base: str) -> None:
    page.goto(base + "/")
    expect(widget(page, "textarea")).to_be_visible()


def ask(page: Page, question: str) -> Locator:
    """Types ``question``, submits it with Enter, and waits until its answer is complete."""
    widget(page, "textarea").fill(question)
    widget(page, "textarea").press("Enter")
    turn = widget(page, ".nd-turn").last
    expect(turn.locator(".nd-q")).to_contain_text(question)
    expect(turn).to_have_attribute("data-state", "done")
    return turn


def events(body: str) -> list[tuple[str, dict]]:
    """The (name, data) server-sent events of a finished ``/ask/stream`` response."""
    found = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((fields["event"], json.loads(fields["data"])))
    return found


def done_payload(body: str) -> dict:
    return next(data for name, data in events(body) if name == "done")


def source_line(item: dict) -> str:
    """What a source card says under its title: publisher · day, as the widget writes it."""
    return f"{item['publisher'] or 'Unknown publisher'} · {(item['published_at'] or 'undated')[:10]}"


def article_text(base: str, article_id: str) -> str:
    return httpx.get(f"{base}/articles/{quote(article_id, safe='')}", timeout=30).json()["text"]


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def assert_arrived_in_steps(page: Page, turn: Locator, body: str) -> None:
    """With more than one ``text`` event, some earlier rendering must be a strict prefix of the final answer."""
    if sum(name == "text" for name, _ in events(body)) < 2:
        return
    final = turn.locator(".nd-text").text_content()
    steps = [step for step in page.evaluate("window.__steps") if step]
    assert any(len(step) < len(final) and final.startswith(step) for step in steps), steps


def test_streamed_answer_chip_tooltip_and_audit(page: Page, service: str) -> None:
    problems: list[str] = []  # script errors and CSP violations both land here
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    open_chat(page, service)
    page.evaluate(RECORD_STEPS)
    with page.expect_request(service + "/ask/stream") as request, page.expect_response(service + "/ask/stream") as response:
        turn = ask(page, TASS)
    asked_at = datetime.fromisoformat(request.value.post_data_json["as_of"])  # the reader's clock, sent as ISO 8601
    assert abs(datetime.now(timezone.utc) - asked_at) < timedelta(minutes=5)
    done = done_payload(response.value.text())
    expect(turn.locator(".nd-text")).to_contain_text("TASS")
    assert_arrived_in_steps(page, turn, response.value.text())

    short = done["short_answer"]  # "Which news agency": the short answer comes first, with the chip of its citation
    expect(turn.locator(".nd-short-text")).to_have_text(short["text"])
    expect(turn.locator(".nd-short .nd-chip")).to_have_text(str(short["n"]))
    assert turn.locator(".nd-short").evaluate("(el) => !!(el.compareDocumentPosition(el.parentNode.querySelector('.nd-text')) & 4)")

    citation = done["citations"][0]
    chip = turn.locator(".nd-text .nd-chip").first
    expect(chip).to_have_text(str(citation["n"]))
    tip = turn.locator(f"#{chip.get_attribute('aria-describedby')}")
    expect(tip).to_be_hidden()
    chip.hover()
    expect(tip).to_be_visible()
    expect(tip).to_contain_text(citation["quote"])
    expect(tip).to_contain_text(citation["label"])  # publisher and date as stated
    page.mouse.move(0, 0)
    expect(tip).to_be_hidden()
    chip.focus()
    expect(tip).to_be_visible()
    shot(page, "1-answer-tooltip")

    chip.click()
    audit = widget(page, "dialog.nd-audit")
    expect(audit).to_be_visible()
    assert audit.get_attribute("aria-modal") == "true"
    mark = audit.locator("mark")
    expect(mark).to_have_count(1)
    article = httpx.get(f"{service}/articles/{quote(citation['article_id'], safe='')}", timeout=30).json()
    assert mark.text_content() == citation["quote"] == article["text"][citation["start"]:citation["end"]]
    expect(mark).to_be_in_viewport()
    assert page.evaluate(ACTIVE) == "nd-audit-close"  # focus moved into the dialog
    # The boilerplate cut before indexing is shown, marked as such, and the whole text is still the original.
    removed = audit.locator(".nd-removed")
    assert removed.count() >= len(article["removed"]) > 0
    assert any("Dear readers" in t for t in removed.all_text_contents())
    assert audit.locator(".nd-article").text_content() == article["text"]
    shot(page, "1-audit-view")
    page.keyboard.press("Escape")
    expect(audit).to_be_hidden()
    assert page.evaluate(ACTIVE) == "nd-chip"
    assert problems == []


def test_follow_up_uses_the_conversation_and_new_conversation_forgets_it(page: Page, service: str) -> None:
    open_chat(page, service)
    page.evaluate(RECORD_STEPS)
    with page.expect_request(service + "/ask/stream") as first, page.expect_response(service + "/ask/stream") as reply:
        turn = ask(page, GENEVA)
    assert "conversation_id" not in first.value.post_data_json
    expect(turn.locator(".nd-text")).to_contain_text("Geneva")
    assert_arrived_in_steps(page, turn, reply.value.text())
    conversation = done_payload(reply.value.text())["conversation_id"]

    with page.expect_request(service + "/ask/stream") as second:
        turn = ask(page, "What total civilian casualty figure did the OHCHR report?")
    assert second.value.post_data_json["conversation_id"] == conversation
    expect(turn.locator(".nd-text")).not_to_be_empty()  # answered or abstained: either way the turn is filled
    with page.expect_request(service + "/ask/stream") as third:
        turn = ask(page, FOLLOW_UP)  # only the conversation says who "them" are
    assert third.value.post_data_json["conversation_id"] == conversation
    shot(page, "2-follow-up")
    expect(turn.locator(".nd-text")).to_contain_text("9,776")

    widget(page, "button.nd-new").click()
    expect(widget(page, ".nd-turn")).to_have_count(0)
    with page.expect_request(service + "/ask/stream") as fourth, page.expect_response(service + "/ask/stream") as fresh:
        turn = ask(page, TASS)
    assert "conversation_id" not in fourth.value.post_data_json
    assert done_payload(fresh.value.text())["conversation_id"] != conversation
    expect(turn.locator(".nd-text")).to_contain_text("TASS")
    expect(widget(page, ".nd-turn")).to_have_count(1)


def test_abstention_looks_different_and_lists_closest_stories(page: Page, service: str) -> None:
    open_chat(page, service)
    with page.expect_response(service + "/ask/stream") as response:
        turn = ask(page, UNANSWERABLE)
    closest = done_payload(response.value.text())["sources"]
    answer = turn.locator(".nd-a")
    expect(answer).to_have_class(re.compile(r"\bnd-abstained\b"))
    assert answer.evaluate("el => getComputedStyle(el).borderTopStyle") == "dashed"
    expect(turn.locator(".nd-chip")).to_have_count(0)
    expect(turn.locator(".nd-sources-label")).to_have_text("Closest stories in the archive:")
    cards = turn.locator(".nd-source")
    expect(cards).to_have_count(len(closest))
    assert closest
    shot(page, "3-abstention")

    cards.first.get_by_role("button", name="Show in the article").click()
    audit = widget(page, "dialog.nd-audit")
    expect(audit).to_be_visible()
    expect(audit.locator("mark")).to_have_text(closest[0]["quote"])
    page.keyboard.press("Escape")
    expect(audit).to_be_hidden()
    assert page.evaluate(ACTIVE) == "nd-source-open"


def test_source_cards_show_each_story_and_open_it_at_its_quote(page: Page, service: str) -> None:
    open_chat(page, service)
    with page.expect_response(service + "/ask/stream") as response:
        turn = ask(page, TASS)
    sources = done_payload(response.value.text())["sources"]
    assert 3 <= len(sources) <= 5
    expect(turn.locator(".nd-sources-label")).to_have_text("Sources:")
    cards = turn.locator(".nd-source")
    expect(cards).to_have_count(len(sources))
    for card, source in zip(cards.all(), sources):
        expect(card.locator(".nd-source-title")).to_have_text(source["title"] or source["article_id"])
        expect(card.locator(".nd-source-meta")).to_have_text(source_line(source))
        expect(card.locator(".nd-source-quote")).to_have_text(source["quote"])
    shot(page, "9-sources")

    last = sources[-1]  # a story the answer does not cite: shown by its sentence closest to the question
    cards.last.get_by_role("button", name="Show in the article").click()
    audit = widget(page, "dialog.nd-audit")
    expect(audit).to_be_visible()
    expect(audit.locator(".nd-audit-title")).to_have_text(last["title"] or "Untitled article")
    mark = audit.locator("mark")
    expect(mark).to_have_count(1)
    assert mark.text_content() == last["quote"] == article_text(service, last["article_id"])[last["start"]:last["end"]]
    expect(mark).to_be_in_viewport()
    page.keyboard.press("Escape")
    expect(audit).to_be_hidden()


def test_audit_view_highlights_the_quoted_span_after_emoji(page: Page, emoji_service: str) -> None:
    """Server offsets count code points; the widget must not cut the text by UTF-16 index."""
    open_chat(page, emoji_service)
    with page.expect_response(emoji_service + "/ask/stream") as response:
        turn = ask(page, EMOJI_QUESTION)
    done = done_payload(response.value.text())
    text = article_text(emoji_service, EMOJI_ARTICLE["id"])
    assert text == EMOJI_ARTICLE["text"]
    citation = next(c for c in done["citations"] if "🌉" in c["quote"])  # the sentence that answers, after emoji
    assert text[citation["start"]:citation["end"]] == citation["quote"]
    assert len(text[:citation["start"]].encode("utf-16-le")) // 2 > citation["start"]  # emoji before it: the indices differ

    audit = widget(page, "dialog.nd-audit")
    spans = [(turn.locator(".nd-text .nd-chip").nth(done["citations"].index(citation)), citation)]
    spans += [(turn.locator(".nd-source-open").first, done["sources"][0])]
    for opener, span in spans:
        opener.click()
        expect(audit).to_be_visible()
        mark = audit.locator("mark")
        expect(mark).to_have_count(1)
        assert mark.text_content() == span["quote"] == text[span["start"]:span["end"]]
        assert audit.locator(".nd-article").text_content() == text  # nothing cut short or shifted around the mark
        shot(page, "10-emoji-audit")
        page.keyboard.press("Escape")
        expect(audit).to_be_hidden()


def test_audit_view_marks_and_greys_by_code_points_in_every_script(page: Page, scripts_service: str) -> None:
    """Flags, ZWJ emoji, CJK, decomposed accents and RTL text with bidi marks before (and inside) the cited span and
    the furniture: the mark is exactly the quote, each greyed span exactly a removed line, each at its code-point offset."""
    open_chat(page, scripts_service)
    with page.expect_response(scripts_service + "/ask/stream") as response:
        turn = ask(page, SCRIPTS_QUESTION)
    done = done_payload(response.value.text())
    article = httpx.get(f"{scripts_service}/articles/{SCRIPTS_ARTICLE['id']}", timeout=30).json()
    text = article["text"]
    assert text == SCRIPTS_ARTICLE["text"]
    assert [text[r["start"]:r["end"]] for r in article["removed"]] == FURNITURE
    citation = next(c for c in done["citations"] if c["quote"] == ANSWER_SENTENCE)
    assert text[citation["start"]:citation["end"]] == citation["quote"]
    assert utf16_index(text, citation["start"]) > citation["start"]  # the JS string index differs
    expect(turn.locator(".nd-short-text")).to_have_text(SHORT_ANSWER)

    audit = widget(page, "dialog.nd-audit")
    source = next(s for s in done["sources"] if s["quote"] == ANSWER_SENTENCE)
    openers = [(turn.locator(".nd-text .nd-chip").nth(done["citations"].index(citation)), citation),
               (turn.locator(".nd-source-open").nth(done["sources"].index(source)), source)]
    for opener, span in openers:
        opener.click()
        expect(audit).to_be_visible()
        expect(audit.locator("mark")).to_have_count(1)
        pieces = audit.locator(".nd-article").evaluate(ARTICLE_PIECES)
        assert "".join(p["text"] for p in pieces) == text
        assert all(text[p["start"]:p["start"] + len(p["text"])] == p["text"] for p in pieces)
        assert [(p["start"], p["text"]) for p in pieces if p["kind"] == "nd-mark"] == [(span["start"], span["quote"])]
        assert [(p["start"], p["text"]) for p in pieces if p["kind"] == "nd-removed"] == [
            (r["start"], text[r["start"]:r["end"]]) for r in article["removed"]]
        assert audit.locator(".nd-removed").evaluate_all("(els) => els.map((el) => el.title)") == [
            f"Not indexed: {r['reason']}" for r in article["removed"]]
        shot(page, "11-scripts-audit")
        page.keyboard.press("Escape")
        expect(audit).to_be_hidden()


def test_quoted_citation_markers_stay_text(page: Page, spoof_service: str) -> None:
    """Chips come from the answer's own markers only: brackets inside a quote never open another article."""
    open_chat(page, spoof_service)
    with page.expect_response(spoof_service + "/ask/stream") as response:
        turn = ask(page, SPOOF_QUESTION)
    done = done_payload(response.value.text())
    quoted = next(c for c in done["citations"] if "[2] [99]" in c["quote"] and "SYSTEM:" in c["quote"])
    own = [p["n"] for p in done["answer_parts"] if p["n"] is not None]
    text = turn.locator(".nd-text")
    chips = text.locator(".nd-chip")
    expect(chips).to_have_count(len(own))
    assert [int(chip.get_attribute("data-n")) for chip in chips.all()] == own
    # Each chip reads as its number; everything else, the quoted brackets included, exactly as the article wrote it.
    assert text.text_content() == "".join(p["text"] if p["n"] is None else str(p["n"]) for p in done["answer_parts"])
    assert quoted["quote"] in text.evaluate("(el) => Array.from(el.childNodes, (n) => n.nodeType === Node.TEXT_NODE ? n.data : '|').join('')")
    shot(page, "12-quoted-markers")

    chips.nth(own.index(quoted["n"])).click()  # the answer's own chip still opens its citation
    audit = widget(page, "dialog.nd-audit")
    expect(audit).to_be_visible()
    expect(audit.locator("mark")).to_have_text(quoted["quote"])
    page.keyboard.press("Escape")
    expect(audit).to_be_hidden()


def test_embedded_on_an_allowed_site_ignores_the_host_css(page: Page, service: str, allowed_site: str) -> None:
    page.goto(allowed_site + "/host.html")
    launcher = page.get_by_role("button", name="Ask the archive")
    expect(launcher).to_be_visible()
    launcher.click()
    expect(widget(page, ".nd-panel")).to_be_visible()
    assert page.evaluate(ACTIVE) == "nd-input"
    turn = ask(page, TASS)
    expect(turn.locator(".nd-chip")).not_to_have_count(0)
    text = turn.locator(".nd-text")
    assert text.evaluate("el => getComputedStyle(el).color") != "rgb(255, 0, 0)"
    assert text.evaluate("el => getComputedStyle(el).fontSize") != "40px"
    expect(widget(page, ".nd-send")).to_be_visible()
    shot(page, "4-embedded")
    widget(page, ".nd-close").click()
    expect(widget(page, ".nd-panel")).to_be_hidden()
    expect(launcher).to_be_focused()


def test_embedded_on_a_site_not_allowed_shows_an_error(page: Page, service: str, blocked_site: str) -> None:
    page.goto(blocked_site + "/host.html")
    page.get_by_role("button", name="Ask the archive").click()
    widget(page, "textarea").fill(TASS)
    widget(page, "textarea").press("Enter")
    turn = widget(page, ".nd-turn").last
    expect(turn).to_have_attribute("data-state", "error")
    expect(turn.locator(".nd-error")).to_contain_text("not allowed")
    expect(turn.get_by_role("button", name="Retry")).to_be_visible()
    shot(page, "4-blocked-origin")


def test_article_and_question_markup_stays_text(page: Page, xss_service: str, dialogs: list[str]) -> None:
    open_chat(page, xss_service)
    turn = ask(page, XSS_QUESTION)
    expect(turn.locator(".nd-q")).to_contain_text("<img src=x onerror=window.__xss=6>")
    # The markup's words dilute the question (the answerer may abstain on it): the article's own markup is
    # checked through the answer to the same question asked plainly.
    turn = ask(page, XSS_QUESTION.split("?")[0] + "?")
    chip = turn.locator(".nd-chip").first
    chip.focus()
    expect(turn.locator(".nd-tip").first).to_contain_text(XSS_ARTICLE["publisher"])
    chip.click()
    audit = widget(page, "dialog.nd-audit")
    expect(audit.locator("mark")).to_have_count(1)
    body = audit.locator(".nd-article")
    expect(body).to_contain_text("<script>window.__xss=1</script>")
    expect(body).to_contain_text('<img src=x onerror="window.__xss=2">')
    expect(audit.locator(".nd-audit-title")).to_have_text(XSS_ARTICLE["title"])
    expect(audit.locator("a")).to_have_count(0)  # a javascript: URL is never made a link
    shot(page, "5-xss-audit")
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert dialogs == []
    assert page.evaluate(INJECTED) == 0


def test_phone_width_has_no_horizontal_scrolling(browser: Browser, service: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.set_default_timeout(ANSWER_MS)
    try:
        open_chat(page, service)
        turn = ask(page, GENEVA)
        expect(turn.locator(".nd-chip")).not_to_have_count(0)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        scroller = widget(page, ".nd-scroll")
        assert scroller.evaluate("el => el.scrollWidth <= el.clientWidth")
        assert widget(page, ".nd-panel").bounding_box()["width"] == 360
        shot(page, "6-phone")
        turn.locator(".nd-chip").first.click()
        box = widget(page, "dialog.nd-audit").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360
        expect(widget(page, "dialog.nd-audit mark")).to_be_in_viewport()
        shot(page, "6-phone-audit")
    finally:
        context.close()


def test_error_then_retry(page: Page, service: str) -> None:
    calls: list[str] = []

    def drop_first(route: Route) -> None:
        # A connection dropped mid-request: the real server cannot be made to do this on cue.
        calls.append(route.request.post_data_json["question"])
        if len(calls) == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(service + "/ask/stream", drop_first)
    open_chat(page, service)
    widget(page, "textarea").fill(TASS)
    widget(page, "textarea").press("Enter")
    turn = widget(page, ".nd-turn").last
    expect(turn).to_have_attribute("data-state", "error")
    expect(turn.locator(".nd-error")).to_be_visible()
    shot(page, "7-error")
    turn.get_by_role("button", name="Retry").click()
    expect(turn).to_have_attribute("data-state", "done")
    expect(turn.locator(".nd-text")).to_contain_text("TASS")
    expect(widget(page, ".nd-error")).to_have_count(0)
    assert calls == [TASS, TASS]
    shot(page, "7-retried")


def test_server_refusal_is_shown(page: Page, service: str) -> None:
    open_chat(page, service)
    # Past the textarea's maxlength, so set by script: the server's 422 is the refusal under test.
    widget(page, "textarea").evaluate("(el, text) => { el.value = text; }", "why " * 600)
    widget(page, "textarea").press("Enter")
    turn = widget(page, ".nd-turn").last
    expect(turn).to_have_attribute("data-state", "error")
    expect(turn.locator(".nd-error")).to_contain_text("the limit is 2000")
    expect(turn.get_by_role("button", name="Retry")).to_be_visible()


def test_keyboard_only(page: Page, service: str) -> None:
    open_chat(page, service)
    page.evaluate("document.activeElement.blur()")
    tab_to(page, "Tab", "nd-input")
    page.keyboard.type(TASS)
    page.keyboard.press("Enter")
    turn = widget(page, ".nd-turn").last
    expect(turn).to_have_attribute("data-state", "done")
    tab_to(page, "Shift+Tab", "nd-chip")
    expect(turn.locator(".nd-tip:visible")).to_have_count(1)  # the focused chip's
    page.keyboard.press("Enter")
    audit = widget(page, "dialog.nd-audit")
    expect(audit).to_be_visible()
    expect(audit.locator("mark")).to_be_in_viewport()
    shot(page, "8-keyboard-audit")
    page.keyboard.press("Escape")
    expect(audit).to_be_hidden()
    assert page.evaluate(ACTIVE) == "nd-chip"


def tab_to(page: Page, key: str, target: str, most: int = 12) -> None:
    """Presses ``key`` until the widget element with class ``target`` has focus."""
    for _ in range(most):
        page.keyboard.press(key)
        if page.evaluate(ACTIVE) == target:
            return
    pytest.fail(f"{key} never reached .{target}")
