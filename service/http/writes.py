"""The process's write side for the HTTP API: one :class:`ArchiveWriter` (so the writes of all its
threads queue on one lock), the jobs file and the job runner; built on the first write, never at startup."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import current_app

from ..runtime.jobs import JobRunner, JobStore
from ..runtime.writer import ArchiveWriter
from .context import get_engine

__all__ = ["WRITES_EXTENSION", "Writes", "get_writes"]

WRITES_EXTENSION = "newsdesk.writes"
_build_lock = threading.Lock()


@dataclass(frozen=True)
class Writes:
    writer: ArchiveWriter
    jobs: JobStore
    runner: JobRunner


def get_writes() -> Writes:
    writes = current_app.extensions.get(WRITES_EXTENSION)
    if writes is None:
        with _build_lock:
            writes = current_app.extensions.get(WRITES_EXTENSION)
            if writes is None:
                settings = get_engine().settings
                writer = ArchiveWriter(settings)
                jobs = JobStore(settings.data_dir)
                writes = Writes(writer, jobs, JobRunner(jobs, writer))
                current_app.extensions[WRITES_EXTENSION] = writes
    return writes
