"""The embedding model as ONNX Runtime runs it: the same vectors as sentence-transformers in torch float32,
int8 close to them, batching and padding invisible in the result, and late-chunked sentence vectors."""

from __future__ import annotations

import numpy as np
import pytest

from newsdesk.index.embed import MODEL_NAME, Embedder, embed_key, model_identity, precision_of
from newsdesk.index.onnx_model import weights_dir
from tests.conftest import DEFAULTS, SEEDS

TEXTS = [
    "Kremlin welcomes talks",
    "Biden and Putin spoke by phone for 50 minutes on Thursday about the troop build-up near Ukraine's border.",
    "Ein Satz auf Deutsch, mit Umlauten: Grüße aus Köln.",
    "東京で記者会見が開かれた。",
    (SEEDS / "001_cbb8ff9536446ca1.txt").read_text(encoding="utf-8"),  # longer than the model's 256 word pieces: cut
]


def _embedder(precision: str) -> Embedder:
    return Embedder(precision=precision, cache_dir=DEFAULTS.model_cache_dir.expanduser())


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """sentence-transformers' own vectors of TEXTS: the raw float32 model in torch."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(weights_dir()), device="cpu", local_files_only=True)
    return model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)


def test_fp32_reproduces_sentence_transformers(reference: np.ndarray) -> None:
    vectors = _embedder("fp32").embed(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert (vectors * reference).sum(axis=1).min() > 0.9999


@pytest.mark.parametrize("precision", ["int8", "int8-attention"])
def test_int8_stays_close_to_fp32(reference: np.ndarray, precision: str) -> None:
    vectors = _embedder(precision).embed(TEXTS)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() > 0.96, cosines
    # and ranks alike: each text's nearest reference vector is its own
    assert list((vectors @ reference.T).argmax(axis=1)) == list(range(len(TEXTS)))


def test_the_int8_precisions_are_different_models() -> None:
    assert not np.array_equal(_embedder("int8").embed(TEXTS[:2]), _embedder("int8-attention").embed(TEXTS[:2]))
    assert precision_of(model_identity("int8-attention")) == "int8-attention" != precision_of(model_identity("int8"))


@pytest.mark.parametrize("precision", ["int8", "int8-attention", "fp32"])
def test_a_text_gets_the_same_vector_whatever_it_is_embedded_with(precision: str) -> None:
    """int8 scales each run's activations together: batched texts would move each other's vectors."""
    embedder = _embedder(precision)
    together = embedder.embed(TEXTS)
    alone = np.stack([embedder.embed([text])[0] for text in TEXTS])
    reversed_ = embedder.embed(TEXTS[::-1])[::-1]
    assert np.array_equal(together, alone) and np.array_equal(together, reversed_)


def test_concurrent_one_thread_runs_give_the_same_vectors_in_order() -> None:
    """Ingest runs a text per core on one thread each: the vectors must be those of a two-thread pass, bit for bit
    (an index mixes vectors of both: ingest's and a server's), whatever order the runs finish in."""
    cache = DEFAULTS.model_cache_dir.expanduser()
    texts = TEXTS * 3
    expected = Embedder(precision="int8", cache_dir=cache, threads=2).embed(texts)
    embedder = Embedder(precision="int8", cache_dir=cache, threads=1, runs=3, background=True)
    assert np.array_equal(embedder.embed(texts), expected)
    spans = [[(0, len(text))] for text in texts]
    passages, sentences = embedder.embed_passages(texts, spans)
    assert np.array_equal(passages, expected) and len(sentences) == len(texts)


def test_a_background_embedder_runs_at_a_lower_priority_and_never_spins() -> None:
    import os
    import threading

    embedder = Embedder(precision="int8", cache_dir=DEFAULTS.model_cache_dir.expanduser(), threads=1, runs=2, background=True)
    embedder.warm_up()
    assert embedder._session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    in_pool = embedder._pool.submit(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())).result()
    assert in_pool == min(own + 5, 19)  # (19: the lowest priority there is) the calling thread (the pipeline's, a server's) keeps its own
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own
    with pytest.raises(ValueError, match="runs"):
        Embedder(precision="int8", cache_dir=DEFAULTS.model_cache_dir.expanduser(), runs=0)


def test_sentence_vectors_come_from_the_passage_and_keep_their_order(embedder: Embedder) -> None:
    text = "Talks resumed in Geneva. The ministers met for two hours. Nothing was agreed."
    spans = [(0, 24), (25, 57), (58, len(text))]
    passages, sentences = embedder.embed_passages([text, TEXTS[0]], [spans, [(0, 8)]])
    assert passages.shape == (2, 384) and [s.shape for s in sentences] == [(3, 384), (1, 384)]
    assert np.abs(passages[0] - embedder.embed([text])[0]).max() < 1e-4
    alone = embedder.embed([text[a:b] for a, b in spans])
    assert list((sentences[0] @ alone.T).argmax(axis=1)) == [0, 1, 2]  # late-chunked, yet each nearest its own sentence
    assert np.allclose(np.linalg.norm(sentences[0], axis=1), 1, atol=1e-5)


def test_a_sentence_past_the_input_limit_is_embedded_alone(embedder: Embedder) -> None:
    long = " ".join(["word"] * 400) + " The last sentence is about elections."
    tail = (long.index("The last"), len(long))
    _, sentences = embedder.embed_passages([long], [[tail]])
    assert np.abs(sentences[0][0] - embedder.embed([long[tail[0]:]])[0]).max() < 1e-4


def test_empty_input_gives_no_rows(embedder: Embedder) -> None:
    assert embedder.embed([]).shape == (0, 384)
    passages, sentences = embedder.embed_passages([], [])
    assert passages.shape == (0, 384) and sentences == []


def test_identities_keep_fp32_indexes_compatible_and_never_mix_precisions() -> None:
    assert model_identity("fp32") == MODEL_NAME  # what indexes built before precisions recorded
    assert model_identity("int8") != MODEL_NAME and precision_of(model_identity("int8")) == "int8"
    assert embed_key(model_identity("int8"), "x") != embed_key(model_identity("fp32"), "x")
    with pytest.raises(ValueError):
        precision_of("some/other-model")
    with pytest.raises(ValueError):
        model_identity("int4")


def test_the_thread_count_reaches_the_session() -> None:
    embedder = Embedder(precision="int8", cache_dir=DEFAULTS.model_cache_dir.expanduser(), threads=1)
    embedder.warm_up()
    assert embedder._session.get_session_options().intra_op_num_threads == 1


def test_a_question_asked_again_reuses_its_vector() -> None:
    embedder = _embedder("int8")
    first = embedder.embed_query("When will the Zorvan bridge reopen?")
    hits = embedder.embed_query.cache_info().hits
    again = embedder.embed_query("When will the Zorvan bridge reopen?")
    assert again is first and embedder.embed_query.cache_info().hits == hits + 1
    assert np.allclose(first, embedder.embed(["When will the Zorvan bridge reopen?"])[0])
    with pytest.raises(ValueError):  # shared between requests: nobody may change it in place
        first[0] = 0.0
