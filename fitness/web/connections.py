"""The connections page: syncing Strava now and bringing Google Calendar up to date
(fitness.services.strava_sync, fitness.services.calendar_sync), with what each did.

A sync answers with its summary on the same page; a provider that refuses or fails (not
configured, access revoked, down) is said in words on the page, as the API says it in a
problem document.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fitness.db.sync_metadata import get_last_synced_at
from fitness.errors import IntegrationError
from fitness.services.calendar_sync import CalendarSyncResult, sync_all
from fitness.services.strava_sync import StravaSyncResult, sync_strava
from fitness.web.forms import read_form
from fitness.web.rendering import api_answer, render


async def connections_page(request: Request) -> Response:
    return await _page(request)


async def sync_strava_now(request: Request) -> Response:
    fields = await read_form(request)
    full = fields.get("full_sync") == "on"
    try:
        result = await run_in_threadpool(sync_strava, full)
    except IntegrationError as error:
        status, words = api_answer(error)
        return await _page(request, strava_error=words, status=status)
    return await _page(request, strava=result)


async def sync_calendar_now(request: Request) -> Response:
    await read_form(request)
    try:
        result = await run_in_threadpool(sync_all)
    except IntegrationError as error:
        status, words = api_answer(error)
        return await _page(request, calendar_error=words, status=status)
    return await _page(request, calendar=result)


async def _page(
    request: Request,
    *,
    strava: StravaSyncResult | None = None,
    calendar: CalendarSyncResult | None = None,
    strava_error: str | None = None,
    calendar_error: str | None = None,
    status: int = 200,
) -> Response:
    last_synced_at = await run_in_threadpool(get_last_synced_at, "strava")
    context = {
        "title": "Connections",
        "last_synced_at": last_synced_at,
        "strava": strava,
        "calendar": calendar,
        "strava_error": strava_error,
        "calendar_error": calendar_error,
    }
    return render(request, "connections.html", context, status=status)


routes = [
    Route("/connections", connections_page, methods=["GET"]),
    Route("/connections/strava/sync", sync_strava_now, methods=["POST"]),
    Route("/connections/google/sync", sync_calendar_now, methods=["POST"]),
]
