"""RealTime QA as a development benchmark: does Newsdesk answer this week's news questions?

    REPO=/work/.mirror/realtimeqa+realtimeqa_public/repo   # the fetched repository (bare git dir or a checkout)
    nice -n 10 .venv/bin/python bench/realtimeqa.py --repo $REPO --blocks 1 --limit 12   # quick check
    nohup nice -n 10 .venv/bin/python bench/realtimeqa.py --repo $REPO --weeks 20 --block-weeks 4 \\
        > /work/rtqa/full.log 2>&1 &                # full run: 5 blocks, ~600 questions

Building a block's index (``newsdesk ingest``, ~10,000 passages) takes 10 to 25 minutes on
two shared cores and dominates the run; indexes are kept and reused. To build several at
once, run ``--ingest-only --dates W1,W2,W3,W4`` per block in other processes: the full run
waits for a block another run is building (a lock file in the block's folder).

RealTime QA (https://github.com/realtimeqa/realtimeqa_public) publishes, each week, news
quiz questions with four choices and, per question, the articles a web search returned
for it (``YYYYMMDD_qa.jsonl`` and ``YYYYMMDD_gcs.jsonl``). The repository carries no
licence: nothing from it is copied into this repository. Archives, built indexes and
per-question details live under ``--work`` (default ``/work/rtqa/work``); only figures
(counts, rates, week dates) are written to ``bench/results/realtimeqa.json``.

What is measured, per block of ``--block-weeks`` consecutive weeks (one archive made of
every search-result article of those weeks, deduplicated by URL):

* **Newsdesk, answerable**: every question is sent to ``POST /ask`` of a real
  ``newsdesk serve`` over the block's archive. *Correct* means the reply did not abstain
  and the correct choice's text occurs in ``answer`` (or ``short_answer.text``, when the
  reply has one), case-insensitively, whitespace collapsed, as whole words, with and
  without punctuation; *exclusive* additionally requires that no other choice occurs.
  A second pass sends ``as_of`` (the question's date) when the server accepts that field;
  a server that refuses it (422) is recorded as ``as_of: unsupported``.
* **Newsdesk, unanswerable**: the block's questions are split into ``K`` groups; for each
  group a copy of the index has every article retrieved *for those questions* deleted
  (``newsdesk delete``) and the group is asked again. The figure is the share abstained.
  Other articles of the block may still state the answer (another question's search hit,
  a wire copy under another URL): ``residual ceiling`` gives that share, so an answer
  there is not necessarily wrong.
* **BM25 baseline**: a plain Haystack ``InMemoryDocumentStore`` + ``InMemoryBM25Retriever``
  over the same articles cut into 200-word passages; correct means the correct choice
  occurs in the top-1 passage (top-5 also reported). A passage of 200 words is a far
  easier target than a one- or two-sentence answer, so this is an upper-bound-ish
  retrieval baseline, not an answerer.
* **Ceilings**: the share of questions whose correct choice occurs anywhere in the
  block archive, and anywhere in the question's own search results.

Only the stable outside interfaces are used: the ``newsdesk`` command (``ingest``,
``delete``, ``serve``) and HTTP on loopback. Built indexes are reused on re-runs (a block
whose archive is unchanged and whose ingest completed is not ingested again).

Data rule: only weeks dated in 2022 and from 2023-07-01 to 2024-12-31 are development
weeks. 2023-01-01..2023-06-30 and everything from 2025 on are held out for acceptance
testing; the script refuses them (``HeldOutWeekError``) and never reads their content.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
NEWSDESK = ROOT / ".venv" / "bin" / "newsdesk"
RESULTS = ROOT / "bench" / "results" / "realtimeqa.json"
DEFAULT_WORK = Path("/work/rtqa/work")

# Development weeks only. Everything else is held out for acceptance testing.
ALLOWED_RANGES: tuple[tuple[dt.date, dt.date], ...] = (
    (dt.date(2022, 1, 1), dt.date(2022, 12, 31)),
    (dt.date(2023, 7, 1), dt.date(2024, 12, 31)),
)
WEEK_FILE = re.compile(r"^past/(\d{4})/(\d{8})_(qa|gcs)\.jsonl$")
BM25_PASSAGE_WORDS = 200
READY_TIMEOUT_S = 300.0
START_ATTEMPTS = 4
INGEST_LOCK_WAITS = 120  # 30 s each
START_RETRY_PAUSE_S = 90.0
REQUEST_TIMEOUT_S = 120.0
ANSWER_SNIPPET_CHARS = 300


class HeldOutWeekError(ValueError):
    """A week outside the development ranges was asked for."""


class IndexNotReady(RuntimeError):
    """``/readyz`` answered 503 ``index_unavailable`` (e.g. an index to migrate with ``newsdesk ingest``)."""


class ServerFailed(RuntimeError):
    """``newsdesk serve`` exited, or ``/readyz`` kept failing with a server error."""


def check_allowed(week: dt.date) -> dt.date:
    """Return ``week`` if it is a development week; raise :class:`HeldOutWeekError` otherwise."""
    if any(start <= week <= end for start, end in ALLOWED_RANGES):
        return week
    ranges = ", ".join(f"{a.isoformat()}..{b.isoformat()}" for a, b in ALLOWED_RANGES)
    raise HeldOutWeekError(f"week {week.isoformat()} is held out for acceptance testing; "
                           f"only weeks in {ranges} may be used for development")


def parse_week(text: str) -> dt.date:
    """``20220805`` or ``2022-08-05`` as a date."""
    digits = text.replace("-", "").strip()
    if not re.fullmatch(r"\d{8}", digits):
        raise argparse.ArgumentTypeError(f"not a week date (YYYYMMDD): {text!r}")
    return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))


# ---------------------------------------------------------------------------------------
# The RealTime QA repository: a bare git dir (``fetch``) or a checkout
# ---------------------------------------------------------------------------------------
class RtqaRepo:
    """Read ``past/YYYY/YYYYMMDD_{qa,gcs}.jsonl`` from a bare git dir or a work tree."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bare = not (path / "past").is_dir()
        if self.bare and subprocess.run(["git", "--git-dir", str(path), "rev-parse", "HEAD"],
                                        capture_output=True).returncode != 0:
            raise SystemExit(f"--repo {path}: neither a checkout with past/ nor a git directory")

    def week_names(self) -> dict[dt.date, set[str]]:
        """Every week that has files, mapped to its kinds (``qa``, ``gcs``). Names only, no content."""
        if self.bare:
            out = subprocess.run(["git", "--git-dir", str(self.path), "ls-tree", "-r", "--name-only", "HEAD", "past/"],
                                 capture_output=True, text=True, check=True).stdout.splitlines()
        else:
            out = [p.relative_to(self.path).as_posix() for p in (self.path / "past").glob("*/*.jsonl")]
        weeks: dict[dt.date, set[str]] = {}
        for name in out:
            m = WEEK_FILE.match(name)
            if m:
                weeks.setdefault(parse_week(m.group(2)), set()).add(m.group(3))
        return weeks

    def read(self, week: dt.date, kind: str) -> list[dict[str, Any]]:
        """The records of one week's ``kind`` file; refuses held-out weeks before touching them."""
        check_allowed(week)
        rel = f"past/{week.year}/{week.strftime('%Y%m%d')}_{kind}.jsonl"
        if self.bare:
            text = subprocess.run(["git", "--git-dir", str(self.path), "show", f"HEAD:{rel}"],
                                  capture_output=True, text=True, check=True).stdout
        else:
            text = (self.path / rel).read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def development_weeks(repo: RtqaRepo) -> list[dt.date]:
    """Weeks with both a ``_qa`` and a ``_gcs`` file, inside the development ranges."""
    weeks = repo.week_names()
    return sorted(w for w, kinds in weeks.items() if {"qa", "gcs"} <= kinds
                  and any(a <= w <= b for a, b in ALLOWED_RANGES))


def select_blocks(pool: list[dt.date], n_weeks: int, block_weeks: int, dates: list[dt.date] | None) -> list[list[dt.date]]:
    """Blocks of consecutive development weeks.

    With ``dates``: those weeks (each checked), sorted, cut into blocks in order. Otherwise
    each allowed range is cut into runs of ``block_weeks`` consecutive available weeks and
    ``n_weeks // block_weeks`` runs are taken evenly spaced over the whole period.
    """
    if dates:
        for week in dates:
            check_allowed(week)
        missing = [w for w in dates if w not in pool]
        if missing:
            raise SystemExit(f"no qa+gcs files for week(s): {', '.join(w.isoformat() for w in missing)}")
        ordered = sorted(set(dates))
        return [ordered[i:i + block_weeks] for i in range(0, len(ordered), block_weeks)]
    candidates: list[list[dt.date]] = []
    for start, end in ALLOWED_RANGES:
        weeks = [w for w in pool if start <= w <= end]
        candidates += [weeks[i:i + block_weeks] for i in range(0, len(weeks) - block_weeks + 1, block_weeks)]
    n_blocks = max(1, n_weeks // block_weeks)
    if n_blocks > len(candidates):
        raise SystemExit(f"only {len(candidates)} blocks of {block_weeks} weeks are available; asked for {n_blocks}")
    if n_blocks == 1:
        return [candidates[0]]
    picks = sorted({round(i * (len(candidates) - 1) / (n_blocks - 1)) for i in range(n_blocks)})
    return [candidates[i] for i in picks]


# ---------------------------------------------------------------------------------------
# Blocks: questions and their archive
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    """One multiple-choice question and the ids of the articles searched for it."""

    qid: str
    week: str
    date: str | None  # ISO date the question was asked
    sentence: str
    choices: tuple[str, ...]
    correct: str
    article_ids: tuple[str, ...]


@dataclass
class Block:
    """Consecutive weeks sharing one archive."""

    name: str
    weeks: list[dt.date]
    root: Path  # the block's folder: archive, index (data/), logs
    questions: list[Question] = field(default_factory=list)
    articles: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> ingest record

    @property
    def dir(self) -> Path:
        return self.root


def article_id(url: str) -> str:
    """A short id safe for ``newsdesk`` (no slashes, no control characters)."""
    return "rtqa-" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]


def iso_date(value: Any) -> str | None:
    """``2022/05/23``, ``2022-05-23`` (optionally with a time) as ``2022-05-23``; else ``None``."""
    if not isinstance(value, str):
        return None
    m = re.match(r"^\s*(\d{4})[/-](\d{1,2})[/-](\d{1,2})", value)
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return None


def publisher_of(url: str) -> str | None:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.") or None


def block_name(weeks: list[dt.date]) -> str:
    return f"b{weeks[0].strftime('%Y%m%d')}-{weeks[-1].strftime('%Y%m%d')}"


def load_block(repo: RtqaRepo, weeks: list[dt.date], work: Path) -> Block:
    """Read the weeks' questions and search results; one deduplicated archive for the block."""
    name = block_name(weeks)
    block = Block(name, weeks, work / "blocks" / name)
    for week in weeks:
        results = {r["question_id"]: r.get("search_result") or [] for r in repo.read(week, "gcs")}
        for q in repo.read(week, "qa"):
            ids: list[str] = []
            for hit in results.get(q["question_id"], []):
                url = (hit.get("url") or "").strip()
                text = hit.get("text") or ""
                if not text.strip():
                    continue
                key = url or "text:" + hashlib.sha1(text.encode("utf-8")).hexdigest()
                aid = article_id(key)
                if aid not in block.articles:
                    record: dict[str, Any] = {"id": aid, "title": (hit.get("title") or "").strip() or None,
                                              "url": url or None, "publisher": publisher_of(url) if url else None,
                                              "text": text}
                    published = iso_date(hit.get("publish_date"))
                    if published:
                        record["published_at"] = published
                    block.articles[aid] = record
                if aid not in ids:
                    ids.append(aid)
            choices = tuple(str(c) for c in q["choices"])
            answer = q["answer"][0] if q.get("answer") else None
            if answer is None or not str(answer).isdigit() or int(answer) >= len(choices):
                continue  # no usable gold answer
            block.questions.append(Question(q["question_id"], week.isoformat(), iso_date(q.get("question_date")),
                                            q["question_sentence"], choices, choices[int(answer)], tuple(ids)))
    return block


def write_archive(block: Block) -> tuple[Path, str]:
    """The block's JSON Lines export (written only if changed) and its sha256."""
    block.dir.mkdir(parents=True, exist_ok=True)
    path = block.dir / "archive.jsonl"
    data = "".join(json.dumps(block.articles[aid], ensure_ascii=False) + "\n" for aid in sorted(block.articles)).encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
        path.write_bytes(data)
    return path, digest


# ---------------------------------------------------------------------------------------
# The newsdesk command and server
# ---------------------------------------------------------------------------------------
def child_env(data_dir: Path, port: int | None = None) -> dict[str, str]:
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1",
           "HAYSTACK_TELEMETRY_ENABLED": "False"}
    if port is not None:
        env.update({"NEWSDESK_HOST": "127.0.0.1", "NEWSDESK_PORT": str(port), "NEWSDESK_WORKERS": "1"})
    return env


def run_newsdesk(args: list[str], data_dir: Path, log: Path) -> tuple[int, str, str, float]:
    """Run ``newsdesk ARGS`` in its own process group; killed with it on any exception."""
    started = time.monotonic()
    proc = subprocess.Popen([str(NEWSDESK), *args], env=child_env(data_dir), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate()
    except BaseException:
        stop_group(proc)
        raise
    seconds = time.monotonic() - started
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ newsdesk {' '.join(args[:8])}{' ...' if len(args) > 8 else ''}  (exit {proc.returncode}, {seconds:.1f}s)\n{out}{err}\n")
    return proc.returncode, out, err, seconds


def stop_group(proc: subprocess.Popen[Any], grace: float = 20.0) -> None:
    """SIGTERM the process group, then SIGKILL it if it is still there after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)
    except ProcessLookupError:
        pass


def being_built(block_dir: Path) -> bool:
    """Whether another run of this script holds the block's build lock right now."""
    path = block_dir / "bench.lock"
    if not path.exists():
        return False
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
    return False


def next_block(pending: list[list[dt.date]], work: Path) -> list[dt.date]:
    """The block to run next: one whose index is built, else one nobody is building (we build
    it), else wait for a build by another process (``--ingest-only``) to finish."""
    while True:
        folders = [(w, work / "blocks" / block_name(w)) for w in pending]
        ready = [w for w, folder in folders if (folder / "ingest.json").exists() and not being_built(folder)]
        free = [w for w, folder in folders if not being_built(folder)]
        if ready or free:
            return (ready or free)[0]
        time.sleep(20.0)


def ingest_block(block: Block, archive: Path, digest: str, force: bool = False) -> dict[str, Any]:
    """Index the archive into ``block.dir/data`` unless a completed ingest of the same archive is there.

    ``force`` runs ``newsdesk ingest`` anyway: unchanged articles cost nothing, and an index
    written by an older Newsdesk is migrated.
    """
    data_dir, marker = block.dir / "data", block.dir / "ingest.json"
    with open(block.dir / "bench.lock", "a+") as lock:
        # Another run of this script building the same block (--ingest-only ahead of time): wait for it.
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"[{block.name}] another run is building this index; waiting for it", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        return _ingest_locked(block, archive, digest, data_dir, marker, force)


def _ingest_locked(block: Block, archive: Path, digest: str, data_dir: Path, marker: Path, force: bool) -> dict[str, Any]:
    previous = json.loads(marker.read_text(encoding="utf-8")) if marker.exists() else {}
    if previous.get("archive_sha256") == digest and data_dir.is_dir() and not force:
        return {**previous, "reused": True}
    marker.unlink(missing_ok=True)
    print(f"[{block.name}] ingesting {len(block.articles)} articles into {data_dir} ...", flush=True)
    for waited in range(INGEST_LOCK_WAITS + 1):
        code, out, err, seconds = run_newsdesk(["ingest", "-q", str(archive)], data_dir, block.dir / "ingest.log")
        if "another process is writing" not in err or waited == INGEST_LOCK_WAITS:
            break
        time.sleep(30.0)  # a process without the bench lock holds newsdesk's writer lock
    if code not in (0, 1):
        raise RuntimeError(f"newsdesk ingest failed (exit {code}): {err.strip()[-2000:]}")
    line_ids = sorted(block.articles)
    skipped = []
    for m in re.finditer(r"^skipped .*?:(\d+): (.*)$", err, flags=re.M):
        skipped.append({"id": line_ids[int(m.group(1)) - 1], "reason": m.group(2)[:200]})
    counts = re.search(r"index: (\d+) articles, (\d+) chunks, (\d+) clusters", out)
    rebuilt = previous.get("archive_sha256") == digest and data_dir.is_dir()
    info = {"archive_sha256": digest, "archive_articles": len(block.articles),
            # the time to build the index from nothing; a later re-run (e.g. a migration) keeps it
            "seconds": previous["seconds"] if rebuilt and "seconds" in previous else round(seconds, 1),
            "last_run_seconds": round(seconds, 1),
            "indexed_articles": int(counts.group(1)) if counts else None,
            "chunks": int(counts.group(2)) if counts else None,
            "clusters": int(counts.group(3)) if counts else None,
            "skipped": skipped, "summary": next((line for line in out.splitlines() if line.startswith("added ")), out.strip()[-300:])}
    marker.write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    print(f"[{block.name}] ingest: {info['summary']}", flush=True)
    info["reused"] = False
    return info


def port_free(port: int) -> bool:
    """Whether a server could listen on ``127.0.0.1:port`` (connections in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_port_free(port: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not port_free(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


class Server:
    """``newsdesk serve`` on one data dir, on loopback, one worker; stopped on exit, however it ends."""

    def __init__(self, data_dir: Path, port: int, log: Path) -> None:
        self.data_dir, self.port, self.log = data_dir, port, log
        self.proc: subprocess.Popen[Any] | None = None
        self.base = f"http://127.0.0.1:{port}"

    def __enter__(self) -> Server:
        if self.proc is None:
            self.start()
        return self

    def start(self, attempts: int = START_ATTEMPTS) -> None:
        """Launch ``newsdesk serve`` and wait for ``/readyz``; stops it again if it never gets ready.

        A server that crashes or answers ``/readyz`` with a server error is retried after a
        pause (``attempts`` in all): the code under ``service/`` may be mid-edit for a moment.
        """
        for attempt in range(1, attempts + 1):
            if not wait_port_free(self.port):
                raise RuntimeError(f"port {self.port} is in use on 127.0.0.1: choose another with --port")
            logfile = self.log.open("a", encoding="utf-8")
            self.proc = subprocess.Popen([str(NEWSDESK), "serve"], env=child_env(self.data_dir, self.port),
                                         stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True)
            logfile.close()
            try:
                self._wait_ready()
                return
            except ServerFailed as exc:
                self.__exit__(None, None, None)
                if attempt == attempts:
                    raise
                print(f"    newsdesk serve failed (attempt {attempt}/{attempts}), retrying in {START_RETRY_PAUSE_S:.0f}s: "
                      f"{str(exc).strip().splitlines()[-1][:200]}", flush=True)
                time.sleep(START_RETRY_PAUSE_S)
            except BaseException:
                self.__exit__(None, None, None)
                raise

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        server_errors = 0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log.read_text(encoding="utf-8", errors="replace")[-2000:]
                raise ServerFailed(f"newsdesk serve exited with {self.proc.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=60) as reply:
                    if reply.status == 200:
                        return
            except urllib.error.HTTPError as exc:
                body = exc.read().decode("utf-8", errors="replace")
                if exc.code == 503 and "index_unavailable" in body:
                    raise IndexNotReady(f"{self.data_dir}: {body[:500]}") from exc
                server_errors += 1
                if server_errors >= 5:
                    tail = self.log.read_text(encoding="utf-8", errors="replace")[-2000:]
                    raise ServerFailed(f"/readyz answered HTTP {exc.code} five times (log: {self.log}):\n{tail}") from exc
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(1.0)
        raise ServerFailed(f"newsdesk serve on port {self.port} not ready after {READY_TIMEOUT_S:.0f}s (log: {self.log})")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            stop_group(self.proc)
            self.proc = None

    def ask(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        """POST /ask: ``(status, reply JSON, client milliseconds)``; one retry on a dropped connection."""
        data = json.dumps(body).encode("utf-8")
        for attempt in range(2):
            request = urllib.request.Request(self.base + "/ask", data=data, method="POST",
                                             headers={"Content-Type": "application/json"})
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as reply:
                    payload = json.loads(reply.read().decode("utf-8"))
                    return reply.status, payload, (time.perf_counter() - started) * 1000
            except urllib.error.HTTPError as exc:
                try:
                    payload = json.loads(exc.read().decode("utf-8"))
                except ValueError:
                    payload = {}
                return exc.code, payload, (time.perf_counter() - started) * 1000
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                if attempt == 1:
                    return 0, {"error": {"code": "connection", "message": str(exc)}}, (time.perf_counter() - started) * 1000
                time.sleep(2.0)
        raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------
_MARKER = re.compile(r"\[\d+\]")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})


def normalize(text: str) -> str:
    """NFKC, case-folded, typographic quotes and dashes made plain, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold().split())


def strip_punct(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


_LEADING_ARTICLE = re.compile(r"^(the|a|an) (?=\S)")


class Haystack:
    """A text prepared once for containment tests, with and without punctuation.

    ``contains`` is the benchmark's definition of "the choice appears": case-insensitive,
    whitespace collapsed, tried as written and with punctuation stripped, and also without
    a leading "the"/"a"/"an" ("The Tony Awards" is found in "Tony Awards"). With
    ``whole_word=True`` the match must also start and end on word boundaries, so "5" is
    not found in "15" nor "Europe" in "European".
    """

    def __init__(self, text: str) -> None:
        self.plain = normalize(_MARKER.sub(" ", text))
        self.bare = strip_punct(self.plain)

    def contains(self, phrase: str, whole_word: bool = False) -> bool:
        p = normalize(phrase)
        variants = [(p, self.plain), (strip_punct(p), self.bare)]
        variants += [(_LEADING_ARTICLE.sub("", v), h) for v, h in variants if _LEADING_ARTICLE.match(v)]
        for needle, text in variants:
            if not needle or needle not in text:
                continue
            if not whole_word or re.search(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", text):
                return True
        return False


def reply_text(reply: dict[str, Any]) -> str:
    """``answer`` plus ``short_answer.text`` when the reply carries one."""
    parts = [str(reply.get("answer") or "")]
    short = reply.get("short_answer")
    if isinstance(short, dict) and isinstance(short.get("text"), str):
        parts.append(short["text"])
    return "\n".join(parts)


def score_reply(q: Question, status: int, reply: dict[str, Any], ms: float, variant: str) -> dict[str, Any]:
    """One asked question as a detail row (no article text; the answer is kept shortened)."""
    row: dict[str, Any] = {"variant": variant, "question_id": q.qid, "status": status, "latency_ms": round(ms, 1)}
    if status != 200:
        row.update({"error": (reply.get("error") or {}).get("message", "")[:300], "abstained": None, "answered": False,
                    "correct": False, "correct_whole_word": False, "exclusive": False})
        return row
    text = Haystack(reply_text(reply))
    abstained = bool(reply.get("abstained"))
    correct = not abstained and text.contains(q.correct)
    others = [c for c in q.choices if c != q.correct and normalize(c) != normalize(q.correct)]
    cited = [c.get("article_id") for c in reply.get("citations") or [] if isinstance(c, dict)]
    question = strip_punct(normalize(q.sentence))
    row.update({
        "abstained": abstained, "answered": not abstained, "correct": correct,
        "correct_whole_word": not abstained and text.contains(q.correct, whole_word=True),
        "exclusive": correct and not any(text.contains(c) for c in others),
        "echoes_question": not abstained and len(question) > 20 and question in text.bare,
        "wrong_choice": (not abstained) and not correct and any(text.contains(c) for c in others),
        "evidence_score": reply.get("evidence_score"),
        "server_ms": (reply.get("timings") or {}).get("total_ms"),
        "cited_ids": cited, "cited_own": any(c in q.article_ids for c in cited),
        "answer": " ".join(str(reply.get("answer") or "").split())[:ANSWER_SNIPPET_CHARS],
    })
    short = reply.get("short_answer")
    if isinstance(short, dict) and str(short.get("text") or "").strip():
        row["short_answer"] = str(short["text"])[:ANSWER_SNIPPET_CHARS]
        row["short_answer_correct"] = not abstained and Haystack(str(short["text"])).contains(q.correct)
    return row


# ---------------------------------------------------------------------------------------
# Asking
# ---------------------------------------------------------------------------------------
def as_of_supported(server: Server, q: Question) -> tuple[bool, str, tuple[int, dict[str, Any], float] | None]:
    """Probe ``as_of`` once: ``(supported, note, the probe's reply if it was a real answer)``."""
    if not q.date:
        return False, "no question date", None
    status, reply, ms = server.ask({"question": q.sentence, "as_of": q.date})
    if status == 200:
        return True, "supported", (status, reply, ms)
    message = json.dumps(reply.get("error") or reply)[:300]
    if status == 422 and "as_of" in message:
        return False, "unsupported", None
    return False, f"probe failed: HTTP {status} {message}", None


def ask_all(server: Server, questions: Sequence[Question], variant: str, with_as_of: bool) -> tuple[list[dict[str, Any]], str]:
    """Ask each question once (and once more with ``as_of`` if the server takes it)."""
    rows = []
    for i, q in enumerate(questions, 1):
        rows.append(score_reply(q, *server.ask({"question": q.sentence}), variant))
        if i % 25 == 0:
            print(f"    {variant}: {i}/{len(questions)}", flush=True)
    as_of_note = "not asked"
    if with_as_of and questions:
        supported, as_of_note, first = as_of_supported(server, questions[0])
        if supported:
            for j, q in enumerate(questions):
                result = first if j == 0 and first else (server.ask({"question": q.sentence, "as_of": q.date})
                                                         if q.date else None)
                if result is not None:
                    rows.append(score_reply(q, *result, variant + "+as_of"))
    return rows, as_of_note


# ---------------------------------------------------------------------------------------
# Baseline and ceilings
# ---------------------------------------------------------------------------------------
def bm25_baseline(block: Block, questions: Sequence[Question]) -> tuple[dict[str, dict[str, bool]], int]:
    """Plain Haystack BM25 over 200-word passages: per question, is the choice in the top 1 / top 5?"""
    os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
    from haystack import Document, Pipeline
    from haystack.components.preprocessors import DocumentSplitter
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
    from haystack.components.writers import DocumentWriter
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    store = InMemoryDocumentStore()
    indexing = Pipeline()
    indexing.add_component("splitter", DocumentSplitter(split_by="word", split_length=BM25_PASSAGE_WORDS, split_overlap=0))
    indexing.add_component("writer", DocumentWriter(store))
    indexing.connect("splitter", "writer")
    indexing.run({"splitter": {"documents": [Document(content=a["text"], meta={"article_id": a["id"]})
                                             for a in block.articles.values()]}})
    retriever = InMemoryBM25Retriever(store, top_k=5)
    hits: dict[str, dict[str, bool]] = {}
    for q in questions:
        docs = retriever.run(query=q.sentence)["documents"]
        texts = [Haystack(d.content or "") for d in docs]
        found = [t.contains(q.correct) for t in texts]
        hits[q.qid] = {"bm25_top1": bool(found[:1] and found[0]), "bm25_top5": any(found),
                       "bm25_top1_whole_word": bool(texts[:1] and texts[0].contains(q.correct, whole_word=True))}
    return hits, store.count_documents()


def joined(articles: Iterable[dict[str, Any]]) -> Haystack:
    return Haystack("\n".join(f"{a.get('title') or ''}\n{a['text']}" for a in articles))


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------
def rate(rows: Sequence[dict[str, Any]], key: str, where: str | None = None) -> float | None:
    pool = [r for r in rows if where is None or r.get(where)]
    return round(sum(bool(r.get(key)) for r in pool) / len(pool), 4) if pool else None


def pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def newsdesk_figures(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in rows if r["status"] == 200]
    lat = [r["latency_ms"] for r in ok]
    return {"asked": len(rows), "errors": len(rows) - len(ok),
            "answered": rate(ok, "answered"), "abstained": rate(ok, "abstained"),
            "correct": rate(rows, "correct"), "correct_whole_word": rate(rows, "correct_whole_word"),
            "exclusive": rate(rows, "exclusive"), "echoes_question": rate(ok, "echoes_question"),
            "short_answer_given": rate(ok, "short_answer"), "short_answer_correct": rate(rows, "short_answer_correct"),
            "wrong_choice": rate(ok, "wrong_choice"),
            "precision": rate(ok, "correct", where="answered"),
            "cited_own_article": rate(ok, "cited_own", where="answered"),
            "latency_p50_ms": pct(lat, 0.5), "latency_p95_ms": pct(lat, 0.95),
            "latency_mean_ms": round(statistics.fmean(lat), 1) if lat else None}


def summarize(questions: Sequence[dict[str, Any]], asked: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Figures for one block or for all of them (pooled over questions)."""
    by = {v: [r for r in asked if r["variant"] == v] for v in ("answerable", "answerable+as_of", "unanswerable")}
    out: dict[str, Any] = {
        "questions": len(questions),
        "newsdesk": newsdesk_figures(by["answerable"]),
        "newsdesk_as_of": newsdesk_figures(by["answerable+as_of"]) if by["answerable+as_of"] else None,
        "unanswerable": {**{k: v for k, v in newsdesk_figures(by["unanswerable"]).items()
                            if k in ("asked", "errors", "abstained", "answered", "correct", "latency_p50_ms")},
                         "residual_ceiling": rate(questions, "ceiling_residual")},
        "bm25_top1": rate(questions, "bm25_top1"), "bm25_top5": rate(questions, "bm25_top5"),
        "bm25_top1_whole_word": rate(questions, "bm25_top1_whole_word"),
        "ceiling_block_archive": rate(questions, "ceiling_block"),
        "ceiling_own_articles": rate(questions, "ceiling_own"),
        "ceiling_block_archive_whole_word": rate(questions, "ceiling_block_whole_word"),
        "ceiling_own_articles_whole_word": rate(questions, "ceiling_own_whole_word"),
        "quiz_page_in_archive": rate(questions, "quiz_page_in_archive"),
    }
    return out


def fmt(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def print_table(blocks: list[dict[str, Any]], overall: dict[str, Any]) -> None:
    """Per block and overall: Newsdesk, the unanswerable variant, BM25, ceilings."""
    head = (f"{'block':<20}{'qs':>5}{'arts':>6}{'chunks':>7} | {'answered':>8}{'correct':>8}{'c.word':>8}{'exclus':>8}{'prec':>8}"
            f"{'as_of':>8} | {'unans.abst':>10}{'resid':>7} | {'bm25@1':>7}{'bm25@5':>7} | {'ceil.blk':>9}{'ceil.own':>9}")
    print("\n" + head + "\n" + "-" * len(head))
    for b in [*blocks, {"block": "OVERALL", "figures": overall}]:
        f = b["figures"]
        nd, asof, un = f["newsdesk"], f.get("newsdesk_as_of"), f["unanswerable"]
        print(f"{b['block']:<20}{f['questions']:>5}{b.get('articles', ''):>6}{b.get('chunks') or '':>7} | "
              f"{fmt(nd['answered']):>8}{fmt(nd['correct']):>8}{fmt(nd['correct_whole_word']):>8}{fmt(nd['exclusive']):>8}{fmt(nd['precision']):>8}"
              f"{fmt(asof['correct'] if asof else None):>8} | {fmt(un['abstained']):>10}{fmt(un['residual_ceiling']):>7} | "
              f"{fmt(f['bm25_top1']):>7}{fmt(f['bm25_top5']):>7} | {fmt(f['ceiling_block_archive']):>9}"
              f"{fmt(f['ceiling_own_articles']):>9}")
    print("answered/abst = share of questions; correct = not abstained and the correct choice is in the answer; "
          "c.word = the same, whole words only; exclus = correct and no other choice; prec = correct/answered;\nas_of = correct with as_of sent; "
          "resid = unanswerable questions whose choice is still in the archive after deletion; "
          "ceil.blk/own = choice anywhere in the block archive / own search results.")
    o = overall
    print(f"overall, whole words only: newsdesk correct {fmt(o['newsdesk']['correct_whole_word'])}, bm25@1 "
          f"{fmt(o['bm25_top1_whole_word'])}, ceilings {fmt(o['ceiling_block_archive_whole_word'])} / "
          f"{fmt(o['ceiling_own_articles_whole_word'])}; quiz page in archive {fmt(o['quiz_page_in_archive'])}; "
          f"answers echoing the question {fmt(o['newsdesk']['echoes_question'])}")


# ---------------------------------------------------------------------------------------
# One block
# ---------------------------------------------------------------------------------------
def start_server(data_dir: Path, port: int, log: Path, refresh: Callable[[], None]) -> Server:
    """A ready server on ``data_dir``; if it asks for ``newsdesk ingest`` (an index written by an
    older Newsdesk), ``refresh()`` rebuilds what it serves and the server is started once more."""
    server = Server(data_dir, port, log)
    try:
        server.start()
    except IndexNotReady as exc:
        if "newsdesk ingest" not in str(exc):
            raise
        print(f"    the server asks for `newsdesk ingest`: refreshing the index\n    {exc}", flush=True)
        refresh()
        server.start()
    return server


def make_copy(data_dir: Path, copy: Path, removed: list[str], note: str) -> None:
    """``copy/data``: the block's index without the articles ``removed`` (``newsdesk delete``)."""
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(data_dir, copy / "data", ignore=shutil.ignore_patterns("conversations.sqlite3*"))
    code, out, err, seconds = run_newsdesk(["delete", *removed], copy / "data", copy / "delete.log")
    if code not in (0, 1):  # 1: some id was not indexed (skipped at ingest)
        raise RuntimeError(f"newsdesk delete failed (exit {code}): {err.strip()[-1000:]}")
    print(f"{note}: {out.strip()} in {seconds:.1f}s", flush=True)


def run_block(block: Block, args: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], str]:
    """Ingest (or reuse), ask, delete-and-ask, baseline, ceilings: ``(block figures, question rows, asked rows, as_of)``."""
    archive, digest = write_archive(block)
    ingest = ingest_block(block, archive, digest)
    questions = block.questions[: args.limit] if args.limit else block.questions
    skipped = {s["id"] for s in ingest["skipped"]}
    data_dir = block.dir / "data"
    ingest_note = "reused" if ingest["reused"] else f"{ingest['seconds']}s"
    print(f"[{block.name}] {len(questions)} questions, {len(block.articles)} articles "
          f"({ingest.get('chunks')} chunks; ingest {ingest_note})", flush=True)

    asked: list[dict[str, Any]] = []
    def refresh() -> None:
        ingest_block(block, archive, digest, force=True)

    with start_server(data_dir, args.port, block.dir / "serve.log", refresh) as server:
        rows, as_of_note = ask_all(server, questions, "answerable", with_as_of=True)
        asked += rows
    print(f"[{block.name}] answerable pass done; as_of: {as_of_note}", flush=True)

    # Unanswerable: the group's own search results removed from a copy of the index.
    groups = [questions[k:: args.unanswerable_groups] for k in range(args.unanswerable_groups)]
    everything = joined(block.articles.values())
    residual: dict[str, bool] = {}
    for k, group in enumerate(groups):
        if not group:
            continue
        removed = sorted({aid for q in group for aid in q.article_ids} - skipped)
        copy = block.dir / f"unanswerable-{k + 1}-of-{len(groups)}"
        note = f"[{block.name}] group {k + 1}/{len(groups)}"
        make_copy(data_dir, copy, removed, note)

        def refresh_copy(copy: Path = copy, removed: list[str] = removed, note: str = note) -> None:
            refresh()
            make_copy(data_dir, copy, removed, note)

        gone = set(removed)
        remaining = joined(a for aid, a in block.articles.items() if aid not in gone)
        for q in group:
            residual[q.qid] = remaining.contains(q.correct)
        with start_server(copy / "data", args.port, copy / "serve.log", refresh_copy) as server:
            rows, _ = ask_all(server, group, "unanswerable", with_as_of=False)
            asked += rows

    # Baseline and ceilings.
    if args.no_baseline:
        bm25: dict[str, dict[str, bool]] = {}
        passages = 0
    else:
        started = time.monotonic()
        bm25, passages = bm25_baseline(block, questions)
        print(f"[{block.name}] BM25 baseline over {passages} passages in {time.monotonic() - started:.1f}s", flush=True)
    qrows = []
    for q in questions:
        own = joined(block.articles[a] for a in q.article_ids)
        qrows.append({"block": block.name, "week": q.week, "question_id": q.qid, "question_date": q.date,
                      "question": q.sentence, "correct_choice": q.correct, "own_articles": len(q.article_ids),
                      "ceiling_block": everything.contains(q.correct), "ceiling_own": own.contains(q.correct),
                      "ceiling_block_whole_word": everything.contains(q.correct, whole_word=True),
                      "ceiling_own_whole_word": own.contains(q.correct, whole_word=True),
                      # The quiz page itself among the search results: the question, verbatim, in the archive.
                      "quiz_page_in_archive": strip_punct(normalize(q.sentence)) in everything.bare,
                      "ceiling_residual": residual.get(q.qid), **bm25.get(q.qid, {})})
    for r in asked:
        r["block"] = block.name
    figures = summarize(qrows, asked)
    summary = {"block": block.name, "weeks": [w.isoformat() for w in block.weeks], "articles": len(block.articles),
               "indexed_articles": ingest.get("indexed_articles"), "skipped_at_ingest": len(skipped),
               "chunks": ingest.get("chunks"), "bm25_passages": passages, "ingest_seconds": ingest["seconds"],
               "ingest_reused": ingest["reused"], "as_of": as_of_note, "newsdesk_code": code_state(),
               "asked_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "figures": figures}
    return summary, qrows, asked, as_of_note


def failure_examples(qrows: list[dict[str, Any]], asked: list[dict[str, Any]], n: int = 10) -> list[dict[str, Any]]:
    """Up to ``n`` answerable questions Newsdesk got wrong, taken round-robin over blocks."""
    info = {r["question_id"]: r for r in qrows}
    failed: dict[str, list[dict[str, Any]]] = {}
    for r in asked:
        if r["variant"] == "answerable" and not r["correct"] and info[r["question_id"]]["ceiling_block"]:
            failed.setdefault(r["block"], []).append(r)
    picked: list[dict[str, Any]] = []
    while len(picked) < n and any(failed.values()):
        for rows in failed.values():
            if rows and len(picked) < n:
                r = rows.pop(0)
                q = info[r["question_id"]]
                picked.append({"question_id": r["question_id"], "question": q["question"], "correct": q["correct_choice"],
                               "abstained": r.get("abstained"), "answer": (r.get("answer") or r.get("error") or "")[:200]})
    return picked


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", type=Path, required=True, help="the fetched realtimeqa_public repo (bare git dir or a checkout)")
    p.add_argument("--work", type=Path, default=DEFAULT_WORK, help="archives, indexes, logs, per-question details")
    p.add_argument("--weeks", type=int, default=20, help="development weeks to use (spread over 2022 and 2023-07..2024)")
    p.add_argument("--dates", type=lambda s: [parse_week(x) for x in s.split(",") if x.strip()], default=None,
                   help="explicit weeks instead: 20220805,20220812,...")
    p.add_argument("--block-weeks", type=int, default=4, help="consecutive weeks sharing one archive")
    p.add_argument("--blocks", type=int, default=None, help="only the first N blocks of the selection")
    p.add_argument("--limit", type=int, default=None, help="only the first N questions of each block (quick run)")
    p.add_argument("--unanswerable-groups", type=int, default=3, help="K: groups whose own articles are deleted together")
    p.add_argument("--port", type=int, default=8791, help="loopback port for newsdesk serve")
    p.add_argument("--no-baseline", action="store_true", help="skip the Haystack BM25 baseline")
    p.add_argument("--resume", metavar="RUN_ID", default=None,
                   help="continue an interrupted run (WORK/runs/RUN_ID): its finished blocks are kept, not asked again")
    p.add_argument("--ingest-only", action="store_true",
                   help="only build (or check) the blocks' indexes, e.g. ahead of a run in another process")
    p.add_argument("--results", type=Path, default=None,
                   help=f"figures file (default {RESULTS.relative_to(ROOT)}; with --limit/--blocks: WORK/results-partial.json)")
    args = p.parse_args(argv)
    if args.block_weeks < 1 or args.weeks < 1 or args.unanswerable_groups < 1:
        p.error("--weeks, --block-weeks and --unanswerable-groups must be at least 1")
    return args


def code_state() -> dict[str, Any]:
    """Which Newsdesk was measured: the commit and how many files differ from it (read-only git)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()
    digest = hashlib.sha256()
    for path in sorted(p for folder in ("index", "service", "prompts") for p in (ROOT / folder).rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return {"commit": git("rev-parse", "HEAD"), "uncommitted_files": len(git("status", "--porcelain").splitlines()),
            # the code as it was on disk, edits included: blocks measured with different code differ here
            "source_sha256": digest.hexdigest()[:16]}


def load_finished(run_dir: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], set[str]]:
    """What an interrupted run (``--resume``) finished: block summaries, question rows, asked rows, as_of notes."""
    summary_file = run_dir / "summary.json"
    if not summary_file.exists():
        return [], [], [], set()
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    done = {s["block"] for s in summary["blocks"]}

    def rows(name: str) -> list[dict[str, Any]]:
        path = run_dir / name
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return [r for r in map(json.loads, lines) if r["block"] in done]

    return summary["blocks"], rows("questions.jsonl"), rows("asked.jsonl"), set(summary.get("as_of", []))


def write_results(args: argparse.Namespace, path: Path, run_dir: Path, blocks_weeks: list[list[dt.date]],
                  summaries: list[dict[str, Any]], questions: list[dict[str, Any]], asked: list[dict[str, Any]],
                  as_of_notes: set[str], started: float, code: dict[str, Any], complete: bool) -> dict[str, Any]:
    """The figures file (counts, rates, week dates: nothing from the dataset's text), also after each block."""
    result = {
        "benchmark": "realtimeqa (development weeks only)",
        "complete": complete,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "newsdesk_code": code,
        "machine": {"nproc": os.cpu_count(), "load_average": round(os.getloadavg()[0], 2)},
        "settings": {"block_weeks": args.block_weeks, "limit": args.limit, "unanswerable_groups": args.unanswerable_groups,
                     "bm25_passage_words": BM25_PASSAGE_WORDS, "newsdesk_workers": 1},
        "weeks": [w.isoformat() for b in blocks_weeks for w in b],
        "blocks_done": len(summaries),
        "as_of": sorted(as_of_notes),
        "totals": {"weeks": sum(len(s["weeks"]) for s in summaries), "questions": len(questions),
                   "articles": sum(s["articles"] for s in summaries), "chunks": sum(s["chunks"] or 0 for s in summaries),
                   "bm25_passages": sum(s["bm25_passages"] for s in summaries),
                   "ingest_seconds": round(sum(s["ingest_seconds"] for s in summaries), 1),
                   "run_seconds": round(time.monotonic() - started, 1)},
        "overall": summarize(questions, asked),
        "blocks": summaries,
    }
    text = json.dumps(result, indent=1) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    (run_dir / "summary.json").write_text(text, encoding="utf-8")
    return result


def _terminate(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    work: Path = args.work
    signal.signal(signal.SIGTERM, _terminate)
    if not NEWSDESK.exists():
        raise SystemExit(f"{NEWSDESK} not found: set up the venv first (make install)")
    repo = RtqaRepo(args.repo)
    try:
        blocks_weeks = select_blocks(development_weeks(repo), args.weeks, args.block_weeks, args.dates)
    except HeldOutWeekError as exc:
        print(f"realtimeqa: {exc}", file=sys.stderr)
        return 2
    if args.blocks:
        blocks_weeks = blocks_weeks[: args.blocks]
    partial = bool(args.limit or args.blocks)
    results_path = args.results or (work / "results-partial.json" if partial else RESULTS)
    run_id = args.resume or dt.datetime.now().strftime("%Y%m%dT%H%M%S") + ("-partial" if partial else "")
    run_dir = work / "runs" / run_id
    print(f"RealTime QA dev run {run_id}: {len(blocks_weeks)} block(s): "
          + "; ".join(",".join(w.strftime("%Y%m%d") for w in b) for b in blocks_weeks), flush=True)

    started = time.monotonic()
    code = code_state()
    summaries: list[dict[str, Any]] = []
    all_q: list[dict[str, Any]] = []
    all_asked: list[dict[str, Any]] = []
    as_of_notes: set[str] = set()
    if args.ingest_only:
        for weeks in blocks_weeks:
            block = load_block(repo, weeks, work)
            info = ingest_block(block, *write_archive(block))
            print(f"[{block.name}] {'reused' if info['reused'] else 'built'}: {info['summary']} -> {block.dir / 'data'}")
        return 0
    run_dir.mkdir(parents=True, exist_ok=True)
    if args.resume:
        summaries, all_q, all_asked, as_of_notes = load_finished(run_dir)
        for name, rows in (("questions.jsonl", all_q), ("asked.jsonl", all_asked)):  # drop rows of an unfinished block
            (run_dir / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        print(f"resuming {run_dir}: {', '.join(s['block'] for s in summaries) or 'nothing'} already done", flush=True)
    pending = [w for w in blocks_weeks if block_name(w) not in {s["block"] for s in summaries}]
    while pending:
        weeks = next_block(pending, work)
        pending.remove(weeks)
        block = load_block(repo, weeks, work)
        summary, qrows, asked, note = run_block(block, args)
        summaries.append(summary)
        all_q += qrows
        all_asked += asked
        as_of_notes.add(note)
        with (run_dir / "questions.jsonl").open("a", encoding="utf-8") as fh:
            for r in qrows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        with (run_dir / "asked.jsonl").open("a", encoding="utf-8") as fh:
            for r in asked:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        if pending:
            print_table(summaries, summarize(all_q, all_asked))
            write_results(args, results_path, run_dir, blocks_weeks, summaries, all_q, all_asked, as_of_notes, started,
                          code, complete=False)

    summaries.sort(key=lambda s: s["block"])
    overall = summarize(all_q, all_asked)
    write_results(args, results_path, run_dir, blocks_weeks, summaries, all_q, all_asked, as_of_notes, started,
                  code, complete=True)
    examples = failure_examples(all_q, all_asked)
    (run_dir / "failures.json").write_text(json.dumps(examples, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    print_table(summaries, overall)
    print(f"\nas_of: {', '.join(sorted(as_of_notes))}")
    print(f"figures: {results_path}\nper-question details: {run_dir}/questions.jsonl, {run_dir}/asked.jsonl")
    print(f"indexes: {', '.join(str(work / 'blocks' / s['block'] / 'data') for s in summaries)}")
    print(f"\nExample failures (answerable, choice present in the archive), {len(examples)}:")
    for e in examples:
        state = "abstained" if e["abstained"] else "answered"
        print(f"- {e['question_id']} [{state}] Q: {e['question'][:110]}\n    gold: {e['correct']!r}; newsdesk: {e['answer'][:160]}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: servers and child processes stopped", file=sys.stderr)
        sys.exit(130)
