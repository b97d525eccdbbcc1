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
# Questions the seeds answer from more than one article; the first whose answer does is used (which articles
# an answer cites depends on the model, not on what these tests check).
ACROSS_ARTICLES = ["What did Lavrov say was missing from the US response?", "What did Peskov say about the talks?",
                   "What are Russia's security demands?", "What did Russia say about the US written response on security guarantees?"]


@dataclasses.dataclass(frozen=True)
class TwoSources:
    question: str
    answer: Answer  # over the unedited seeds
    other: str  # the article of its last citation, not the first's

    @property
    def first(self) -> str:
        return self.answer.citations[0].article_id


@pytest.fixture(scope="module")
def two_sources(seed_pipeline: QueryPipeline) -> TwoSources:
    for question in ACROSS_ARTICLES:
        answer = seed_pipeline.ask(question).answer
        ids = [c.article_id for c in answer.citations]
        if len(set(ids)) > 1:
            return TwoSources(question, answer, next(a for a in reversed(ids) if a != ids[0]))
    raise AssertionError("no question of ACROSS_ARTICLES is answered from two articles")


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
def edited_pipeline(seed_copy: Path, embedder: Embedder, two_sources: TwoSources, request: pytest.FixtureRequest):
    """The query pipeline over a copy of the seeds whose articles ``request.param`` (ids, or ``first`` and
    ``other`` of :class:`TwoSources`) were edited in place."""
    _edit_in_place(seed_copy, *(getattr(two_sources, a) if a in ("first", "other") else a for a in request.param))
    store = ArticleStore(seed_copy, index_type=DEFAULTS.index_type, vector_storage=DEFAULTS.vector_storage)
    yield QueryPipeline.from_settings(store, embedder, DEFAULTS, llm=None)
    store.close()


def _assert_only_verified_shown(store: ArticleStore, answer: Answer) -> None:
    for citation in answer.citations:
        assert quote_matches(store, citation.article_id, citation.start, citation.end, citation.quote)
    assert {p.n for p in answer.parts() if p.n is not None} <= {c.n for c in answer.citations}
    assert "".join(p.text for p in answer.parts()) == answer.answer


@pytest.mark.parametrize("edited_pipeline", [("other",)], indirect=True)
def test_a_sentence_whose_source_was_edited_leaves_the_answer(two_sources: TwoSources, edited_pipeline: QueryPipeline) -> None:
    original = two_sources.answer
    kept = [c for c in original.citations if c.article_id != two_sources.other]
    gone = [c for c in original.citations if c.article_id == two_sources.other]
    answer = edited_pipeline.ask(two_sources.question).answer
    assert not answer.abstained and [c.n for c in answer.citations] == list(range(1, len(kept) + 1))
    assert [c.quote for c in answer.citations] == [c.quote for c in kept]
    assert all(c.quote not in answer.answer for c in gone)
    assert answer.answer == " ".join(f"{c.quote} [{n}]" for n, c in enumerate(kept, start=1))
    dropped = [s for s in answer.sentences if not s.supported]
    assert [(s.text, s.citations) for s in dropped] == [(c.quote, ()) for c in gone] and all(s.reason for s in dropped)
    assert all(any(f"[{c.n}]" in w for w in answer.warnings) for c in gone)
    _assert_only_verified_shown(edited_pipeline.store, answer)


@pytest.mark.parametrize("edited_pipeline", [("first", "other")], indirect=True)
def test_an_answer_with_nothing_verified_left_abstains(two_sources: TwoSources, edited_pipeline: QueryPipeline) -> None:
    assert {c.article_id for c in two_sources.answer.citations} == {two_sources.first, two_sources.other}
    answer = edited_pipeline.ask(two_sources.question).answer
    assert answer.abstained and answer.answer == ABSTENTION and answer.parts()[0].n is None
    assert answer.citations == [] and answer.sentences == [] and answer.short_answer is None
    assert answer.closest  # the usual abstention: the closest stories instead
    assert any("could be verified" in w for w in answer.warnings)
    assert all(s.article_id not in (two_sources.first, two_sources.other) for s in answer.sources)  # their quotes fail too


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
