"""Without tokens the API is open on loopback: web pages in the user's browser stay out."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from fitness.api.app import create_app
from fitness.config import Settings
from fitness.db.runs import get_run_by_id
from fitness.models import Run


@pytest.fixture
def open_client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(dataclasses.replace(settings, api_tokens=()))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield client


def test_a_cross_site_form_post_cannot_restore_or_delete_a_run(
    open_client: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    [run] = add_runs(1)
    forged = open_client.post(
        f"/runs/{run.id}/restore/1",
        headers={"Origin": "https://evil.example", "Content-Type": "text/plain"},
        content='{"changed_by": "attacker"}',
    )
    assert forged.status_code == 403
    assert forged.headers["content-type"] == "application/problem+json"
    assert "FITNESS_API_TOKENS" in forged.json()["detail"]
    fetched = open_client.delete(f"/runs/{run.id}", headers={"Sec-Fetch-Site": "cross-site"})
    assert fetched.status_code == 403
    stored: Run | None = get_run_by_id(run.id)
    assert stored is not None and stored.version == 1


def test_same_origin_and_non_browser_clients_are_served(open_client: TestClient, add_runs) -> None:
    [run] = add_runs(1)
    assert open_client.get(f"/runs/{run.id}").status_code == 200
    same_origin = open_client.patch(
        f"/runs/{run.id}",
        headers={"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"},
        json={"distance": 4.2},
    )
    assert same_origin.status_code == 200
    assert same_origin.json()["version"] == 2


def test_health_stays_reachable_from_anywhere(open_client: TestClient) -> None:
    response = open_client.get("/health", headers={"Origin": "https://status.example"})
    assert response.status_code == 200
