"""Keeps Google Calendar showing every run: one event per run, patched when the run changes.

Google is called first and the outcome recorded after, in a short transaction of its own:
no database transaction is ever held open across an HTTP call.

An event id that Google refuses for good (a purged event: patch 404 and insert 409 for
ever; a 410; an id taken by an event that is not this run's; an event whose organiser is
someone else) is replaced by a fresh id, recorded before the insert that uses it. An
answer about the calendar or the account (fitness.errors.IntegrationRefused) stops a batch
at once and leaves the runs not yet done as they were.
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal

from fitness.db.oauth_credentials import record_sync_outcome
from fitness.db.runs import get_run_detail_by_id
from fitness.db.synced_runs import (
    assign_event_id,
    count_runs_with_current_event,
    delete_synced_run,
    get_runs_needing_calendar_sync,
    record_sync,
    record_sync_failure,
)
from fitness.errors import (
    IntegrationError,
    IntegrationNotConfigured,
    IntegrationRefused,
    RunNotFound,
)
from fitness.integrations.google_calendar import (
    PROVIDER,
    CalendarRateLimited,
    Event,
    EventExists,
    EventNotFound,
    EventNotWritable,
    GoogleCalendarClient,
)
from fitness.models import Run, RunDetail
from fitness.rules import Timestamp

logger = logging.getLogger(__name__)

SyncOutcome = Literal["created", "updated", "deleted", "unchanged"]
Progress = Callable[[int, int], None]

RUN_ID_PROPERTY: Final = "fitness_run_id"
# Event ids we choose ourselves must be base32hex (a-v, 0-9), 5 to 1024 characters.
_EVENT_ID_PREFIX: Final = "fitness"
# Errors that say nothing about one run: they stop the work instead of marking runs failed.
_NOT_THE_RUNS_FAULT: Final = (
    CalendarRateLimited,
    IntegrationRefused,
    IntegrationNotConfigured,
)


@dataclass(frozen=True, slots=True)
class RunSyncFailure:
    """A run whose event could not be written or removed, and why (never a secret)."""

    run_id: str
    message: str


@dataclass(frozen=True, slots=True)
class CalendarSyncResult:
    """What `sync_all` did. `skipped` runs were left for later because of a rate limit."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    failed: int = 0
    unchanged: int = 0
    skipped: int = 0
    rate_limited: bool = False
    retry_after: Timestamp | None = None
    errors: tuple[RunSyncFailure, ...] = field(default=())


def sync_run(run_id: str, *, client: GoogleCalendarClient | None = None) -> SyncOutcome:
    """Make the calendar show `run_id` as it is now; say what that took.

    `created` for a run without an event, `updated` when the run was edited since its event
    was written (or the last sync failed), `unchanged` when the event is current,
    `deleted` for a soft-deleted run whose event was removed. A failure is recorded on the
    run (`calendar_state` becomes `failed`, retried by the next sync) and raised as an
    `IntegrationError`; an `IntegrationRefused` (the calendar or account as a whole) is
    raised without touching the run. `RunNotFound` if there is no such run.
    """
    detail = get_run_detail_by_id(run_id, include_deleted=True)
    if detail is None:
        raise RunNotFound(run_id)
    with _calendar(client) as calendar:
        return _sync_detail(calendar, detail)


def unsync_run(run_id: str, *, client: GoogleCalendarClient | None = None) -> bool:
    """Remove the run's event from the calendar and forget it; False if it had none.

    Works for deleted runs too. A run that is not deleted counts as unsynced afterwards,
    so the next `sync_all` writes its event again. `RunNotFound` if there is no such run.
    """
    detail = get_run_detail_by_id(run_id, include_deleted=True)
    if detail is None:
        raise RunNotFound(run_id)
    if detail.synced_version is None:
        return False
    with _calendar(client) as calendar:
        _remove_event(calendar, detail)
    return True


def sync_all(
    progress: Progress | None = None, *, client: GoogleCalendarClient | None = None
) -> CalendarSyncResult:
    """Bring the whole calendar up to date, and count what that took.

    Writes the event of every run whose event is missing, stale or failed, and removes the
    events of deleted runs. A run that fails is recorded as failed and the batch goes on;
    a rate limit stops the batch cleanly (`rate_limited=True`, the rest `skipped`). Running
    it again right away does nothing. `progress(done, total)` is called after each run.

    Raises `IntegrationRefused` at the first answer that refuses the account or calendar as
    a whole (a revoked grant, a read-only or missing calendar, the calendar permission not
    granted, rejected client credentials): what was done before stays done, the runs not
    yet done are left as they were. `IntegrationNotConfigured` when Google is not set up.
    The outcome is remembered for `fitness connections`.
    """
    work = get_runs_needing_calendar_sync()
    counts = dict.fromkeys(("created", "updated", "deleted", "unchanged", "failed"), 0)
    counts["unchanged"] = count_runs_with_current_event()
    errors: list[RunSyncFailure] = []
    rate_limit: CalendarRateLimited | None = None
    processed = 0
    with _calendar(client) as calendar:
        for detail in work:
            try:
                counts[_sync_detail(calendar, detail)] += 1
            except CalendarRateLimited as error:
                rate_limit = error
                break
            except IntegrationRefused as error:
                record_sync_outcome(PROVIDER, "failed", str(error))
                raise
            except _NOT_THE_RUNS_FAULT:
                raise
            except IntegrationError as error:
                counts["failed"] += 1
                errors.append(RunSyncFailure(detail.id, str(error)))
            processed += 1
            if progress is not None:
                progress(processed, len(work))
    result = CalendarSyncResult(
        created=counts["created"],
        updated=counts["updated"],
        deleted=counts["deleted"],
        failed=counts["failed"],
        unchanged=counts["unchanged"],
        skipped=len(work) - processed,
        rate_limited=rate_limit is not None,
        retry_after=rate_limit.retry_after if rate_limit else None,
        errors=tuple(errors),
    )
    logger.info(
        "Calendar sync: %s created, %s updated, %s deleted, %s failed, %s skipped",
        result.created,
        result.updated,
        result.deleted,
        result.failed,
        result.skipped,
    )
    _remember(result)
    return result


def event_for_run(run: Run) -> Event:
    """The calendar event that shows `run`: title, times (UTC), and a description.

    >>> event_for_run(run)["summary"]   # doctest: +SKIP
    '5.0 mi Outdoor Run'
    """
    start = run.datetime_utc
    end = start + timedelta(seconds=run.duration)
    lines = [
        f"Distance: {run.distance:.2f} mi",
        f"Duration: {format_duration(run.duration)}",
    ]
    if run.distance > 0:
        lines.append(f"Pace: {format_duration(run.duration / run.distance)} /mi")
    if run.avg_heart_rate is not None:
        lines.append(f"Average heart rate: {run.avg_heart_rate:.0f} bpm")
    if run.shoe_name:
        lines.append(f"Shoes: {run.shoe_name}")
    return {
        "id": event_id_for_run(run.id),
        "summary": f"{run.distance:.1f} mi {run.type}",
        "description": "\n".join(lines),
        "start": {"dateTime": _rfc3339(start), "timeZone": "UTC"},
        "end": {"dateTime": _rfc3339(end), "timeZone": "UTC"},
        # A run that exists must be visible, even if its event was deleted in the calendar.
        "status": "confirmed",
        "extendedProperties": {"private": {RUN_ID_PROPERTY: run.id}},
    }


def event_id_for_run(run_id: str) -> str:
    """The event id we give a run's event: the same run always gets the same id.

    A fixed id makes creating an event idempotent: if an insert reached Google but its
    answer was lost, the retry finds the event (409) instead of adding a duplicate.
    """
    encoded = base64.b32hexencode(run_id.encode()).decode().rstrip("=").lower()
    return _EVENT_ID_PREFIX + encoded


def fresh_event_id(run_id: str) -> str:
    """A new event id for a run whose usual id Google refuses for good: the usual id and
    a random suffix (hex digits are base32hex too)."""
    return event_id_for_run(run_id) + secrets.token_hex(8)


def format_duration(seconds: float) -> str:
    """`seconds` as `H:MM:SS`, or `M:SS` under an hour (rounded to the second)."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@contextmanager
def _calendar(client: GoogleCalendarClient | None) -> Iterator[GoogleCalendarClient]:
    if client is not None:
        yield client
        return
    with GoogleCalendarClient() as own:
        yield own


def _sync_detail(calendar: GoogleCalendarClient, detail: RunDetail) -> SyncOutcome:
    # A duplicate's event goes like a deleted run's: the run it duplicates has its own.
    if detail.is_hidden:
        if detail.synced_version is None:
            return "unchanged"
        _remove_event(calendar, detail)
        return "deleted"
    if detail.calendar_state == "current":
        return "unchanged"
    try:
        outcome, event = _write_event(calendar, detail)
    except _NOT_THE_RUNS_FAULT:
        raise
    except IntegrationError as error:
        _record_failure(detail, error)
        raise
    record_sync(detail.id, detail.version, str(event["id"]))
    return outcome


def _write_event(calendar: GoogleCalendarClient, detail: RunDetail) -> tuple[SyncOutcome, Event]:
    event = event_for_run(detail)
    changes = {key: value for key, value in event.items() if key != "id"}
    event_id = detail.google_event_id or str(event["id"])
    if detail.google_event_id:
        try:
            return "updated", calendar.patch_event(event_id, changes)
        except EventNotFound:
            logger.info("The event of run %s is not on the calendar; writing it again", detail.id)
        except EventNotWritable:
            return "created", _write_under_fresh_id(calendar, detail, event, "not ours to change")
    try:
        return "created", calendar.insert_event({**event, "id": event_id})
    except EventExists:
        # Ours from an attempt whose answer was lost, or deleted in the calendar (Google
        # keeps it, cancelled): rewrite it. Purged, or not this run's: the id is spent.
        existing = calendar.get_event(event_id)
        if existing is not None and _shows_run(existing, detail.id):
            try:
                return "created", calendar.patch_event(event_id, changes)
            except (EventNotFound, EventNotWritable):
                pass
        why = "purged" if existing is None else "taken by another event"
        return "created", _write_under_fresh_id(calendar, detail, event, why)


def _write_under_fresh_id(
    calendar: GoogleCalendarClient, detail: RunDetail, event: Event, why: str
) -> Event:
    event_id = fresh_event_id(detail.id)
    logger.info(
        "Google refuses the event id of run %s for good (%s); using a new one", detail.id, why
    )
    assign_event_id(detail.id, detail.version, event_id)
    try:
        return calendar.insert_event({**event, "id": event_id})
    except EventExists:
        raise IntegrationError(
            f"Google Calendar refused the new event id {event_id!r} too (409)"
        ) from None


def _shows_run(event: Event, run_id: str) -> bool:
    properties = event.get("extendedProperties")
    private = properties.get("private") if isinstance(properties, dict) else None
    return isinstance(private, dict) and private.get(RUN_ID_PROPERTY) == run_id


def _remove_event(calendar: GoogleCalendarClient, detail: RunDetail) -> None:
    # Without a recorded id the event may still exist under the id we would have given it
    # (an insert that reached Google though its answer did not reach us).
    event_id = detail.google_event_id or event_id_for_run(detail.id)
    try:
        calendar.delete_event(event_id)
    except _NOT_THE_RUNS_FAULT:
        raise
    except IntegrationError as error:
        _record_failure(detail, error)
        raise
    delete_synced_run(detail.id)


def _record_failure(detail: RunDetail, error: IntegrationError) -> None:
    logger.warning("Calendar sync of run %s failed: %s", detail.id, error)
    record_sync_failure(detail.id, detail.synced_version or detail.version, str(error))


def _remember(result: CalendarSyncResult) -> None:
    if result.failed or result.rate_limited:
        problems = []
        if result.failed:
            problems.append(f"{result.failed} run(s) failed, e.g. {result.errors[0].message}")
        if result.rate_limited:
            problems.append(f"stopped by the rate limit with {result.skipped} run(s) to go")
        record_sync_outcome(PROVIDER, "partial", "; ".join(problems))
    else:
        record_sync_outcome(PROVIDER, "ok")


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
