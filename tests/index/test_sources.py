"""Bad input never touches the index: each is reported (file, line, reason), skipped, and the
run exits 1 while the good articles beside it are indexed.

Every case is checked three ways: through ``read_sources`` directly; through the real
``newsdesk ingest`` entry point in-process, one case per run over a copy of the seed index
(so each case alone must give exit code 1); and all cases together through the real CLI in
a subprocess. HTML and Markdown readers are checked for what they extract.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from newsdesk.index.chunk import count_tokens
from newsdesk.index.ingest import ingest
from newsdesk.index.records import RawArticle, Skipped
from newsdesk.index.sources import read_sources
from newsdesk.index.store import ArticleStore
from newsdesk.service import cli

from tests.conftest import ROOT, SEEDS, ingest_options, open_store

MAX_BYTES = 2048  # NEWSDESK_MAX_ARTICLE_BYTES for every run here; every good article is smaller
SEED_IDS = sorted(p.stem for p in SEEDS.glob("*.txt"))


def story(topic: str) -> str:
    return (f"Officials in the {topic} district said on Tuesday that repairs to the main bridge would take a month.\n\n"
            f"Residents of the {topic} district told reporters the detour added an hour to their commute.\n")


@dataclass
class Case:
    """One kind of bad (or odd) input: ``make(folder)`` writes it and returns the paths to pass."""

    name: str
    make: Callable[[Path], list[Path]]
    # (source, reason pattern) of every expected "skipped SOURCE: REASON" report
    reports: Callable[[Path], list[tuple[str, str]]]
    good_ids: list[str] = field(default_factory=list)   # indexed by the same run
    bad_ids: list[str] = field(default_factory=list)    # never indexed


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def _jsonl(folder: Path, name: str, bad_line: str) -> list[Path]:
    """A JSON Lines file: a good article on line 1, a blank line 2, the bad record on line 3."""
    good = json.dumps({"id": f"{name}-ok", "title": "Bridge repairs", "text": story(name)})
    return [_write(folder / f"{name}.jsonl", f"{good}\n\n{bad_line}\n")]


def _line3(name: str, reason: str) -> Callable[[Path], list[tuple[str, str]]]:
    return lambda folder: [(f"{folder / f'{name}.jsonl'}:3", reason)]


def _one(filename: str, reason: str) -> Callable[[Path], list[tuple[str, str]]]:
    return lambda folder: [(str(folder / filename), reason)]


def _dangling_in_folder(folder: Path) -> list[Path]:
    inner = folder / "inbox"
    inner.mkdir()
    _write(inner / "inbox_story.txt", story("inbox"))
    (inner / "gone.txt").symlink_to(folder / "nowhere.txt")
    return [inner]


def _same_stem(folder: Path) -> list[Path]:
    first = _write(folder / "desk-a" / "twin.txt", story("first twin"))
    second = _write(folder / "desk-b" / "twin.md", story("second twin"))
    return [first, second]


def _dir_named_txt(folder: Path) -> list[Path]:
    (folder / "x.txt").mkdir()
    return [folder / "x.txt"]


def _dangling(folder: Path) -> list[Path]:
    (folder / "dangling.txt").symlink_to(folder / "nowhere.txt")
    return [folder / "dangling.txt"]


def _unreadable(folder: Path) -> list[Path]:
    # Tests run as root, so chmod 000 does not stop a read; /proc/self/mem exists, is a
    # regular file, and fails with EIO when read from offset 0.
    (folder / "unreadable.txt").symlink_to("/proc/self/mem")
    return [folder / "unreadable.txt"]


CASES = [
    Case("directory-named-x.txt", _dir_named_txt, _one("x.txt", r"director|no article|not a file")),
    Case("dangling-symlink", _dangling, _one("dangling.txt", r"no such file or directory"), bad_ids=["dangling"]),
    Case("dangling-symlink-in-folder", _dangling_in_folder,
         lambda f: [(str(f / "inbox" / "gone.txt"), r"no such file|unreadable|broken")],
         good_ids=["inbox_story"], bad_ids=["gone"]),
    Case("unreadable-file", _unreadable, _one("unreadable.txt", r"unreadable: .*(Input/output|error)"), bad_ids=["unreadable"]),
    Case("binary-nul", lambda f: [_write(f / "binary.txt", b"Officials said\x00\x01\x02\x00 the bridge\x00 would open.\n")],
         _one("binary.txt", r"binary file"), bad_ids=["binary"]),
    Case("binary-control-chars", lambda f: [_write(f / "controls.md", b"\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f" * 20)],
         _one("controls.md", r"binary file"), bad_ids=["controls"]),
    Case("empty-file", lambda f: [_write(f / "empty.txt", b"")], _one("empty.txt", r"empty article"), bad_ids=["empty"]),
    Case("whitespace-only", lambda f: [_write(f / "blank.md", b"  \n\t\r\n \xc2\xa0 \n")], _one("blank.md", r"empty article"),
         bad_ids=["blank"]),
    Case("latin-1", lambda f: [_write(f / "latin.txt", "Le café de Zürich a fermé. Les prix ont augmenté.\n".encode("latin-1"))],
         _one("latin.txt", r"not valid UTF-8 \(byte 0xe9 at offset 6\)"), bad_ids=["latin"]),
    Case("all-boilerplate", lambda f: [_write(f / "furniture.txt", "Read more\n\nSubscribe\n\nSHARE THIS ARTICLE\n")],
         _one("furniture.txt", r"no article text left"), bad_ids=["furniture"]),
    Case("malformed-json", lambda f: _jsonl(f, "malformed", '{"id": "broken", "text": "oops"'),
         _line3("malformed", r"malformed JSON"), good_ids=["malformed-ok"], bad_ids=["broken"]),
    Case("json-list", lambda f: _jsonl(f, "listline", '["listed", "Officials said the bridge would open."]'),
         _line3("listline", r"expected a JSON object"), good_ids=["listline-ok"], bad_ids=["listed"]),
    Case("missing-id", lambda f: _jsonl(f, "noid", json.dumps({"text": story("no id")})),
         _line3("noid", r"missing field 'id'"), good_ids=["noid-ok"]),
    Case("missing-text", lambda f: _jsonl(f, "notext", json.dumps({"id": "textless", "title": "Bridge"})),
         _line3("notext", r"missing field 'text'"), good_ids=["notext-ok"], bad_ids=["textless"]),
    Case("nul-in-json-text", lambda f: _jsonl(f, "nultext", json.dumps({"id": "nul", "text": "Officials said\u0000 the bridge would open."})),
         _line3("nultext", r"NUL characters"), good_ids=["nultext-ok"], bad_ids=["nul"]),
    Case("text-not-string", lambda f: _jsonl(f, "numtext", json.dumps({"id": "numeric", "text": 42})),
         _line3("numtext", r"field 'text' must be a string"), good_ids=["numtext-ok"], bad_ids=["numeric"]),
    Case("bad-published-at", lambda f: _jsonl(f, "baddate", json.dumps({"id": "undated", "text": story("d"), "published_at": "last Tuesday"})),
         _line3("baddate", r"published_at.*ISO 8601.*last Tuesday"), good_ids=["baddate-ok"], bad_ids=["undated"]),
    Case("impossible-published-at", lambda f: _jsonl(f, "feb30", json.dumps({"id": "feb30-bad", "text": story("e"), "published_at": "2024-02-30"})),
         _line3("feb30", r"published_at.*ISO 8601"), good_ids=["feb30-ok"], bad_ids=["feb30-bad"]),
    Case("too-big-file", lambda f: [_write(f / "huge.txt", story("huge") * 20)],
         _one("huge.txt", rf"file is [\d,]+ bytes; the limit is {MAX_BYTES:,} bytes"), bad_ids=["huge"]),
    Case("too-big-json-line", lambda f: _jsonl(f, "bigline", json.dumps({"id": "big-line", "text": story("big") * 20})),
         _line3("bigline", rf"line is [\d,]+ bytes; the limit is {MAX_BYTES:,} bytes"), good_ids=["bigline-ok"], bad_ids=["big-line"]),
    Case("unsupported-extension", lambda f: [_write(f / "report.pdf", b"%PDF-1.4 officials said the bridge")],
         _one("report.pdf", r"unsupported file type \.pdf"), bad_ids=["report"]),
    Case("nonexistent-path", lambda f: [f / "missing-story.txt"], _one("missing-story.txt", r"no such file or directory"),
         bad_ids=["missing-story"]),
    Case("same-stem", _same_stem,
         lambda f: [(str(f / "desk-b" / "twin.md"), rf"duplicate article id 'twin' \(also in {re.escape(str(f / 'desk-a' / 'twin.txt'))}\)")],
         good_ids=["twin"]),
]
CASE_PARAMS = [pytest.param(c, id=c.name) for c in CASES]


def report_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("skipped ")]


def assert_reported(stderr: str, source: str, reason: str) -> None:
    lines = report_lines(stderr)
    pattern = re.compile(rf"^skipped {re.escape(source)}: .*(?:{reason})")
    assert any(pattern.search(line) for line in lines), f"no report for {source} matching {reason!r} in {lines}"


def assert_seeds_intact(data: Path, extra_ids: list[str]) -> None:
    with open_store(data) as store:
        ids = set(store.article_ids())
        assert set(SEED_IDS) <= ids
        for seed in SEED_IDS:
            assert store.article(seed).raw_text == (SEEDS / f"{seed}.txt").read_text(encoding="utf-8")
            assert store.passages_of(seed)
        assert set(extra_ids) <= ids
        assert store.integrity_problems() == []
        assert store.vectors().ntotal == store.counts().vectors


# ---- read_sources directly --------------------------------------------------------------

@pytest.mark.parametrize("case", CASE_PARAMS)
def test_read_sources_reports_case(case: Case, tmp_path: Path) -> None:
    paths = case.make(tmp_path)
    items = list(read_sources(paths, MAX_BYTES))
    skipped = [i for i in items if isinstance(i, Skipped)]
    articles = [i for i in items if isinstance(i, RawArticle)]
    # duplicate ids and articles that are all boilerplate are refused later, by ingest
    later = {"same-stem", "all-boilerplate"}
    for source, reason in case.reports(tmp_path):
        if case.name not in later:
            assert any(s.source == source and re.search(reason, s.reason) for s in skipped), (source, reason, skipped)
    if case.name not in later:
        assert not {a.id for a in articles} & set(case.bad_ids)
        assert len(skipped) == len(case.reports(tmp_path))
    for article in articles:
        assert article.raw_text.strip()


def test_read_sources_accepts_utf8_and_utf16_with_bom(tmp_path: Path) -> None:
    text = "Le café de Zürich a fermé, a déclaré le maire. “Nous sommes tristes,” dit-il. 北京 😀\n"
    _write(tmp_path / "le.txt", text.encode("utf-16"))                       # BOM + UTF-16 (native order)
    _write(tmp_path / "be.txt", b"\xfe\xff" + text.encode("utf-16-be"))
    _write(tmp_path / "sig.txt", b"\xef\xbb\xbf" + text.encode("utf-8"))
    items = list(read_sources([tmp_path], MAX_BYTES))
    assert [type(i) for i in items] == [RawArticle] * 3
    for item in items:
        assert item.raw_text == text
        assert item.source_text == text


def test_read_sources_streams_jsonl_line_numbers(tmp_path: Path) -> None:
    lines = [json.dumps({"id": "one", "text": "A dam broke on Tuesday."}), "", "   ", "not json",
             json.dumps({"id": "two", "text": "Villages were evacuated.", "published_at": "2024-03-05T10:00:00Z"}),
             json.dumps({"id": "three", "text": "x", "title": 5})]
    _write(tmp_path / "mixed.ndjson", "\n".join(lines) + "\n")
    items = list(read_sources([tmp_path / "mixed.ndjson"], MAX_BYTES))
    assert [(type(i).__name__, getattr(i, "id", None) or i.source.rsplit(":", 1)[1]) for i in items] == [
        ("RawArticle", "one"), ("Skipped", "4"), ("RawArticle", "two"), ("Skipped", "6")]
    assert items[2].stated.published_at == "2024-03-05T10:00:00+00:00"
    assert "field 'title' must be a string or null" in items[3].reason


# ---- the real `newsdesk ingest`, one case per run -------------------------------------------

@pytest.fixture
def seed_data_copy(seed_index: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(seed_index, target)
    return target


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_ingest_command_skips_case(case: Case, seed_data_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    good = _write(folder / "good-story.txt", story("riverside"))
    paths = case.make(folder)
    monkeypatch.setenv("NEWSDESK_DATA_DIR", str(seed_data_copy))
    monkeypatch.setenv("NEWSDESK_MAX_ARTICLE_BYTES", str(MAX_BYTES))
    code = cli.main(["ingest", "-q", str(good), *map(str, paths)])
    err = capsys.readouterr().err
    for source, reason in case.reports(folder):
        assert_reported(err, source, reason)
    assert code == cli.EXIT_SKIPPED
    assert len(report_lines(err)) == len(case.reports(folder)), report_lines(err)
    assert_seeds_intact(seed_data_copy, ["good-story", *case.good_ids])
    with open_store(seed_data_copy) as store:
        assert not set(store.article_ids()) & set(case.bad_ids)
        assert len(store.article_ids()) == len(SEED_IDS) + 1 + len(case.good_ids)
        if case.name == "same-stem":
            twin = store.article("twin")
            assert twin.source == str(folder / "desk-a" / "twin.txt") and "first twin" in twin.raw_text


def test_ingest_command_with_only_good_input_exits_0(seed_data_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path / "calm.txt", story("calm"))
    monkeypatch.setenv("NEWSDESK_DATA_DIR", str(seed_data_copy))
    assert cli.main(["ingest", "-q", str(good)]) == 0
    assert report_lines(capsys.readouterr().err) == []
    assert_seeds_intact(seed_data_copy, ["calm"])


# ---- all cases at once, through the CLI in a subprocess -------------------------------------

@pytest.fixture(scope="module")
def cli_run(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("cli-run")
    data = base / "data"
    shutil.copytree(seed_index, data)
    paths: list[Path] = []
    folders: dict[str, Path] = {}
    for case in CASES:
        folder = base / case.name
        folder.mkdir()
        folders[case.name] = folder
        paths += case.make(folder)
    good = [_write(base / "good" / "harbour.txt", story("harbour")),
            _write(base / "good" / "utf16.txt", story("utf-16 encoded").encode("utf-16"))]
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(data), "NEWSDESK_MAX_ARTICLE_BYTES": str(MAX_BYTES),
           "HAYSTACK_TELEMETRY_ENABLED": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "newsdesk.service.cli", "ingest", *map(str, good[:1]), *map(str, paths),
                           *map(str, good[1:])], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return {"proc": proc, "data": data, "folders": folders}


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_cli_subprocess_reports_case(cli_run: dict, case: Case) -> None:
    folder = cli_run["folders"][case.name]
    for source, reason in case.reports(folder):
        assert_reported(cli_run["proc"].stderr, source, reason)
    with open_store(cli_run["data"]) as store:
        ids = set(store.article_ids())
    assert set(case.good_ids) <= ids
    assert not ids & set(case.bad_ids)


def test_cli_subprocess_exits_1_indexes_good_and_keeps_index(cli_run: dict) -> None:
    proc = cli_run["proc"]
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    # every stderr line is a report (no stray warnings mixed in), and the summary is on stdout
    assert report_lines(proc.stderr) == [line for line in proc.stderr.splitlines() if line.strip()]
    assert re.search(r"added \d+, replaced 0, unchanged 0, skipped \d+", proc.stdout)
    good_ids = ["harbour", "utf16"] + [i for c in CASES for i in c.good_ids]
    assert_seeds_intact(cli_run["data"], good_ids)
    with open_store(cli_run["data"]) as store:
        assert store.article("utf16").raw_text == story("utf-16 encoded")


# ---- what the HTML and Markdown readers extract -----------------------------------------------

HTML = """<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Dam breaks in the north | Example Wire</title>
<meta property="og:title" content="Dam breaks in the north">
<meta property="og:site_name" content="Example Wire">
<meta property="article:published_time" content="2024-03-05T10:30:00Z">
<link rel="canonical" href="https://example.org/news/dam-breaks">
<script>var tracker = "SECRET-TRACKING-CODE"; window.dataLayer = [];</script>
<style>.headline { color: red }</style>
</head><body>
<header><a href="/">Example Wire</a> <a href="/subscribe">HEADER-SUBSCRIBE-LINK</a></header>
<nav><ul><li><a href="/world">World Navigation Link</a></li><li>Sports Menu Item</li></ul></nav>
<article>
<h1>Dam breaks in the north</h1>
<p>A dam broke on Tuesday in the northern province, officials said.</p>
<p>Villages downstream were evacuated by the army &amp; police before the water arrived.</p>
<script>document.write("INLINE-SCRIPT-TEXT")</script>
<p>“We had minutes to leave,” said Maria Rossi, a farmer from Valle.</p>
</article>
<footer>© 2024 Example Wire. FOOTER-TEXT</footer>
</body></html>
"""


def test_html_article_metadata_and_text(writer: ArticleStore, tmp_path: Path) -> None:
    path = _write(tmp_path / "dam.html", HTML)
    report = ingest([path], writer, ingest_options(), progress=False)
    assert report.added == ["dam"] and not report.skipped
    article = writer.article("dam")
    assert (article.title, article.publisher, article.published_at, article.url) == (
        "Dam breaks in the north", "Example Wire", "2024-03-05T10:30:00+00:00", "https://example.org/news/dam-breaks")
    assert article.format == "html"
    assert article.source_text == HTML
    raw = article.raw_text
    for hidden in ("SECRET-TRACKING-CODE", "INLINE-SCRIPT-TEXT", "World Navigation Link", "Sports Menu Item",
                   "HEADER-SUBSCRIBE-LINK", "FOOTER-TEXT", "color: red", "<", "&amp;"):
        assert hidden not in raw, hidden
    for shown in ("A dam broke on Tuesday in the northern province, officials said.",
                  "Villages downstream were evacuated by the army & police before the water arrived.",
                  "“We had minutes to leave,” said Maria Rossi, a farmer from Valle."):
        assert shown in raw
        assert any(s.text == shown for s in writer.sentences("dam")), shown
    for s in writer.sentences("dam"):
        assert raw[s.start:s.end] == s.text
    for c in writer.passages_of("dam"):
        assert raw[c.start:c.end] == c.text
        assert c.n_tokens == count_tokens(c.text)
    assert writer.integrity_problems() == []


MARKDOWN = """# Dam breaks in the north

A dam broke on Tuesday in the northern province, officials said. Villages were evacuated.

## Rescue under way

- Soldiers reached 40 people stranded on rooftops.
- Two helicopters joined the search on Wednesday.

> “We had minutes to leave,” said Maria Rossi.
"""


def test_markdown_heading_is_the_title_and_marks_are_not_text(writer: ArticleStore, tmp_path: Path) -> None:
    path = _write(tmp_path / "dam-md.md", MARKDOWN)
    report = ingest([path], writer, ingest_options(), progress=False)
    assert report.added == ["dam-md"] and not report.skipped
    article = writer.article("dam-md")
    assert article.title == "Dam breaks in the north"
    assert article.raw_text == MARKDOWN == article.source_text
    sentences = writer.sentences("dam-md")
    texts = [s.text for s in sentences]
    assert not [t for t in texts if t.startswith("#")]
    assert not [t for t in texts if re.match(r"[-*>]\s", t)]
    assert "Rescue under way" in texts and "Soldiers reached 40 people stranded on rooftops." in texts
    for s in sentences:
        assert article.raw_text[s.start:s.end] == s.text
    for c in writer.passages_of("dam-md"):
        assert not c.text.startswith("#")
    assert writer.integrity_problems() == []
