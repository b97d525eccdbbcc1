"""The last gate before a response: every quote is re-read from the stored original.

An answerer builds citations from stored sentences, so they match by construction; this
check makes that a guarantee at the boundary rather than a property of today's code. A
citation whose quote is not exactly ``raw_text[start:end]`` of its article is removed,
the sentences that leaned on it lose it, and a warning says so.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from haystack import component

from newsdesk.index.store import ArticleStore

from .answer import Answer


def quote_matches(store: ArticleStore, article_id: str, start: int, end: int, quote: str) -> bool:
    article = store.article(article_id)
    return article is not None and 0 <= start < end <= len(article["raw_text"]) and article["raw_text"][start:end] == quote


@component
class CitationVerifier:
    """Drops any citation whose quote is not the original text at its offsets."""

    def __init__(self, store: ArticleStore) -> None:
        self.store = store

    @component.output_types(answer=Answer)
    def run(self, answer: Answer) -> dict[str, Any]:
        bad = {c.n for c in answer.citations if not quote_matches(self.store, c.article_id, c.start, c.end, c.quote)}
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
        return {"answer": dataclasses.replace(answer, citations=[c for c in answer.citations if c.n not in bad],
                                              sentences=sentences, warnings=warnings)}
