"""POST /strava/sync against a fake Strava on 127.0.0.1, through the real app."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from fitness.config import Settings, get_settings, reset_settings
from fitness.db.runs import get_all_runs
from tests.api.conftest import TOKEN
from tests.fakes.oauth import CLIENT_SECRET
from tests.fakes.strava import FakeStrava, make_activities, refusing_case, running_fake_strava


@pytest.fixture
def strava(db: str) -> Iterator[FakeStrava]:
    with running_fake_strava() as fake:
        yield fake


@pytest.fixture
def settings(strava: FakeStrava) -> Settings:
    """The app's settings, pointing at the fake Strava."""
    return dataclasses.replace(get_settings(), api_tokens=(TOKEN,))


def test_a_sync_stores_the_runs_and_answers_with_a_summary(
    strava: FakeStrava, client: TestClient
) -> None:
    response = client.post("/strava/sync")
    assert response.status_code == 200
    body = response.json()
    assert body["fetched"] == 8 and body["inserted"] == 6
    assert (body["rides_inserted"], body["skipped_other_activities"]) == (1, 1)
    assert body["rate_limited"] is False and body["retry_after"] is None
    assert datetime.fromisoformat(body["last_synced_at"]) == datetime(2025, 1, 9, 12, tzinfo=UTC)
    assert sorted(body["shoes_created"]) == ["Nike Pegasus 40", "Saucony Endorphin Speed 3"]
    assert len(get_all_runs()) == 6


def test_syncing_again_inserts_nothing(strava: FakeStrava, client: TestClient) -> None:
    client.post("/strava/sync")
    body = client.post("/strava/sync").json()
    assert (body["inserted"], body["skipped_existing"]) == (0, 6)


def test_full_sync_asks_strava_for_everything(strava: FakeStrava, client: TestClient) -> None:
    client.post("/strava/sync")
    client.post("/strava/sync", params={"full_sync": "true"})
    assert strava.api_requests("/athlete/activities")[-1].query["after"] == "0"


def test_a_bad_full_sync_flag_is_a_422(strava: FakeStrava, client: TestClient) -> None:
    response = client.post("/strava/sync", params={"full_sync": "sometimes"})
    assert response.status_code == 422
    assert strava.api_requests() == []


def test_a_rate_limited_sync_is_still_a_200_saying_when_to_retry(
    strava: FakeStrava, client: TestClient
) -> None:
    strava.api.activities = make_activities(300)
    strava.api.rate_limit_after(1)
    response = client.post("/strava/sync")
    assert response.status_code == 200
    body = response.json()
    assert body["rate_limited"] is True and body["retry_after"] is not None
    assert body["inserted"] == 200
    assert len(get_all_runs()) == 200


def test_a_revoked_authorisation_is_a_409_saying_to_authorise_again(
    strava: FakeStrava, client: TestClient
) -> None:
    strava.tokens.valid_refresh_token = "not-ours"
    response = client.post("/strava/sync")
    assert response.status_code == 409
    assert "`fitness connect strava`" in response.json()["detail"]


def test_strava_failing_is_a_502_without_secrets(strava: FakeStrava, client: TestClient) -> None:
    strava.api.fail_next(503, times=3)
    response = client.post("/strava/sync")
    assert response.status_code == 502
    assert "503" in response.json()["detail"]
    for secret in (CLIENT_SECRET, "access-token", "refresh-token"):
        assert secret not in response.text


def test_strava_not_configured_is_a_503(
    strava: FakeStrava, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STRAVA_REFRESH_TOKEN")
    reset_settings()
    response = client.post("/strava/sync")
    assert response.status_code == 503
    assert "STRAVA_REFRESH_TOKEN" in response.json()["detail"]


def test_syncing_needs_the_api_token(strava: FakeStrava, anonymous: TestClient) -> None:
    assert anonymous.post("/strava/sync").status_code == 401
    assert strava.api_requests() == []


def test_since_fetches_everything_from_that_day(strava: FakeStrava, client: TestClient) -> None:
    strava.api.activities = make_activities(3, start=datetime(2025, 2, 1, 8, tzinfo=UTC))
    client.post("/strava/sync")
    late = make_activities(1, start=datetime(2024, 12, 24, 8, tzinfo=UTC), first_id=99)
    strava.api.activities += late

    response = client.post("/strava/sync", params={"since": "2024-12-24"})

    assert response.status_code == 200
    assert response.json()["inserted"] == 1
    assert len(get_all_runs()) == 4


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "24/12/2024"}, "since"),
        ({"since": "1969-12-31"}, "since"),
        ({"since": "2999-01-01"}, "since"),
        ({"since": "2024-12-24", "full_sync": "true"}, "since"),
    ],
)
def test_a_bad_since_is_a_422_naming_it(
    strava: FakeStrava, client: TestClient, params: dict[str, str], field: str
) -> None:
    response = client.post("/strava/sync", params=params)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert strava.api_requests() == []


def test_a_deactivated_strava_app_is_a_409_saying_what_to_do(
    strava: FakeStrava, client: TestClient
) -> None:
    activities, always = refusing_case("strava-app-inactive")
    strava.api.activities, strava.api.api_always = activities, always

    response = client.post("/strava/sync")

    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "/problems/provider-app-inactive"
    assert "subscription" in problem["detail"]
    assert "`fitness import strava-archive`" in problem["detail"]


def test_a_grant_without_activities_is_a_409_naming_the_permission(
    strava: FakeStrava, client: TestClient
) -> None:
    activities, always = refusing_case("strava-scope-read-only")
    strava.api.activities, strava.api.api_always = activities, always

    response = client.post("/strava/sync")

    assert response.status_code == 409
    assert response.json()["type"] == "/problems/insufficient-scope"
    assert "'View data about your activities'" in response.json()["detail"]
