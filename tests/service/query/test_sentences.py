"""passage_sentences: a passage's own sentences, each with the vector stored for it at ingest."""

from __future__ import annotations

import numpy as np

from newsdesk.index.store import ReadStore
from newsdesk.service.query.sentences import passage_sentences


def test_every_passage_pairs_its_sentences_with_their_vectors(seed_store: ReadStore) -> None:
    for article_id in seed_store.article_ids():
        article = seed_store.article(article_id)
        sentences = seed_store.sentences(article_id)
        for stored in seed_store.passages_of(article_id):
            pairs = passage_sentences(seed_store, stored)
            assert [s.seq for s, _ in pairs] == list(range(stored.first_sentence, stored.last_sentence + 1))
            assert all(article.raw_text[s.start:s.end] == s.text and stored.start <= s.start < s.end <= stored.end for s, _ in pairs)
            assert all(v.shape == (384,) and abs(float(np.linalg.norm(v)) - 1.0) < 1e-3 for _, v in pairs)
            given = passage_sentences(seed_store, stored, sentences)  # the caller's copy of the sentences gives the same
            assert len(given) == len(pairs) and all(a[0] == b[0] and np.array_equal(a[1], b[1]) for a, b in zip(given, pairs))


def test_sentence_vectors_are_in_context_not_a_copy_of_the_passage_vector(seed_store: ReadStore) -> None:
    stored = next(p for a in seed_store.article_ids() for p in seed_store.passages_of(a) if p.last_sentence > p.first_sentence)
    vectors = [v for _, v in passage_sentences(seed_store, stored)]
    assert not np.allclose(vectors[0], vectors[1])
