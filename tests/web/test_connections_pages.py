"""The connections page: sync Strava now and bring the calendar up to date, with what each
did or why it could not (fitness/web/connections.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from fitness.db.runs import get_all_runs
from fitness.models import Run
from tests.fakes.strava import FakeStrava, running_fake_strava
from tests.web.conftest import csrf_of, text_of


@pytest.fixture
def strava(db: str) -> Iterator[FakeStrava]:
    with running_fake_strava() as fake:
        yield fake


def test_syncing_strava_from_the_page(strava: FakeStrava, browser: TestClient) -> None:
    page = browser.get("/app/connections")
    assert "Last synced: never." in text_of(page)

    response = browser.post("/app/connections/strava/sync", data={"csrf": csrf_of(page)})

    assert response.status_code == 200
    text = text_of(response)
    assert "Fetched 8 activities: 6 new runs, 0 already stored, 2 other activities." in text
    assert "Last synced: 2025-01-09 12:00." in text
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
