"""The connections page: sync Strava now and bring the calendar up to date, with what each
did or why it could not (fitness/web/connections.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from fitness.config import get_settings
from fitness.db.runs import get_all_runs
from fitness.models import Run
from tests.fakes.hevy import FakeHevy, running_fake_hevy
from tests.fakes.http import Reply
from tests.fakes.strava import FakeStrava, running_fake_strava
from tests.web.conftest import csrf_of, text_of


@pytest.fixture
def strava(db: str) -> Iterator[FakeStrava]:
    with running_fake_strava() as fake:
        yield fake


def test_syncing_strava_from_the_page(strava: FakeStrava, browser: TestClient) -> None:
    page = browser.get("/app/connections")
    assert "Strava Connected no Last sync never" in text_of(page)

    response = browser.post("/app/connections/strava/sync", data={"csrf": csrf_of(page)})

    assert response.status_code == 200
    text = text_of(response)
    assert (
        "Fetched 8 activities: 6 new runs, 0 already stored, 1 new ride (0 already stored),"
        " 1 other activities." in text
    )
    assert "Synced up to 2025-01-09 12:00." in text
    assert len(get_all_runs()) == 6


def test_a_full_sync_is_a_tick_away(strava: FakeStrava, browser: TestClient) -> None:
    page = browser.get("/app/connections")
    browser.post("/app/connections/strava/sync", data={"csrf": csrf_of(page)})
    browser.post("/app/connections/strava/sync", data={"csrf": csrf_of(page), "full_sync": "on"})

    assert strava.api_requests("/athlete/activities")[-1].query["after"] == "0"


def test_an_unconfigured_provider_is_said_in_words(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    add_runs(1)  # a run for the calendar to show, so that Google is needed
    page = browser.get("/app/connections")

    strava = browser.post("/app/connections/strava/sync", data={"csrf": csrf_of(page)})
    google = browser.post("/app/connections/google/sync", data={"csrf": csrf_of(page)})

    assert strava.status_code == 503 and google.status_code == 503
    assert "Strava is not connected: set STRAVA_CLIENT_ID" in text_of(strava)
    assert "Google" in text_of(google) and "GOOGLE_CLIENT_ID" in text_of(google)
    assert "Traceback" not in strava.text + google.text


def test_connecting_sends_the_browser_to_the_providers_consent(
    strava: FakeStrava, browser: TestClient
) -> None:
    page = browser.get("/app/connections")

    response = browser.post(
        "/app/connections/strava/connect", data={"csrf": csrf_of(page)}, follow_redirects=False
    )

    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(get_settings().strava_auth_url)
    assert "state=" in location and "redirect_uri=" in location
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("fitness_oauth_strava=") and "HttpOnly" in cookie


def test_connecting_an_unconfigured_provider_says_what_to_set(browser: TestClient) -> None:
    page = browser.get("/app/connections")

    response = browser.post(
        "/app/connections/google/connect", data={"csrf": csrf_of(page)}, follow_redirects=False
    )

    assert response.status_code == 503
    assert "set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET" in text_of(response)


def test_disconnecting_forgets_the_credentials(strava: FakeStrava, browser: TestClient) -> None:
    page = browser.get("/app/connections")
    browser.post("/app/connections/strava/sync", data={"csrf": csrf_of(page)})

    response = browser.post(
        "/app/connections/strava/disconnect",
        data={"csrf": csrf_of(page), "forget_only": "on"},
    )

    assert response.status_code == 200
    text = text_of(response)
    assert "Disconnected from Strava (access not attempted)." in text
    assert "Its refresh token is still in the environment" in text
    assert "the next use stores it again. Connected no Last sync never" in text


def test_an_unknown_provider_is_a_404_page(browser: TestClient) -> None:
    page = browser.get("/app/connections")

    response = browser.post("/app/connections/myspace/connect", data={"csrf": csrf_of(page)})

    assert response.status_code == 404
    assert "There is no OAuth provider 'myspace'" in text_of(response)


@pytest.fixture
def hevy(db: str) -> Iterator[FakeHevy]:
    with running_fake_hevy() as fake:
        yield fake


def test_syncing_hevy_and_forgetting_its_key_from_the_page(
    hevy: FakeHevy, browser: TestClient
) -> None:
    page = browser.get("/app/connections")
    assert "Hevy" in text_of(page) and "API key none stored" in text_of(page)

    response = browser.post("/app/connections/hevy/sync", data={"csrf": csrf_of(page)})

    assert response.status_code == 200
    text = text_of(response)
    assert "Fetched 3 workouts and deletions: 3 new lifts, 0 updated, 0 deleted" in text
    assert "API key stored (encrypted)" in text and "Synced up to 2025-01-09" in text
    assert hevy.api.api_key not in response.text

    forgotten = browser.post("/app/connections/hevy/forget", data={"csrf": csrf_of(page)})

    assert forgotten.status_code == 200
    assert "Hevy's stored API key is forgotten" in text_of(forgotten)
    assert "HEVY_API_KEY is still set" in text_of(forgotten)
    assert "API key none stored" in text_of(forgotten)


def test_hevys_rate_limit_on_the_page_says_when_to_sync_again(
    hevy: FakeHevy, browser: TestClient
) -> None:
    page = browser.get("/app/connections")
    hevy.api.answer_next(Reply(429, text="Too Many Requests", headers={"Retry-After": "600"}))

    response = browser.post("/app/connections/hevy/sync", data={"csrf": csrf_of(page)})

    assert response.status_code == 200
    assert (
        "Hevy's rate limit stopped the sync early; what was fetched is stored; sync again after"
        in (text_of(response))
    )


def test_hevy_refusing_the_key_is_said_in_words(hevy: FakeHevy, browser: TestClient) -> None:
    hevy.api.api_key = "another"
    page = browser.get("/app/connections")

    response = browser.post("/app/connections/hevy/sync", data={"csrf": csrf_of(page)})

    assert response.status_code == 409
    assert "HEVY_API_KEY" in text_of(response) and "Traceback" not in response.text
