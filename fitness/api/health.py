"""`GET /health`: is the service up, does its database answer, at which schema revision.

Public (no token), for uptime checks, so it must cost no more than a request turned away:
the check borrows a pooled connection (never opens one of its own), and one check at a time
runs while every concurrent caller waits for that one; its answer is reused for about a
second. It answers within 2 s whatever the database does, says what the server said when it
fails, and reports the database healthy again, without a restart, once it is back.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Final, Literal

import anyio
import psycopg
from psycopg import Connection
from pydantic import with_config
from starlette.requests import Request
from starlette.responses import Response

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations
from fitness.db.connection import (
    connection,
    last_connection_failure,
    retry_on_disconnect,
    server_said,
)
from fitness.db.migrations import current_revision
from fitness.errors import DatabaseUnavailable
from fitness.models import SHAPE
from fitness.server.problems import problem

# Waiting this long for the check keeps the whole answer under 2 s; the check waits a little
# less for a pooled connection, so that it can say why there was none.
DATABASE_CHECK_SECONDS: Final = 1.5
POOL_WAIT_SECONDS: Final = 1.2
# How long one check's answer is reused.
ANSWER_REUSED_SECONDS: Final = 1.0

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
    check = await _checker(request).check()
    if check.problem is not None:
        return problem(
            503,
            f"The database does not answer: {check.problem}.",
            slug="database-unavailable",
            database="unavailable",
            version=fitness_version(),
        )
    return Health("ok", "ok", check.revision, fitness_version())


@dataclass(frozen=True, slots=True)
class DatabaseCheck:
    """One check's outcome: the schema revision, or what went wrong (`problem`)."""

    revision: str | None
    problem: str | None
    at: float


class HealthChecker:
    """Checks the database at most once per `ANSWER_REUSED_SECONDS`, one check at a time:
    callers that arrive while one runs wait for its answer (they hold no worker thread)."""

    def __init__(self) -> None:
        self._last: DatabaseCheck | None = None
        self._running: asyncio.Future[DatabaseCheck] | None = None

    async def check(self) -> DatabaseCheck:
        last = self._last
        if last is not None and time.monotonic() - last.at < ANSWER_REUSED_SECONDS:
            return last
        running = self._running
        # A check started on another event loop (another test client) cannot be awaited here.
        if running is None or running.get_loop() is not asyncio.get_running_loop():
            running = self._running = asyncio.ensure_future(self._run())
        return await asyncio.shield(running)

    async def _run(self) -> DatabaseCheck:
        try:
            with anyio.fail_after(DATABASE_CHECK_SECONDS):
                # A check stuck on an unreachable host is abandoned (it ends by its own
                # timeouts) instead of holding this answer up.
                revision = await anyio.to_thread.run_sync(_read_revision, abandon_on_cancel=True)
            check = DatabaseCheck(revision, None, time.monotonic())
        except TimeoutError:
            said = last_connection_failure() or f"no answer within {DATABASE_CHECK_SECONDS:g} s"
            check = DatabaseCheck(None, said, time.monotonic())
        except DatabaseUnavailable as error:
            check = DatabaseCheck(None, str(error), time.monotonic())
        except psycopg.Error as error:
            check = DatabaseCheck(None, server_said(error), time.monotonic())
        self._last = check
        self._running = None
        return check


@retry_on_disconnect
def _read_revision() -> str | None:
    with connection(timeout=POOL_WAIT_SECONDS) as conn:
        return _revision_within_timeout(conn)


def _revision_within_timeout(conn: Connection) -> str | None:
    with conn.transaction():
        conn.execute(
            "SELECT set_config('statement_timeout', %s, true)",
            (f"{int(DATABASE_CHECK_SECONDS * 1000)}ms",),
        )
        return current_revision(conn=conn)


def _checker(request: Request) -> HealthChecker:
    state = request.app.state
    checker = getattr(state, "health_checker", None)
    if checker is None:
        checker = state.health_checker = HealthChecker()
    return checker


@lru_cache(maxsize=1)
def fitness_version() -> str:
    """The installed version of the fitness package."""
    try:
        return package_version("fitness")
    except PackageNotFoundError:
        return "unknown"


routes, paths = api.routes(), paths_of(api)
