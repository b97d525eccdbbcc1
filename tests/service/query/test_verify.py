"""CitationVerifier: the last gate; a quote or short answer that is not the stored original at its offsets is removed."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from newsdesk.index.embed import Embedder
from newsdesk.index.store import DB_NAME, ArticleStore
from newsdesk.service.domain import ABSTENTION, Answer, AnswerSentence, Citation, ShortAnswer
from newsdesk.service.query import QueryPipeline, retrieve
from newsdesk.service.query.llm import verify_generated
from newsdesk.service.query.verify import CitationVerifier, quote_matches

from tests.conftest import DEFAULTS

ARTICLE = "002_45b39b5889d0e37c"
OTHER = "004_30f098bbbb6fe325"
LAVROV = "What did Lavrov say was missing from the US response?"  # answered from ARTICLE ([1], [2]) and OTHER ([3])


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
    assert checked.citations == [] and checked.short_answer is None and len(checked.warnings) == 3
    assert checked.abstained  # its one sentence went with its citation


def _edit_in_place(data_dir: Path, *article_ids: str) -> None:
    """A correction written straight into SQLite, the index not told: every stored offset of the article now misses."""
    db = sqlite3.connect(data_dir / DB_NAME)
    db.executemany("UPDATE articles SET raw_text = '(Updated) ' || raw_text WHERE id = ?", [(a,) for a in article_ids])
    db.commit()
    db.close()


@pytest.fixture
def edited_pipeline(seed_copy: Path, embedder: Embedder, request: pytest.FixtureRequest):
    """The query pipeline over a copy of the seeds whose articles ``request.param`` were edited in place."""
    _edit_in_place(seed_copy, *request.param)
    store = ArticleStore(seed_copy, index_type=DEFAULTS.index_type)
    yield QueryPipeline.from_settings(store, embedder, DEFAULTS, llm=None)
    store.close()


def _assert_only_verified_shown(store: ArticleStore, answer: Answer) -> None:
    for citation in answer.citations:
        assert quote_matches(store, citation.article_id, citation.start, citation.end, citation.quote)
    assert {p.n for p in answer.parts() if p.n is not None} <= {c.n for c in answer.citations}
    assert "".join(p.text for p in answer.parts()) == answer.answer


@pytest.mark.parametrize("edited_pipeline", [(OTHER,)], indirect=True)
def test_a_sentence_whose_source_was_edited_leaves_the_answer(seed_pipeline: QueryPipeline, edited_pipeline: QueryPipeline) -> None:
    original = seed_pipeline.ask(LAVROV).answer
    assert [c.article_id for c in original.citations] == [ARTICLE, ARTICLE, OTHER]
    answer = edited_pipeline.ask(LAVROV).answer
    assert not answer.abstained and [c.n for c in answer.citations] == [1, 2]
    assert original.citations[2].quote not in answer.answer and "[3]" not in answer.answer
    assert answer.answer == " ".join(f"{c.quote} [{c.n}]" for c in original.citations[:2])
    dropped = [s for s in answer.sentences if not s.supported]
    assert [(s.text, s.citations) for s in dropped] == [(original.citations[2].quote, ())] and dropped[0].reason
    assert any("[3]" in w for w in answer.warnings)
    _assert_only_verified_shown(edited_pipeline.store, answer)


@pytest.mark.parametrize("edited_pipeline", [(ARTICLE, OTHER)], indirect=True)
def test_an_answer_with_nothing_verified_left_abstains(edited_pipeline: QueryPipeline) -> None:
    answer = edited_pipeline.ask(LAVROV).answer
    assert answer.abstained and answer.answer == ABSTENTION and answer.parts()[0].n is None
    assert answer.citations == [] and answer.sentences == [] and answer.short_answer is None
    assert answer.closest  # the usual abstention: the closest stories instead
    assert any("could be verified" in w for w in answer.warnings)
    assert all(s.article_id not in (ARTICLE, OTHER) for s in answer.sources)  # their quotes fail too


@pytest.mark.parametrize("edited_pipeline", [(ARTICLE,)], indirect=True)
def test_a_generated_sentence_resting_on_an_edited_source_is_dropped(seed_store: ArticleStore, seed_pipeline: QueryPipeline,
                                                                     edited_pipeline: QueryPipeline, embedder: Embedder) -> None:
    """LLM mode checks the quote as it verifies each sentence: a streamed sentence is sent the moment it is verified."""
    question = "Who said 'we are also prepared for the worst'?"
    text = "NATO Secretary General Jens Stoltenberg said the alliance was also prepared for the worst [1]."
    sound = verify_generated(text, retrieve(seed_pipeline.retrieval, question, top_k=3).passages, seed_store, embedder)
    assert [s.supported for s in sound.sentences] == [True] and sound.citations[0].article_id == ARTICLE
    edited = edited_pipeline.store
    answer = verify_generated(text, retrieve(edited_pipeline.retrieval, question, top_k=3).passages, edited, embedder)
    assert answer.citations == [] and answer.answer == ""
    assert [s.supported for s in answer.sentences] == [False] and "no longer match" in answer.sentences[0].reason
