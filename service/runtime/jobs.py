"""Background writes: a large ``POST /articles`` body is indexed by a job, its progress kept in SQLite.

The job runs in the worker process that accepted it (one job at a time per process, on a daemon
thread, after any earlier ones); its state lives in ``jobs.sqlite3`` in the data folder so that
whichever worker answers ``GET /jobs/<id>`` sees it. A job whose worker died (its process id no
longer runs) is reported ``failed``; the batches it committed stay committed, so posting the same
body again finishes the work (what is already indexed is reported ``unchanged``). Finished jobs are
forgotten after :data:`KEEP_SECONDS`.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from newsdesk.index.ingest import BatchCommitted, IngestReport
from newsdesk.index.records import RawArticle, Skipped

from ..errors import ApiError
from ..metrics import INGEST_JOBS
from .writer import ArchiveWriter

__all__ = ["JOBS_DB", "KEEP_SECONDS", "Job", "JobRunner", "JobStore", "report_dict"]

logger = logging.getLogger(__name__)

JOBS_DB = "jobs.sqlite3"
KEEP_SECONDS = 7 * 86_400
ACTIVE = ("queued", "running")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs(
    id TEXT PRIMARY KEY,
    key_id TEXT,                  -- the API key that started it
    status TEXT NOT NULL,         -- queued, running, done, failed
    pid INTEGER NOT NULL,         -- the worker process running it
    created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT,
    inputs_done INTEGER NOT NULL DEFAULT 0,
    inputs_total INTEGER,
    articles_committed INTEGER NOT NULL DEFAULT 0,
    report TEXT,                  -- JSON: the ingest report, when done
    error TEXT
)
"""
_COLUMNS = "id, key_id, status, pid, created_at, started_at, finished_at, inputs_done, inputs_total, articles_committed, report, error"

Read = Callable[[], tuple[Iterable[RawArticle | Skipped], int | None]]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def report_dict(report: IngestReport) -> dict[str, Any]:
    """An ingest report as the write API returns it (the CLI prints the same facts)."""
    return {"added": report.added, "replaced": report.replaced, "unchanged": report.unchanged,
            "skipped": [{"source": s.source, "reason": s.reason} for s in report.skipped],
            "warnings": [{"source": w.source, "message": w.message} for w in report.warnings],
            "chunks_embedded": report.chunks_embedded, "chunks_reused": report.chunks_reused,
            "generation": report.generation, "seconds": round(report.seconds, 3)}


@dataclass(frozen=True)
class Job:
    id: str
    key_id: str | None
    status: str
    pid: int
    created_at: str
    started_at: str | None
    finished_at: str | None
    inputs_done: int
    inputs_total: int | None
    articles_committed: int
    report: dict[str, Any] | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        del body["pid"], body["key_id"]
        return body


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobStore:
    """The jobs of one data folder (see module doc); the file is created by the first job."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / JOBS_DB
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        connection.execute(_SCHEMA)
        return connection

    def create(self, key_id: str | None, inputs_total: int | None) -> Job:
        job_id = "job_" + secrets.token_hex(8)
        now = _now()
        forget = (datetime.now(timezone.utc) - timedelta(seconds=KEEP_SECONDS)).isoformat(timespec="seconds")
        with self._lock:
            connection = self._connect()
            try:
                connection.execute("DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?", (forget,))
                connection.execute("INSERT INTO jobs(id, key_id, status, pid, created_at, inputs_total) VALUES(?,?,?,?,?,?)",
                                   (job_id, key_id, "queued", os.getpid(), now, inputs_total))
            finally:
                connection.close()
        return self.get(job_id)  # type: ignore[return-value]

    def update(self, job_id: str, **fields: Any) -> None:
        if "report" in fields and fields["report"] is not None:
            fields["report"] = json.dumps(fields["report"])
        with self._lock:
            connection = self._connect()
            try:
                connection.execute(f"UPDATE jobs SET {', '.join(f'{k}=?' for k in fields)} WHERE id=?", [*fields.values(), job_id])
            finally:
                connection.close()

    def get(self, job_id: str) -> Job | None:
        """The job, or ``None``; one left queued or running by a process that has exited is reported failed."""
        if not self.path.exists():
            return None
        connection = self._connect()
        try:
            row = connection.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id=?", (job_id,)).fetchone()
        finally:
            connection.close()
        if row is None:
            return None
        values = list(row)
        values[10] = json.loads(values[10]) if values[10] else None
        job = Job(*values)
        if job.status in ACTIVE and job.pid != os.getpid() and not _alive(job.pid):
            error = ("the server process running this job exited before it finished; the batches it committed are indexed: "
                     "post the same body again to index the rest (what is indexed already is reported unchanged)")
            self.update(job.id, status="failed", finished_at=_now(), error=error)
            return self.get(job.id)
        return job


class JobRunner:
    """Runs this process's jobs one after another on a daemon thread (a dying worker does not wait for them)."""

    def __init__(self, jobs: JobStore, writer: ArchiveWriter) -> None:
        self.jobs = jobs
        self.writer = writer
        self._queue: queue.Queue[tuple[str, Read, Callable[[], None]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, key_id: str | None, inputs_total: int | None, read: Read, cleanup: Callable[[], None]) -> Job:
        """Queue a job: ``read()`` gives its articles (and how many, if known); ``cleanup()`` runs after it, whatever happened."""
        job = self.jobs.create(key_id, inputs_total)
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run_forever, name="newsdesk-jobs", daemon=True)
                self._thread.start()
        self._queue.put((job.id, read, cleanup))
        return job

    def _run_forever(self) -> None:
        while True:
            job_id, read, cleanup = self._queue.get()
            try:
                self._run(job_id, read)
            finally:
                try:
                    cleanup()
                except OSError:
                    logger.warning("job %s: could not remove its uploaded body", job_id)
                self._queue.task_done()

    def _run(self, job_id: str, read: Read) -> None:
        self.jobs.update(job_id, status="running", started_at=_now())
        committed = 0

        def progress(batch: BatchCommitted) -> None:
            nonlocal committed
            committed += len(batch.ids)
            self.jobs.update(job_id, inputs_done=batch.inputs_done, articles_committed=committed)

        try:
            items, total = read()
            if total is not None:
                self.jobs.update(job_id, inputs_total=total)
            report = self.writer.ingest(items, total=total, wait_seconds=None, on_commit=progress)
        except ApiError as exc:
            INGEST_JOBS.labels(outcome="failed").inc()
            self.jobs.update(job_id, status="failed", finished_at=_now(), error=exc.message)
        except Exception:  # the job's own failure: recorded for its poller (details only in the log), the worker carries on
            logger.exception("job %s failed", job_id)
            INGEST_JOBS.labels(outcome="failed").inc()
            self.jobs.update(job_id, status="failed", finished_at=_now(),
                             error="indexing failed unexpectedly (the server log says why); batches committed before it stay indexed")
        else:
            INGEST_JOBS.labels(outcome="succeeded").inc()
            done = len(report.added) + len(report.replaced) + len(report.unchanged) + len(report.skipped)
            self.jobs.update(job_id, status="done", finished_at=_now(), inputs_done=done, report=report_dict(report))

    def wait(self) -> None:
        """Block until every queued job has finished (tests)."""
        self._queue.join()
