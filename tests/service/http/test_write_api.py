"""The write API, API keys and rate limits, in process over a copy of the seed index with the real model:
POST /articles (JSON, JSON Lines, a page; as a job), DELETE, GET /articles pages, 401/403/429/503."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from newsdesk.index.fetch import url_article_id
from newsdesk.service.runtime.keys import KeyStore

from tests.conftest import ROOT, open_store
from tests.service.http.conftest import in_process, make_app
from tests.service.http.test_api import assert_error, validate

PAGE = ROOT / "tests" / "data" / "pages" / "storm-bbc-style.html"
ZORBLAT = {"id": "zorblat-2024", "title": "Zorblat festival ends", "publisher": "Valley Courier", "published_at": "2024-05-02",
           "text": "The Zorblat festival drew musicians from four valleys and ran for three days.\n"
                   "Organisers said the Zorblat festival would return to Upper Ferngate next spring.\n"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def keys(seed_copy_module: Path) -> dict[str, str]:
    store = KeyStore(seed_copy_module)
    return {scope: store.create(scope, f"test {scope}")[1] for scope in ("read", "write", "admin")} | \
        {"other_write": store.create("write", "another writer")[1]}


@pytest.fixture(scope="module")
def api(seed_copy_module: Path, keys: dict[str, str]) -> Iterator[httpx.Client]:
    """One app for the module (the writer's models load once); default settings: reads open, writes keyed."""
    app = make_app(seed_copy_module)
    with in_process(app) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client
    app.extensions["newsdesk"].close()


def post(api: httpx.Client, key: str | None, **kwargs) -> httpx.Response:
    return api.post("/articles", headers=bearer(key) if key else {}, timeout=120, **kwargs)


def test_writes_need_a_write_key_and_reads_are_open(api: httpx.Client, keys: dict[str, str]) -> None:
    missing = post(api, None, json=ZORBLAT)
    assert_error(missing, 401, "unauthorized", "needs an API key of scope write")
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(post(api, "nd_not-a-key", json=ZORBLAT), 401, "unauthorized", "not valid")
    assert "nd_not-a-key" not in post(api, "nd_not-a-key", json=ZORBLAT).text  # a key is never echoed
    assert_error(post(api, keys["read"], json=ZORBLAT), 403, "forbidden", "scope read")
    assert_error(api.delete("/articles/002_45b39b5889d0e37c", headers=bearer(keys["read"])), 403, "forbidden")
    assert_error(api.get("/jobs/job_x", headers=bearer(keys["read"])), 403, "forbidden")
    assert_error(api.get("/jobs/job_x"), 401, "unauthorized")
    assert api.get("/articles/002_45b39b5889d0e37c").status_code == 200  # reads need no key by default,
    assert api.get("/v1/models", headers=bearer("not-needed")).status_code == 200  # and ignore one that is not valid
    assert open_store(api.app.extensions["newsdesk"].settings.data_dir).article("zorblat-2024") is None  # type: ignore[attr-defined]


def test_a_posted_article_is_answered_from_with_a_verified_citation(api: httpx.Client, keys: dict[str, str]) -> None:
    response = post(api, keys["write"], json=ZORBLAT)
    assert response.status_code == 200, response.text
    report = response.json()
    validate(report, "IngestReport")
    assert report["added"] == ["zorblat-2024"] and not report["skipped"] and report["chunks_embedded"] >= 1
    body = api.post("/ask", json={"question": "How long did the Zorblat festival run?"}, timeout=60).json()
    assert not body["abstained"]
    citation = body["citations"][0]
    assert citation["article_id"] == "zorblat-2024" and "three days" in citation["quote"]
    article = api.get("/articles/zorblat-2024").json()
    assert article["text"] == ZORBLAT["text"] and article["text"][citation["start"]:citation["end"]] == citation["quote"]
    assert article["publisher"] == "Valley Courier" and article["published_at"] == "2024-05-02"
    again = post(api, keys["write"], json=[ZORBLAT]).json()  # a retry changes nothing
    assert again["unchanged"] == ["zorblat-2024"] and again["added"] == [] and again["chunks_embedded"] == 0


def test_json_lines_index_the_good_lines_and_report_the_bad(api: httpx.Client, keys: dict[str, str]) -> None:
    lines = [json.dumps({"id": "quill-1", "text": "The Quillmere ferry resumed sailings on Monday after repairs to its hull.",
                         "published_at": "01/02/2023"}),
             "{not json",
             json.dumps({"id": "quill-2", "title": 7, "text": "Quillmere council approved a new harbour wall costing four million."}),
             json.dumps({"id": "quill-3"}),
             ""]
    response = api.post("/articles", content="\n".join(lines).encode(), timeout=120,
                        headers={**bearer(keys["write"]), "Content-Type": "application/x-ndjson"})
    assert response.status_code == 200, response.text
    report = response.json()
    validate(report, "IngestReport")
    assert sorted(report["added"]) == ["quill-1", "quill-2"]
    assert {(s["source"], s["reason"].split(":")[0]) for s in report["skipped"]} == {("body:2", "malformed JSON"),
                                                                                      ("body:4", "missing field 'text'")}
    assert {w["source"] for w in report["warnings"]} == {"body:1", "body:3"}  # an ambiguous date, a title not a string
    body = api.post("/ask", json={"question": "What did Quillmere council approve?"}, timeout=60).json()
    assert body["citations"] and body["citations"][0]["article_id"] == "quill-2"


def test_a_page_is_read_as_the_cli_reads_it(api: httpx.Client, keys: dict[str, str]) -> None:
    url = "https://www.bbc.example/news/uk-storm-eunice"
    response = api.post("/articles", params={"url": url}, content=PAGE.read_bytes(), timeout=120,
                        headers={**bearer(keys["write"]), "Content-Type": "text/html; charset=utf-8"})
    assert response.status_code == 200, response.text
    article_id = url_article_id(url)
    assert response.json()["added"] == [article_id]
    article = api.get(f"/articles/{quote(article_id, safe='')}").json()
    assert article["title"] == "Storm Eunice: Millions told to stay at home" and article["publisher"] == "BBC News"
    assert article["url"] == url and article["format"] == "html"
    assert "Severn Bridge has been closed" in article["text"] and "cookies" not in article["text"]
    nameless = api.post("/articles", content=PAGE.read_bytes(), headers={**bearer(keys["write"]), "Content-Type": "text/html"})
    assert_error(nameless, 422, "invalid_field", "?id=")


def test_delete_removes_an_article_from_answers(api: httpx.Client, keys: dict[str, str]) -> None:
    doomed = {"id": "brask-1", "text": "The Braskwood observatory closed its doors after ninety years of stargazing."}
    assert post(api, keys["write"], json=doomed).json()["added"] == ["brask-1"]
    question = {"question": "How long was the Braskwood observatory open?"}
    assert api.post("/ask", json=question, timeout=60).json()["citations"][0]["article_id"] == "brask-1"
    deleted = api.delete("/articles/brask-1", headers=bearer(keys["write"]))
    assert deleted.status_code == 200
    validate(deleted.json(), "Deleted")
    assert_error(api.get("/articles/brask-1"), 404, "not_found")
    assert_error(api.delete("/articles/brask-1", headers=bearer(keys["write"])), 404, "not_found")
    assert all(c["article_id"] != "brask-1" for c in api.post("/ask", json=question, timeout=60).json()["citations"])


def test_articles_are_listed_in_pages_and_filtered(api: httpx.Client) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        page = api.get("/articles", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        validate(page, "ArticleList")
        assert len(page["articles"]) <= 2
        seen += [a["id"] for a in page["articles"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    stored = open_store(api.app.extensions["newsdesk"].settings.data_dir).article_ids()  # type: ignore[attr-defined]
    assert seen == sorted(stored) and len(seen) >= 5
    press_tv = api.get("/articles", params={"publisher": "press tv"}).json()["articles"]
    assert press_tv and {a["publisher"] for a in press_tv} == {"Press TV"}
    october = api.get("/articles", params={"published_from": "2022-10-01", "published_to": "2022-10-31"}).json()["articles"]
    assert [a["id"] for a in october] == ["003_f9095a6aa4cb8e46"]
    assert_error(api.get("/articles", params={"limit": 0}), 422, "invalid_field", "'limit'")
    assert_error(api.get("/articles", params={"cursor": "%%%"}), 422, "invalid_field", "cursor")
    assert_error(api.get("/articles", params={"sort": "date"}), 422, "invalid_field", "unknown parameter 'sort'")


def test_a_job_reports_progress_and_its_report(api: httpx.Client, keys: dict[str, str]) -> None:
    lines = "\n".join(json.dumps({"id": f"vetch-{n}", "text": f"Vetchbury's market hall number {n} reopened after a flood."})
                      for n in range(3)) + "\n{bad\n"
    response = api.post("/articles", content=lines.encode(), timeout=120,
                        headers={**bearer(keys["write"]), "Content-Type": "application/x-ndjson", "Prefer": "respond-async"})
    assert response.status_code == 202, response.text
    job = response.json()
    validate(job, "Job")
    assert response.headers["Location"] == job["url"] == f"/jobs/{job['id']}" and job["inputs_total"] == 4
    api.app.extensions["newsdesk.writes"].runner.wait()  # type: ignore[attr-defined]
    done = api.get(job["url"], headers=bearer(keys["write"])).json()
    validate(done, "Job")
    assert done["status"] == "done" and done["inputs_done"] == 4 and done["articles_committed"] == 3
    assert sorted(done["report"]["added"]) == ["vetch-0", "vetch-1", "vetch-2"]
    assert [s["source"] for s in done["report"]["skipped"]] == ["body:4"]
    assert api.get(job["url"], headers=bearer(keys["admin"])).status_code == 200  # admins see every job,
    assert_error(api.get(job["url"], headers=bearer(keys["other_write"])), 404, "not_found")  # other writers none


@pytest.mark.parametrize("kwargs, status, code, fragment", [
    ({"content": b"a=1", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415, "unsupported_media_type", "x-ndjson"),
    ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "bad_request", "not valid JSON"),
    ({"content": b"42", "headers": {"Content-Type": "application/json"}}, 400, "bad_request", "object or a list"),
    ({"content": b"[]", "headers": {"Content-Type": "application/json"}}, 422, "invalid_field", "no articles"),
    ({"content": b"\n\n", "headers": {"Content-Type": "application/x-ndjson"}}, 422, "invalid_field", "no articles"),
])
def test_bad_bodies_get_a_clear_error(api: httpx.Client, keys: dict[str, str], kwargs, status, code, fragment) -> None:
    kwargs["headers"] = {**kwargs["headers"], **bearer(keys["write"])}
    assert_error(api.post("/articles", **kwargs), status, code, fragment)


def test_bodies_beyond_the_request_limit_are_fine_up_to_the_upload_limit(tmp_path: Path) -> None:
    """A write body may exceed NEWSDESK_MAX_REQUEST_BYTES (questions), not NEWSDESK_MAX_UPLOAD_BYTES; nothing is indexed above it."""
    token = KeyStore(tmp_path / "data").create("write")[1]
    app = make_app(tmp_path / "data", max_request_bytes=1024, max_upload_bytes=4096)
    with in_process(app) as client:
        big = {"id": "big", "text": "word " * 1500}
        assert_error(client.post("/articles", json=big, headers=bearer(token)), 413, "payload_too_large", "NEWSDESK_MAX_UPLOAD_BYTES")
    assert not (tmp_path / "data" / "newsdesk.sqlite3").exists()


def test_a_write_while_newsdesk_ingest_holds_the_lock_is_503_with_retry_after(seed_copy: Path) -> None:
    token = KeyStore(seed_copy).create("write")[1]
    app = make_app(seed_copy, write_lock_wait_seconds=0.3)
    with open_store(seed_copy, writer=True), in_process(app) as client:  # the CLI's lock
        response = client.post("/articles", json=ZORBLAT, headers=bearer(token))
        assert_error(response, 503, "index_busy", "newsdesk ingest")
        assert int(response.headers["Retry-After"]) >= 1
        assert_error(client.delete("/articles/002_45b39b5889d0e37c", headers=bearer(token)), 503, "index_busy")
    assert open_store(seed_copy).article("002_45b39b5889d0e37c") is not None
    app.extensions["newsdesk"].close()


def test_reads_can_require_a_key(seed_copy: Path) -> None:
    store = KeyStore(seed_copy)
    read = store.create("read")[1]
    app = make_app(seed_copy, read_requires_key=True)
    with in_process(app) as client:
        assert_error(client.get("/articles/002_45b39b5889d0e37c"), 401, "unauthorized", "needs an API key")
        assert_error(client.get("/v1/models", headers=bearer("not-needed")), 401, "unauthorized", "not valid")
        assert client.get("/articles/002_45b39b5889d0e37c", headers=bearer(read)).status_code == 200
        assert client.get("/v1/models", headers={"api-key": read}).status_code == 200
        assert client.get("/healthz").status_code == 200 and client.get("/openapi.json").status_code == 200  # never keyed
        key_id = store.keys()[0].id
        store.revoke(key_id)
        assert_error(client.get("/articles/002_45b39b5889d0e37c", headers=bearer(read)), 401, "unauthorized")  # at once
    app.extensions["newsdesk"].close()


def test_too_many_requests_are_429_with_retry_after(seed_copy: Path) -> None:
    token = KeyStore(seed_copy).create("read")[1]
    app = make_app(seed_copy, rate_limit_per_address="3 per minute", rate_limit_per_key="2 per minute")
    with in_process(app) as client:
        for _ in range(3):
            ok = client.get("/healthz")
            assert ok.status_code == 200 and ok.headers["X-RateLimit-Limit"] == "3"
        refused = client.get("/articles/002_45b39b5889d0e37c")  # every endpoint shares the address's count
        assert_error(refused, 429, "rate_limited", "this client address")
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        # a key has its own count: the address is spent, the key is not (and then it is)
        assert client.get("/healthz", headers=bearer(token)).status_code == 200
        assert client.get("/healthz", headers=bearer(token)).status_code == 200
        keyed = client.get("/healthz", headers=bearer(token))
        assert_error(keyed, 429, "rate_limited", "API key key_")
        assert token not in keyed.text and "Retry-After" in keyed.headers
    app.extensions["newsdesk"].close()


def test_writes_have_their_own_limit(tmp_path: Path) -> None:
    token = KeyStore(tmp_path / "data").create("write")[1]
    app = make_app(tmp_path / "data", rate_limit_writes="1 per minute")
    with in_process(app) as client:
        assert_error(client.delete("/articles/x", headers=bearer(token)), 404, "not_found")  # no index yet: nothing to delete
        assert_error(client.delete("/articles/x", headers=bearer(token)), 429, "rate_limited", "POST and DELETE /articles")
        assert client.get("/healthz", headers=bearer(token)).status_code == 200  # reads are not writes
    app.extensions["newsdesk"].close()


def test_a_body_over_the_job_threshold_is_spooled_to_the_data_folder(tmp_path: Path) -> None:
    from flask import request

    from newsdesk.service.config import Settings
    from newsdesk.service.http.uploads import receive

    settings = Settings.from_env({}, data_dir=tmp_path / "data", write_job_bytes=100)
    app = make_app(tmp_path / "data")
    lines = b"".join(json.dumps({"id": f"a{n}", "text": "x" * 40}).encode() + b"\n" for n in range(5))
    with app.test_request_context("/articles", method="POST", data=lines, content_type="application/x-ndjson"):
        body = receive(request, settings)
    assert body.data is None and body.path.parent == tmp_path / "data" / "uploads" and body.path.read_bytes() == lines
    assert list(body.lines()) == lines.splitlines(keepends=True)
    body.discard()
    assert not body.path.exists()
    with app.test_request_context("/articles", method="POST", data=lines[:50], content_type="application/x-ndjson"):
        small = receive(request, settings)
    assert small.path is None and small.data == lines[:50]
