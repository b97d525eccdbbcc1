"""Every offset points into the original text: property tests over messy generated articles.

The pure stages (clean, sentences, chunks, OffsetMap) are checked on hundreds of generated
articles; a small generated batch is then ingested for real (model, SQLite, FAISS) and the
stored offsets are checked against the stored raw text, as they are for the seeds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsdesk.index.chunk import chunk_sentences, count_tokens, sentences_of
from newsdesk.index.clean import OffsetMap, clean
from newsdesk.index.ingest import ingest
from newsdesk.index.records import Span
from newsdesk.index.store import ArticleStore

from tests.conftest import SEEDS, ingest_options

# ---- generated articles -------------------------------------------------------------------

WORDS = ["the", "Kremlin", "said", "talks", "would", "continue", "on", "Monday", "and", "NATO", "allies", "rejected",
         "demands", "from", "Moscow", "over", "Ukraine", "troops", "border", "officials", "told", "reporters", "in",
         "Geneva", "café", "São", "Paulo", "Zürich", "naïve", "Ελλάδα", "Москва", "北京", "東京都", "😀", "🇺🇸", "👨‍👩‍👧",
         "$2", "100,000", "3.5%", "20:30", "co-operation", "U.S.-led", "Mr.", "Dr.", "St.", "Jan.", "e.g.", "p.m.",
         "U.S.", "U.N.", "J.", "No.", "vs.", "etc.", "“very", "much”", "‘NATO’s", "door’", "(Kyiv)", "[Biden]"]
TERMINALS = [".", "!", "?", "…", ".”", ",”", "?”", ".’", ".)", "", ":"]


@st.composite
def sentence(draw) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=25))
    first = words[0]
    words[0] = first[:1].upper() + first[1:]
    return " ".join(words) + draw(st.sampled_from(TERMINALS))


NEWS_SENTENCES = st.sampled_from([
    "The Kremlin said Wednesday it welcomed U.S. President Joe Biden’s readiness to continue talks.",
    "“It seems positive that the U.S. president is also stating his readiness,” Peskov told reporters.",
    "Mr. Smith met Dr. Jones at 3 p.m. on Jan. 5 in St. Petersburg, the U.N. said.",
    "‘NATO’s door is open,’ he said. “Remains open.”",
    "Ukraine, which has since 2014 fought a pro-Russia insurgency, wants to join the U.S.-led alliance.",
    "Le président a déclaré à Zürich que la coopération était « essentielle ».",
    "北京宣布了新的措施。东京都也表示支持。",
    "The crowd cheered 🎉🎉 as results came in from São Paulo.",
    "Support for the bill grew in the Senate.",
    "He said: \"we will not stop our work\" and left.",
])
BOILERPLATE_LINES = st.sampled_from([
    "Read more", "Support The Moscow Times!", "Support The Daily Planet!", "Remind me later.", "Source link",
    "Leave a Reply", "SHARE THIS ARTICLE", "Subscribe", "Contact Us", "News / Russia", "Home › World › Europe",
    "Published October 30,2022", "A News WORLD", "www.example.co.uk", "https://example.org/a/b?c=1",
    "Press TV’s website can also be accessed at the following alternate addresses:",
    "(This story has not been edited by NDTV staff and is auto-generated from a syndicated feed.)",
    "A soldier stands in a trench near Zolote. (Photo by AFP)", "Russia has a fraught history. (Representational)",
    "Your email address will not be published. Required fields are marked *", "paiment methods",
    "Not ready to support today?", "Press TV News Roku", "Follow us on Twitter", "Advertisement",
    "Dear readers,", "A Message from The Daily Planet:",
    "Your support, no matter how small, makes a world of difference. If you can, please support us monthly starting from just $2.",
    "We, the journalists of The Daily Planet, refuse to be silenced. But to continue our work, we need your help.",
    "… we have a small favor to ask. Independent journalism needs your support, every month.",
])


@st.composite
def long_run_on(draw) -> str:
    """A very long sentence with no punctuation at all."""
    return " ".join(draw(st.lists(st.sampled_from(WORDS[:30]), min_size=150, max_size=400)))


@st.composite
def long_word(draw) -> str:
    """One enormous 'word': Latin, accented, CJK, emoji or mixed, thousands of characters."""
    unit = draw(st.sampled_from(["a", "ab", "é", "漢字", "😀", "ab😀cd", "👨‍👩‍👧", "xy🇺🇸", "Ελ", "—", "0"]))
    return unit * draw(st.integers(50, 900))


# Arbitrary text, including control characters, odd white space and combining marks (no
# surrogates: they cannot be stored as UTF-8).
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@st.composite
def paragraph(draw) -> str:
    kind = draw(st.sampled_from(["news", "news", "news", "sentences", "boilerplate", "runon", "word", "any", "mixed"]))
    if kind == "news":
        return " ".join(draw(st.lists(NEWS_SENTENCES, min_size=1, max_size=4)))
    if kind == "sentences":
        return " ".join(draw(st.lists(sentence(), min_size=1, max_size=5)))
    if kind == "boilerplate":
        return draw(BOILERPLATE_LINES)
    if kind == "runon":
        return draw(long_run_on())
    if kind == "word":
        return draw(st.sampled_from(["", "He spelled it ", "“"])) + draw(long_word()) + draw(st.sampled_from(["", ".", " today."]))
    if kind == "any":
        return draw(ANY_TEXT)
    return draw(NEWS_SENTENCES) + " " + draw(long_word()) + " " + draw(sentence())


@st.composite
def article(draw, max_paragraphs: int = 12) -> str:
    paragraphs = draw(st.lists(paragraph(), min_size=1, max_size=max_paragraphs))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    out = draw(st.sampled_from(["", " ", "\n\n", "\ufeff", " \t\r\n"]))
    for p in paragraphs:
        pad_left = draw(st.sampled_from(["", "", " ", "\t", "\u00a0", "  "]))
        pad_right = draw(st.sampled_from(["", "", " ", "\u00a0", " \t"]))
        gap = draw(st.sampled_from([newline, newline * 2, newline * 2, newline + "   " + newline, newline * 3]))
        out += pad_left + p + pad_right + gap
    return out + draw(st.sampled_from(["", " ", "\n\n\n", "\r\n \r\n"]))


# ---- helpers ------------------------------------------------------------------------------

# A sentence may drop a Markdown heading/list mark it starts with, and nothing else.
_MARK = re.compile(r"(?:#{1,6}|[-*+>]|\d+[.)])")


def raw_lines(raw: str) -> set[tuple[int, int]]:
    """The span of every non-blank line, computed independently of the cleaner."""
    spans, start = set(), 0
    for piece in re.split(r"(\r\n|\r|\n)", raw):
        if piece in ("\r\n", "\r", "\n"):
            start += len(piece)
            continue
        stripped = piece.strip()
        if stripped:
            lead = len(piece) - len(piece.lstrip())
            spans.add((start + lead, start + lead + len(stripped)))
        start += len(piece)
    return spans


def check_article(raw: str, max_tokens: int, overlap_tokens: int) -> None:
    kept, removed = clean(raw)
    removed_spans = [span for span, _ in removed]

    # Cleaning partitions the non-blank lines, and never edits them.
    assert {(s.start, s.end) for s in kept} | {(s.start, s.end) for s in removed_spans} == raw_lines(raw)
    assert not {(s.start, s.end) for s in kept} & {(s.start, s.end) for s in removed_spans}
    assert list(kept) == sorted(kept, key=lambda s: s.start)
    for span in (*kept, *removed_spans):
        assert 0 <= span.start < span.end <= len(raw)
        assert raw[span.start:span.end] == raw[span.start:span.end].strip()

    pairs = sentences_of(raw, kept)
    sentences = [s for s, _ in pairs]
    previous_end = 0
    for seq, s in enumerate(sentences):
        assert s.seq == seq
        assert 0 <= s.start < s.end <= len(raw)
        assert raw[s.start:s.end] == s.text
        assert s.text == s.text.strip()
        assert s.start >= previous_end, "sentences overlap or are out of order"
        previous_end = s.end
        assert any(k.start <= s.start and s.end <= k.end for k in kept), f"sentence outside kept text: {s.text!r}"

    # Every kept non-white-space character is in some sentence (bar a dropped list/heading mark).
    for span in kept:
        inside = [s for s in sentences if span.start <= s.start and s.end <= span.end]
        cursor = span.start
        for s in [*inside, None]:
            gap_end = s.start if s else span.end
            gap = raw[cursor:gap_end].strip()
            assert not gap or _MARK.fullmatch(gap), f"kept text {gap!r} belongs to no sentence"
            if s:
                cursor = s.end

    # Sections: a new one starts exactly when removed text lies between two kept lines.
    for (a, sa), (b, sb) in zip(pairs, pairs[1:]):
        between = any(a.end <= r.start and r.end <= b.start for r in removed_spans)
        assert (sb != sa) == between, (a.text, b.text)

    chunks = chunk_sentences("article", raw, pairs, max_tokens, overlap_tokens)
    section_of = {s.seq: sec for s, sec in pairs}
    covered_sentences: set[int] = set()
    assert len({c.id for c in chunks}) == len(chunks)
    for seq, c in enumerate(chunks):
        assert c.seq == seq
        assert 0 <= c.start < c.end <= len(raw)
        assert raw[c.start:c.end] == c.text
        assert c.n_tokens == count_tokens(c.text)
        assert c.n_tokens <= max_tokens, f"chunk of {c.n_tokens} tokens > {max_tokens}: {c.text[:80]!r}"
        for r in removed_spans:
            assert not (c.start < r.end and r.start < c.end), f"chunk bridges removed text {raw[r.start:r.end]!r}"
        assert section_of[c.first_sentence] == section_of[c.last_sentence]
        first, last = sentences[c.first_sentence], sentences[c.last_sentence]
        if first.start <= c.start and c.end <= first.end and (c.start, c.end) != (first.start, first.end):
            # a piece of one over-long sentence
            assert c.first_sentence == c.last_sentence
            assert count_tokens(first.text) > max_tokens
        else:
            assert (c.start, c.end) == (first.start, last.end)
            for s in sentences[c.first_sentence:c.last_sentence + 1]:
                assert c.start <= s.start and s.end <= c.end
        covered_sentences.update(range(c.first_sentence, c.last_sentence + 1))
    assert covered_sentences == set(range(len(sentences))), "some sentence is in no chunk"

    # Pieces of an over-long sentence cover all of its non-white-space characters.
    for s in sentences:
        if count_tokens(s.text) > max_tokens:
            pieces = [c for c in chunks if c.first_sentence == s.seq == c.last_sentence]
            covered = set()
            for c in pieces:
                covered |= set(range(c.start, c.end))
            assert {s.start + i for i, ch in enumerate(s.text) if not ch.isspace()} <= covered


TOKEN_BUDGETS = st.sampled_from([(16, 0), (16, 8), (48, 12), (64, 48), (192, 48)])


@settings(max_examples=150, deadline=None)
@given(raw=article(), budget=TOKEN_BUDGETS)
def test_clean_sentences_chunks_point_into_raw(raw: str, budget: tuple[int, int]) -> None:
    check_article(raw, *budget)


# The examples below once broke (or nearly broke) an invariant; they always run.
EXPLICIT = [
    "Intro line here.\n" + "漢字" * 100 + "\n",
    "Intro line here.\n" + "xy🇺🇸" * 60 + "\n",
    "Intro line here.\n" + "x" * 10 + "😀🇺🇸👨‍👩‍👧" * 40 + "\n",
    "Read more\r\n\r\n  U.S. officials met on Jan. 5.  \r\nSupport The X!\r\nTalks resumed.\r\n",
    "\ufeff  \n\n# Heading\n\n- item one. 2. item two\n1) First. > quoted\n",
    " ".join(["talks"] * 600),
]


def test_explicit_examples() -> None:
    for raw in EXPLICIT:
        for budget in [(16, 0), (16, 8), (192, 48)]:
            check_article(raw, *budget)


@pytest.mark.parametrize("word", ["漢字" * 100, "x" * 10 + "😀🇺🇸👨‍👩‍👧" * 40], ids=["cjk", "emoji"])
def test_long_word_pieces_fit_the_token_budget(word: str) -> None:
    check_article("Intro line here.\n" + word + "\n", 16, 0)


@st.composite
def kept_spans(draw) -> tuple[str, tuple[Span, ...]]:
    raw = draw(st.one_of(article(max_paragraphs=6), ANY_TEXT))
    if draw(st.booleans()):
        return raw, clean(raw)[0]
    cuts = sorted(draw(st.sets(st.integers(0, len(raw)), max_size=12)))
    spans = tuple(Span(a, b) for a, b in zip(cuts[::2], cuts[1::2]) if b > a)
    return raw, spans


@settings(max_examples=300, deadline=None)
@given(case=kept_spans())
def test_offset_map_maps_every_cleaned_character_back(case: tuple[str, tuple[Span, ...]]) -> None:
    raw, kept = case
    m = OffsetMap(raw, kept)
    assert m.text == OffsetMap.SEPARATOR.join(raw[s.start:s.end] for s in kept)
    separators: dict[int, int] = {}  # cleaned position -> raw end of the span before it
    position = 0
    for i, span in enumerate(kept):
        if i:
            separators.update({p: kept[i - 1].end for p in range(position, position + len(OffsetMap.SEPARATOR))})
            position += len(OffsetMap.SEPARATOR)
        # each kept span maps back whole, and its ends map to its ends
        assert m.span_to_raw(position, position + len(span)) == span
        assert m.to_raw(position) == span.start and m.to_raw(position + len(span)) == span.end
        position += len(span)
    assert position == len(m.text)
    for p in range(len(m.text)):
        if p in separators:
            # The joining blank line is not raw text: it maps to the end of the span before it.
            assert m.text[p] == "\n" and m.to_raw(p) == separators[p]
            continue
        assert m.text[p] == raw[m.to_raw(p)], p


# ---- stored offsets: the seeds and a real generated ingest --------------------------------

def check_stored(store: ArticleStore, article_id: str) -> None:
    record = store.article(article_id)
    raw = record.raw_text
    sentences = store.sentences(article_id)
    chunks = store.passages_of(article_id)
    assert chunks and sentences
    for s in sentences:
        assert 0 <= s.start < s.end <= len(raw)
        assert raw[s.start:s.end] == s.text
    entities = store.entities(article_id)
    assert entities == sorted(entities, key=lambda e: (e.start, e.end, e.label))
    for e in entities:
        assert raw[e.start:e.end] == e.text
        assert any(s.start <= e.start < e.end <= s.end for s in sentences), e
    for c in chunks:
        assert 0 <= c.start < c.end <= len(raw)
        assert raw[c.start:c.end] == c.text
        assert c.n_tokens == count_tokens(c.text)
        for start, end, _ in record.removed:
            assert not (c.start < end and start < c.end)
    # What is stored is exactly what the pure stages compute for the stored raw text.
    kept, removed = clean(raw)
    assert [[s.start, s.end, r] for s, r in removed] == [list(r) for r in record.removed]
    expected = sentences_of(raw, kept)
    assert [(s.start, s.end) for s in sentences] == [(s.start, s.end) for s, _ in expected]


def test_seed_offsets_point_into_raw_text(seed_store: ArticleStore) -> None:
    ids = seed_store.article_ids()
    assert sorted(ids) == sorted(p.stem for p in SEEDS.glob("*.txt"))
    for article_id in ids:
        assert seed_store.article(article_id).raw_text == (SEEDS / f"{article_id}.txt").read_text(encoding="utf-8")
        check_stored(seed_store, article_id)
        assert seed_store.entities(article_id), "every seed names people, places and dates"
    assert seed_store.integrity_problems() == []


@st.composite
def jsonl_batch(draw) -> list[dict]:
    ids = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "ünï", "id with spaces", "北京-1"]), min_size=1, max_size=4,
                        unique=True))
    return [{"id": i, "text": draw(article(max_paragraphs=6))} for i in ids]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=jsonl_batch(), ascii_only=st.booleans())
def test_generated_ingest_offsets_point_into_raw_text(writer: ArticleStore, tmp_path: Path, batch: list[dict],
                                                       ascii_only: bool) -> None:
    # One store across examples: a reused id replaces the article it named before.
    path = tmp_path / "batch.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=ascii_only) + "\n" for r in batch), encoding="utf-8")
    report = ingest([path], writer, ingest_options(max_tokens=64, overlap_tokens=16), progress=False)
    written = set(report.added) | set(report.replaced) | set(report.unchanged)
    skipped_lines = {s.source for s in report.skipped}
    for lineno, record in enumerate(batch, start=1):
        if record["id"] in written:
            stored = writer.article(record["id"])
            assert stored.raw_text == record["text"]
            check_stored(writer, record["id"])
        else:
            assert f"{path}:{lineno}" in skipped_lines
            # only empty articles, articles with NUL characters, or all-boilerplate ones are refused
            assert not record["text"].strip() or "\x00" in record["text"] or not clean(record["text"])[0]
    assert writer.integrity_problems() == []
