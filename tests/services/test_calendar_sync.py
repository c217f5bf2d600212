"""Tests of fitness/services/calendar_sync.py: runs on a fake Google Calendar, end to end."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter

from fitness.config import reset_settings
from fitness.db.oauth_credentials import get_credentials
from fitness.db.runs import delete_run, get_all_run_details, get_run_detail_by_id, import_runs
from fitness.db.runs_history import restore_run_version, update_run_with_history
from fitness.db.synced_runs import get_all_synced_runs, get_synced_run
from fitness.errors import (
    CalendarUnavailable,
    CredentialsRejected,
    InsufficientScope,
    IntegrationError,
    IntegrationRefused,
    ReauthorizationRequired,
    RunNotFound,
)
from fitness.integrations.google_calendar import GoogleCalendarClient
from fitness.models import Run
from fitness.services.calendar_sync import (
    CalendarSyncResult,
    RunSyncFailure,
    event_for_run,
    event_id_for_run,
    format_duration,
    sync_all,
    sync_run,
    unsync_run,
)
from tests.factories import RunFactory
from tests.fakes.google_calendar import FakeGoogle, running_fake_google


@pytest.fixture
def google(db: str) -> Iterator[FakeGoogle]:
    with running_fake_google() as fake:
        yield fake


@pytest.fixture
def calendar(google: FakeGoogle) -> Iterator[GoogleCalendarClient]:
    with GoogleCalendarClient(backoff_seconds=0) as client:
        yield client


def state_of(run_id: str) -> str:
    detail = get_run_detail_by_id(run_id, include_deleted=True)
    assert detail is not None
    return detail.calendar_state


# --- what an event says -------------------------------------------------------------------


def test_an_event_shows_distance_type_times_pace_heart_rate_and_shoe() -> None:
    run = Run(
        id="strava_42",
        datetime_utc=datetime(2025, 5, 6, 7, 0, tzinfo=UTC),
        type="Outdoor Run",
        distance=5.0,
        duration=2400,
        source="Strava",
        avg_heart_rate=151.4,
        shoe_name="Nike Pegasus 40",
    )

    event = event_for_run(run)

    assert event["summary"] == "5.0 mi Outdoor Run"
    assert event["start"] == {"dateTime": "2025-05-06T07:00:00Z", "timeZone": "UTC"}
    assert event["end"] == {"dateTime": "2025-05-06T07:40:00Z", "timeZone": "UTC"}
    assert event["description"] == (
        "Distance: 5.00 mi\n"
        "Duration: 40:00\n"
        "Pace: 8:00 /mi\n"
        "Average heart rate: 151 bpm\n"
        "Shoes: Nike Pegasus 40"
    )
    assert event["extendedProperties"] == {"private": {"fitness_run_id": "strava_42"}}


def test_an_event_leaves_out_what_is_not_known(runs: RunFactory) -> None:
    run = runs.make(distance=0.0, duration=3725, avg_heart_rate=None, type="Treadmill Run")

    event = event_for_run(run)

    assert event["summary"] == "0.0 mi Treadmill Run"
    assert event["description"] == "Distance: 0.00 mi\nDuration: 1:02:05"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0:00"), (59.6, "1:00"), (479.5, "8:00"), (600, "10:00"), (3600, "1:00:00")],
)
def test_format_duration(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_event_ids_are_stable_distinct_and_valid_for_google() -> None:
    ids = {event_id_for_run(run_id) for run_id in ("strava_1", "strava_2", "mmf_1", "mmf_10")}

    assert len(ids) == 4
    assert event_id_for_run("strava_1") == event_id_for_run("strava_1")
    assert all(re.fullmatch(r"[a-v0-9]{5,1024}", event_id) for event_id in ids)


# --- one run ------------------------------------------------------------------------------


def test_sync_run_creates_the_event_and_records_the_version(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make(distance=5.0)
    import_runs([run])
    assert state_of(run.id) == "missing"

    assert sync_run(run.id, client=calendar) == "created"

    (event,) = google.calendar.live_events()
    assert event["summary"] == "5.0 mi Outdoor Run"
    record = get_synced_run(run.id)
    assert (record.run_version, record.google_event_id, record.sync_status) == (
        1,
        event["id"],
        "synced",
    )
    assert state_of(run.id) == "current"


def test_sync_run_of_a_current_run_calls_nobody(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    sync_run(run.id, client=calendar)

    assert sync_run(run.id, client=calendar) == "unchanged"
    assert len(google.calendar_requests()) == 1


def test_an_edited_run_is_stale_until_its_event_is_patched(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make(distance=5.0)
    import_runs([run])
    sync_run(run.id, client=calendar)
    update_run_with_history(run.id, {"distance": 6.2}, changed_by="test")
    assert state_of(run.id) == "stale"

    assert sync_run(run.id, client=calendar) == "updated"

    (event,) = google.calendar.live_events()
    assert event["summary"] == "6.2 mi Outdoor Run"
    assert "Distance: 6.20 mi" in str(event["description"])
    assert len(google.calendar_requests("POST")) == 1
    assert get_synced_run(run.id).run_version == 2
    assert state_of(run.id) == "current"


def test_sync_run_of_an_unknown_run_is_run_not_found(calendar: GoogleCalendarClient) -> None:
    with pytest.raises(RunNotFound):
        sync_run("strava_404", client=calendar)
    with pytest.raises(RunNotFound):
        unsync_run("strava_404", client=calendar)


def test_sync_run_without_a_client_uses_the_settings(google: FakeGoogle, runs: RunFactory) -> None:
    run = runs.make()
    import_runs([run])

    assert sync_run(run.id) == "created"
    assert len(google.calendar.live_events()) == 1


def test_unsync_run_removes_the_event_and_the_record(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    sync_run(run.id, client=calendar)

    assert unsync_run(run.id, client=calendar) is True

    assert google.calendar.live_events() == []
    assert get_synced_run(run.id) is None
    assert state_of(run.id) == "missing"


def test_unsync_run_of_a_run_never_synced_calls_nobody(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])

    assert unsync_run(run.id, client=calendar) is False
    assert google.calendar_requests() == []


def test_a_failed_sync_is_recorded_without_secrets_and_raised(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    google.calendar.fail_next(502, times=3)

    with pytest.raises(IntegrationError):
        sync_run(run.id, client=calendar)

    detail = get_run_detail_by_id(run.id)
    assert detail.calendar_state == "failed"
    assert detail.sync_error == "Google Calendar answered HTTP 502 to events.insert (3 attempts)"
    for secret in ("access-token", "refresh-token", "client-secret", "Bearer"):
        assert secret not in detail.sync_error


def test_a_lost_insert_answer_does_not_duplicate_the_event(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    # The insert reached Google, but its answer never reached us: nothing was recorded.
    calendar.insert_event(event_for_run(run))

    assert sync_run(run.id, client=calendar) == "created"

    assert len(google.calendar.live_events()) == 1
    assert state_of(run.id) == "current"


def test_an_event_deleted_in_the_calendar_comes_back_when_its_run_changes(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    sync_run(run.id, client=calendar)
    calendar.delete_event(event_id_for_run(run.id))
    update_run_with_history(run.id, {"avg_heart_rate": 150.0}, changed_by="test")

    sync_run(run.id, client=calendar)

    (event,) = google.calendar.live_events()
    assert "Average heart rate: 150 bpm" in str(event["description"])


# --- the whole calendar -------------------------------------------------------------------


def test_sync_all_creates_updates_and_deletes_then_has_nothing_left_to_do(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    kept, edited, deleted, new = runs.many(4)
    import_runs([kept, edited, deleted])
    sync_all(client=calendar)
    import_runs([new])
    update_run_with_history(edited.id, {"distance": 10.0}, changed_by="test")
    delete_run(deleted.id, changed_by="test")
    assert [d.calendar_state for d in get_all_run_details(include_deleted=True)] == [
        "current",
        "stale",
        "stale",
        "missing",
    ]

    result = sync_all(client=calendar)

    assert result == CalendarSyncResult(created=1, updated=1, deleted=1, unchanged=1)
    summaries = [e["summary"] for e in google.calendar.live_events()]
    assert summaries == [
        event_for_run(kept)["summary"],
        "10.0 mi Outdoor Run",
        "3.4 mi Outdoor Run",
    ]
    assert [d.calendar_state for d in get_all_run_details()] == ["current"] * 3
    assert get_synced_run(deleted.id) is None

    requests_before = len(google.calendar_requests())
    assert sync_all(client=calendar) == CalendarSyncResult(unchanged=3)
    assert len(google.calendar_requests()) == requests_before


def test_sync_all_reports_progress(calendar: GoogleCalendarClient, runs: RunFactory) -> None:
    import_runs(runs.many(3))
    calls: list[tuple[int, int]] = []

    sync_all(lambda done, total: calls.append((done, total)), client=calendar)

    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_a_failure_is_recorded_and_retried_by_the_next_sync(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    first, second = runs.many(2)
    import_runs([first, second])
    google.calendar.fail_next(500, method="POST", times=3)

    result = sync_all(client=calendar)

    assert (result.created, result.failed) == (1, 1)
    assert result.errors == (
        RunSyncFailure(first.id, "Google Calendar answered HTTP 500 to events.insert (3 attempts)"),
    )
    assert [state_of(first.id), state_of(second.id)] == ["failed", "current"]

    assert sync_all(client=calendar) == CalendarSyncResult(created=1, unchanged=1)
    assert state_of(first.id) == "current"
    assert get_synced_run(first.id).error_message is None
    assert len(google.calendar.live_events()) == 2


def test_a_failed_patch_keeps_the_event_and_is_retried_as_a_patch(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make(distance=5.0)
    import_runs([run])
    sync_all(client=calendar)
    update_run_with_history(run.id, {"distance": 5.5}, changed_by="test")
    google.calendar.fail_next(503, method="PATCH", times=3)

    assert sync_all(client=calendar).failed == 1
    record = get_synced_run(run.id)
    assert (record.run_version, record.sync_status) == (1, "failed")

    assert sync_all(client=calendar) == CalendarSyncResult(updated=1)
    (event,) = google.calendar.live_events()
    assert event["summary"] == "5.5 mi Outdoor Run"


def test_a_5xx_then_success_is_one_created_event(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    import_runs([runs.make()])
    google.calendar.fail_next(503)

    assert sync_all(client=calendar) == CalendarSyncResult(created=1)
    assert len(google.calendar.live_events()) == 1


def test_a_timeout_then_success_is_one_created_event(google: FakeGoogle, runs: RunFactory) -> None:
    import_runs([runs.make()])
    google.calendar.hang_next(method="POST")

    with GoogleCalendarClient(backoff_seconds=0, timeout=0.5) as client:
        assert sync_all(client=client) == CalendarSyncResult(created=1)
    assert len(google.calendar.live_events()) == 1


def test_a_401_mid_batch_refreshes_and_carries_on(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    first, second = runs.many(2)
    import_runs([first])
    sync_all(client=calendar)
    import_runs([second])
    google.calendar.expire_token()

    assert sync_all(client=calendar) == CalendarSyncResult(created=1, unchanged=1)
    assert google.tokens.refreshes == 2


def test_the_event_of_a_deleted_run_already_gone_from_the_calendar_counts_as_deleted(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    sync_all(client=calendar)
    delete_run(run.id, changed_by="test")
    google.calendar.fail_next(404, method="DELETE", json={"error": {"code": 404}})

    assert sync_all(client=calendar) == CalendarSyncResult(deleted=1)
    assert get_all_synced_runs() == []


def test_a_failed_delete_is_retried_by_the_next_sync(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    sync_all(client=calendar)
    delete_run(run.id, changed_by="test")
    google.calendar.fail_next(500, method="DELETE", times=3)

    assert sync_all(client=calendar).failed == 1
    assert get_synced_run(run.id).google_event_id == event_id_for_run(run.id)
    assert len(google.calendar.live_events()) == 1

    assert sync_all(client=calendar) == CalendarSyncResult(deleted=1)
    assert google.calendar.live_events() == []


def test_a_restored_run_gets_its_event_back(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    sync_all(client=calendar)
    delete_run(run.id, changed_by="test")
    sync_all(client=calendar)

    restore_run_version(run.id, 1, changed_by="test")

    assert sync_all(client=calendar) == CalendarSyncResult(created=1)
    assert len(google.calendar.live_events()) == 1
    assert state_of(run.id) == "current"


def test_a_rate_limit_stops_the_batch_and_leaves_the_rest_for_later(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    first, second, third = runs.many(3)
    import_runs([first, second, third])
    sync_run(first.id, client=calendar)
    google.calendar.fail_next(429, headers={"Retry-After": "60"})

    result = sync_all(client=calendar)

    assert result == CalendarSyncResult(
        unchanged=1, skipped=2, rate_limited=True, retry_after=result.retry_after
    )
    assert result.retry_after > datetime.now(UTC)
    assert [state_of(second.id), state_of(third.id)] == ["missing", "missing"]
    assert sync_all(client=calendar) == CalendarSyncResult(created=2, unchanged=1)


def test_the_result_reads_as_json() -> None:
    result = CalendarSyncResult(
        created=2,
        failed=1,
        skipped=3,
        rate_limited=True,
        retry_after=datetime(2025, 5, 6, 7, 15, tzinfo=UTC),
        errors=(RunSyncFailure("strava_1", "Google Calendar answered HTTP 500"),),
    )

    assert TypeAdapter(CalendarSyncResult).dump_python(result, mode="json") == {
        "created": 2,
        "updated": 0,
        "deleted": 0,
        "failed": 1,
        "unchanged": 0,
        "skipped": 3,
        "rate_limited": True,
        "retry_after": "2025-05-06T07:15:00+00:00",
        "errors": [{"run_id": "strava_1", "message": "Google Calendar answered HTTP 500"}],
    }


def test_a_revoked_authorisation_stops_the_sync_without_failing_runs(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    google.tokens.valid_refresh_token = "revoked-elsewhere"

    with pytest.raises(ReauthorizationRequired):
        sync_all(client=calendar)

    assert state_of(run.id) == "missing"


# --- event ids Google refuses for good ----------------------------------------------------


def spoil_the_event_id(google: FakeGoogle, event_id: str, how: str) -> None:
    """Make the event id of a synced run unusable, the ways real calendars do."""
    if how == "purged":
        # Deleted in the calendar, then purged: patch 404, insert 409, for ever.
        google.calendar.events[event_id]["status"] = "cancelled"
        google.calendar.purge(event_id)
    else:
        google.calendar.foreign_organizer.add(event_id)


@pytest.mark.parametrize("how", ["purged", "foreign organiser"])
def test_a_run_whose_event_id_is_refused_for_good_gets_a_fresh_recorded_id(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory, how: str
) -> None:
    run = runs.make(distance=5.0)
    import_runs([run])
    sync_all(client=calendar)
    old_id = event_id_for_run(run.id)
    spoil_the_event_id(google, old_id, how)
    update_run_with_history(run.id, {"distance": 6.0}, changed_by="test")

    assert sync_all(client=calendar) == CalendarSyncResult(created=1)

    record = get_synced_run(run.id)
    assert record.sync_status == "synced" and record.google_event_id != old_id
    assert record.google_event_id.startswith(old_id)
    assert re.fullmatch(r"[a-v0-9]{5,1024}", record.google_event_id)
    shown = [e for e in google.calendar.live_events() if e["summary"] == "6.0 mi Outdoor Run"]
    assert [e["id"] for e in shown] == [record.google_event_id]
    assert state_of(run.id) == "current"
    assert sync_all(client=calendar) == CalendarSyncResult(unchanged=1)


def test_an_id_taken_by_an_event_that_is_not_the_runs_is_never_overwritten(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    taken = event_id_for_run(run.id)
    calendar.insert_event({"id": taken, "summary": "Dentist", "start": {}, "end": {}})

    assert sync_all(client=calendar) == CalendarSyncResult(created=1)

    assert google.calendar.events[taken]["summary"] == "Dentist"
    record = get_synced_run(run.id)
    assert record.google_event_id.startswith(taken) and record.google_event_id != taken
    assert state_of(run.id) == "current"


def test_a_purged_event_id_also_heals_after_unsync(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    sync_run(run.id, client=calendar)
    spoil_the_event_id(google, event_id_for_run(run.id), "purged")

    assert unsync_run(run.id, client=calendar) is True
    assert sync_run(run.id, client=calendar) == "created"
    assert sync_run(run.id, client=calendar) == "unchanged"
    assert len(google.calendar.live_events()) == 1


def test_a_fresh_id_is_recorded_before_its_insert_so_a_failure_cannot_duplicate(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    sync_all(client=calendar)
    spoil_the_event_id(google, event_id_for_run(run.id), "purged")
    update_run_with_history(run.id, {"distance": 7.0}, changed_by="test")
    # The old id's insert is refused (409); the fresh id's insert fails.
    google.calendar.fail_next(503, method="POST", times=3, after=1)

    assert sync_all(client=calendar).failed == 1
    fresh_id = get_synced_run(run.id).google_event_id
    assert fresh_id != event_id_for_run(run.id)

    assert sync_all(client=calendar) == CalendarSyncResult(created=1)
    assert get_synced_run(run.id).google_event_id == fresh_id
    assert len(google.calendar.live_events()) == 1


# --- a deletion is only reported once it is established ----------------------------------


def test_a_404_on_delete_from_a_calendar_the_account_cannot_see_deletes_nothing(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    sync_all(client=calendar)
    delete_run(run.id, changed_by="test")
    google.calendar.calendar_access["primary"] = "none"  # unshared from the account

    with pytest.raises(CalendarUnavailable, match="GOOGLE_CALENDAR_ID"):
        sync_all(client=calendar)

    assert get_synced_run(run.id).sync_status == "synced"  # still known to show the run
    google.calendar.calendar_access["primary"] = "owner"
    assert len(google.calendar.live_events()) == 1
    assert sync_all(client=calendar) == CalendarSyncResult(deleted=1)
    assert google.calendar.live_events() == []


def test_an_event_fitness_may_no_longer_delete_is_a_failure_not_a_deletion(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    sync_all(client=calendar)
    delete_run(run.id, changed_by="test")
    event_id = event_id_for_run(run.id)
    google.calendar.foreign_organizer.add(event_id)

    result = sync_all(client=calendar)

    assert (result.deleted, result.failed) == (0, 1)
    assert "delete or change it in Google Calendar" in result.errors[0].message
    assert get_synced_run(run.id) is not None
    google.calendar.purge(event_id)  # the user deletes it, and Google forgets it in time
    assert sync_all(client=calendar) == CalendarSyncResult(deleted=1)


# --- refusals of the whole calendar or account stop the batch -----------------------------


def refuse(google: FakeGoogle, how: str, monkeypatch: pytest.MonkeyPatch) -> type[Exception]:
    if how == "read-only calendar":
        google.calendar.calendar_access["primary"] = "reader"
        return CalendarUnavailable
    if how == "calendar scope not granted":
        google.tokens.grant_scope = ("openid",)
        return InsufficientScope
    if how == "client rejected":
        google.tokens.client_secret = "reset-in-the-cloud-console"
        return CredentialsRejected
    if how == "API not enabled":
        google.calendar.fail_next(
            403, json={"error": {"errors": [{"reason": "accessNotConfigured"}]}}
        )
        return IntegrationRefused
    monkeypatch.setenv("GOOGLE_CALENDAR_ID", "a-typo@group.calendar.google.com")
    reset_settings()
    return CalendarUnavailable


@pytest.mark.parametrize(
    "how",
    [
        "read-only calendar",
        "calendar scope not granted",
        "client rejected",
        "API not enabled",
        "no such calendar",
    ],
)
def test_a_refusal_of_the_whole_calendar_stops_at_once_and_leaves_the_runs_as_they_were(
    google: FakeGoogle, runs: RunFactory, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_runs(runs.many(3))
    expected = refuse(google, how, monkeypatch)

    with GoogleCalendarClient(backoff_seconds=0) as calendar, pytest.raises(expected) as raised:
        sync_all(client=calendar)

    assert len(google.calendar_requests()) <= 1
    assert [d.calendar_state for d in get_all_run_details()] == ["missing"] * 3
    assert get_all_synced_runs() == []
    message = str(raised.value)
    assert "`fitness connect google`" in message or "GOOGLE_" in message
    stored = get_credentials("google")
    if stored is not None:
        assert (stored.last_sync_outcome, stored.last_sync_message) == ("failed", message)


def test_the_outcome_of_each_sync_is_remembered(
    google: FakeGoogle, calendar: GoogleCalendarClient, runs: RunFactory
) -> None:
    first, second = runs.many(2)
    import_runs([first, second])
    google.calendar.fail_next(500, method="POST", times=3)

    sync_all(client=calendar)
    stored = get_credentials("google")
    assert stored.last_sync_outcome == "partial"
    assert "1 run(s) failed" in stored.last_sync_message

    sync_all(client=calendar)
    stored = get_credentials("google")
    assert (stored.last_sync_outcome, stored.last_sync_message) == ("ok", None)
