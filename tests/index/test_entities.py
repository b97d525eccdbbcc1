"""Entities come from the real model, and every offset is an exact span of the raw text."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsdesk.index import entities
from newsdesk.index.entities import LABELS, Entity, EntityTagger

NEWS = ("U.S. President Joe Biden met German Chancellor Olaf Scholz in Washington on Friday, February 18, 2022, "
        "and pledged $1.5 billion to Ukraine. About 150,000 Russian troops are massed near the border, "
        "Kremlin spokesman Dmitry Peskov told reporters in Moscow at 3 p.m.")

# Hard scripts around and inside the sentences: astral emoji and ZWJ sequences, flags, CJK,
# decomposed accents, right-to-left text with bidi marks, CRLF, NBSP, a BOM, astral letters.
HARD = [
    "👩‍👩‍👧‍👦🇺🇦🇺🇸 Joe Biden visited Kyiv on Monday with 3 advisers.",
    "北京宣布了新的措施。 Chinese President Xi Jinping met Emmanuel Macron in Beijing on 5 April.",
    "Zoe\u0308 Kravitz and Rene\u0301e Zellweger arrived in Cannes on Tuesday.",
    "\u200fבנימין נתניהו\u200f said Israel would send 2,000 troops, according to Reuters.",
    "مرحبا بالعالم. The United Nations met in New York on 12 May 2023.\r\nAngela Merkel spoke for 20 minutes.\r\n",
    "\ufeffThe\u00a0European\u00a0Union fined Google €4.3 billion in July 2018 🎉🎉.",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 — then Apple Inc. said revenue rose 8% to $94.8 billion in the three months to June.",
    "“Biden,” said Peskov (Reuters). The ’90s ended in 1999 – or did they?",
]


@pytest.fixture(scope="module")
def tagger() -> EntityTagger:
    model = EntityTagger(batch_size=16)
    model.warm_up()
    return model


def lines(raw: str) -> list[tuple[int, int]]:
    """One span per line, without its line end: a simple stand-in for the article's sentences."""
    spans, pos = [], 0
    for line in raw.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        if body:
            spans.append((pos, pos + len(body)))
        pos += len(line)
    return spans


def check(raw: str, spans: list[tuple[int, int]], found: list[Entity]) -> None:
    """The module's promises: exact, trimmed, typed spans inside the given sentences, in text order."""
    assert found == sorted(found, key=lambda e: (e.start, e.end, e.label))
    for e in found:
        assert raw[e.start:e.end] == e.text
        assert any(s <= e.start < e.end <= t for s, t in spans), e
        assert e.label in LABELS
        assert e.text == e.text.strip() and any(ch.isalnum() for ch in e.text)


def test_news_sentence_yields_who_where_when_how_many(tagger: EntityTagger) -> None:
    found = tagger.tag(NEWS, [(0, len(NEWS))])
    check(NEWS, [(0, len(NEWS))], found)
    got = {(e.text, e.label) for e in found}
    assert {("Joe Biden", "PERSON"), ("Olaf Scholz", "PERSON"), ("Dmitry Peskov", "PERSON"), ("Washington", "GPE"),
            ("Moscow", "GPE"), ("Ukraine", "GPE"), ("Friday, February 18, 2022", "DATE"), ("$1.5 billion", "MONEY"),
            ("3 p.m.", "TIME"), ("Kremlin", "ORG")} <= got
    assert any(e.label == "CARDINAL" and "150,000" in e.text for e in found)


@pytest.mark.parametrize("raw", HARD)
def test_offsets_are_exact_in_hard_scripts(tagger: EntityTagger, raw: str) -> None:
    spans = lines(raw)
    found = tagger.tag(raw, spans)
    check(raw, spans, found)
    assert found, "every hard string names someone or something"


def test_entities_after_astral_characters_keep_their_place(tagger: EntityTagger) -> None:
    raw = HARD[0]
    found = {(e.text, e.label): e for e in tagger.tag(raw, lines(raw))}
    biden = found["Joe Biden", "PERSON"]
    assert biden.start == raw.index("Joe Biden") and biden.end == biden.start + len("Joe Biden")
    raw = HARD[4]
    merkel = next(e for e in tagger.tag(raw, lines(raw)) if e.label == "PERSON")
    assert (merkel.text, merkel.start) == ("Angela Merkel", raw.index("Angela Merkel"))


def test_edge_punctuation_is_trimmed(tagger: EntityTagger) -> None:
    raw = HARD[-1]
    for e in tagger.tag(raw, lines(raw)):
        assert e.text[0] not in "“”\"'(—–," and e.text[-1] not in "“”\"'),—–"
    assert entities._trim("“Biden,”", 0, 8) == (1, 6)
    assert entities._trim("(AP)", 0, 4) == (1, 3)
    assert entities._trim("Reuters)", 0, 8) == (0, 7)
    assert entities._trim("Alphabet (GOOGL)", 0, 16) == (0, 16)
    assert entities._trim("’90s", 0, 4) == (0, 4)
    assert entities._trim("U.S.", 0, 4) == (0, 4)
    assert entities._trim(" — ", 0, 3) is None


def test_only_the_given_sentences_are_tagged(tagger: EntityTagger) -> None:
    first = "Angela Merkel visited Paris on Monday."
    raw = f"{first} Boris Johnson flew to Rome with 40 aides."
    second = (len(first) + 1, len(raw))
    found = tagger.tag(raw, [second])
    check(raw, [second], found)
    assert {e.text for e in found} >= {"Boris Johnson", "Rome"}
    assert not {"Angela Merkel", "Paris", "Monday"} & {e.text for e in found}
    assert tagger.tag(raw, []) == [] and tagger.tag(raw, [(5, 5)]) == []


def test_batching_gives_the_same_entities_as_one_by_one(tagger: EntityTagger) -> None:
    items = [(raw, lines(raw)) for raw in [NEWS, *HARD]]
    one_by_one = [tagger.tag(raw, spans) for raw, spans in items]
    assert tagger.tag_many(items) == one_by_one
    wide = EntityTagger(batch_size=256)
    assert wide.tag_many(items) == one_by_one
    assert tagger.tag_many([]) == [] and tagger.tag_many([("", [])]) == [[]]


def test_spans_outside_the_text_are_refused(tagger: EntityTagger) -> None:
    for bad in [(-1, 3), (3, 2), (0, len(NEWS) + 1)]:
        with pytest.raises(ValueError):
            tagger.tag(NEWS, [bad])
    with pytest.raises(ValueError):
        EntityTagger(batch_size=0)


def test_a_sentence_longer_than_the_limit_is_tagged_in_pieces(tagger: EntityTagger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(entities, "MAX_CHARS", 60)
    raw = "\r\n" + NEWS.replace(". ", " and ")  # one long "sentence"
    spans = [(2, len(raw))]
    found = tagger.tag(raw, spans)
    check(raw, spans, found)
    assert {"Joe Biden", "Dmitry Peskov", "Moscow"} <= {e.text for e in found}


PIECES = ["Joe Biden", "Angela Merkel", "Paris", "on Monday", "in 2021", "$5 million", "12%", "the U.N.", "Google",
          "said", "and", "“", "”", "(", ")", "—", ",", ".", "\r\n", "\n", "\u00a0", "\u200f", "\u0301", "e\u0308",
          "😀", "👨‍👩‍👧", "🇺🇸", "北京", "東京都", "نتنياهو", "בנימין", "Москва", "𝔘𝔫𝔦", "\ufeff", " ", " ", " "]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.sampled_from(PIECES), max_size=40), cuts=st.lists(st.integers(0, 400), max_size=6))
def test_offsets_are_exact_for_generated_text(tagger: EntityTagger, parts: list[str], cuts: list[int]) -> None:
    raw = "".join(parts)
    bounds = sorted({0, len(raw), *(min(c, len(raw)) for c in cuts)})
    spans = [(s, e) for s, e in zip(bounds, bounds[1:]) if e > s][::2]  # every other piece: gaps must stay empty
    check(raw, spans, tagger.tag(raw, spans))


def test_the_model_loads_with_the_network_cut_off(tmp_path: Path) -> None:
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode:
        pytest.skip("cannot cut the network off here (unshare -n)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_", "SPACY"))}
    env.update(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path))
    code = ("from newsdesk.index.entities import EntityTagger; "
            "print([(e.text, e.label) for e in EntityTagger(batch_size=1).tag('Joe Biden flew to Moscow.', [(0, 25)])])")
    result = subprocess.run(["unshare", "-n", sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "('Joe Biden', 'PERSON')" in result.stdout and "('Moscow', 'GPE')" in result.stdout
