"""The Google Calendar routes: write or remove one run's event, or bring the whole calendar
up to date (fitness.services.calendar_sync does the work).

A failed write is recorded on the run (`calendar_state: failed`) and answered 502; the next
sync retries it. Connecting Google is `GET /oauth/google/authorize` (fitness.api.oauth).
"""

from __future__ import annotations

from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fitness.api import parsing
from fitness.api.errors import ApiError
from fitness.api.openapi import json_response, problems, protected, ref
from fitness.api.routing import route
from fitness.errors import RunNotFound
from fitness.integrations.google_calendar import CalendarRateLimited
from fitness.services.calendar_sync import sync_all, sync_run, unsync_run


async def sync_one_run(request: Request) -> Response:
    """Create the run's event, or patch it if the run changed; 200 with what was done."""
    run_id = parsing.path_id(request, "run_id", RunNotFound)
    try:
        outcome = await run_in_threadpool(sync_run, run_id)
    except CalendarRateLimited as error:
        raise _rate_limited(error) from None
    return JSONResponse({"run_id": run_id, "outcome": outcome})


async def unsync_one_run(request: Request) -> Response:
    """Remove the run's event from the calendar; 200 saying whether it had one."""
    run_id = parsing.path_id(request, "run_id", RunNotFound)
    try:
        removed = await run_in_threadpool(unsync_run, run_id)
    except CalendarRateLimited as error:
        raise _rate_limited(error) from None
    return JSONResponse({"run_id": run_id, "removed": removed})


async def sync_all_runs(request: Request) -> Response:
    """Write every missing, stale or failed event and remove those of deleted runs."""
    result = await run_in_threadpool(sync_all)
    return JSONResponse(result.to_dict())


def _rate_limited(error: CalendarRateLimited) -> ApiError:
    retry_after = error.retry_after.isoformat() if error.retry_after else None
    return ApiError(
        503,
        "Google Calendar's rate limit was reached; nothing was changed. Try again later.",
        slug="calendar-rate-limited",
        retry_after=retry_after,
    )


routes = [
    route("/sync/runs", POST=sync_all_runs),
    route("/sync/runs/{run_id}", POST=sync_one_run, DELETE=unsync_one_run),
]


# OpenAPI: the operations above and the shapes they answer with.

_RUN_ID: Final = {
    "name": "run_id",
    "in": "path",
    "required": True,
    "description": "The run's id, e.g. `strava_1234567890` or `mmf_8622076198`.",
    "schema": {"type": "string", "minLength": 1},
}
_GOOGLE_PROBLEMS: Final = (
    "409 if Google revoked our access (authorise again at `/oauth/google/authorize`), "
    "502 if Google fails, 503 if Google is not configured or its rate limit was reached."
)

paths = {
    "/sync/runs": {
        "post": {
            "operationId": "syncCalendar",
            "summary": "Bring Google Calendar up to date with every run",
            "description": (
                "Creates the event of every run that has none, patches the events of runs "
                "edited since (and of runs whose last sync failed), and removes the events of "
                "deleted runs. A run that fails is recorded as `failed` and the others go "
                "on; syncing again retries it and otherwise changes nothing. A rate limit "
                "stops the sync early: still 200, with `rate_limited` and the rest "
                f"`skipped`. {_GOOGLE_PROBLEMS}"
            ),
            "tags": ["sync"],
            "responses": protected(
                {
                    "200": json_response("What the sync did.", ref("CalendarSyncSummary")),
                    **problems(409, 502),
                }
            ),
        }
    },
    "/sync/runs/{run_id}": {
        "parameters": [_RUN_ID],
        "post": {
            "operationId": "syncRunToCalendar",
            "summary": "Create or update one run's Google Calendar event",
            "description": (
                "`created` for a run without an event, `updated` for one edited since its "
                "event was written, `unchanged` when the event is current, `deleted` for a "
                "deleted run whose event was removed. A failure is recorded on the run "
                f"(`calendar_state: failed`). {_GOOGLE_PROBLEMS}"
            ),
            "tags": ["sync"],
            "responses": protected(
                {
                    "200": json_response("What was done.", ref("CalendarRunSync")),
                    **problems(404, 409, 502),
                }
            ),
        },
        "delete": {
            "operationId": "unsyncRunFromCalendar",
            "summary": "Remove one run's Google Calendar event",
            "description": (
                "The run stays; it counts as not synced, so the next `POST /sync/runs` "
                f"writes its event again unless it is deleted. {_GOOGLE_PROBLEMS}"
            ),
            "tags": ["sync"],
            "responses": protected(
                {
                    "200": json_response("Whether there was an event.", ref("CalendarRunUnsync")),
                    **problems(404, 409, 502),
                }
            ),
        },
    },
}

_COUNT: Final = {"type": "integer", "minimum": 0}

schemas = {
    "CalendarRunSync": {
        "type": "object",
        "required": ["run_id", "outcome"],
        "additionalProperties": False,
        "properties": {
            "run_id": {"type": "string"},
            "outcome": {"type": "string", "enum": ["created", "updated", "deleted", "unchanged"]},
        },
    },
    "CalendarRunUnsync": {
        "type": "object",
        "required": ["run_id", "removed"],
        "additionalProperties": False,
        "properties": {
            "run_id": {"type": "string"},
            "removed": {"type": "boolean", "description": "False: the run had no event."},
        },
    },
    "CalendarSyncSummary": {
        "type": "object",
        "required": [
            "created",
            "updated",
            "deleted",
            "failed",
            "unchanged",
            "skipped",
            "rate_limited",
            "retry_after",
            "errors",
        ],
        "additionalProperties": False,
        "properties": {
            "created": {**_COUNT, "description": "Events written for runs that had none."},
            "updated": {**_COUNT, "description": "Events patched after their run changed."},
            "deleted": {**_COUNT, "description": "Events of deleted runs removed."},
            "failed": {**_COUNT, "description": "Runs whose event could not be written."},
            "unchanged": {**_COUNT, "description": "Runs whose event was already current."},
            "skipped": {**_COUNT, "description": "Runs left for later by a rate limit."},
            "rate_limited": {
                "type": "boolean",
                "description": "True: Google's rate limit stopped the sync; run it again later.",
            },
            "retry_after": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "When Google will answer again, if it said.",
            },
            "errors": {
                "type": "array",
                "description": "The runs that failed, and why.",
                "items": {
                    "type": "object",
                    "required": ["run_id", "message"],
                    "additionalProperties": False,
                    "properties": {
                        "run_id": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
        },
    },
}
