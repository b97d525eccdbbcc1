"""ExtractiveAnswerer on retrieved seed passages: exact sentences as citations, or an abstention."""

from __future__ import annotations

import numpy as np
import pytest

from newsdesk.service.query import QueryPipeline, retrieve
from newsdesk.service.query.extractive import ExtractiveAnswerer, closest_articles, question_terms
from newsdesk.service.query.scoring import default_model

from tests.conftest import DEFAULTS

QUESTION = "Who said 'we are also prepared for the worst'?"


def _retrieved(pipeline: QueryPipeline, question: str):
    return retrieve(pipeline.retrieval, question, top_k=5)


def test_answers_with_stored_sentences_and_exact_citations(seed_pipeline: QueryPipeline) -> None:
    found = _retrieved(seed_pipeline, QUESTION)
    answer = ExtractiveAnswerer(seed_pipeline.store, abstain_below=DEFAULTS.abstain_below, model=default_model()).run(QUESTION, found.passages, found.query_embedding)["answer"]
    assert not answer.abstained and "Stoltenberg" in answer.answer
    for citation in answer.citations:
        assert seed_pipeline.store.article(citation.article_id).raw_text[citation.start:citation.end] == citation.quote
        assert f"{citation.quote} [{citation.n}]" in answer.answer
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))


def test_abstains_below_the_threshold_and_lists_the_closest_articles(seed_pipeline: QueryPipeline) -> None:
    found = _retrieved(seed_pipeline, QUESTION)
    answer = ExtractiveAnswerer(seed_pipeline.store, abstain_below=5.0, model=default_model()).run(QUESTION, found.passages, found.query_embedding)["answer"]
    assert answer.abstained and answer.citations == [] and answer.sentences == []
    assert [c.article_id for c in answer.closest] == [c.article_id for c in closest_articles(found.passages)]
    assert 0 < answer.evidence_score < 5.0


def test_no_passages_is_an_abstention(seed_pipeline: QueryPipeline) -> None:
    answer = ExtractiveAnswerer(seed_pipeline.store, abstain_below=DEFAULTS.abstain_below, model=default_model()).run(QUESTION, [], list(np.zeros(384)))["answer"]
    assert answer.abstained and answer.evidence_score == 0.0


def test_never_more_than_max_sentences(seed_pipeline: QueryPipeline) -> None:
    found = _retrieved(seed_pipeline, "What did Peskov say about the talks?")
    answer = ExtractiveAnswerer(seed_pipeline.store, abstain_below=0.0, model=default_model(), max_sentences=1).run(
        "What did Peskov say about the talks?", found.passages, found.query_embedding)["answer"]
    assert len(answer.sentences) == 1 and len(answer.citations) == 1
    with pytest.raises(ValueError):
        ExtractiveAnswerer(seed_pipeline.store, abstain_below=0.0, model=default_model(), max_sentences=0)


def test_question_terms_drop_the_word_that_names_the_answer_type() -> None:
    assert "city" not in question_terms("In which city were the talks held?")
    assert "talk" in question_terms("In which city were the talks held?")
