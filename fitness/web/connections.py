"""The connections page: how Strava, Google and Hevy stand
(fitness.integrations.connections), connecting and disconnecting each (for Hevy, forgetting
its stored API key), syncing Strava and Hevy now and bringing Google Calendar up to date
(fitness.services.strava_sync, .hevy_sync, .calendar_sync), with what each did.

Connecting starts the same consent as `GET /oauth/{provider}/authorize` (a cookie binds it
to this browser) and sends the browser to the provider, which sends it back to the API's
callback. A provider that refuses or fails (not configured, access revoked, down) is said
in words on the page, as the API says it in a problem document.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any, Final

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fitness.api.oauth import callback_url, consent_cookie
from fitness.api.parameters import PATH_PARAMETERS
from fitness.config import Settings, get_settings
from fitness.errors import IntegrationError
from fitness.integrations.connections import (
    REVOKE_TIMEOUT_SECONDS,
    Disconnection,
    api_key_status,
    connection_status,
    disconnect,
    forget_api_key,
)
from fitness.integrations.consent import STATE_LIFETIME, start_consent
from fitness.integrations.hevy import RETIRE_KEY_HELP
from fitness.integrations.oauth import PROVIDERS, get_provider
from fitness.services.calendar_sync import CalendarSyncResult, sync_all
from fitness.services.hevy_sync import HevySyncResult, sync_hevy
from fitness.services.strava_sync import StravaSyncResult, sync_strava
from fitness.web.forms import read_form
from fitness.web.rendering import api_answer, render

TITLES: Final = {"strava": "Strava", "google": "Google Calendar", "hevy": "Hevy"}


async def connections_page(request: Request) -> Response:
    return await _page(request)


async def connect(request: Request) -> Response:
    """Start a consent, as the API's authorize does, and send the browser to the provider."""
    settings: Settings = request.app.state.settings
    provider = _provider(request)
    await read_form(request)
    binding = secrets.token_urlsafe(32)
    try:
        started = await run_in_threadpool(
            start_consent,
            get_provider(provider, settings),
            callback_url(settings, provider),
            flow="browser",
            binding=binding,
        )
    except IntegrationError as error:
        status, words = api_answer(error)
        return await _page(request, outcome={provider: ("error", words)}, status=status)
    cookie = consent_cookie(settings, provider, binding, int(STATE_LIFETIME.total_seconds()))
    response = RedirectResponse(started.authorization_url, status_code=303)
    response.headers.append("Set-Cookie", cookie)
    return response


async def disconnect_provider(request: Request) -> Response:
    provider = _provider(request)
    fields = await read_form(request)
    revoke = fields.get("forget_only") != "on"
    try:
        done = await run_in_threadpool(_disconnect, provider, revoke)
    except IntegrationError as error:
        status, words = api_answer(error)
        return await _page(request, outcome={provider: ("error", words)}, status=status)
    if not done.was_connected:
        words = f"{TITLES[provider]} was not connected."
    else:
        words = f"Disconnected from {TITLES[provider]} (access {done.revocation})."
    if done.environment_still_set:
        words += " Its refresh token is still in the environment: the next use stores it again."
    return await _page(request, outcome={provider: ("notice", words)})


async def sync_strava_now(request: Request) -> Response:
    fields = await read_form(request)
    full = fields.get("full_sync") == "on"
    try:
        result = await run_in_threadpool(sync_strava, full)
    except IntegrationError as error:
        status, words = api_answer(error)
        return await _page(request, outcome={"strava": ("error", words)}, status=status)
    return await _page(request, strava=result)


async def sync_hevy_now(request: Request) -> Response:
    fields = await read_form(request)
    try:
        result = await run_in_threadpool(sync_hevy, fields.get("full_sync") == "on")
    except IntegrationError as error:
        status, words = api_answer(error)
        return await _page(request, outcome={"hevy": ("error", words)}, status=status)
    return await _page(request, hevy=result)


async def forget_hevy_key(request: Request) -> Response:
    await read_form(request)
    if await run_in_threadpool(forget_api_key):
        words = f"Hevy's stored API key is forgotten. {RETIRE_KEY_HELP}."
    else:
        words = "No Hevy API key was stored."
    if get_settings().hevy_api_key:  # what the next sync reads
        words += " HEVY_API_KEY is still set: the next sync stores it again."
    return await _page(request, outcome={"hevy": ("notice", words)})


async def sync_calendar_now(request: Request) -> Response:
    await read_form(request)
    try:
        result = await run_in_threadpool(sync_all)
    except IntegrationError as error:
        status, words = api_answer(error)
        return await _page(request, outcome={"google": ("error", words)}, status=status)
    return await _page(request, calendar=result)


async def _page(
    request: Request,
    *,
    strava: StravaSyncResult | None = None,
    calendar: CalendarSyncResult | None = None,
    hevy: HevySyncResult | None = None,
    outcome: dict[str, tuple[str, str]] | None = None,
    status: int = 200,
) -> Response:
    *statuses, hevy_key = await asyncio.gather(
        *(run_in_threadpool(connection_status, provider) for provider in PROVIDERS),
        run_in_threadpool(api_key_status),
    )
    context: dict[str, Any] = {
        "title": "Connections",
        "statuses": dict(zip(PROVIDERS, statuses, strict=True)),
        "titles": TITLES,
        "strava": strava,
        "calendar": calendar,
        "hevy": hevy,
        "hevy_key": hevy_key,
        "outcome": outcome or {},
    }
    return render(request, "connections.html", context, status=status)


def _disconnect(provider: str, revoke: bool) -> Disconnection:
    with httpx.Client(timeout=REVOKE_TIMEOUT_SECONDS) as http:
        return disconnect(provider, http_client=http, revoke=revoke)


def _provider(request: Request) -> str:
    provider: str = PATH_PARAMETERS["provider"].parse(request.path_params["provider"])
    return provider


routes = [
    Route("/connections", connections_page, methods=["GET"]),
    Route("/connections/{provider}/connect", connect, methods=["POST"]),
    Route("/connections/{provider}/disconnect", disconnect_provider, methods=["POST"]),
    Route("/connections/strava/sync", sync_strava_now, methods=["POST"]),
    Route("/connections/google/sync", sync_calendar_now, methods=["POST"]),
    Route("/connections/hevy/sync", sync_hevy_now, methods=["POST"]),
    Route("/connections/hevy/forget", forget_hevy_key, methods=["POST"]),
]
