"""The embedded default answerer: no LLM, no network.

It answers with the archive's own sentences. Every sentence of the retrieved passages,
and every pair of adjacent sentences, is a candidate, described by general signals
(:data:`.scoring.FEATURES`): the question's similarity to the sentence's in-context
vector (computed at ingest, so it costs a dot product), the IDF-weighted share of the
question's content words it holds, the passage's retrieval score and rank, whether it
holds an entity of the type the question asks for, the article's age at the moment
asked, the sentence's place in its article. A linear model (:mod:`.scoring`) weighs
them into one score.

The best candidate, and a second one when it is nearly as likely and says something
else, make the answer, each followed by its citation marker. When the best score is
under ``NEWSDESK_ABSTAIN_BELOW``, it abstains and lists the closest articles instead.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
from haystack import component

from newsdesk.index.records import Sentence
from newsdesk.index.store import ReadStore
from newsdesk.index.text import content_terms

from ..domain import ABSTENTION, Answer, AnswerSentence, Citation, ClosestArticle, Passage, Passages, TimeFrame
from .scoring import FEATURES, ScoringModel
from .sentences import passage_sentences
from .short_answer import adds_to, expected_labels, short_answer

__all__ = ["ExtractiveAnswerer", "closest_articles", "question_terms", "relative_features"]

CONTEXT_WEIGHT = 0.5  # a word a follow-up inherits from the conversation counts half as much as its own
# Nouns that name the kind of answer wanted ("in which city", "what year"): the answer
# sentence states the city or the year, not the word itself.
_ANSWER_TYPE = re.compile(
    r"\b(?:which|what)\s+(?:kind of\s+|type of\s+|sort of\s+)?(year|city|country|place|date|day|month|time|kind|type|name|"
    r"number|percentage|amount|person|people|organi[sz]ation|agency|company|group)\b", re.I)


# A sentence that asks (a quiz's question, a rhetorical one) states no answer.
_ASKS = re.compile(r"\?[\s\"'”’)\]]*$")
_DENSE, _COVERAGE, _DENSE_GAP, _COVERAGE_GAP, _AGE, _PRESENT_AGE, _UNDATED = (
    FEATURES.index(f) for f in ("dense", "coverage", "dense_gap", "coverage_gap", "age", "present_age", "undated"))


def question_terms(question: str) -> list[str]:
    """The question's content words, without the noun that only names the answer's type."""
    return list(dict.fromkeys(content_terms(_ANSWER_TYPE.sub(" ", question))))


@dataclass(frozen=True)
class Candidate:
    passage: Passage
    sentence: Sentence
    dense: float
    terms: frozenset[str]

    @property
    def key(self) -> tuple[str, int]:
        return self.passage.article_id, self.sentence.seq


@dataclass(frozen=True)
class Unit:
    """One or two adjacent sentences, described by :data:`FEATURES` and scored as a possible answer."""

    sentences: tuple[Candidate, ...]
    features: np.ndarray = field(compare=False)
    score: float = 0.0


def _near_duplicate(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a and b) and len(a & b) / len(a | b) >= 0.6


@component
class ExtractiveAnswerer:
    """Answers from the passages' own sentences with exact citations, or abstains."""

    def __init__(self, store: ReadStore, abstain_below: float, model: ScoringModel, max_sentences: int = 3) -> None:
        if max_sentences < 1:
            raise ValueError("max_sentences must be at least 1")
        self.store = store
        self.abstain_below = abstain_below
        self.model = model
        self.max_sentences = max_sentences

    @component.output_types(answer=Answer)
    def run(self, question: str, passages: Passages, query_embedding: np.ndarray, context: str = "",
            as_of: datetime | None = None, timeframe: TimeFrame | None = None) -> dict[str, Any]:
        """``context``: earlier words of the conversation a follow-up leans on (counted at half weight);
        ``as_of``: when it is asked (articles' age); ``timeframe``: whether it is about the present."""
        units = [u for u in self.candidates(question, passages, np.asarray(query_embedding, dtype=np.float32), context,
                                            as_of.date() if as_of else None, bool(timeframe and timeframe.present))
                 if len(u.sentences) <= self.max_sentences]
        closest = closest_articles(passages)
        if not units or units[0].score < self.abstain_below:
            best = units[0].score if units else 0.0
            return {"answer": Answer(ABSTENTION, [], True, "extractive", closest=closest, evidence_score=best)}
        chosen = [units[0]]
        used = {c.key for c in units[0].sentences}
        for unit in units[1:]:
            if unit.score < self.model.second_unit_ratio * chosen[0].score or sum(len(u.sentences) for u in chosen) >= self.max_sentences:
                break
            keys = {c.key for c in unit.sentences}
            if keys & used or len(unit.sentences) + sum(len(u.sentences) for u in chosen) > self.max_sentences:
                continue
            if any(_near_duplicate(s.terms, c.terms) for s in unit.sentences for u in chosen for c in u.sentences):
                continue  # the same fact from another wire copy adds nothing
            chosen.append(unit)
            used |= keys
        citations, sentences = [], []
        for candidate in (c for unit in chosen for c in unit.sentences):
            n = len(citations) + 1
            citations.append(Citation.of(n, candidate.passage, candidate.sentence))
            sentences.append(AnswerSentence(text=candidate.sentence.text, citations=(n,)))
        text = " ".join(f"{s.text} [{s.citations[0]}]" for s in sentences)
        return {"answer": Answer(text, citations, False, "extractive", sentences=sentences, closest=closest,
                                 evidence_score=chosen[0].score,
                                 short_answer=short_answer(question, citations, self.store.entities))}

    def candidates(self, question: str, passages: list[Passage], query: np.ndarray, context: str = "",
                   today: date | None = None, present: bool = False) -> list[Unit]:
        """Every sentence, and every pair of adjacent sentences, of the passages: scored, best first."""
        raw: dict[tuple[str, int], Candidate] = {}
        sentences_of: dict[str, list[Sentence]] = {}
        for passage in passages:
            stored = passage.stored
            article = stored.article_id
            if article not in sentences_of:
                sentences_of[article] = self.store.sentences(article)
            for sentence, vector in passage_sentences(self.store, stored, sentences_of[article]):
                dense = float(vector @ query)
                key = (article, sentence.seq)
                if key in raw and raw[key].dense >= dense:
                    continue
                raw[key] = Candidate(passage, sentence, dense, frozenset(content_terms(sentence.text)))
        if not raw:
            return []
        asked = question_terms(question)
        weight = dict.fromkeys(question_terms(context), CONTEXT_WEIGHT) | dict.fromkeys(asked, 1.0)
        n = len(raw)
        idf = {t: w * math.log((n + 1) / (0.5 + sum(t in c.terms for c in raw.values()))) for t, w in weight.items()}
        total = sum(idf.values()) or 1.0
        rank = {p.chunk_id: i for i, p in enumerate(passages, start=1)}
        labels = expected_labels(question)
        question_words = set(content_terms(question))
        typed, named = self._entity_spans(raw.values(), labels, question_words)

        def features(unit: tuple[Candidate, ...]) -> list[float]:
            first = unit[0]
            stored = first.passage.stored
            terms = frozenset().union(*(c.terms for c in unit))
            age = _age_days(stored.published_at, today)
            return [max(c.dense for c in unit), sum(w for t, w in idf.items() if t in terms) / total, first.passage.score,
                    1.0 / rank.get(first.passage.chunk_id, len(passages) + 1), float(bool(labels)),
                    float(any(c.key in typed for c in unit)),
                    math.log1p(age) if age is not None else 0.0, math.log1p(age) if age is not None and present else 0.0,
                    float(stored.published_at is None), math.log1p(first.sentence.seq), float(len(unit) == 2),
                    math.log(1 + sum(len(c.sentence.text) for c in unit)),
                    0.0, 0.0,  # dense_gap, coverage_gap: filled in below, once every unit is known
                    float(any(_ASKS.search(c.sentence.text) for c in unit)),
                    len(terms - question_words) / len(terms) if terms else 0.0,
                    float(any(c.key in named for c in unit))]

        # Two adjacent sentences answer together when the second completes the first
        # ("... Kuleba hailed the talks." + "..., Kuleba told reporters in Copenhagen.").
        groups = [(c,) for c in raw.values()]
        groups += [(first, raw[(article, seq + 1)]) for (article, seq), first in raw.items() if (article, seq + 1) in raw]
        matrix = relative_features(np.array([features(g) for g in groups], dtype=np.float64).reshape(len(groups), len(FEATURES)))
        scores = self.model.score(matrix)
        units = [Unit(g, row, float(score)) for g, row, score in zip(groups, matrix, scores)]
        return sorted(units, key=lambda u: -u.score)

    def _entity_spans(self, candidates: Any, labels: tuple[str, ...],
                      asked: set[str]) -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
        """The candidates holding an entity the question does not already name: of an expected type
        (``labels``), and of any type."""
        typed: set[tuple[str, int]] = set()
        named: set[tuple[str, int]] = set()
        by_article: dict[str, list[Candidate]] = {}
        for c in candidates:
            by_article.setdefault(c.passage.article_id, []).append(c)
        new: dict[str, bool] = {}  # entity text -> whether it says something the question does not
        for article, group in by_article.items():
            entities = self.store.entities(article, min(c.sentence.start for c in group),
                                           max(c.sentence.end for c in group))  # by start
            starts = [e.start for e in entities]
            for c in group:
                inside = [e for e in entities[bisect_left(starts, c.sentence.start):bisect_left(starts, c.sentence.end)]
                          if e.end <= c.sentence.end]
                for e in inside:
                    if e.text not in new:
                        new[e.text] = adds_to(e.text, asked)
                inside = [e for e in inside if new[e.text]]
                if inside:
                    named.add(c.key)
                if any(e.label in labels for e in inside):
                    typed.add(c.key)
        return typed, named


def relative_features(matrix: np.ndarray) -> np.ndarray:
    """Fill in the features that compare one question's candidates with each other (in place; idempotent).

    ``dense_gap`` and ``coverage_gap``: how far a candidate is behind this question's best. ``age``
    and ``present_age``: how much older a dated candidate's article is than the freshest dated one,
    not how old it is: an archive asked about years later is not less likely to answer, and a
    threshold on an absolute age would abstain on every old archive."""
    if not len(matrix):
        return matrix
    for gap, column in ((_DENSE_GAP, _DENSE), (_COVERAGE_GAP, _COVERAGE)):
        matrix[:, gap] = matrix[:, column] - matrix[:, column].max()
    dated = matrix[:, _UNDATED] == 0
    if dated.any():
        for column in (_AGE, _PRESENT_AGE):
            matrix[dated, column] -= matrix[dated, column].min()
    return matrix


def _age_days(published_at: str | None, today: date | None) -> float | None:
    """Days from publication to the moment asked (0 when published later the same day); ``None`` if unknown."""
    if not published_at or today is None:
        return None
    try:
        published = date.fromisoformat(published_at[:10])
    except ValueError:
        return None
    return float(max(0, (today - published).days))


def closest_articles(passages: list[Passage], limit: int = 3) -> list[ClosestArticle]:
    """The best-ranked distinct articles, shown when the answerer abstains."""
    seen: dict[str, ClosestArticle] = {}
    for p in passages:
        s = p.stored
        if s.article_id not in seen and len(seen) < limit:
            seen[s.article_id] = ClosestArticle(s.article_id, s.title, s.publisher, s.published_at, s.url, float(p.score))
    return list(seen.values())
