"""Follow-up questions resolved against the conversation before retrieval.

"And who led it for the US?" means nothing to a search index; after "In which city were
the January talks between Russia and the United States held?" it means the talks. The
:class:`FollowUpResolver` is the first component of the query pipeline:

* offline (always available): a question that leans on the conversation (it opens with
  "and", "what about"…; or refers back with "it", "they", "them"…; or names nothing of
  its own) is searched together with the earlier question it follows (and, if that one
  leaned on the conversation too, the ones before it, back to the question that set the
  topic: at most :data:`HISTORY_TURNS`, newest first, cut to ``context_chars``), first
  within the stories the last answer cited (what "it" most likely refers to), then, if
  that finds nothing good enough, in the whole archive. The earlier questions' words are
  passed on as ``context``: the answerer counts them at half weight, so the answer must
  still match what the follow-up asks. Earlier questions, never earlier search queries:
  a query carries its own conversation, and chaining them grew without end;
* LLM mode: the configured server rewrites the follow-up into a standalone question
  (``prompts/rewrite.jinja``); if it is down, slow or says something unusable, the
  offline resolution is used instead.

A question that does not lean on the conversation is left alone, so a new topic in an old
conversation starts clean.
"""

from __future__ import annotations

import logging
import re
import textwrap
from typing import Any

from haystack import component
from haystack.components.builders import ChatPromptBuilder

from newsdesk.index.text import content_terms
from newsdesk.prompts import load_prompt

from ..config import LLMSettings
from ..domain import Turn
from .llm import chat_generator

__all__ = ["FollowUpResolver", "leans_on_history"]

logger = logging.getLogger(__name__)

HISTORY_TURNS = 3  # a follow-up (offline, or the rewrite prompt) leans on at most this many earlier turns
_OPENERS = re.compile(r"^\s*(and|but|so|also|then|what about|how about|and what about|what else|why|how come)\b", re.I)
_BACK_REFERENCES = re.compile(
    r"\b(it|its|they|them|their|theirs|he|him|his|she|her|hers|these|those|the same|such|"
    r"the (?:former|latter|other|others|rest))\b", re.I)


def leans_on_history(question: str) -> bool:
    """Whether the question needs the conversation to be understood (see module doc)."""
    if _OPENERS.search(question) or _BACK_REFERENCES.search(question):
        return True
    words = re.findall(r"[\w’']+", question)
    named = [w for i, w in enumerate(words) if i > 0 and (w[:1].isupper() or w[:1].isdigit())]
    return not named and len(content_terms(question)) <= 2


def _earlier_questions(history: list[Turn], limit: int) -> str:
    """What a follow-up leans on: the earlier questions back to the one that set the topic (see module
    doc), newest first, cut at a word to at most ``limit`` characters whatever the conversation's length."""
    questions = []
    for turn in reversed(history[-HISTORY_TURNS:]):
        questions.append(turn.question)
        if not leans_on_history(turn.question):
            break
    return textwrap.shorten(" ".join(questions), limit, placeholder=" …")


def _usable_rewrite(rewrite: str, question: str) -> bool:
    """A rewrite is kept only if it is one short question that still asks what was asked."""
    if not rewrite or "\n" in rewrite.strip() or len(rewrite) > 3 * len(question) + 200:
        return False
    asked = set(content_terms(question))
    return not asked or bool(asked & set(content_terms(rewrite)))


@component
class FollowUpResolver:
    """Turns a question and the conversation so far into what to search and what to answer."""

    def __init__(self, llm: LLMSettings | None, context_chars: int) -> None:
        self.context_chars = context_chars
        self._builder = ChatPromptBuilder(template=load_prompt("rewrite"), required_variables=["question", "history"])
        self._generator = chat_generator(llm, max_tokens=80) if llm else None

    @component.output_types(query=str, question=str, context=str, stories=list[str])
    def run(self, question: str, history: list[Turn] | None = None, use_llm: bool = False, focus: bool = True) -> dict[str, Any]:
        """:returns: ``query`` (searched), ``question`` and ``context`` (answered), and ``stories``: the
        articles the last answer cited, where a follow-up is looked for first (unless ``focus`` is off)."""
        if not history or not leans_on_history(question):
            return {"query": question, "question": question, "context": "", "stories": []}
        if use_llm and self._generator is not None:
            rewrite = self._rewrite(question, history[-HISTORY_TURNS:])
            if rewrite:
                return {"query": rewrite, "question": rewrite, "context": "", "stories": []}
        context = _earlier_questions(history, self.context_chars)
        return {"query": f"{question} {context}", "question": question, "context": context,
                "stories": list(history[-1].cited) if focus else []}

    def _rewrite(self, question: str, history: list[Turn]) -> str | None:
        messages = self._builder.run(question=question, history=history)["prompt"]
        try:
            replies = self._generator.run(messages=messages)["replies"]
        except Exception as exc:  # down, slow, garbage: the offline resolution still answers
            logger.warning("follow-up rewrite failed: %s", exc)
            return None
        rewrite = " ".join((replies[0].text or "").split()) if replies else ""
        return rewrite if _usable_rewrite(rewrite, question) else None
