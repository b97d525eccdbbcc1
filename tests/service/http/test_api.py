"""The HTTP API in process (see conftest), against the seed index: answers, filters, errors, OpenAPI."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jsonschema
import pytest

from newsdesk.service.http import create_app
from newsdesk.service.http.openapi import spec

from tests.service.http.conftest import in_process, make_app



def ask(base: httpx.Client, body: object, **kwargs) -> httpx.Response:
    return base.post("/ask", json=body, timeout=60, **kwargs)


def validate(instance: object, schema_name: str) -> None:
    document = spec()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    jsonschema.validate(instance, schema)


def assert_error(response: httpx.Response, status: int, code: str, fragment: str = "") -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    validate(body, "Error")
    assert body["error"]["code"] == code
    assert fragment in body["error"]["message"]


def test_answer_with_verified_citations(server: httpx.Client) -> None:
    response = ask(server, {"question": "Who said 'we are also prepared for the worst'?"})
    assert response.status_code == 200
    body = response.json()
    validate(body, "AskResponse")
    assert not body["abstained"] and body["mode"] == "extractive"
    assert "Stoltenberg" in body["answer"] and "[1]" in body["answer"]
    for citation in body["citations"]:
        article = server.get(f"/articles/{citation['article_id']}", timeout=30).json()
        assert article["text"][citation["start"]:citation["end"]] == citation["quote"]
        marked = server.get(f"/articles/{citation['article_id']}",
                           params={"highlight": f"{citation['start']}-{citation['end']}"}, timeout=30).json()
        validate(marked, "Article")
        assert marked["highlights"][0]["text"] == citation["quote"]
        assert "".join(s["text"] for s in marked["segments"]) == article["text"]
        assert [s["text"] for s in marked["segments"] if s["highlighted"]] == [citation["quote"]]
        passage = server.get(f"/passages/{citation['chunk_id']}", timeout=30).json()
        validate(passage, "Passage")
        assert passage["start"] <= citation["start"] and citation["end"] <= passage["end"]
    short = body["short_answer"]
    article = server.get(f"/articles/{short['article_id']}", timeout=30).json()
    assert "Stoltenberg" in short["text"] and article["text"][short["start"]:short["end"]] == short["text"]


def test_unanswerable_question_abstains_with_closest_articles(server: httpx.Client) -> None:
    body = ask(server, {"question": "What is the capital of Australia?"}).json()
    assert body["abstained"] and body["citations"] == [] and "does not answer" in body["answer"]
    assert body["closest"]


def test_filters_restrict_the_sources(server: httpx.Client) -> None:
    body = ask(server, {"question": "What did Peskov say?", "filters": {"publisher": "Press TV"}}).json()
    assert body["citations"] and {c["publisher"] for c in body["citations"]} == {"Press TV"}
    dated = ask(server, {"question": "What did Lavrov say?", "filters": {"published_from": "2022-10-01", "published_to": "2022-10-31"}}).json()
    assert dated["citations"] and {c["article_id"] for c in dated["citations"]} == {"003_f9095a6aa4cb8e46"}
    nothing = ask(server, {"question": "What did Lavrov say?", "filters": {"published_from": "2030-01-01"}}).json()
    assert nothing["abstained"] and nothing["citations"] == []


def test_question_with_html_is_answered_as_data(server: httpx.Client) -> None:
    question = "<script>alert('x')</script><img src=x onerror=alert(1)> Who said we are also prepared for the worst?"
    response = ask(server, {"question": question})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<" not in response.text and ">" not in response.text  # no markup can form, even if the body were sniffed
    assert response.json()["query"] == question  # yet it is echoed back exactly, as data


@pytest.mark.parametrize("body, kwargs, status, code, fragment", [
    (None, {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "bad_request", "not valid JSON"),
    (None, {"content": b"[1, 2]", "headers": {"content-type": "application/json"}}, 400, "bad_request", "JSON object"),
    (None, {"content": b"question=hi", "headers": {"content-type": "application/x-www-form-urlencoded"}}, 415, "unsupported_media_type", "application/json"),
    (None, {"content": json.dumps({"question": "x" * 70000}).encode(), "headers": {"content-type": "application/json"}}, 413, "payload_too_large", "larger than"),
    ({"question": ""}, {}, 422, "invalid_field", "empty"),
    ({"question": "   "}, {}, 422, "invalid_field", "empty"),
    ({"question": "x" * 2001}, {}, 422, "invalid_field", "limit is 2000"),
    ({}, {}, 422, "invalid_field", "'question' is required"),
    ({"question": 42}, {}, 422, "invalid_field", "must be a string"),
    ({"question": "Who?", "top_k": 0}, {}, 422, "invalid_field", "'top_k'"),
    ({"question": "Who?", "top_k": "5"}, {}, 422, "invalid_field", "'top_k'"),
    ({"question": "Who?", "top_k": 9.5}, {}, 422, "invalid_field", "'top_k'"),
    ({"question": "Who?", "mode": "psychic"}, {}, 422, "invalid_field", "'mode'"),
    ({"question": "Who?", "colour": "red"}, {}, 422, "invalid_field", "unknown field 'colour'"),
    ({"question": "Who?", "filters": {"published_from": "last week"}}, {}, 422, "invalid_field", "ISO date"),
    ({"question": "Who?", "filters": {"publisher": 7}}, {}, 422, "invalid_field", "publisher"),
    ({"question": "Who?", "filters": {"author": "x"}}, {}, 422, "invalid_field", "unknown filter 'author'"),
    ({"question": "Who?", "filters": {"published_from": "2022-02-01", "published_to": "2022-01-01"}}, {}, 422, "invalid_field", "after"),
    ({"question": "Who?", "conversation_id": "../../etc"}, {}, 422, "invalid_field", "conversation_id"),
])
def test_bad_requests_get_a_clear_error(server: httpx.Client, body, kwargs, status, code, fragment) -> None:
    response = server.post("/ask", json=body, timeout=30, **kwargs) if body is not None else server.post("/ask", timeout=30, **kwargs)
    assert_error(response, status, code, fragment)


def test_unknown_ids_and_routes_are_404(server: httpx.Client) -> None:
    assert_error(server.get("/articles/no-such-article", timeout=30), 404, "not_found", "no-such-article")
    assert_error(server.get("/passages/0000", timeout=30), 404, "not_found", "0000")
    assert_error(server.get("/nowhere", timeout=30), 404, "not_found")
    assert_error(server.get("/static/widget.js", timeout=30), 404, "not_found")  # Flask's default static route is not served


def test_a_wrong_method_is_405_naming_the_right_ones(server: httpx.Client) -> None:
    """RFC 9110: a 405 must carry Allow, so a client can tell what to send instead."""
    response = server.get("/ask", timeout=30)
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


@pytest.mark.parametrize("path, body", [
    ("/ask", '{{"question": {}}}'), ("/ask/stream", '{{"question": {}}}'),
    ("/v1/chat/completions", '{{"messages": [{{"role": "user", "content": {}}}]}}'),
])
@pytest.mark.parametrize("value, fragment", [
    ('"Who said \\ud800 it?"', "lone surrogate"),  # valid JSON, but no Unicode character: tokenizer and UTF-8 both fail on it
    ("[" * 100 + "]" * 100, "levels deep"),
    ("[" * 20000 + "]" * 20000, "levels deep"),  # under the size limit, but deeper than Python's recursion limit
])
def test_malformed_json_is_400_on_every_post_endpoint(server: httpx.Client, path: str, body: str, value: str, fragment: str) -> None:
    response = server.post(path, content=body.format(value).encode(), headers={"content-type": "application/json"}, timeout=30)
    assert_error(response, 400, "bad_request", fragment)


def test_an_integral_top_k_is_an_integer(server: httpx.Client) -> None:
    """JSON has one number type: 9.0 is 9, and JSON Schema's "integer" (the spec's type for top_k) says so too."""
    question = {"question": "Who said 'we are also prepared for the worst'?"}
    assert ask(server, {**question, "top_k": 9.0}).json()["citations"] == ask(server, {**question, "top_k": 9}).json()["citations"]


@pytest.mark.parametrize("highlight", ["5", "10-5", "0-999999", "a-b", ""])
def test_bad_highlight_is_422(server: httpx.Client, highlight: str) -> None:
    assert_error(server.get("/articles/002_45b39b5889d0e37c", params={"highlight": highlight}, timeout=30), 422, "invalid_field")


def test_no_index_is_503_then_ready(tmp_path: Path) -> None:
    with in_process(make_app(tmp_path / "empty")) as base:
        assert base.get("/healthz").status_code == 200
        assert_error(base.get("/readyz"), 503, "index_unavailable", "newsdesk ingest")
        assert_error(ask(base, {"question": "Who?"}), 503, "index_unavailable")
        assert_error(base.get("/articles/x"), 503, "index_unavailable")
        stream = base.post("/ask/stream", json={"question": "Who?", "conversation_id": "c_x"})
        assert_error(stream, 503, "index_unavailable")  # refused before any stream starts
        assert not (tmp_path / "empty").exists()  # and nothing (no conversation) was written


def test_openapi_documents_every_route_and_only_those(server: httpx.Client) -> None:
    document = server.get("/openapi.json", timeout=30).json()
    assert document["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    app = create_app(data_dir=Path("unused"))
    routed = set()
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<path:", "{").replace("<", "{").replace(">", "}")
        routed |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed
    jsonschema.Draft202012Validator.check_schema({"$defs": document["components"]["schemas"]})


def test_nothing_published_after_as_of_is_used(server: httpx.Client) -> None:
    later = "003_f9095a6aa4cb8e46"  # the one seed dated October 2022
    question = {"question": "What did Lavrov say?", "filters": {"published_from": "2022-10-01"}}
    assert {c["article_id"] for c in ask(server, question).json()["citations"]} == {later}
    before = ask(server, {**question, "as_of": "2022-06-01"}).json()
    assert before["abstained"] and before["citations"] == []
    assert before["as_of"].startswith("2022-06-01T00:00:00")
    undated = ask(server, {"question": "Who said 'we are also prepared for the worst'?", "as_of": "2000-01-01"}).json()
    assert not undated["abstained"]  # undated articles are never taken for later ones
    assert all(c["published_at"] is None or c["published_at"][:10] <= "2000-01-01" for c in undated["citations"])


def test_a_time_expression_becomes_a_period_relative_to_as_of(server: httpx.Client) -> None:
    body = ask(server, {"question": "What did Lavrov say last month?", "as_of": "2022-11-15T12:00:00+01:00"}).json()
    validate(body, "AskResponse")
    assert body["timeframe"] == {"start": "2022-10-01", "end": "2022-10-31", "expression": "last month"}
    assert {c["article_id"] for c in body["citations"]} == {"003_f9095a6aa4cb8e46"}
    assert body["as_of"] == "2022-11-15T11:00:00+00:00"
    plain = ask(server, {"question": "What did Lavrov say?"}).json()
    assert plain["timeframe"] is None


# The last two: an offset that moves year 1 out of range; a year too late for "last week" reckoned from it to be a date.
@pytest.mark.parametrize("as_of", ["13/01/2023", "tomorrow", 20230113, "", "0001-01-01T00:00:00+01:00", "9999-12-31"])
def test_a_bad_as_of_is_422(server: httpx.Client, as_of: object) -> None:
    assert_error(ask(server, {"question": "What did Lavrov say last week?", "as_of": as_of}), 422, "invalid_field", "as_of")
