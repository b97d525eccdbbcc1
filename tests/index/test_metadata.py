"""extract_metadata: only what the article states, structured fields first, never a guess."""

from __future__ import annotations

from newsdesk.index.clean import clean
from newsdesk.index.metadata import extract_metadata, parse_stated_date
from newsdesk.index.records import Metadata, RawArticle

from tests.conftest import SEEDS

STORY = ("Dam breaks in the north after days of rain\n\n"
         "Published on October 30,2022\n\n"
         "Water poured through the town on Sunday. Officials said nobody was hurt.\n\n"
         "Rescue teams worked through the night to reach farms cut off by the flood.\n")


def _metadata(article: RawArticle) -> Metadata:
    kept, removed = clean(article.raw_text)
    return extract_metadata(article, kept, removed)


def test_headline_and_written_dateline_are_read_from_the_text() -> None:
    found = _metadata(RawArticle("dam", STORY, "dam.txt", "txt"))
    assert found.title == "Dam breaks in the north after days of rain"
    assert found.published_at == "2022-10-30"
    assert found.publisher is None and found.url is None  # not stated: not guessed


def test_structured_fields_win_over_the_text() -> None:
    stated = Metadata(title="Stated title", publisher="Example Wire", published_at="2024-03-05", url="https://example.org/dam")
    found = _metadata(RawArticle("dam", STORY, "export.jsonl", "jsonl", stated=stated))
    assert found == stated


def test_a_first_line_that_is_a_sentence_is_not_a_title() -> None:
    found = _metadata(RawArticle("x", "Water poured through the town on Sunday, officials said.\n\nNobody was hurt.\n", "x.txt", "txt"))
    assert found.title is None


def test_written_dates() -> None:
    assert parse_stated_date("October 30,2022") == "2022-10-30"
    assert parse_stated_date("no date here") is None
    assert parse_stated_date("February 30, 2022") is None


# What each seed states about itself, and what it does not (docs/benchmarks.md lists why each gap stays empty).
SEED_METADATA = {
    "000_e20aa06bffcb7e36": (None, "The Moscow Times", None),  # no headline line; no date anywhere
    "001_cbb8ff9536446ca1": ("Biden, Putin Emphasize Diplomacy Ahead of Call Over Ukraine Crisis", "The Moscow Times", None),
    "002_45b39b5889d0e37c": ("Russia Says US Failing On Ukraine But More Talks Possible", "NDTV", None),
    "003_f9095a6aa4cb8e46": ("US willingness to hear our concerns may lead to Putin, Biden meeting, Russia still ready to negotiate: Kremlin",
                             None, "2022-10-30"),  # "A News WORLD" is a section label, not a statement of who publishes
    "004_30f098bbbb6fe325": ("Moscow: US, NATO fail to address Russia’s security concerns on Ukraine, more talks possible",
                             "Press TV", None),  # the one date is a photo caption's, not the story's
}


def test_the_seeds_state_what_they_state() -> None:
    for path in sorted(SEEDS.glob("*.txt")):
        found = _metadata(RawArticle(path.stem, path.read_text(encoding="utf-8"), str(path), "txt"))
        assert (found.title, found.publisher, found.published_at) == SEED_METADATA[path.stem], path.stem
