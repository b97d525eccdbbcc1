"""The `newsdesk` command as a user runs it: a real process, real index."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

import pytest

from newsdesk.index.store import ArticleStore
from newsdesk.service.cli import main
from tests.conftest import ROOT, open_store


def run_cli(data_dir: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(data_dir), "HAYSTACK_TELEMETRY_ENABLED": "False", "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "newsdesk.service.cli", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


def test_search_prints_passages_with_offsets_into_the_original(seed_index: Path) -> None:
    result = run_cli(seed_index, "search", "-k", "3", "Stoltenberg prepared for the worst")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    heads = [line for line in lines if re.match(r"^\d+\. \[", line)]
    assert len(heads) == 3
    first = re.match(r"^1\. \[(?P<id>[^\]]+)\] .* \| chars (?P<start>\d+)-(?P<end>\d+) \| fused [\d.]+ dense ([\d.]+|-) bm25 ([\d.]+|-)$", heads[0])
    assert first, heads[0]
    assert first["id"] == "002_45b39b5889d0e37c"
    raw = open_store(seed_index).article(first["id"]).raw_text
    passage = raw[int(first["start"]):int(first["end"])]
    assert "prepared for the worst" in passage
    assert " ".join(passage.split())[:100] in lines[lines.index(heads[0]) + 1]


def test_interactive_search_reads_queries_until_empty_line(seed_index: Path) -> None:
    result = run_cli(seed_index, "search", stdin="Geneva talks\nOHCHR civilian casualties\n\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("search> ") >= 2
    assert "003_f9095a6aa4cb8e46" in result.stdout


def test_search_without_index_fails_clearly(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "none", "search", "anything")
    assert result.returncode == 2
    assert "no index" in result.stderr and "newsdesk ingest" in result.stderr


def test_delete_reports_unknown_ids(seed_copy: Path) -> None:
    result = run_cli(seed_copy, "delete", "003_f9095a6aa4cb8e46", "no-such-article")
    assert result.returncode == 1
    assert "no article with id 'no-such-article'" in result.stderr
    assert "deleted 1 article(s)" in result.stdout
    store = open_store(seed_copy)
    assert store.article("003_f9095a6aa4cb8e46") is None and store.counts().articles == 4


def test_bad_setting_fails_before_touching_the_index(seed_copy: Path) -> None:
    env_result = subprocess.run([sys.executable, "-m", "newsdesk.service.cli", "ingest", "seeds"],
                                env={**os.environ, "NEWSDESK_DATA_DIR": str(seed_copy), "NEWSDESK_INDEX_TYPE": "annoy"},
                                capture_output=True, text=True, timeout=120)
    assert env_result.returncode == 2
    assert "NEWSDESK_INDEX_TYPE='annoy'" in env_result.stderr


def test_ingest_without_a_terminal_prints_one_line_per_committed_batch(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    for n in range(5):
        (folder / f"story-{n}.txt").write_text(f"Officials in district {n} said the bridge repairs would take a month.\n")
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(tmp_path / "data"), "NEWSDESK_INGEST_BATCH_ARTICLES": "2",
           "HAYSTACK_TELEMETRY_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "newsdesk.service.cli", "ingest", str(folder)], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    batches = [line for line in result.stdout.splitlines() if line.startswith("batch committed")]
    pattern = (r"batch committed \(generation (\d+)\): (\d) article\(s\); (\d) of 5 inputs, [\d,]+ chunks embedded, "
               r"[\d.]+ chunks/s, ETA \d+s")
    parsed = [re.fullmatch(pattern, line) for line in batches]
    assert all(parsed), batches
    assert [(int(m[1]), int(m[2]), int(m[3])) for m in parsed] == [(1, 2, 2), (2, 2, 4), (3, 1, 5)]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_ingest_if_empty_seeds_an_empty_index_once(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """What a container's first start runs (docker-entrypoint.sh): the seeds go in while the index holds nothing."""
    env = {}
    if backend == "postgres":
        from tests.pg_servers import create_database

        env["NEWSDESK_DATABASE_URL"] = create_database(request.getfixturevalue("pg_server"), f"e{uuid.uuid4().hex[:12]}")
    first = run_cli(tmp_path / "data", "ingest", "-q", "--if-empty", str(ROOT / "seeds"), env=env)
    again = run_cli(tmp_path / "data", "ingest", "-q", "--if-empty", str(ROOT / "seeds"), env=env)
    assert first.returncode == again.returncode == 0, first.stderr + again.stderr
    assert first.stdout.startswith("added 5,") and "generation 1" in first.stdout
    assert again.stdout.strip() == "the index already holds 5 articles: nothing indexed (--if-empty)"


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    """In process: a real process would spend seconds importing the model stack to print one line."""
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert exited.value.code == 0 and capsys.readouterr().out == f"newsdesk {version}\n"
