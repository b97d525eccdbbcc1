"""Real servers for the tests: ``newsdesk serve`` (gunicorn) on a free 127.0.0.1 port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
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
def running(command: list[str], log: Path, ready_url: str, env: dict[str, str] | None = None) -> Iterator[None]:
    """A real server process, its output in ``log``, usable once ``ready_url`` answers; stopped after."""
    with open(log, "w") as handle:
        proc = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    try:
        wait_until_up(proc, ready_url, log)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def newsdesk_server(data_dir: Path, log: Path, **settings: str) -> Iterator[str]:
    """``newsdesk serve`` over ``data_dir`` (one worker unless told otherwise, no rate limits unless a test sets
    them: the evaluation sets send thousands of questions from one address); yields its base URL once ready."""
    port = free_port()
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(data_dir), "NEWSDESK_PORT": str(port), "NEWSDESK_HOST": "127.0.0.1",
           "NEWSDESK_WORKERS": "1", "NEWSDESK_THREADS": "4", "HAYSTACK_TELEMETRY_ENABLED": "False", "HF_HUB_OFFLINE": "1",
           "NEWSDESK_RATE_LIMIT_PER_ADDRESS": "", "NEWSDESK_RATE_LIMIT_PER_KEY": "", "NEWSDESK_RATE_LIMIT_WRITES": "",
           **{f"NEWSDESK_{k.upper()}": v for k, v in settings.items()}}
    base = f"http://127.0.0.1:{port}"
    with running([sys.executable, "-m", "newsdesk.service.cli", "serve"], log, base + "/healthz", env):
        yield base
