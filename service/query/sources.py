"""The stories beside an answer: a reader weighs an answer by where it comes from.

From every story retrieval found (its passages collapsed to one article per near-duplicate
cluster, but not cut to the few the answer was drawn from, so that even an answer from one
passage has several stories beside it), the best distinct ones are listed as :class:`Source`
records, each shown by its best sentence: the one the answer cites from it, or, for a story
the answer does not cite, the sentence whose in-context vector is closest to the question.
The cited stories come first, in the order of their citations, then the others by retrieval
score. At most :data:`MAX_SOURCES` are listed; past the first :data:`MIN_SOURCES`, a story
scoring under :data:`WEAK_SHARE` of the best story's score is left out as noise. When the
answer abstains, no story is cited and the list is the closest stories. Every quote is the
stored sentence, checked once more by :func:`.verify.verified_sources` before it leaves.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from haystack import component

from newsdesk.index.records import Sentence
from newsdesk.index.store import ReadStore

from ..domain import Answer, Citation, Passage, Passages, Source
from .sentences import passage_sentences
from .verify import verified_sources

__all__ = ["MAX_SOURCES", "MIN_SOURCES", "WEAK_SHARE", "SourceLister"]

MAX_SOURCES = 5
MIN_SOURCES = 3  # listed whenever retrieval found that many stories, however weak
WEAK_SHARE = 0.5  # past MIN_SOURCES, a story under this share of the best story's score is left out


@component
class SourceLister:
    """Lists the best distinct stories beside the (verified) answer, each with its best sentence."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store

    @component.output_types(answer=Answer)
    def run(self, answer: Answer, passages: Passages, query_embedding: np.ndarray) -> dict[str, Any]:
        """:returns: ``answer`` with its ``sources``, those whose quote is not the stored original removed with a warning."""
        stories: dict[str, list[Passage]] = {}  # cluster -> the retrieved passages of its best-ranked article, best first
        for passage in passages:
            story = stories.setdefault(passage.stored.cluster_id, [])
            if not story or story[0].article_id == passage.article_id:
                story.append(passage)
        cited: dict[str, Citation] = {}  # article -> its first citation
        for citation in sorted(answer.citations, key=lambda c: c.n):
            cited.setdefault(citation.article_id, citation)
        order = {article: i for i, article in enumerate(cited)}
        ranked = sorted(stories.values(), key=lambda story: order.get(story[0].article_id, len(order)))  # stable: the rest keep rank
        best = max((story[0].score for story in ranked), default=0.0)
        query = np.asarray(query_embedding, dtype=np.float32)
        sources: list[Source] = []
        for story in ranked:
            if len(sources) == MAX_SOURCES or (len(sources) >= MIN_SOURCES and story[0].score < WEAK_SHARE * best
                                                and story[0].article_id not in cited):
                break
            sentence = self._best_sentence(story, cited.get(story[0].article_id), query)
            if sentence is not None:
                sources.append(Source.of(story[0], sentence))
        return {"answer": verified_sources(self.store, dataclasses.replace(answer, sources=sources))}

    def _best_sentence(self, story: list[Passage], citation: Citation | None, query: np.ndarray) -> Sentence | None:
        """The sentence ``citation`` quotes, else the story's retrieved sentence most similar to the question."""
        sentences = self.store.sentences(story[0].article_id)
        if citation is not None:
            quoted = next((s for s in sentences if (s.start, s.end) == (citation.start, citation.end)), None)
            if quoted is not None:
                return quoted
        scored = [(float(vector @ query), sentence) for passage in story
                  for sentence, vector in passage_sentences(self.store, passage.stored, sentences)]
        return max(scored, key=lambda pair: pair[0], default=(0.0, None))[1]
