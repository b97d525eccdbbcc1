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

from newsdesk.index.store import ArticleStore

from .answer import ABSTENTION, Answer, AnswerSentence, Citation, ClosestArticle

DENSE_WEIGHT = 0.5
SECOND_SENTENCE_RATIO = 0.92
_STOPWORDS = frozenset(
    "a an and are as at be been but by did do does for from had has have he her his how i if in into is it its of on or "
    "she that the their them they this to was were what when where which who whom whose why will with would you your "
    "said says about after also than then there these those according can could should may might much many any some "
    "kind type".split()
)


def content_terms(text: str) -> list[str]:
    """Lower-cased, lightly stemmed words that carry meaning (no stop words)."""
    terms = []
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
    score: float = 0.0


def _near_duplicate(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a and b) and len(a & b) / len(a | b) >= 0.6


@component
class ExtractiveAnswerer:
    """Answers from the passages' own sentences with exact citations, or abstains."""

    def __init__(self, store: ArticleStore, abstain_below: float = 0.45, max_sentences: int = 2) -> None:
        if max_sentences < 1:
            raise ValueError("max_sentences must be at least 1")
        self.store = store
        self.abstain_below = abstain_below
        self.max_sentences = max_sentences

    @component.output_types(answer=Answer)
    def run(self, question: str, passages: list[Document], query_embedding: list[float]) -> dict[str, Any]:
        candidates = self.candidates(question, passages, np.asarray(query_embedding, dtype=np.float32))
        closest = closest_articles(passages)
        if not candidates or candidates[0].score < self.abstain_below:
            best = candidates[0].score if candidates else 0.0
            return {"answer": Answer(ABSTENTION, [], True, "extractive", closest=closest, evidence_score=best)}
        chosen = [candidates[0]]
        for candidate in candidates[1:]:
            if len(chosen) >= self.max_sentences or candidate.score < SECOND_SENTENCE_RATIO * chosen[0].score:
                break
            if any(_near_duplicate(candidate.terms, c.terms) or (candidate.passage.meta["article_id"], candidate.seq)
                   == (c.passage.meta["article_id"], c.seq) for c in chosen):
                continue
            chosen.append(candidate)
        citations, sentences = [], []
        for n, candidate in enumerate(chosen, start=1):
            meta = candidate.passage.meta
            citations.append(Citation(n=n, article_id=meta["article_id"], chunk_id=meta["chunk_id"], start=candidate.start,
                                      end=candidate.end, quote=candidate.text, title=meta.get("title"),
                                      publisher=meta.get("publisher"), published_at=meta.get("published_at"),
                                      url=meta.get("url"), copies=tuple(meta.get("copies", ()))))
            sentences.append(AnswerSentence(text=candidate.text, citations=(n,)))
        text = " ".join(f"{s.text} [{s.citations[0]}]" for s in sentences)
        return {"answer": Answer(text, citations, False, "extractive", sentences=sentences, closest=closest,
                                 evidence_score=chosen[0].score)}

    def candidates(self, question: str, passages: list[Document], query: np.ndarray) -> list[Candidate]:
        """Every sentence of the passages, scored, best first (one entry per sentence)."""
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
        question_terms = list(dict.fromkeys(content_terms(question)))
        n = len(raw)
        idf = {t: math.log((n + 1) / (0.5 + sum(t in c.terms for c in raw.values()))) for t in question_terms}
        total = sum(idf.values()) or 1.0
        scored = []
        for c in raw.values():
            coverage = sum(w for t, w in idf.items() if t in c.terms) / total
            scored.append(Candidate(c.passage, c.seq, c.start, c.end, c.text, c.dense, c.terms,
                                    DENSE_WEIGHT * c.dense + (1 - DENSE_WEIGHT) * coverage))
        return sorted(scored, key=lambda c: -c.score)


def closest_articles(passages: list[Document], limit: int = 3) -> list[ClosestArticle]:
    seen: dict[str, ClosestArticle] = {}
    for p in passages:
        m = p.meta
        if m["article_id"] not in seen and len(seen) < limit:
            seen[m["article_id"]] = ClosestArticle(m["article_id"], m.get("title"), m.get("publisher"),
                                                   m.get("published_at"), m.get("url"), float(p.score or 0.0))
    return list(seen.values())
