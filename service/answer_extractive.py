"""The embedded default answerer: no LLM, no network.

It answers with the archive's own sentences. Every candidate sentence of the retrieved
passages is scored by how well it answers the question:

* ``dense``: cosine similarity of the question to the sentence's in-context vector
  (computed at ingest from the passage's forward pass, so scoring costs a dot product);
* ``coverage``: the share of the question's content words (IDF-weighted over the
  candidate sentences, so a word no candidate contains weighs most) that the sentence
  contains.

The best sentence, and a second one when it is nearly as good and says something else,
make the answer, each followed by its citation marker. When the best evidence is weaker
than the calibrated threshold, it abstains and lists the closest articles instead.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from haystack import Document, component

from newsdesk.index.store import STOPWORDS, ArticleStore

from .answer import ABSTENTION, Answer, AnswerSentence, Citation, ClosestArticle

DENSE_WEIGHT = 0.5
PAIR_PENALTY = 0.05  # a second sentence must add this much evidence to be worth reading
SECOND_UNIT_RATIO = 0.92
CONTEXT_WEIGHT = 0.5  # a word a follow-up inherits from the conversation counts half as much as its own
# The index's stop words (never searched) and the words of a question that never carry its meaning.
_STOPWORDS = STOPWORDS | frozenset("according can could should may might much many any some say saying tell".split())
# Nouns that name the kind of answer wanted ("in which city", "what year"): the answer
# sentence states the city or the year, not the word itself.
_ANSWER_TYPE = re.compile(
    r"\b(?:which|what)\s+(?:kind of\s+|type of\s+|sort of\s+)?(year|city|country|place|date|day|month|time|kind|type|name|"
    r"number|percentage|amount|person|people|organi[sz]ation|agency|company|group)\b", re.I)


_DOTTED_ACRONYM = re.compile(r"\b(?:[A-Za-z]\.){2,}")


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
AGENT_BONUS = 0.1


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


def content_terms(text: str) -> list[str]:
    """Lower-cased, lightly stemmed words that carry meaning (no stop words)."""
    terms = []
    text = _DOTTED_ACRONYM.sub(lambda m: m.group().replace(".", ""), text)  # "U.S." and "US" are one word
    for word in re.findall(r"[\w’']+", text.lower()):
        word = re.sub(r"[’']s$", "", word).strip("’'")
        if not word or word in _STOPWORDS:
            continue
        terms.append(_stem(word))
    return terms


def _stem(word: str) -> str:
    for suffix, replacement in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + replacement
    return word


@dataclass(frozen=True)
class Candidate:
    passage: Document
    seq: int
    start: int
    end: int
    text: str
    dense: float
    terms: frozenset[str]


@dataclass(frozen=True)
class Unit:
    """One or two adjacent sentences, scored as a possible answer."""

    sentences: tuple[Candidate, ...]
    score: float

    @property
    def terms(self) -> frozenset[str]:
        return frozenset().union(*(s.terms for s in self.sentences))


def _near_duplicate(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a and b) and len(a & b) / len(a | b) >= 0.6


@component
class ExtractiveAnswerer:
    """Answers from the passages' own sentences with exact citations, or abstains."""

    def __init__(self, store: ArticleStore, abstain_below: float = 0.45, max_sentences: int = 3) -> None:
        if max_sentences < 1:
            raise ValueError("max_sentences must be at least 1")
        self.store = store
        self.abstain_below = abstain_below
        self.max_sentences = max_sentences

    @component.output_types(answer=Answer)
    def run(self, question: str, passages: list[Document], query_embedding: list[float], context: str = "") -> dict[str, Any]:
        """``context``: earlier words of the conversation a follow-up leans on (counted at half weight)."""
        units = self.candidates(question, passages, np.asarray(query_embedding, dtype=np.float32), context)
        closest = closest_articles(passages)
        if not units or units[0].score < self.abstain_below:
            best = units[0].score if units else 0.0
            return {"answer": Answer(ABSTENTION, [], True, "extractive", closest=closest, evidence_score=best)}
        chosen = [units[0]]
        used = {(c.passage.meta["article_id"], c.seq) for c in units[0].sentences}
        for unit in units[1:]:
            if unit.score < SECOND_UNIT_RATIO * chosen[0].score or sum(len(u.sentences) for u in chosen) >= self.max_sentences:
                break
            keys = {(c.passage.meta["article_id"], c.seq) for c in unit.sentences}
            if keys & used or len(unit.sentences) + sum(len(u.sentences) for u in chosen) > self.max_sentences:
                continue
            if any(_near_duplicate(s.terms, c.terms) for s in unit.sentences for u in chosen for c in u.sentences):
                continue  # the same fact from another wire copy adds nothing
            chosen.append(unit)
            used |= keys
        citations, sentences = [], []
        for candidate in (c for unit in chosen for c in unit.sentences):
            meta = candidate.passage.meta
            n = len(citations) + 1
            citations.append(Citation(n=n, article_id=meta["article_id"], chunk_id=meta["chunk_id"], start=candidate.start,
                                      end=candidate.end, quote=candidate.text, title=meta.get("title"),
                                      publisher=meta.get("publisher"), published_at=meta.get("published_at"),
                                      url=meta.get("url"), copies=tuple(meta.get("copies", ()))))
            sentences.append(AnswerSentence(text=candidate.text, citations=(n,)))
        text = " ".join(f"{s.text} [{s.citations[0]}]" for s in sentences)
        return {"answer": Answer(text, citations, False, "extractive", sentences=sentences, closest=closest,
                                 evidence_score=chosen[0].score)}

    def candidates(self, question: str, passages: list[Document], query: np.ndarray, context: str = "") -> list[Unit]:
        """Every sentence, and every pair of adjacent sentences, of the passages: scored, best first."""
        raw: dict[tuple[str, int], Candidate] = {}
        sentences_of: dict[str, list[dict]] = {}
        for passage in passages:
            meta = passage.meta
            article = meta["article_id"]
            if article not in sentences_of:
                sentences_of[article] = self.store.sentences(article)
            vectors = self.store.sentence_vectors(meta["rowid"])
            for j, sentence in enumerate(sentences_of[article][meta["first_sentence"]:meta["last_sentence"] + 1]):
                dense = float(vectors[j] @ query) if j < len(vectors) else 0.0
                key = (article, sentence["seq"])
                if key in raw and raw[key].dense >= dense:
                    continue
                raw[key] = Candidate(passage, sentence["seq"], sentence["start"], sentence["end"], sentence["text"], dense,
                                     frozenset(content_terms(sentence["text"])))
        if not raw:
            return []
        asked = question_terms(question)
        weight = dict.fromkeys(question_terms(context), CONTEXT_WEIGHT) | dict.fromkeys(asked, 1.0)
        n = len(raw)
        idf = {t: w * math.log((n + 1) / (0.5 + sum(t in c.terms for c in raw.values()))) for t, w in weight.items()}
        total = sum(idf.values()) or 1.0
        def coverage(terms: frozenset[str]) -> float:
            return sum(w for t, w in idf.items() if t in terms) / total

        agent = agent_pattern(question)
        def named(sentences: tuple[Candidate, ...]) -> float:
            return AGENT_BONUS if agent and any(agent.search(c.text) for c in sentences) else 0.0

        units = [Unit((c,), DENSE_WEIGHT * c.dense + (1 - DENSE_WEIGHT) * coverage(c.terms) + named((c,))) for c in raw.values()]
        # Two adjacent sentences answer together when the second completes the first
        # ("... Kuleba hailed the talks." + "..., Kuleba told reporters in Copenhagen.").
        for (article, seq), first in raw.items():
            second = raw.get((article, seq + 1))
            if second is not None:
                terms = first.terms | second.terms
                units.append(Unit((first, second), DENSE_WEIGHT * max(first.dense, second.dense)
                                  + (1 - DENSE_WEIGHT) * coverage(terms) - PAIR_PENALTY + named((first, second))))
        return sorted(units, key=lambda u: -u.score)


def closest_articles(passages: list[Document], limit: int = 3) -> list[ClosestArticle]:
    seen: dict[str, ClosestArticle] = {}
    for p in passages:
        m = p.meta
        if m["article_id"] not in seen and len(seen) < limit:
            seen[m["article_id"]] = ClosestArticle(m["article_id"], m.get("title"), m.get("publisher"),
                                                   m.get("published_at"), m.get("url"), float(p.score or 0.0))
    return list(seen.values())
