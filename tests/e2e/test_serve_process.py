"""``newsdesk serve`` as a process: its flags, what it leaves on the machine, and how it stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import DEFAULTS
from tests.servers import free_port, send_body, stop, wait_until_up


def _env(data_dir: Path, tmp_path: Path, **settings: str) -> dict[str, str]:
    home, runtime = tmp_path / "home", tmp_path / "runtime"
    home.mkdir(exist_ok=True)
    runtime.mkdir(exist_ok=True)
    return {**os.environ, "NEWSDESK_DATA_DIR": str(data_dir), "NEWSDESK_HOST": "127.0.0.1", "NEWSDESK_WORKERS": "1",
            "NEWSDESK_THREADS": "4", "HAYSTACK_TELEMETRY_ENABLED": "False", "HF_HUB_OFFLINE": "1",
            "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime), **{f"NEWSDESK_{k.upper()}": v for k, v in settings.items()}}


def test_flags_override_the_settings_and_no_control_socket_is_left(tmp_path: Path) -> None:
    port, unused = free_port(), free_port()
    log = tmp_path / "server.log"
    env = _env(tmp_path / "empty", tmp_path, port=str(unused), host="192.0.2.1", workers="1")
    with open(log, "w") as handle:
        proc = subprocess.Popen([sys.executable, "-m", "newsdesk.service.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", "2"], env=env, stdout=handle, stderr=subprocess.STDOUT)
    try:
        wait_until_up(proc, f"http://127.0.0.1:{port}/healthz", log)
        deadline = time.monotonic() + 60
        while log.read_text().count("Booting worker") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert log.read_text().count("Booting worker") == 2
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{unused}/healthz", timeout=2)
        # gunicorn's control socket would be $XDG_RUNTIME_DIR/gunicorn.ctl (else ~/.gunicorn/gunicorn.ctl), one per
        # user, taken over by every new instance: none is made.
        assert list((tmp_path / "runtime").iterdir()) == [] and list((tmp_path / "home").iterdir()) == []
    finally:
        stop(proc)
    bad = subprocess.run([sys.executable, "-m", "newsdesk.service.cli", "serve", "--port", "0"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "must be at least 1" in bad.stderr


class _SlowLLM(BaseHTTPRequestHandler):
    """An OpenAI-compatible server that takes its time and then fails: the answer falls back to extractive."""

    asked = threading.Event()
    release = threading.Event()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _SlowLLM.asked.set()
        _SlowLLM.release.wait(30)
        send_body(self, 503, b'{"error": {"message": "busy"}}', "application/json")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_llm() -> Iterator[str]:
    _SlowLLM.asked.clear()
    _SlowLLM.release.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowLLM)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        _SlowLLM.release.set()
        server.shutdown()


def test_sigterm_during_a_request_still_answers_it(seed_copy: Path, tmp_path: Path, slow_llm: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with open(log, "w") as handle:
        proc = subprocess.Popen([sys.executable, "-m", "newsdesk.service.cli", "serve"], stdout=handle, stderr=subprocess.STDOUT,
                                env=_env(seed_copy, tmp_path, port=str(port), llm_base_url=slow_llm, llm_model="m"))
    try:
        wait_until_up(proc, base + "/readyz", log)
        result: dict[str, object] = {}

        def ask() -> None:
            try:
                result["response"] = httpx.post(base + "/ask", json={"question": "What did Peskov say?", "mode": "llm"}, timeout=60)
            except httpx.HTTPError as exc:
                result["response"] = exc

        client = threading.Thread(target=ask)
        client.start()
        assert _SlowLLM.asked.wait(60), log.read_text()[-2000:]  # the request is in flight, waiting on the LLM
        proc.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        with pytest.raises(httpx.ConnectError):  # stopping: no new connections
            httpx.get(base + "/healthz", timeout=2)
        _SlowLLM.release.set()
        client.join(60)
        response = result["response"]
        assert isinstance(response, httpx.Response), response
        body = response.json()
        assert response.status_code == 200 and body["citations"] and not body["abstained"], body
        assert any("LLM unavailable" in w for w in body["warnings"])
        assert proc.wait(timeout=30) == 0
    finally:
        stop(proc)


def test_the_server_answers_without_ever_loading_torch(seed_copy: Path, tmp_path: Path) -> None:
    """Haystack would import torch (2 s of every start); the service runs the model with ONNX Runtime."""
    import psutil

    port, log = free_port(), tmp_path / "server.log"
    with open(log, "w") as handle:
        proc = subprocess.Popen([sys.executable, "-m", "newsdesk.service.cli", "serve", "--port", str(port)],
                                env=_env(seed_copy, tmp_path, model_cache_dir=str(DEFAULTS.model_cache_dir.expanduser())),
                                stdout=handle, stderr=subprocess.STDOUT)  # the model file the seed index was built with
    try:
        wait_until_up(proc, f"http://127.0.0.1:{port}/readyz", log)
        reply = httpx.post(f"http://127.0.0.1:{port}/ask", json={"question": "Who said 'we are also prepared for the worst'?"},
                           timeout=60).json()
        assert "Stoltenberg" in reply["answer"] and reply["citations"]
        processes = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        assert len(processes) >= 2  # the arbiter and its worker
        for process in processes:
            mapped = {m.path for m in process.memory_maps()}
            assert any("onnxruntime" in path for path in mapped) or process.pid == proc.pid
            assert not [path for path in mapped if "libtorch" in path], f"{process.pid} loaded torch"
    finally:
        stop(proc)
