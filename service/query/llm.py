"""LLM mode: any OpenAI-compatible server writes the answer; nothing it says is trusted.

The model is asked to cite the numbered passages as ``[n]``. Its reply is then checked
sentence by sentence (:func:`verify_generated`): a marker outside ``1..len(passages)`` is
removed; a sentence is kept only if one of the passages it cites contains a sentence
that supports it (the same content words, or the same meaning by embedding) and is still
exactly the stored original's text at its offsets, and its citation becomes that sentence.
Sentences without support are dropped from the answer and reported with the reason.
When the server is down, slow or answers nothing usable, the extractive answer is
returned with a warning, never an error; when it fails mid-stream after verified sentences
were sent, those sentences are the answer, with a warning.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from haystack import component
from haystack.components.builders import ChatPromptBuilder
from haystack.dataclasses import StreamingChunk
from haystack.utils import Secret

from newsdesk.index.embed import Embedder
from newsdesk.index.records import Sentence
from newsdesk.index.store import ReadStore
from newsdesk.index.text import content_terms, split_sentences
from newsdesk.prompts import load_prompt

from ..config import LLMSettings
from ..domain import ABSTENTION, Answer, AnswerSentence, Citation, Passage, Passages, answer_text
from ..errors import LLMUnavailable
from .sentences import passage_sentences
from .verify import quote_matches

if TYPE_CHECKING:
    from haystack.components.generators.chat import OpenAIChatGenerator

__all__ = ["NOT_IN_ARCHIVE", "GeneratedAnswerVerifier", "LLMAnswerer", "OnSentence", "SentenceStream", "chat_generator",
           "generated_sentences", "support", "verify_generated"]

logger = logging.getLogger(__name__)

NOT_IN_ARCHIVE = "NOT IN ARCHIVE"
# Called with each verified sentence of a streamed LLM answer and the citations it introduces.
OnSentence = Callable[[AnswerSentence, list[Citation]], None]
SUPPORT_THRESHOLD = 0.6
_MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")


def support(claim_terms: set[str], claim_vector: np.ndarray, source_terms: frozenset[str], source_vector: np.ndarray) -> float:
    """How well one source sentence supports one claim: the better of word overlap and meaning."""
    overlap = len(claim_terms & source_terms) / len(claim_terms) if claim_terms else 0.0
    return max(overlap, float(claim_vector @ source_vector))


class GeneratedAnswerVerifier:
    """Verifies a generated answer sentence by sentence, as it arrives (see module doc).

    Citations are numbered in the order verified sentences first use them, so sentences can
    be sent to the reader one by one and the finished :meth:`answer` says exactly the same.
    """

    def __init__(self, passages: list[Passage], store: ReadStore, embedder: Embedder) -> None:
        self.passages, self.store, self.embedder = passages, store, embedder
        self.citations: list[Citation] = []
        self.sentences: list[AnswerSentence] = []
        self.warnings: list[str] = []

    def add(self, piece: str) -> tuple[AnswerSentence, list[Citation]] | None:
        """Verify one generated sentence. :returns: it (supported or not) and the citations it introduced."""
        cited = [int(n) for group in _MARKER.findall(piece) for n in re.split(r"\s*[,;]\s*", group)]
        claim = re.sub(r"\s+([.,;:!?…])", r"\1", " ".join(_MARKER.sub(" ", piece).split()))
        if not claim:
            return None
        vector = self.embedder.embed([claim])[0]
        passages = self.passages
        in_range = [n for n in dict.fromkeys(cited) if 1 <= n <= len(passages)]
        for n in sorted(set(cited) - set(in_range)):
            self.warnings.append(f"removed citation [{n}]: there were only {len(passages)} passages")
        terms = set(content_terms(claim))
        scored: list[tuple[float, Passage, Sentence]] = []
        for n in in_range:
            for sentence, source_vector in passage_sentences(self.store, passages[n - 1].stored):
                scored.append((support(terms, vector, frozenset(content_terms(sentence.text)), source_vector), passages[n - 1], sentence))
        scored.sort(key=lambda s: -s[0])  # stable: of equal support, the first cited
        # Checked here, not only at the last gate, since a streamed sentence is sent the moment it is verified.
        best = next((s for s in scored if s[0] >= SUPPORT_THRESHOLD and
                     quote_matches(self.store, s[1].article_id, s[2].start, s[2].end, s[2].text)), None)
        new: list[Citation] = []
        if not in_range:
            result = AnswerSentence(claim, (), False, "cites no passage")
        elif not scored or scored[0][0] < SUPPORT_THRESHOLD:
            result = AnswerSentence(claim, (), False,
                                    f"not supported by the passages it cites (best support {scored[0][0] if scored else 0:.2f} < {SUPPORT_THRESHOLD})")
        elif best is None:
            result = AnswerSentence(claim, (), False, "the sentences that support it no longer match the stored article")
        else:
            _, passage, sentence = best
            citation = next((c for c in self.citations if (c.article_id, c.start) == (passage.article_id, sentence.start)), None)
            if citation is None:
                citation = Citation.of(len(self.citations) + 1, passage, sentence)
                self.citations.append(citation)
                new.append(citation)
            result = AnswerSentence(claim, (citation.n,))
        self.sentences.append(result)
        return result, new

    def answer(self) -> Answer:
        """The verified answer: supported sentences only, each with its marker; the rest reported."""
        warnings = list(self.warnings)
        dropped = [s for s in self.sentences if not s.supported]
        if dropped:
            warnings.append(f"dropped {len(dropped)} of {len(self.sentences)} generated sentence(s) that their citations do not support")
        text = answer_text([s for s in self.sentences if s.supported])
        return Answer(text, list(self.citations), False, "llm", sentences=list(self.sentences), warnings=warnings)


def generated_sentences(text: str) -> list[str]:
    """A generated text cut into sentences (white space normalized)."""
    text = " ".join(text.split())
    return [text[s:e] for s, e in split_sentences(text)] if text else []


def verify_generated(text: str, passages: list[Passage], store: ReadStore, embedder: Embedder) -> Answer:
    """Check every sentence of a generated answer against the passages it cites (see module doc)."""
    verifier = GeneratedAnswerVerifier(passages, store, embedder)
    for piece in generated_sentences(text):
        verifier.add(piece)
    return verifier.answer()


class SentenceStream:
    """Collects streamed tokens; verifies each sentence once the next one has begun, and reports it.

    Nothing is reported while the reply could still turn out to be the ``NOT IN ARCHIVE`` refusal.
    """

    def __init__(self, verifier: GeneratedAnswerVerifier, on_sentence: OnSentence) -> None:
        self.verifier, self.on_sentence = verifier, on_sentence
        self.text = ""
        self.done = 0  # sentences already verified

    def __call__(self, chunk: StreamingChunk) -> None:
        self.text += chunk.content or ""
        head = self.text.lstrip().upper()
        if len(head) < len(NOT_IN_ARCHIVE) and NOT_IN_ARCHIVE.startswith(head) or head.startswith(NOT_IN_ARCHIVE):
            return
        self._verify(generated_sentences(self.text)[:-1])

    def finish(self) -> None:
        if not self.text.lstrip().upper().startswith(NOT_IN_ARCHIVE):
            self._verify(generated_sentences(self.text))

    def _verify(self, complete: list[str]) -> None:
        for piece in complete[self.done:]:
            self.done += 1
            verified = self.verifier.add(piece)
            if verified and verified[0].supported:
                self.on_sentence(*verified)


def chat_generator(settings: LLMSettings, max_tokens: int | None = None) -> OpenAIChatGenerator:
    """Haystack's OpenAI chat generator for the configured server: no retries, greedy, bounded. Imported here,
    not with this module: the ``openai`` package it brings costs half a second of every start without an LLM."""
    from haystack.components.generators.chat import OpenAIChatGenerator

    return OpenAIChatGenerator(
        api_key=Secret.from_token(settings.api_key or "not-needed"), model=settings.model, api_base_url=settings.base_url,
        timeout=settings.timeout, max_retries=0,
        generation_kwargs={"max_tokens": max_tokens or settings.max_tokens, "temperature": 0.0})


@component
class LLMAnswerer:
    """Generates with the configured server, verifies, and falls back to the extractive answer."""

    def __init__(self, store: ReadStore, embedder: Embedder, settings: LLMSettings | None) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self._builder = ChatPromptBuilder(template=load_prompt("answer"), required_variables=["question", "passages"])
        self._generator = chat_generator(settings) if settings is not None else None

    @component.output_types(answer=Answer)
    def run(self, question: str, passages: Passages, fallback: Answer, use_llm: bool = False,
            on_sentence: OnSentence | None = None) -> dict[str, Any]:
        """``on_sentence``: stream the reply, reporting each sentence as soon as it is verified.

        :returns: the verified LLM answer, or ``fallback`` (the extractive answer) with a warning.
        """
        if not use_llm or self._generator is None:
            return {"answer": fallback}
        if not passages:
            return {"answer": dataclasses.replace(fallback, mode="llm")}
        verifier = GeneratedAnswerVerifier(passages, self.store, self.embedder)
        stream = SentenceStream(verifier, on_sentence) if on_sentence else None
        try:
            reply = self._generate(question, passages, stream)
        except LLMUnavailable as exc:
            if stream and verifier.citations:  # verified sentences have been sent: they must stay the answer
                return {"answer": self._cut_short(verifier.answer(), fallback, exc)}
            return {"answer": dataclasses.replace(fallback, warnings=fallback.warnings + [f"LLM unavailable ({exc}); answered extractively"])}
        if reply.strip().upper().startswith(NOT_IN_ARCHIVE):
            return {"answer": Answer(ABSTENTION, [], True, "llm", closest=fallback.closest)}
        if stream:
            stream.finish()
        else:
            for piece in generated_sentences(reply):
                verifier.add(piece)
        answer = verifier.answer()
        if not answer.citations:
            return {"answer": dataclasses.replace(
                fallback, warnings=fallback.warnings + answer.warnings + ["no sentence of the LLM answer could be verified against its sources; answered extractively"])}
        return {"answer": dataclasses.replace(answer, closest=fallback.closest)}

    @staticmethod
    def _cut_short(answer: Answer, fallback: Answer, exc: LLMUnavailable) -> Answer:
        """The verified sentences streamed before the LLM failed mid-answer, with a warning: the reader has
        already been sent them, so answering with the extractive fallback would contradict the stream."""
        warning = f"LLM failed mid-answer ({exc}); the answer ends at its last verified sentence"
        return dataclasses.replace(answer, closest=fallback.closest, warnings=answer.warnings + [warning])

    def _generate(self, question: str, passages: list[Passage], stream: SentenceStream | None = None) -> str:
        messages = self._builder.run(question=question, passages=passages)["prompt"]
        try:
            replies = self._generator.run(messages=messages, streaming_callback=stream)["replies"]
        except Exception as exc:  # connection refused, timeout, HTTP 5xx, malformed JSON: all the same to the reader
            logger.warning("LLM call failed: %s", exc)
            raise LLMUnavailable(type(exc).__name__) from exc
        text = replies[0].text if replies and replies[0].text else ""
        if not text.strip():
            raise LLMUnavailable("empty reply")
        return text
