"""`POST /hevy/sync` against a fake Hevy: the summary, the flag, and Hevy's errors as
problems that never carry the API key."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from fitness.config import Settings, get_settings, reset_settings
from fitness.db.lifts import list_lifts
from tests.api.conftest import TOKEN
from tests.fakes.hevy import API_KEY, FakeHevy, running_fake_hevy
from tests.fakes.http import Reply


@pytest.fixture
def hevy(db: str) -> Iterator[FakeHevy]:
    with running_fake_hevy() as fake:
        yield fake


@pytest.fixture
def settings(hevy: FakeHevy) -> Settings:
    """The app's settings, pointing at the fake Hevy."""
    return dataclasses.replace(get_settings(), api_tokens=(TOKEN,))


def test_a_sync_stores_the_lifts_and_answers_with_the_counts(
    hevy: FakeHevy, client: TestClient
) -> None:
    response = client.post("/hevy/sync")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("fetched", "inserted", "updated", "deleted")} == {
        "fetched": 3,
        "inserted": 3,
        "updated": 0,
        "deleted": 0,
    }
    assert body["skipped_existing"] == 0 and body["kept_edited"] == []
    assert datetime.fromisoformat(body["last_synced_at"]) == datetime(
        2025, 1, 9, 12, 20, 5, tzinfo=UTC
    )
    assert len(list_lifts().lifts) == 3


def test_full_sync_lists_every_workout_again(hevy: FakeHevy, client: TestClient) -> None:
    client.post("/hevy/sync")
    body = client.post("/hevy/sync", params={"full_sync": "true"}).json()
    assert (body["fetched"], body["skipped_existing"]) == (3, 3)
    assert len(hevy.requests_to("/v1/workouts")) == 2


def test_a_bad_flag_and_an_unknown_parameter_are_refused_before_hevy(
    hevy: FakeHevy, client: TestClient
) -> None:
    assert client.post("/hevy/sync", params={"full_sync": "maybe"}).status_code == 422
    assert client.post("/hevy/sync", params={"since": "2025-01-01"}).status_code == 400
    assert hevy.server.requests == []


def test_a_rejected_key_is_a_409_saying_what_to_do_without_the_key(
    hevy: FakeHevy, client: TestClient
) -> None:
    hevy.api.api_key = "another"
    response = client.post("/hevy/sync")
    assert response.status_code == 409
    assert "HEVY_API_KEY" in response.json()["detail"]
    assert API_KEY not in response.text


def test_hevy_failing_is_a_502(hevy: FakeHevy, client: TestClient) -> None:
    hevy.api.fail_next(500, times=3)
    response = client.post("/hevy/sync")
    assert response.status_code == 502
    assert "500" in response.json()["detail"]


def test_hevys_rate_limit_is_a_200_saying_when_to_sync_again(
    hevy: FakeHevy, client: TestClient
) -> None:
    hevy.api.answer_next(Reply(429, text="Too Many Requests", headers={"Retry-After": "120"}))
    response = client.post("/hevy/sync")
    assert response.status_code == 200
    body = response.json()
    assert body["rate_limited"] is True
    wait = datetime.fromisoformat(body["retry_after"]) - datetime.now(UTC)
    assert timedelta(seconds=100) < wait <= timedelta(seconds=120)
    assert body["last_synced_at"] is None
    # Nothing was lost: the next sync brings everything.
    assert client.post("/hevy/sync").json()["inserted"] == 3


def test_hevy_not_configured_is_a_503(
    hevy: FakeHevy, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEVY_API_KEY")
    reset_settings()
    response = client.post("/hevy/sync")
    assert response.status_code == 503
    assert "HEVY_API_KEY" in response.json()["detail"]
