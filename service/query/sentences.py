"""A retrieved passage's sentences, each with its in-context vector (computed at ingest).

The extractive answerer scores them, the LLM verifier matches generated claims against
them, the source lister picks a story's best one: one place pairs a passage's slice of
its article's sentences with the vectors stored for that passage.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from newsdesk.index.records import Sentence, StoredPassage
from newsdesk.index.store import ReadStore

__all__ = ["passage_sentences"]


def passage_sentences(store: ReadStore, passage: StoredPassage,
                      article_sentences: Sequence[Sentence] | None = None) -> list[tuple[Sentence, np.ndarray]]:
    """``(sentence, vector)`` for each sentence of ``passage``, in order; ``article_sentences``: its article's
    sentences when the caller has already read them."""
    sentences = store.sentences(passage.article_id) if article_sentences is None else article_sentences
    return list(zip(sentences[passage.first_sentence:passage.last_sentence + 1], store.sentence_vectors(passage.rowid)))
