"""`GET /health`: is the service up, does its database answer, at which schema revision.

Public (no token), for uptime checks. It answers within 2 s whatever the database does, and
needs no restart to report the database healthy again once it is back.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Final, Literal

import anyio
import psycopg
from pydantic import with_config
from starlette.requests import Request
from starlette.responses import Response

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations
from fitness.db.migrations import probe_current_revision
from fitness.errors import DatabaseUnavailable
from fitness.models import SHAPE
from fitness.server.problems import problem

# The probe's own connect timeout is 2 s (libpq's minimum); waiting a little less for it
# keeps the whole answer under 2 s.
DATABASE_CHECK_SECONDS: Final = 1.5

api = Operations(tag="health")


@with_config(SHAPE)
@dataclass(frozen=True, slots=True)
class Health:
    """The service and its database answer."""

    status: Literal["ok"]
    database: Literal["ok"]
    schema: str | None
    """The database's Alembic revision; null if never migrated."""
    version: str
    """The fitness package version."""


@api.get(
    "/health",
    response=Health,
    public=True,
    problem_responses={503: "HealthUnavailable"},
    operation_id="getHealth",
)
async def health(request: Request) -> Health | Response:
    """Whether the service and its database answer

    Public: no bearer token needed. Answers within 2 s; 503 (a problem document with
    `"database": "unavailable"`) when the database does not answer."""
    settings = request.app.state.settings
    try:
        with anyio.fail_after(DATABASE_CHECK_SECONDS):
            # Not run_in_threadpool: a probe stuck on an unreachable host is abandoned (it
            # ends by its own timeouts) instead of holding this answer up.
            revision = await anyio.to_thread.run_sync(
                lambda: probe_current_revision(settings), abandon_on_cancel=True
            )
    except (TimeoutError, psycopg.Error, DatabaseUnavailable):
        return problem(
            503,
            "The database does not answer.",
            slug="database-unavailable",
            database="unavailable",
            version=fitness_version(),
        )
    return Health("ok", "ok", revision, fitness_version())


@lru_cache(maxsize=1)
def fitness_version() -> str:
    """The installed version of the fitness package."""
    try:
        return package_version("fitness")
    except PackageNotFoundError:
        return "unknown"


routes, paths = api.routes(), paths_of(api)
