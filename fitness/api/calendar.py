"""The Google Calendar routes: write or remove one run's event, or bring the whole calendar
up to date (fitness.services.calendar_sync does the work).

A failed write is recorded on the run (`calendar_state: failed`) and answered 502; the next
sync retries it. Connecting Google is `GET /oauth/google/authorize` (fitness.api.oauth).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from pydantic import with_config
from starlette.concurrency import run_in_threadpool

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations
from fitness.integrations.google_calendar import CalendarRateLimited
from fitness.models import SHAPE
from fitness.server.problems import ApiError
from fitness.services.calendar_sync import CalendarSyncResult, sync_all, sync_run, unsync_run

api = Operations(tag="sync")

_GOOGLE_PROBLEMS: Final = (
    "409 if Google revoked our access (authorise again at `/oauth/google/authorize`), "
    "502 if Google fails, 503 if Google is not configured or its rate limit was reached."
)


@with_config(SHAPE)
@dataclass(frozen=True, slots=True)
class CalendarRunSync:
    """What was done to one run's event."""

    run_id: str
    outcome: Literal["created", "updated", "deleted", "unchanged"]


@with_config(SHAPE)
@dataclass(frozen=True, slots=True)
class CalendarRunUnsync:
    """Whether the run had an event to remove."""

    run_id: str
    removed: bool
    """False: the run had no event."""


@api.post("/sync/runs", response=CalendarSyncResult, errors=(409, 502), operation_id="syncCalendar")
async def sync_calendar() -> CalendarSyncResult:
    """Bring Google Calendar up to date with every run

    Creates the event of every run that has none, patches the events of runs edited since
    (and of runs whose last sync failed), and removes the events of deleted runs. A run that
    fails is recorded as `failed` and the others go on; syncing again retries it and
    otherwise changes nothing. A rate limit stops the sync early: still 200, with
    `rate_limited` and the rest `skipped`. A refusal of the whole calendar or account stops
    it at once, leaving the runs not yet done as they were: a 409 saying what to do."""
    return await run_in_threadpool(sync_all)


@api.post(
    "/sync/runs/{run_id}",
    response=CalendarRunSync,
    errors=(404, 409, 502),
    operation_id="syncRunToCalendar",
)
async def sync_one_run(run_id: str) -> CalendarRunSync:
    """Create or update one run's Google Calendar event

    `created` for a run without an event, `updated` for one edited since its event was
    written, `unchanged` when the event is current, `deleted` for a deleted run whose event
    was removed. A failure is recorded on the run (`calendar_state: failed`)."""
    try:
        outcome = await run_in_threadpool(sync_run, run_id)
    except CalendarRateLimited as error:
        raise _rate_limited(error) from None
    return CalendarRunSync(run_id, outcome)


@api.delete(
    "/sync/runs/{run_id}",
    response=CalendarRunUnsync,
    errors=(404, 409, 502),
    operation_id="unsyncRunFromCalendar",
)
async def unsync_one_run(run_id: str) -> CalendarRunUnsync:
    """Remove one run's Google Calendar event

    The run stays; it counts as not synced, so the next `POST /sync/runs` writes its event
    again unless it is deleted."""
    try:
        removed = await run_in_threadpool(unsync_run, run_id)
    except CalendarRateLimited as error:
        raise _rate_limited(error) from None
    return CalendarRunUnsync(run_id, removed)


def _rate_limited(error: CalendarRateLimited) -> ApiError:
    retry_after = error.retry_after.isoformat() if error.retry_after else None
    return ApiError(
        503,
        "Google Calendar's rate limit was reached; nothing was changed. Try again later.",
        slug="calendar-rate-limited",
        retry_after=retry_after,
    )


routes, paths = api.routes(), paths_of(api)
