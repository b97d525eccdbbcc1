"""Stalled clients against the HTTP server set-ups ``newsdesk serve`` could use (issue 13).

    .venv/bin/python bench/serve_connections.py                  # gthread, then newsdesk serve, interleaved, 2 rounds
    .venv/bin/python bench/serve_connections.py --workers 2 --rounds 3 --kinds gthread newsdesk gevent

The seeds are indexed into a temporary folder; each kind is started on 127.0.0.1 over it:

* ``newsdesk``: ``newsdesk serve`` as it is (gunicorn's arbiter, waitress in each worker);
* ``gthread``: the same app under gunicorn's threaded worker (``newsdesk serve`` before issue 13);
* ``gevent``: the same app under gunicorn's gevent worker (needs ``pip install gevent``; not a dependency).

Each is warmed up (every seed question once), then measured: 60 sequential ``/ask`` (p50), 8
concurrent clients x 20 ``/ask`` (p50, p95, req/s), and 16 stalled clients (half a request line;
headers announcing 100 body bytes then 12; unfinished headers) held open while 2 other clients ask
(seconds to each answer, or the error after 20 s). One JSON line per server run.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT.parent / "shared" / "eval" / "seed_dev_qa.jsonl"
STALLED = (b"POST /as", b"POST /ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
           b'{"question":', b"GET /healthz HTTP/1.1\r\nHost: x\r\n")


def run_server(kind: str, port: int) -> None:
    """The server of one kind, in this process (the child of :func:`measure`)."""
    from newsdesk.service.config import Settings
    from newsdesk.service.serve import GunicornApp, serve

    settings = dataclasses.replace(Settings.from_env(), host="127.0.0.1", port=port)
    if kind == "newsdesk":
        serve(settings)
        return

    def load():  # noqa: ANN202
        from newsdesk.service.http import create_app

        return create_app(settings.for_worker())

    GunicornApp(load, {"bind": f"127.0.0.1:{port}", "workers": settings.workers, "threads": settings.threads, "worker_class": kind,
                       "timeout": 120, "graceful_timeout": 10, "control_socket_disable": True}).run()


def _post(conn: http.client.HTTPConnection, question: str) -> float:
    started = time.perf_counter()
    conn.request("POST", "/ask", json.dumps({"question": question}), {"Content-Type": "application/json"})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"{response.status}: {body[:200]!r}")
    return time.perf_counter() - started


def measure(kind: str, data: Path, workers: int, threads: int, questions: list[str]) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(data), "NEWSDESK_WORKERS": str(workers), "NEWSDESK_THREADS": str(threads),
           "HF_HUB_OFFLINE": "1", "HAYSTACK_TELEMETRY_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result: dict = {"kind": kind, "workers": workers, "threads": threads, "load_average": os.getloadavg()[0]}
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{kind} did not start")
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                probe.request("GET", "/readyz")
                if probe.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for q in questions:
            _post(conn, q)
        result["sequential_p50_ms"] = round(statistics.median(_post(conn, questions[i % len(questions)]) for i in range(60)) * 1000, 1)
        latencies: list[float] = []

        def client(k: int) -> None:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            latencies.extend(_post(c, questions[(7 * k + i) % len(questions)]) for i in range(20))

        started = time.perf_counter()
        clients = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        latencies.sort()
        result.update(c8_p50_ms=round(statistics.median(latencies) * 1000, 1), c8_p95_ms=round(latencies[int(0.95 * len(latencies))] * 1000, 1),
                      c8_req_per_s=round(len(latencies) / (time.perf_counter() - started), 1))
        stalled = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
        for i, s in enumerate(stalled):
            s.sendall(STALLED[i % 3])
        time.sleep(1.0)
        answers: dict[int, object] = {}

        def good(k: int) -> None:
            started = time.perf_counter()
            try:
                _post(http.client.HTTPConnection("127.0.0.1", port, timeout=20), questions[k])
                answers[k] = round(time.perf_counter() - started, 2)
            except Exception as exc:  # reported as measured
                answers[k] = f"{type(exc).__name__} after {time.perf_counter() - started:.1f} s"

        goods = [threading.Thread(target=good, args=(k,)) for k in range(2)]
        for g in goods:
            g.start()
        for g in goods:
            g.join()
        result["stalled16_two_others_s"] = [answers[0], answers[1]]
        for s in stalled:
            s.close()
        return result
    finally:
        proc.terminate()
        proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", nargs="+", default=["gthread", "newsdesk"], choices=["gthread", "newsdesk", "gevent"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--serve", nargs=2, metavar=("KIND", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        run_server(args.serve[0], int(args.serve[1]))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from newsdesk.index.ingest import ingest
    from newsdesk.service.config import Settings

    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / "data"
        settings = Settings()
        with settings.open_store(data, writer=True) as store:
            ingest([ROOT / "seeds"], store, settings.ingest_options(), progress=False)
        for _ in range(args.rounds):
            for kind in args.kinds:
                print(json.dumps(measure(kind, data, args.workers, args.threads, questions)), flush=True)


if __name__ == "__main__":
    main()
