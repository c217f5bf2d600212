"""Syncs that go wrong half way: they stop cleanly, keep what they stored, and resume.

Strava or Google answering a malformed body (invalid JSON, JSON of the wrong shape, HTML),
never answering, or sending activities whose fields have the wrong types, in the middle of a
sync; and the database connection killed while a Strava sync's transaction holds its locks.
A sync then stops with an `IntegrationError` (the API's 502) or reports what it skipped,
`sync_metadata` never moves past what was stored, and the next sync finishes the job
without a duplicate.

500s, 429s and timeouts within the retry budget are tested in tests/services and
tests/integrations; the faults here are the ones those tests do not reach. Malformed
answers are injected by an httpx transport in front of the fake servers, which forwards
everything else to them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from starlette.testclient import TestClient

from fitness.api.app import create_app
from fitness.config import get_settings
from fitness.db.integrity import find_problems
from fitness.db.runs import get_all_runs, import_runs
from fitness.db.shoes import create_shoe
from fitness.db.sync_metadata import get_last_synced_at
from fitness.db.synced_runs import get_synced_run
from fitness.errors import IntegrationError
from fitness.integrations.google_calendar import GoogleCalendarClient
from fitness.integrations.strava import StravaClient
from fitness.services.calendar_sync import CalendarSyncResult, sync_all
from fitness.services.strava_sync import StravaSyncResult, sync_strava
from tests.db.test_faults import run_in_thread, terminate, wait_for_blocked_backend
from tests.factories import RunFactory
from tests.fakes.google_calendar import FakeGoogle, running_fake_google
from tests.fakes.http import Reply, Request
from tests.fakes.strava import API_PREFIX, FakeStrava, make_activities, running_fake_strava
from tests.guarantees.conftest import AUTHORIZATION, TOKEN

Forward = Callable[[httpx.Request], httpx.Response]
# Given a request and a way to send it on, an answer of its own, or None to send it on.
Replace = Callable[[httpx.Request, Forward], httpx.Response | None]


class Tampering(httpx.BaseTransport):
    """Sends requests on to the real (fake) servers, except those `replace` answers itself
    (or fails, by raising an httpx error)."""

    def __init__(self, replace: Replace) -> None:
        self._real = httpx.HTTPTransport()
        self._replace = replace

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        replaced = self._replace(request, self._real.handle_request)
        return replaced if replaced is not None else self._real.handle_request(request)

    def close(self) -> None:
        self._real.close()


@contextmanager
def tampered(replace: Replace) -> Iterator[httpx.Client]:
    with httpx.Client(transport=Tampering(replace), timeout=2) as http:
        yield http


def is_activities_page(request: httpx.Request, number: int) -> bool:
    path, page = request.url.path, request.url.params.get("page")
    return path.endswith("/athlete/activities") and page == str(number)


def strava_sync_through(replace: Replace) -> StravaSyncResult | BaseException:
    """A sync whose requests pass through `replace`: its result, or what it raised."""
    with tampered(replace) as http, StravaClient(http_client=http, backoff_seconds=0) as strava:
        try:
            return sync_strava(client=strava)
        except Exception as error:
            return error


def start_of(activity: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(activity["start_date"]))


def versions_per_run(conn: psycopg.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT run_id, count(*) FROM runs_history GROUP BY run_id"))


@pytest.fixture
def strava(db: str) -> Iterator[FakeStrava]:
    with running_fake_strava() as fake:
        yield fake


@pytest.fixture
def google(db: str) -> Iterator[FakeGoogle]:
    with running_fake_google() as fake:
        yield fake


# --- Strava: a malformed page or a dead connection in the middle of a sync ----------------


def answer(content: bytes, content_type: str = "application/json") -> Replace:
    def replace_page_two(request: httpx.Request, forward: Forward) -> httpx.Response | None:
        if is_activities_page(request, 2):
            return httpx.Response(200, content=content, headers={"Content-Type": content_type})
        return None

    return replace_page_two


def time_out(request: httpx.Request, forward: Forward) -> httpx.Response | None:
    if is_activities_page(request, 2):
        raise httpx.ReadTimeout("page 2 never answers", request=request)
    return None


@pytest.mark.parametrize(
    "replace",
    [
        answer(b'[{"id": 12000000200, "type": "Run", "distance": 50'),
        answer(b"<html><body>502 Bad Gateway</body></html>", "text/html"),
        answer(b'{"message": "Authorization Error", "errors": []}'),
        answer(b"[1, 2, 3]"),
        answer(b"null"),
        answer(b'"activities"'),
        time_out,
    ],
    ids=["truncated-json", "html", "object", "numbers", "null", "string", "timeout"],
)
def test_a_bad_page_mid_sync_stops_it_keeping_page_one_and_the_next_sync_completes(
    strava: FakeStrava, raw_conn: psycopg.Connection, replace: Replace
) -> None:
    activities = make_activities(450)
    strava.api.activities = activities

    stopped = strava_sync_through(replace)

    assert isinstance(stopped, IntegrationError), stopped
    assert str(stopped).startswith("Strava")
    assert len(get_all_runs()) == 200
    assert get_last_synced_at("strava") == start_of(activities[199])

    resumed = strava_sync_through(lambda request, forward: None)

    assert isinstance(resumed, StravaSyncResult), resumed
    assert resumed.inserted == 250
    assert versions_per_run(raw_conn) == {f"strava_{a['id']}": 1 for a in activities}
    assert get_last_synced_at("strava") == start_of(activities[-1])
    assert find_problems() == []


# How each odd activity must be handled: `error` (reported, the others stored), `other`
# (not recognisably a run: counted with the rides and walks), `stored` (the odd field is
# not needed: `type` still says Run; gear that is not an id is no gear), `stop` (the sync
# stops with an IntegrationError).
ODD_ACTIVITIES = {
    "sport-type-list": ({"sport_type": ["Run"]}, None, "stored"),
    "both-types-lists": ({"sport_type": ["Run"], "type": ["Run"]}, None, "other"),
    "type-object": ({"type": {"name": "Run"}, "sport_type": None}, None, "other"),
    "id-object": ({"id": {"value": 1}}, None, "error"),
    "id-too-long": ({"id": int("9" * 40)}, None, "error"),
    "id-missing": ({"id": None}, None, "error"),
    "start-date-number": ({"start_date": 1709290800}, None, "error"),
    "start-date-words": ({"start_date": "yesterday morning"}, None, "error"),
    "distance-text": ({"distance": "5 km"}, None, "error"),
    "durations-missing": ({"moving_time": None, "elapsed_time": None}, None, "error"),
    "gear-id-number": ({"gear_id": 12345}, None, "stored"),
    # A run is never dropped because of its shoe's name: the gear id identifies the shoe.
    "gear-emoji-name": ({}, {"name": "👟"}, "stored"),
    "gear-nul-name": ({}, {"name": "Nike\x00Pegasus"}, "stored"),
    "gear-long-name": ({}, {"name": "Pegasus " * 40}, "stored"),
    "gear-list": ({}, ["not", "gear"], "stop"),
}


@pytest.mark.parametrize(
    ("override", "gear", "expected"), list(ODD_ACTIVITIES.values()), ids=list(ODD_ACTIVITIES)
)
def test_an_activity_of_the_wrong_shape_is_reported_or_stops_the_sync_cleanly(
    strava: FakeStrava,
    raw_conn: psycopg.Connection,
    override: dict[str, object],
    gear: object,
    expected: str,
) -> None:
    good = make_activities(3)
    [odd] = make_activities(1, start=datetime(2024, 3, 2, 18, tzinfo=UTC), first_id=13_000_000_000)
    odd.update(override)
    if gear is not None:
        odd["gear_id"] = "g99999999"

    def serve(request: httpx.Request, forward: Forward) -> httpx.Response | None:
        if is_activities_page(request, 1):
            return httpx.Response(200, json=[*good, odd])
        if request.url.path.endswith("/athlete/activities"):
            return httpx.Response(200, json=[])
        if request.url.path.endswith("/gear/g99999999"):
            return httpx.Response(200, json=gear)
        return None

    first = strava_sync_through(serve)
    second = strava_sync_through(serve)

    good_ids = {f"strava_{a['id']}" for a in good}
    stored = {run.id for run in get_all_runs()}
    assert stored == (good_ids | {"strava_13000000000"} if expected == "stored" else good_ids)
    assert versions_per_run(raw_conn) == dict.fromkeys(stored, 1)
    if expected == "stop":
        for outcome in (first, second):
            assert isinstance(outcome, IntegrationError), repr(outcome)
            assert "gear" in str(outcome)
        assert get_last_synced_at("strava") == start_of(good[-1])
        return
    assert isinstance(first, StravaSyncResult), repr(first)
    assert isinstance(second, StravaSyncResult), repr(second)
    assert first.inserted == len(stored) and second.skipped_existing == len(stored)
    reported = [error.activity_id for error in first.errors]
    assert reported == ([str(odd["id"])] if expected == "error" else [])
    assert first.skipped_other_activities == (1 if expected == "other" else 0)
    newest_kept = max(start_of(a) for a in (good if expected == "error" else [*good, odd]))
    assert get_last_synced_at("strava") == newest_kept
    assert find_problems() == []


def test_through_the_api_a_malformed_page_is_a_502_and_the_next_sync_completes(
    strava: FakeStrava, raw_conn: psycopg.Connection
) -> None:
    activities = make_activities(450)
    activities[300]["distance"] = "far"
    activities[301].update({"sport_type": ["Run", "Walk"], "type": None})
    strava.api.activities = activities
    pages_served: list[int] = []

    def page_two_once_malformed(request: Request) -> Reply:
        page = int(request.query.get("page", "1"))
        pages_served.append(page)
        if page == 2 and pages_served.count(2) == 1:
            return Reply(200, {"activities": "are not here"})
        return strava.api(request)

    strava.server.route("GET", API_PREFIX + "/athlete/activities", page_two_once_malformed)
    settings = dataclasses.replace(get_settings(), api_tokens=(TOKEN,))
    with TestClient(create_app(settings), headers=AUTHORIZATION) as api:
        stopped = api.post("/strava/sync")
        resumed = api.post("/strava/sync")

    assert stopped.status_code == 502, stopped.text
    assert stopped.json()["type"] == "/problems/integration-error"
    assert "unreadable" in stopped.json()["detail"]
    assert resumed.status_code == 200, resumed.text
    body = resumed.json()
    assert (body["inserted"], body["skipped_other_activities"]) == (248, 1)
    assert len(get_all_runs()) == 448
    assert [error["activity_id"] for error in body["errors"]] == [str(activities[300]["id"])]
    assert all(count == 1 for count in versions_per_run(raw_conn).values())


def test_a_connection_killed_inside_a_strava_syncs_transaction_is_retried_and_stores_once(
    strava: FakeStrava, raw_conn: psycopg.Connection, db: str
) -> None:
    # The recorded activities are run in "Nike Pegasus 40": holding that shoe's row makes
    # the sync's insert wait there, inside its transaction, until its backend is killed;
    # the sync stores again on a new connection (nothing was committed), once.
    create_shoe("Nike Pegasus 40")
    with psycopg.connect(db) as holder:
        holder.execute("SELECT 1 FROM shoes WHERE id = 'nike_pegasus_40' FOR UPDATE")
        thread, outcome = run_in_thread(lambda: strava_sync_through(lambda *_: None))
        first = wait_for_blocked_backend(db, exclude=set())
        terminate(db, first)
        wait_for_blocked_backend(db, exclude={first})
        holder.rollback()
    thread.join(timeout=30)
    assert not thread.is_alive()

    [synced] = outcome
    assert isinstance(synced, StravaSyncResult), repr(synced)
    assert synced.inserted == 6
    assert versions_per_run(raw_conn) == {run.id: 1 for run in get_all_runs()}
    assert get_last_synced_at("strava") == datetime(2025, 1, 9, 12, tzinfo=UTC)
    assert find_problems() == []

    again = strava_sync_through(lambda *_: None)

    assert isinstance(again, StravaSyncResult), repr(again)
    assert again.inserted == 0


# --- Google Calendar: malformed answers and silence in the middle of a sync ---------------


def second_insert(transform: Callable[[httpx.Request, httpx.Response], httpx.Response]) -> Replace:
    """Every request goes to Google; the answers to the second event's inserts (each
    attempt) are replaced by `transform(request, real_answer)`."""
    inserts: list[str] = []

    def replace(request: httpx.Request, forward: Forward) -> httpx.Response | None:
        if request.method != "POST" or not request.url.path.endswith("/events"):
            return None
        event_id = json.loads(request.content)["id"]
        if event_id not in inserts:
            inserts.append(event_id)
        response = forward(request)
        if inserts.index(event_id) != 1:
            return response
        response.read()
        return transform(request, response)

    return replace


def garbage(content: bytes) -> Callable[[httpx.Request, httpx.Response], httpx.Response]:
    return lambda request, real: httpx.Response(200, content=content)


def lost(request: httpx.Request, real: httpx.Response) -> httpx.Response:
    raise httpx.ReadTimeout("the answer never came", request=request)


@pytest.mark.parametrize(
    "transform",
    [
        garbage(b'{"kind": "calendar#event", "id": '),
        garbage(b"<html>Service Unavailable</html>"),
        garbage(b'{"kind": "calendar#event"}'),
        garbage(b'["calendar#event"]'),
        lost,
    ],
    ids=["truncated-json", "html", "no-id", "list", "timeout-after-writing"],
)
def test_a_bad_answer_mid_calendar_sync_fails_one_run_and_the_next_sync_adds_no_duplicate(
    google: FakeGoogle, transform: Callable[[httpx.Request, httpx.Response], httpx.Response]
) -> None:
    runs = RunFactory().many(3)
    import_runs(runs)

    with (
        tampered(second_insert(transform)) as http,
        GoogleCalendarClient(http_client=http, backoff_seconds=0) as calendar,
    ):
        first = sync_all(client=calendar)
    failed = [run for run in runs if get_synced_run(run.id).sync_status == "failed"]  # type: ignore[union-attr]

    assert (first.created, first.failed) == (2, 1)
    assert len(failed) == 1
    assert [e.run_id for e in first.errors] == [failed[0].id]
    assert first.errors[0].message.startswith("Google Calendar")
    with GoogleCalendarClient(backoff_seconds=0) as calendar:
        second = sync_all(client=calendar)
    assert second == CalendarSyncResult(created=1, unchanged=2)
    assert len(google.calendar.live_events()) == 3
    assert get_synced_run(failed[0].id).error_message is None  # type: ignore[union-attr]
    assert find_problems() == []
