"""FollowUpResolver (offline): what to search and what to answer, given the conversation so far."""

from __future__ import annotations

import pytest

from newsdesk.service.domain import Turn
from newsdesk.service.query.followup import FollowUpResolver, leans_on_history

PREVIOUS = Turn("What total civilian casualty figure did the OHCHR report?", "16,150 ... [1]", ("004_30f098bbbb6fe325",))
CONTEXT_CHARS = 1000


def test_a_standalone_question_is_searched_as_asked() -> None:
    out = FollowUpResolver(None, CONTEXT_CHARS).run("Who said 'we are also prepared for the worst'?", [PREVIOUS])
    assert out == {"query": "Who said 'we are also prepared for the worst'?", "question": "Who said 'we are also prepared for the worst'?",
                   "context": "", "stories": []}


def test_a_follow_up_is_searched_with_the_question_it_follows_within_the_cited_stories() -> None:
    out = FollowUpResolver(None, CONTEXT_CHARS).run("How many of them were injured?", [PREVIOUS])
    assert out["query"] == f"How many of them were injured? {PREVIOUS.question}"
    assert out["question"] == "How many of them were injured?" and out["context"] == PREVIOUS.question
    assert out["stories"] == ["004_30f098bbbb6fe325"]
    assert FollowUpResolver(None, CONTEXT_CHARS).run("How many of them were injured?", [PREVIOUS], focus=False)["stories"] == []


def test_without_history_nothing_leans_on_it() -> None:
    assert FollowUpResolver(None, CONTEXT_CHARS).run("And them?", [])["query"] == "And them?"


def test_a_chain_of_follow_ups_leans_back_to_the_question_that_set_the_topic() -> None:
    """Earlier questions, not earlier queries (each of which held the conversation before it): the chain
    stops at the question that named its topic, and at the last three turns, whatever came before."""
    topic = Turn("In which city were the January talks between Russia and the United States held?", "Geneva [1]", ("a",))
    chain = [Turn("Who said 'we are also prepared for the worst'?", "Stoltenberg [1]", ("b",)), topic,
             Turn("And who led it for the US?", "Sherman [1]", ("a",))]
    out = FollowUpResolver(None, CONTEXT_CHARS).run("What about Russia?", chain)
    assert out["context"] == f"And who led it for the US? {topic.question}" and out["stories"] == ["a"]
    leaning = [Turn(f"And what about them, {i}?", "…") for i in range(5)]
    assert FollowUpResolver(None, CONTEXT_CHARS).run("And then?", [topic, *leaning])["context"] == \
        "And what about them, 4? And what about them, 3? And what about them, 2?"


def test_a_follow_up_query_is_bounded_by_the_context_limit() -> None:
    """A ~2,000-character earlier question is cut at a word: the query never grows past question + limit."""
    long = Turn("And what did they say about " + "the talks and the sanctions " * 70 + "?", "…")
    out = FollowUpResolver(None, 100).run("And then?", [long, long, long])
    assert len(out["context"]) <= 100 and out["context"].startswith("And what did they say about the talks")
    assert out["query"] == f"And then? {out['context']}"


@pytest.mark.parametrize("question, leans", [
    ("And who led it for the US?", True), ("How many of them were injured?", True), ("What about Germany?", True),
    ("Who said 'we are also prepared for the worst'?", False), ("What total civilian casualty figure did the OHCHR report?", False),
])
def test_which_questions_lean_on_the_conversation(question: str, leans: bool) -> None:
    assert leans_on_history(question) is leans
