"""Everything works with the network unreachable, and without being told to be offline.

Each command runs under ``unshare -n``: a fresh network namespace whose only interface is
a loopback, so no host (model hub, tokenizer download, telemetry) can be reached. HOME,
the Hugging Face cache and the tiktoken cache point at empty folders, so nothing cached
on this machine can stand in for bundled files; and ``HF_HUB_OFFLINE`` is *not* set: the
product must force offline mode itself.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS

BIN = Path(sys.executable).parent


def _unshare_works() -> str | None:
    if shutil.which("unshare") is None:
        return "`unshare` is not installed"
    try:
        probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True, timeout=30)
    except OSError as exc:
        return f"`unshare -n true` cannot run: {exc}"
    if probe.returncode != 0:
        return f"`unshare -n true` failed (needs root or user namespaces): {probe.stderr.strip()}"
    return None


_REASON = _unshare_works()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(_REASON is not None, reason=f"cannot cut the network off: {_REASON}")]

# Variables that would tell the product to stay offline, or point it at caches that exist here.
_OFFLINE_HINTS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HAYSTACK_TELEMETRY_ENABLED",
                  "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE", "SENTENCE_TRANSFORMERS_HOME",
                  "XDG_CACHE_HOME", "TORCH_HOME", "DATA_GYM_CACHE_DIR", "NEWSDESK_DATA_DIR")


def offline_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _OFFLINE_HINTS}
    for name in ("home", "hf-home", "tiktoken-cache", "xdg-cache"):
        (tmp_path / name).mkdir()
    env.update(HOME=str(tmp_path / "home"), HF_HOME=str(tmp_path / "hf-home"),
               TIKTOKEN_CACHE_DIR=str(tmp_path / "tiktoken-cache"), XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
               NEWSDESK_DATA_DIR=str(tmp_path / "data"), PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    return env


def run_offline(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``args`` in a new network namespace (loopback up, nothing else)."""
    script = 'ip link set lo up 2>/dev/null || true; exec "$@"'
    return subprocess.run(["unshare", "-n", "sh", "-c", script, "sh", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_the_namespace_has_no_network(tmp_path: Path) -> None:
    probe = ("import socket\n"
             "for host, port in (('pypi.org', 443), ('1.1.1.1', 443), ('huggingface.co', 443)):\n"
             "    try:\n"
             "        socket.create_connection((host, port), timeout=5).close()\n"
             "        print('reached', host)\n"
             "    except OSError as exc:\n"
             "        print('unreachable', host, type(exc).__name__)\n")
    result = run_offline([sys.executable, "-c", probe], offline_env(tmp_path), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "reached" not in result.stdout.replace("unreachable", ""), result.stdout
    assert result.stdout.count("unreachable") == 3


def test_ingest_and_search_work_without_network(tmp_path: Path) -> None:
    env = offline_env(tmp_path)
    ingest = run_offline([str(BIN / "newsdesk"), "ingest", str(SEEDS)], env)
    assert ingest.returncode == 0, f"stdout:\n{ingest.stdout}\nstderr:\n{ingest.stderr}"
    assert "added 5," in ingest.stdout and "skipped 0;" in ingest.stdout
    assert (tmp_path / "data" / "newsdesk.sqlite3").exists()

    search = run_offline([str(BIN / "newsdesk"), "search", "-k", "3", "Stoltenberg", "prepared", "for", "the", "worst"], env)
    assert search.returncode == 0, f"stdout:\n{search.stdout}\nstderr:\n{search.stderr}"
    results = [line for line in search.stdout.splitlines() if line[:3] in ("1. ", "2. ", "3. ")]
    assert len(results) == 3, search.stdout
    assert all("fused" in line and "chars" in line for line in results)
    # Nothing was fetched into the empty caches. tiktoken caches even local files, under the
    # sha1 of their path: only copies of the tokenizer files bundled in tiktoken_ext may appear.
    assert not any((tmp_path / "hf-home").rglob("*")), sorted((tmp_path / "hf-home").rglob("*"))
    bundled = {hashlib.sha1(str(p).encode()).hexdigest() for p in _bundled_tiktoken_files()}
    cached = {p.name for p in (tmp_path / "tiktoken-cache").rglob("*") if p.is_file()}
    assert cached <= bundled, f"tiktoken cached something not bundled: {sorted(cached - bundled)}"


def _bundled_tiktoken_files() -> list[Path]:
    import tiktoken_ext

    return [p for folder in tiktoken_ext.__path__ for p in Path(folder).rglob("*.tiktoken")]


def test_the_test_suite_runs_without_network(tmp_path: Path) -> None:
    """The suite's own fixtures (real model, seed index) need no network either."""
    env = offline_env(tmp_path)
    result = run_offline([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/index/test_ingest.py"], env)
    assert result.returncode == 0, f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
    assert " passed" in result.stdout and " failed" not in result.stdout
