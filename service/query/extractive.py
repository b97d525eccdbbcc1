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
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
from haystack import component

from newsdesk.index.records import Sentence
from newsdesk.index.store import ReadStore
from newsdesk.index.text import content_terms

from ..domain import ABSTENTION, Answer, AnswerSentence, Citation, ClosestArticle, Passage, TimeFrame
from .scoring import FEATURES, ScoringModel
from .short_answer import expected_labels, short_answer

__all__ = ["ExtractiveAnswerer", "agent_pattern", "closest_articles", "question_terms"]

SECOND_UNIT_RATIO = 0.92
CONTEXT_WEIGHT = 0.5  # a word a follow-up inherits from the conversation counts half as much as its own
# Nouns that name the kind of answer wanted ("in which city", "what year"): the answer
# sentence states the city or the year, not the word itself.
_ANSWER_TYPE = re.compile(
    r"\b(?:which|what)\s+(?:kind of\s+|type of\s+|sort of\s+)?(year|city|country|place|date|day|month|time|kind|type|name|"
    r"number|percentage|amount|person|people|organi[sz]ation|agency|company|group)\b", re.I)


# "Who led the talks?" is answered by "... the talks will be led by <Name>": the agent of a
# passive clause (a surface pattern in the sense of Ravichandran & Hovy, 2002).
_WHO_VERB = re.compile(r"^\W*(?:(?:and|but|so|then)\s+)?who\s+(?!(?:is|was|are|were|did|does|do|has|have|had|will|would|can|could|"
                       r"should|may|might|must)\b)([a-z]+)\b", re.I)
_PARTICIPLES = {
    "wrote": "written", "drove": "driven", "took": "taken", "gave": "given", "began": "begun", "broke": "broken", "chose": "chosen",
    "spoke": "spoken", "stole": "stolen", "saw": "seen", "sang": "sung", "drew": "drawn", "threw": "thrown", "grew": "grown",
    "knew": "known", "flew": "flown", "wore": "worn", "beat": "beaten", "forgot": "forgotten", "hid": "hidden", "rode": "ridden",
    "shook": "shaken", "swam": "swum", "ran": "run", "came": "come", "became": "become", "got": "gotten", "did": "done",
}


def agent_pattern(question: str) -> re.Pattern[str] | None:
    """For "who <verb>…" questions, the passive "<verb> by <Name>" that names the answer; else ``None``."""
    match = _WHO_VERB.match(question)
    if not match:
        return None
    verb = match.group(1).lower()
    forms = {verb, _PARTICIPLES.get(verb, verb)}
    return re.compile(rf"\b(?:{'|'.join(sorted(forms))})\s+by\s+(?:[\w.’'-]+\s+){{0,5}}?[A-Z]")


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
    def run(self, question: str, passages: list[Passage], query_embedding: list[float], context: str = "",
            as_of: datetime | None = None, timeframe: TimeFrame | None = None) -> dict[str, Any]:
        """``context``: earlier words of the conversation a follow-up leans on (counted at half weight);
        ``as_of``: when it is asked (articles' age); ``timeframe``: whether it is about the present."""
        units = self.candidates(question, passages, np.asarray(query_embedding, dtype=np.float32), context,
                                as_of.date() if as_of else None, bool(timeframe and timeframe.present))
        closest = closest_articles(passages)
        if not units or units[0].score < self.abstain_below:
            best = units[0].score if units else 0.0
            return {"answer": Answer(ABSTENTION, [], True, "extractive", closest=closest, evidence_score=best)}
        chosen = [units[0]]
        used = {c.key for c in units[0].sentences}
        for unit in units[1:]:
            if unit.score < SECOND_UNIT_RATIO * chosen[0].score or sum(len(u.sentences) for u in chosen) >= self.max_sentences:
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
            vectors = self.store.sentence_vectors(stored.rowid)
            for j, sentence in enumerate(sentences_of[article][stored.first_sentence:stored.last_sentence + 1]):
                dense = float(vectors[j] @ query) if j < len(vectors) else 0.0
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
        typed = self._typed_spans(raw.values(), labels, question_words) if labels else set()
        agent = agent_pattern(question)

        def features(unit: tuple[Candidate, ...]) -> list[float]:
            first = unit[0]
            stored = first.passage.stored
            terms = frozenset().union(*(c.terms for c in unit))
            age = _age_days(stored.published_at, today)
            return [max(c.dense for c in unit), sum(w for t, w in idf.items() if t in terms) / total, first.passage.score,
                    1.0 / rank.get(first.passage.chunk_id, len(passages) + 1), float(bool(labels)),
                    float(any(c.key in typed for c in unit)), float(bool(agent and any(agent.search(c.sentence.text) for c in unit))),
                    math.log1p(age) if age is not None else 0.0, math.log1p(age) if age is not None and present else 0.0,
                    float(stored.published_at is None), math.log1p(first.sentence.seq), float(len(unit) == 2),
                    math.log(1 + sum(len(c.sentence.text) for c in unit))]

        # Two adjacent sentences answer together when the second completes the first
        # ("... Kuleba hailed the talks." + "..., Kuleba told reporters in Copenhagen.").
        groups = [(c,) for c in raw.values()]
        groups += [(first, raw[(article, seq + 1)]) for (article, seq), first in raw.items() if (article, seq + 1) in raw]
        matrix = np.array([features(g) for g in groups], dtype=np.float64).reshape(len(groups), len(FEATURES))
        scores = self.model.score(matrix)
        units = [Unit(g, row, float(score)) for g, row, score in zip(groups, matrix, scores)]
        return sorted(units, key=lambda u: -u.score)

    def _typed_spans(self, candidates: Any, labels: tuple[str, ...], asked: set[str]) -> set[tuple[str, int]]:
        """The candidates holding an entity of an expected type that the question does not already name."""
        typed: set[tuple[str, int]] = set()
        by_article: dict[str, list[Candidate]] = {}
        for c in candidates:
            by_article.setdefault(c.passage.article_id, []).append(c)
        for article, group in by_article.items():
            entities = [e for e in self.store.entities(article) if e.label in labels and not set(content_terms(e.text)) <= asked]
            for c in group:
                if any(c.sentence.start <= e.start and e.end <= c.sentence.end for e in entities):
                    typed.add(c.key)
        return typed


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
