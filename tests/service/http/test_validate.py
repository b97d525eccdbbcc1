"""Request parsing: typed values out of JSON, or a precise 4xx."""

from __future__ import annotations

import pytest

from newsdesk.service.domain import Filters
from newsdesk.service.errors import InvalidField
from newsdesk.service.http.validate import check_mode, parse_ask, parse_filters, parse_highlights

from tests.conftest import DEFAULTS


def test_a_full_request_parses_to_typed_values() -> None:
    req = parse_ask({"question": "  Who?  ", "top_k": 3, "mode": "extractive", "conversation_id": "c_x-1",
                     "filters": {"publisher": ["Reuters", " AP "], "published_from": "2022-01-01"}}, DEFAULTS.top_k)
    assert (req.question, req.top_k, req.mode, req.conversation_id) == ("Who?", 3, "extractive", "c_x-1")
    assert req.filters == Filters(("Reuters", "AP"), "2022-01-01", None)


def test_top_k_defaults_to_the_setting() -> None:
    assert parse_ask({"question": "Who?"}, 7).top_k == 7


@pytest.mark.parametrize("raw, fragment", [
    ("x", "must be an object"), ({"publisher": []}, "publisher"), ({"published_to": "01/02/2022"}, "ISO date"),
    ({"published_from": "2022-02-02", "published_to": "2022-02-01"}, "after"), ({"topic": "x"}, "unknown filter"),
])
def test_bad_filters_name_the_field(raw: object, fragment: str) -> None:
    with pytest.raises(InvalidField, match=fragment):
        parse_filters(raw)


def test_llm_mode_needs_a_configured_server() -> None:
    check_mode("extractive", DEFAULTS)
    with pytest.raises(InvalidField, match="NEWSDESK_LLM_BASE_URL"):
        check_mode("llm", DEFAULTS)


def test_highlights_are_ranges_inside_the_article() -> None:
    assert parse_highlights("10-20, 0-5", 30) == [(0, 5), (10, 20)]
    assert parse_highlights(None, 30) == []
    for bad in ("25-31", ""):  # an empty ?highlight= is a mistake, not a request for none
        with pytest.raises(InvalidField):
            parse_highlights(bad, 30)
