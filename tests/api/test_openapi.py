"""The OpenAPI document: valid OpenAPI 3.1, the same routes as the app, and true to what the
app answers (schemathesis generates requests from it and checks every response)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode, checks
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from fitness.api.app import MODULES
from fitness.db.shoes import create_shoe
from fitness.models import Run
from fitness.web.app import PageRedirect
from tests.api.conftest import TOKEN

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
AUTHORIZATION = {"Authorization": f"Bearer {TOKEN}"}
# Enough to find what a change breaks; derandomized, so every run tries the same cases.
EXAMPLES_PER_OPERATION = 20


def test_the_document_is_valid_openapi_3_1(client: TestClient) -> None:
    document = client.get("/openapi.json").json()

    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_route_is_documented_and_every_documented_operation_is_routed(
    app: Starlette,
) -> None:
    routed = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route) and not isinstance(route, PageRedirect)
        for method in route.methods or ()
        if method != "HEAD"
    }
    documented = {
        (path, method)
        for path, item in app.state.openapi["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }

    assert routed == documented


def test_every_operation_documents_its_error_statuses(app: Starlette) -> None:
    for path, item in app.state.openapi["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            statuses = set(operation["responses"])
            assert any(status.startswith(("2", "3")) for status in statuses), (path, method)
            if operation.get("security") != []:
                assert "401" in statuses, (path, method)


# Negative cases need something to get wrong: a parameter or a body.
CASES = [
    (method, path, mode)
    for module in MODULES
    for path, item in module.paths.items()
    for method, operation in item.items()
    if method in HTTP_METHODS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE
    or item.get("parameters")
    or operation.get("parameters")
    or operation.get("requestBody")
]
# Integration routes answer documented 502/503 problems when Strava or Google fails or is
# not configured (as here): outcomes the document promises, not server errors.
INTEGRATION_PROBLEMS = {"/problems/integration-not-configured", "/problems/integration-error"}


@schemathesis.check
def not_a_server_error_unless_an_integration_is_down(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    if response.status_code in (502, 503):
        body = response.json()
        if isinstance(body, dict) and body.get("type") in INTEGRATION_PROBLEMS:
            return None
    return checks.not_a_server_error(ctx, response, case)


# No 5xx, and every status, content type, header and body as documented. (Not the
# heuristic checks that valid-looking data is accepted: an unknown shoe id is schema-valid
# and still a 422.)
CHECKS = [
    not_a_server_error_unless_an_integration_is_down,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def api_schema(
    app: Starlette, client: TestClient, add_runs: Callable[..., list[Run]]
) -> schemathesis.BaseSchema:
    """The served document, loaded by schemathesis against the app, with data to find."""
    create_shoe("Brooks Ghost 15")
    add_runs(1, id="strava_1001", shoe_id="brooks_ghost_15")
    add_runs(1, id="mmf_42", source="MapMyFitness", datetime_utc=datetime(2024, 2, 1, tzinfo=UTC))
    return schemathesis.openapi.from_asgi("/openapi.json", app, headers=AUTHORIZATION)


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_the_app_answers_as_its_document_says(
    api_schema: schemathesis.BaseSchema, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=AUTHORIZATION, checks=CHECKS)

    answers_as_documented()
