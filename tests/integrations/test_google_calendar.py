"""Tests of fitness/integrations/google_calendar.py against a fake Google on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from fitness.config import reset_settings
from fitness.db.oauth_credentials import get_credentials
from fitness.errors import (
    CalendarUnavailable,
    CredentialsRejected,
    InsufficientScope,
    IntegrationError,
    IntegrationNotConfigured,
    IntegrationRefused,
    ReauthorizationRequired,
)
from fitness.integrations.google_calendar import (
    CalendarRateLimited,
    EventExists,
    EventNotFound,
    EventNotWritable,
    GoogleCalendarClient,
)
from tests.fakes.google_calendar import FakeGoogle, rate_limit_error, running_fake_google

EVENT = {
    "summary": "5.0 mi Outdoor Run",
    "start": {"dateTime": "2025-05-06T07:00:00Z", "timeZone": "UTC"},
    "end": {"dateTime": "2025-05-06T07:40:00Z", "timeZone": "UTC"},
}


@pytest.fixture
def google(db: str) -> Iterator[FakeGoogle]:
    with running_fake_google() as fake:
        yield fake


@pytest.fixture
def calendar(google: FakeGoogle) -> Iterator[GoogleCalendarClient]:
    with GoogleCalendarClient(backoff_seconds=0, timeout=0.5) as client:
        yield client


def test_insert_event_creates_it_on_the_primary_calendar(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    event = calendar.insert_event(EVENT)

    assert google.calendar.live_events() == [event]
    assert event["summary"] == "5.0 mi Outdoor Run"
    assert google.calendar.calendar_ids == ["primary"]


def test_insert_event_sends_the_stored_access_token(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    calendar.insert_event(EVENT)
    calendar.insert_event(EVENT)

    (request, second) = google.calendar_requests("POST")
    assert request.headers["authorization"] == f"Bearer {google.tokens.current_access_token}"
    assert second.headers["authorization"] == request.headers["authorization"]
    assert google.tokens.refreshes == 1
    assert get_credentials("google").access_token == google.tokens.current_access_token


def test_the_calendar_id_comes_from_the_settings(
    google: FakeGoogle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_CALENDAR_ID", "runs@group.calendar.google.com")
    reset_settings()
    google.calendar.calendar_access["runs@group.calendar.google.com"] = "writer"

    with GoogleCalendarClient() as client:
        client.insert_event(EVENT)

    assert google.calendar.calendar_ids == ["runs@group.calendar.google.com"]


def test_insert_event_with_a_taken_id_is_event_exists(calendar: GoogleCalendarClient) -> None:
    calendar.insert_event({**EVENT, "id": "fitness0123"})

    with pytest.raises(EventExists) as raised:
        calendar.insert_event({**EVENT, "id": "fitness0123"})

    assert raised.value.event_id == "fitness0123"


def test_patch_event_changes_only_the_given_fields(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    event = calendar.insert_event(EVENT)

    patched = calendar.patch_event(str(event["id"]), {"summary": "6.2 mi Outdoor Run"})

    assert patched["summary"] == "6.2 mi Outdoor Run"
    assert patched["start"] == EVENT["start"]
    assert google.calendar.live_events() == [patched]


def test_patch_event_of_an_unknown_event_is_event_not_found(
    calendar: GoogleCalendarClient,
) -> None:
    with pytest.raises(EventNotFound):
        calendar.patch_event("nosuchevent", {"summary": "x"})


def test_delete_event_removes_it(google: FakeGoogle, calendar: GoogleCalendarClient) -> None:
    event = calendar.insert_event(EVENT)

    assert calendar.delete_event(str(event["id"])) is True
    assert google.calendar.live_events() == []


@pytest.mark.parametrize("already", ["deleted (410)", "never existed (404)"])
def test_deleting_an_event_that_is_already_gone_counts_as_deleted(
    calendar: GoogleCalendarClient, already: str
) -> None:
    event_id = "nosuchevent"
    if already.startswith("deleted"):
        event_id = str(calendar.insert_event(EVENT)["id"])
        calendar.delete_event(event_id)

    assert calendar.delete_event(event_id) is False


def test_a_401_refreshes_the_token_once_and_retries(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    calendar.insert_event(EVENT)
    google.calendar.expire_token()

    calendar.insert_event(EVENT)

    assert len(google.calendar.live_events()) == 2
    assert google.tokens.refreshes == 2
    assert [r.headers["authorization"] for r in google.calendar_requests("POST")][-2:] == [
        "Bearer access-token-1",
        "Bearer access-token-2",
    ]


def test_a_401_after_refreshing_is_an_error_without_a_second_refresh(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    calendar.insert_event(EVENT)
    google.calendar.expire_token()
    google.calendar.fail_next(401, json={"error": {"code": 401, "message": "nope"}})

    with pytest.raises(ReauthorizationRequired, match="`fitness connect google`"):
        calendar.insert_event(EVENT)

    assert google.tokens.refreshes == 2


def test_a_5xx_is_retried_until_it_succeeds(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    google.calendar.fail_next(503, times=2)

    calendar.insert_event(EVENT)

    assert len(google.calendar_requests("POST")) == 3
    assert len(google.calendar.live_events()) == 1


def test_a_lasting_5xx_gives_up_without_echoing_the_response(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    google.calendar.fail_next(500, times=3)

    with pytest.raises(IntegrationError) as raised:
        calendar.insert_event(EVENT)

    message = str(raised.value)
    assert message == "Google Calendar answered HTTP 500 to events.insert (3 attempts)"
    assert "access-token" not in message
    assert len(google.calendar_requests("POST")) == 3


def test_a_timeout_is_retried(google: FakeGoogle, calendar: GoogleCalendarClient) -> None:
    google.calendar.hang_next(method="DELETE")
    event = calendar.insert_event(EVENT)

    assert calendar.delete_event(str(event["id"])) is True
    assert len(google.calendar_requests("DELETE")) == 2


def test_lasting_timeouts_are_an_error(google: FakeGoogle) -> None:
    for _ in range(2):
        google.calendar.hang_next()

    with (
        GoogleCalendarClient(max_attempts=2, backoff_seconds=0, timeout=0.3) as client,
        pytest.raises(IntegrationError, match="did not answer in time to events.insert"),
    ):
        client.insert_event(EVENT)


def test_a_429_stops_at_once_with_the_time_to_wait(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    google.calendar.fail_next(429, headers={"Retry-After": "30"})
    asked_at = datetime.now(UTC)

    with pytest.raises(CalendarRateLimited) as raised:
        calendar.insert_event(EVENT)

    wait = (raised.value.retry_after - asked_at).total_seconds()
    assert 29 <= wait <= 31 + 60
    assert len(google.calendar_requests("POST")) == 1


def test_retry_after_may_be_an_http_date(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    when = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    google.calendar.fail_next(429, headers={"Retry-After": format_datetime(when, usegmt=True)})

    with pytest.raises(CalendarRateLimited) as raised:
        calendar.insert_event(EVENT)

    assert raised.value.retry_after == when
    assert f"try again after {when.isoformat()}" in str(raised.value)


@pytest.mark.parametrize(
    "value", ["Wed, 21 Oct 2065 07:28:00 GMT", "9" * 40, "Mon, 01 Jan 1990 00:00:00 GMT"]
)
def test_a_retry_after_beyond_belief_is_held_to_a_day_from_now(
    google: FakeGoogle, calendar: GoogleCalendarClient, value: str
) -> None:
    # A date decades ahead, more seconds than a timedelta holds, or a date long past: the
    # sync says to try again within a day, never a traceback or a time in the past.
    google.calendar.fail_next(429, headers={"Retry-After": value})
    asked_at = datetime.now(UTC)

    with pytest.raises(CalendarRateLimited) as raised:
        calendar.insert_event(EVENT)

    assert raised.value.retry_after is not None
    assert asked_at <= raised.value.retry_after <= datetime.now(UTC) + timedelta(days=1)


def test_a_403_rate_limit_is_a_rate_limit(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    google.calendar.fail_next(403, json=rate_limit_error())

    with pytest.raises(CalendarRateLimited) as raised:
        calendar.insert_event(EVENT)

    assert raised.value.retry_after is None


@pytest.mark.parametrize("reason", ["forbidden", "someReasonGoogleAddsLater"])
def test_another_403_refuses_the_calendar_naming_googles_reason(
    google: FakeGoogle, calendar: GoogleCalendarClient, reason: str
) -> None:
    google.calendar.fail_next(
        403, json={"error": {"code": 403, "errors": [{"reason": reason, "message": "no"}]}}
    )

    with pytest.raises(CalendarUnavailable) as raised:
        calendar.insert_event(EVENT)

    assert f"calendar 'primary' ({reason}) to events.insert" in str(raised.value)
    assert "GOOGLE_CALENDAR_ID" in str(raised.value)


# --- answers about the calendar or the account, not one event -----------------------------


def test_a_read_only_calendar_is_refused_as_a_whole(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    google.calendar.calendar_access["primary"] = "reader"

    with pytest.raises(CalendarUnavailable, match="requiredAccessLevel") as raised:
        calendar.insert_event(EVENT)

    assert "'Make changes to events'" in str(raised.value)
    assert len(google.calendar_requests()) == 1  # not retried


def test_a_calendar_the_account_cannot_see_is_refused_on_insert(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    google.calendar.calendar_access["primary"] = "none"

    with pytest.raises(CalendarUnavailable, match="no calendar 'primary'"):
        calendar.insert_event(EVENT)


def test_a_grant_without_the_calendar_scope_says_what_to_tick(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    calendar.insert_event(EVENT)
    google.tokens.grant_scope = ("openid",)  # a token Google issued before it was unticked

    with pytest.raises(InsufficientScope) as raised:
        calendar.insert_event(EVENT)

    assert "'View and edit events on all your calendars'" in str(raised.value)
    assert "`fitness connect google`" in str(raised.value)


def test_a_calendar_api_not_enabled_in_the_project_says_where_to_enable_it(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    google.calendar.fail_next(
        403,
        json={"error": {"code": 403, "errors": [{"reason": "accessNotConfigured"}]}},
    )

    with pytest.raises(IntegrationRefused, match="not enabled in the Google Cloud project"):
        calendar.insert_event(EVENT)


def test_a_rejected_client_is_refused_as_a_whole(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    google.tokens.client_secret = "the client was deleted"

    with pytest.raises(CredentialsRejected, match="GOOGLE_CLIENT_SECRET"):
        calendar.insert_event(EVENT)

    assert google.calendar_requests() == []


def test_an_event_of_another_organiser_is_not_writable(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    event_id = str(calendar.insert_event(EVENT)["id"])
    google.calendar.foreign_organizer.add(event_id)

    with pytest.raises(EventNotWritable):
        calendar.patch_event(event_id, {"summary": "x"})
    with pytest.raises(EventNotWritable):
        calendar.delete_event(event_id)


def test_get_event_sees_deleted_events_but_not_purged_ones(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    event_id = str(calendar.insert_event({**EVENT, "id": "fitness0123"})["id"])
    calendar.delete_event(event_id)
    assert calendar.get_event(event_id)["status"] == "cancelled"

    google.calendar.purge(event_id)

    assert calendar.get_event(event_id) is None
    with pytest.raises(EventExists):
        calendar.insert_event({**EVENT, "id": event_id})


def test_a_404_on_delete_from_a_calendar_the_account_cannot_see_is_not_a_deletion(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    event_id = str(calendar.insert_event(EVENT)["id"])
    google.calendar.calendar_access["primary"] = "none"  # unshared, or the account changed

    with pytest.raises(CalendarUnavailable):
        calendar.delete_event(event_id)

    google.calendar.calendar_access["primary"] = "owner"
    assert [e["id"] for e in google.calendar.live_events()] == [event_id]


def test_a_revoked_refresh_token_asks_to_authorise_again(
    google: FakeGoogle, calendar: GoogleCalendarClient
) -> None:
    google.tokens.valid_refresh_token = "someone-else"

    with pytest.raises(ReauthorizationRequired):
        calendar.insert_event(EVENT)

    assert google.calendar_requests() == []


def test_without_google_credentials_the_client_says_what_to_configure(
    google: FakeGoogle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_REFRESH_TOKEN")
    reset_settings()

    with (
        GoogleCalendarClient() as client,
        pytest.raises(IntegrationNotConfigured, match="GOOGLE_REFRESH_TOKEN"),
    ):
        client.insert_event(EVENT)
