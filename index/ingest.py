"""Run the ingestion pipeline over files and folders, one committed batch at a time."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tqdm import tqdm

from .pipeline import build_ingest_pipeline
from .records import RawArticle, Skipped
from .sources import read_sources
from .store import ArticleStore


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_reused: int = 0
    generation: int = 0
    seconds: float = 0.0


def ingest(
    paths: Iterable[str | os.PathLike[str]],
    store: ArticleStore,
    *,
    max_tokens: int = 192,
    overlap_tokens: int = 48,
    near_duplicate_threshold: float = 0.8,
    embed_batch_size: int = 32,
    batch_articles: int = 256,
    batch_chars: int = 200_000,
    max_article_bytes: int = 5 * 1024 * 1024,
    progress: bool = True,
    on_commit: Callable[[list[str], int], None] | None = None,
) -> IngestReport:
    """Index every article under ``paths``; bad inputs are reported in ``skipped``, never raised.

    Articles are committed in batches, each atomic: a batch closes at ``batch_articles``
    articles or ``batch_chars`` characters of text, whichever comes first, so the model
    always sees a few hundred chunks at once however long the articles are (fewer, fuller
    forward passes). ``on_commit(ids, generation)`` is
    called after each commit. The FAISS file is saved once at the end (and repaired from
    SQLite on the next open if the process dies first).
    """
    started = time.perf_counter()
    pipeline = build_ingest_pipeline(store, max_tokens=max_tokens, overlap_tokens=overlap_tokens,
                                     near_duplicate_threshold=near_duplicate_threshold, embed_batch_size=embed_batch_size)
    pipeline.warm_up()
    report = IngestReport(generation=store.generation)
    seen: dict[str, str] = {}
    batch: list[RawArticle] = []
    batch_size = 0
    bar = tqdm(unit=" articles", desc="ingest", disable=not progress, dynamic_ncols=True)

    def flush() -> None:
        nonlocal batch_size
        if not batch:
            return
        result = pipeline.run({"changes": {"articles": list(batch)}},
                              include_outputs_from={"changes", "cleaner", "embedder", "writer"})
        replaced = set(result["changes"]["replaced"])
        report.unchanged += result["changes"]["unchanged"]
        report.skipped += result["cleaner"]["skipped"]
        written = result["writer"]["written"]
        report.added += [i for i in written if i not in replaced]
        report.replaced += [i for i in written if i in replaced]
        report.chunks_embedded += result["embedder"]["embedded"]
        report.chunks_reused += result["embedder"]["reused"]
        report.generation = result["writer"]["generation"]
        if on_commit and written:
            on_commit(written, report.generation)
        bar.update(len(batch))
        batch.clear()
        batch_size = 0

    try:
        for item in read_sources(paths, max_article_bytes):
            if isinstance(item, Skipped):
                report.skipped.append(item)
                bar.update(1)
                continue
            if item.id in seen:
                report.skipped.append(Skipped(item.source, f"duplicate article id {item.id!r} (also in {seen[item.id]})"))
                bar.update(1)
                continue
            seen[item.id] = item.source
            batch.append(item)
            batch_size += len(item.raw_text)
            if len(batch) >= batch_articles or batch_size >= batch_chars:
                flush()
        flush()
    finally:
        bar.close()
    store.save_vectors()
    report.seconds = time.perf_counter() - started
    return report
