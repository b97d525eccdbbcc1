"""Boilerplate removal, judged against an editor's hand-made reading of the seeds.

``tests/data/seed_boilerplate.json`` lists, for every seed, the raw lines that are site
furniture (decided by reading each seed, not by running the cleaner): each entry is the
1-based line number in ``raw.split("\\n")`` and the line's exact text. Every other
non-blank line is news. The seed tests check the stored index (the session seed
ingest) against that reading, both ways. The general cases at the bottom are invented
articles from other outlets, so the rules cannot be fitted to the five seeds alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsdesk.index.clean import clean
from newsdesk.index.store import ArticleStore

from tests.conftest import ROOT, SEEDS

FIXTURE = ROOT / "tests" / "data" / "seed_boilerplate.json"
BOILERPLATE: dict[str, list[dict]] = json.loads(FIXTURE.read_text(encoding="utf-8"))
SEED_IDS = sorted(p.stem for p in SEEDS.glob("*.txt"))

# Phrases of site furniture that must not reach any chunk of any seed.
FURNITURE_PHRASES = ("remind me later", "support us monthly", "share this", "source link", "leave a reply",
                     "alternate addresses", "dear readers", "not ready to support", "paiment methods",
                     "required fields are marked", "has not been edited by ndtv staff", "(photo by afp)",
                     "(representational)", "press tv news roku", "www.presstv.co.uk")


@dataclass(frozen=True)
class SeedLine:
    number: int       # 1-based
    start: int        # raw offset of the first non-blank character
    end: int          # raw offset after the last non-blank character
    text: str         # raw[start:end]
    boilerplate: bool

    def overlaps(self, start: int, end: int) -> bool:
        return start < self.end and self.start < end


def seed_lines(stem: str) -> list[SeedLine]:
    """The non-blank lines of a seed with their raw spans, labelled from the fixture."""
    raw = (SEEDS / f"{stem}.txt").read_text(encoding="utf-8")
    marked = {entry["line"] for entry in BOILERPLATE[stem]}
    lines, offset = [], 0
    for number, line in enumerate(raw.split("\n"), start=1):
        stripped = line.strip()
        if stripped:
            start = offset + (len(line) - len(line.lstrip()))
            lines.append(SeedLine(number, start, start + len(stripped), stripped, number in marked))
        offset += len(line) + 1
    return lines


def non_space_positions(text: str, base: int) -> set[int]:
    return {base + i for i, ch in enumerate(text) if not ch.isspace()}


# ---- the fixture itself -----------------------------------------------------------------

def test_fixture_names_every_seed_and_matches_its_lines() -> None:
    assert sorted(BOILERPLATE) == SEED_IDS
    for stem, entries in BOILERPLATE.items():
        raw_lines = (SEEDS / f"{stem}.txt").read_text(encoding="utf-8").split("\n")
        assert entries, stem
        for entry in entries:
            assert raw_lines[entry["line"] - 1] == entry["text"], (stem, entry)
            assert entry["text"].strip(), (stem, entry)
        # every seed has both news and boilerplate
        labels = {line.boilerplate for line in seed_lines(stem)}
        assert labels == {True, False}, stem


def test_fixture_keeps_the_first_copy_of_a_repeated_headline() -> None:
    lines = seed_lines("002_45b39b5889d0e37c")
    assert lines[0].text == lines[1].text
    assert (lines[0].boilerplate, lines[1].boilerplate) == (False, True)


# ---- the seeds, as stored ---------------------------------------------------------------

@pytest.mark.parametrize("stem", SEED_IDS)
def test_seed_boilerplate_is_never_stored(seed_store: ArticleStore, stem: str) -> None:
    article = seed_store.article(stem)
    raw = article.raw_text
    assert raw == (SEEDS / f"{stem}.txt").read_text(encoding="utf-8")
    lines = seed_lines(stem)
    news_texts = [line.text for line in lines if not line.boilerplate]
    stored = [(s.start, s.end, s.text) for s in seed_store.sentences(stem)]
    stored += [(c.start, c.end, c.text) for c in seed_store.passages_of(stem)]
    removed = {(start, end) for start, end, _ in article.removed}
    for line in (line for line in lines if line.boilerplate):
        for start, end, text in stored:
            assert not line.overlaps(start, end), f"line {line.number} {line.text!r} is inside stored text {text!r}"
            # The text itself must not be stored either, unless a news line says the same
            # words (the first copy of a repeated headline).
            if not any(line.text in news for news in news_texts):
                assert line.text not in text, f"line {line.number} {line.text!r} stored in {text!r}"
        assert (line.start, line.end) in removed, f"line {line.number} {line.text!r} not recorded as removed"


def test_furniture_phrases_are_in_no_chunk(seed_store: ArticleStore) -> None:
    ids = seed_store.article_ids()
    assert sorted(ids) == SEED_IDS
    for article_id in ids:
        for chunk in seed_store.passages_of(article_id):
            lowered = chunk.text.lower()
            for phrase in FURNITURE_PHRASES:
                assert phrase not in lowered, f"{phrase!r} in chunk {chunk.chunk_id} of {article_id}"


@pytest.mark.parametrize("stem", SEED_IDS)
def test_every_news_line_is_covered_by_stored_sentences(seed_store: ArticleStore, stem: str) -> None:
    sentences = seed_store.sentences(stem)
    for line in (line for line in seed_lines(stem) if not line.boilerplate):
        inside = [s for s in sentences if line.start <= s.start and s.end <= line.end]
        covered: set[int] = set()
        for s in inside:
            covered |= set(range(s.start, s.end))
        missing = non_space_positions(line.text, line.start) - covered
        assert not missing, (
            f"line {line.number} of {stem} not covered: {''.join(line.text[p - line.start] for p in sorted(missing))!r}")


@pytest.mark.parametrize("stem", SEED_IDS)
def test_every_stored_sentence_and_chunk_lies_in_news(seed_store: ArticleStore, stem: str) -> None:
    lines = seed_lines(stem)
    news = [line for line in lines if not line.boilerplate]
    for s in seed_store.sentences(stem):
        assert any(line.start <= s.start and s.end <= line.end for line in news), \
            f"sentence {s.seq} {s.text!r} of {stem} is not inside a news line"
    news_positions: set[int] = set()
    for line in news:
        news_positions |= non_space_positions(line.text, line.start)
    for c in seed_store.passages_of(stem):
        outside = non_space_positions(c.text, c.start) - news_positions
        assert not outside, f"chunk {c.seq} of {stem} holds non-news text"


# ---- general cases: invented articles from other outlets ----------------------------------

LEAD = ("Floodwaters swept through three villages in northern Italy on Tuesday, forcing hundreds of residents "
        "to flee their homes.\n\n"
        "Rescue teams worked through the night to reach people stranded on rooftops, the regional civil "
        "protection agency said.\n\n")
REST = ("\n\nThe regional government has declared a state of emergency and asked Rome for additional funds.\n\n"
        "Forecasters expect more rain later in the week, raising fears of further landslides.\n")


def verdicts(raw: str, lines: list[str]) -> dict[str, str]:
    """``kept``/``removed`` for each given line of ``raw`` (each must occur once)."""
    kept, removed = clean(raw)
    kept_starts = {span.start for span in kept}
    removed_starts = {span.start for span, _ in removed}
    out = {}
    for line in lines:
        assert raw.count(line) == 1, line
        start = raw.index(line)
        out[line] = "kept" if start in kept_starts else "removed" if start in removed_starts else "missing"
    return out


def _case(name: str, line: str, expected: str, *, where: str = "middle"):
    return pytest.param(line, expected, where, id=name)


GENERAL_CASES = [
    # furniture of other outlets: removed
    _case("crumbs-home-world-europe", "Home › World › Europe", "removed", where="top"),
    _case("photo-credit-line", "Photo: Jane Doe/Reuters", "removed"),
    _case("caption-with-agency-credit", "Firefighters battle the blaze near Athens on Monday. Photo: Jane Doe/Reuters", "removed"),
    _case("follow-us-on-twitter", "Follow us on Twitter", "removed"),
    _case("follow-us-on-twitter-at-end", "Follow us on Twitter", "removed", where="end"),
    _case("advertisement-label", "Advertisement", "removed"),
    _case("share-on-facebook", "Share on Facebook", "removed"),
    _case("updated-dateline", "Updated: 5 March 2024, 10:32 GMT", "removed", where="top"),
    _case("bare-url-footer", "https://example.com/news/2024/03/05/floods", "removed", where="end"),
    _case("appeal-become-a-member", "Become a member today and help keep our reporting free for everyone.", "removed"),
    _case("appeal-please-consider", "Please consider supporting us with a monthly gift.", "removed"),
    _case("newsletter-sign-up", "Sign up for our daily newsletter", "removed"),
    _case("byline-with-agency", "By Jane Doe and John Smith, Reuters", "removed", where="top"),
    _case("copyright-footer", "© 2024 Example News Ltd. All rights reserved.", "removed", where="end"),
    # news that mentions the same words: kept
    _case("support-for-the-bill", "Support for the bill grew in the Senate.", "kept"),
    _case("quote-with-our-work", "“We will not stop our work until every family has a home,” the mayor said.", "kept"),
    _case("quote-asking-for-donations", "“Your donations are keeping our shelter open,” the director told reporters, "
          "adding that $40,000 had been raised.", "kept"),
    _case("news-about-donations", "Donations to the Red Cross topped $2 million after the earthquake, the charity said.", "kept"),
    _case("news-about-subscribers", "Netflix said it lost 200,000 subscribers in the quarter, and its shares fell $35 "
          "in late trading.", "kept"),
    _case("police-appeal-for-help", "We need your help to find the missing boy, police told residents on Monday.", "kept"),
    _case("by-tuesday", "By Tuesday, the river had fallen below flood level.", "kept"),
    _case("contact-tracing", "Contact tracing resumed in Wuhan on Monday.", "kept"),
    _case("home-sales", "Home sales fell 4% in March.", "kept"),
    _case("published-figures", "Published figures show turnout reached 67 percent.", "kept"),
    _case("if-you-value-privacy", "If you value your privacy, turn off location tracking, the agency advised.", "kept"),
]


@pytest.mark.parametrize(("line", "expected", "where"), GENERAL_CASES)
def test_general_cleaning_case(line: str, expected: str, where: str) -> None:
    if where == "top":
        raw = line + "\n\n" + LEAD + REST.lstrip("\n")
    elif where == "end":
        raw = LEAD + REST.lstrip("\n") + "\n" + line + "\n"
    else:
        raw = LEAD + line + REST
    got = verdicts(raw, [line])[line]
    assert got == expected
    # The surrounding news is always kept, whatever happens to the line under test.
    news = [p.strip() for p in (LEAD + REST).split("\n") if p.strip()]
    assert set(verdicts(raw, news).values()) == {"kept"}


def test_become_a_member_box_is_removed_whole() -> None:
    box = ["Become a member today",
           "Our journalism is funded by readers like you. Join 50,000 members who support our reporting from just $5 a month."]
    raw = LEAD + "\n".join(box) + REST
    assert verdicts(raw, box) == {box[0]: "removed", box[1]: "removed"}


def test_news_after_a_mid_article_appeal_is_kept() -> None:
    appeal = "Support our journalism. Become a member today and help keep our reporting free for everyone."
    news = ["The vote is due on Monday.", "Opposition leaders said they would boycott the session."]
    raw = LEAD + appeal + "\n\n" + "\n\n".join(news) + REST
    assert verdicts(raw, [appeal, *news]) == {appeal: "removed", news[0]: "kept", news[1]: "kept"}


def test_cleaning_never_rewrites_text() -> None:
    raw = "Home › World\r\n\r\n  Storm hits coast.  \r\nRead more\r\n\tWinds reached 150 km/h on Friday.\t\r\n"
    kept, removed = clean(raw)
    lines = [raw[s.start:s.end] for s in kept] + [raw[s.start:s.end] for s, _ in removed]
    assert sorted(lines) == sorted(["Home › World", "Storm hits coast.", "Read more", "Winds reached 150 km/h on Friday."])
    assert [raw[s.start:s.end] for s in kept] == ["Storm hits coast.", "Winds reached 150 km/h on Friday."]
