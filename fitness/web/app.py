"""The pages as one Starlette application, mounted at `/app` by fitness.api.app, and the
redirects from `/` and `/app` to the dashboard.

Each module of fitness/web serves one area (dashboard, runs, rides, lifts, shoes, bikes,
import, connections, login) and exports its `routes`; `MODULES` lists them. The pages run behind
`PageSessions` (fitness.web.sessions) and answer every error with an HTML page: the same
status and words as the API's problem documents (fitness.api.errors.ANSWERS), never a
traceback.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Final

import psycopg
import psycopg_pool
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute
from starlette.staticfiles import StaticFiles

from fitness import errors as lib
from fitness.api.errors import ANSWERS, DATABASE_UNAVAILABLE_DETAIL
from fitness.config import Settings
from fitness.server.auth import PublicRoute
from fitness.web import (
    bikes,
    connections,
    dashboard,
    imports,
    lifts,
    login,
    rides,
    runs,
    shoes,
)
from fitness.web.forms import PageRefused
from fitness.web.rendering import api_answer, error_page
from fitness.web.sessions import OpenMount, PageSessions, Sessions

logger = logging.getLogger(__name__)

MOUNT_PATH: Final = "/app"
STATIC_DIRECTORY: Final = Path(__file__).parent / "static"
MODULES = (login, dashboard, runs, rides, lifts, shoes, bikes, imports, connections)


def create_pages(settings: Settings) -> Starlette:
    """The pages for `settings`; the caller mounts them at `MOUNT_PATH` (and runs the
    lifespan that opens the pool)."""
    routes: list[BaseRoute] = [
        OpenMount("/static", app=StaticFiles(directory=STATIC_DIRECTORY), name="static"),
        *(route for module in MODULES for route in module.routes),
    ]
    pages = Starlette(
        routes=routes,
        middleware=[Middleware(PageSessions, sessions=Sessions(settings.api_tokens))],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    pages.state.settings = settings
    pages.state.imports = imports.Imports()
    return pages


async def _to_dashboard(request: Request) -> Response:
    return RedirectResponse(f"{MOUNT_PATH}/", status_code=307)


class PageRedirect(PublicRoute):
    """A redirect to the pages. Public: it says nothing and does nothing, and a browser
    must find the pages (and their login) without a token."""


REDIRECTS: Final = [
    PageRedirect("/", _to_dashboard, methods=["GET"]),
    PageRedirect(MOUNT_PATH, _to_dashboard, methods=["GET"]),
]


async def _library_error(request: Request, exc: Exception) -> Response:
    return error_page(request, *api_answer(exc))


async def _form_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageRefused)
    return error_page(request, exc.status, str(exc))


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    logger.warning(
        "Database unavailable during %s %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
    )
    return error_page(request, 503, DATABASE_UNAVAILABLE_DETAIL)


async def _configuration_error(request: Request, exc: Exception) -> Response:
    logger.error("Configuration error during %s %s: %s", request.method, request.url.path, exc)
    return error_page(request, 503, str(exc))


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: "There is no page here.", 405: f"{request.method} is not allowed here."}
    return error_page(request, exc.status_code, messages.get(exc.status_code, str(exc.detail)))


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.error("Unhandled error during %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(request, 500, "Something went wrong on our side; it has been logged.")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    **{kind: _library_error for kind in ANSWERS},
    PageRefused: _form_refused,
    lib.ConfigurationError: _configuration_error,
    lib.DatabaseUnavailable: _database_unavailable,
    psycopg.OperationalError: _database_unavailable,
    psycopg_pool.PoolTimeout: _database_unavailable,
    HTTPException: _http_exception,
    Exception: _unexpected,
}
