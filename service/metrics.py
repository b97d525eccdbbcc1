"""The service's Prometheus metrics, and their exposition for ``GET /metrics`` (names: docs/api.md, Operations).

Under gunicorn a scrape reaches one worker of several, so the workers share their samples
through files (prometheus-client's multiprocess mode): :func:`use_multiprocess_dir` runs in
the gunicorn master before the workers fork, and :func:`exposition` then adds up every
worker's files. Without it (tests, one process) the samples live in memory. Index size is
read from the index itself at scrape time, so every worker reports the same figures.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from newsdesk.index.store import IndexCounts

from .errors import IndexUnavailable

__all__ = ["ANSWERS", "CONTENT_TYPE", "INGEST_JOBS", "MULTIPROC_ENV", "REQUESTS", "REQUEST_SECONDS", "exposition",
           "use_multiprocess_dir"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Every metric has labels: a labelled metric stores nothing until its first .labels(), which is
# always after use_multiprocess_dir, so no sample is ever kept in the wrong (in-memory) place.
REQUESTS = Counter("newsdesk_http_requests_total", "HTTP requests answered, by route rule (not raw path) and status.",
                   ["method", "endpoint", "status"])
REQUEST_SECONDS = Histogram("newsdesk_http_request_duration_seconds",
                            "Seconds from a request's arrival to its response's last byte (a stream's end included).",
                            ["method", "endpoint", "status"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
ANSWERS = Counter("newsdesk_answers_total", "Questions answered or abstained (outcome), by mode (extractive, llm).",
                  ["mode", "outcome"])
# For the write API: INGEST_JOBS.labels(outcome="succeeded").inc() when a job ends (or outcome="failed").
INGEST_JOBS = Counter("newsdesk_ingest_jobs_total", "Ingest jobs run through the write API, by outcome (succeeded, failed).",
                      ["outcome"])


def use_multiprocess_dir(directory: Path) -> None:
    """Share samples between processes forked after this call, through files in ``directory`` (emptied first).

    prometheus-client picks its storage from ``PROMETHEUS_MULTIPROC_DIR`` when first imported,
    which in ``newsdesk serve`` is before gunicorn starts; so the choice is made again here.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):  # a previous run's counts must not be added to this one's
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(directory)
    values.ValueClass = values.get_value_class()


class _IndexCollector:
    """Index size and generation, read when scraped (absent while there is no index)."""

    def __init__(self, counts: Callable[[], IndexCounts]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        try:
            counts = self._counts()
        except IndexUnavailable:
            return
        yield GaugeMetricFamily("newsdesk_index_articles", "Articles in the index.", value=counts.articles)
        yield GaugeMetricFamily("newsdesk_index_chunks", "Passages (chunks) in the index.", value=counts.chunks)
        yield GaugeMetricFamily("newsdesk_index_generation", "The index's last committed write (bumped by every ingest).",
                                value=counts.generation)


def exposition(index_counts: Callable[[], IndexCounts]) -> bytes:
    """Every metric, in the Prometheus text format: all workers' samples (or this process's), and the index's size."""
    registry = CollectorRegistry()
    if MULTIPROC_ENV in os.environ:
        MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    registry.register(_IndexCollector(index_counts))
    return generate_latest(registry)
