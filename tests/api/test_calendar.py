"""POST/DELETE /sync/runs/{run_id} and POST /sync/runs against a fake Google on 127.0.0.1."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from starlette.testclient import TestClient

from fitness.config import Settings, get_settings, reset_settings
from fitness.db.runs_history import update_run_with_history
from fitness.models import Run
from tests.api.conftest import TOKEN
from tests.fakes.google_calendar import FakeGoogle, rate_limit_error, running_fake_google
from tests.fakes.oauth import CLIENT_SECRET


@pytest.fixture
def google(db: str) -> Iterator[FakeGoogle]:
    with running_fake_google() as fake:
        yield fake


@pytest.fixture
def settings(google: FakeGoogle) -> Settings:
    """The app's settings, pointing at the fake Google."""
    return dataclasses.replace(get_settings(), api_tokens=(TOKEN,))


def calendar_state(client: TestClient, run_id: str) -> str:
    return client.get(f"/runs/{run_id}").json()["calendar_state"]


def test_syncing_a_run_creates_its_event(
    google: FakeGoogle, client: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1, distance=5.0)

    response = client.post(f"/sync/runs/{run.id}")

    assert response.status_code == 200
    assert response.json() == {"run_id": run.id, "outcome": "created"}
    (event,) = google.calendar.live_events()
    assert event["summary"] == "5.0 mi Outdoor Run"
    assert calendar_state(client, run.id) == "current"


def test_syncing_an_edited_run_patches_its_event(
    google: FakeGoogle, client: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1, distance=5.0)
    client.post(f"/sync/runs/{run.id}")
    update_run_with_history(run.id, {"distance": 7.5}, changed_by="test")
    assert calendar_state(client, run.id) == "stale"

    assert client.post(f"/sync/runs/{run.id}").json()["outcome"] == "updated"
    assert client.post(f"/sync/runs/{run.id}").json()["outcome"] == "unchanged"
    (event,) = google.calendar.live_events()
    assert event["summary"] == "7.5 mi Outdoor Run"


def test_syncing_an_unknown_run_is_a_404(google: FakeGoogle, client: TestClient) -> None:
    for method in ("POST", "DELETE"):
        response = client.request(method, "/sync/runs/strava_404")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    assert google.calendar_requests() == []


def test_unsyncing_a_run_removes_its_event(
    google: FakeGoogle, client: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1)
    client.post(f"/sync/runs/{run.id}")

    first = client.delete(f"/sync/runs/{run.id}")
    second = client.delete(f"/sync/runs/{run.id}")

    assert first.json() == {"run_id": run.id, "removed": True}
    assert second.json() == {"run_id": run.id, "removed": False}
    assert google.calendar.live_events() == []
    assert calendar_state(client, run.id) == "missing"


def test_a_google_failure_is_a_502_recorded_on_the_run_without_secrets(
    google: FakeGoogle, client: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1)
    google.calendar.fail_next(400)

    response = client.post(f"/sync/runs/{run.id}")

    assert response.status_code == 502
    body = response.json()
    assert body["type"] == "/problems/integration-error"
    assert body["detail"] == "Google Calendar answered HTTP 400 (backendError) to events.insert"
    for secret in (google.tokens.current_access_token, CLIENT_SECRET, "Bearer"):
        assert secret not in response.text
    detail = client.get(f"/runs/{run.id}").json()
    assert detail["calendar_state"] == "failed"


def test_a_rate_limited_run_sync_is_a_503_saying_when_to_retry(
    google: FakeGoogle, client: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1)
    when = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    google.calendar.fail_next(429, headers={"Retry-After": format_datetime(when, usegmt=True)})

    response = client.post(f"/sync/runs/{run.id}")

    assert response.status_code == 503
    body = response.json()
    assert body["type"] == "/problems/calendar-rate-limited"
    assert body["retry_after"] == when.isoformat()
    assert calendar_state(client, run.id) == "missing"


def test_syncing_all_runs_reports_counts_and_a_second_sync_does_nothing(
    google: FakeGoogle, client: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    kept, deleted, _ = add_runs(3)
    client.post(f"/sync/runs/{kept.id}")
    client.post(f"/sync/runs/{deleted.id}")
    client.delete(f"/runs/{deleted.id}")

    first = client.post("/sync/runs")
    second = client.post("/sync/runs")

    assert first.status_code == 200
    assert first.json() == {
        "created": 1,
        "updated": 0,
        "deleted": 1,
        "failed": 0,
        "unchanged": 1,
        "skipped": 0,
        "rate_limited": False,
        "retry_after": None,
        "errors": [],
    }
    assert second.json()["unchanged"] == 2
    assert len(google.calendar.live_events()) == 2


def test_syncing_all_runs_lists_the_failures(
    google: FakeGoogle, client: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1)
    google.calendar.fail_next(400, json={"error": {"code": 400, "errors": [{"reason": "invalid"}]}})

    body = client.post("/sync/runs").json()

    assert body["failed"] == 1
    assert body["errors"] == [
        {
            "run_id": run.id,
            "message": "Google Calendar answered HTTP 400 (invalid) to events.insert",
        }
    ]


def test_a_rate_limit_stops_the_batch_with_a_200(
    google: FakeGoogle, client: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    add_runs(2)
    google.calendar.fail_next(403, json=rate_limit_error())

    body = client.post("/sync/runs").json()

    assert (body["rate_limited"], body["skipped"], body["created"]) == (True, 2, 0)


def test_a_revoked_google_authorisation_is_a_409(
    google: FakeGoogle, client: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    add_runs(1)
    google.tokens.valid_refresh_token = "revoked"

    response = client.post("/sync/runs")

    assert response.status_code == 409
    assert "`fitness connect google`" in response.json()["detail"]


def test_without_google_configured_syncing_is_a_503(
    google: FakeGoogle,
    client: TestClient,
    add_runs: Callable[..., list[Run]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (run,) = add_runs(1)
    monkeypatch.delenv("GOOGLE_CLIENT_ID")
    reset_settings()

    response = client.post(f"/sync/runs/{run.id}")

    assert response.status_code == 503
    assert response.json()["type"] == "/problems/integration-not-configured"


def test_a_read_only_calendar_is_one_409_and_no_run_is_charged(
    google: FakeGoogle, client: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    runs = add_runs(3)
    google.calendar.calendar_access["primary"] = "reader"

    response = client.post("/sync/runs")

    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "/problems/calendar-unavailable"
    assert "requiredAccessLevel" in problem["detail"]
    assert len(google.calendar_requests()) == 1
    assert [calendar_state(client, run.id) for run in runs] == ["missing"] * 3
