"""Fault (issue 13): the disk fills up during ``newsdesk ingest``.

The data directory (a copy of the seed index) lives on a small tmpfs mounted for the test (root
only: skipped, saying why, where mounting is not permitted), nearly filled by a filler file so that a
few batches fit. ``newsdesk ingest -v`` of a synthetic archive must stop with exit code 2 and one
line naming the problem, no traceback; every batch it reported committed is still there, and the
index opens (while the disk is still full) and is consistent. After the filler is deleted, the same
command completes: what was committed is unchanged, the rest added.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsdesk.index.store.vectorfiles import saved_folders
from newsdesk.index.vectors import VectorIndex
from tests.conftest import open_store
from tests.e2e.test_crash import COMMIT_RE, SUMMARY_RE, ingest_env, make_archive

pytestmark = pytest.mark.slow

DISK_BYTES = 48 * 1024 * 1024
ROOM_BYTES = 1_500_000  # left free beside the filler: a few batches of the archive, far from all of it
N_ARTICLES = 60


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of :data:`DISK_BYTES`, unmounted after the test."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mountpoint)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield mountpoint
    finally:
        if subprocess.run(["umount", str(mountpoint)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)


def fill(disk: Path, leave: int) -> Path:
    """A file taking all the free space of ``disk`` but ``leave`` bytes."""
    stats = os.statvfs(disk)
    size = stats.f_bavail * stats.f_frsize - leave
    filler = disk / "filler"
    block = b"\0" * (1 << 20)
    with open(filler, "wb") as handle:
        while size > 0:
            size -= handle.write(block[:min(len(block), size)])
    return filler


def ingest(archive: Path, data_dir: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    run = subprocess.run([sys.executable, "-m", "newsdesk.service.cli", "ingest", "-v", str(archive)], env=ingest_env(data_dir),
                         capture_output=True, text=True, timeout=600)
    committed = [i for line in run.stdout.splitlines() if (m := COMMIT_RE.match(line)) for i in m.group(2).split()]
    return run, committed


def test_a_full_disk_stops_ingest_cleanly_and_a_rerun_completes(small_disk: Path, seed_index: Path, tmp_path: Path) -> None:
    data_dir = small_disk / "data"
    shutil.copytree(seed_index, data_dir)
    with open_store(data_dir) as store:
        seed_ids = set(store.article_ids())
    archive = tmp_path / "archive.jsonl"
    order = [r["id"] for r in make_archive(archive, N_ARTICLES)]
    filler = fill(small_disk, ROOM_BYTES)

    run, committed = ingest(archive, data_dir)
    assert run.returncode == 2, (run.returncode, run.stdout[-2000:], run.stderr[-3000:])
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    problems = [line for line in run.stderr.splitlines() if line.startswith("newsdesk: ")]
    assert len(problems) == 1 and ("disk is full" in problems[0] or "No space left" in problems[0]), run.stderr[-3000:]
    print(f"{len(committed)} article(s) committed before the disk filled; {problems[0]}")
    assert committed and len(committed) < N_ARTICLES, "the disk must fill part-way through"

    # The disk is still full: the index opens for reading, is consistent and holds every committed batch, nothing more.
    with open_store(data_dir) as store:
        assert store.integrity_problems() == []
        assert set(store.article_ids()) == seed_ids | set(committed)
        counts = store.counts()
        assert store.vectors().ntotal == counts.vectors
        assert store.bm25_search("NATO Russia Ukraine", 5)
    assert not list(data_dir.glob("*.tmp")), "a failed save must not leave its temporary file taking space"

    filler.unlink()
    rerun, more = ingest(archive, data_dir)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    summary = [m for m in (SUMMARY_RE.match(line) for line in rerun.stdout.splitlines()) if m]
    assert len(summary) == 1, rerun.stdout
    added, replaced, unchanged, skipped, _, _ = map(int, summary[0].groups())
    assert (added, replaced, unchanged, skipped) == (N_ARTICLES - len(committed), 0, len(committed), 0)
    assert set(more) == set(order) - set(committed)
    with open_store(data_dir) as store:
        assert store.integrity_problems() == []
        assert set(store.article_ids()) == seed_ids | set(order)
        counts = store.counts()
        generation = store.generation
    saved = saved_folders(data_dir)
    assert saved[-1].name == f"vectors-{generation:09d}" and len(saved) <= 2
    index, saved_generation = VectorIndex.load(saved[-1], 384)
    assert saved_generation == generation and index.ntotal == counts.vectors
