"""FollowUpResolver (offline): what to search and what to answer, given the conversation so far."""

from __future__ import annotations

import pytest

from newsdesk.service.domain import Turn
from newsdesk.service.query.followup import FollowUpResolver, leans_on_history

PREVIOUS = Turn("What total civilian casualty figure did the OHCHR report?", "What total civilian casualty figure did the OHCHR report?",
                "16,150 ... [1]", ("004_30f098bbbb6fe325",))


def test_a_standalone_question_is_searched_as_asked() -> None:
    out = FollowUpResolver(None).run("Who said 'we are also prepared for the worst'?", [PREVIOUS])
    assert out == {"query": "Who said 'we are also prepared for the worst'?", "question": "Who said 'we are also prepared for the worst'?",
                   "context": "", "stories": []}


def test_a_follow_up_is_searched_with_the_question_it_follows_within_the_cited_stories() -> None:
    out = FollowUpResolver(None).run("How many of them were injured?", [PREVIOUS])
    assert out["query"] == f"How many of them were injured? {PREVIOUS.query}"
    assert out["question"] == "How many of them were injured?" and out["context"] == PREVIOUS.query
    assert out["stories"] == ["004_30f098bbbb6fe325"]
    assert FollowUpResolver(None).run("How many of them were injured?", [PREVIOUS], focus=False)["stories"] == []


def test_without_history_nothing_leans_on_it() -> None:
    assert FollowUpResolver(None).run("And them?", [])["query"] == "And them?"


@pytest.mark.parametrize("question, leans", [
    ("And who led it for the US?", True), ("How many of them were injured?", True), ("What about Germany?", True),
    ("Who said 'we are also prepared for the worst'?", False), ("What total civilian casualty figure did the OHCHR report?", False),
])
def test_which_questions_lean_on_the_conversation(question: str, leans: bool) -> None:
    assert leans_on_history(question) is leans
