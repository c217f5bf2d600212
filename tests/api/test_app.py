"""What every route shares: problem documents for unknown routes, wrong methods, oversized
bodies, a database that is down and unexpected errors; and the access log."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from fitness.api.app import create_app
from fitness.api.parsing import MAX_JSON_BYTES
from fitness.config import Settings
from fitness.db.connection import close_pool
from fitness.errors import (
    DatabaseUnavailable,
    IntegrationError,
    IntegrationNotConfigured,
    InvalidImport,
    InvalidOAuthState,
    ReauthorizationRequired,
    VersionNotFound,
)
from fitness.models import Run
from tests.api.conftest import TOKEN, TcpGate

AddRuns = Callable[..., list[Run]]


def test_an_unknown_route_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/no/such/route")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "No route matches this path.",
    }


def test_a_wrong_method_is_a_405_problem_listing_the_allowed_ones(client: TestClient) -> None:
    response = client.put("/runs/strava_1", json={})

    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH", "DELETE"}


def test_a_json_body_over_one_mebibyte_is_a_413(client: TestClient, add_runs: AddRuns) -> None:
    (run,) = add_runs(1)
    padding = "x" * MAX_JSON_BYTES

    response = client.patch(f"/runs/{run.id}", json={"change_reason": padding})

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get(f"/runs/{run.id}").json()["version"] == 1


def test_a_streamed_body_without_content_length_is_counted_too(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs(1)

    def chunks() -> Iterator[bytes]:
        yield b'{"change_reason": "'
        for _ in range(MAX_JSON_BYTES // 65536 + 1):
            yield b"x" * 65536
        yield b'"}'

    response = client.patch(
        f"/runs/{run.id}", content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 413


def test_a_body_just_under_the_limit_is_read(client: TestClient, add_runs: AddRuns) -> None:
    (run,) = add_runs(1)
    # Whitespace fills the body: every field has a bound far below the body's.
    body = b'{"distance": 1.0' + b" " * (MAX_JSON_BYTES - 100) + b"}"

    response = client.patch(f"/runs/{run.id}", content=body)

    assert response.status_code == 200


def test_database_routes_are_a_503_while_the_database_is_down(
    settings: Settings, gate: TcpGate
) -> None:
    down = dataclasses.replace(settings, database_url=gate.url, pool_timeout=0.5)
    close_pool()  # let the app open its pool on the unreachable database
    with TestClient(create_app(down), headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        response = client.get("/runs")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/database-unavailable"
    assert str(gate.port) not in response.text


def test_an_unexpected_error_is_a_generic_500_and_logged(
    settings: Settings, db: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)

    async def boom(request: Request) -> Response:
        raise RuntimeError("secret internals: password=hunter2")

    app.router.routes.append(Route("/boom", boom))
    client = TestClient(
        app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {TOKEN}"}
    )

    with caplog.at_level(logging.ERROR, logger="fitness.api.errors"):
        response = client.get("/boom")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert response.json()["status"] == 500
    assert any(record.exc_info for record in caplog.records)


@pytest.mark.parametrize(
    ("error", "status", "problem_type"),
    [
        (InvalidImport("the CSV has no Distance column"), 422, "/problems/invalid-import"),
        (InvalidOAuthState("forged"), 400, "/problems/invalid-oauth-state"),
        (ReauthorizationRequired("strava"), 409, "/problems/reauthorization-required"),
        (IntegrationNotConfigured("no client id"), 503, "/problems/integration-not-configured"),
        (IntegrationError("Strava answered 500"), 502, "/problems/integration-error"),
        (DatabaseUnavailable("schema not at head"), 503, "/problems/database-unavailable"),
        (VersionNotFound("strava_1", 9), 404, "/problems/version-not-found"),
    ],
)
def test_typed_errors_become_their_problem_documents(
    settings: Settings, db: str, error: Exception, status: int, problem_type: str
) -> None:
    app = create_app(settings)

    async def fail(request: Request) -> Response:
        raise error

    app.router.routes.append(Route("/fail", fail))
    client = TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})

    response = client.get("/fail")

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == problem_type
    assert response.json()["status"] == status


def test_the_access_log_has_one_line_per_request_without_secrets(
    client: TestClient, anonymous: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="fitness.api.access"):
        client.get("/runs", params={"start": "2024-01-01"})
        anonymous.get("/shoes")
        client.patch("/runs/strava_404", json={"change_reason": "my private note"})

    lines = [r.getMessage() for r in caplog.records if r.name == "fitness.api.access"]
    assert len(lines) == 3
    assert lines[0].startswith("GET /runs 200 ")
    assert lines[0].endswith("ms")
    assert lines[1].startswith("GET /shoes 401 ")
    assert lines[2].startswith("PATCH /runs/strava_404 404 ")
    logged = "\n".join(lines)
    assert TOKEN not in logged and "private" not in logged and "2024-01-01" not in logged
