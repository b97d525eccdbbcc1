"""Cold start: from ``newsdesk serve`` to a ready server and its first answer, on a large index.

    .venv/bin/python bench/cold_start.py --data /tmp/synth/h100k-hnsw --index-type hnsw [--runs 3] [--previous REV [--previous-data DIR]]

Each run starts ``newsdesk serve`` (gunicorn, ``NEWSDESK_WORKERS`` workers) over ``--data`` and
times, from the moment the process is started: ``/readyz`` answering 200 (the index open, the
model and the query pipeline loaded in the worker that answers), and the first ``/ask`` answered
right after. The page cache is warm (a restart on the same machine); with ``--drop-caches`` (root
only) each run first drops it, as after a reboot. In the same run, the vectors folder is loaded
both ways in this process: memory-mapped (``VectorIndex.load``, what the service does) and read
into memory (``faiss.read_index`` without the map, as the service did before), for the ratio.
With ``--previous REV``, each run also starts the code committed at ``REV`` on the same index, or on
``--previous-data`` (a copy as that code left it, when this code has migrated ``--data`` to a newer
schema), alternating, so both see the same machine, for the ready-time ratio.
Results: printed, appended to bench/results/cold_start.json and the ``cold-start`` section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ask import _chunks, _free_port  # noqa: E402
from report import ROOT, append_result, machine, previous_release, stop_server, write_section  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "cold_start.json"
TARGET_S = 3.0  # issue 14: cold start to ready with the 100k index


def _drop_caches() -> None:
    subprocess.run(["sync"], check=True)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def one_start(data: Path, index_type: str, pythonpath: Path | None = None) -> dict:
    """``newsdesk serve`` started over ``data`` (the code on ``pythonpath``, else this checkout's), timed."""
    port = _free_port()
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(data), "NEWSDESK_INDEX_TYPE": index_type, "NEWSDESK_PORT": str(port),
           "NEWSDESK_HOST": "127.0.0.1", "HAYSTACK_TELEMETRY_ENABLED": "False",
           **({"PYTHONPATH": str(pythonpath)} if pythonpath else {})}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "newsdesk.service.cli", "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = None
        while ready is None:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}")
            if time.perf_counter() - started > 300:
                raise RuntimeError("not ready after 300 s")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    ready = time.perf_counter() - started
                conn.close()
            except OSError:
                time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("POST", "/ask", body=json.dumps({"question": "Who was the founder of the Oracle Corporation?"}),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"/ask answered {response.status}")
        return {"ready_s": round(ready, 2), "first_answer_s": round(time.perf_counter() - started, 2)}
    finally:
        stop_server(proc)


def vector_loads(data: Path, index_type: str) -> dict:
    """Load the newest vectors folder memory-mapped and read into memory, side by side."""
    import faiss

    from newsdesk.index.store.vectorfiles import saved_folders
    from newsdesk.index.vectors import INDEX_FILE, VectorIndex

    folder = saved_folders(data)[-1]
    started = time.perf_counter()
    VectorIndex.load(folder, 384)
    mapped = time.perf_counter() - started
    started = time.perf_counter()
    faiss.read_index(str(folder / INDEX_FILE))
    read = time.perf_counter() - started
    return {"mapped_s": round(mapped, 3), "read_s": round(read, 3), "size_mib": round((folder / INDEX_FILE).stat().st_size / 2**20)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--index-type", default="flat")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--drop-caches", action="store_true", help="drop the page cache before each run (root)")
    parser.add_argument("--previous", metavar="REV", help="also start the code at this git revision, alternating")
    parser.add_argument("--previous-data", type=Path, help="the index the previous code starts on (default: --data)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsdesk-cold-start-") as work:
        run(args, previous_release(args.previous, Path(work)) if args.previous else None)


def run(args: argparse.Namespace, previous: Path | None) -> None:
    result = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(), "data": str(args.data),
              "passages": _chunks(args.data), "index_type": args.index_type, "workers": int(os.environ.get("NEWSDESK_WORKERS", "2")),
              "drop_caches": args.drop_caches, "runs": [], "loads": [], "previous_rev": args.previous, "previous_runs": []}
    for _ in range(args.runs):
        if args.drop_caches:
            _drop_caches()
        result["loads"].append(vector_loads(args.data, args.index_type))
        if args.drop_caches:
            _drop_caches()
        result["runs"].append(run := one_start(args.data, args.index_type))
        print(f"ready {run['ready_s']} s, first answer {run['first_answer_s']} s; vectors mapped {result['loads'][-1]['mapped_s']} s, "
              f"read {result['loads'][-1]['read_s']} s", flush=True)
        if previous:
            if args.drop_caches:
                _drop_caches()
            result["previous_runs"].append(before := one_start(args.previous_data or args.data, args.index_type, previous))
            print(f"previous ({args.previous}): ready {before['ready_s']} s, first answer {before['first_answer_s']} s", flush=True)
    ready = statistics.median(r["ready_s"] for r in result["runs"])
    first = statistics.median(r["first_answer_s"] for r in result["runs"])
    mapped = statistics.median(r["mapped_s"] for r in result["loads"])
    read = statistics.median(r["read_s"] for r in result["loads"])
    load_ratio = mapped / read if read else float("nan")  # a tiny index loads in under a millisecond both ways
    print(f"median: ready {ready} s, first answer {first} s; vectors load mapped/read = {load_ratio:.3f}")
    compared = []
    if previous:
        ready_before = statistics.median(r["ready_s"] for r in result["previous_runs"])
        first_before = statistics.median(r["first_answer_s"] for r in result["previous_runs"])
        ready_ratio, first_ratio = ready / ready_before, first / first_before
        print(f"previous ({args.previous}) median: ready {ready_before} s, first answer {first_before} s; "
              f"ready ratio {ready_ratio:.3f}")
        compared = [f"| `/readyz` 200, the previous release ({args.previous}) | {ready_before} |",
                    f"| the first `/ask` answered, the previous release ({args.previous}) | {first_before} |"]
    if args.no_write:
        return
    append_result(RESULTS, result)
    m = result["machine"]
    write_section("cold-start", [
        "## Cold start (`bench/cold_start.py`, issue 14)", "",
        f"Command: `.venv/bin/python bench/cold_start.py {' '.join(sys.argv[1:])}` (measured {result['date']}). Machine: {m['cpu']}, "
        f"{m['nproc']} cores. Index: {result['passages']:,} passages ({args.index_type}, vectors folder "
        f"{result['loads'][0]['size_mib']:,} MiB); gunicorn {result['workers']} workers; page cache "
        f"{'dropped before each run' if args.drop_caches else 'warm (a restart on the same machine)'}; {args.runs} runs, medians.", "",
        "| from `newsdesk serve` to | seconds |", "|---|---|",
        f"| `/readyz` 200 | {ready} |", f"| the first `/ask` answered | {first} |", *compared, "",
        *([f"Against the previous release ({args.previous}), runs alternating in one session: ready ratio "
           f"{ready_ratio:.3f}, first answer ratio {first_ratio:.3f} (below 1: faster).", ""] if previous else []),
        f"Target: ready ≤ {TARGET_S:.0f} s: {'met' if ready <= TARGET_S else 'NOT met'}. Loading the vectors folder memory-mapped "
        f"(checksums included) took {mapped} s against {read} s read into memory (the service before this change), "
        f"ratio {load_ratio:.3f}, same run."])
    print(f"wrote {RESULTS.relative_to(ROOT)} and docs/benchmarks.md")


if __name__ == "__main__":
    main()
