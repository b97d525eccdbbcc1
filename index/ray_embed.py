"""Embedding at ingest fanned out over a Ray cluster (``newsdesk ingest --ray ADDRESS``), as Ray Data tasks.

Everything else in an ingest runs where it was started and commits through the one writer (the
PostgreSQL primary, or the SQLite file); only the model runs, the heavy part, move: each batch of
passages becomes a Ray Data dataset whose blocks are embedded by tasks spread over the cluster's
nodes. Each Ray worker process loads the model once and keeps it for the tasks that follow (the
same int8 ONNX model as a local ingest, one thread per task: a task per core). A text's vector never
depends on the texts it is embedded with (:class:`~.embed.Embedder`), so an ingest on Ray stores the
same vectors as one in a single process. Every node needs Newsdesk installed, as the driver has it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from .embed import DIM, Embedder, model_identity
from .errors import ClusterUnavailable

__all__ = ["RayEmbedder"]

TEXTS_PER_TASK = 16  # passages a Ray task embeds: small enough to share a batch among nodes, large enough to pay its scheduling

_LOADED: dict[tuple[str, str], Embedder] = {}  # in a Ray worker process: the model, loaded by its first task


def _embed_block(batch: dict[str, np.ndarray], precision: str, cache_dir: str) -> dict[str, np.ndarray]:
    """A Ray Data task: the passages of one block, embedded where the task runs."""
    embedder = _LOADED.get((precision, cache_dir))
    if embedder is None:
        embedder = _LOADED[(precision, cache_dir)] = Embedder(precision=precision, cache_dir=Path(cache_dir), threads=1)
    spans = [[tuple(s) for s in json.loads(item)] for item in batch["spans"]]
    passages, sentences = embedder.embed_passages([str(t) for t in batch["text"]], spans)
    import ray

    node = ray.get_runtime_context().get_node_id()
    return {"i": batch["i"], "passage": passages, "sentences": np.array([s.tobytes() for s in sentences], dtype=object),
            "node": np.array([node] * len(passages), dtype=object)}


class RayEmbedder:
    """:meth:`~.embed.Embedder.embed_passages` on a Ray cluster at ``address`` (``host:port`` of its head)."""

    dim = DIM

    def __init__(self, address: str, precision: str, cache_dir: Path) -> None:
        self.address = address
        self.precision = precision
        self.model_name = model_identity(precision)
        self.cache_dir = Path(cache_dir)
        self.nodes: set[str] = set()  # the Ray nodes that have embedded for this process

    def warm_up(self) -> None:
        """Join the cluster (once per process)."""
        try:
            import ray
        except ImportError as exc:
            raise ClusterUnavailable("embedding on Ray needs Ray: pip install 'newsdesk[ray]'") from exc
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, logging_level=logging.WARNING, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ClusterUnavailable(f"no Ray cluster answers at {self.address}: {exc}") from exc
            ray.data.DataContext.get_current().enable_progress_bars = False

    def embed_passages(self, texts: list[str], sentence_spans: list[list[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and in-context sentence vectors, as the local embedder's, computed by the cluster."""
        if not texts:
            return np.empty((0, self.dim), np.float32), []
        import ray

        self.warm_up()
        items: list[dict[str, Any]] = [{"i": i, "text": t, "spans": json.dumps(s)} for i, (t, s) in enumerate(zip(texts, sentence_spans))]
        blocks = max(1, -(-len(items) // TEXTS_PER_TASK))
        dataset = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
            _embed_block, fn_kwargs={"precision": self.precision, "cache_dir": str(self.cache_dir)},
            batch_size=None, batch_format="numpy", num_cpus=1)
        passages = np.zeros((len(texts), self.dim), dtype=np.float32)
        sentences: list[np.ndarray] = [np.empty((0, self.dim), np.float32)] * len(texts)
        try:
            for row in dataset.iter_rows():
                i = int(row["i"])
                passages[i] = row["passage"]
                sentences[i] = np.frombuffer(row["sentences"], dtype=np.float32).reshape(-1, self.dim).copy()
                self.nodes.add(str(row["node"]))
        except ray.exceptions.RayError as exc:
            raise ClusterUnavailable(f"embedding on the Ray cluster at {self.address} failed: {str(exc).splitlines()[0]}") from exc
        return passages, sentences
