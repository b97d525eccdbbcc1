"""``/ask`` on the PostgreSQL store, with 1 and 2 service nodes and 0 and 1 read replicas, beside the SQLite store.

    .venv/bin/python bench/ask_postgres.py --data /tmp/synth/h100k --questions /tmp/synth/q100k.jsonl \\
        [--index-type flat] [--requests 200] [--postgres /tmp/pgbench] [--no-write]

``--data`` is an embedded index built beforehand (``bench/synth_archive.py``); it is copied into a new
PostgreSQL 18 + pgvector primary (``newsdesk copy-index``: the copy and the HNSW build are timed),
a streaming replica is made of it (``pg_basebackup``), both on loopback (the servers of the tests,
``tests/pg_servers.py``). With ``--postgres DIR`` the servers and their data are kept in DIR and
reused by the next run (the copy is skipped when DIR holds one). Then, one after another, never
side by side:

* ``sqlite``: ``newsdesk serve`` over ``--data`` (the embedded store, ``--index-type``);
* ``pg 1 node``, ``pg 1 node + 1 replica``, ``pg 2 nodes``, ``pg 2 nodes + 1 replica``: ``newsdesk serve``
  with ``NEWSDESK_DATABASE_URL`` (and ``NEWSDESK_DATABASE_REPLICA_URLS``), the second node on 127.0.0.2.

Each configuration is warmed up, then asked ``--requests`` questions by one client (the first
node) and by 8 concurrent clients (spread over the nodes), with bench/ask.py's client and the
same gunicorn set-up (``NEWSDESK_WORKERS`` x ``NEWSDESK_THREADS`` per node), rate limits off.
Everything shares one 2-core machine: the primary, the replica, the nodes and the load
generator, so the figures compare the stores and the topologies, they do not show what more
machines would add. Results: printed, appended to bench/results/ask_postgres.json, and the
``ask-postgres`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ask import _chunks, _free_port, _request, _wait_ready, warm_and_measure  # noqa: E402
from report import ROOT, append_result, machine, stop_server, write_section  # noqa: E402

sys.path.insert(0, str(ROOT))
from tests.pg_servers import PostgresServer, create_database, start_existing, start_primary, start_replica  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "ask_postgres.json"
DATABASE = "archive"


def prepare(data: Path, folder: Path) -> tuple[PostgresServer, PostgresServer, dict]:
    """The primary with ``data`` copied in (or reused), and a replica of it; the copy's figures."""
    from newsdesk.index.store.postgres.copy import copy_index
    from newsdesk.service.config import Settings

    saved = folder / "copy.json"
    if saved.exists():
        copied = json.loads(saved.read_text())
        primary = start_existing(folder / "primary", "127.0.0.1", copied["primary_port"])
        replica = start_existing(folder / "replica-set" / "replica", "127.0.0.2", copied["replica_port"])
        return primary, replica, copied
    primary = start_primary(folder)
    url = create_database(primary, DATABASE)
    settings = Settings.from_env()
    with dataclasses.replace(settings, data_dir=data, database_url="").open_store() as source, \
            dataclasses.replace(settings, database_url=url).open_store(writer=True) as target:
        steps: list[tuple[float, str]] = []
        started = time.perf_counter()
        seconds = copy_index(source, target, progress=lambda step: (steps.append((time.perf_counter() - started, step)),
                                                                     print(f"  {step}", flush=True)))
        counts = target.counts()
        size = target.database_bytes()
    built = {step: t for t, step in steps}
    copied = {"seconds": round(seconds, 1), "passages": counts.chunks, "vectors": counts.vectors, "database_bytes": size,
              "hnsw_build_seconds": round(built["building chunks_search"] - built["building vectors_hnsw"], 1)}
    started = time.perf_counter()
    replica = start_replica(primary, folder / "replica-set", host="127.0.0.2")
    copied.update(replica_seconds=round(time.perf_counter() - started, 1), primary_port=primary.port, replica_port=replica.port)
    saved.write_text(json.dumps(copied))
    return primary, replica, copied


def serve(env: dict[str, str], hosts: list[str], work: Path) -> tuple[list[tuple[str, int]], list[subprocess.Popen]]:
    servers, procs = [], []
    for host in hosts:
        port = _free_port()
        with open(work / "servers.log", "a") as log:
            procs.append(subprocess.Popen([sys.executable, "-m", "newsdesk.service.cli", "serve"], cwd=work, stdout=subprocess.DEVNULL,
                                          stderr=log, env={**env, "NEWSDESK_HOST": host, "NEWSDESK_PORT": str(port),
                                                           "NEWSDESK_DATA_DIR": env.get("NEWSDESK_DATA_DIR") or str(work / host)}))
        servers.append((host, port))
    return servers, procs


def run_configuration(name: str, env: dict[str, str], hosts: list[str], questions: list[dict], requests: int, work: Path) -> dict:
    print(f"{name}:", flush=True)
    servers, procs = serve(env, hosts, work)
    try:
        for (host, port), proc in zip(servers, procs):
            _wait_ready(port, proc, "/readyz", timeout=600, host=host)
        return warm_and_measure(servers, questions, int(env.get("NEWSDESK_WORKERS", "2")), requests)
    finally:
        for proc in procs:
            stop_server(proc)


def write_doc(result: dict, command: str) -> None:
    m, c = result["machine"], result["copy"]
    lines = ["## /ask on the PostgreSQL store: nodes and replicas (issue 15)", "",
             f"Machine: {m['cpu']}, {m['nproc']} cores, {m['memory_gib']} GiB, shared by everything below (load average "
             f"{m['load_average_at_start']:.2f} at start). Run {result['date']}.", "",
             f"Command: `{command}`. Archive: {result['passages']:,} passages (`bench/synth_archive.py`, hashed vectors: latency "
             f"only, never quality), copied into PostgreSQL by `newsdesk copy-index` in {c['seconds']} s "
             f"({c['vectors']:,} halfvec vectors; HNSW build {c['hnsw_build_seconds']} s; database "
             f"{c['database_bytes'] / 2**30:.2f} GiB). Every configuration served alone, one after another; each node "
             f"`NEWSDESK_WORKERS`={result['workers']} x `NEWSDESK_THREADS`={result['threads']}; 1 client asks the first node, "
             "8 clients are spread over the nodes; 0 errors in every run (a failed request stops the bench).", "",
             "| configuration | 1 client p50 / p95 ms | 1 client req/s | 8 clients p50 / p95 ms | 8 clients req/s | 8 clients vs SQLite |",
             "|---|---|---|---|---|---|"]
    base = result["runs"]["sqlite"]["8"]["req_per_s"]
    for name, run in result["runs"].items():
        one, eight = run["1"], run["8"]
        lines.append(f"| {name} | {one['p50_ms']} / {one['p95_ms']} | {one['req_per_s']} | {eight['p50_ms']} / {eight['p95_ms']} | "
                     f"{eight['req_per_s']} | {eight['req_per_s'] / base:.2f}x |")
    write_section("ask-postgres", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="an embedded index (bench/synth_archive.py)")
    parser.add_argument("--questions", type=Path, required=True, help="JSON Lines: question, and as_of")
    parser.add_argument("--index-type", default="flat", help="the FAISS index type --data was built with")
    parser.add_argument("--requests", type=int, default=200, help="requests per measurement (default 200)")
    parser.add_argument("--postgres", type=Path, help="keep the PostgreSQL servers' data here, and reuse it next time")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results and docs alone")
    args = parser.parse_args()
    questions = [_request(json.loads(line)) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    base_env = {**os.environ, "HAYSTACK_TELEMETRY_ENABLED": "False", "NEWSDESK_RATE_LIMIT_PER_ADDRESS": "",
                "NEWSDESK_RATE_LIMIT_PER_KEY": "", "NEWSDESK_RATE_LIMIT_WRITES": ""}
    result = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
              "passages": _chunks(args.data), "workers": int(base_env.get("NEWSDESK_WORKERS", "2")),
              "threads": int(base_env.get("NEWSDESK_THREADS", "4")), "runs": {}}
    with tempfile.TemporaryDirectory(prefix="newsdesk-ask-postgres-") as tmp:
        work = Path(tmp)
        folder = args.postgres or work / "postgres"
        primary, replica, result["copy"] = prepare(args.data, folder)
        try:
            url, replica_url = primary.url(DATABASE), replica.url(DATABASE)
            sqlite_env = {**base_env, "NEWSDESK_DATA_DIR": str(args.data), "NEWSDESK_INDEX_TYPE": args.index_type}
            result["runs"]["sqlite"] = run_configuration("sqlite", sqlite_env, ["127.0.0.1"], questions, args.requests, work)
            for nodes in (1, 2):
                for replicas in (0, 1):
                    env = {**base_env, "NEWSDESK_DATABASE_URL": url, "NEWSDESK_DATABASE_REPLICA_URLS": replica_url if replicas else "",
                           "NEWSDESK_DATA_DIR": ""}
                    name = f"postgres, {nodes} node{'s' if nodes > 1 else ''}, {replicas} replica{'' if replicas == 1 else 's'}"
                    result["runs"][name] = run_configuration(name, env, ["127.0.0.1", "127.0.0.2"][:nodes], questions, args.requests, work)
        finally:
            replica.stop()
            primary.stop()
    command = "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    print(json.dumps(result["runs"], indent=1))
    if not args.no_write:
        append_result(RESULTS, result)
        write_doc(result, command)


if __name__ == "__main__":
    main()
