"""CitationVerifier: the last gate; a quote or short answer that is not the stored original at its offsets is removed."""

from __future__ import annotations

import dataclasses

import pytest

from newsdesk.index.store import ArticleStore
from newsdesk.service.domain import Answer, AnswerSentence, Citation, ShortAnswer
from newsdesk.service.query.verify import CitationVerifier, quote_matches

ARTICLE = "002_45b39b5889d0e37c"


def _citation(store: ArticleStore, n: int, seq: int) -> Citation:
    sentence = store.sentences(ARTICLE)[seq]
    return Citation(n=n, article_id=ARTICLE, chunk_id="c", start=sentence.start, end=sentence.end, quote=sentence.text)


def test_quote_matches_only_the_exact_original(seed_store: ArticleStore) -> None:
    good = _citation(seed_store, 1, 2)
    assert quote_matches(seed_store, ARTICLE, good.start, good.end, good.quote)
    assert not quote_matches(seed_store, ARTICLE, good.start + 1, good.end, good.quote)
    assert not quote_matches(seed_store, ARTICLE, good.start, good.end, good.quote.upper())
    assert not quote_matches(seed_store, "no-such-article", good.start, good.end, good.quote)
    assert not quote_matches(seed_store, ARTICLE, 10**9, 10**9 + 5, "")


def test_a_forged_citation_is_removed_and_its_sentence_loses_support(seed_store: ArticleStore) -> None:
    good, forged = _citation(seed_store, 1, 2), dataclasses.replace(_citation(seed_store, 2, 3), quote="Something nobody wrote.")
    answer = Answer(f"{good.quote} [1] Something nobody wrote. [2]", [good, forged], False, "extractive",
                    sentences=[AnswerSentence(good.quote, (1,)), AnswerSentence("Something nobody wrote.", (2,))])
    checked = CitationVerifier(seed_store).run(answer)["answer"]
    assert [c.n for c in checked.citations] == [1]
    assert checked.sentences[0].supported and not checked.sentences[1].supported
    assert checked.sentences[1].citations == () and "did not match" in checked.sentences[1].reason
    assert any("[2]" in w for w in checked.warnings)
    assert answer.citations == [good, forged]  # the input is not mutated


def test_a_sound_answer_passes_unchanged(seed_store: ArticleStore) -> None:
    good = _citation(seed_store, 1, 0)
    answer = Answer(f"{good.quote} [1]", [good], False, "extractive", sentences=[AnswerSentence(good.quote, (1,))])
    assert CitationVerifier(seed_store).run(answer)["answer"] is answer


def _with_short_answer(store: ArticleStore, **changes: object) -> Answer:
    """A sound one-sentence answer whose short answer is its first entity, with ``changes`` to that short answer."""
    good = _citation(store, 1, 2)
    entity = next(e for e in store.entities(ARTICLE) if good.start <= e.start < e.end <= good.end)
    short = ShortAnswer(text=entity.text, start=entity.start, end=entity.end, article_id=ARTICLE, n=1, label=entity.label)
    return Answer(f"{good.quote} [1]", [good], False, "extractive", sentences=[AnswerSentence(good.quote, (1,))],
                  short_answer=dataclasses.replace(short, **changes))


def test_a_sound_short_answer_passes(seed_store: ArticleStore) -> None:
    answer = _with_short_answer(seed_store)
    assert CitationVerifier(seed_store).run(answer)["answer"] is answer


@pytest.mark.parametrize("case", ["forged text", "unknown citation", "other article", "outside its citation"])
def test_a_short_answer_that_is_not_the_original_inside_its_citation_is_removed(seed_store: ArticleStore, case: str) -> None:
    first_words = seed_store.article(ARTICLE).raw_text[:3]  # original text, but not inside the cited sentence
    changes = {"forged text": {"text": "Somebody Else"}, "unknown citation": {"n": 2},
               "other article": {"article_id": "003_f9095a6aa4cb8e46"}, "outside its citation": {"start": 0, "end": 3, "text": first_words}}
    answer = _with_short_answer(seed_store, **changes[case])
    checked = CitationVerifier(seed_store).run(answer)["answer"]
    assert checked.short_answer is None and checked.citations == answer.citations
    assert any("short answer" in w for w in checked.warnings)
    assert answer.short_answer is not None  # the input is not mutated


def test_a_short_answer_loses_its_forged_citation_too(seed_store: ArticleStore) -> None:
    sound = _with_short_answer(seed_store)
    answer = dataclasses.replace(sound, citations=[dataclasses.replace(sound.citations[0], quote="Something nobody wrote.")])
    checked = CitationVerifier(seed_store).run(answer)["answer"]
    assert checked.citations == [] and checked.short_answer is None and len(checked.warnings) == 2
