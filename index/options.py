"""What an ingest is told: chunk sizes, near-duplicate threshold, batch sizes (model and commit).

No defaults here: every value comes from ``newsdesk.service.config.Settings``
(``Settings.ingest_options()``), the one place defaults live.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["IngestOptions"]


@dataclass(frozen=True)
class IngestOptions:
    max_tokens: int  # largest chunk, in cl100k_base tokens
    overlap_tokens: int  # whole sentences up to this many tokens repeat at the next chunk's start
    near_duplicate_threshold: float  # estimated Jaccard similarity that makes two articles one story
    model_cache_dir: Path  # where the embedding model's ONNX files are built (index.onnx_model)
    ner_batch_size: int  # sentences per spaCy batch when tagging entities
    embed_runs: int  # texts the embedding model runs at once, one thread each
    batch_articles: int  # most articles per committed write
    batch_chars: int  # most characters of text per committed write
    max_article_bytes: int  # larger articles are skipped with a reason
    ray_address: str  # a Ray cluster's head (host:port) that embeds the passages (index.ray_embed); empty: this process
