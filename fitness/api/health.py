"""`GET /health`: is the service up, does its database answer, at which schema revision.

Public (no token), for uptime checks, so it must cost no more than a request turned away:
fitness.server.health checks the database once at a time and reuses the answer for a
second. It answers within 2 s whatever the database does, says what the server said when it
fails, and reports the database healthy again, without a restart, once it is back.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Literal

from pydantic import with_config
from starlette.requests import Request
from starlette.responses import Response

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations
from fitness.models import SHAPE
from fitness.server.health import health_checker
from fitness.server.problems import problem

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
    `"database": "unavailable"`, saying what the database said) when the database does not
    answer. One check runs at a time and its answer is reused for a second."""
    check = await health_checker(request.app.state).check()
    if check.problem is not None:
        return problem(
            503,
            f"The database does not answer: {check.problem}.",
            slug="database-unavailable",
            database="unavailable",
            version=fitness_version(),
        )
    return Health("ok", "ok", check.revision, fitness_version())


@lru_cache(maxsize=1)
def fitness_version() -> str:
    """The installed version of the fitness package."""
    try:
        return package_version("fitness")
    except PackageNotFoundError:
        return "unknown"


routes, paths = api.routes(), paths_of(api)
