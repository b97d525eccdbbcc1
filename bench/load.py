"""A bounded load test: ``/ask`` from 8 clients mixed with concurrent ``POST /articles``, through gunicorn.

    .venv/bin/python bench/load.py                    # 10,000 /ask from 8 clients, a POST of 3 articles every second
    .venv/bin/python bench/load.py --requests 2000 --no-write   # a shorter run, printed only

The seeds are indexed into a temporary data folder, a ``write`` API key is created
(``newsdesk keys create --scope write``), and ``newsdesk serve`` starts on 127.0.0.1 on a
free port: gunicorn, ``--workers`` (2) worker processes serving with waitress,
``NEWSDESK_THREADS`` (4) threads each, offline (``HF_HUB_OFFLINE``). **Rate limits are
disabled for the test** (``NEWSDESK_RATE_LIMIT_PER_ADDRESS``, ``_PER_KEY`` and ``_WRITES``
empty): 8 clients on one address would otherwise be refused 429 beyond 600 requests a minute
per worker, which is the limiter working, not the service failing.

The load comes from this script's process, apart from the server's (gunicorn master and
workers), over loopback: ``--clients`` threads, each with its own keep-alive
``http.client`` connection, send ``--requests`` ``/ask`` requests in all (the seed dev
questions, ``../shared/eval/seed_dev_qa.jsonl``, cycled), while one more thread POSTs a JSON
list of ``--batch`` new articles (unique ids, invented place names) every
``--write-interval`` seconds until the ``/ask`` clients are done, on a new connection each
time (as separate writers would: both workers take writes, in turn at the writer lock). (A stdlib load generator
rather than locust: the test is bounded by a request count, not a duration, needs every
request's status and latency kept, and must check the write replies and the posted
articles afterwards; a few threads of ``http.client`` do that without gevent's monkey
patching or a new dependency, and at ~30 req/s the client's own CPU is small.)

Every request's status and latency is recorded (``--records FILE`` writes them as JSON
Lines). Failed: any non-2xx status, a connection error or timeout, and for a POST also a
reply whose report does not list every posted article as ``added``. Reported: total,
failed, p50/p95/p99 (nearest rank), mean and max latency and req/s for ``/ask`` and for
``POST /articles``; each worker's RSS (``VmRSS`` in ``/proc/PID/status`` of the gunicorn
master's children) when ready, before the load (after a warm-up: every question from
each of ``--workers`` connections), and after it, with the peak (``VmHWM``) and RSS sampled every 5 s during the run.
After the run every posted article is fetched (``GET /articles/<id>``, a new connection
each, so both workers answer) and must come back with its text; a sample of them is also
asked about (``/ask``) and must be among the reply's cited or listed sources. Whether a
worker was restarted during the run (its pid changed) is reported too.

Results: printed, appended to bench/results/load.json, written into docs/benchmarks.md
(section ``load``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import ROOT, append_result, machine, stop_server, write_section  # noqa: E402

QUESTIONS = ROOT.parent / "shared" / "eval" / "seed_dev_qa.jsonl"
RESULTS = ROOT / "bench" / "results" / "load.json"
TIMEOUT = 120.0  # seconds a client waits for one answer before counting it failed (gunicorn's worker timeout)
SAMPLE_SECONDS = 5.0
ERROR_MARKS = ('"level": "ERROR"', '"level": "CRITICAL"', "[ERROR]", "[CRITICAL]", "Traceback", "WORKER TIMEOUT")
ASK_CHECKS = 10  # posted articles asked about after the run

# Invented place names: one per posted article, so that a question about it has exactly one answer.
_SYLLABLES = ["dar", "vel", "mor", "quin", "zat", "lor", "bex", "tun", "ril", "gos", "han", "pew", "sul", "kef", "nim", "yor"]


def _place(n: int) -> str:
    """A distinct invented name for each ``n`` below 16**4 (scrambled, so that neighbours do not look alike)."""
    n = ((n + 1) * 40503) % len(_SYLLABLES) ** 4  # odd multiplier: one-to-one modulo 2**16
    parts = []
    for _ in range(4):
        parts.append(_SYLLABLES[n % len(_SYLLABLES)])
        n //= len(_SYLLABLES)
    return "".join(parts).capitalize()


def _article(run: str, n: int, today: str) -> dict:
    place = _place(n)
    return {"id": f"load-{run}-{n:05d}", "title": f"{place} council approves a tidal barrier",
            "publisher": "Load Test Gazette", "published_at": today, "url": f"https://load.example/{run}/{n}",
            "text": (f"The town council of {place} voted on Tuesday to build a tidal barrier across the harbour, "
                     f"the council's chair said. The barrier in {place} will cost {n + 3} million euros and take "
                     "four years to finish. Engineers said the harbour had flooded twice in the past decade. "
                     f"Residents of {place} will be asked to comment on the plans before work begins in spring.")}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    return ordered[max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))]


# ---- the server's processes -------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """The gunicorn master's worker processes (its children), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def _memory(pid: int) -> dict:
    """``VmRSS`` and ``VmHWM`` (peak RSS) of a process, in MiB; empty if it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    values = {line.split(":")[0]: int(line.split()[1]) for line in lines if line.startswith(("VmRSS", "VmHWM"))}
    return {"rss_mib": round(values["VmRSS"] / 1024, 1), "peak_mib": round(values["VmHWM"] / 1024, 1)}


def _workers_memory(master: int) -> dict[str, dict]:
    return {str(pid): _memory(pid) for pid in _children(master)}


def _wait_ready(port: int, proc: subprocess.Popen, workers: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"newsdesk serve exited with {proc.returncode} before it was ready")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200 and len(_children(proc.pid)) >= workers:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"newsdesk serve not ready after {timeout:.0f} s")


# ---- the load ----------------------------------------------------------------------------------


class Recorder:
    """Every request: what, when (seconds from the start of the load), how long, its status or error."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.lock = threading.Lock()
        self.started = time.perf_counter()

    def add(self, kind: str, began: float, status: int | None, error: str | None = None) -> None:
        """``error``: why the request failed (``None``: it succeeded)."""
        ms = 1000 * (time.perf_counter() - began)
        with self.lock:
            self.records.append({"kind": kind, "t": round(began - self.started, 3), "ms": round(ms, 2), "status": status,
                                 "ok": error is None, **({"error": error} if error else {})})


def _exchange(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None,
              headers: dict[str, str]) -> tuple[int, bytes]:
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def ask_client(port: int, questions: list[dict], offset: int, count: int, recorder: Recorder) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    headers = {"Content-Type": "application/json"}
    for i in range(count):
        body = json.dumps(questions[(offset + i) % len(questions)]).encode()
        began = time.perf_counter()
        try:
            status, payload = _exchange(conn, "POST", "/ask", body, headers)
        except (OSError, http.client.HTTPException) as exc:
            recorder.add("ask", began, None, f"{type(exc).__name__}: {exc}"[:300])
            conn.close()  # a new connection for the next request
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
            continue
        recorder.add("ask", began, status, None if 200 <= status < 300 else payload[:300].decode("utf-8", "replace"))
    conn.close()


def write_client(port: int, key: str, run: str, batch: int, interval: float, stop: threading.Event,
                 recorder: Recorder, posted: list[str]) -> None:
    """A JSON list of ``batch`` new articles every ``interval`` seconds until ``stop``; a new connection each
    (as separate writers would), so that both workers take writes and take turns at the index's writer lock."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    n = 0
    while not stop.is_set():
        articles = [_article(run, n + i, today) for i in range(batch)]
        n += batch
        began = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        try:
            status, payload = _exchange(conn, "POST", "/articles", json.dumps(articles).encode(), headers)
        except (OSError, http.client.HTTPException) as exc:
            recorder.add("post", began, None, f"{type(exc).__name__}: {exc}"[:300])
        else:
            error = None
            if 200 <= status < 300:
                added = set(json.loads(payload).get("added", []))
                missing = [a["id"] for a in articles if a["id"] not in added]
                error = f"not added: {missing} ({payload[:300].decode('utf-8', 'replace')})" if missing else None
                posted.extend(a["id"] for a in articles if a["id"] in added)
            else:
                error = payload[:300].decode("utf-8", "replace")
            recorder.add("post", began, status, error)
        finally:
            conn.close()
        stop.wait(max(0.0, interval - (time.perf_counter() - began)))


def sampler(master: int, stop: threading.Event, recorder: Recorder, samples: list[dict]) -> None:
    while not stop.wait(SAMPLE_SECONDS):
        samples.append({"t": round(time.perf_counter() - recorder.started, 1),
                        **{pid: m["rss_mib"] for pid, m in _workers_memory(master).items() if m}})


def run_load(port: int, master: int, key: str, questions: list[dict], args: argparse.Namespace, run: str) -> dict:
    recorder = Recorder()
    posted: list[str] = []
    samples: list[dict] = []
    stop_writes, stop_sampler = threading.Event(), threading.Event()
    per_client = [args.requests // args.clients + (1 if c < args.requests % args.clients else 0) for c in range(args.clients)]
    clients = [threading.Thread(target=ask_client, args=(port, questions, c * 7, per_client[c], recorder)) for c in range(args.clients)]
    writer = threading.Thread(target=write_client, args=(port, key, run, args.batch, args.write_interval, stop_writes, recorder, posted))
    watcher = threading.Thread(target=sampler, args=(master, stop_sampler, recorder, samples), daemon=True)
    recorder.started = time.perf_counter()
    for t in (watcher, writer, *clients):
        t.start()
    for t in clients:
        t.join()
    ask_seconds = time.perf_counter() - recorder.started
    stop_writes.set()
    writer.join()
    seconds = time.perf_counter() - recorder.started
    stop_sampler.set()
    return {"records": recorder.records, "posted": posted, "samples": samples, "ask_seconds": ask_seconds, "seconds": seconds}


def summarize(records: list[dict], kind: str, seconds: float) -> dict:
    mine = [r for r in records if r["kind"] == kind]
    ok = sorted(r["ms"] for r in mine if r["ok"])
    every = sorted(r["ms"] for r in mine)
    failed = [r for r in mine if not r["ok"]]
    statuses: dict[str, int] = {}
    for r in mine:
        statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
    out = {"total": len(mine), "failed": len(failed), "statuses": statuses, "req_per_s": round(len(mine) / seconds, 1)}
    if every:  # latency over every request, failed ones included (a timeout is a slow answer too)
        out.update({f"p{p}_ms": round(_percentile(every, p), 1) for p in (50, 95, 99)})
        out.update({"mean_ms": round(statistics.fmean(every), 1), "max_ms": round(every[-1], 1)})
    if ok and failed:
        out["ok_p50_ms"] = round(_percentile(ok, 50), 1)
    out["failures"] = [{k: r[k] for k in ("t", "ms", "status", "error") if k in r} for r in failed[:10]]
    return out


# ---- after the run -----------------------------------------------------------------------------


def check_posted(port: int, posted: list[str]) -> dict:
    """Every posted article fetched back (new connection each: both workers answer); a sample asked about."""
    missing: list[str] = []
    for article_id in posted:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            status, payload = _exchange(conn, "GET", f"/articles/{article_id}", None, {})
            if status != 200 or _place(int(article_id.rsplit("-", 1)[1])) not in json.loads(payload).get("text", ""):
                missing.append(f"{article_id}: {status}")
        except (OSError, http.client.HTTPException) as exc:
            missing.append(f"{article_id}: {type(exc).__name__}")
        finally:
            conn.close()
    asked, found, not_found = 0, 0, []
    step = max(1, len(posted) // ASK_CHECKS)
    for article_id in posted[::step][:ASK_CHECKS]:
        place = _place(int(article_id.rsplit("-", 1)[1]))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            status, payload = _exchange(conn, "POST", "/ask", json.dumps({"question": f"What did the council of {place} vote to build?"}).encode(),
                                        {"Content-Type": "application/json"})
        finally:
            conn.close()
        asked += 1
        reply = json.loads(payload) if status == 200 else {}
        ids = {c.get("article_id") for c in reply.get("citations", [])} | {s.get("article_id") for s in reply.get("sources", [])}
        if article_id in ids:
            found += 1
        else:
            not_found.append(f"{article_id}: status {status}, abstained {reply.get('abstained')}")
    return {"posted": len(posted), "fetched": len(posted) - len(missing), "missing": missing[:10],
            "asked": asked, "found_by_ask": found, "not_found_by_ask": not_found}


# ---- report ------------------------------------------------------------------------------------


def write_doc(result: dict, command: str) -> None:
    m = result["machine"]
    ask, post, check = result["ask"], result["post"], result["posted_check"]
    lines = ["## Load: `/ask` from 8 clients with concurrent `POST /articles` (`bench/load.py`)", "",
             f"Command: `{command}` (measured {result['date']}, {result['seconds']:.0f} s of load). Machine: {m['cpu']}, "
             f"{m['nproc']} cores, {m['memory_gib']} GiB; load average {m['load_average_at_start']:.2f} at start. Server: "
             f"`newsdesk serve` on the seeds ({result['articles_before']}), gunicorn {result['workers']} workers x "
             f"{result['threads']} threads (waitress), offline; **rate limits disabled for the test** "
             "(`NEWSDESK_RATE_LIMIT_PER_ADDRESS`, `_PER_KEY`, `_WRITES` empty). Load: this script's process on the same "
             f"2 cores over loopback: {result['clients']} keep-alive clients sending {result['requests']:,} `/ask` "
             f"(the {result['questions']} seed dev questions, cycled), and one client POSTing a JSON list of "
             f"{result['batch']} new articles every {result['write_interval']:g} s with a `write` key (a new connection "
             "each, so both workers take writes) until they were done. Failed: any non-2xx, connection error or timeout, or a POST whose report did not add every article. "
             "Latency: seen by the client, over every request.", "",
             "| requests | total | failed | p50 ms | p95 ms | p99 ms | mean ms | max ms | req/s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, r in (("`POST /ask`", ask), ("`POST /articles`", post)):
        lines.append(f"| {label} | {r['total']:,} | {r['failed']} | {r.get('p50_ms')} | {r.get('p95_ms')} | {r.get('p99_ms')} | "
                     f"{r.get('mean_ms')} | {r.get('max_ms')} | {r['req_per_s']} |")
    lines += ["", "Worker memory (RSS, MiB, from `/proc/PID/status` of the gunicorn master's children): when ready, "
              "before the load (after a warm-up: the questions from 2 connections), after it, and the peak (`VmHWM`).", "",
              "| worker pid | ready | before | after | after - before | peak |", "|---|---|---|---|---|---|"]
    for pid, after in result["memory_after"].items():
        ready, before = result["memory_ready"].get(pid, {}), result["memory_before"].get(pid, {})
        delta = round(after["rss_mib"] - before["rss_mib"], 1) if before and after else "n/a"
        lines.append(f"| {pid} | {ready.get('rss_mib', 'n/a')} | {before.get('rss_mib', 'n/a')} | {after.get('rss_mib', 'n/a')} | "
                     f"{delta} | {after.get('peak_mib', 'n/a')} |")
    samples = result.get("rss_samples", [])
    if len(samples) > 2:  # the trend: shortly after the first writes loaded the ingest models, and at the end
        early = next((x for x in samples if x["t"] >= 45), samples[0])
        workers = [pid for pid in early if pid != "t"]
        lines += ["", f"RSS sampled every {SAMPLE_SECONDS:g} s: at {early['t']:.0f} s "
                  f"{' / '.join(str(early[w]) for w in workers)} MiB, at {samples[-1]['t']:.0f} s "
                  f"{' / '.join(str(samples[-1].get(w)) for w in workers)} MiB. Most of the rise comes with the first "
                  "`POST /articles` a worker takes (its ingest pipeline: embedder and spaCy tagger, kept for later writes); "
                  f"the rest grew with the archive ({result['articles_before']} at start, "
                  f"{result['posted_check']['posted']:,} more posted)."]
    failed = ask["failed"] + post["failed"]
    restarted = "none" if not result["workers_restarted"] else f"{result['workers_restarted']} (pids changed)"
    lines += ["", f"Workers restarted during the run: {restarted}. Posted articles: {check['posted']:,} "
              f"({post['total']} POSTs); fetched back with their text (`GET /articles/<id>`): {check['fetched']:,}; "
              f"asked about (`/ask`, \"What did the council of <place> vote to build?\"): {check['found_by_ask']} of "
              f"{check['asked']} among the reply's citations or sources.", "",
              f"Result: **{failed} failed** of {ask['total'] + post['total']:,} requests; server log lines at ERROR or "
              f"worse: {result['server_error_lines']}."]
    write_section("load", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=10_000, help="/ask requests in all (default 10000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent /ask clients (default 8)")
    parser.add_argument("--batch", type=int, default=3, help="articles per POST /articles (default 3)")
    parser.add_argument("--write-interval", type=float, default=1.0, help="seconds between POSTs, start to start (default 1)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--records", type=Path, help="write every request's record here (JSON Lines)")
    parser.add_argument("--log", type=Path, help="keep the server's log (access lines and errors) here")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results and docs alone")
    args = parser.parse_args()
    questions = [{"question": json.loads(line)["question"]} for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    env = {**os.environ, "HAYSTACK_TELEMETRY_ENABLED": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "NEWSDESK_RATE_LIMIT_PER_ADDRESS": "", "NEWSDESK_RATE_LIMIT_PER_KEY": "", "NEWSDESK_RATE_LIMIT_WRITES": ""}
    threads = int(env.get("NEWSDESK_THREADS", "4"))
    cli = [sys.executable, "-m", "newsdesk.service.cli"]
    run = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S")
    with tempfile.TemporaryDirectory(prefix="newsdesk-bench-load-") as work:
        data = Path(work) / "data"
        env["NEWSDESK_DATA_DIR"] = str(data)
        print("indexing the seeds...", flush=True)
        subprocess.run([*cli, "ingest", "-q", str(ROOT / "seeds")], env=env, capture_output=True, text=True, check=True)
        key = subprocess.run([*cli, "keys", "create", "--scope", "write", "--name", "bench/load.py"], env=env,
                             capture_output=True, text=True, check=True).stdout.splitlines()[0].strip()
        port = _free_port()
        log_path = args.log or Path(work) / "server.log"
        log = open(log_path, "w")
        proc = subprocess.Popen([*cli, "serve", "--workers", str(args.workers)],
                                env={**env, "NEWSDESK_PORT": str(port), "NEWSDESK_HOST": "127.0.0.1"}, stdout=log, stderr=log)
        try:
            _wait_ready(port, proc, args.workers)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            status, payload = _exchange(conn, "GET", "/articles?limit=500", None, {})
            conn.close()
            articles_before = f"{len(json.loads(payload)['articles'])} articles" if status == 200 else "seeds"
            pids_before = _children(proc.pid)
            memory_ready = _workers_memory(proc.pid)
            print(f"serving on 127.0.0.1:{port}, workers {pids_before}; warming up...", flush=True)
            warm = Recorder()
            warmers = [threading.Thread(target=ask_client, args=(port, questions, c * len(questions), len(questions), warm))
                       for c in range(args.workers)]
            for t in warmers:
                t.start()
            for t in warmers:
                t.join()
            if not all(r["ok"] for r in warm.records):
                raise RuntimeError(f"warm-up failed: {[r for r in warm.records if not r['ok']][:3]}")
            memory_before = _workers_memory(proc.pid)
            result = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
                      "workers": args.workers, "threads": threads, "clients": args.clients, "requests": args.requests,
                      "batch": args.batch, "write_interval": args.write_interval, "questions": len(questions),
                      "articles_before": articles_before, "rate_limits": "disabled"}
            print(f"load: {args.requests} /ask from {args.clients} clients, POST /articles of {args.batch} every "
                  f"{args.write_interval:g} s...", flush=True)
            load = run_load(port, proc.pid, key, questions, args, run)
            memory_after = _workers_memory(proc.pid)
            pids_after = _children(proc.pid)
            print("checking the posted articles...", flush=True)
            check = check_posted(port, load["posted"])
        finally:
            stop_server(proc)
            log.close()
        if args.records:
            args.records.write_text("".join(json.dumps(r) + "\n" for r in load["records"]), encoding="utf-8")
        # the server's errors, if any, into the result (without --log, the log goes with the temporary folder)
        errors = [line[:500] for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines()
                  if any(mark in line for mark in ERROR_MARKS)]
        shutil.rmtree(data, ignore_errors=True)
    result.update({"seconds": round(load["seconds"], 1), "ask_seconds": round(load["ask_seconds"], 1),
                   "ask": summarize(load["records"], "ask", load["ask_seconds"]),
                   "post": summarize(load["records"], "post", load["seconds"]),
                   "memory_ready": memory_ready, "memory_before": memory_before, "memory_after": memory_after,
                   "rss_samples": load["samples"], "workers_restarted": sorted(set(pids_before) ^ set(pids_after)),
                   "posted_check": check, "server_errors": errors[:10], "server_error_lines": len(errors)})
    for name in ("ask", "post"):
        r = result[name]
        print(f"{'POST /ask' if name == 'ask' else 'POST /articles':15s} total {r['total']}, failed {r['failed']}, "
              f"p50 {r.get('p50_ms')} ms, p95 {r.get('p95_ms')} ms, p99 {r.get('p99_ms')} ms, max {r.get('max_ms')} ms, "
              f"{r['req_per_s']} req/s, statuses {r['statuses']}")
        for failure in r["failures"][:5]:
            print(f"    failed: {failure}")
    for pid in sorted(set(memory_before) | set(memory_after)):
        print(f"worker {pid}: RSS ready {memory_ready.get(pid, {}).get('rss_mib')} MiB, before {memory_before.get(pid, {}).get('rss_mib')} MiB, "
              f"after {memory_after.get(pid, {}).get('rss_mib')} MiB, peak {memory_after.get(pid, {}).get('peak_mib')} MiB")
    print(f"workers restarted: {result['workers_restarted'] or 'none'}; posted {check['posted']}, fetched back {check['fetched']}, "
          f"found by /ask {check['found_by_ask']}/{check['asked']}; server error lines {len(errors)}")
    if not args.no_write:
        append_result(RESULTS, result)
        write_doc(result, " ".join([".venv/bin/python bench/load.py", *sys.argv[1:]]))
        print(f"wrote {RESULTS.relative_to(ROOT)} and docs/benchmarks.md")


if __name__ == "__main__":
    main()
