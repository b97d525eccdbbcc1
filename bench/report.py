"""What every benchmark shares: the machine it ran on, its results history, its docs section."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the servers' start and stop are the tests' (tests/servers.py), not a copy
from tests.servers import stop as stop_server  # noqa: E402
DOC = ROOT / "docs" / "benchmarks.md"


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
                  if line.startswith("Model name")), platform.processor() or "unknown")
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    import torch

    mem_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), 0)
    return {"cpu": model, "nproc": int(nproc or 0), "memory_gib": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "load_average_at_start": os.getloadavg()[0]}


def append_result(path: Path, result: dict) -> None:
    """Keep every run: ``path`` holds a JSON list, newest last."""
    path.parent.mkdir(parents=True, exist_ok=True)
    history = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    history.append(result)
    path.write_text(json.dumps(history, indent=1) + "\n", encoding="utf-8")


def write_section(name: str, lines: list[str]) -> None:
    """Replace the ``<!-- bench:name -->`` section of docs/benchmarks.md (append it if missing)."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    section = "\n".join([start, *lines, end]) + "\n"
    if DOC.exists():
        text = DOC.read_text(encoding="utf-8")
        if start in text and end in text:
            before, rest = text.split(start, 1)
            after = rest.split(end, 1)[1].lstrip("\n")
            text = before + section + ("\n" + after if after else "")
        else:
            text = text.rstrip("\n") + "\n\n" + section
    else:
        text = ("# Benchmarks\n\nFigures measured on this project's development machine; each section says how to "
                "reproduce it. Benchmarks never run as part of the tests.\n\n" + section)
    DOC.write_text(text, encoding="utf-8")


def previous_release(rev: str, work: Path) -> Path:
    """A folder to put on ``PYTHONPATH`` so that ``newsdesk`` is the code committed at ``rev``."""
    tree = work / "previous"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev, "index", "service", "prompts"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    package = work / "previous-path" / "newsdesk"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""The previous release, for side-by-side benchmarks."""\n')
    for part in ("index", "service", "prompts"):
        (package / part).symlink_to(tree / part)
    return package.parent
