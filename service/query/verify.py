"""The last gate before a response: every quote is re-read from the stored original.

An answerer builds citations from stored sentences, so they match by construction; this
check makes that a guarantee at the boundary rather than a property of today's code (the
stored original can be edited in place under an index). A citation whose quote is not
exactly ``raw_text[start:end]`` of its article is removed, with a warning; a sentence left
with no citation is unsupported and leaves the answer's text (it stays in ``sentences``
with its reason), and an answer with no verified sentence left abstains. A short answer is checked
the same way and removed, with a warning, if its text or its citation fails. The sources
listed beside the answer (:mod:`.sources`, built after this gate from the verified
citations) pass the same check through :func:`verified_sources` before they leave.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from haystack import component

from newsdesk.index.store import ReadStore

from ..domain import ABSTENTION, Answer, Citation, ShortAnswer, answer_text

__all__ = ["CitationVerifier", "quote_matches", "verified_sources"]


def quote_matches(store: ReadStore, article_id: str, start: int, end: int, quote: str) -> bool:
    """Whether ``quote`` is exactly the stored original's text at ``[start, end)`` (code points)."""
    article = store.article(article_id)
    return article is not None and 0 <= start < end <= len(article.raw_text) and article.raw_text[start:end] == quote


def verified_sources(store: ReadStore, answer: Answer) -> Answer:
    """``answer`` without the sources whose quote is not the original text at their offsets, a warning for each."""
    bad = [s for s in answer.sources if not quote_matches(store, s.article_id, s.start, s.end, s.quote)]
    if not bad:
        return answer
    return dataclasses.replace(answer, sources=[s for s in answer.sources if s not in bad], warnings=answer.warnings + [
        f"the quote of source {s.article_id!r} did not match its article's text and was removed" for s in bad])


@component
class CitationVerifier:
    """Drops any citation (and short answer) whose text is not the original text at its offsets, and the sentences
    that rested on it: what cannot be verified never reaches the reader."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store

    @component.output_types(answer=Answer)
    def run(self, answer: Answer) -> dict[str, Any]:
        bad = {c.n for c in answer.citations if not quote_matches(self.store, c.article_id, c.start, c.end, c.quote)}
        short = answer.short_answer
        if short is not None and not self._short_answer_holds(short, [c for c in answer.citations if c.n not in bad]):
            answer = dataclasses.replace(answer, short_answer=None, warnings=answer.warnings + [
                f"the short answer did not match its article's text inside citation [{short.n}] and was removed"])
        if not bad:
            return {"answer": answer}
        sentences = []
        for sentence in answer.sentences:
            kept = tuple(n for n in sentence.citations if n not in bad)
            if kept == sentence.citations:
                sentences.append(sentence)
            else:
                sentences.append(dataclasses.replace(sentence, citations=kept, supported=bool(kept) and sentence.supported,
                                                     reason=sentence.reason or "its citation did not match the source"))
        warnings = answer.warnings + [f"citation [{n}] did not match its article's text and was removed" for n in sorted(bad)]
        shown = [s for s in sentences if s.supported and s.citations]
        if not shown:  # nothing verified is left: abstain, as an answerer does, with the closest stories
            return {"answer": Answer(ABSTENTION, [], True, answer.mode, closest=answer.closest, evidence_score=answer.evidence_score,
                                     warnings=warnings + ["no sentence of the answer could be verified against its sources"])}
        return {"answer": dataclasses.replace(answer, answer=answer_text(shown), citations=[c for c in answer.citations if c.n not in bad],
                                              sentences=sentences, warnings=warnings)}

    def _short_answer_holds(self, short: ShortAnswer, citations: list[Citation]) -> bool:
        """It is the original text at its offsets, inside the sound citation it names."""
        return any(c.n == short.n and c.article_id == short.article_id and c.start <= short.start < short.end <= c.end
                   for c in citations) and quote_matches(self.store, short.article_id, short.start, short.end, short.text)
