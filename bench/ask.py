"""``/ask`` latency and throughput through gunicorn, beside a plain Haystack pipeline.

    .venv/bin/python bench/ask.py                      # or: make bench
    .venv/bin/python bench/ask.py --previous HEAD~1    # also the previous release, in the same run
    .venv/bin/python bench/ask.py --data DIR --questions FILE.jsonl --no-haystack --previous REV
                                                       # a large archive (an index built elsewhere) and its questions

The seeds are indexed into a temporary folder, then two servers start on 127.0.0.1 with
the same gunicorn set-up (``NEWSDESK_WORKERS`` x ``NEWSDESK_THREADS`` threads, waitress inside each gunicorn worker,
torch threads split between workers):

* ``newsdesk``: ``newsdesk serve``, extractive mode (no LLM): retrieval, answer, citation
  verification, JSON response;
* ``haystack``: ``bench/haystack_baseline.py``, a plain Haystack BM25 + MiniLM pipeline
  joined by reciprocal rank fusion over the same chunks, retrieval only;
* with ``--previous REV``, ``previous``: ``newsdesk serve`` as committed at git revision
  ``REV`` (its ``index/``, ``service/``, ``prompts/`` exported with ``git archive``), over
  its own index of the seeds (or a copy of ``--data``), so a change is measured side by side
  with the release before.

With ``--data``, a copy of an existing index is served instead of the seeds, with
``--questions`` (JSON Lines: ``question`` and its ``as_of`` or ``question_date``): the
latency budget of an archive of 10k passages or more (50 ms p50, 150 ms p95) is measured
on a RealTime QA development block (``bench/realtimeqa.py`` builds it, outside the project).

Each is warmed up (every question once per worker), then measured with one client
(``--requests`` sequential requests) and with 8 concurrent clients (``--requests`` x 2 in
all). The questions are the seed dev set (``../shared/eval/seed_dev_qa.jsonl``), cycled.
Latency is measured by the client, end to end over HTTP with keep-alive; the load
generator runs on the same machine, so the concurrent figures include its own CPU use.
Results: printed, appended to bench/results/ask.json, written into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import itertools
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import ROOT, append_result, machine, previous_release, write_section  # noqa: E402

QUESTIONS = ROOT.parent / "shared" / "eval" / "seed_dev_qa.jsonl"
RESULTS = ROOT / "bench" / "results" / "ask.json"
TARGET_P50_MS, TARGET_P95_MS = 30, 100  # on the seeds
ARCHIVE_P50_MS, ARCHIVE_P95_MS = 50, 150  # on an archive of 10k passages or more (issue 11's budget)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(conn: http.client.HTTPConnection, question: dict | str) -> tuple[float, dict]:
    body = json.dumps(question if isinstance(question, dict) else {"question": question})
    started = time.perf_counter()
    conn.request("POST", "/ask", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    elapsed = 1000 * (time.perf_counter() - started)
    if response.status != 200:
        raise RuntimeError(f"/ask answered {response.status}: {payload[:200]!r}")
    return elapsed, json.loads(payload)


def _wait_ready(port: int, proc: subprocess.Popen, path: str, timeout: float = 180, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on {host}:{port} exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection(host, port, timeout=60)
            if path == "/ask":
                _post(conn, "warm up")
            else:
                conn.request("GET", path)
                if conn.getresponse().status != 200:
                    raise OSError("not ready")
            return
        except (OSError, RuntimeError):
            time.sleep(0.5)
    raise RuntimeError(f"server on {host}:{port} not ready after {timeout:.0f} s")


def _summary(latencies: list[float], seconds: float, server_ms: list[float]) -> dict:
    ordered = sorted(latencies)
    return {"requests": len(ordered), "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
            "mean_ms": round(statistics.fmean(ordered), 1), "max_ms": round(ordered[-1], 1),
            "req_per_s": round(len(ordered) / seconds, 1),
            "server_p50_ms": round(statistics.median(server_ms), 1) if server_ms else None}


def measure(port: int | list[tuple[str, int]], questions: list[dict], clients: int, requests: int) -> dict:
    """``requests`` requests taken in turn by ``clients`` threads, each with its own keep-alive connection; ``port``
    on 127.0.0.1, or several servers as ``(host, port)``, client *c* asking server *c* modulo their number.

    The clients draw from one queue of requests, not a fixed share each: a keep-alive connection stays with the
    gunicorn worker that accepted it, and with fixed shares the clients of the worker that drew more of them
    finished alone, one worker busy and the other idle, so the same server measured anywhere between 57 and
    111 req/s from one run to the next."""
    servers = [("127.0.0.1", port)] if isinstance(port, int) else port
    latencies: list[float] = []
    server_ms: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    issued = itertools.count()

    def client(host: str, port: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=60)
        try:
            while (i := next(issued)) < requests:
                elapsed, payload = _post(conn, questions[i % len(questions)])
                with lock:
                    latencies.append(elapsed)
                    server_ms.append(payload.get("timings", {}).get("total_ms", 0.0))
        except BaseException as exc:  # noqa: BLE001 - reported below, the run is invalid
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=servers[c % len(servers)]) for c in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} client(s) failed: {errors[0]}")
    return _summary(latencies, seconds, server_ms)


def warm_and_measure(servers: int | list[tuple[str, int]], questions: list[dict], workers: int, requests: int) -> dict:
    """Every question once per worker of each server (not measured), then ``requests`` questions by one client and by 8."""
    n_servers = 1 if isinstance(servers, int) else len(servers)
    measure(servers, questions, clients=workers * n_servers, requests=len(questions) * workers)
    out = {}
    for clients in (1, 8):
        out[str(clients)] = r = measure(servers, questions, clients, requests)
        print(f"  {clients} client(s): p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, {r['req_per_s']} req/s", flush=True)
    return out


def _request(line: dict) -> dict:
    """An ``/ask`` body from a line of ``--questions``."""
    as_of = line.get("as_of") or line.get("question_date")
    return {"question": line["question"], **({"as_of": as_of} if as_of else {})}


def _chunks(data: Path) -> int:
    """Passages in the index at ``data``."""
    with sqlite3.connect(f"file:{data / 'newsdesk.sqlite3'}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT count(*) FROM chunks").fetchone()[0])


LABELS = {"newsdesk": "Newsdesk `/ask`, extractive (retrieve + answer + verify)",
          "previous": "the previous release's `/ask` (--previous)",
          "haystack": "plain Haystack BM25 + MiniLM, RRF (retrieval only)"}


def write_doc(result: dict, command: str) -> None:
    m = result["machine"]
    seeds = result.get("archive", "seeds") == "seeds"
    target = (TARGET_P50_MS, TARGET_P95_MS) if seeds else (ARCHIVE_P50_MS, ARCHIVE_P95_MS)
    where = (f"on the seeds ({result['chunks']} chunks); questions: the 20 seed dev questions, cycled" if seeds else
             f"on a copy of a development archive of {result['chunks']:,} passages; questions: {result['questions']} from "
             f"`{Path(result['questions_file']).name}` with their `as_of`, cycled")
    lines = [f"## `/ask` latency through gunicorn (`bench/ask.py`){'' if seeds else ', archive of 10k+ passages'}", "",
             f"Command: `{command}` (measured {result['date']}). Machine: {m['cpu']}, {m['nproc']} cores, "
             f"{m['memory_gib']} GiB; load average {m['load_average_at_start']:.2f} at start. Every server: gunicorn "
             f"{result['workers']} workers x {result['threads']} threads (waitress in each gunicorn worker), {where}; latency seen by the client "
             f"over HTTP keep-alive, the load generator on the same 2 cores.", "",
             "| server | clients | requests | p50 ms | p95 ms | mean ms | req/s | server-side p50 ms |",
             "|---|---|---|---|---|---|---|---|"]
    for name, label in LABELS.items():
        if name not in result:
            continue
        if name == "previous":
            label = f"the previous release ({result['previous_rev']}), `/ask`"
        for clients in ("1", "8"):
            r = result[name][clients]
            lines.append(f"| {label} | {clients} | {r['requests']} | {r['p50_ms']} | {r['p95_ms']} | {r['mean_ms']} | "
                         f"{r['req_per_s']} | {r['server_p50_ms']} |")
    one = result["newsdesk"]["1"]
    lines += ["", f"Target (one client, extractive): p50 ≤ {target[0]} ms, p95 ≤ {target[1]} ms: "
              f"{'met' if one['p50_ms'] <= target[0] and one['p95_ms'] <= target[1] else 'NOT met'} "
              f"(p50 {one['p50_ms']} ms, p95 {one['p95_ms']} ms)."]
    if "previous" in result:
        before = result["previous"]["1"]
        lines += ["", f"Against the previous release ({result['previous_rev']}) in the same run, one client: p50 ratio "
                  f"{one['p50_ms'] / before['p50_ms']:.2f}, p95 ratio {one['p95_ms'] / before['p95_ms']:.2f} (below 1: faster)."]
    write_section("ask" if seeds else "ask-archive", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per measurement (default 400)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results and docs alone")
    parser.add_argument("--previous", metavar="REV", help="also serve the code at this git revision, side by side")
    parser.add_argument("--data", type=Path, help="serve a copy of this existing index instead of indexing the seeds "
                        "(e.g. a RealTime QA block built by bench/realtimeqa.py: about 12k passages)")
    parser.add_argument("--no-haystack", action="store_true", help="leave out the plain Haystack pipeline (it embeds every "
                        "passage again at start, minutes on a large archive)")
    parser.add_argument("--questions", type=Path, default=QUESTIONS,
                        help="JSON Lines of questions: `question`, and `as_of` (or `question_date`) when known")
    args = parser.parse_args()
    questions = [_request(json.loads(line)) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    env = {**os.environ, "HAYSTACK_TELEMETRY_ENABLED": "False"}
    workers, threads = int(env.get("NEWSDESK_WORKERS", "2")), int(env.get("NEWSDESK_THREADS", "4"))
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="newsdesk-bench-ask-") as work:
        data = Path(work) / "data"
        env["NEWSDESK_DATA_DIR"] = str(data)
        if args.data:
            shutil.copytree(args.data, data, ignore=shutil.ignore_patterns("*.lock"))
        else:
            subprocess.run([sys.executable, "-m", "newsdesk.service.cli", "ingest", "-q", str(ROOT / "seeds")], env=env,
                           capture_output=True, text=True, check=True)
        chunks = _chunks(data)
        ports = {"newsdesk": _free_port(), **({"previous": _free_port()} if args.previous else {}),
                 **({} if args.no_haystack else {"haystack": _free_port()})}
        log = open(os.environ.get("BENCH_LOG", Path(work) / "servers.log"), "w")
        try:
            procs.append(subprocess.Popen([sys.executable, "-m", "newsdesk.service.cli", "serve"],
                                          env={**env, "NEWSDESK_PORT": str(ports["newsdesk"]), "NEWSDESK_HOST": "127.0.0.1"},
                                          stdout=subprocess.DEVNULL, stderr=log))
            if args.previous:
                previous = {**env, "PYTHONPATH": str(previous_release(args.previous, Path(work))),
                            "NEWSDESK_DATA_DIR": str(Path(work) / "data-previous")}
                if args.data:  # the previous release must read this index's schema
                    shutil.copytree(data, Path(work) / "data-previous")
                else:  # its own index of the seeds, in the schema it knows
                    subprocess.run([sys.executable, "-m", "newsdesk.service.cli", "ingest", "-q", str(ROOT / "seeds")], cwd=work,
                                   env=previous, capture_output=True, text=True, check=True)
                procs.append(subprocess.Popen([sys.executable, "-m", "newsdesk.service.cli", "serve"], cwd=work,
                                              env={**previous, "NEWSDESK_PORT": str(ports["previous"]), "NEWSDESK_HOST": "127.0.0.1"},
                                              stdout=subprocess.DEVNULL, stderr=log))
            if "haystack" in ports:
                procs.append(subprocess.Popen([sys.executable, str(ROOT / "bench" / "haystack_baseline.py"), "--data", str(data),
                                               "--port", str(ports["haystack"]), "--workers", str(workers), "--threads", str(threads)],
                                              env=env, stdout=subprocess.DEVNULL, stderr=log))
            for name, proc in zip(ports, procs):
                _wait_ready(ports[name], proc, "/ask" if name == "haystack" else "/readyz")
            result = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
                      "workers": workers, "threads": threads, "chunks": chunks, "questions": len(questions),
                      "archive": str(args.data) if args.data else "seeds", "questions_file": str(args.questions)}
            if args.previous:
                result["previous_rev"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.previous],
                                                        capture_output=True, text=True, check=True).stdout.strip()
            for name, port in ports.items():  # warm every worker: each question, once per worker
                measure(port, questions, clients=workers, requests=len(questions) * workers)
            for clients in (1, 8):
                for name, port in ports.items():
                    result.setdefault(name, {})[str(clients)] = r = measure(port, questions, clients, args.requests)
                    print(f"{name:9s} {clients} client(s): p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, mean {r['mean_ms']} ms, "
                          f"{r['req_per_s']} req/s (server-side p50 {r['server_p50_ms']} ms)", flush=True)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            log.close()
    if not args.no_write:
        append_result(RESULTS, result)
        write_doc(result, " ".join([".venv/bin/python bench/ask.py", *sys.argv[1:]]))
        print(f"wrote {RESULTS.relative_to(ROOT)} and docs/benchmarks.md")


if __name__ == "__main__":
    main()
