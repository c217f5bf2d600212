"""`GET /health`: is the service up, does its database answer, at which schema revision.

Public (no token), for uptime checks. It answers within 2 s whatever the database does, and
needs no restart to report the database healthy again once it is back.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Final

import anyio
import psycopg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fitness.api.auth import PublicRoute
from fitness.api.errors import problem
from fitness.db.migrations import probe_current_revision
from fitness.errors import DatabaseUnavailable

# The probe's own connect timeout is 2 s (libpq's minimum); waiting a little less for it
# keeps the whole answer under 2 s.
DATABASE_CHECK_SECONDS: Final = 1.5


async def health(request: Request) -> Response:
    """200 with the schema revision and package version, or 503 when the database is down."""
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
    return JSONResponse(
        {"status": "ok", "database": "ok", "schema": revision, "version": fitness_version()}
    )


@lru_cache(maxsize=1)
def fitness_version() -> str:
    """The installed version of the fitness package."""
    try:
        return package_version("fitness")
    except PackageNotFoundError:
        return "unknown"


routes = [PublicRoute("/health", health, methods=["GET"])]

paths = {
    "/health": {
        "get": {
            "operationId": "getHealth",
            "summary": "Whether the service and its database answer",
            "description": (
                "Public: no bearer token needed. Answers within 2 s; 503 (a problem document "
                'with `"database": "unavailable"`) when the database does not answer.'
            ),
            "tags": ["health"],
            "security": [],
            "responses": {
                "200": {
                    "description": "The service and its database answer.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Health"}}
                    },
                },
                "503": {
                    "description": "The database does not answer.",
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/HealthProblem"}
                        }
                    },
                },
            },
        }
    }
}

schemas = {
    "Health": {
        "type": "object",
        "required": ["status", "database", "schema", "version"],
        "additionalProperties": False,
        "properties": {
            "status": {"const": "ok"},
            "database": {"const": "ok"},
            "schema": {
                "type": ["string", "null"],
                "description": "The database's Alembic revision; null if never migrated.",
            },
            "version": {"type": "string", "description": "The fitness package version."},
        },
    },
    "HealthProblem": {
        "allOf": [
            {"$ref": "#/components/schemas/Problem"},
            {
                "type": "object",
                "required": ["database", "version"],
                "properties": {
                    "database": {"const": "unavailable"},
                    "version": {"type": "string"},
                },
            },
        ]
    },
}
