"""The server's view of its database's health: checked once at a time, reused for a second.

`/health` needs no token, so a flood of it must cost no more than a flood of requests turned
away: a check borrows a pooled connection (never opens one of its own), callers that arrive
while one runs wait for its answer without holding a worker thread, and an answer is reused
for `ANSWER_REUSED_SECONDS`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Final

import anyio
import psycopg

from fitness.db.connection import last_connection_failure, server_said
from fitness.db.migrations import current_revision_within
from fitness.errors import DatabaseUnavailable

# Waiting this long for the check keeps the whole answer under 2 s; the check waits a little
# less for a pooled connection, so that it can say why there was none.
DATABASE_CHECK_SECONDS: Final = 1.5
POOL_WAIT_SECONDS: Final = 1.2
# How long one check's answer is reused.
ANSWER_REUSED_SECONDS: Final = 1.0


def health_checker(state: Any) -> HealthChecker:
    """The app's one checker (kept on its `state`)."""
    checker = getattr(state, "health_checker", None)
    if checker is None:
        checker = state.health_checker = HealthChecker()
    return checker


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
                revision = await anyio.to_thread.run_sync(
                    lambda: current_revision_within(DATABASE_CHECK_SECONDS, POOL_WAIT_SECONDS),
                    abandon_on_cancel=True,
                )
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
