"""Run the ingestion pipeline over files and folders, one committed batch at a time."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from haystack import Pipeline
from haystack.core.errors import PipelineRuntimeError
from tqdm import tqdm

from .errors import IndexError_
from .fetch import FetchOptions
from .options import IngestOptions
from .pipeline import EntityRecognizer, bind_store, build_ingest_pipeline
from .records import FieldWarning, RawArticle, Skipped
from .sources import count_inputs, read_sources
from .store import WriteStore


@dataclass(frozen=True)
class BatchCommitted:
    """One committed batch, for progress reports: its article ids and the run's totals so far."""

    ids: list[str]
    generation: int
    inputs_done: int  # articles read and inputs skipped so far
    inputs_total: int | None  # None when unknown (web sources)
    chunks_embedded: int
    seconds: float

    @property
    def chunks_per_second(self) -> float:
        return self.chunks_embedded / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        if not self.inputs_total or not self.inputs_done:
            return None
        return max(0.0, self.seconds * (self.inputs_total - self.inputs_done) / self.inputs_done)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[FieldWarning] = field(default_factory=list)  # indexed, less a field (e.g. a date that did not parse)
    chunks_embedded: int = 0
    chunks_reused: int = 0
    entities_backfilled: int = 0  # articles of a schema-1 index tagged by this run (see backfill_entities)
    generation: int = 0
    seconds: float = 0.0


def ingest(
    paths: Iterable[str | os.PathLike[str]],
    store: WriteStore,
    options: IngestOptions,
    *,
    progress: bool = True,
    on_commit: Callable[[BatchCommitted], None] | None = None,
    fetch: FetchOptions | None = None,
) -> IngestReport:
    """Index every article under ``paths``; bad inputs are reported in ``skipped``, never raised.

    Articles are committed in batches, each atomic: a batch closes at ``options.batch_articles``
    articles or ``options.batch_chars`` characters of text, whichever comes first, so the model
    always sees a few hundred chunks at once however long the articles are (fewer, fuller
    forward passes). ``on_commit`` is called after each commit; ``progress`` shows a bar
    (articles, chunks/s, ETA) on stderr. ``fetch`` governs URLs among ``paths``. The FAISS
    file is saved once at the end (and repaired from SQLite on the next open if the process dies first).
    """
    paths = list(paths)
    total = count_inputs(paths) if progress or on_commit else None
    return ingest_items(read_sources(paths, options.max_article_bytes, fetch), store, options,
                        total=total, progress=progress, on_commit=on_commit)


def _run(coroutine: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """The pipeline's ``run_async`` to completion, from synchronous code: in this thread, or in a thread of its own
    when an event loop already runs here (a notebook, Playwright's synchronous API), where ``asyncio.run`` refuses."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsdesk-ingest") as pool:
        return pool.submit(asyncio.run, coroutine).result()


def ingest_items(
    items: Iterable[RawArticle | Skipped],
    store: WriteStore,
    options: IngestOptions,
    *,
    total: int | None = None,
    progress: bool = False,
    on_commit: Callable[[BatchCommitted], None] | None = None,
    pipeline: Pipeline | None = None,
) -> IngestReport:
    """:func:`ingest` of articles already read (``index.sources`` readers' output, e.g. a body sent to
    the HTTP write API): the same batches, checks and report. ``total`` is how many ``items`` there
    are, when known. ``pipeline``: one built by :func:`build_ingest_pipeline` for an earlier writer
    and kept warm (its models stay loaded); it is bound to ``store`` here."""
    started = time.perf_counter()
    if pipeline is None:
        pipeline = build_ingest_pipeline(store, options)
    else:
        bind_store(pipeline, store)
    pipeline.warm_up()
    report = IngestReport(generation=store.generation)
    seen: dict[str, str] = {}
    batch: list[RawArticle] = []
    batch_size = 0
    done = 0  # inputs read or skipped (the bar counts them too, but only when it is shown)
    bar = tqdm(total=total, unit=" articles", desc="ingest", disable=not progress, dynamic_ncols=True)

    def flush() -> None:
        nonlocal batch_size, done
        if not batch:
            return
        try:
            result = _run(pipeline.run_async({"changes": {"articles": list(batch)}},
                                             include_outputs_from={"changes", "cleaner", "embedder", "writer"}))
        except PipelineRuntimeError as exc:
            if isinstance(exc.__cause__, IndexError_):  # the store failed (e.g. a full disk): raised as itself, not wrapped
                raise exc.__cause__
            raise
        replaced = set(result["changes"]["replaced"])
        report.unchanged += result["changes"]["unchanged"]
        report.skipped += result["cleaner"]["skipped"]
        written = result["writer"]["written"]
        report.added += [i for i in written if i not in replaced]
        report.replaced += [i for i in written if i in replaced]
        report.chunks_embedded += result["embedder"]["embedded"]
        report.chunks_reused += result["embedder"]["reused"]
        report.generation = result["writer"]["generation"]
        bar.update(len(batch))
        done += len(batch)
        elapsed = time.perf_counter() - started
        bar.set_postfix_str(f"{report.chunks_embedded / elapsed:.1f} chunks/s", refresh=False)
        if on_commit and written:
            on_commit(BatchCommitted(written, report.generation, done, total, report.chunks_embedded, elapsed))
        batch.clear()
        batch_size = 0

    try:
        for item in items:
            if isinstance(item, Skipped):
                report.skipped.append(item)
                bar.update(1)
                done += 1
                continue
            if item.id in seen:
                report.skipped.append(Skipped(item.source, f"duplicate article id {item.id!r} (also in {seen[item.id]})"))
                bar.update(1)
                done += 1
                continue
            seen[item.id] = item.source
            report.warnings += [FieldWarning(item.source, message) for message in item.warnings]
            batch.append(item)
            batch_size += len(item.raw_text)
            if len(batch) >= options.batch_articles or batch_size >= options.batch_chars:
                flush()
        flush()
        report.entities_backfilled = backfill_entities(store, pipeline.get_component("entities"), options.batch_articles)
    finally:
        bar.close()
    store.save_vectors()
    report.seconds = time.perf_counter() - started
    return report


def backfill_entities(store: WriteStore, recognizer: EntityRecognizer, batch_articles: int) -> int:
    """Tag the articles an index of schema version 1 stored without entities (migration 002 lists them),
    ``batch_articles`` per committed write, so that an old index gains short answers without a rebuild
    and a killed run resumes where it stopped. Returns how many were tagged (none on a current index)."""
    tagged = 0
    while ids := store.untagged_articles(batch_articles):
        # A listed article exists: its row in the list is deleted with it.
        articles = [(store.article(i).raw_text, store.sentences(i)) for i in ids]
        store.write_entities(dict(zip(ids, recognizer.entities_of(articles))))
        tagged += len(ids)
    return tagged
