"""SourceLister on retrieved seed passages: distinct stories, each by its cited or most question-like sentence."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from newsdesk.index.store import ReadStore
from newsdesk.service.domain import ABSTENTION, Answer, AnswerSentence, Citation, Passage, Source, dateline
from newsdesk.service.query import QueryPipeline, Retrieved, retrieve
from newsdesk.service.query.sources import MAX_SOURCES, MIN_SOURCES, SourceLister
from newsdesk.service.query.verify import verified_sources

QUESTION = "What did Peskov say about the talks?"


@pytest.fixture(scope="module")
def found(seed_pipeline: QueryPipeline) -> Retrieved:
    return retrieve(seed_pipeline.retrieval, QUESTION, top_k=100)  # every story, as the pipeline gives the lister


def _abstention() -> Answer:
    return Answer(ABSTENTION, [], True, "extractive")


def _cited(store: ReadStore, passage: Passage, seq_in_passage: int = 0) -> Answer:
    """A one-sentence answer citing the ``seq_in_passage``-th sentence of ``passage``."""
    sentence = store.sentences(passage.article_id)[passage.stored.first_sentence + seq_in_passage]
    citation = Citation.of(1, passage, sentence)
    return Answer(f"{sentence.text} [1]", [citation], False, "extractive", sentences=[AnswerSentence(sentence.text, (1,))])


def _list(store: ReadStore, answer: Answer, found: Retrieved, passages: list[Passage] | None = None) -> Answer:
    return SourceLister(store).run(answer, found.passages if passages is None else passages, found.query_embedding)["answer"]


def _similarity(store: ReadStore, passages: list[Passage], article_id: str, query: list[float]) -> dict[int, float]:
    """Each retrieved sentence of ``article_id`` (by start offset) and its similarity to the question (the better one
    where overlapping passages both hold it)."""
    scores = {}
    for p in passages:
        if p.article_id == article_id:
            sentences = store.sentences(article_id)[p.stored.first_sentence:p.stored.last_sentence + 1]
            for sentence, vector in zip(sentences, store.sentence_vectors(p.stored.rowid)):
                scores[sentence.start] = max(scores.get(sentence.start, -1.0), float(vector @ np.asarray(query, dtype=np.float32)))
    return scores


def test_abstention_lists_the_closest_stories_by_their_most_question_like_sentence(seed_pipeline: QueryPipeline,
                                                                                    found: Retrieved) -> None:
    store = seed_pipeline.store
    sources = _list(store, _abstention(), found).sources
    stories = list(dict.fromkeys(p.article_id for p in found.passages))
    assert MIN_SOURCES <= len(sources) <= MAX_SOURCES and len(stories) >= MIN_SOURCES
    assert [s.article_id for s in sources] == stories[:len(sources)]  # distinct, in retrieval order
    assert [s.score for s in sources] == sorted((s.score for s in sources), reverse=True)
    for source in sources:
        assert store.article(source.article_id).raw_text[source.start:source.end] == source.quote
        similarity = _similarity(store, found.passages, source.article_id, found.query_embedding)
        assert similarity[source.start] == max(similarity.values())


def test_a_cited_story_comes_first_with_the_cited_sentence(seed_pipeline: QueryPipeline, found: Retrieved) -> None:
    store = seed_pipeline.store
    last = found.passages[-1]  # the lowest-ranked story, cited by a sentence that is not its most question-like one
    similarity = _similarity(store, found.passages, last.article_id, found.query_embedding)
    seq = min(range(last.stored.last_sentence - last.stored.first_sentence + 1),
              key=lambda i: similarity[store.sentences(last.article_id)[last.stored.first_sentence + i].start])
    answer = _cited(store, last, seq)
    listed = _list(store, answer, found)
    citation = answer.citations[0]
    assert (listed.sources[0].article_id, listed.sources[0].start, listed.sources[0].end, listed.sources[0].quote) == \
        (citation.article_id, citation.start, citation.end, citation.quote)
    rest = listed.sources[1:]
    assert citation.article_id not in {s.article_id for s in rest}
    assert [s.score for s in rest] == sorted((s.score for s in rest), reverse=True)
    assert listed.citations == answer.citations and listed.answer == answer.answer and listed.warnings == []


def test_copies_of_one_story_are_one_source(seed_pipeline: QueryPipeline, found: Retrieved) -> None:
    first, second = found.passages[0], next(p for p in found.passages if p.article_id != found.passages[0].article_id)
    copied = [dataclasses.replace(p, stored=dataclasses.replace(p.stored, cluster_id=first.stored.cluster_id))
              if p.article_id == second.article_id else p for p in found.passages]  # a near-duplicate of the first story
    sources = _list(seed_pipeline.store, _abstention(), found, copied).sources
    assert first.article_id in {s.article_id for s in sources} and second.article_id not in {s.article_id for s in sources}
    assert len({s.article_id for s in sources}) == len(sources)


@pytest.mark.parametrize("weak, listed", [(0.0, MIN_SOURCES), (1.0, MAX_SOURCES)])
def test_past_the_minimum_only_stories_near_the_best_are_listed(seed_pipeline: QueryPipeline, found: Retrieved,
                                                               weak: float, listed: int) -> None:
    """Scores 1.0 for the first three stories, ``weak`` for the rest."""
    passages = [dataclasses.replace(p, score=1.0 if i < MIN_SOURCES else weak) for i, p in enumerate(found.passages)]
    assert len({p.article_id for p in passages}) >= MAX_SOURCES
    assert len(_list(seed_pipeline.store, _abstention(), found, passages).sources) == listed


def test_fewer_stories_fewer_sources(seed_pipeline: QueryPipeline, found: Retrieved) -> None:
    assert len(_list(seed_pipeline.store, _abstention(), found, found.passages[:1]).sources) == 1
    assert _list(seed_pipeline.store, _abstention(), found, []).sources == []


def test_a_source_that_is_not_the_original_is_dropped_with_a_warning(seed_pipeline: QueryPipeline, found: Retrieved) -> None:
    store = seed_pipeline.store
    sound = _list(store, _abstention(), found)
    forged = dataclasses.replace(sound.sources[1], quote="Words nobody wrote.")
    checked = verified_sources(store, dataclasses.replace(sound, sources=[sound.sources[0], forged, *sound.sources[2:]]))
    assert checked.sources == [sound.sources[0], *sound.sources[2:]]
    assert len(checked.warnings) == 1 and forged.article_id in checked.warnings[0]
    assert verified_sources(store, sound) is sound


def test_source_is_the_stored_sentence_and_serializes_every_field(seed_pipeline: QueryPipeline, found: Retrieved) -> None:
    passage = found.passages[0]
    sentence = seed_pipeline.store.sentences(passage.article_id)[passage.stored.first_sentence]
    source = Source.of(passage, sentence)
    assert source.to_dict() == {"article_id": passage.article_id, "title": passage.stored.title, "publisher": passage.stored.publisher,
                                "published_at": passage.stored.published_at, "url": passage.stored.url, "quote": sentence.text,
                                "start": sentence.start, "end": sentence.end, "score": passage.score}


@pytest.mark.parametrize("publisher, published_at, label", [
    ("CNN", "2023-01-10", "CNN, 10 Jan 2023"),
    ("CNN", "2023-01-10T23:30:00-05:00", "CNN, 10 Jan 2023"),  # the day as stated, not shifted to UTC
    ("Press TV", None, "Press TV, date not stated"),
    (None, "2022-10-30", "publisher not stated, 30 Oct 2022"),
    ("AFP", "early 2022", "AFP, early 2022"),  # not an ISO date: as stated
])
def test_a_citation_is_labelled_with_its_publisher_and_date(publisher: str | None, published_at: str | None, label: str) -> None:
    citation = Citation(n=1, article_id="a", chunk_id="c", start=0, end=1, quote="x", publisher=publisher, published_at=published_at)
    assert citation.label == dateline(publisher, published_at) == label
    assert citation.to_dict()["label"] == label
