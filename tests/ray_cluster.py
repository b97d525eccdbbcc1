"""A real local Ray cluster for the tests: a head on 127.0.0.2 and a worker node on 127.0.0.3, one CPU each."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.servers import free_port

RAY = str(Path(sys.executable).with_name("ray"))
ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}


def _ray(*args: str) -> None:
    done = subprocess.run([RAY, *args], env=ENV, capture_output=True, text=True, timeout=180)
    if done.returncode:
        raise RuntimeError(f"ray {' '.join(args)} failed: {(done.stdout + done.stderr)[-3000:]}")


@contextlib.contextmanager
def ray_cluster() -> Iterator[str]:
    """Two Ray nodes on two loopback addresses; yields the head's address (``host:port``); stops them after."""
    port = free_port()
    try:
        _ray("start", "--head", "--node-ip-address=127.0.0.2", f"--port={port}", "--num-cpus=1", "--include-dashboard=false",
             "--disable-usage-stats")
        _ray("start", f"--address=127.0.0.2:{port}", "--node-ip-address=127.0.0.3", "--num-cpus=1", "--disable-usage-stats")
        yield f"127.0.0.2:{port}"
    finally:
        subprocess.run([RAY, "stop", "--force"], env=ENV, capture_output=True, timeout=120)
