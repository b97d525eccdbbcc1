"""Schemathesis against the app's own ``/openapi.json``, in process (its WSGI support): every operation the
spec lists, with generated valid requests and, where an operation takes input, invalid ones. Whatever
is sent, no 5xx, and every response (status, content type, body, each event of a stream) is what the
spec says; invalid input is refused. Bounded by examples per operation and no shrinking, to stay near a
minute; no per-example deadline, as the first question loads the model.

Operations are taken one by one (``as_strategy``) rather than through ``schemathesis.pytest.from_fixture``,
which fails under pytest 9. The write operations are checked as a client without an API key sees them
(401): writing needs a key, and would run the real ingest into the index the other operations read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (content_type_conformance, negative_data_rejection, response_schema_conformance,
                                               status_code_conformance)

from newsdesk.service.http.openapi import spec

from tests.service.http.conftest import make_app

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance, negative_data_rejection]
EXAMPLES = 25


def _takes_input(operation: dict) -> bool:
    """Whether invalid requests exist for it: a body, or a query parameter (a bare path string has no invalid value)."""
    return "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", []))


CASES = [pytest.param(method.upper(), path, mode, id=f"{method.upper()} {path} {mode.value}")
         for path, item in spec()["paths"].items() for method, operation in item.items()
         for mode in GenerationMode if mode is GenerationMode.POSITIVE or _takes_input(operation)]


@pytest.fixture(scope="module")
def api(seed_copy_module: Path) -> Iterator[schemathesis.BaseSchema]:
    app = make_app(seed_copy_module)
    yield schemathesis.openapi.from_wsgi("/openapi.json", app)
    app.extensions["newsdesk"].close()


@pytest.mark.parametrize("method, path, mode", CASES)
def test_every_operation_keeps_to_the_spec(api: schemathesis.BaseSchema, method: str, path: str, mode: GenerationMode) -> None:
    @given(case=api[path][method].as_strategy(mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    check()
