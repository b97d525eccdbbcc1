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
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from newsdesk.index.chunk import count_tokens
from newsdesk.index.ingest import ingest
from newsdesk.index.records import RawArticle, Skipped
from newsdesk.index.sources import read_sources
from newsdesk.index.store import ArticleStore
from newsdesk.service import cli

from tests.conftest import ROOT, SEEDS, ingest_options, open_store
from tests.servers import free_port, send_body

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
             json.dumps({"id": "three", "text": "x", "title": 5}), json.dumps({"id": "four", "text": 5})]
    _write(tmp_path / "mixed.ndjson", "\n".join(lines) + "\n")
    items = list(read_sources([tmp_path / "mixed.ndjson"], MAX_BYTES))
    assert [(type(i).__name__, getattr(i, "id", None) or i.source.rsplit(":", 1)[1]) for i in items] == [
        ("RawArticle", "one"), ("Skipped", "4"), ("RawArticle", "two"), ("RawArticle", "three"), ("Skipped", "7")]
    assert items[2].stated.published_at == "2024-03-05T10:00:00+00:00"
    assert items[3].stated.title is None and items[3].warnings == ("field 'title' dropped: expected a string, got int",)
    assert "field 'text' must be a string" in items[4].reason


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


# ---- what real archives hold: odd file names, declared charsets, dates in any common format ----

PAGE_BODY = "".join(f"<p>Officials in the harbour district said on Tuesday that repairs to pier {n} would take a month "
                    f"and cost more than the council had planned.</p>" for n in range(1, 6))


def _html_page(title: str, head: str = "", body: str = PAGE_BODY) -> str:
    return (f"<!DOCTYPE html><html><head><title>{title}</title>{head}</head>"
            f"<body><article><h1>{title}</h1>{body}</article></body></html>")


def test_every_file_in_a_folder_is_read_or_listed(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    _write(folder / "story.shtml", _html_page("Server-side include page"))
    _write(folder / "index.html?id=42", _html_page("Saved with its query string"))
    _write(folder / "index.html?id=43", _html_page("Another saved with its query string"))
    _write(folder / "no-extension-page", _html_page("A page without an extension"))
    _write(folder / "no-extension-text", story("plain"))
    _write(folder / "photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    _write(folder / "notes.docx", b"PK\x03\x04 not a story")
    _write(folder / ".hidden.txt", story("hidden"))
    items = list(read_sources([folder], MAX_BYTES * 10))
    read = {i.id: i for i in items if isinstance(i, RawArticle)}
    skipped = {Path(i.source).name: i.reason for i in items if isinstance(i, Skipped)}
    assert set(read) == {"story", "index?id=42", "index?id=43", "no-extension-page", "no-extension-text"}
    assert read["story"].format == read["index?id=42"].format == read["no-extension-page"].format == "html"
    assert read["no-extension-text"].format == "txt"
    assert set(skipped) == {"photo.jpg", "notes.docx"}
    assert all(reason.startswith("unsupported file type") for reason in skipped.values())


def test_a_page_in_its_declared_windows_1252_is_read(tmp_path: Path) -> None:
    body = "<p>“We will rebuild the café,” said the owner, whose loss came to €40,000 after the fire on Tuesday night.</p>" * 3
    path = _write(tmp_path / "cafe.html", _html_page("Café fire", '<meta charset="windows-1252">', body).encode("cp1252"))
    [article] = read_sources([path], MAX_BYTES * 10)
    assert isinstance(article, RawArticle), article
    assert "“We will rebuild the café,” said the owner, whose loss came to €40,000" in article.raw_text


@pytest.mark.parametrize("stated,stored", [
    ("2023/01/05", "2023-01-05"), ("2023-01-05T10:00:00Z", "2023-01-05T10:00:00+00:00"),
    ("Thu, 05 Jan 2023 10:00:00 GMT", "2023-01-05T10:00:00+00:00"), ("10 January 2022, 18:42 GMT", "2022-01-10T18:42:00+00:00"),
    (1672912800, "2023-01-05T10:00:00+00:00"), ("1672912800000", "2023-01-05T10:00:00+00:00"),
])
def test_jsonl_dates_in_common_formats(stated: object, stored: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "export.jsonl", json.dumps({"id": "dated", "text": story("dated"), "published_at": stated}) + "\n")
    [article] = read_sources([path], MAX_BYTES)
    assert isinstance(article, RawArticle) and article.stated.published_at == stored and not article.warnings


@pytest.mark.parametrize("field,value,warning", [
    ("published_at", "last Tuesday", r"field 'published_at' dropped: unparseable .*; the article is kept undated"),
    ("published_at", "2024-02-30", r"field 'published_at' dropped: .*; the article is kept undated"),
    ("published_at", "01/02/2023", r"field 'published_at' dropped: ambiguous"),
    ("published_at", ["2023-01-05"], r"field 'published_at' dropped: expected a date, got list"),
    ("title", 42, r"field 'title' dropped: expected a string, got int"),
])
def test_a_bad_field_costs_the_field_not_the_article(field: str, value: object, warning: str, writer: ArticleStore,
                                                     tmp_path: Path) -> None:
    path = _write(tmp_path / "export.jsonl", json.dumps({"id": "kept", "text": story("kept"), field: value}) + "\n")
    report = ingest([path], writer, ingest_options(), progress=False)
    assert report.added == ["kept"] and not report.skipped
    [noted] = report.warnings
    assert noted.source == f"{path}:1" and re.search(warning, noted.message), noted.message
    assert getattr(writer.article("kept"), field) is None


def test_the_cli_prints_warnings_and_exits_0(seed_data_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    lines = [json.dumps({"id": f"cms-{n}", "text": story(f"cms {n}"), "published_at": date})
             for n, date in enumerate(["2023/01/05", "not a date", "2023-01-07T08:00:00+01:00"])]
    path = _write(tmp_path / "cms.jsonl", "\n".join(lines) + "\n")
    monkeypatch.setenv("NEWSDESK_DATA_DIR", str(seed_data_copy))
    assert cli.main(["ingest", "-q", str(path)]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"^warning {re.escape(str(path))}:2: field 'published_at' dropped", out, re.M), out
    with open_store(seed_data_copy) as store:
        assert [store.article(f"cms-{n}").published_at for n in range(3)] == ["2023-01-05", None, "2023-01-07T07:00:00+00:00"]


# ---- the web: `newsdesk ingest URL` of a feed, through a real HTTP server on 127.0.0.1 -----------

class _Site(BaseHTTPRequestHandler):
    """A newsroom's site: an RSS feed whose items are pages (one in windows-1252, declared in the
    Content-Type header only), and a page that is gone."""

    pages: dict[str, tuple[str, bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path not in self.pages:
            self.send_error(404)
            return
        content_type, body = self.pages[self.path]
        send_body(self, 200, body, content_type)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    cafe = _html_page("Café reopens", '<meta property="article:published_time" content="2023-01-05T09:00:00+01:00">',
                      "<p>The café on Main Street reopened on Monday after the fire, its owner said.</p>" * 3)
    _Site.pages = {
        "/feed.xml": ("application/rss+xml", (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Desk</title><link>{base}/</link>'
            f"<description>News</description><item><title>Cafe</title><link>{base}/news/cafe.html</link></item>"
            f"<item><title>Harbour</title><link>{base}/news/harbour.html</link></item></channel></rss>").encode()),
        "/news/cafe.html": ("text/html; charset=windows-1252", cafe.encode("cp1252")),
        "/news/harbour.html": ("text/html", _html_page("Harbour repairs").encode()),
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    server.server_close()


def test_ingest_a_feed_by_url(site: str, seed_data_copy: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NEWSDESK_DATA_DIR", str(seed_data_copy))
    monkeypatch.setenv("NEWSDESK_FETCH_INTERVAL", "0")
    gone = f"{site}/news/gone.html"
    assert cli.main(["ingest", "-q", f"{site}/feed.xml", gone]) == cli.EXIT_SKIPPED
    err = capsys.readouterr().err
    assert report_lines(err) == [f"skipped {gone}: HTTP 404 Not Found"]  # the URL as given, not mangled
    host = site.removeprefix("http://")
    with open_store(seed_data_copy) as store:
        cafe = store.article(f"{host}_news_cafe.html")
        harbour = store.article(f"{host}_news_harbour.html")
    assert cafe.url == f"{site}/news/cafe.html" and cafe.source == f"{site}/news/cafe.html"
    assert "The café on Main Street reopened on Monday" in cafe.raw_text  # decoded as its header declares
    assert cafe.published_at == "2023-01-05T08:00:00+00:00" and cafe.title == "Café reopens"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", cafe.fetched_at)
    assert harbour.fetched_at and "repairs to pier 3" in harbour.raw_text
    # Fetched again, unchanged: nothing is embedded or rewritten (fetched_at stays the first fetch's).
    assert cli.main(["ingest", "-q", f"{site}/feed.xml"]) == 0
    assert "added 0, replaced 0, unchanged 2, skipped 0; embedded 0 chunk(s)" in capsys.readouterr().out
    with open_store(seed_data_copy) as store:
        assert store.article(f"{host}_news_cafe.html").fetched_at == cafe.fetched_at
